//! The blocking history store: one handle over one database.
//!
//! Every method blocks the calling thread on database I/O. Async code uses
//! [`crate::AsyncHistoryStore`], which runs these methods on tokio's blocking
//! thread pool.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::HistoryError;
use crate::query::{HistoryQuery, MessageSummary};
use crate::postgresql::{PostgresBackend, PostgresUrl};
use crate::record::{MessageRecord, RecordId, RecordKey};
use crate::sqlite::SqliteBackend;

/// The database behind a store.
enum Backend {
    Sqlite(SqliteBackend),
    // Boxed, because the connection's settings make it several times larger
    // than the SQLite backend.
    Postgres(Box<PostgresBackend>),
}

/// The history of processed messages and of their attachments.
///
/// A store is `Send + Sync`. Calls from several threads run one at a time on
/// one connection. Other processes can read the same SQLite file in the
/// meantime, and several processes can share one PostgreSQL database.
///
/// The methods block, and with PostgreSQL they must not be called on a
/// thread that runs async code, because the driver blocks on a runtime of its
/// own there. Async code uses [`crate::AsyncHistoryStore`].
pub struct HistoryStore {
    backend: Backend,
}

impl HistoryStore {
    /// Opens the SQLite database at `path`, creating the file when it does
    /// not exist, switching it to WAL mode and bringing its schema to the
    /// latest version.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Open`] when the file cannot be opened or configured,
    /// [`HistoryError::Migration`] when a schema migration fails, and
    /// [`HistoryError::SchemaTooNew`] when a newer release wrote the file.
    pub fn open_sqlite(path: impl AsRef<Path>) -> Result<HistoryStore, HistoryError> {
        let backend = SqliteBackend::open(path.as_ref())?;
        Ok(HistoryStore { backend: Backend::Sqlite(backend) })
    }

    /// Connects to the PostgreSQL database at `url` without TLS and brings
    /// its schema to the latest version. Several stores, in one process or on
    /// several hosts, may open one database at the same time.
    ///
    /// A call that finds the connection lost connects again and runs once
    /// more, unless the loss interrupted the commit of a record, which the
    /// server may have written. When the server cannot be reached, the call
    /// fails, calls within [`crate::RECONNECT_DELAY`] fail without a new
    /// attempt, and the first call after it connects again.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Open`] when the server cannot be reached or rejects
    /// the login, [`HistoryError::Migration`] when a schema migration fails,
    /// and [`HistoryError::SchemaTooNew`] when a newer release migrated the
    /// database.
    pub fn open_postgres(url: &PostgresUrl) -> Result<HistoryStore, HistoryError> {
        let backend = PostgresBackend::open(url)?;
        tracing::info!(database = %backend.url(), "history database opened");
        Ok(HistoryStore { backend: Backend::Postgres(Box::new(backend)) })
    }

    /// Stores one processed message with its lists, all or nothing, and
    /// returns its new record id.
    ///
    /// # Errors
    ///
    /// [`HistoryError::InvalidRecord`] when a size exceeds `i64::MAX` bytes,
    /// [`HistoryError::Database`] when the write fails, and
    /// [`HistoryError::Open`] when a lost PostgreSQL connection cannot be
    /// opened again.
    pub fn record(&self, record: &MessageRecord) -> Result<RecordId, HistoryError> {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.record(record),
            Backend::Postgres(postgres) => postgres.record(record),
        }
    }

    /// Lists the records that match `query`, newest first by `received_at`
    /// and then by record id, skipping `query.offset` and returning at most
    /// [`HistoryQuery::effective_limit`] summaries.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Database`] when the read fails,
    /// [`HistoryError::InvalidStoredValue`] when a stored row is invalid.
    pub fn query(&self, query: &HistoryQuery) -> Result<Vec<MessageSummary>, HistoryError> {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.query(query),
            Backend::Postgres(postgres) => postgres.query(query),
        }
    }

    /// Counts the records that match the filters of `query`; `limit` and
    /// `offset` do not apply.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Database`] when the read fails.
    pub fn count(&self, query: &HistoryQuery) -> Result<u64, HistoryError> {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.count(query),
            Backend::Postgres(postgres) => postgres.count(query),
        }
    }

    /// Loads the record with all its lists, or `None` when no record has
    /// that key. A queue id that repeats returns the newest record with it.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Database`] when the read fails,
    /// [`HistoryError::InvalidStoredValue`] when a stored row is invalid.
    pub fn get(&self, key: &RecordKey) -> Result<Option<MessageRecord>, HistoryError> {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.get(key),
            Backend::Postgres(postgres) => postgres.get(key),
        }
    }

    /// Deletes every record received before `older_than` with all its lists
    /// and returns the number of records deleted.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Database`] when the delete fails; then nothing is
    /// deleted.
    pub fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, HistoryError> {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.prune(older_than),
            Backend::Postgres(postgres) => postgres.prune(older_than),
        }
    }

    /// Returns the schema version of the database, which is
    /// [`crate::SCHEMA_VERSION`] after a successful open.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Database`] when the read fails.
    pub fn schema_version(&self) -> Result<u32, HistoryError> {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.schema_version(),
            Backend::Postgres(postgres) => postgres.schema_version(),
        }
    }
}
