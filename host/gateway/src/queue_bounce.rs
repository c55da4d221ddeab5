//! Bounces for queued messages that failed for good: the status and
//! diagnostic of the delivery status notification, and its envelope.

use std::fmt;

use chrono::{DateTime, Utc};
use mailgate_delivery::DeliveryError;
use mailgate_history::Outcome;
use mailgate_queue::{Bounce, Entry, FailedRecipient, QueuedEnvelope, build_bounce, header_block};

use crate::failure::ProcessError;

/// Reason a queued message is given up.
#[derive(Debug)]
pub(crate) enum FinalFailure {
    /// Processing or delivery failed permanently.
    Permanent(ProcessError),
    /// The message reached `queue.max_age_secs` while failing temporarily.
    Expired {
        /// Attempts made.
        attempts: u32,
        /// The last temporary failure.
        last_error: String,
    },
}

impl fmt::Display for FinalFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FinalFailure::Permanent(error) => write!(f, "{error}"),
            FinalFailure::Expired { attempts, last_error } => {
                write!(f, "delivery time expired after {attempts} attempts; last error: {last_error}")
            }
        }
    }
}

impl FinalFailure {
    /// RFC 3463 status code for the recipients: the next hop's enhanced
    /// code when its 5xx reply has one, else a code for the kind of failure.
    fn status(&self) -> String {
        match self {
            FinalFailure::Permanent(ProcessError::Delivery(DeliveryError::Rejected { enhanced_status, .. })) => {
                enhanced_status.as_deref().and_then(permanent_code).unwrap_or_else(|| "5.0.0".to_string())
            }
            FinalFailure::Permanent(ProcessError::Blocked { .. }) => "5.7.1".to_string(),
            FinalFailure::Permanent(ProcessError::Parse(_)) => "5.6.0".to_string(),
            FinalFailure::Permanent(_) => "5.0.0".to_string(),
            FinalFailure::Expired { .. } => "5.4.7".to_string(),
        }
    }

    /// Value of the `Diagnostic-Code` field: the next hop's reply as type
    /// `smtp`, anything else as type `X-Mailgate`.
    fn diagnostic_code(&self) -> String {
        match self {
            FinalFailure::Permanent(ProcessError::Delivery(DeliveryError::Rejected { code, message, enhanced_status, .. })) => {
                match enhanced_status {
                    Some(status) => format!("smtp; {code} {status} {message}"),
                    None => format!("smtp; {code} {message}"),
                }
            }
            FinalFailure::Permanent(ProcessError::Blocked { reason, .. }) => {
                format!("X-Mailgate; message rejected by policy: {reason}")
            }
            other => format!("X-Mailgate; {other}"),
        }
    }

    /// Returns the outcome recorded in the history; `note` describes what
    /// became of the message, such as the bounce's queue id. A block by a
    /// rule stays `Blocked`, with the note in the reason.
    pub(crate) fn history_outcome(&self, note: &str) -> Outcome {
        match self {
            FinalFailure::Permanent(ProcessError::Blocked { rule, reason }) => {
                Outcome::Blocked { rule: rule.clone(), reason: format!("{reason} ({note})") }
            }
            other => Outcome::Bounced { reason: format!("{other} ({note})") },
        }
    }
}

/// Builds the bounce of `entry` for `failure`: the envelope (null sender,
/// the original sender as the only recipient) and the message.
///
/// `original` is the message as received, of which only the header is
/// copied. `hostname` names this gateway.
pub(crate) fn bounce_for(
    entry: &Entry,
    failure: &FinalFailure,
    original: &[u8],
    hostname: &str,
    now: DateTime<Utc>,
) -> (QueuedEnvelope, Vec<u8>) {
    // NOTE: the next hop takes all recipients in one transaction, so one
    // failure applies to every recipient; per-recipient results are not kept.
    let recipients: Vec<FailedRecipient> = entry
        .envelope
        .rcpt_to
        .iter()
        .map(|address| FailedRecipient {
            address: address.clone(),
            status: failure.status(),
            diagnostic_code: failure.diagnostic_code(),
        })
        .collect();
    let reason = failure.to_string();

    let message = build_bounce(&Bounce {
        reporting_mta: hostname,
        queue_id: &entry.queue_id,
        arrival: entry.arrival,
        sender: &entry.envelope.mail_from,
        reason: &reason,
        recipients: &recipients,
        original_header: header_block(original),
        now,
    });
    let envelope = QueuedEnvelope {
        client_address: "127.0.0.1".to_string(),
        helo: hostname.to_string(),
        mail_from: String::new(),
        rcpt_to: vec![entry.envelope.mail_from.clone()],
    };
    (envelope, message)
}

/// Returns `code` when it is a permanent RFC 3463 status code (`5.x.y`).
fn permanent_code(code: &str) -> Option<String> {
    let mut fields = code.split('.');
    let class = fields.next()?;
    let subject = fields.next()?;
    let detail = fields.next()?;
    let numeric = |field: &str, max_digits: usize| !field.is_empty() && field.len() <= max_digits && field.bytes().all(|b| b.is_ascii_digit());
    let valid = class == "5" && numeric(subject, 3) && numeric(detail, 3) && fields.next().is_none();
    valid.then(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(code: u16, enhanced_status: Option<&str>) -> FinalFailure {
        FinalFailure::Permanent(ProcessError::Delivery(DeliveryError::Rejected {
            relay: "127.0.0.1:25".to_string(),
            code,
            message: "no such user".to_string(),
            enhanced_status: enhanced_status.map(str::to_string),
        }))
    }

    #[test]
    fn permanent_code_table() {
        let cases = [
            ("5.1.1", Some("5.1.1")),
            ("5.7.10", Some("5.7.10")),
            ("4.2.0", None),
            ("5.1", None),
            ("5.1.1.1", None),
            ("5.x.1", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(permanent_code(text).as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    fn status_from_next_hop_reply() {
        assert_eq!(rejected(550, Some("5.1.1")).status(), "5.1.1");
        assert_eq!(rejected(554, None).status(), "5.0.0");
        assert_eq!(rejected(550, Some("5.1.1")).diagnostic_code(), "smtp; 550 5.1.1 no such user");
        assert_eq!(rejected(554, None).diagnostic_code(), "smtp; 554 no such user");
    }

    #[test]
    fn status_of_block_and_expiry() {
        let blocked = FinalFailure::Permanent(ProcessError::Blocked { rule: "r".to_string(), reason: "spam".to_string() });
        let expired = FinalFailure::Expired { attempts: 7, last_error: "next hop down".to_string() };

        assert_eq!(blocked.status(), "5.7.1");
        assert!(blocked.diagnostic_code().starts_with("X-Mailgate; "));
        assert_eq!(expired.status(), "5.4.7");
        assert!(expired.diagnostic_code().contains("after 7 attempts"));
        assert!(matches!(blocked.history_outcome("bounced"), Outcome::Blocked { .. }));
        assert!(matches!(expired.history_outcome("bounced"), Outcome::Bounced { .. }));
    }
}
