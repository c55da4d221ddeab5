//! A new message whose files are written but not durable yet: the first
//! half of [`Spool::accept`](crate::Spool::accept).
//!
//! [`Spool::stage`](crate::Spool::stage) writes the files and claims the
//! queue id; [`Spool::commit`](crate::Spool::commit) syncs them and makes
//! the message part of the queue. Between the two the caller may already
//! work on the message from memory, but it must not report the message as
//! accepted, write anything for it to the spool, or deliver it before the
//! commit succeeded.

use std::path::PathBuf;

use crate::entry::Entry;
use crate::group_commit::PendingFile;

/// A message written to the spool but not committed. Dropping it without a
/// commit removes its files again.
#[derive(Debug)]
pub struct Staged {
    pub(crate) entry: Entry,
    /// The data file and the metadata, open for their sync.
    pub(crate) files: Vec<PendingFile>,
    /// Path of the metadata in `tmp/`, until the commit moves it.
    pub(crate) metadata_temporary: PathBuf,
    /// Every path created so far, removed when the message is dropped.
    pub(crate) created: Vec<PathBuf>,
}

impl Staged {
    pub(crate) fn new(entry: Entry, metadata_temporary: PathBuf) -> Staged {
        Staged {
            entry,
            files: Vec::new(),
            metadata_temporary,
            created: Vec::new(),
        }
    }

    /// Returns the entry the message gets once committed, with its queue id.
    pub fn entry(&self) -> &Entry {
        &self.entry
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
