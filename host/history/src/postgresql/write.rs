//! Recording and pruning messages in PostgreSQL.

use chrono::{DateTime, Utc};

use super::filter::stored_time;
use super::{Failure, Session};
use crate::columns::{StoredSizes, fold, outcome_columns, rule_status_columns, upload_columns};
use crate::record::{MessageRecord, RecordId, RuleStatus};

const INSERT_MESSAGE: &str = "INSERT INTO messages (
        queue_id, received_at, client_address, mail_from, mail_from_folded, subject, subject_folded,
        message_id, size, rule_set_id, outcome_kind, outcome_rule, outcome_text
    ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    RETURNING id";
const INSERT_RECIPIENT: &str = "INSERT INTO recipients (message, position, address, address_folded) VALUES ($1, $2, $3, $4)";
const INSERT_RULE_RESULT: &str = "INSERT INTO rule_results (message, position, rule, status, error) VALUES ($1, $2, $3, $4, $5)";
const INSERT_RULE_ACTION: &str =
    "INSERT INTO rule_actions (message, rule_position, position, action) VALUES ($1, $2, $3, $4)";
const INSERT_PART_VERDICT: &str = "INSERT INTO part_verdicts (
        message, position, part_id, file_name, content_type, verdict, sanitized
    ) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const INSERT_ATTACHMENT: &str = "INSERT INTO attachments (
        message, position, part_id, file_name, size, folder, upload_status, file_id, file_url, upload_error, upload_cause
    ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const INSERT_DEFECT: &str = "INSERT INTO defects (message, position, defect) VALUES ($1, $2, $3)";

/// Inserts the record and all its lists in the session's transaction.
pub(super) fn insert(session: &mut Session<'_>, record: &MessageRecord, sizes: &StoredSizes) -> Result<RecordId, Failure> {
    let id = insert_message(session, record, sizes.message)?;
    insert_recipients_and_rules(session, id, record)?;
    insert_parts(session, id, record, &sizes.attachments)?;
    Ok(RecordId(id))
}

/// Deletes every record received before `older_than`, with its lists, and
/// returns the number of records deleted.
pub(super) fn prune(session: &mut Session<'_>, older_than: DateTime<Utc>) -> Result<u64, Failure> {
    let deleted = session.transaction.execute("DELETE FROM messages WHERE received_at < $1", &[&stored_time(older_than)])?;
    Ok(deleted)
}

/// Replaces NUL characters, which PostgreSQL text cannot contain, with
/// U+FFFD. Every text written goes through this function.
// NOTE: a NUL in a record therefore reads back as U+FFFD from PostgreSQL,
// while SQLite keeps it.
pub(super) fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

fn insert_message(session: &mut Session<'_>, record: &MessageRecord, size: i64) -> Result<i64, Failure> {
    let (outcome_kind, outcome_rule, outcome_text) = outcome_columns(&record.outcome);
    let statement = session.prepared(INSERT_MESSAGE)?;

    let row = session.transaction.query_one(
        &statement,
        &[
            &storable(&record.queue_id),
            &stored_time(record.received_at),
            &storable(&record.client_address),
            &storable(&record.mail_from),
            &storable(&fold(&record.mail_from)),
            &record.subject.as_deref().map(storable),
            &record.subject.as_deref().map(|subject| storable(&fold(subject))),
            &record.message_id.as_deref().map(storable),
            &size,
            &record.rule_set_id.as_deref().map(storable),
            &outcome_kind,
            &outcome_rule.map(storable),
            &storable(outcome_text),
        ],
    )?;

    Ok(row.get(0))
}

fn insert_recipients_and_rules(session: &mut Session<'_>, id: i64, record: &MessageRecord) -> Result<(), Failure> {
    let recipient = session.prepared(INSERT_RECIPIENT)?;
    for (position, address) in record.rcpt_to.iter().enumerate() {
        session
            .transaction
            .execute(&recipient, &[&id, &(position as i32), &storable(address), &storable(&fold(address))])?;
    }

    let rule = session.prepared(INSERT_RULE_RESULT)?;
    let action = session.prepared(INSERT_RULE_ACTION)?;
    for (position, result) in record.rule_results.iter().enumerate() {
        let (status, error) = rule_status_columns(&result.status);
        session
            .transaction
            .execute(&rule, &[&id, &(position as i32), &storable(&result.rule), &status, &error.map(storable)])?;

        if let RuleStatus::Ran { actions } = &result.status {
            for (action_position, text) in actions.iter().enumerate() {
                session
                    .transaction
                    .execute(&action, &[&id, &(position as i32), &(action_position as i32), &storable(text)])?;
            }
        }
    }

    Ok(())
}

fn insert_parts(session: &mut Session<'_>, id: i64, record: &MessageRecord, attachment_sizes: &[i64]) -> Result<(), Failure> {
    let verdict = session.prepared(INSERT_PART_VERDICT)?;
    for (position, part) in record.part_verdicts.iter().enumerate() {
        session.transaction.execute(
            &verdict,
            &[
                &id,
                &(position as i32),
                &i64::from(part.part_id),
                &part.file_name.as_deref().map(storable),
                &storable(&part.content_type),
                &storable(&part.verdict),
                &part.sanitized,
            ],
        )?;
    }

    let attachment = session.prepared(INSERT_ATTACHMENT)?;
    for (position, (stored, size)) in record.attachments.iter().zip(attachment_sizes).enumerate() {
        let upload = upload_columns(&stored.upload);
        session.transaction.execute(
            &attachment,
            &[
                &id,
                &(position as i32),
                &i64::from(stored.part_id),
                &storable(&stored.file_name),
                size,
                &storable(&stored.folder),
                &upload.status,
                &upload.file_id.map(storable),
                &upload.file_url.map(storable),
                &upload.error.map(storable),
                &upload.cause.map(storable),
            ],
        )?;
    }

    let defect = session.prepared(INSERT_DEFECT)?;
    for (position, text) in record.defects.iter().enumerate() {
        session.transaction.execute(&defect, &[&id, &(position as i32), &storable(text)])?;
    }

    Ok(())
}
