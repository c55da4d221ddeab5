//! Delivery into a Maildir: write to `tmp/`, sync, rename into `new/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::DeliveryReceipt;
use crate::error::DeliveryError;

/// Stores `message` as a new file in the Maildir at `directory`.
pub(crate) async fn store(directory: &Path, message: &[u8]) -> Result<DeliveryReceipt, DeliveryError> {
    let directory = directory.to_path_buf();
    let message = message.to_vec();

    let stored = tokio::task::spawn_blocking(move || store_blocking(&directory, &message).map_err(|source| (directory, source)))
        .await
        .map_err(|join_error| DeliveryError::Maildir {
            directory: PathBuf::new(),
            source: std::io::Error::other(join_error.to_string()),
        })?;

    match stored {
        Ok(path) => {
            tracing::info!(path = %path.display(), "message stored in Maildir");
            Ok(DeliveryReceipt::Stored { path })
        }
        Err((directory, source)) => Err(DeliveryError::Maildir { directory, source }),
    }
}

fn store_blocking(directory: &Path, message: &[u8]) -> std::io::Result<PathBuf> {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(directory.join(sub))?;
    }

    let name = unique_name();
    let temporary = directory.join("tmp").join(&name);
    let final_path = directory.join("new").join(&name);

    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
    file.write_all(message)?;
    file.sync_all()?;
    drop(file);

    std::fs::rename(&temporary, &final_path)?;
    std::fs::File::open(directory.join("new"))?.sync_all()?;
    Ok(final_path)
}

/// Generates a file name unique on this host: `<seconds>.M<micros>P<pid>R<random>.<host>`.
fn unique_name() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|name| name.trim().replace(['/', ':'], "_"))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!(
        "{}.M{}P{}R{:016x}.{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        rand::random::<u64>(),
        host
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn maildir_store_creates_file_in_new() {
        let directory = tempfile::tempdir().unwrap();

        let receipt = store(directory.path(), b"Subject: x\r\n\r\nbody\r\n").await.unwrap();

        let DeliveryReceipt::Stored { path } = receipt else { panic!("expected a stored receipt") };
        assert_eq!(path.parent().unwrap(), directory.path().join("new"));
        assert_eq!(std::fs::read(&path).unwrap(), b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!(std::fs::read_dir(directory.path().join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn maildir_unwritable_is_error() {
        let directory = tempfile::tempdir().unwrap();
        let blocker = directory.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();

        let error = store(&blocker, b"x").await.unwrap_err();

        assert!(matches!(error, DeliveryError::Maildir { .. }));
        assert!(error.is_temporary());
    }
}
