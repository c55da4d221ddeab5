//! On-disk storage of the built-in vault.
//!
//! Layout under the data directory:
//! - `files/<file id>.bin`: content of a finished file,
//! - `files/<file id>.json`: its [`FileRecord`],
//! - `folders/<folder id>.json`: one [`FolderRecord`] per folder path,
//! - `tmp/`: content still being uploaded and records being written. Its contents
//!   are deleted at start, since uploads in progress do not survive a restart.
//!
//! File names chosen by users never become path names: content and records are
//! stored under ids that the vault generates. Records are written to `tmp/` and
//! renamed into place, so a crash leaves either the old or the new record.

use std::io;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

/// Life-cycle state of a stored file. A file is `Composing` from the end of its
/// upload until its group is finished, and then `Available`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum FileState {
    Composing,
    Available,
}

/// Metadata of a finished file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    pub(crate) file_id: String,
    pub(crate) name: String,

    /// Folder path as the uploader sent it, after percent-decoding.
    pub(crate) path: String,
    pub(crate) folder_id: String,

    /// Size in bytes.
    pub(crate) size: u64,
    pub(crate) group_id: String,

    /// Upload time in RFC 3339 form, UTC.
    pub(crate) created: String,
    pub(crate) state: FileState,
}

/// Record of a folder, which maps the id in a `folder_url` back to its path.
///
/// NOTE: no endpoint reads these records yet, because the built-in vault has no web UI.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FolderRecord {
    pub(crate) folder_id: String,
    pub(crate) path: String,
    pub(crate) parent_id: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Store {
    files_dir: PathBuf,
    folders_dir: PathBuf,
    tmp_dir: PathBuf,
}

impl Store {
    /// Opens or creates the layout under `data_dir` and empties `tmp/`.
    pub(crate) fn open(data_dir: &Path) -> io::Result<Store> {
        let store = Store {
            files_dir: data_dir.join("files"),
            folders_dir: data_dir.join("folders"),
            tmp_dir: data_dir.join("tmp"),
        };

        std::fs::create_dir_all(&store.files_dir)?;
        std::fs::create_dir_all(&store.folders_dir)?;
        std::fs::create_dir_all(&store.tmp_dir)?;

        let mut removed = 0;
        for entry in std::fs::read_dir(&store.tmp_dir)? {
            std::fs::remove_file(entry?.path())?;
            removed += 1;
        }
        if removed > 0 {
            tracing::info!(
                removed,
                "vault removed unfinished uploads left from the last run"
            );
        }

        Ok(store)
    }

    /// Path where the content of an upload in progress is collected.
    pub(crate) fn part_path(&self, file_id: &str) -> PathBuf {
        self.tmp_dir.join(format!("{file_id}.part"))
    }

    /// Path of a finished file's content.
    pub(crate) fn content_path(&self, file_id: &str) -> PathBuf {
        self.files_dir.join(format!("{file_id}.bin"))
    }

    /// Flushes the collected content to disk and moves it to its final place.
    pub(crate) async fn commit_content(&self, file_id: &str) -> io::Result<()> {
        let part = self.part_path(file_id);

        tokio::fs::File::open(&part).await?.sync_all().await?;
        tokio::fs::rename(&part, self.content_path(file_id)).await
    }

    /// Reads a file's record, or returns `None` for an unknown id.
    pub(crate) async fn read_file(&self, file_id: &str) -> io::Result<Option<FileRecord>> {
        let path = self.files_dir.join(format!("{file_id}.json"));

        match tokio::fs::read(&path).await {
            Ok(json) => serde_json::from_slice(&json)
                .map(Some)
                .map_err(io::Error::other),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    pub(crate) async fn write_file(&self, record: &FileRecord) -> io::Result<()> {
        let path = self.files_dir.join(format!("{}.json", record.file_id));
        self.write_json(&path, record).await
    }

    /// Records the folder at `path` and each of its parents, unless recorded
    /// already, and returns the folder's id.
    pub(crate) async fn ensure_folder(&self, path: &str) -> io::Result<String> {
        let segments = folder_segments(path);
        let mut parent_id = None;

        for depth in 0..=segments.len() {
            let folder_path = segments[..depth].join("/");
            let folder_id = folder_id(&folder_path);
            let record_path = self.folders_dir.join(format!("{folder_id}.json"));

            if !tokio::fs::try_exists(&record_path).await? {
                let record = FolderRecord {
                    folder_id: folder_id.clone(),
                    path: folder_path,
                    parent_id: parent_id.clone(),
                };
                self.write_json(&record_path, &record).await?;
            }

            parent_id = Some(folder_id);
        }

        Ok(parent_id.expect("the loop runs at least once, for the root"))
    }

    /// Writes JSON to a temporary file and renames it over `path`.
    async fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        let temporary = self
            .tmp_dir
            .join(format!("{}.json", uuid::Uuid::new_v4().simple()));

        tokio::fs::write(&temporary, json).await?;
        tokio::fs::rename(&temporary, path).await
    }
}

/// Splits a folder path into its folder names, ignoring empty segments, so that
/// `a/b`, `/a/b/` and `a//b` name the same folder.
fn folder_segments(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// Returns the folder id of a path: a UUID derived from the MD5 digest of the
/// normalized path, so the same path gets the same id in every run.
pub(crate) fn folder_id(path: &str) -> String {
    let normalized = folder_segments(path).join("/");
    let digest: [u8; 16] = Md5::new()
        .chain_update(b"mailgate-vault folder\0")
        .chain_update(normalized.as_bytes())
        .finalize()
        .into();

    uuid::Builder::from_md5_bytes(digest)
        .into_uuid()
        .to_string()
}

/// Returns true for ids of the form the vault generates: 32 lowercase hex digits.
/// Checked before an id from a request is used in a path name.
pub(crate) fn is_valid_file_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_id_stable_and_normalized() {
        assert_eq!(folder_id("a/b"), folder_id("/a/b/"));
        assert_eq!(folder_id("a/b"), folder_id("a//b"));
        assert_ne!(folder_id("a/b"), folder_id("a/c"));
        assert_eq!(folder_id(""), folder_id("/"));
    }

    #[test]
    fn file_id_form_checked() {
        assert!(is_valid_file_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_valid_file_id("../../etc/passwd"));
        assert!(!is_valid_file_id("0123456789ABCDEF0123456789ABCDEF"));
        assert!(!is_valid_file_id("0123"));
    }

    #[tokio::test]
    async fn folders_created_with_parents() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();

        let id = store
            .ensure_folder("Email Gateway/2026-09-28")
            .await
            .unwrap();

        assert_eq!(id, folder_id("Email Gateway/2026-09-28"));
        for path in ["", "Email Gateway", "Email Gateway/2026-09-28"] {
            let record = dir
                .path()
                .join("folders")
                .join(format!("{}.json", folder_id(path)));
            assert!(record.exists(), "no record for folder {path:?}");
        }
    }

    #[tokio::test]
    async fn open_clears_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        std::fs::write(
            store.part_path("0123456789abcdef0123456789abcdef"),
            b"partial",
        )
        .unwrap();

        Store::open(dir.path()).unwrap();

        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }
}
