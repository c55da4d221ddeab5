//! Checks of local resources: the built-in vault's listen address and data
//! directory, the spool directory and the Maildir.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use mailgate::BuiltinVaultConfig;

use super::Diagnosis;

const VAULT: &str = "vault";
const NEXT_HOP: &str = "next hop";

/// Checks that the built-in vault can listen on `builtin_vault.listen` and
/// store files in `builtin_vault.data_dir`.
pub fn check_builtin_vault(settings: &BuiltinVaultConfig) -> Vec<Diagnosis> {
    let listen = match check_bindable(settings.listen) {
        Ok(()) => Diagnosis::ok(VAULT, format!("vault.url is not set, so the built-in vault is used; {} is free", settings.listen)),
        Err(cause) => Diagnosis::fail(
            VAULT,
            format!("the built-in vault cannot listen on builtin_vault.listen = {}: {cause}", settings.listen),
            "stop the program that uses this address (is mailgate already running?) or change builtin_vault.listen",
        ),
    };

    let storage = match check_writable(&settings.data_dir) {
        Ok(detail) => Diagnosis::ok("vault storage", format!("builtin_vault.data_dir {detail}")),
        Err(cause) => Diagnosis::fail(
            "vault storage",
            format!("builtin_vault.data_dir = {}: {cause}", settings.data_dir.display()),
            "give the user that runs mailgate write access there, or change builtin_vault.data_dir",
        ),
    };

    vec![listen, storage]
}

/// Checks that the Maildir can be created or written.
pub fn check_maildir(maildir: &Path) -> Diagnosis {
    match check_writable(maildir) {
        Ok(detail) => Diagnosis::ok(NEXT_HOP, format!("delivery.relay is not set, so messages go to the Maildir; delivery.maildir {detail}")),
        Err(cause) => Diagnosis::fail(
            NEXT_HOP,
            format!("delivery.maildir = {}: {cause}", maildir.display()),
            "give the user that runs mailgate write access there, change delivery.maildir, or set delivery.relay",
        ),
    }
}

/// Checks that the spool directory can be created or written.
pub fn check_spool(directory: &Path) -> Diagnosis {
    match check_writable(directory) {
        Ok(detail) => Diagnosis::ok("spool", format!("queue.directory {detail}")),
        Err(cause) => Diagnosis::fail(
            "spool",
            format!("queue.directory = {}: {cause}", directory.display()),
            "give the user that runs mailgate write access there, or change queue.directory",
        ),
    }
}

/// Binds and releases `address`.
fn check_bindable(address: SocketAddr) -> Result<(), String> {
    match TcpListener::bind(address) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => Err("another program already listens there".to_string()),
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            Err(format!("permission denied ({error}); ports below 1024 need extra privileges"))
        }
        Err(error) if error.kind() == io::ErrorKind::AddrNotAvailable => Err(format!("no interface of this machine has this address ({error})")),
        Err(error) => Err(error.to_string()),
    }
}

/// Checks that files can be written in `directory`, or in its nearest
/// existing parent when it does not exist yet (the gateway creates it at
/// start). Writes one probe file and deletes it; creates no directory.
fn check_writable(directory: &Path) -> Result<String, String> {
    let existing = nearest_existing(directory);
    if !existing.is_dir() {
        return Err(format!("{} exists but is not a directory", existing.display()));
    }

    let probe = existing.join(format!(".mailgate-check-{}", std::process::id()));
    std::fs::write(&probe, b"probe").map_err(|error| format!("cannot write in {}: {error}", existing.display()))?;
    let _ = std::fs::remove_file(&probe);

    if existing == directory {
        Ok(format!("{} is writable", directory.display()))
    } else {
        Ok(format!("{} does not exist yet and can be created in {}", directory.display(), existing.display()))
    }
}

/// Returns `path` or its nearest ancestor that exists; a relative path
/// without an existing ancestor resolves to the working directory.
fn nearest_existing(path: &Path) -> PathBuf {
    let mut candidate = path;
    loop {
        if candidate.exists() {
            return candidate.to_path_buf();
        }
        match candidate.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => candidate = parent,
            _ => return PathBuf::from("."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_missing_directory_uses_parent() {
        let temporary = tempfile::tempdir().unwrap();
        let missing = temporary.path().join("a/b");

        let detail = check_writable(&missing).unwrap();

        assert!(detail.contains("can be created"), "{detail}");
        assert!(!missing.exists());
    }

    #[test]
    fn writable_file_in_place_of_directory() {
        let temporary = tempfile::tempdir().unwrap();
        let file = temporary.path().join("file");
        std::fs::write(&file, b"x").unwrap();

        let cause = check_writable(&file.join("maildir")).unwrap_err();

        assert!(cause.contains("not a directory"), "{cause}");
    }
}
