//! The spool directory and the operations on one spooled message.
//!
//! Layout of the spool directory:
//!
//! | path | content |
//! |---|---|
//! | `<id>.json` | the [`Entry`]; its presence makes the message part of the queue |
//! | `<id>.msg` | the message as received |
//! | `<id>.out` | the processed outbound message, from [`Stage::Processed`] on |
//! | `tmp/` | files being written; a file left here by a crash is removed at start |
//! | `corrupt/` | metadata that could not be read, moved aside with its data and a `.error` file |
//!
//! Operations on different messages touch different files and take no lock,
//! so sessions spool in parallel. The caller must not run two operations on
//! the same message at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

use crate::entry::{Entry, QueuedEnvelope, Stage};
use crate::error::SpoolError;
use crate::files::{io_error, move_if_absent, move_replacing, remove_if_present, sync_directory, write_synced};
use crate::id::QueueId;

pub use crate::recovery::Recovery;

/// File name extension of metadata files.
pub(crate) const METADATA_EXTENSION: &str = "json";
/// File name extension of messages as received.
pub(crate) const RECEIVED_EXTENSION: &str = "msg";
/// File name extension of processed outbound messages.
pub(crate) const PROCESSED_EXTENSION: &str = "out";

/// How many random ids [`Spool::accept`] tries before it gives up.
const ID_ATTEMPTS: u32 = 16;

/// An open spool directory.
#[derive(Debug)]
pub struct Spool {
    pub(crate) root: PathBuf,
    pub(crate) temporary: PathBuf,
    pub(crate) corrupt: PathBuf,
    count: AtomicUsize,
}

impl Spool {
    /// Opens the spool at `root`, creating it when missing, and recovers the
    /// messages found there; see [`Recovery`].
    ///
    /// # Errors
    ///
    /// The directories cannot be created or read.
    pub fn open(root: &Path) -> Result<(Spool, Recovery), SpoolError> {
        let spool = Spool {
            root: root.to_path_buf(),
            temporary: root.join("tmp"),
            corrupt: root.join("corrupt"),
            count: AtomicUsize::new(0),
        };
        for directory in [&spool.root, &spool.temporary, &spool.corrupt] {
            std::fs::create_dir_all(directory).map_err(io_error("create directory", directory))?;
        }

        let recovery = spool.recover()?;
        spool.count.store(recovery.entries.len(), Ordering::Relaxed);
        Ok((spool, recovery))
    }

    /// Directory of the spool.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Number of messages in the spool.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether the spool contains no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores a new message durably and returns its entry, due at once.
    ///
    /// `data` is stored as the message as received for [`Stage::Received`],
    /// or as the outbound message for [`Stage::Processed`] (a message the
    /// gateway generated itself, such as a bounce). The message is safe on
    /// disk when this returns.
    ///
    /// # Errors
    ///
    /// A file step failed; no entry was created, though an unfinished data
    /// file may remain until the next start removes it.
    pub fn accept(&self, envelope: QueuedEnvelope, data: &[u8], stage: Stage, now: DateTime<Utc>) -> Result<Entry, SpoolError> {
        for _ in 0..ID_ATTEMPTS {
            let entry = Entry::new(QueueId::generate(), envelope.clone(), stage, now);
            let data_path = self.data_path(&entry.queue_id, stage);

            let temporary = self.temporary_path(&entry.queue_id, data_extension(stage));
            write_synced(&temporary, data)?;
            if !move_if_absent(&temporary, &data_path)? {
                remove_if_present(&temporary)?;
                continue;
            }

            let temporary = self.temporary_path(&entry.queue_id, METADATA_EXTENSION);
            write_synced(&temporary, &entry.to_json())?;
            if !move_if_absent(&temporary, &self.metadata_path(&entry.queue_id))? {
                remove_if_present(&temporary)?;
                remove_if_present(&data_path)?;
                continue;
            }

            sync_directory(&self.root)?;
            self.count.fetch_add(1, Ordering::Relaxed);
            return Ok(entry);
        }
        Err(SpoolError::NoFreeId { attempts: ID_ATTEMPTS })
    }

    /// Stores the processed outbound message of `entry` and moves it to
    /// [`Stage::Processed`], with `processing_record` kept for the history.
    /// The message as received stays, for the headers of a bounce.
    pub fn store_processed(
        &self,
        entry: &mut Entry,
        outbound: &[u8],
        processing_record: Option<serde_json::Value>,
    ) -> Result<(), SpoolError> {
        let temporary = self.temporary_path(&entry.queue_id, PROCESSED_EXTENSION);
        write_synced(&temporary, outbound)?;
        move_replacing(&temporary, &self.data_path(&entry.queue_id, Stage::Processed))?;

        entry.stage = Stage::Processed;
        entry.processing_record = processing_record;
        self.update(entry)
    }

    /// Writes the metadata of `entry` durably, replacing the stored one.
    pub fn update(&self, entry: &Entry) -> Result<(), SpoolError> {
        let temporary = self.temporary_path(&entry.queue_id, METADATA_EXTENSION);
        write_synced(&temporary, &entry.to_json())?;
        move_replacing(&temporary, &self.metadata_path(&entry.queue_id))?;
        sync_directory(&self.root)
    }

    /// Reads the message the next step of `entry` works on: the message as
    /// received in [`Stage::Received`], the outbound one in
    /// [`Stage::Processed`].
    pub fn read_data(&self, entry: &Entry) -> Result<Vec<u8>, SpoolError> {
        let path = self.data_path(&entry.queue_id, entry.stage);
        std::fs::read(&path).map_err(io_error("read", &path))
    }

    /// Reads the message as received, or the outbound message when the
    /// gateway generated the message itself.
    pub fn read_original(&self, entry: &Entry) -> Result<Vec<u8>, SpoolError> {
        let received = self.data_path(&entry.queue_id, Stage::Received);
        match std::fs::read(&received) {
            Ok(bytes) => Ok(bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let processed = self.data_path(&entry.queue_id, Stage::Processed);
                std::fs::read(&processed).map_err(io_error("read", &processed))
            }
            Err(error) => Err(io_error("read", &received)(error)),
        }
    }

    /// Removes a finished message. The metadata goes first, so a crash
    /// midway leaves only data files, which the next start removes.
    ///
    /// The directory is not synced here: the next accept or update syncs
    /// it. Until then a crash can bring the message back, and it is
    /// delivered once more, as after a crash just before the removal.
    pub fn remove(&self, queue_id: &QueueId) -> Result<(), SpoolError> {
        remove_if_present(&self.metadata_path(queue_id))?;
        remove_if_present(&self.data_path(queue_id, Stage::Received))?;
        remove_if_present(&self.data_path(queue_id, Stage::Processed))?;
        let _ = self.count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| count.checked_sub(1));
        Ok(())
    }

    pub(crate) fn metadata_path(&self, queue_id: &QueueId) -> PathBuf {
        self.root.join(format!("{queue_id}.{METADATA_EXTENSION}"))
    }

    pub(crate) fn data_path(&self, queue_id: &QueueId, stage: Stage) -> PathBuf {
        self.root.join(format!("{queue_id}.{}", data_extension(stage)))
    }

    /// Returns a fresh name in `tmp/`. The random part keeps two writers of the same
    /// message, such as a stale worker and a new one, apart.
    fn temporary_path(&self, queue_id: &QueueId, extension: &str) -> PathBuf {
        self.temporary.join(format!("{queue_id}.{extension}.{:016x}", rand::random::<u64>()))
    }
}

/// Extension of the data file the given stage works on.
pub(crate) fn data_extension(stage: Stage) -> &'static str {
    match stage {
        Stage::Received => RECEIVED_EXTENSION,
        Stage::Processed => PROCESSED_EXTENSION,
    }
}
