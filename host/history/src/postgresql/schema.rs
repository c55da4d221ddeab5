//! The PostgreSQL schema and its migrations.
//!
//! The tables and indexes are those of the SQLite schema, with `BIGSERIAL`
//! record ids, `TIMESTAMPTZ` times (microsecond precision, like the SQLite
//! integers), `BIGINT` sizes and part ids, and `BOOLEAN` flags. They live in
//! the first schema of the connection's `search_path`, normally `public`.
//!
//! Every migration runs once, in its own transaction, and adds a row to
//! `schema_migrations`. Each transaction first takes a transaction-scoped
//! advisory lock, so gateway nodes that start at the same time against one
//! database migrate one after the other: the second one finds the tables
//! already there. A database at a version newer than [`LATEST_VERSION`] is
//! rejected.

use postgres::{Client, GenericClient};

use super::url::PostgresUrl;
use crate::error::HistoryError;

/// Migrations in order: the version each one leads to, and its SQL.
const MIGRATIONS: &[(u32, &str)] = &[(1, VERSION_1)];

/// Latest schema version this release supports. The SQLite schema has the
/// same versions.
pub(crate) const LATEST_VERSION: u32 = crate::sqlite::schema::LATEST_VERSION;

/// Key of the advisory lock that serializes migrations. The value is the
/// ASCII text `mg-hist` and only needs to differ from other applications'
/// keys in the same database.
const MIGRATION_LOCK: i64 = 0x006d_672d_6869_7374;

const VERSION_1: &str = "
CREATE TABLE messages (
    id               BIGSERIAL   PRIMARY KEY,
    queue_id         TEXT        NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    client_address   TEXT        NOT NULL,
    mail_from        TEXT        NOT NULL,
    mail_from_folded TEXT        NOT NULL,
    subject          TEXT,
    subject_folded   TEXT,
    message_id       TEXT,
    size             BIGINT      NOT NULL,
    rule_set_id      TEXT,
    outcome_kind     TEXT        NOT NULL,
    outcome_rule     TEXT,
    outcome_text     TEXT        NOT NULL
);
CREATE INDEX messages_received_at ON messages (received_at);
CREATE INDEX messages_queue_id ON messages (queue_id);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_mail_from ON messages (mail_from_folded, received_at);
CREATE INDEX messages_outcome ON messages (outcome_kind, received_at);

CREATE TABLE recipients (
    message        BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    address        TEXT    NOT NULL,
    address_folded TEXT    NOT NULL,
    PRIMARY KEY (message, position)
);
CREATE INDEX recipients_address ON recipients (address_folded, message);

CREATE TABLE rule_results (
    message  BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    rule     TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    error    TEXT,
    PRIMARY KEY (message, position)
);

CREATE TABLE rule_actions (
    message       BIGINT  NOT NULL,
    rule_position INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    action        TEXT    NOT NULL,
    PRIMARY KEY (message, rule_position, position),
    FOREIGN KEY (message, rule_position) REFERENCES rule_results (message, position) ON DELETE CASCADE
);

CREATE TABLE part_verdicts (
    message      BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    part_id      BIGINT  NOT NULL,
    file_name    TEXT,
    content_type TEXT    NOT NULL,
    verdict      TEXT    NOT NULL,
    sanitized    BOOLEAN NOT NULL,
    PRIMARY KEY (message, position)
);

CREATE TABLE attachments (
    message       BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    part_id       BIGINT  NOT NULL,
    file_name     TEXT    NOT NULL,
    size          BIGINT  NOT NULL,
    folder        TEXT    NOT NULL,
    upload_status TEXT    NOT NULL,
    file_id       TEXT,
    file_url      TEXT,
    upload_error  TEXT,
    upload_cause  TEXT,
    PRIMARY KEY (message, position)
);

CREATE TABLE defects (
    message  BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    defect   TEXT    NOT NULL,
    PRIMARY KEY (message, position)
);
";

/// Brings the schema to [`LATEST_VERSION`] and returns the version it had
/// before.
///
/// # Errors
///
/// [`HistoryError::SchemaTooNew`] when the database is newer than this
/// release, [`HistoryError::Migration`] when a migration fails, and
/// [`HistoryError::Open`] when the version cannot be read.
pub(crate) fn migrate(client: &mut Client, url: &PostgresUrl) -> Result<u32, HistoryError> {
    let mut found = None;

    loop {
        let open_error = |source: postgres::Error| HistoryError::Open { database: url.to_string(), source: source.into() };

        let mut transaction = client.transaction().map_err(open_error)?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(open_error)?;
        // Keeps the notice "relation already exists, skipping" out of the log.
        transaction.batch_execute("SET LOCAL client_min_messages = warning").map_err(open_error)?;
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version    INTEGER     PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL
                 )",
            )
            .map_err(open_error)?;
        let current = current_version(&mut transaction).map_err(open_error)?;
        let before = *found.get_or_insert(current);

        if current > LATEST_VERSION {
            return Err(HistoryError::SchemaTooNew { database: url.to_string(), found: current, supported: LATEST_VERSION });
        }
        let Some((version, sql)) = MIGRATIONS.iter().find(|(version, _)| *version > current) else {
            transaction.commit().map_err(open_error)?;
            return Ok(before);
        };

        let migration_error =
            |source: postgres::Error| HistoryError::Migration { database: url.to_string(), version: *version, source: source.into() };
        transaction.batch_execute(sql).map_err(migration_error)?;
        transaction
            .execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", &[&(*version as i32)])
            .map_err(migration_error)?;
        transaction.commit().map_err(migration_error)?;

        tracing::info!(database = %url, version, "history database migrated");
    }
}

/// Returns the highest applied migration, or 0 when none was applied.
pub(crate) fn current_version(client: &mut impl GenericClient) -> Result<u32, postgres::Error> {
    let version: Option<i32> = client.query_one("SELECT max(version) FROM schema_migrations", &[])?.get(0);
    Ok(version.map_or(0, |version| version.max(0) as u32))
}
