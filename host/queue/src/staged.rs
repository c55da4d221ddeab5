//! A new message whose files are not durable yet: [`Spool::accept`] in
//! three steps.
//!
//! [`Spool::stage`] claims the queue id by creating the empty data file,
//! [`Spool::append`] may write the start of the message while it arrives,
//! [`Spool::write`] writes the rest of the message and its metadata, and
//! [`Spool::commit`] syncs them and makes the message part of the queue.
//! Once the id is claimed the caller may already work on the message from
//! memory, but it must not report the message as accepted, write anything
//! else for it to the spool, or deliver it before the commit succeeded.
//!
//! [`Spool::accept`]: crate::Spool::accept
//! [`Spool::stage`]: crate::Spool::stage
//! [`Spool::append`]: crate::Spool::append
//! [`Spool::write`]: crate::Spool::write
//! [`Spool::commit`]: crate::Spool::commit

use std::fs::File;
use std::path::PathBuf;

use crate::entry::Entry;
use crate::group_commit::PendingFile;

/// A message written to the spool but not committed. Dropping it without a
/// commit removes its files again.
#[derive(Debug)]
pub struct Staged {
    pub(crate) entry: Entry,
    /// The empty data file, until [`Spool::write`](crate::Spool::write)
    /// fills it.
    pub(crate) data_file: Option<File>,
    /// Bytes written by [`Spool::append`](crate::Spool::append).
    pub(crate) appended: usize,
    /// Path of the data file, at its final name.
    pub(crate) data_path: PathBuf,
    /// The data file and the metadata once written, open for their sync.
    pub(crate) files: Vec<PendingFile>,
    /// Path of the metadata in `tmp/`, until the commit moves it.
    pub(crate) metadata_temporary: PathBuf,
    /// Every path created so far, removed when the message is dropped.
    pub(crate) created: Vec<PathBuf>,
}

impl Staged {
    pub(crate) fn new(entry: Entry, data_file: File, data_path: PathBuf, metadata_temporary: PathBuf) -> Staged {
        let created = vec![data_path.clone()];
        Staged { entry, data_file: Some(data_file), appended: 0, data_path, files: Vec::new(), metadata_temporary, created }
    }

    /// Returns the entry the message gets once committed, with its queue id.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// Returns the number of bytes of the message written so far with
    /// [`Spool::append`](crate::Spool::append).
    pub fn appended(&self) -> usize {
        self.appended
    }

    /// Marks the message committed, so dropping it keeps its files.
    pub(crate) fn keep(mut self) -> Entry {
        self.created.clear();
        self.entry.clone()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        crate::spool::discard(&self.created);
    }
}
