//! Errors of the clamd engine.

use std::time::Duration;

/// Failure to get a verdict or a `PONG` from clamd.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum ClamdError {
    /// No connection could be opened.
    #[error(
        "cannot connect to clamd at {address}: {source}; check that clamd is running and listens there"
    )]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },

    /// Connecting, sending or waiting for the reply took longer than allowed.
    #[error("clamd at {address} did not reply within {} ms", after.as_millis())]
    TimedOut { address: String, after: Duration },

    /// The connection failed after it was opened.
    #[error("connection to clamd at {address} failed: {source}")]
    Io {
        address: String,
        #[source]
        source: std::io::Error,
    },

    /// The content is larger than the configured stream limit, so it was not sent.
    #[error(
        "content of {size} bytes exceeds the clamd stream limit of {limit} bytes; raise \
         StreamMaxLength in clamd.conf and the gateway's limit together"
    )]
    TooLarge { size: u64, limit: u64 },

    /// clamd rejected the stream because it exceeds its `StreamMaxLength`.
    #[error(
        "clamd at {address} rejected the content: INSTREAM size limit exceeded; raise \
         StreamMaxLength in clamd.conf or lower the gateway's limit to match it"
    )]
    SizeLimitExceeded { address: String },

    /// clamd replied with an error.
    #[error("clamd at {address} returned an error: {message}")]
    Clamd { address: String, message: String },

    /// The reply is not one that clamd sends for the command.
    #[error("unexpected reply from clamd at {address}: {reply}")]
    UnexpectedReply { address: String, reply: String },
}
