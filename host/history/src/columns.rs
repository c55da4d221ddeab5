//! Conversions between record fields and the column values that both
//! backends store.
//!
//! Each `*_from_columns` function returns the problem as text when the
//! stored values do not form a valid field, and the caller names the column.

use chrono::{DateTime, Utc};

use crate::error::HistoryError;
use crate::record::{MessageRecord, Outcome, OutcomeKind, RuleStatus, UploadStatus};

/// Stored value of `rule_results.status` for [`RuleStatus::NotMatched`].
const RULE_NOT_MATCHED: &str = "not_matched";
/// Stored value of `rule_results.status` for [`RuleStatus::Ran`].
const RULE_RAN: &str = "ran";
/// Stored value of `rule_results.status` for [`RuleStatus::Failed`].
const RULE_FAILED: &str = "failed";

/// Stored value of `attachments.upload_status` for [`UploadStatus::Uploaded`].
pub(crate) const UPLOAD_UPLOADED: &str = "uploaded";
/// Stored value of `attachments.upload_status` for [`UploadStatus::Failed`].
pub(crate) const UPLOAD_FAILED: &str = "failed";
/// Stored value of `attachments.upload_status` for [`UploadStatus::NotUploaded`].
const UPLOAD_NOT_UPLOADED: &str = "not_uploaded";

/// Converts a time to microseconds since the Unix epoch, dropping finer
/// digits. Every time chrono can represent fits.
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(crate) fn time_from_micros(micros: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| format!("{micros} microseconds is out of the supported time range"))
}

/// Folds letter case for the `*_folded` columns and for filter values.
pub(crate) fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The sizes of a record as the signed 64-bit integers both databases store.
pub(crate) struct StoredSizes {
    /// `messages.size`.
    pub(crate) message: i64,
    /// `attachments.size`, in the order of the record's attachments.
    pub(crate) attachments: Vec<i64>,
}

impl StoredSizes {
    /// Converts the sizes of `record`, or returns
    /// [`HistoryError::InvalidRecord`] when one exceeds `i64::MAX` bytes.
    pub(crate) fn of(record: &MessageRecord) -> Result<StoredSizes, HistoryError> {
        let message = checked_size(record.size, record, "message size")?;
        let attachments = record
            .attachments
            .iter()
            .map(|attachment| checked_size(attachment.size, record, "attachment size"))
            .collect::<Result<Vec<i64>, HistoryError>>()?;
        Ok(StoredSizes { message, attachments })
    }
}

fn checked_size(size: u64, record: &MessageRecord, field: &str) -> Result<i64, HistoryError> {
    i64::try_from(size).map_err(|_| HistoryError::InvalidRecord {
        queue_id: record.queue_id.clone(),
        detail: format!("{field} {size} exceeds the largest storable size, {} bytes", i64::MAX),
    })
}

pub(crate) fn size_from_column(size: i64) -> Result<u64, String> {
    u64::try_from(size).map_err(|_| format!("size {size} is negative"))
}

/// Splits an outcome into `outcome_kind`, `outcome_rule` and `outcome_text`.
pub(crate) fn outcome_columns(outcome: &Outcome) -> (&'static str, Option<&str>, &str) {
    let kind = outcome.kind().as_str();
    match outcome {
        Outcome::Delivered { reply } => (kind, None, reply),
        Outcome::TemporaryFailure { reason } | Outcome::Rejected { reason } | Outcome::Bounced { reason } => (kind, None, reason),
        Outcome::Blocked { rule, reason } => (kind, Some(rule), reason),
    }
}

pub(crate) fn outcome_from_columns(kind: &str, rule: Option<String>, text: String) -> Result<Outcome, String> {
    let kind = OutcomeKind::from_name(kind).ok_or_else(|| format!("unknown outcome kind `{kind}`"))?;

    Ok(match kind {
        OutcomeKind::Delivered => Outcome::Delivered { reply: text },
        OutcomeKind::TemporaryFailure => Outcome::TemporaryFailure { reason: text },
        OutcomeKind::Rejected => Outcome::Rejected { reason: text },
        OutcomeKind::Bounced => Outcome::Bounced { reason: text },
        OutcomeKind::Blocked => {
            let rule = rule.ok_or("a blocked outcome has no rule")?;
            Outcome::Blocked { rule, reason: text }
        }
    })
}

/// Splits a rule status into `rule_results.status` and `rule_results.error`.
/// The actions of [`RuleStatus::Ran`] go to `rule_actions`.
pub(crate) fn rule_status_columns(status: &RuleStatus) -> (&'static str, Option<&str>) {
    match status {
        RuleStatus::NotMatched => (RULE_NOT_MATCHED, None),
        RuleStatus::Ran { .. } => (RULE_RAN, None),
        RuleStatus::Failed { error } => (RULE_FAILED, Some(error)),
    }
}

pub(crate) fn rule_status_from_columns(status: &str, error: Option<String>, actions: Vec<String>) -> Result<RuleStatus, String> {
    match status {
        RULE_NOT_MATCHED => Ok(RuleStatus::NotMatched),
        RULE_RAN => Ok(RuleStatus::Ran { actions }),
        RULE_FAILED => Ok(RuleStatus::Failed { error: error.ok_or("a failed rule has no error text")? }),
        other => Err(format!("unknown rule status `{other}`")),
    }
}

/// The `attachments` columns that hold an [`UploadStatus`].
#[derive(Default)]
pub(crate) struct UploadColumns<'a> {
    pub(crate) status: &'a str,
    pub(crate) file_id: Option<&'a str>,
    pub(crate) file_url: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
    pub(crate) cause: Option<&'a str>,
}

pub(crate) fn upload_columns(upload: &UploadStatus) -> UploadColumns<'_> {
    match upload {
        UploadStatus::Uploaded { file_id, file_url } => {
            UploadColumns { status: UPLOAD_UPLOADED, file_id: Some(file_id), file_url: Some(file_url), ..Default::default() }
        }
        UploadStatus::Failed { error, cause } => {
            UploadColumns { status: UPLOAD_FAILED, error: Some(error), cause: cause.as_deref(), ..Default::default() }
        }
        UploadStatus::NotUploaded => UploadColumns { status: UPLOAD_NOT_UPLOADED, ..Default::default() },
    }
}

/// Owned form of [`UploadColumns`], as read from a row.
pub(crate) struct StoredUpload {
    pub(crate) status: String,
    pub(crate) file_id: Option<String>,
    pub(crate) file_url: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
}

pub(crate) fn upload_from_columns(stored: StoredUpload) -> Result<UploadStatus, String> {
    match stored.status.as_str() {
        UPLOAD_UPLOADED => Ok(UploadStatus::Uploaded {
            file_id: stored.file_id.ok_or("an uploaded attachment has no file id")?,
            file_url: stored.file_url.ok_or("an uploaded attachment has no file URL")?,
        }),
        UPLOAD_FAILED => {
            Ok(UploadStatus::Failed { error: stored.error.ok_or("a failed upload has no error text")?, cause: stored.cause })
        }
        UPLOAD_NOT_UPLOADED => Ok(UploadStatus::NotUploaded),
        other => Err(format!("unknown upload status `{other}`")),
    }
}
