//! The system calls that make spool files durable, behind a trait so that
//! tests of the group commit can observe and fail them.

use std::fs::File;
use std::io;
use std::path::Path;

/// Makes written files and directory entries durable.
pub(crate) trait Syncer: Send + 'static {
    /// Starts writing the dirty pages of `file` to disk without waiting.
    /// Only a hint: the following [`Syncer::sync_file`] reports any error.
    fn start_writeback(&mut self, file: &File, path: &Path);

    /// Returns once the data of `file` and the metadata needed to read it
    /// back, such as its size, are on disk.
    fn sync_file(&mut self, file: &File, path: &Path) -> io::Result<()>;

    /// Returns once the entries of `directory` (links, renames, removals)
    /// are on disk.
    fn sync_directory(&mut self, directory: &Path) -> io::Result<()>;
}

/// The real disk: `sync_file_range`, `fdatasync` and `fsync`.
#[derive(Debug, Default)]
pub(crate) struct DiskSyncer;

impl Syncer for DiskSyncer {
    #[cfg(target_os = "linux")]
    fn start_writeback(&mut self, file: &File, _path: &Path) {
        use std::os::fd::AsRawFd;

        // Starting the writeback of every file of a batch before the first
        // `fdatasync` lets ext4 allocate their blocks in one journal
        // transaction, so the first `fdatasync` commits the metadata of
        // all of them instead of each file committing its own.
        //
        // SAFETY: the descriptor belongs to `file`, which stays open for
        // the call, and `sync_file_range` accesses no memory of this process.
        let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    }

    #[cfg(not(target_os = "linux"))]
    fn start_writeback(&mut self, _file: &File, _path: &Path) {}

    fn sync_file(&mut self, file: &File, _path: &Path) -> io::Result<()> {
        file.sync_data()
    }

    fn sync_directory(&mut self, directory: &Path) -> io::Result<()> {
        File::open(directory)?.sync_all()
    }
}
