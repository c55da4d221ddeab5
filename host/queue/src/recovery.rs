//! Recovery of the spool at start: what a crash can leave behind, and what
//! happens to it.
//!
//! | found | meaning | action |
//! |---|---|---|
//! | any file in `tmp/` | a write that was never moved into place | removed |
//! | `<id>.json` with its data file | a queued message | returned in [`Recovery::entries`] |
//! | `<id>.json` in stage processed without `<id>.out`, but with `<id>.msg` | a crash of the machine kept the new metadata but not the new `.out` | returned in stage received, to be processed again; logged as a warning |
//! | `<id>.msg` or `<id>.out` without `<id>.json` | a message never confirmed, or one whose removal was cut short | removed |
//! | `<id>.json` that cannot be parsed, names another id, or lacks its data file | corruption | moved to `corrupt/` with a `.error` file, logged as an error |
//! | any other file | not written by the spool | left alone, logged as a warning |

use std::collections::BTreeSet;

use crate::entry::{Entry, Stage};
use crate::error::SpoolError;
use crate::files::{free_name, io_error, remove_if_present, sync_directory};
use crate::id::QueueId;
use crate::spool::{METADATA_EXTENSION, PROCESSED_EXTENSION, RECEIVED_EXTENSION, Spool};

/// Result of the recovery in [`Spool::open`].
#[derive(Debug, Default)]
pub struct Recovery {
    /// Messages to continue, oldest arrival first.
    pub entries: Vec<Entry>,
    /// Unfinished files removed from `tmp/`.
    pub removed_temporary: usize,
    /// Data files without metadata that were removed.
    pub removed_orphans: usize,
    /// Metadata files moved to `corrupt/`.
    pub moved_to_corrupt: usize,
}

impl Spool {
    /// Scans the spool; see the module documentation.
    pub(crate) fn recover(&self) -> Result<Recovery, SpoolError> {
        let mut recovery = Recovery { removed_temporary: self.clear_temporary()?, ..Recovery::default() };

        let mut metadata = BTreeSet::new();
        let mut data = BTreeSet::new();
        for item in std::fs::read_dir(&self.root).map_err(io_error("list", &self.root))? {
            let item = item.map_err(io_error("list", &self.root))?;
            let path = item.path();
            if path.is_dir() {
                continue;
            }
            let name = item.file_name().to_string_lossy().into_owned();
            match name.rsplit_once('.') {
                Some((_, METADATA_EXTENSION)) => {
                    metadata.insert(name);
                }
                Some((stem, RECEIVED_EXTENSION | PROCESSED_EXTENSION)) => {
                    data.insert((stem.to_string(), name));
                }
                _ => tracing::warn!(path = %path.display(), "unknown file in the spool left alone"),
            }
        }

        for name in &metadata {
            match self.load(name) {
                Ok(entry) => recovery.entries.push(entry),
                Err(reason) => {
                    self.quarantine(name, &reason)?;
                    recovery.moved_to_corrupt += 1;
                }
            }
        }

        let queued: BTreeSet<&str> = recovery.entries.iter().map(|entry| entry.queue_id.as_str()).collect();
        for (stem, name) in &data {
            if queued.contains(stem.as_str()) {
                continue;
            }
            let path = self.root.join(name);
            if path.exists() {
                tracing::warn!(path = %path.display(), "data file without metadata removed; the message was never confirmed or was already finished");
                remove_if_present(&path)?;
                recovery.removed_orphans += 1;
            }
        }

        if recovery.removed_orphans + recovery.moved_to_corrupt > 0 {
            sync_directory(&self.root)?;
        }
        recovery.entries.sort_by_key(|entry| entry.arrival);
        Ok(recovery)
    }

    /// Removes every file in `tmp/` and returns how many there were.
    fn clear_temporary(&self) -> Result<usize, SpoolError> {
        let mut removed = 0;
        for item in std::fs::read_dir(&self.temporary).map_err(io_error("list", &self.temporary))? {
            let path = item.map_err(io_error("list", &self.temporary))?.path();
            if path.is_file() {
                tracing::info!(path = %path.display(), "unfinished spool file removed");
                remove_if_present(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Reads the metadata file `name` and checks it against its data file.
    fn load(&self, name: &str) -> Result<Entry, String> {
        let stem = name.strip_suffix(".json").unwrap_or(name);
        let queue_id = QueueId::parse(stem).ok_or_else(|| format!("`{stem}` is not a queue id"))?;
        let path = self.metadata_path(&queue_id);

        let bytes = std::fs::read(&path).map_err(|error| format!("cannot read: {error}"))?;
        let mut entry = Entry::from_json(&bytes)?;
        if entry.queue_id != queue_id {
            return Err(format!("the file names queue id {} instead of {queue_id}", entry.queue_id));
        }
        let data = self.data_path(&queue_id, entry.stage);
        if data.exists() {
            return Ok(entry);
        }
        if entry.stage == Stage::Processed && self.data_path(&queue_id, Stage::Received).exists() {
            tracing::warn!(%queue_id, "processed message without its outbound copy; it is processed again from the message as received");
            entry.stage = Stage::Received;
            entry.processing_record = None;
            return Ok(entry);
        }
        Err(format!("its data file {} is missing", data.display()))
    }

    /// Moves metadata file `name` and the data files of the same id to
    /// `corrupt/`, next to a `.error` file with `reason`.
    fn quarantine(&self, name: &str, reason: &str) -> Result<(), SpoolError> {
        let stem = name.strip_suffix(".json").unwrap_or(name);
        tracing::error!(file = %self.root.join(name).display(), %reason, corrupt = %self.corrupt.display(), "corrupt spool metadata moved aside; the message needs a manual check");

        let error_path = free_name(&self.corrupt, &format!("{name}.error"));
        std::fs::write(&error_path, format!("{reason}\n")).map_err(io_error("write", &error_path))?;
        for file in [name.to_string(), format!("{stem}.{RECEIVED_EXTENSION}"), format!("{stem}.{PROCESSED_EXTENSION}")] {
            let source = self.root.join(&file);
            if source.exists() {
                let target = free_name(&self.corrupt, &file);
                std::fs::rename(&source, &target).map_err(io_error("move to corrupt", &source))?;
            }
        }
        sync_directory(&self.corrupt)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::entry::QueuedEnvelope;
    use crate::{Spool, Stage};

    fn envelope() -> QueuedEnvelope {
        QueuedEnvelope {
            client_address: "127.0.0.1".to_string(),
            helo: "client.test".to_string(),
            mail_from: "alice@example.com".to_string(),
            rcpt_to: vec!["bob@example.org".to_string()],
        }
    }

    fn file_names(directory: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(directory)
            .unwrap()
            .map(|item| item.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn accepted_message_recovered() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let entry = spool.accept(envelope(), b"Subject: x\r\n\r\nbody\r\n", Stage::Received, Utc::now()).unwrap();
        assert_eq!(spool.len(), 1);
        drop(spool);

        let (spool, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.entries, vec![entry.clone()]);
        assert_eq!(spool.len(), 1);
        assert_eq!(spool.read_data(&entry).unwrap(), b"Subject: x\r\n\r\nbody\r\n");
    }

    #[test]
    fn processed_message_recovered_at_its_stage() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let mut entry = spool.accept(envelope(), b"original", Stage::Received, Utc::now()).unwrap();
        spool.store_processed(&mut entry, b"rewritten", Some(serde_json::json!({"rules": 1}))).unwrap();
        drop(spool);

        let (spool, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.entries.len(), 1);
        let recovered = &recovery.entries[0];
        assert_eq!(recovered.stage, Stage::Processed);
        assert_eq!(recovered.processing_record, Some(serde_json::json!({"rules": 1})));
        assert_eq!(spool.read_data(recovered).unwrap(), b"rewritten");
        assert_eq!(spool.read_original(recovered).unwrap(), b"original");
    }

    #[test]
    fn temporary_files_removed() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        std::fs::write(directory.path().join("tmp/0123456789AB.json.00ff"), b"{\"version\":").unwrap();
        std::fs::write(directory.path().join("tmp/0123456789AB.msg.00fe"), b"Subject: half").unwrap();
        drop(spool);

        let (spool, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.removed_temporary, 2);
        assert!(recovery.entries.is_empty());
        assert!(spool.is_empty());
        assert!(file_names(&directory.path().join("tmp")).is_empty());
    }

    #[test]
    fn data_without_metadata_removed() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("0123456789AB.msg"), b"Subject: never confirmed").unwrap();

        let (_, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.removed_orphans, 1);
        assert!(!directory.path().join("0123456789AB.msg").exists());
    }

    #[test]
    fn corrupt_metadata_moved_aside() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let entry = spool.accept(envelope(), b"Subject: kept\r\n", Stage::Received, Utc::now()).unwrap();
        let metadata = directory.path().join(format!("{}.json", entry.queue_id));
        let json = std::fs::read(&metadata).unwrap();
        std::fs::write(&metadata, &json[..json.len() / 2]).unwrap();
        drop(spool);

        let (spool, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.moved_to_corrupt, 1);
        assert!(recovery.entries.is_empty());
        assert!(spool.is_empty());
        let id = entry.queue_id.as_str();
        assert_eq!(
            file_names(&directory.path().join("corrupt")),
            vec![format!("{id}.json"), format!("{id}.json.error"), format!("{id}.msg")]
        );
        assert_eq!(std::fs::read(directory.path().join(format!("corrupt/{id}.msg"))).unwrap(), b"Subject: kept\r\n");
        let reason = std::fs::read_to_string(directory.path().join(format!("corrupt/{id}.json.error"))).unwrap();
        assert!(!reason.trim().is_empty());
    }

    #[test]
    fn metadata_without_data_moved_aside() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let entry = spool.accept(envelope(), b"x", Stage::Received, Utc::now()).unwrap();
        std::fs::remove_file(directory.path().join(format!("{}.msg", entry.queue_id))).unwrap();
        drop(spool);

        let (_, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.moved_to_corrupt, 1);
        let reason = std::fs::read_to_string(directory.path().join(format!("corrupt/{}.json.error", entry.queue_id))).unwrap();
        assert!(reason.contains("missing"), "{reason}");
    }

    #[test]
    fn processed_without_outbound_copy_processed_again() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let mut entry = spool.accept(envelope(), b"original", Stage::Received, Utc::now()).unwrap();
        spool.store_processed(&mut entry, b"rewritten", Some(serde_json::json!({"rules": 1}))).unwrap();
        std::fs::remove_file(directory.path().join(format!("{}.out", entry.queue_id))).unwrap();
        drop(spool);

        let (spool, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.moved_to_corrupt, 0);
        assert_eq!(recovery.entries.len(), 1);
        let recovered = &recovery.entries[0];
        assert_eq!(recovered.stage, Stage::Received);
        assert_eq!(recovered.processing_record, None);
        assert_eq!(spool.read_data(recovered).unwrap(), b"original");
    }

    #[test]
    fn bounce_without_data_moved_aside() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let entry = spool.accept(envelope(), b"bounce", Stage::Processed, Utc::now()).unwrap();
        std::fs::remove_file(directory.path().join(format!("{}.out", entry.queue_id))).unwrap();
        drop(spool);

        let (_, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.moved_to_corrupt, 1);
        assert!(recovery.entries.is_empty());
    }

    #[test]
    fn metadata_with_bad_name_moved_aside() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("not-an-id.json"), b"{}").unwrap();

        let (_, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.moved_to_corrupt, 1);
        assert!(directory.path().join("corrupt/not-an-id.json").exists());
    }

    #[test]
    fn unknown_file_left_alone() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("README"), b"notes").unwrap();

        let (_, recovery) = Spool::open(directory.path()).unwrap();

        assert!(recovery.entries.is_empty());
        assert!(directory.path().join("README").exists());
    }

    #[test]
    fn removed_message_gone_after_restart() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let mut entry = spool.accept(envelope(), b"x", Stage::Received, Utc::now()).unwrap();
        spool.store_processed(&mut entry, b"y", None).unwrap();

        spool.remove(&entry.queue_id).unwrap();

        assert!(spool.is_empty());
        drop(spool);
        let (_, recovery) = Spool::open(directory.path()).unwrap();
        assert!(recovery.entries.is_empty());
        assert_eq!(file_names(directory.path()), vec!["corrupt".to_string(), "tmp".to_string()]);
    }

    #[test]
    fn deferral_state_survives_restart() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let mut entry = spool.accept(envelope(), b"x", Stage::Received, Utc::now()).unwrap();
        entry.attempts = 2;
        entry.last_error = Some("next hop down".to_string());
        spool.update(&entry).unwrap();
        drop(spool);

        let (_, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(recovery.entries, vec![entry]);
    }

    #[test]
    fn parallel_accepts_get_distinct_ids() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();
        let spool = std::sync::Arc::new(spool);

        let workers: Vec<_> = (0..8)
            .map(|_| {
                let spool = std::sync::Arc::clone(&spool);
                std::thread::spawn(move || {
                    (0..10).map(|_| spool.accept(envelope(), b"x", Stage::Received, Utc::now()).unwrap().queue_id).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ids: Vec<_> = workers.into_iter().flat_map(|worker| worker.join().unwrap()).collect();

        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 80);
        assert_eq!(spool.len(), 80);
    }
}
