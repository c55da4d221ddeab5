//! Input of the queue runner: a spooled entry and, for a message just
//! received, its data in memory and the progress of its spool commit.
//!
//! In after-queue mode the acceptor hands a new message to the runner as
//! soon as the spool has given it a queue id, before its files are written
//! and synced. Its attempt then processes the message from memory while the
//! spool writes and syncs it, and waits for the commit before it writes
//! anything to the spool, records an outcome or delivers. When the commit
//! fails, the client got a temporary failure and sends the message again,
//! so the attempt drops its work. Uploads to the vault made by then stay
//! there.
//!
//! The attempt needs the message data as its own, while the spool writes
//! the same data. It waits up to [`WRITE_WAIT`] for that write and copies
//! the data when the write takes longer. On the benchmark machine a
//! buffered write of 13.7 MB took about 3 ms at most times, and ten times
//! as long right after other files were synced.

use std::sync::Arc;
use std::time::Duration;

use mailgate_queue::Entry;
use tokio::sync::oneshot;

/// How long an attempt waits for the spool to write a new message before it
/// copies the message data instead.
pub(crate) const WRITE_WAIT: Duration = Duration::from_millis(4);

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
    /// The message as received, shared with the spool's write. `None` when
    /// the runner let it go to bound its memory; the attempt then reads it
    /// from the spool.
    pub(crate) data: Option<Arc<Vec<u8>>>,
    /// Receives a message once the spool no longer reads `data`.
    pub(crate) written: oneshot::Receiver<()>,
    /// Receives whether the commit succeeded.
    pub(crate) committed: oneshot::Receiver<bool>,
}

impl Queued {
    /// Wraps an entry that is in the spool already.
    pub(crate) fn stored(entry: Entry) -> Queued {
        Queued { entry, fresh: None }
    }

    /// Wraps a new message with its data; the spool reports on `written`
    /// and `committed`.
    pub(crate) fn fresh(
        entry: Entry,
        data: Arc<Vec<u8>>,
        written: oneshot::Receiver<()>,
        committed: oneshot::Receiver<bool>,
    ) -> Queued {
        Queued { entry, fresh: Some(Fresh { data: Some(data), written, committed }) }
    }

    /// Returns the bytes of message data held in memory.
    pub(crate) fn held_bytes(&self) -> usize {
        self.fresh.as_ref().and_then(|fresh| fresh.data.as_ref()).map_or(0, |data| data.len())
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

/// Returns the message data as the attempt's own: without a copy once the
/// spool's write ended, and as a copy when that takes longer than
/// [`WRITE_WAIT`]. Returns `None` when the copy fails.
pub(crate) async fn own_data(data: Arc<Vec<u8>>, written: oneshot::Receiver<()>) -> Option<Vec<u8>> {
    let _ = tokio::time::timeout(WRITE_WAIT, written).await;

    match Arc::try_unwrap(data) {
        Ok(data) => Some(data),
        Err(shared) => {
            tracing::debug!(size = shared.len(), "the spool is still writing the message; processing a copy");
            match tokio::task::spawn_blocking(move || shared.as_ref().clone()).await {
                Ok(copy) => Some(copy),
                Err(error) => {
                    tracing::warn!(%error, "cannot copy the message; it is read from the spool instead");
                    None
                }
            }
        }
    }
}
