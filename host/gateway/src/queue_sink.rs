//! Stores a large message in the spool while it arrives, so that at the
//! end of DATA only its last piece, the metadata and the syncs remain.
//!
//! The SMTP session hands the data in pieces of about 1 MiB (see
//! `mailgate_smtp::STREAM_CHUNK`). Each piece is copied and appended to the
//! staged data file on the blocking pool, one piece at a time. The session
//! reads on while a piece is written, and waits before it hands over the
//! next one, so a slow disk slows the client down instead of filling
//! memory. At most two pieces are in memory besides the session's buffer.
//!
//! Nothing here is durable: the message becomes part of the queue only
//! through the acceptor's commit. A sink dropped before that (the client
//! left, a limit was exceeded, the server stops) removes its file once its
//! last write ended, and a crash leaves a data file without metadata, which
//! the next start removes.

use std::sync::Arc;

use chrono::Utc;
use mailgate_queue::{QueuedEnvelope, Spool, SpoolError, Stage, Staged};
use mailgate_smtp::DataSink;
use tokio::task::JoinHandle;

/// The staged message once the write in progress ended.
type Writing = JoinHandle<Result<Staged, SpoolError>>;

/// Error of storing an arriving message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SinkError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("the task writing the message to the spool failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("a write of the message to the spool was cancelled")]
    Cancelled,
}

/// A message being stored while it arrives.
pub(crate) struct SpoolSink {
    spool: Arc<Spool>,
    /// The claim of the queue id, then the write of the last piece; `None`
    /// once one failed.
    writing: Option<Writing>,
    /// The first failure, reported by [`SpoolSink::finish`].
    failure: Option<SinkError>,
}

impl SpoolSink {
    /// Claims a queue id for a message with `envelope` on the blocking pool
    /// and returns the sink for its data. Must run inside the runtime.
    pub(crate) fn open(spool: Arc<Spool>, envelope: QueuedEnvelope) -> SpoolSink {
        let claiming = Arc::clone(&spool);
        let writing = tokio::task::spawn_blocking(move || claiming.stage(envelope, Stage::Received, Utc::now()));
        SpoolSink { spool, writing: Some(writing), failure: None }
    }

    /// Waits for the write in progress and returns the staged message, with
    /// [`Staged::appended`] bytes of data written.
    ///
    /// # Errors
    ///
    /// The claim or a write failed; the message's files are removed.
    pub(crate) async fn finish(mut self) -> Result<Staged, SinkError> {
        let staged = self.settle().await;
        match (self.failure.take(), staged) {
            (Some(failure), _) => Err(failure),
            (None, Some(staged)) => Ok(staged),
            (None, None) => Err(SinkError::Cancelled),
        }
    }

    /// Waits for the write in progress and returns its staged message, or
    /// `None` after a failure.
    async fn settle(&mut self) -> Option<Staged> {
        let writing = self.writing.take()?;
        match writing.await.map_err(SinkError::from).and_then(|written| written.map_err(SinkError::from)) {
            Ok(staged) => Some(staged),
            Err(error) => {
                tracing::warn!(%error, "failed to write the arriving message to the spool; the client gets 451 at the end of its data");
                self.failure = Some(error);
                None
            }
        }
    }
}

impl DataSink for SpoolSink {
    async fn write(&mut self, bytes: &[u8]) {
        let piece = bytes.to_vec();
        let Some(mut staged) = self.settle().await else { return };

        let spool = Arc::clone(&self.spool);
        self.writing = Some(tokio::task::spawn_blocking(move || {
            spool.append(&mut staged, &piece)?;
            Ok(staged)
        }));
    }
}
