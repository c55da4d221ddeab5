//! Group commit: one thread syncs the directory changes of concurrent spool
//! operations together, so that they share the directory syncs.
//!
//! A caller writes its files without syncing them, then passes their
//! handles, and the directories whose entries it changes or changed, to
//! [`GroupCommit::sync`]. The files are synced with `fdatasync` on the
//! calling thread, because the sync of one file does not make another
//! durable. Concurrent callers then wait for the disk at the same time,
//! which lets the kernel merge their work; ext4 with a journal, for one,
//! batches concurrent syncs into one commit (its `max_batch_time` mount
//! option). The directories go to the sync thread,
//! which takes every request pending at that moment as one batch, calls
//! `fsync` once on each directory named in the batch, and then wakes every
//! caller of the batch. Requests that arrive meanwhile wait for the next
//! batch, so batches grow with the load, and a lone request is served at
//! once.
//!
//! A caller returns only after everything it passed is on disk. When a
//! directory sync of a batch fails, every caller of that batch gets the
//! error. No caller reports success from a batch in which the disk reported
//! an error, so a message whose batch failed gets 451 and the client sends
//! it again.
//!
//! A caller that needs the contents of a file durable before its name
//! appears in a directory syncs the file first, then changes the directory,
//! then syncs the directory with a second call.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;

use crate::error::SpoolError;
use crate::files::io_error;
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

/// The syncs of the spool: files on the calling thread, directories in
/// batches on the sync thread. Dropping it syncs the requests still pending
/// and then stops the thread.
pub(crate) struct GroupCommit {
    syncer: Arc<dyn Syncer>,
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
    directories: Vec<PathBuf>,
    /// Channel for the result, or `None` when no caller waits for it.
    reply: Option<mpsc::SyncSender<BatchResult>>,
}

/// The first directory sync of a batch that failed.
#[derive(Debug)]
struct SyncFailure {
    path: PathBuf,
    error: io::Error,
}

type BatchResult = Result<(), Arc<SyncFailure>>;

impl GroupCommit {
    /// Starts the sync thread. Every sync of a file or a directory goes
    /// through `syncer`.
    ///
    /// # Errors
    ///
    /// The thread cannot be created.
    pub(crate) fn start(syncer: impl Syncer) -> io::Result<GroupCommit> {
        let syncer: Arc<dyn Syncer> = Arc::new(syncer);
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread_syncer = Arc::clone(&syncer);
        let thread = std::thread::Builder::new()
            .name("spool-sync".to_string())
            .spawn(move || run(&thread_shared, thread_syncer.as_ref()))?;
        Ok(GroupCommit { syncer, shared, thread: Some(thread) })
    }

    /// Syncs `files` on this thread, then `directories` with the next batch,
    /// and returns once both are on disk.
    ///
    /// # Errors
    ///
    /// - [`SpoolError::Io`] with the file: its sync failed, and the
    ///   directories were not synced.
    /// - [`SpoolError::Io`] with the directory: the directory sync of the
    ///   batch failed.
    /// - [`SpoolError::SyncStopped`]: the sync thread has stopped.
    pub(crate) fn sync(&self, files: Vec<PendingFile>, directories: Vec<PathBuf>) -> Result<(), SpoolError> {
        for pending in &files {
            self.syncer.sync_file(&pending.file, &pending.path).map_err(io_error("sync", &pending.path))?;
        }
        if directories.is_empty() {
            return Ok(());
        }

        let (reply, result) = mpsc::sync_channel(1);
        self.submit(Request { directories, reply: Some(reply) })?;
        match result.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(failure)) => Err(SpoolError::Io { operation: "sync", path: failure.path.clone(), source: copy_error(&failure.error) }),
            Err(mpsc::RecvError) => Err(SpoolError::SyncStopped),
        }
    }

    /// Syncs `directory` with the next batch without waiting for it. A
    /// failure is logged by the sync thread.
    pub(crate) fn sync_directory_later(&self, directory: &Path) {
        let request = Request { directories: vec![directory.to_path_buf()], reply: None };
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
fn run(shared: &Shared, syncer: &dyn Syncer) {
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

        let result = commit(syncer, &batch).map_err(Arc::new);
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

/// Syncs each directory of one batch once. Stops at the first failure.
fn commit(syncer: &dyn Syncer, batch: &[Request]) -> Result<(), SyncFailure> {
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

    /// State of the test syncer, which records every sync, blocks each
    /// directory sync until the test opens its gate, and fails or panics on
    /// chosen paths.
    #[derive(Default)]
    struct Probe {
        log: Mutex<Vec<Event>>,
        /// Directory syncs started, counted before they wait for the gate.
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

        fn wait_for_gate(&self) {
            *self.entered.lock().unwrap() += 1;
            // Bounded, so that a test that fails before it opens the gate
            // ends instead of waiting forever in `GroupCommit::drop`.
            let (open, _) = self.opened.wait_timeout_while(self.open.lock().unwrap(), Duration::from_secs(10), |open| !*open).unwrap();
            drop(open);
        }

        fn pass(&self, path: &Path, event: Event) -> io::Result<()> {

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
        fn sync_file(&self, _file: &File, path: &Path) -> io::Result<()> {
            self.0.pass(path, Event::SyncFile(path.to_path_buf()))
        }

        fn sync_directory(&self, directory: &Path) -> io::Result<()> {
            self.0.wait_for_gate();
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

    /// Starts one request, which the closed gate blocks in the first batch.
    /// Then starts `count` requests from threads of their own and waits
    /// until they are queued behind it. Each waiter thread ends with its
    /// result, and with whether its file and then the directory were synced
    /// in the log as it stood when `sync` returned.
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
    fn file_sync_failure_fails_its_caller() {
        let probe = Arc::new(Probe::default());
        probe.open_gate();
        let commit = GroupCommit::start(ProbeSyncer(Arc::clone(&probe))).unwrap();
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path().to_path_buf();
        let failing = pending_file(&root, "failing");
        let failing_path = failing.path.clone();
        *probe.fail_on.lock().unwrap() = Some(failing_path.clone());

        let result = commit.sync(vec![failing], vec![root.clone()]);

        match result {
            Err(SpoolError::Io { operation, path, source }) => {
                assert_eq!(operation, "sync");
                assert_eq!(path, failing_path);
                assert_eq!(source.raw_os_error(), Some(5));
            }
            other => panic!("expected the file's sync error, got {other:?}"),
        }
        assert!(!probe.events().contains(&Event::SyncDirectory(root.clone())), "directory synced after a failed file sync");
        let other = pending_file(&root, "other");
        assert!(commit.sync(vec![other], vec![root]).is_ok(), "another caller is not affected");
    }

    #[test]
    fn directory_sync_failure_fails_whole_batch() {
        let blocked = block_batch(8, Probe::default());
        let root = blocked.directory.path().to_path_buf();
        *blocked.probe.fail_on.lock().unwrap() = Some(root.clone());

        blocked.probe.open_gate();

        let first = blocked.first.join().unwrap();
        assert!(matches!(first, Err(SpoolError::Io { .. })), "{first:?}");
        for waiter in blocked.waiters {
            let (result, _) = waiter.join().unwrap();
            match result {
                Err(SpoolError::Io { operation, path, source }) => {
                    assert_eq!(operation, "sync");
                    assert_eq!(path, root);
                    assert_eq!(source.raw_os_error(), Some(5));
                }
                other => panic!("expected the sync error of the batch, got {other:?}"),
            }
        }

        *blocked.probe.fail_on.lock().unwrap() = None;
        assert!(blocked.commit.sync(Vec::new(), vec![root]).is_ok(), "the next batch succeeds again");
    }

    #[test]
    fn panicking_sync_thread_releases_waiters() {
        let blocked = block_batch(4, Probe::default());
        let root = blocked.directory.path().to_path_buf();
        *blocked.probe.panic_on.lock().unwrap() = Some(root.clone());

        blocked.probe.open_gate();

        assert!(matches!(blocked.first.join().unwrap(), Err(SpoolError::SyncStopped)));
        for waiter in blocked.waiters {
            let (result, _) = waiter.join().unwrap();
            assert!(matches!(result, Err(SpoolError::SyncStopped)), "{result:?}");
        }
        assert!(matches!(blocked.commit.sync(Vec::new(), vec![root]), Err(SpoolError::SyncStopped)));
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
