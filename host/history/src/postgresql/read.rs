//! Listing, counting and loading records from PostgreSQL.
//!
//! Each operation runs in one transaction at PostgreSQL's default isolation
//! level, `READ COMMITTED`. A record appears whole or not at all, because it
//! is written in one transaction. A listing and a count are separate calls,
//! so their numbers can differ while other nodes write.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::filter::Filter;
use super::{Failure, PostgresBackend, Session};
use crate::columns::{
    StoredUpload, UPLOAD_FAILED, outcome_from_columns, rule_status_from_columns, size_from_column, upload_from_columns,
};
use crate::error::HistoryError;
use crate::query::{HistoryQuery, MessageSummary};
use crate::record::{AttachmentRecord, MessageRecord, Outcome, PartVerdict, RecordId, RecordKey, RuleResult};

/// The `messages` columns that summaries and full records share, in the
/// order that [`MessageRow::read`] reads them, then the recipients as an
/// array.
macro_rules! message_columns {
    () => {
        "m.id, m.queue_id, m.received_at, m.mail_from, m.subject, m.message_id, m.size, \
         m.outcome_kind, m.outcome_rule, m.outcome_text, m.client_address, m.rule_set_id, \
         ARRAY(SELECT r.address FROM recipients AS r WHERE r.message = m.id ORDER BY r.position)"
    };
}

/// Number of columns that `message_columns!` selects.
const MESSAGE_COLUMN_COUNT: usize = 13;

const SELECT_BY_ID: &str = concat!("SELECT ", message_columns!(), " FROM messages AS m WHERE m.id = $1");
const SELECT_BY_QUEUE_ID: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages AS m WHERE m.queue_id = $1 ORDER BY m.received_at DESC, m.id DESC LIMIT 1"
);
const SELECT_RULE_RESULTS: &str = "SELECT rr.rule, rr.status, rr.error, \
     ARRAY(SELECT ra.action FROM rule_actions AS ra \
           WHERE ra.message = rr.message AND ra.rule_position = rr.position ORDER BY ra.position) \
     FROM rule_results AS rr WHERE rr.message = $1 ORDER BY rr.position";
const SELECT_PART_VERDICTS: &str =
    "SELECT part_id, file_name, content_type, verdict, sanitized FROM part_verdicts WHERE message = $1 ORDER BY position";
const SELECT_ATTACHMENTS: &str = "SELECT part_id, file_name, size, folder, upload_status, file_id, file_url, upload_error, upload_cause \
     FROM attachments WHERE message = $1 ORDER BY position";
const SELECT_DEFECTS: &str = "SELECT defect FROM defects WHERE message = $1 ORDER BY position";

/// One row of `messages` with its recipients, as stored.
struct MessageRow {
    id: i64,
    queue_id: String,
    received_at: DateTime<Utc>,
    mail_from: String,
    subject: Option<String>,
    message_id: Option<String>,
    size: i64,
    outcome_kind: String,
    outcome_rule: Option<String>,
    outcome_text: String,
    client_address: String,
    rule_set_id: Option<String>,
    rcpt_to: Vec<String>,
}

impl MessageRow {
    fn read(row: &Row) -> Result<MessageRow, postgres::Error> {
        Ok(MessageRow {
            id: row.try_get(0)?,
            queue_id: row.try_get(1)?,
            received_at: row.try_get(2)?,
            mail_from: row.try_get(3)?,
            subject: row.try_get(4)?,
            message_id: row.try_get(5)?,
            size: row.try_get(6)?,
            outcome_kind: row.try_get(7)?,
            outcome_rule: row.try_get(8)?,
            outcome_text: row.try_get(9)?,
            client_address: row.try_get(10)?,
            rule_set_id: row.try_get(11)?,
            rcpt_to: row.try_get(12)?,
        })
    }

    fn outcome(&self, backend: &PostgresBackend) -> Result<Outcome, HistoryError> {
        outcome_from_columns(&self.outcome_kind, self.outcome_rule.clone(), self.outcome_text.clone())
            .map_err(|detail| backend.invalid_value("messages.outcome_kind", detail))
    }

    fn size(&self, backend: &PostgresBackend) -> Result<u64, HistoryError> {
        size_from_column(self.size).map_err(|detail| backend.invalid_value("messages.size", detail))
    }
}

/// Lists the records that match `query`, newest first, one page at a time.
pub(super) fn query(
    session: &mut Session<'_>,
    query: &HistoryQuery,
    backend: &PostgresBackend,
) -> Result<Vec<MessageSummary>, Failure> {
    let mut filter = Filter::new(query);
    let limit = filter.next_placeholder();
    filter.values.push(Box::new(i64::from(query.effective_limit())));
    let offset = filter.next_placeholder();
    filter.values.push(Box::new(i64::try_from(query.offset).unwrap_or(i64::MAX)));

    let sql = format!(
        "SELECT {},
                (SELECT count(*) FROM attachments AS a WHERE a.message = m.id),
                (SELECT count(*) FROM attachments AS a WHERE a.message = m.id AND a.upload_status = '{UPLOAD_FAILED}')
         FROM messages AS m
         {}
         ORDER BY m.received_at DESC, m.id DESC
         LIMIT {limit} OFFSET {offset}",
        message_columns!(),
        filter.clause
    );
    let rows = session.transaction.query(&sql, &filter.parameters())?;

    let mut summaries = Vec::with_capacity(rows.len());
    for row in rows {
        let message = MessageRow::read(&row)?;
        let attachments: i64 = row.try_get(MESSAGE_COLUMN_COUNT)?;
        let failed_uploads: i64 = row.try_get(MESSAGE_COLUMN_COUNT + 1)?;

        summaries.push(MessageSummary {
            id: RecordId(message.id),
            received_at: message.received_at,
            size: message.size(backend).map_err(Failure::Invalid)?,
            outcome: message.outcome(backend).map_err(Failure::Invalid)?,
            queue_id: message.queue_id,
            mail_from: message.mail_from,
            rcpt_to: message.rcpt_to,
            subject: message.subject,
            message_id: message.message_id,
            attachments: u32::try_from(attachments).unwrap_or(u32::MAX),
            failed_uploads: u32::try_from(failed_uploads).unwrap_or(u32::MAX),
        });
    }

    Ok(summaries)
}

/// Counts the records that match the filters of `query`, ignoring its paging.
pub(super) fn count(session: &mut Session<'_>, query: &HistoryQuery) -> Result<u64, Failure> {
    let filter = Filter::new(query);
    let sql = format!("SELECT count(*) FROM messages AS m {}", filter.clause);

    let count: i64 = session.transaction.query_one(&sql, &filter.parameters())?.try_get(0)?;
    Ok(count.max(0) as u64)
}

/// Loads one record with all its lists.
pub(super) fn get(
    session: &mut Session<'_>,
    key: &RecordKey,
    backend: &PostgresBackend,
) -> Result<Option<MessageRecord>, Failure> {
    let row = match key {
        RecordKey::Id(id) => {
            let statement = session.prepared(SELECT_BY_ID)?;
            session.transaction.query_opt(&statement, &[&id.0])?
        }
        RecordKey::QueueId(queue_id) => {
            let statement = session.prepared(SELECT_BY_QUEUE_ID)?;
            session.transaction.query_opt(&statement, &[&super::write::storable(queue_id)])?
        }
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let message = MessageRow::read(&row)?;

    let rule_results = rule_results(session, message.id, backend)?;
    let part_verdicts = part_verdicts(session, message.id, backend)?;
    let attachments = attachments(session, message.id, backend)?;
    let statement = session.prepared(SELECT_DEFECTS)?;
    let defects = session
        .transaction
        .query(&statement, &[&message.id])?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<Vec<String>, _>>()?;

    Ok(Some(MessageRecord {
        received_at: message.received_at,
        size: message.size(backend).map_err(Failure::Invalid)?,
        outcome: message.outcome(backend).map_err(Failure::Invalid)?,
        queue_id: message.queue_id,
        client_address: message.client_address,
        mail_from: message.mail_from,
        rcpt_to: message.rcpt_to,
        subject: message.subject,
        message_id: message.message_id,
        rule_set_id: message.rule_set_id,
        rule_results,
        part_verdicts,
        attachments,
        defects,
    }))
}

fn rule_results(session: &mut Session<'_>, message: i64, backend: &PostgresBackend) -> Result<Vec<RuleResult>, Failure> {
    let statement = session.prepared(SELECT_RULE_RESULTS)?;
    let rows = session.transaction.query(&statement, &[&message])?;

    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let status: String = row.try_get(1)?;
        let status = rule_status_from_columns(&status, row.try_get(2)?, row.try_get(3)?)
            .map_err(|detail| Failure::Invalid(backend.invalid_value("rule_results.status", detail)))?;
        results.push(RuleResult { rule: row.try_get(0)?, status });
    }

    Ok(results)
}

fn part_verdicts(session: &mut Session<'_>, message: i64, backend: &PostgresBackend) -> Result<Vec<PartVerdict>, Failure> {
    let statement = session.prepared(SELECT_PART_VERDICTS)?;
    let rows = session.transaction.query(&statement, &[&message])?;

    let mut verdicts = Vec::with_capacity(rows.len());
    for row in rows {
        verdicts.push(PartVerdict {
            part_id: part_id(&row, "part_verdicts.part_id", backend)?,
            file_name: row.try_get(1)?,
            content_type: row.try_get(2)?,
            verdict: row.try_get(3)?,
            sanitized: row.try_get(4)?,
        });
    }

    Ok(verdicts)
}

fn attachments(session: &mut Session<'_>, message: i64, backend: &PostgresBackend) -> Result<Vec<AttachmentRecord>, Failure> {
    let statement = session.prepared(SELECT_ATTACHMENTS)?;
    let rows = session.transaction.query(&statement, &[&message])?;

    let mut attachments = Vec::with_capacity(rows.len());
    for row in rows {
        let upload = StoredUpload {
            status: row.try_get(4)?,
            file_id: row.try_get(5)?,
            file_url: row.try_get(6)?,
            error: row.try_get(7)?,
            cause: row.try_get(8)?,
        };
        attachments.push(AttachmentRecord {
            part_id: part_id(&row, "attachments.part_id", backend)?,
            file_name: row.try_get(1)?,
            size: size_from_column(row.try_get(2)?)
                .map_err(|detail| Failure::Invalid(backend.invalid_value("attachments.size", detail)))?,
            folder: row.try_get(3)?,
            upload: upload_from_columns(upload)
                .map_err(|detail| Failure::Invalid(backend.invalid_value("attachments.upload_status", detail)))?,
        });
    }

    Ok(attachments)
}

/// Reads the `part_id` in column 0, which must fit a `u32`.
fn part_id(row: &Row, column: &'static str, backend: &PostgresBackend) -> Result<u32, Failure> {
    let part_id: i64 = row.try_get(0)?;
    u32::try_from(part_id).map_err(|_| Failure::Invalid(backend.invalid_value(column, format!("part id {part_id} is out of range"))))
}
