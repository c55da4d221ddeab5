//! The SQLite schema and its migrations.
//!
//! Every migration runs once, in its own transaction, and adds a row to
//! `schema_migrations`. A database's schema version is the highest version
//! in that table, and 0 for a new file. A database at a version newer than
//! [`LATEST_VERSION`] is rejected, because this release cannot know what the
//! newer columns mean.
//!
//! Time columns hold microseconds since the Unix epoch, UTC. Columns named
//! `*_folded` hold the lower-case form of their neighbour, computed in Rust,
//! so that case-insensitive filters are exact comparisons on an index.
//! Child tables carry a `position` that keeps the order of the record's
//! lists and delete with their message.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::error::HistoryError;

/// Migrations in order: the version each one leads to, and its SQL.
const MIGRATIONS: &[(u32, &str)] = &[(1, VERSION_1)];

/// Latest schema version this release supports.
pub(crate) const LATEST_VERSION: u32 = 1;

const VERSION_1: &str = "
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    queue_id         TEXT    NOT NULL,
    received_at      INTEGER NOT NULL,
    client_address   TEXT    NOT NULL,
    mail_from        TEXT    NOT NULL,
    mail_from_folded TEXT    NOT NULL,
    subject          TEXT,
    subject_folded   TEXT,
    message_id       TEXT,
    size             INTEGER NOT NULL,
    rule_set_id      TEXT,
    outcome_kind     TEXT    NOT NULL,
    outcome_rule     TEXT,
    outcome_text     TEXT    NOT NULL
);
CREATE INDEX messages_received_at ON messages (received_at);
CREATE INDEX messages_queue_id ON messages (queue_id);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_mail_from ON messages (mail_from_folded, received_at);
CREATE INDEX messages_outcome ON messages (outcome_kind, received_at);

CREATE TABLE recipients (
    message        INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    address        TEXT    NOT NULL,
    address_folded TEXT    NOT NULL,
    PRIMARY KEY (message, position)
) WITHOUT ROWID;
CREATE INDEX recipients_address ON recipients (address_folded, message);

CREATE TABLE rule_results (
    message  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    rule     TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    error    TEXT,
    PRIMARY KEY (message, position)
) WITHOUT ROWID;

CREATE TABLE rule_actions (
    message       INTEGER NOT NULL,
    rule_position INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    action        TEXT    NOT NULL,
    PRIMARY KEY (message, rule_position, position),
    FOREIGN KEY (message, rule_position) REFERENCES rule_results (message, position) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE part_verdicts (
    message      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    part_id      INTEGER NOT NULL,
    file_name    TEXT,
    content_type TEXT    NOT NULL,
    verdict      TEXT    NOT NULL,
    sanitized    INTEGER NOT NULL,
    PRIMARY KEY (message, position)
) WITHOUT ROWID;

CREATE TABLE attachments (
    message       INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    part_id       INTEGER NOT NULL,
    file_name     TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    folder        TEXT    NOT NULL,
    upload_status TEXT    NOT NULL,
    file_id       TEXT,
    file_url      TEXT,
    upload_error  TEXT,
    upload_cause  TEXT,
    PRIMARY KEY (message, position)
) WITHOUT ROWID;

CREATE TABLE defects (
    message  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    defect   TEXT    NOT NULL,
    PRIMARY KEY (message, position)
) WITHOUT ROWID;
";

/// Brings the schema of the database at `path` to [`LATEST_VERSION`] and
/// returns the version it had before.
///
/// # Errors
///
/// [`HistoryError::SchemaTooNew`] when the database is newer than this
/// release, [`HistoryError::Migration`] when a migration fails, and
/// [`HistoryError::Open`] when the version cannot be read.
pub(crate) fn migrate(connection: &mut Connection, path: &Path) -> Result<u32, HistoryError> {
    let open_error = |source: rusqlite::Error| HistoryError::Open { database: path.display().to_string(), source: source.into() };

    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at INTEGER NOT NULL
             )",
        )
        .map_err(open_error)?;
    let found = current_version(connection).map_err(open_error)?;

    if found > LATEST_VERSION {
        return Err(HistoryError::SchemaTooNew { database: path.display().to_string(), found, supported: LATEST_VERSION });
    }

    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > found) {
        let migration_error = |source: rusqlite::Error| HistoryError::Migration {
            database: path.display().to_string(),
            version: *version,
            source: source.into(),
        };

        let transaction = connection.transaction().map_err(migration_error)?;
        transaction.execute_batch(sql).map_err(migration_error)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                (version, chrono::Utc::now().timestamp_micros()),
            )
            .map_err(migration_error)?;
        transaction.commit().map_err(migration_error)?;

        tracing::info!(path = %path.display(), version, "history database migrated");
    }

    Ok(found)
}

/// Returns the highest applied migration, or 0 when none was applied.
pub(crate) fn current_version(connection: &Connection) -> rusqlite::Result<u32> {
    let version: Option<u32> =
        connection.query_row("SELECT max(version) FROM schema_migrations", [], |row| row.get(0)).optional()?.flatten();
    Ok(version.unwrap_or(0))
}
