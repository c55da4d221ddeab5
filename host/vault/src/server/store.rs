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

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::auth::API_KEY_OWNER;
use super::scan_state::ScanRecord;

/// Life-cycle state of a stored file. A file is `Composing` from the end of its
/// upload until its group is finished. Without a scanner it is then
/// `Available`. With one, the scans decide between `Available`, `Blocked` and
/// `ScanFailed`, as `scan_state.rs` describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum FileState {
    Composing,
    Available,

    /// The last conclusive scan blocked the file; `blocked_reason` says why.
    Blocked,

    /// Every scan so far failed, so the file has no verdict yet.
    ScanFailed,
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

    /// User id of the uploader, [`API_KEY_OWNER`] for uploads with an API key
    /// and for records written before owners were recorded.
    #[serde(default = "api_key_owner")]
    pub(crate) owner: String,

    /// The most recent scan, `None` for files never scanned.
    #[serde(default)]
    pub(crate) last_scan: Option<ScanRecord>,

    /// Reason of the scan that blocked the file, set while it is `Blocked`.
    #[serde(default)]
    pub(crate) blocked_reason: Option<String>,

    /// End of the lock interval. The file stays locked until a clean scan at
    /// or after this time; `None` when it is not locked.
    #[serde(default)]
    pub(crate) locked_until: Option<DateTime<Utc>>,
}

fn api_key_owner() -> String {
    API_KEY_OWNER.to_owned()
}

/// Record of a folder, which maps a folder id back to its path.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FolderRecord {
    pub(crate) folder_id: String,
    pub(crate) path: String,
    pub(crate) parent_id: Option<String>,
}

/// The data directory, with all file and folder records also kept in memory
/// for lookups and listings.
#[derive(Debug)]
pub(crate) struct Store {
    files_dir: PathBuf,
    folders_dir: PathBuf,
    tmp_dir: PathBuf,

    /// File records by file id.
    files: Mutex<BTreeMap<String, FileRecord>>,

    /// Folder records by folder id.
    folders: Mutex<HashMap<String, FolderRecord>>,
}

impl Store {
    /// Opens or creates the layout under `data_dir`, empties `tmp/` and loads
    /// the records.
    ///
    /// Files still `Composing` are deleted, because their groups were open in
    /// the last run and can no longer be finished.
    pub(crate) fn open(data_dir: &Path) -> io::Result<Store> {
        let files_dir = data_dir.join("files");
        let folders_dir = data_dir.join("folders");
        let tmp_dir = data_dir.join("tmp");

        std::fs::create_dir_all(&files_dir)?;
        std::fs::create_dir_all(&folders_dir)?;
        std::fs::create_dir_all(&tmp_dir)?;

        let mut removed = 0;
        for entry in std::fs::read_dir(&tmp_dir)? {
            std::fs::remove_file(entry?.path())?;
            removed += 1;
        }

        let mut files = BTreeMap::new();
        for record in read_records::<FileRecord>(&files_dir)? {
            if record.state == FileState::Composing {
                remove_if_exists(&files_dir.join(format!("{}.json", record.file_id)))?;
                remove_if_exists(&files_dir.join(format!("{}.bin", record.file_id)))?;
                removed += 1;
            } else {
                files.insert(record.file_id.clone(), record);
            }
        }

        if removed > 0 {
            tracing::info!(
                removed,
                "vault removed unfinished uploads left from the last run"
            );
        }

        let folders = read_records::<FolderRecord>(&folders_dir)?
            .into_iter()
            .map(|record| (record.folder_id.clone(), record))
            .collect();

        Ok(Store {
            files_dir,
            folders_dir,
            tmp_dir,
            files: Mutex::new(files),
            folders: Mutex::new(folders),
        })
    }

    /// Path where the content of an upload in progress is collected.
    pub(crate) fn part_path(&self, file_id: &str) -> PathBuf {
        self.tmp_dir.join(format!("{file_id}.part"))
    }

    /// Path of a finished file's content.
    pub(crate) fn content_path(&self, file_id: &str) -> PathBuf {
        self.files_dir.join(format!("{file_id}.bin"))
    }

    fn record_path(&self, file_id: &str) -> PathBuf {
        self.files_dir.join(format!("{file_id}.json"))
    }

    /// Flushes the collected content to disk and moves it to its final place.
    pub(crate) async fn commit_content(&self, file_id: &str) -> io::Result<()> {
        let part = self.part_path(file_id);

        tokio::fs::File::open(&part).await?.sync_all().await?;
        tokio::fs::rename(&part, self.content_path(file_id)).await
    }

    /// Returns a file's record, or `None` for an unknown id.
    pub(crate) fn file(&self, file_id: &str) -> Option<FileRecord> {
        self.files
            .lock()
            .expect("no code panics while holding this lock")
            .get(file_id)
            .cloned()
    }

    /// Returns all file records, ordered by file id.
    pub(crate) fn all_files(&self) -> Vec<FileRecord> {
        self.files
            .lock()
            .expect("no code panics while holding this lock")
            .values()
            .cloned()
            .collect()
    }

    pub(crate) async fn write_file(&self, record: &FileRecord) -> io::Result<()> {
        self.write_json(&self.record_path(&record.file_id), record)
            .await?;

        self.files
            .lock()
            .expect("no code panics while holding this lock")
            .insert(record.file_id.clone(), record.clone());
        Ok(())
    }

    /// Deletes a file's record and content, and the content of its upload in
    /// progress. Parts that do not exist are skipped.
    pub(crate) async fn delete_file(&self, file_id: &str) -> io::Result<()> {
        self.files
            .lock()
            .expect("no code panics while holding this lock")
            .remove(file_id);

        for path in [
            self.record_path(file_id),
            self.content_path(file_id),
            self.part_path(file_id),
        ] {
            match tokio::fs::remove_file(&path).await {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }

        Ok(())
    }

    /// Returns a folder's record, or `None` for an unknown id.
    pub(crate) fn folder(&self, folder_id: &str) -> Option<FolderRecord> {
        self.folders
            .lock()
            .expect("no code panics while holding this lock")
            .get(folder_id)
            .cloned()
    }

    /// Records the folder at `path` and each of its parents, unless recorded
    /// already, and returns the folder's id.
    pub(crate) async fn ensure_folder(&self, path: &str) -> io::Result<String> {
        let segments = folder_segments(path);
        let mut parent_id = None;

        for depth in 0..=segments.len() {
            let folder_path = segments[..depth].join("/");
            let folder_id = folder_id(&folder_path);

            if self.folder(&folder_id).is_none() {
                let record = FolderRecord {
                    folder_id: folder_id.clone(),
                    path: folder_path,
                    parent_id: parent_id.clone(),
                };
                let record_path = self.folders_dir.join(format!("{folder_id}.json"));
                self.write_json(&record_path, &record).await?;

                self.folders
                    .lock()
                    .expect("no code panics while holding this lock")
                    .insert(folder_id.clone(), record);
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

/// Reads every `*.json` record in `dir`.
fn read_records<T: serde::de::DeserializeOwned>(dir: &Path) -> io::Result<Vec<T>> {
    let mut records = Vec::new();

    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|extension| extension != "json") {
            continue;
        }

        let json = std::fs::read(&path)?;
        let record = serde_json::from_slice(&json).map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the record {} is not valid: {err}", path.display()),
            )
        })?;
        records.push(record);
    }

    Ok(records)
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Splits a folder path into its folder names, ignoring empty segments, so that
/// `a/b`, `/a/b/` and `a//b` name the same folder.
pub(crate) fn folder_segments(path: &str) -> Vec<&str> {
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
    async fn open_removes_composing_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let record = |file_id: &str, state| FileRecord {
            file_id: file_id.to_owned(),
            name: "a.txt".to_owned(),
            path: String::new(),
            folder_id: folder_id(""),
            size: 0,
            group_id: "g".to_owned(),
            created: "2026-09-28T00:00:00Z".to_owned(),
            state,
            owner: API_KEY_OWNER.to_owned(),
            last_scan: None,
            blocked_reason: None,
            locked_until: None,
        };
        let composing = "0123456789abcdef0123456789abcdef";
        let available = "fedcba9876543210fedcba9876543210";
        store
            .write_file(&record(composing, FileState::Composing))
            .await
            .unwrap();
        store
            .write_file(&record(available, FileState::Available))
            .await
            .unwrap();
        std::fs::write(store.content_path(composing), b"").unwrap();

        let reopened = Store::open(dir.path()).unwrap();

        assert!(reopened.file(composing).is_none());
        assert!(!reopened.content_path(composing).exists());
        assert!(reopened.file(available).is_some());
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
