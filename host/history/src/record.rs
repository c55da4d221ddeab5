//! What the history keeps about one processed message.
//!
//! The gateway builds one [`MessageRecord`] per message after processing it,
//! whether processing succeeded or not. A record contains the envelope, a few
//! header fields, what the rules and scans decided, where each attachment
//! went and the final SMTP outcome. It never contains message bodies or
//! attachment content.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Row id of a stored record, assigned by the store.
///
/// Unlike the queue id, which is random and may repeat over a long history,
/// a record id is unique within one database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub i64);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The key that [`crate::HistoryStore::get`] looks a record up by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordKey {
    /// The record with this row id.
    Id(RecordId),
    /// The newest record with this queue id, compared exactly.
    QueueId(String),
}

/// One processed message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Id the gateway gave the message, quoted in its SMTP reply.
    pub queue_id: String,
    /// End of DATA. The store keeps microsecond precision and drops finer
    /// digits.
    pub received_at: DateTime<Utc>,
    /// IP address of the SMTP client.
    pub client_address: String,
    /// Envelope sender; empty for the null sender `<>`.
    pub mail_from: String,
    /// Envelope recipients, in RCPT order.
    pub rcpt_to: Vec<String>,
    /// Decoded `Subject` header, when present.
    pub subject: Option<String>,
    /// `Message-ID` header without angle brackets, when present.
    pub message_id: Option<String>,
    /// Size of the message as received, in bytes.
    pub size: u64,
    /// Id of the rule set that processed the message, when processing
    /// reached the rules.
    pub rule_set_id: Option<String>,
    /// One entry per rule of the set, in the order the rules ran.
    pub rule_results: Vec<RuleResult>,
    /// Verdicts of content scans, one per scanned part.
    pub part_verdicts: Vec<PartVerdict>,
    /// The reply the client got.
    pub outcome: Outcome,
    /// Attachments the rules chose to remove or upload.
    pub attachments: Vec<AttachmentRecord>,
    /// Parser defects found in the message, as text.
    pub defects: Vec<String>,
}

/// The result of one rule of the set for the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// Name of the rule in the configuration.
    pub rule: String,
    /// Whether the rule ran and what it returned.
    pub status: RuleStatus,
}

/// Whether a rule ran and what it returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleStatus {
    /// The rule's match conditions excluded the message, so it did not run.
    NotMatched,
    /// The rule ran and returned these actions, as text; the list may be empty.
    Ran {
        /// The actions, one text per action.
        actions: Vec<String>,
    },
    /// The rule trapped, timed out or returned an error.
    Failed {
        /// The failure, as text.
        error: String,
    },
}

/// The verdict of a content scan on one MIME part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartVerdict {
    /// Index of the part in the parsed message.
    pub part_id: u32,
    /// File name of the part, when it has one.
    pub file_name: Option<String>,
    /// Content type of the part, for example `application/pdf`.
    pub content_type: String,
    /// The verdict as text, for example `clean` or `blocked: EICAR`.
    pub verdict: String,
    /// Whether the part was replaced by a sanitized copy.
    pub sanitized: bool,
}

/// The reply the client got for the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The next hop took the message (250).
    Delivered {
        /// The next hop's receipt as text, for example its SMTP reply.
        reply: String,
    },
    /// The client got 451 and keeps the message to retry.
    TemporaryFailure {
        /// The cause of the processing failure.
        reason: String,
    },
    /// The client got a permanent failure (5xx) that no rule caused.
    Rejected {
        /// The reason for the rejection.
        reason: String,
    },
    /// The message was accepted (250) and later failed for good: a
    /// permanent error of the next hop, or the maximum queue age. The
    /// reason states whether the sender got a bounce. A message with the
    /// null sender gets none.
    Bounced {
        /// The failure and what became of the message.
        reason: String,
    },
    /// A rule blocked the message: 550 in before-queue mode, a bounce in
    /// after-queue mode (the reason then names the bounce).
    Blocked {
        /// Name of the blocking rule.
        rule: String,
        /// The reason the rule gave.
        reason: String,
    },
}

impl Outcome {
    /// Returns the kind of this outcome, without its details.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Delivered { .. } => OutcomeKind::Delivered,
            Outcome::TemporaryFailure { .. } => OutcomeKind::TemporaryFailure,
            Outcome::Rejected { .. } => OutcomeKind::Rejected,
            Outcome::Bounced { .. } => OutcomeKind::Bounced,
            Outcome::Blocked { .. } => OutcomeKind::Blocked,
        }
    }
}

/// The kind of an [`Outcome`], for filtering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// See [`Outcome::Delivered`].
    Delivered,
    /// See [`Outcome::TemporaryFailure`].
    TemporaryFailure,
    /// See [`Outcome::Rejected`].
    Rejected,
    /// See [`Outcome::Bounced`].
    Bounced,
    /// See [`Outcome::Blocked`].
    Blocked,
}

impl OutcomeKind {
    /// Every kind, in declaration order.
    pub const ALL: [OutcomeKind; 5] = [
        OutcomeKind::Delivered,
        OutcomeKind::TemporaryFailure,
        OutcomeKind::Rejected,
        OutcomeKind::Bounced,
        OutcomeKind::Blocked,
    ];

    /// Returns the name stored in the database and used in serialized
    /// records, for example `temporary_failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Delivered => "delivered",
            OutcomeKind::TemporaryFailure => "temporary_failure",
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::Bounced => "bounced",
            OutcomeKind::Blocked => "blocked",
        }
    }

    /// Parses a name returned by [`OutcomeKind::as_str`]; `-` is accepted
    /// in place of `_`, as configuration files spell such names.
    pub fn from_name(name: &str) -> Option<OutcomeKind> {
        let name = name.trim().replace('-', "_");
        OutcomeKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Processing history of one attachment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    /// Index of the part in the parsed message.
    pub part_id: u32,
    /// File name the attachment got in the vault, or its own name when it
    /// was not uploaded.
    pub file_name: String,
    /// Size of the decoded content, in bytes.
    pub size: u64,
    /// Vault folder of the message, for example
    /// `Email Gateway/2026-09-28/Quarterly report_<alice@example.com>_<id@example.com>`.
    pub folder: String,
    /// Whether the upload happened and how it ended.
    pub upload: UploadStatus,
}

/// The result of the upload of one attachment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UploadStatus {
    /// The vault stored the file.
    Uploaded {
        /// The vault's id of the file.
        file_id: String,
        /// The download link written into the message.
        file_url: String,
    },
    /// The upload failed.
    Failed {
        /// The failure, as text.
        error: String,
        /// The underlying cause, for example the HTTP status or I/O error,
        /// when one is known.
        cause: Option<String>,
    },
    /// No upload was attempted: the rules only removed the part, or
    /// processing stopped before the upload step.
    NotUploaded,
}
