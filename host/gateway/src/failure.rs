//! Failures of message processing and the SMTP reply each one gets.

use mailgate_delivery::DeliveryError;
use mailgate_message::ParseError;
use mailgate_queue::SpoolError;
use mailgate_rules::RuleFailure;
use mailgate_smtp::Outcome;
use mailgate_vault::VaultError;

/// A failure while processing one message.
///
/// [`ProcessError::into_outcome`] maps each to a temporary failure (451: the
/// sending server keeps the message and retries) or a permanent one (550).
/// Everything the gateway or its vault could fix later is temporary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The data is not a message at all.
    #[error("message cannot be parsed: {0}")]
    Parse(#[from] ParseError),

    /// A rule failed: it trapped, timed out or returned an error.
    #[error(transparent)]
    Rule(#[from] RuleFailure),

    /// A rule blocked the message.
    #[error("message blocked by rule `{rule}`: {reason}")]
    Blocked {
        /// Name of the blocking rule.
        rule: String,
        /// The reason the rule gave.
        reason: String,
    },

    /// Uploading an attachment failed.
    #[error("upload to the vault failed: {0}")]
    Upload(#[from] VaultError),

    /// The next hop did not take the message.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),

    /// The spool could not be read or written.
    #[error(transparent)]
    Spool(#[from] SpoolError),

    /// The scanning engine could not scan an attachment, and the policy
    /// `scan.unavailable = "retry-later"` defers the message.
    #[error("scan of `{file_name}` failed, message deferred: {reason}")]
    ScanUnavailable {
        /// File name of the attachment.
        file_name: String,
        /// The engine's failure.
        reason: String,
    },

    /// The scanning engine could not scan an attachment, and the policy
    /// `scan.unavailable = "fail"` rejects the message.
    #[error("scan of `{file_name}` failed, message rejected: {reason}")]
    ScanFailed {
        /// File name of the attachment.
        file_name: String,
        /// The engine's failure.
        reason: String,
    },

    /// A worker task of the gateway failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProcessError {
    /// Whether the sending server should retry.
    pub fn is_temporary(&self) -> bool {
        match self {
            ProcessError::Parse(_) | ProcessError::Blocked { .. } | ProcessError::ScanFailed { .. } => false,
            ProcessError::Delivery(error) => error.is_temporary(),
            ProcessError::Rule(_)
            | ProcessError::Upload(_)
            | ProcessError::Spool(_)
            | ProcessError::ScanUnavailable { .. }
            | ProcessError::Internal(_) => true,
        }
    }

    /// Converts the failure into the reply to DATA. Temporary failures do not expose
    /// internal details to the client; they name the queue id to look up.
    pub fn into_outcome(self, queue_id: &str) -> Outcome {
        match &self {
            ProcessError::Blocked { reason, .. } => {
                Outcome::PermanentFailure { reason: format!("message rejected by policy: {reason}") }
            }
            ProcessError::Parse(_) => Outcome::PermanentFailure { reason: format!("message cannot be parsed [{queue_id}]") },
            ProcessError::ScanFailed { .. } => {
                Outcome::PermanentFailure { reason: format!("an attachment could not be scanned [{queue_id}]") }
            }
            ProcessError::Delivery(DeliveryError::Rejected { code, message, .. }) if !self.is_temporary() => {
                Outcome::PermanentFailure { reason: format!("next hop rejected the message: {code} {message}") }
            }
            _ => Outcome::TemporaryFailure {
                reason: format!("message could not be processed, try again later [{queue_id}]"),
            },
        }
    }
}
