//! Recording and pruning messages in SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};

use super::SqliteBackend;
use crate::columns::{StoredSizes, fold, micros, outcome_columns, rule_status_columns, upload_columns};
use crate::error::HistoryError;
use crate::record::{MessageRecord, RecordId, RuleStatus};

/// Inserts the record and all its lists in one transaction, so a failure
/// leaves nothing of it behind.
pub(super) fn insert(
    connection: &mut Connection,
    record: &MessageRecord,
    backend: &SqliteBackend,
) -> Result<RecordId, HistoryError> {
    let sizes = StoredSizes::of(record)?;

    let database_error = backend.database_error("recording a message");
    let transaction = connection.transaction().map_err(&database_error)?;

    let id = insert_message(&transaction, record, sizes.message).map_err(&database_error)?;
    insert_lists(&transaction, id, record, &sizes.attachments).map_err(&database_error)?;

    transaction.commit().map_err(&database_error)?;
    Ok(RecordId(id))
}

/// Deletes every record received before `older_than`, with its lists, and
/// returns the number of records deleted.
pub(super) fn prune(connection: &Connection, older_than: DateTime<Utc>, backend: &SqliteBackend) -> Result<u64, HistoryError> {
    let deleted = connection
        .execute("DELETE FROM messages WHERE received_at < ?1", [micros(older_than)])
        .map_err(backend.database_error("pruning old messages"))?;

    tracing::info!(path = %backend.path().display(), %older_than, deleted, "history pruned");
    Ok(deleted as u64)
}

fn insert_message(transaction: &Transaction<'_>, record: &MessageRecord, size: i64) -> rusqlite::Result<i64> {
    let (outcome_kind, outcome_rule, outcome_text) = outcome_columns(&record.outcome);

    transaction.execute(
        "INSERT INTO messages (
             queue_id, received_at, client_address, mail_from, mail_from_folded, subject, subject_folded,
             message_id, size, rule_set_id, outcome_kind, outcome_rule, outcome_text
         ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        rusqlite::params![
            record.queue_id,
            micros(record.received_at),
            record.client_address,
            record.mail_from,
            fold(&record.mail_from),
            record.subject,
            record.subject.as_deref().map(fold),
            record.message_id,
            size,
            record.rule_set_id,
            outcome_kind,
            outcome_rule,
            outcome_text,
        ],
    )?;

    Ok(transaction.last_insert_rowid())
}

fn insert_lists(
    transaction: &Transaction<'_>,
    id: i64,
    record: &MessageRecord,
    attachment_sizes: &[i64],
) -> rusqlite::Result<()> {
    let mut recipient = transaction
        .prepare_cached("INSERT INTO recipients (message, position, address, address_folded) VALUES (?1, ?2, ?3, ?4)")?;
    for (position, address) in record.rcpt_to.iter().enumerate() {
        recipient.execute((id, position as i64, address, fold(address)))?;
    }

    let mut rule = transaction
        .prepare_cached("INSERT INTO rule_results (message, position, rule, status, error) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let mut action = transaction
        .prepare_cached("INSERT INTO rule_actions (message, rule_position, position, action) VALUES (?1, ?2, ?3, ?4)")?;
    for (position, result) in record.rule_results.iter().enumerate() {
        let (status, error) = rule_status_columns(&result.status);
        rule.execute((id, position as i64, &result.rule, status, error))?;

        if let RuleStatus::Ran { actions } = &result.status {
            for (action_position, text) in actions.iter().enumerate() {
                action.execute((id, position as i64, action_position as i64, text))?;
            }
        }
    }

    let mut verdict = transaction.prepare_cached(
        "INSERT INTO part_verdicts (message, position, part_id, file_name, content_type, verdict, sanitized)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (position, part) in record.part_verdicts.iter().enumerate() {
        verdict.execute((
            id,
            position as i64,
            part.part_id,
            &part.file_name,
            &part.content_type,
            &part.verdict,
            part.sanitized,
        ))?;
    }

    let mut attachment = transaction.prepare_cached(
        "INSERT INTO attachments (
             message, position, part_id, file_name, size, folder,
             upload_status, file_id, file_url, upload_error, upload_cause
         ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (position, (stored, size)) in record.attachments.iter().zip(attachment_sizes).enumerate() {
        let upload = upload_columns(&stored.upload);
        attachment.execute(rusqlite::params![
            id,
            position as i64,
            stored.part_id,
            stored.file_name,
            size,
            stored.folder,
            upload.status,
            upload.file_id,
            upload.file_url,
            upload.error,
            upload.cause,
        ])?;
    }

    let mut defect = transaction.prepare_cached("INSERT INTO defects (message, position, defect) VALUES (?1, ?2, ?3)")?;
    for (position, text) in record.defects.iter().enumerate() {
        defect.execute((id, position as i64, text))?;
    }

    Ok(())
}
