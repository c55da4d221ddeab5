//! The system calls that make spool files durable, behind a trait so that
//! tests of the group commit can observe and fail them.

use std::fs::File;
use std::io;
use std::path::Path;

/// Makes written files and directory entries durable. Called from several
/// threads at once.
pub(crate) trait Syncer: Send + Sync + 'static {
    /// Returns once the data of `file` and the metadata needed to read it
    /// back, such as its size, are on disk.
    fn sync_file(&self, file: &File, path: &Path) -> io::Result<()>;

    /// Returns once the entries of `directory` (links, renames, removals)
    /// are on disk.
    fn sync_directory(&self, directory: &Path) -> io::Result<()>;
}

/// The real disk: `fdatasync` for files, `fsync` for directories.
#[derive(Debug, Default)]
pub(crate) struct DiskSyncer;

impl Syncer for DiskSyncer {
    fn sync_file(&self, file: &File, _path: &Path) -> io::Result<()> {
        file.sync_data()
    }

    fn sync_directory(&self, directory: &Path) -> io::Result<()> {
        File::open(directory)?.sync_all()
    }
}
