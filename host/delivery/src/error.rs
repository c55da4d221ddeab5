//! Delivery errors, split into temporary and permanent failures.

/// Errors of handing a message to the next hop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The relay could not be reached, the connection broke, or it timed out.
    #[error("cannot reach the next hop {relay}: {reason}")]
    Unreachable {
        /// `host:port` of the relay.
        relay: String,
        /// What failed.
        reason: String,
    },

    /// The relay replied with an error code.
    #[error("next hop {relay} rejected the message with {code}: {message}")]
    Rejected {
        /// `host:port` of the relay.
        relay: String,
        /// SMTP reply code.
        code: u16,
        /// Reply text, without the enhanced status code.
        message: String,
        /// RFC 3463 enhanced status code of the reply, such as `5.1.1`,
        /// when the relay sent one.
        enhanced_status: Option<String>,
    },

    /// STARTTLS was required but not offered, or the TLS handshake failed
    /// (for example, an untrusted certificate).
    #[error("no TLS with the next hop {relay}: {reason}")]
    Tls {
        /// `host:port` of the relay.
        relay: String,
        /// What failed.
        reason: String,
    },

    /// Writing into the Maildir failed.
    #[error("cannot store the message in Maildir {directory}: {source}")]
    Maildir {
        /// The Maildir directory.
        directory: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl DeliveryError {
    /// Returns whether a later attempt may succeed: true for everything
    /// except a 5xx reply.
    pub fn is_temporary(&self) -> bool {
        match self {
            DeliveryError::Rejected { code, .. } => !(500..600).contains(code),
            DeliveryError::Unreachable { .. } | DeliveryError::Tls { .. } | DeliveryError::Maildir { .. } => true,
        }
    }
}
