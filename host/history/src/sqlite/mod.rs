//! The SQLite backend: one database file, opened in WAL mode, with one
//! connection behind a mutex.
//!
//! Calls from one process run one at a time on that connection. WAL mode
//! lets other processes, such as an administrator's command, read the file
//! while the gateway writes. A writer that finds the file locked by another
//! process waits up to [`BUSY_TIMEOUT`] before the call fails.
//!
//! `synchronous = NORMAL` is set: in WAL mode a commit survives a crash of
//! the process, and the last commits before a power loss may be lost. That
//! is acceptable for a history, which is not the message itself.

mod filter;
mod read;
pub(crate) mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::error::HistoryError;
use crate::query::{HistoryQuery, MessageSummary};
use crate::record::{MessageRecord, RecordId, RecordKey};

/// How long a call waits for a lock held by another process.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An open SQLite history database.
pub(crate) struct SqliteBackend {
    connection: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteBackend {
    /// Opens or creates the database at `path`, switches it to WAL mode and
    /// migrates its schema.
    pub(crate) fn open(path: &Path) -> Result<SqliteBackend, HistoryError> {
        let open_error = |source: rusqlite::Error| HistoryError::Open { database: path.display().to_string(), source: source.into() };

        let mut connection = Connection::open(path).map_err(open_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        connection.pragma_update(None, "foreign_keys", true).map_err(open_error)?;

        let journal_mode: String =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(open_error)?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            return Err(HistoryError::Open {
                database: path.display().to_string(),
                source: format!("the database cannot use WAL mode (journal mode stays `{journal_mode}`)").into(),
            });
        }
        connection.pragma_update(None, "synchronous", "NORMAL").map_err(open_error)?;

        schema::migrate(&mut connection, path)?;

        Ok(SqliteBackend { connection: Mutex::new(connection), path: path.to_path_buf() })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn schema_version(&self) -> Result<u32, HistoryError> {
        let connection = self.lock();
        schema::current_version(&connection).map_err(self.database_error("reading the schema version"))
    }

    pub(crate) fn record(&self, record: &MessageRecord) -> Result<RecordId, HistoryError> {
        let mut connection = self.lock();
        write::insert(&mut connection, record, self)
    }

    pub(crate) fn query(&self, query: &HistoryQuery) -> Result<Vec<MessageSummary>, HistoryError> {
        let mut connection = self.lock();
        read::query(&mut connection, query, self)
    }

    pub(crate) fn count(&self, query: &HistoryQuery) -> Result<u64, HistoryError> {
        let connection = self.lock();
        read::count(&connection, query, self)
    }

    pub(crate) fn get(&self, key: &RecordKey) -> Result<Option<MessageRecord>, HistoryError> {
        let mut connection = self.lock();
        read::get(&mut connection, key, self)
    }

    pub(crate) fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, HistoryError> {
        let connection = self.lock();
        write::prune(&connection, older_than, self)
    }

    /// Locks the connection. A panic in another call cannot leave it
    /// half-written, because an unfinished transaction rolls back when it is
    /// dropped, so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns a function that wraps a database error for `operation`.
    fn database_error(&self, operation: &'static str) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
        move |source| HistoryError::Database { database: self.path.display().to_string(), operation, source: source.into() }
    }

    /// Builds the error for a stored value that does not map back to a record.
    fn invalid_value(&self, column: &'static str, detail: String) -> HistoryError {
        HistoryError::InvalidStoredValue { database: self.path.display().to_string(), column, detail }
    }
}
