//! Errors of the history store.

use std::path::PathBuf;

/// The underlying database error, kept opaque so that the public API does not
/// depend on one database driver.
pub type DatabaseError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the history store. Each message names the database and the
/// operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The database file could not be opened or configured.
    #[error("cannot open history database {path}: {source}")]
    Open {
        /// Path of the database file.
        path: PathBuf,
        /// The database error.
        #[source]
        source: DatabaseError,
    },

    /// A schema migration failed. The database stays at the version of the
    /// last migration that succeeded.
    #[error("cannot migrate history database {path} to schema version {version}: {source}")]
    Migration {
        /// Path of the database file.
        path: PathBuf,
        /// The version the failed migration leads to.
        version: u32,
        /// The database error.
        #[source]
        source: DatabaseError,
    },

    /// The database was written by a newer release with a schema this one
    /// does not know.
    #[error(
        "history database {path} has schema version {found}, but this release supports at most version {supported}; \
         upgrade mailgate or point it at another database"
    )]
    SchemaTooNew {
        /// Path of the database file.
        path: PathBuf,
        /// Schema version found in the database.
        found: u32,
        /// Latest schema version this release supports.
        supported: u32,
    },

    /// A read or write failed.
    #[error("{operation} failed on history database {path}: {source}")]
    Database {
        /// Path of the database file.
        path: PathBuf,
        /// The operation that failed, for example `recording a message`.
        operation: &'static str,
        /// The database error.
        #[source]
        source: DatabaseError,
    },

    /// A stored value does not map back to a record, for example an unknown
    /// outcome kind written by a newer release.
    #[error("history database {path} contains an invalid value in column `{column}`: {detail}")]
    InvalidStoredValue {
        /// Path of the database file.
        path: PathBuf,
        /// Table and column, as `table.column`.
        column: &'static str,
        /// Description of the problem with the value.
        detail: String,
    },

    /// A record cannot be stored, for example because its size does not fit
    /// the database's 64-bit signed integers.
    #[error("invalid history record for queue id {queue_id}: {detail}")]
    InvalidRecord {
        /// Queue id of the record.
        queue_id: String,
        /// Description of the problem with the record.
        detail: String,
    },

    /// The blocking task that ran a database operation panicked or was
    /// cancelled.
    #[error("history database task failed: {0}")]
    Task(String),
}
