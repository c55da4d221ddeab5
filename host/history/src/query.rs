//! Filters and paging for listing the history, and the summary row a listing
//! returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::record::{Outcome, OutcomeKind, RecordId};

/// Page size when a query sets none.
pub const DEFAULT_LIMIT: u32 = 100;

/// Largest page a query returns; larger limits are lowered to this.
pub const MAX_LIMIT: u32 = 1000;

/// Filters and paging for [`crate::HistoryStore::query`] and
/// [`crate::HistoryStore::count`].
///
/// Every filter that is set must match; the default query matches every
/// record. Address and subject filters ignore letter case, as Rust's
/// `str::to_lowercase` folds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryQuery {
    /// Earliest `received_at`, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// End of the time range, exclusive.
    pub to: Option<DateTime<Utc>>,
    /// Envelope sender, matched as a whole address. The empty string matches
    /// the null sender.
    pub sender: Option<String>,
    /// One envelope recipient, matched as a whole address: `bob@example.org`
    /// does not match `xbob@example.org`.
    pub recipient: Option<String>,
    /// Text that the subject contains. `%` and `_` are literal characters,
    /// and a message without a subject never matches.
    pub subject: Option<String>,
    /// `Message-ID` without angle brackets, matched exactly and with case.
    pub message_id: Option<String>,
    /// Kind of outcome.
    pub outcome: Option<OutcomeKind>,
    /// Maximum number of summaries to return; [`DEFAULT_LIMIT`] when unset,
    /// at most [`MAX_LIMIT`]. `count` ignores it.
    pub limit: Option<u32>,
    /// Number of matching records to skip, newest first. `count` ignores it.
    pub offset: u64,
}

impl HistoryQuery {
    /// Returns the page size this query requests, after the default and the
    /// maximum are applied.
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT)
    }
}

/// One line of a history listing: the fields an administrator scans for,
/// without rule results, verdicts or attachment details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// Row id, for [`crate::RecordKey::Id`].
    pub id: RecordId,
    /// Queue id the gateway gave the message.
    pub queue_id: String,
    /// End of DATA.
    pub received_at: DateTime<Utc>,
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipients, in RCPT order.
    pub rcpt_to: Vec<String>,
    /// Decoded `Subject` header.
    pub subject: Option<String>,
    /// `Message-ID` header without angle brackets.
    pub message_id: Option<String>,
    /// Size of the message as received, in bytes.
    pub size: u64,
    /// The reply the client got.
    pub outcome: Outcome,
    /// Number of attachment records.
    pub attachments: u32,
    /// Number of attachments whose upload failed.
    pub failed_uploads: u32,
}
