//! Input of the queue runner: a spooled entry and, for a message just
//! received, its data in memory and the progress of its spool commit.
//!
//! In after-queue mode the acceptor hands a new message to the runner as
//! soon as the spool has given it a queue id, before its files are complete
//! and synced. Its attempt then processes the message from memory while the
//! spool writes and syncs it, and waits for the commit before it writes
//! anything to the spool, records an outcome or delivers. When the commit
//! fails, the client got a temporary failure and sends the message again,
//! so the attempt drops its work. Uploads to the vault made by then stay
//! there.
//!
//! The attempt owns the message data. The spool writes from its own copy
//! of the part that it did not store while the message arrived, about
//! 1 MiB at most (see `queue_sink.rs`).

use mailgate_queue::Entry;
use tokio::sync::oneshot;

/// An entry for the queue runner.
#[derive(Debug)]
pub(crate) struct Queued {
    /// The entry as the spool has it, or will have it once committed.
    pub(crate) entry: Entry,
    /// Present for a message whose commit may still be running.
    pub(crate) fresh: Option<Fresh>,
}

/// A new message whose attempt may start before its spool commit ended.
#[derive(Debug)]
pub(crate) struct Fresh {
    /// The message as received. `None` when the runner let it go to bound
    /// its memory; the attempt then reads it from the spool.
    pub(crate) data: Option<Vec<u8>>,
    /// Receives whether the commit succeeded.
    pub(crate) committed: oneshot::Receiver<bool>,
}

impl Queued {
    /// Wraps an entry that is in the spool already.
    pub(crate) fn stored(entry: Entry) -> Queued {
        Queued { entry, fresh: None }
    }

    /// Wraps a new message with its data; the spool reports on `committed`.
    pub(crate) fn fresh(entry: Entry, data: Vec<u8>, committed: oneshot::Receiver<bool>) -> Queued {
        Queued { entry, fresh: Some(Fresh { data: Some(data), committed }) }
    }

    /// Returns the bytes of message data held in memory.
    pub(crate) fn held_bytes(&self) -> usize {
        self.fresh.as_ref().and_then(|fresh| fresh.data.as_ref()).map_or(0, Vec::len)
    }

    /// Drops the message data, so the attempt reads it from the spool.
    pub(crate) fn release_data(&mut self) {
        if let Some(fresh) = self.fresh.as_mut() {
            fresh.data = None;
        }
    }
}

/// Waits for the commit that `committed` reports. A sender dropped without
/// a report counts as a failed commit.
pub(crate) async fn wait_committed(committed: oneshot::Receiver<bool>) -> bool {
    committed.await.unwrap_or(false)
}
