//! Errors of the spool.

use std::path::PathBuf;

/// A failed spool operation.
///
/// Every variant is a temporary failure for the message concerned: the
/// gateway replies 451 when a message cannot be spooled, and keeps a spooled
/// message for a later attempt when its state cannot be updated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// A file or directory operation failed.
    #[error("spool operation `{operation}` failed on {path}: {source}")]
    Io {
        /// Operation that failed, such as `write` or `rename`.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A metadata file cannot be read as metadata.
    #[error("corrupt spool metadata {path}: {reason}")]
    Corrupt {
        /// The metadata file.
        path: PathBuf,
        /// The problem found.
        reason: String,
    },

    /// The spool's sync thread has stopped, so nothing can be made durable
    /// any more; only a restart of the gateway starts it again.
    #[error("the spool's sync thread has stopped; restart the gateway")]
    SyncStopped,

    /// Metadata with the queue id of a staged message appeared before the
    /// message was committed.
    #[error("queue id {queue_id} was taken while its message was being stored")]
    IdTaken {
        /// The queue id.
        queue_id: String,
    },

    /// No free queue id was found; the spool is nearly full of ids.
    #[error("no unused queue id found in {attempts} attempts")]
    NoFreeId {
        /// How many random ids were tried.
        attempts: u32,
    },
}
