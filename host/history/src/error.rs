//! Errors of the history store.

/// The underlying database error, kept opaque so that the public API does not
/// depend on one database driver.
pub type DatabaseError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the history store. Each message names the database and the
/// operation that failed.
///
/// The `database` fields name the database as the SQLite file's path or as a
/// PostgreSQL URL without its password, see [`crate::PostgresUrl`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The database could not be opened, reached or configured.
    #[error("cannot open history database {database}: {source}")]
    Open {
        /// The database.
        database: String,
        /// The database error.
        #[source]
        source: DatabaseError,
    },

    /// A schema migration failed. The database stays at the version of the
    /// last migration that succeeded.
    #[error("cannot migrate history database {database} to schema version {version}: {source}")]
    Migration {
        /// The database.
        database: String,
        /// The version the failed migration leads to.
        version: u32,
        /// The database error.
        #[source]
        source: DatabaseError,
    },

    /// The database was written by a newer release with a schema this one
    /// does not know.
    #[error(
        "history database {database} has schema version {found}, but this release supports at most version {supported}; \
         upgrade mailgate or point it at another database"
    )]
    SchemaTooNew {
        /// The database.
        database: String,
        /// Schema version found in the database.
        found: u32,
        /// Latest schema version this release supports.
        supported: u32,
    },

    /// A read or write failed.
    #[error("{operation} failed on history database {database}: {source}")]
    Database {
        /// The database.
        database: String,
        /// The operation that failed, for example `recording a message`.
        operation: &'static str,
        /// The database error.
        #[source]
        source: DatabaseError,
    },

    /// A stored value does not map back to a record, for example an unknown
    /// outcome kind written by a newer release.
    #[error("history database {database} contains an invalid value in column `{column}`: {detail}")]
    InvalidStoredValue {
        /// The database.
        database: String,
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

    /// A PostgreSQL connection URL is malformed. The message never contains
    /// the URL, which may contain a password.
    #[error("invalid PostgreSQL URL: {detail}")]
    InvalidUrl {
        /// Description of the problem.
        detail: String,
    },

    /// The blocking task that ran a database operation panicked or was
    /// cancelled.
    #[error("history database task failed: {0}")]
    Task(String),
}
