//! Listing, counting and loading records from SQLite.
//!
//! Reads that touch several tables run in one transaction, so that they see
//! one snapshot even while another process writes.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params_from_iter, types::Value};

use super::SqliteBackend;
use crate::columns::{
    StoredUpload, UPLOAD_FAILED, outcome_from_columns, rule_status_from_columns, size_from_column, time_from_micros,
    upload_from_columns,
};
use super::filter::Filter;
use crate::error::HistoryError;
use crate::query::{HistoryQuery, MessageSummary};
use crate::record::{AttachmentRecord, MessageRecord, Outcome, PartVerdict, RecordId, RecordKey, RuleResult};

/// The `messages` columns shared by summaries and full records, in the order
/// [`MessageRow::read`] expects them.
const MESSAGE_COLUMNS: &str = "m.id, m.queue_id, m.received_at, m.mail_from, m.subject, m.message_id, m.size, \
                               m.outcome_kind, m.outcome_rule, m.outcome_text, m.client_address, m.rule_set_id";

/// One row of `messages`, as stored.
struct MessageRow {
    id: i64,
    queue_id: String,
    received_at: i64,
    mail_from: String,
    subject: Option<String>,
    message_id: Option<String>,
    size: i64,
    outcome_kind: String,
    outcome_rule: Option<String>,
    outcome_text: String,
    client_address: String,
    rule_set_id: Option<String>,
}

impl MessageRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<MessageRow> {
        Ok(MessageRow {
            id: row.get(0)?,
            queue_id: row.get(1)?,
            received_at: row.get(2)?,
            mail_from: row.get(3)?,
            subject: row.get(4)?,
            message_id: row.get(5)?,
            size: row.get(6)?,
            outcome_kind: row.get(7)?,
            outcome_rule: row.get(8)?,
            outcome_text: row.get(9)?,
            client_address: row.get(10)?,
            rule_set_id: row.get(11)?,
        })
    }
}

/// Lists the records that match `query`, newest first, one page at a time.
pub(super) fn query(
    connection: &mut Connection,
    query: &HistoryQuery,
    backend: &SqliteBackend,
) -> Result<Vec<MessageSummary>, HistoryError> {
    let database_error = backend.database_error("listing messages");
    let filter = Filter::new(query);
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS},
                (SELECT count(*) FROM attachments AS a WHERE a.message = m.id),
                (SELECT count(*) FROM attachments AS a WHERE a.message = m.id AND a.upload_status = '{UPLOAD_FAILED}')
         FROM messages AS m
         {}
         ORDER BY m.received_at DESC, m.id DESC
         LIMIT ? OFFSET ?",
        filter.clause
    );

    let mut values = filter.values;
    values.push(Value::Integer(i64::from(query.effective_limit())));
    values.push(Value::Integer(i64::try_from(query.offset).unwrap_or(i64::MAX)));

    let transaction = connection.transaction().map_err(&database_error)?;
    let rows = {
        let mut statement = transaction.prepare_cached(&sql).map_err(&database_error)?;
        statement
            .query_map(params_from_iter(values), |row| {
                Ok((MessageRow::read(row)?, row.get::<_, u32>(12)?, row.get::<_, u32>(13)?))
            })
            .map_err(&database_error)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&database_error)?
    };

    let mut summaries = Vec::with_capacity(rows.len());
    for (row, attachments, failed_uploads) in rows {
        let rcpt_to = recipients(&transaction, row.id).map_err(&database_error)?;
        summaries.push(MessageSummary {
            id: RecordId(row.id),
            received_at: time_from_micros(row.received_at)
                .map_err(|detail| backend.invalid_value("messages.received_at", detail))?,
            size: size_from_column(row.size).map_err(|detail| backend.invalid_value("messages.size", detail))?,
            outcome: outcome(&row, backend)?,
            queue_id: row.queue_id,
            mail_from: row.mail_from,
            rcpt_to,
            subject: row.subject,
            message_id: row.message_id,
            attachments,
            failed_uploads,
        });
    }

    transaction.commit().map_err(&database_error)?;
    Ok(summaries)
}

/// Counts the records that match the filters of `query`, ignoring its paging.
pub(super) fn count(connection: &Connection, query: &HistoryQuery, backend: &SqliteBackend) -> Result<u64, HistoryError> {
    let filter = Filter::new(query);
    let sql = format!("SELECT count(*) FROM messages AS m {}", filter.clause);

    connection
        .query_row(&sql, params_from_iter(filter.values), |row| row.get::<_, i64>(0))
        .map(|count| count as u64)
        .map_err(backend.database_error("counting messages"))
}

/// Loads one record with all its lists.
pub(super) fn get(
    connection: &mut Connection,
    key: &RecordKey,
    backend: &SqliteBackend,
) -> Result<Option<MessageRecord>, HistoryError> {
    let database_error = backend.database_error("loading a message");
    let transaction = connection.transaction().map_err(&database_error)?;

    let row = match key {
        RecordKey::Id(id) => transaction.query_row(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages AS m WHERE m.id = ?1"),
            [id.0],
            MessageRow::read,
        ),
        RecordKey::QueueId(queue_id) => transaction.query_row(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages AS m WHERE m.queue_id = ?1
                 ORDER BY m.received_at DESC, m.id DESC LIMIT 1"
            ),
            [queue_id],
            MessageRow::read,
        ),
    }
    .optional()
    .map_err(&database_error)?;
    let Some(row) = row else {
        return Ok(None);
    };

    let rcpt_to = recipients(&transaction, row.id).map_err(&database_error)?;
    let rule_results = rule_results(&transaction, row.id, backend)?;
    let part_verdicts = part_verdicts(&transaction, row.id).map_err(&database_error)?;
    let attachments = attachments(&transaction, row.id, backend)?;
    let defects = texts(&transaction, "SELECT defect FROM defects WHERE message = ?1 ORDER BY position", row.id)
        .map_err(&database_error)?;
    transaction.commit().map_err(&database_error)?;

    Ok(Some(MessageRecord {
        received_at: time_from_micros(row.received_at).map_err(|detail| backend.invalid_value("messages.received_at", detail))?,
        size: size_from_column(row.size).map_err(|detail| backend.invalid_value("messages.size", detail))?,
        outcome: outcome(&row, backend)?,
        queue_id: row.queue_id,
        client_address: row.client_address,
        mail_from: row.mail_from,
        rcpt_to,
        subject: row.subject,
        message_id: row.message_id,
        rule_set_id: row.rule_set_id,
        rule_results,
        part_verdicts,
        attachments,
        defects,
    }))
}

fn outcome(row: &MessageRow, backend: &SqliteBackend) -> Result<Outcome, HistoryError> {
    outcome_from_columns(&row.outcome_kind, row.outcome_rule.clone(), row.outcome_text.clone())
        .map_err(|detail| backend.invalid_value("messages.outcome_kind", detail))
}

fn recipients(transaction: &Transaction<'_>, message: i64) -> rusqlite::Result<Vec<String>> {
    texts(transaction, "SELECT address FROM recipients WHERE message = ?1 ORDER BY position", message)
}

/// Runs `sql`, which selects one text column for the message `?1`.
fn texts(transaction: &Transaction<'_>, sql: &str, message: i64) -> rusqlite::Result<Vec<String>> {
    let mut statement = transaction.prepare_cached(sql)?;
    statement.query_map([message], |row| row.get(0))?.collect()
}

fn rule_results(transaction: &Transaction<'_>, message: i64, backend: &SqliteBackend) -> Result<Vec<RuleResult>, HistoryError> {
    let database_error = backend.database_error("loading rule results");

    let rows: Vec<(i64, String, String, Option<String>)> = {
        let mut statement = transaction
            .prepare_cached("SELECT position, rule, status, error FROM rule_results WHERE message = ?1 ORDER BY position")
            .map_err(&database_error)?;
        statement
            .query_map([message], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
            .map_err(&database_error)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&database_error)?
    };

    let mut actions = transaction
        .prepare_cached("SELECT action FROM rule_actions WHERE message = ?1 AND rule_position = ?2 ORDER BY position")
        .map_err(&database_error)?;
    let mut results = Vec::with_capacity(rows.len());
    for (position, rule, status, error) in rows {
        let rule_actions = actions
            .query_map((message, position), |row| row.get(0))
            .map_err(&database_error)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(&database_error)?;
        let status = rule_status_from_columns(&status, error, rule_actions)
            .map_err(|detail| backend.invalid_value("rule_results.status", detail))?;
        results.push(RuleResult { rule, status });
    }

    Ok(results)
}

fn part_verdicts(transaction: &Transaction<'_>, message: i64) -> rusqlite::Result<Vec<PartVerdict>> {
    let mut statement = transaction.prepare_cached(
        "SELECT part_id, file_name, content_type, verdict, sanitized FROM part_verdicts WHERE message = ?1 ORDER BY position",
    )?;
    statement
        .query_map([message], |row| {
            Ok(PartVerdict {
                part_id: row.get(0)?,
                file_name: row.get(1)?,
                content_type: row.get(2)?,
                verdict: row.get(3)?,
                sanitized: row.get(4)?,
            })
        })?
        .collect()
}

fn attachments(
    transaction: &Transaction<'_>,
    message: i64,
    backend: &SqliteBackend,
) -> Result<Vec<AttachmentRecord>, HistoryError> {
    let database_error = backend.database_error("loading attachments");

    let rows: Vec<(u32, String, i64, String, StoredUpload)> = {
        let mut statement = transaction
            .prepare_cached(
                "SELECT part_id, file_name, size, folder, upload_status, file_id, file_url, upload_error, upload_cause
                 FROM attachments WHERE message = ?1 ORDER BY position",
            )
            .map_err(&database_error)?;
        statement
            .query_map([message], |row| {
                let upload = StoredUpload {
                    status: row.get(4)?,
                    file_id: row.get(5)?,
                    file_url: row.get(6)?,
                    error: row.get(7)?,
                    cause: row.get(8)?,
                };
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, upload))
            })
            .map_err(&database_error)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&database_error)?
    };

    rows.into_iter()
        .map(|(part_id, file_name, size, folder, upload)| {
            Ok(AttachmentRecord {
                part_id,
                file_name,
                size: size_from_column(size).map_err(|detail| backend.invalid_value("attachments.size", detail))?,
                folder,
                upload: upload_from_columns(upload)
                    .map_err(|detail| backend.invalid_value("attachments.upload_status", detail))?,
            })
        })
        .collect()
}
