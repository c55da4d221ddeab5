//! Errors of the MetaDefender Core engine.

use std::time::Duration;

/// Failure of a call to MetaDefender Core.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum MetaDefenderError {
    /// The configured base URL is not an absolute `http` or `https` URL.
    #[error(
        "invalid MetaDefender Core URL {url:?}: {reason}; expected http(s)://<host>:<port>, for example http://127.0.0.1:8008"
    )]
    InvalidUrl { url: String, reason: String },

    /// The configured API key cannot be sent as an HTTP header.
    #[error(
        "invalid MetaDefender Core API key: it contains characters that an HTTP header cannot carry"
    )]
    InvalidApiKey,

    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client for MetaDefender Core: {source}")]
    Client {
        #[source]
        source: reqwest::Error,
    },

    /// No connection could be opened.
    #[error(
        "cannot connect to MetaDefender Core at {url}; check that it is running and that the URL is right"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// One request took longer than the request timeout.
    #[error("the MetaDefender Core request to {url} timed out")]
    RequestTimedOut { url: String },

    /// The connection failed before a complete response arrived.
    #[error("the MetaDefender Core request to {url} failed: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// Core rejected `POST /file` with HTTP 503 because its scan queue is full.
    #[error("MetaDefender Core's scan queue is full (HTTP 503); retry later")]
    QueueFull,

    /// Core rejected the API key with HTTP 401 or 403.
    #[error(
        "MetaDefender Core rejected the API key (HTTP {status}: {message}); check the configured key"
    )]
    Unauthorized { status: u16, message: String },

    /// Core does not know the data id.
    #[error("MetaDefender Core has no scan with data id {data_id}")]
    NotFound { data_id: String },

    /// Core returned an HTTP error status other than 401, 403, 404 and 503.
    #[error("MetaDefender Core rejected {step} with HTTP {status}: {message}")]
    Rejected {
        step: String,
        status: u16,
        message: String,
    },

    /// A success response does not have the fields the API defines.
    #[error("invalid response from MetaDefender Core to {step}: {reason}")]
    InvalidResponse { step: String, reason: String },

    /// A data id is empty, too long, or has characters other than ASCII
    /// letters, digits, `-` and `_`.
    #[error("invalid MetaDefender Core data id {data_id:?}")]
    InvalidDataId { data_id: String },

    /// The scan did not finish within the scan timeout.
    #[error("MetaDefender Core did not finish the scan within {} s", after.as_secs_f64())]
    ScanTimedOut { after: Duration },
}

impl MetaDefenderError {
    /// Returns true when the same request may succeed later: Core could not
    /// be reached, timed out, was busy (HTTP 503 or another 5xx status) or
    /// the connection broke. Configuration errors, rejected API keys,
    /// unknown data ids and invalid responses are permanent.
    pub fn is_temporary(&self) -> bool {
        match self {
            MetaDefenderError::Unreachable { .. }
            | MetaDefenderError::RequestTimedOut { .. }
            | MetaDefenderError::Transport { .. }
            | MetaDefenderError::QueueFull
            | MetaDefenderError::ScanTimedOut { .. } => true,
            MetaDefenderError::Rejected { status, .. } => *status >= 500,
            MetaDefenderError::InvalidUrl { .. }
            | MetaDefenderError::InvalidApiKey
            | MetaDefenderError::Client { .. }
            | MetaDefenderError::Unauthorized { .. }
            | MetaDefenderError::NotFound { .. }
            | MetaDefenderError::InvalidResponse { .. }
            | MetaDefenderError::InvalidDataId { .. } => false,
        }
    }
}
