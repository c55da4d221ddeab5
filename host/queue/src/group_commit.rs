//! Group commit: one thread makes the writes of concurrent spool operations
//! durable together, so that they share the syncs.
//!
//! A caller writes its files without syncing them and passes their handles,
//! and the directories whose entries it changed, to [`GroupCommit::sync`].
//! The sync thread takes every request pending at that moment as one batch.
//! It starts the writeback of every file of the batch, calls `fdatasync` on
//! each file, then `fsync` once on each directory named in the batch, and
//! then wakes every caller of the batch. Requests that arrive meanwhile wait
//! for the next batch, so batches grow with the load, and a lone request is
//! served at once.
//!
//! A caller returns only after everything it passed is on disk. When a sync
//! of a batch fails, every caller of that batch gets the error, even one
//! whose own files were synced before the failure. No caller reports
//! success from a batch in which the disk reported an error, so a message
//! whose batch failed gets 451 and the client sends it again.
//!
//! Within a batch the order of the syncs is not an order on disk. A caller
//! that needs the contents of a file durable before its name appears in a
//! directory waits for one request with the file, then makes the change in
//! the directory and sends a second request.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;

use crate::error::SpoolError;
use crate::syncer::Syncer;

/// A written file that is not synced yet.
#[derive(Debug)]
pub(crate) struct PendingFile {
    file: File,
    path: PathBuf,
}

impl PendingFile {
    /// Wraps the open `file` at `path`. The path identifies the file in
    /// errors and logs.
    pub(crate) fn new(file: File, path: PathBuf) -> PendingFile {
        PendingFile { file, path }
    }
}

/// The thread that syncs the spool's writes in batches. Dropping it syncs
/// the requests still pending and then stops the thread.
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for GroupCommit {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<Request>,
    /// Set when the [`GroupCommit`] is dropped: the thread syncs what is
    /// pending and ends.
    closing: bool,
    /// Set when the thread has ended, normally or by a panic.
    stopped: bool,
}

struct Request {
    files: Vec<PendingFile>,
    directories: Vec<PathBuf>,
    /// Channel for the result, or `None` when no caller waits for it.
    reply: Option<mpsc::SyncSender<BatchResult>>,
}

/// The first sync of a batch that failed.
#[derive(Debug)]
struct SyncFailure {
    path: PathBuf,
    error: io::Error,
}

type BatchResult = Result<(), Arc<SyncFailure>>;

impl GroupCommit {
    /// Starts the sync thread, which makes everything durable with `syncer`.
    ///
    /// # Errors
    ///
    /// The thread cannot be created.
    pub(crate) fn start(syncer: impl Syncer) -> io::Result<GroupCommit> {
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("spool-sync".to_string()).spawn(move || run(&thread_shared, syncer))?;
        Ok(GroupCommit { shared, thread: Some(thread) })
    }

    /// Syncs `files` and then `directories` with the next batch, and returns
    /// once that batch is on disk.
    ///
    /// # Errors
    ///
    /// A sync of the batch failed ([`SpoolError::Io`] with the path whose
    /// sync failed, which may be another caller's), or the sync thread has
    /// stopped ([`SpoolError::SyncStopped`]).
    pub(crate) fn sync(&self, files: Vec<PendingFile>, directories: Vec<PathBuf>) -> Result<(), SpoolError> {
        if files.is_empty() && directories.is_empty() {
            return Ok(());
        }
        let (reply, result) = mpsc::sync_channel(1);
        self.submit(Request { files, directories, reply: Some(reply) })?;
        match result.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(failure)) => Err(SpoolError::Io { operation: "sync", path: failure.path.clone(), source: copy_error(&failure.error) }),
            Err(mpsc::RecvError) => Err(SpoolError::SyncStopped),
        }
    }

    /// Syncs `directory` with the next batch without waiting for it. A
    /// failure is logged by the sync thread.
    pub(crate) fn sync_directory_later(&self, directory: &Path) {
        let request = Request { files: Vec::new(), directories: vec![directory.to_path_buf()], reply: None };
        if let Err(error) = self.submit(request) {
            tracing::warn!(%error, directory = %directory.display(), "directory sync not requested");
        }
    }

    fn submit(&self, request: Request) -> Result<(), SpoolError> {
        let mut state = lock(&self.shared.state);
        if state.stopped || state.closing {
            return Err(SpoolError::SyncStopped);
        }
        state.pending.push(request);
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Number of requests waiting for the next batch.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        lock(&self.shared.state).pending.len()
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        lock(&self.shared.state).closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the spool's sync thread panicked");
        }
    }
}

/// Locks the state, also after a panic elsewhere. The state stays
/// consistent because every change under the lock is a single push, take
/// or flag.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Marks the thread stopped when it ends, by return or panic, and drops
/// the requests still pending, so that their callers get
/// [`SpoolError::SyncStopped`] instead of waiting forever.
struct StopGuard<'a>(&'a Shared);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.stopped = true;
        state.pending.clear();
    }
}

/// Takes the pending requests as batches and syncs them until the
/// [`GroupCommit`] is dropped.
fn run(shared: &Shared, mut syncer: impl Syncer) {
    let _stop = StopGuard(shared);
    loop {
        let batch = {
            let mut state = lock(&shared.state);
            while state.pending.is_empty() && !state.closing {
                state = shared.wake.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            if state.pending.is_empty() {
                return;
            }
            std::mem::take(&mut state.pending)
        };

        let result = commit(&mut syncer, &batch).map_err(Arc::new);
        if let Err(failure) = &result {
            tracing::error!(
                error = %failure.error,
                path = %failure.path.display(),
                requests = batch.len(),
                "spool sync failed; every operation of this batch fails"
            );
        }
        for request in batch {
            if let Some(reply) = request.reply {
                // The caller is blocked in `sync` until this arrives, and
                // the channel has room for it.
                let _ = reply.send(result.clone());
            }
        }
    }
}

/// Syncs one batch: every file, then each directory once. Stops at the
/// first failure.
fn commit(syncer: &mut impl Syncer, batch: &[Request]) -> Result<(), SyncFailure> {
    let files = || batch.iter().flat_map(|request| &request.files);
    for pending in files() {
        syncer.start_writeback(&pending.file, &pending.path);
    }
    for pending in files() {
        syncer.sync_file(&pending.file, &pending.path).map_err(|error| SyncFailure { path: pending.path.clone(), error })?;
    }

    let directories: BTreeSet<&Path> = batch.iter().flat_map(|request| request.directories.iter().map(PathBuf::as_path)).collect();
    for directory in directories {
        syncer.sync_directory(directory).map_err(|error| SyncFailure { path: directory.to_path_buf(), error })?;
    }
    Ok(())
}

/// Copies an I/O error for one of several callers: the same OS error code,
/// or the same kind and text.
fn copy_error(error: &io::Error) -> io::Error {
    match error.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(error.kind(), error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    /// A sync that the test syncer completed.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Event {
        SyncFile(PathBuf),
        SyncDirectory(PathBuf),
    }

    /// State of the test syncer, which records every sync, blocks each one
    /// until the test opens its gate, and fails or panics on chosen paths.
    #[derive(Default)]
    struct Probe {
        log: Mutex<Vec<Event>>,
        /// Syncs started, counted before they wait for the gate.
        entered: Mutex<usize>,
        open: Mutex<bool>,
        opened: Condvar,
        fail_on: Mutex<Option<PathBuf>>,
        panic_on: Mutex<Option<PathBuf>>,
    }

    impl Probe {
        fn open_gate(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }

        fn pass(&self, path: &Path, event: Event) -> io::Result<()> {
            *self.entered.lock().unwrap() += 1;
            // Bounded, so that a test that fails before it opens the gate
            // ends instead of waiting forever in `GroupCommit::drop`.
            let (open, _) = self.opened.wait_timeout_while(self.open.lock().unwrap(), Duration::from_secs(10), |open| !*open).unwrap();
            drop(open);

            if self.panic_on.lock().unwrap().as_deref() == Some(path) {
                panic!("test syncer panics on {}", path.display());
            }
            if self.fail_on.lock().unwrap().as_deref() == Some(path) {
                return Err(io::Error::from_raw_os_error(5));
            }
            self.log.lock().unwrap().push(event);
            Ok(())
        }

        fn events(&self) -> Vec<Event> {
            self.log.lock().unwrap().clone()
        }
    }

    struct ProbeSyncer(Arc<Probe>);

    impl Syncer for ProbeSyncer {
        fn start_writeback(&mut self, _file: &File, _path: &Path) {}

        fn sync_file(&mut self, _file: &File, path: &Path) -> io::Result<()> {
            self.0.pass(path, Event::SyncFile(path.to_path_buf()))
        }

        fn sync_directory(&mut self, directory: &Path) -> io::Result<()> {
            self.0.pass(directory, Event::SyncDirectory(directory.to_path_buf()))
        }
    }

    /// Polls `condition` for up to 10 seconds.
    fn wait_until(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn pending_file(directory: &Path, name: &str) -> PendingFile {
        let path = directory.join(name);
        let file = File::create(&path).unwrap();
        PendingFile::new(file, path)
    }

    /// A first batch held by the closed gate, with requests queued behind it.
    struct Blocked {
        commit: Arc<GroupCommit>,
        probe: Arc<Probe>,
        directory: tempfile::TempDir,
        first: std::thread::JoinHandle<Result<(), SpoolError>>,
        waiters: Vec<std::thread::JoinHandle<(Result<(), SpoolError>, bool)>>,
        returned: Arc<AtomicBool>,
    }

    /// Starts one request, which the closed gate blocks in the first batch,
    /// then `count` requests from threads of their own, and waits until
    /// they are queued behind it. Each waiter thread ends with its result
    /// and whether, in the log as it stood when `sync` returned, its file
    /// was synced and then the directory.
    fn block_batch(count: usize, probe: Probe) -> Blocked {
        let probe = Arc::new(probe);
        let commit = Arc::new(GroupCommit::start(ProbeSyncer(Arc::clone(&probe))).unwrap());
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path().to_path_buf();

        let first = {
            let commit = Arc::clone(&commit);
            let file = pending_file(&root, "first");
            let root = root.clone();
            std::thread::spawn(move || commit.sync(vec![file], vec![root]))
        };
        wait_until("the first batch is being synced", || *probe.entered.lock().unwrap() == 1 && commit.pending() == 0);

        let returned = Arc::new(AtomicBool::new(false));
        let waiters = (0..count)
            .map(|index| {
                let commit = Arc::clone(&commit);
                let probe = Arc::clone(&probe);
                let returned = Arc::clone(&returned);
                let file = pending_file(&root, &format!("file-{index}"));
                let file_path = file.path.clone();
                let root = root.clone();
                std::thread::spawn(move || {
                    let result = commit.sync(vec![file], vec![root.clone()]);
                    returned.store(true, Ordering::SeqCst);
                    let events = probe.events();
                    let file_synced = events.iter().position(|event| *event == Event::SyncFile(file_path.clone()));
                    let covered = file_synced.is_some_and(|position| events[position..].contains(&Event::SyncDirectory(root.clone())));
                    (result, covered)
                })
            })
            .collect();
        wait_until("every request is queued", || commit.pending() == count);

        Blocked { commit, probe, directory, first, waiters, returned }
    }

    #[test]
    fn waiters_return_after_their_batch() {
        let blocked = block_batch(16, Probe::default());
        std::thread::sleep(Duration::from_millis(50));
        assert!(!blocked.returned.load(Ordering::SeqCst), "a caller returned before its batch was synced");

        blocked.probe.open_gate();

        assert!(blocked.first.join().unwrap().is_ok());
        for waiter in blocked.waiters {
            let (result, covered) = waiter.join().unwrap();
            assert!(result.is_ok(), "{result:?}");
            assert!(covered, "a caller returned before its file and then the directory were synced");
        }
        let directory_syncs = blocked.probe.events().iter().filter(|event| matches!(event, Event::SyncDirectory(_))).count();
        assert_eq!(directory_syncs, 2, "17 requests in two batches should sync the directory twice");
    }

    #[test]
    fn file_sync_failure_fails_whole_batch() {
        let blocked = block_batch(8, Probe::default());
        let failing = blocked.directory.path().join("file-3");
        *blocked.probe.fail_on.lock().unwrap() = Some(failing.clone());

        blocked.probe.open_gate();

        assert!(blocked.first.join().unwrap().is_ok(), "the batch before the failure is not affected");
        for waiter in blocked.waiters {
            let (result, _) = waiter.join().unwrap();
            match result {
                Err(SpoolError::Io { operation, path, source }) => {
                    assert_eq!(operation, "sync");
                    assert_eq!(path, failing);
                    assert_eq!(source.raw_os_error(), Some(5));
                }
                other => panic!("expected the sync error of the batch, got {other:?}"),
            }
        }

        let after = pending_file(blocked.directory.path(), "after");
        assert!(blocked.commit.sync(vec![after], Vec::new()).is_ok(), "the next batch succeeds again");
    }

    #[test]
    fn directory_sync_failure_fails_whole_batch() {
        let blocked = block_batch(4, Probe::default());
        *blocked.probe.fail_on.lock().unwrap() = Some(blocked.directory.path().to_path_buf());

        blocked.probe.open_gate();

        assert!(blocked.first.join().is_ok());
        for waiter in blocked.waiters {
            let (result, _) = waiter.join().unwrap();
            assert!(matches!(result, Err(SpoolError::Io { .. })), "{result:?}");
        }
    }

    #[test]
    fn panicking_sync_thread_releases_waiters() {
        let blocked = block_batch(4, Probe::default());
        *blocked.probe.panic_on.lock().unwrap() = Some(blocked.directory.path().join("first"));

        blocked.probe.open_gate();

        assert!(matches!(blocked.first.join().unwrap(), Err(SpoolError::SyncStopped)));
        for waiter in blocked.waiters {
            let (result, _) = waiter.join().unwrap();
            assert!(matches!(result, Err(SpoolError::SyncStopped)), "{result:?}");
        }
        let late = pending_file(blocked.directory.path(), "late");
        assert!(matches!(blocked.commit.sync(vec![late], Vec::new()), Err(SpoolError::SyncStopped)));
    }

    #[test]
    fn drop_syncs_pending_requests() {
        let probe = Arc::new(Probe::default());
        probe.open_gate();
        let commit = GroupCommit::start(ProbeSyncer(Arc::clone(&probe))).unwrap();
        let directory = tempfile::tempdir().unwrap();

        commit.sync_directory_later(directory.path());
        drop(commit);

        assert_eq!(probe.events(), vec![Event::SyncDirectory(directory.path().to_path_buf())]);
    }

    #[test]
    fn disk_syncer_syncs_real_files() {
        let commit = GroupCommit::start(crate::syncer::DiskSyncer).unwrap();
        let directory = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|index| {
                    let file = pending_file(directory.path(), &format!("file-{index}"));
                    let root = directory.path().to_path_buf();
                    let commit = &commit;
                    scope.spawn(move || commit.sync(vec![file], vec![root]))
                })
                .collect();
            for handle in handles {
                let result = handle.join().unwrap();
                assert!(result.is_ok(), "{result:?}");
            }
        });
    }
}
