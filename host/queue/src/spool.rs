//! The spool directory and the operations on one spooled message.
//!
//! Layout of the spool directory:
//!
//! | path | content |
//! |---|---|
//! | `<id>.json` | the [`Entry`]; its presence makes the message part of the queue |
//! | `<id>.msg` | the message as received, written in place: it is created empty to claim the id |
//! | `<id>.out` | the processed outbound message, from [`Stage::Processed`] on |
//! | `tmp/` | files being written; a file left here by a crash is removed at start |
//! | `corrupt/` | metadata that could not be read, moved aside with its data and a `.error` file |
//!
//! Operations on different messages touch different files and take no lock,
//! so sessions spool in parallel. Their syncs go through one
//! [`GroupCommit`], so concurrent operations share the directory syncs. The
//! caller must not run two operations on the same message at once.
//!
//! # Order on disk
//!
//! The name `<id>.json` reaches the disk only after the contents of the
//! metadata and of its data file did, so recovery never finds metadata that
//! names a missing or half-written message. Each operation therefore syncs
//! its files before it moves the metadata into place. [`Spool::accept`] and
//! [`Spool::update`] then wait for the group commit of the directory.
//!
//! [`Spool::store_processed`] and [`Spool::remove`] do not wait for the
//! directory: they leave its sync to the next batch, which runs as soon as
//! the sync thread is free. A crash of the machine (not of the process)
//! before that batch can undo them. The message is then processed again
//! from the message as received, or delivered once more, which the
//! at-least-once guarantee allows.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

use crate::entry::{Entry, QueuedEnvelope, Stage};
use crate::error::SpoolError;
use std::io::Write;

use crate::files::{create_if_absent, io_error, move_if_absent, move_replacing, remove_if_present, start_writeback, write_new};
use crate::group_commit::{GroupCommit, PendingFile};
use crate::id::QueueId;
use crate::staged::Staged;
use crate::syncer::{DiskSyncer, Syncer};

pub use crate::recovery::Recovery;

/// Builds the error for a write to a staged message whose data is complete.
fn written_before(staged: &Staged) -> SpoolError {
    SpoolError::Io {
        operation: "write",
        path: staged.data_path.clone(),
        source: std::io::Error::other("the staged message was written before"),
    }
}

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
    commit: GroupCommit,
}

impl Spool {
    /// Opens the spool at `root`, creating it when missing, and recovers the
    /// messages found there; see [`Recovery`]. Starts the thread that syncs
    /// the spool's writes; dropping the spool stops it.
    ///
    /// # Errors
    ///
    /// The directories cannot be created or read, or the thread cannot be
    /// started.
    pub fn open(root: &Path) -> Result<(Spool, Recovery), SpoolError> {
        Spool::open_with(root, DiskSyncer)
    }

    /// Opens the spool like [`Spool::open`], with `syncer` in place of the
    /// disk's system calls.
    pub(crate) fn open_with(root: &Path, syncer: impl Syncer) -> Result<(Spool, Recovery), SpoolError> {
        let spool = Spool {
            root: root.to_path_buf(),
            temporary: root.join("tmp"),
            corrupt: root.join("corrupt"),
            count: AtomicUsize::new(0),
            commit: GroupCommit::start(syncer).map_err(io_error("start the sync thread", root))?,
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
    /// disk when this returns: its data file, its metadata and the
    /// directory entries are synced.
    ///
    /// # Errors
    ///
    /// A file step or a sync failed, possibly the directory sync of a group
    /// commit shared with other operations. No entry was created: the files written so
    /// far are removed again. Only a crash of the machine right after a
    /// failed directory sync can keep such a message, which is then
    /// delivered as well as the copy the client sends again.
    pub fn accept(&self, envelope: QueuedEnvelope, data: &[u8], stage: Stage, now: DateTime<Utc>) -> Result<Entry, SpoolError> {
        let mut staged = self.stage(envelope, stage, now)?;
        self.write(&mut staged, data)?;
        self.commit(staged)
    }

    /// Claims a queue id for a new message by creating its empty data file,
    /// the first step of [`Spool::accept`]. The message is not part of the
    /// queue before [`Spool::write`] and [`Spool::commit`] succeed; see
    /// [`Staged`].
    ///
    /// # Errors
    ///
    /// The data file cannot be created, or no free id was found.
    pub fn stage(&self, envelope: QueuedEnvelope, stage: Stage, now: DateTime<Utc>) -> Result<Staged, SpoolError> {
        for _ in 0..ID_ATTEMPTS {
            let entry = Entry::new(QueueId::generate(), envelope.clone(), stage, now);
            if self.metadata_path(&entry.queue_id).exists() {
                continue;
            }

            let data_path = self.data_path(&entry.queue_id, stage);
            let Some(data_file) = create_if_absent(&data_path)? else { continue };
            let metadata_temporary = self.temporary_path(&entry.queue_id, METADATA_EXTENSION);
            return Ok(Staged::new(entry, data_file, data_path, metadata_temporary));
        }
        Err(SpoolError::NoFreeId { attempts: ID_ATTEMPTS })
    }

    /// Appends `bytes` to the data file of `staged` for a message stored
    /// while it arrives, and starts writing them to disk without waiting,
    /// so that the commit's sync has little left to do. [`Spool::write`]
    /// then writes the rest of the message.
    ///
    /// # Errors
    ///
    /// The write failed, or `staged` was written before. Dropping `staged`
    /// then removes its files.
    pub fn append(&self, staged: &mut Staged, bytes: &[u8]) -> Result<(), SpoolError> {
        let Some(data_file) = staged.data_file.as_mut() else {
            return Err(written_before(staged));
        };
        data_file.write_all(bytes).map_err(io_error("write", &staged.data_path))?;
        start_writeback(data_file, staged.appended as u64, bytes.len() as u64);
        staged.appended += bytes.len();
        Ok(())
    }

    /// Writes `rest` into the data file of `staged`, after what
    /// [`Spool::append`] wrote, and the metadata into `tmp/`, without
    /// syncing them.
    ///
    /// # Errors
    ///
    /// A file step failed, or `staged` was written before. Dropping
    /// `staged` then removes its files.
    pub fn write(&self, staged: &mut Staged, rest: &[u8]) -> Result<(), SpoolError> {
        let Some(mut data_file) = staged.data_file.take() else {
            return Err(written_before(staged));
        };
        data_file.write_all(rest).map_err(io_error("write", &staged.data_path))?;

        staged.created.push(staged.metadata_temporary.clone());
        let metadata_file = write_new(&staged.metadata_temporary, &staged.entry.to_json())?;
        staged.files = vec![
            PendingFile::new(data_file, staged.data_path.clone()),
            PendingFile::new(metadata_file, staged.metadata_temporary.clone()),
        ];
        Ok(())
    }

    /// Syncs the files of a staged message, moves its metadata into place
    /// and waits for the group commit of the directory, in the order the
    /// module documentation gives. The message is then safe on disk, as
    /// after [`Spool::accept`].
    ///
    /// # Errors
    ///
    /// As for [`Spool::accept`]; [`SpoolError::IdTaken`] when metadata with
    /// the same id appeared after the stage. The files of the message are
    /// removed again.
    pub fn commit(&self, mut staged: Staged) -> Result<Entry, SpoolError> {
        let files = std::mem::take(&mut staged.files);
        self.commit.sync(files, Vec::new())?;

        let metadata_path = self.metadata_path(&staged.entry.queue_id);
        if !move_if_absent(&staged.metadata_temporary, &metadata_path)? {
            return Err(SpoolError::IdTaken { queue_id: staged.entry.queue_id.to_string() });
        }
        staged.created.push(metadata_path);
        self.commit.sync(Vec::new(), vec![self.root.clone()])?;

        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(staged.keep())
    }

    /// Stores the processed outbound message of `entry` and moves it to
    /// [`Stage::Processed`], with `processing_record` kept for the history.
    /// The message as received stays, for the headers of a bounce.
    ///
    /// Both files are synced before they are moved into place. The sync of
    /// the directory is left to the next group commit, as the module
    /// documentation describes. `entry` changes only when this succeeds.
    ///
    /// # Errors
    ///
    /// A file step or a sync failed, and the stored message stays at its
    /// stage.
    pub fn store_processed(
        &self,
        entry: &mut Entry,
        outbound: &[u8],
        processing_record: Option<serde_json::Value>,
    ) -> Result<(), SpoolError> {
        let mut processed = entry.clone();
        processed.stage = Stage::Processed;
        processed.processing_record = processing_record;

        let mut created = Vec::new();
        if let Err(error) = self.replace_processed(&processed, outbound, &mut created) {
            discard(&created);
            return Err(error);
        }
        *entry = processed;
        Ok(())
    }

    fn replace_processed(&self, processed: &Entry, outbound: &[u8], created: &mut Vec<PathBuf>) -> Result<(), SpoolError> {
        let queue_id = &processed.queue_id;
        let outbound_temporary = self.temporary_path(queue_id, PROCESSED_EXTENSION);
        created.push(outbound_temporary.clone());
        let outbound_file = write_new(&outbound_temporary, outbound)?;
        let metadata_temporary = self.temporary_path(queue_id, METADATA_EXTENSION);
        created.push(metadata_temporary.clone());
        let metadata_file = write_new(&metadata_temporary, &processed.to_json())?;
        let files = vec![PendingFile::new(outbound_file, outbound_temporary.clone()), PendingFile::new(metadata_file, metadata_temporary.clone())];
        self.commit.sync(files, Vec::new())?;

        // The outbound message goes first. Should a crash of the machine
        // keep only the second rename, recovery finds the metadata without
        // its `.out` and processes the message again.
        move_replacing(&outbound_temporary, &self.data_path(queue_id, Stage::Processed))?;
        move_replacing(&metadata_temporary, &self.metadata_path(queue_id))?;
        self.commit.sync_directory_later(&self.root);
        Ok(())
    }

    /// Writes the metadata of `entry` durably, replacing the stored one.
    ///
    /// # Errors
    ///
    /// A file step or a sync failed. The stored metadata is then the old
    /// one, or after a failed directory sync possibly the new one.
    pub fn update(&self, entry: &Entry) -> Result<(), SpoolError> {
        let temporary = self.temporary_path(&entry.queue_id, METADATA_EXTENSION);
        let written = write_new(&temporary, &entry.to_json())
            .and_then(|file| self.commit.sync(vec![PendingFile::new(file, temporary.clone())], Vec::new()))
            .and_then(|()| move_replacing(&temporary, &self.metadata_path(&entry.queue_id)));
        if let Err(error) = written {
            discard(&[temporary]);
            return Err(error);
        }
        self.commit.sync(Vec::new(), vec![self.root.clone()])
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
    /// The directory sync is left to the next group commit, without
    /// waiting for it. A crash of the machine before that can bring the
    /// message back, and it is delivered once more, as after a crash just
    /// before the removal.
    pub fn remove(&self, queue_id: &QueueId) -> Result<(), SpoolError> {
        remove_if_present(&self.metadata_path(queue_id))?;
        remove_if_present(&self.data_path(queue_id, Stage::Received))?;
        remove_if_present(&self.data_path(queue_id, Stage::Processed))?;
        let _ = self.count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| count.checked_sub(1));
        self.commit.sync_directory_later(&self.root);
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

/// Removes the files a failed operation created, the newest first, so
/// that metadata goes before its data. A failure is logged and not
/// returned, because the caller returns the error that made it give up.
pub(crate) fn discard(created: &[PathBuf]) {
    for path in created.iter().rev() {
        if let Err(error) = remove_if_present(path) {
            tracing::warn!(%error, "file of a failed spool operation left in place");
        }
    }
}

/// Extension of the data file the given stage works on.
pub(crate) fn data_extension(stage: Stage) -> &'static str {
    match stage {
        Stage::Received => RECEIVED_EXTENSION,
        Stage::Processed => PROCESSED_EXTENSION,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};
    use std::fs::File;
    use std::os::unix::fs::MetadataExt;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Observations of the recording syncer.
    #[derive(Default)]
    struct Recorded {
        /// Inodes of the files synced so far.
        synced: HashSet<u64>,
        /// Metadata names in the spool directory at each directory sync.
        directory_syncs: Vec<BTreeSet<String>>,
        /// Broken rules of the order on disk, found at any sync.
        violations: Vec<String>,
    }

    /// A syncer that syncs nothing, records what it is asked, and checks at
    /// every call that each metadata file in the spool directory, and the
    /// data file it names, were synced before.
    struct Recorder {
        root: PathBuf,
        recorded: Arc<Mutex<Recorded>>,
    }

    impl Recorder {
        fn check_visible_metadata(&self, recorded: &mut Recorded) {
            for name in metadata_names(&self.root) {
                let path = self.root.join(&name);
                let (Ok(metadata), Ok(bytes)) = (std::fs::metadata(&path), std::fs::read(&path)) else { continue };
                if !recorded.synced.contains(&metadata.ino()) {
                    recorded.violations.push(format!("{name} is visible before its contents were synced"));
                    continue;
                }
                let Ok(entry) = Entry::from_json(&bytes) else {
                    recorded.violations.push(format!("{name} cannot be read"));
                    continue;
                };
                let data = self.root.join(format!("{}.{}", entry.queue_id, data_extension(entry.stage)));
                match std::fs::metadata(&data) {
                    Ok(data) if recorded.synced.contains(&data.ino()) => {}
                    Ok(_) => recorded.violations.push(format!("{name} names a data file whose contents were not synced")),
                    // Removed meanwhile: `remove` deletes the metadata first.
                    Err(_) if !path.exists() => {}
                    Err(_) => recorded.violations.push(format!("{name} names a missing data file")),
                }
            }
        }
    }

    impl Syncer for Recorder {
        fn sync_file(&self, file: &File, _path: &Path) -> std::io::Result<()> {
            let mut recorded = self.recorded.lock().unwrap();
            self.check_visible_metadata(&mut recorded);
            recorded.synced.insert(file.metadata()?.ino());
            Ok(())
        }

        fn sync_directory(&self, directory: &Path) -> std::io::Result<()> {
            let mut recorded = self.recorded.lock().unwrap();
            self.check_visible_metadata(&mut recorded);
            assert_eq!(directory, self.root);
            recorded.directory_syncs.push(metadata_names(directory));
            Ok(())
        }
    }

    fn metadata_names(directory: &Path) -> BTreeSet<String> {
        std::fs::read_dir(directory)
            .unwrap()
            .filter_map(Result::ok)
            .map(|item| item.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json"))
            .collect()
    }

    fn envelope() -> QueuedEnvelope {
        QueuedEnvelope {
            client_address: "127.0.0.1".to_string(),
            helo: "client.test".to_string(),
            mail_from: "alice@example.com".to_string(),
            rcpt_to: vec!["bob@example.org".to_string()],
        }
    }

    /// Names of the files in `directory`, without subdirectories.
    fn file_names(directory: &Path) -> BTreeSet<String> {
        std::fs::read_dir(directory)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|item| item.file_type().is_ok_and(|kind| kind.is_file()))
            .map(|item| item.file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn dropped_stage_removes_its_files() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();

        let mut staged = spool.stage(envelope(), Stage::Received, Utc::now()).unwrap();
        spool.write(&mut staged, b"Subject: x\r\n\r\nbody\r\n").unwrap();
        let queue_id = staged.entry().queue_id.clone();
        assert!(spool.data_path(&queue_id, Stage::Received).exists(), "stage did not claim the id");
        drop(staged);

        assert_eq!(file_names(directory.path()), BTreeSet::new());
        assert_eq!(file_names(&directory.path().join("tmp")), BTreeSet::new());
        assert_eq!(spool.len(), 0);
    }

    #[test]
    fn committed_stage_survives_a_restart() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();

        let mut staged = spool.stage(envelope(), Stage::Received, Utc::now()).unwrap();
        spool.write(&mut staged, b"Subject: x\r\n\r\nbody\r\n").unwrap();
        let not_yet = metadata_names(directory.path());
        let entry = spool.commit(staged).unwrap();
        drop(spool);
        let (reopened, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(not_yet, BTreeSet::new(), "metadata was visible before the commit");
        assert_eq!(reopened.len(), 1);
        assert_eq!(recovery.entries.iter().map(|found| found.queue_id.clone()).collect::<Vec<_>>(), vec![entry.queue_id.clone()]);
        assert_eq!(reopened.read_data(&entry).unwrap(), b"Subject: x\r\n\r\nbody\r\n");
    }

    #[test]
    fn appended_start_and_written_rest_make_the_message() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();

        let mut staged = spool.stage(envelope(), Stage::Received, Utc::now()).unwrap();
        spool.append(&mut staged, b"Subject: x\r\n").unwrap();
        spool.append(&mut staged, b"\r\nbo").unwrap();
        let appended = staged.appended();
        spool.write(&mut staged, b"dy\r\n").unwrap();
        let late = spool.append(&mut staged, b"more");
        let entry = spool.commit(staged).unwrap();

        assert_eq!(appended, 16);
        assert!(late.is_err(), "append after write was taken");
        assert_eq!(spool.read_data(&entry).unwrap(), b"Subject: x\r\n\r\nbody\r\n");
    }

    #[test]
    fn uncommitted_append_gone_after_restart() {
        let directory = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(directory.path()).unwrap();

        let mut staged = spool.stage(envelope(), Stage::Received, Utc::now()).unwrap();
        spool.append(&mut staged, b"Subject: x\r\n\r\n").unwrap();
        // A crash: neither the drop of the stage nor the commit runs.
        std::mem::forget(staged);
        drop(spool);
        let (reopened, recovery) = Spool::open(directory.path()).unwrap();

        assert_eq!(reopened.len(), 0);
        assert!(recovery.entries.is_empty());
        assert_eq!(file_names(directory.path()), BTreeSet::new());
    }

    #[test]
    fn concurrent_operations_keep_order_on_disk() {
        let directory = tempfile::tempdir().unwrap();
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let recorder = Recorder { root: directory.path().to_path_buf(), recorded: Arc::clone(&recorded) };
        let (spool, _) = Spool::open_with(directory.path(), recorder).unwrap();

        std::thread::scope(|scope| {
            for thread in 0..8 {
                let spool = &spool;
                let recorded = &recorded;
                scope.spawn(move || {
                    for message in 0..10 {
                        let data = format!("Subject: {thread}-{message}\r\n\r\nbody\r\n");
                        let mut entry = spool.accept(envelope(), data.as_bytes(), Stage::Received, Utc::now()).unwrap();
                        let name = format!("{}.json", entry.queue_id);
                        let covered = recorded.lock().unwrap().directory_syncs.iter().any(|names| names.contains(&name));
                        assert!(covered, "accept returned before a directory sync covered {name}");

                        if message % 2 == 0 {
                            spool.store_processed(&mut entry, b"rewritten", None).unwrap();
                        }
                        if message % 3 == 0 {
                            spool.remove(&entry.queue_id).unwrap();
                        }
                    }
                });
            }
        });
        let remaining = metadata_names(directory.path());
        drop(spool);

        let recorded = recorded.lock().unwrap();
        assert_eq!(recorded.violations, Vec::<String>::new());
        assert_eq!(remaining.len(), 8 * 6);
        assert_eq!(recorded.directory_syncs.last(), Some(&remaining), "the last removals were never synced");
    }
}
