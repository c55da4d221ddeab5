//! File steps of the spool: write a new file, move it into place, remove
//! it. Making the steps durable is the job of the group commit
//! (`group_commit.rs`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::SpoolError;

/// Builds the `SpoolError::Io` for `operation` on `path`.
pub(crate) fn io_error<'a>(operation: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SpoolError + 'a {
    move |source| SpoolError::Io { operation, path: path.to_path_buf(), source }
}

/// Writes `bytes` into the new file `path` and returns the file, still
/// open and not synced yet.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<File, SpoolError> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path).map_err(io_error("create", path))?;
    file.write_all(bytes).map_err(io_error("write", path))?;
    Ok(file)
}

/// Creates the new, empty file `path` and returns it, or `None` when `path`
/// exists.
pub(crate) fn create_if_absent(path: &Path) -> Result<Option<File>, SpoolError> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(file) => Ok(Some(file)),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        Err(error) => Err(io_error("create", path)(error)),
    }
}

/// Moves `temporary` to `target` unless `target` exists. Returns `Ok(false)`
/// and leaves `temporary` in place when it does. An error means that
/// `target` was not created.
///
/// NOTE: this relies on hard links, which every Linux file system a spool
/// is likely to live on supports; FAT-like file systems do not.
pub(crate) fn move_if_absent(temporary: &Path, target: &Path) -> Result<bool, SpoolError> {
    match fs::hard_link(temporary, target) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(error) => return Err(io_error("link", target)(error)),
    }
    if let Err(error) = fs::remove_file(temporary) {
        // The file is in place; the next start clears `tmp/`.
        tracing::warn!(%error, path = %temporary.display(), "cannot remove the temporary name of a spool file");
    }
    Ok(true)
}

/// Moves `temporary` to `target`, replacing `target` atomically.
pub(crate) fn move_replacing(temporary: &Path, target: &Path) -> Result<(), SpoolError> {
    fs::rename(temporary, target).map_err(io_error("rename", target))
}

/// Asks the kernel to start writing `length` bytes of `file` from `offset`
/// to disk, without waiting for it, so that a later sync has less left to
/// do. A hint only: errors are ignored here and reported by the sync.
#[cfg(target_os = "linux")]
pub(crate) fn start_writeback(file: &File, offset: u64, length: u64) {
    use std::os::fd::AsRawFd;

    let (Ok(offset), Ok(length)) = (i64::try_from(offset), i64::try_from(length)) else { return };
    // SAFETY: sync_file_range only reads its integer arguments; the
    // descriptor is open for as long as `file` is borrowed.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, length, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Does nothing where `sync_file_range` is not available.
#[cfg(not(target_os = "linux"))]
pub(crate) fn start_writeback(_file: &File, _offset: u64, _length: u64) {}

/// Syncs a directory, so that renames and removals in it are on disk.
pub(crate) fn sync_directory(directory: &Path) -> Result<(), SpoolError> {
    File::open(directory).and_then(|handle| handle.sync_all()).map_err(io_error("sync", directory))
}

/// Removes `path`; a missing file is not an error.
pub(crate) fn remove_if_present(path: &Path) -> Result<(), SpoolError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error("remove", path)(error)),
    }
}

/// Returns `directory/name`, or `directory/name.N` with the smallest `N`
/// that does not exist yet.
pub(crate) fn free_name(directory: &Path, name: &str) -> PathBuf {
    let plain = directory.join(name);
    if !plain.exists() {
        return plain;
    }
    (1u32..)
        .map(|number| directory.join(format!("{name}.{number}")))
        .find(|candidate| !candidate.exists())
        .unwrap_or(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_if_absent_keeps_existing_target() {
        let directory = tempfile::tempdir().unwrap();
        let temporary = directory.path().join("tmp");
        let target = directory.path().join("target");
        std::fs::write(&target, b"old").unwrap();
        write_new(&temporary, b"new").unwrap();

        let moved = move_if_absent(&temporary, &target).unwrap();

        assert!(!moved);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(temporary.exists());
    }

    #[test]
    fn move_if_absent_moves() {
        let directory = tempfile::tempdir().unwrap();
        let temporary = directory.path().join("tmp");
        let target = directory.path().join("target");
        write_new(&temporary, b"new").unwrap();

        assert!(move_if_absent(&temporary, &target).unwrap());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert!(!temporary.exists());
    }

    #[test]
    fn free_name_counts_up() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("a"), b"").unwrap();
        std::fs::write(directory.path().join("a.1"), b"").unwrap();

        assert_eq!(free_name(directory.path(), "a"), directory.path().join("a.2"));
        assert_eq!(free_name(directory.path(), "b"), directory.path().join("b"));
    }
}
