//! The PostgreSQL backend: one connection per store behind a mutex, opened
//! again after it is lost.
//!
//! Several gateway nodes can share one database. Each record is written in
//! one transaction, record ids come from one sequence, and schema
//! migrations are serialized by an advisory lock (see [`schema`]).
//!
//! Every operation runs in one transaction. When the connection turns out
//! to be lost, the store drops it, connects again and runs the operation
//! once more, provided the loss happened before the commit or the operation
//! only reads or prunes. A record whose commit was interrupted is not
//! written again, because the server may have committed it. When the server
//! cannot be reached, the call fails. Calls within [`RECONNECT_DELAY`] of a
//! failed attempt fail at once without connecting. A server that does not
//! respond thus delays one call per period by the connect timeout rather
//! than every call. The first call after the delay connects again.
//!
//! Connections use no TLS.

mod filter;
mod read;
pub(crate) mod schema;
mod url;
mod write;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use postgres::error::Severity;
use postgres::{Client, NoTls, Statement, Transaction};

pub use url::{DEFAULT_CONNECT_TIMEOUT, PostgresUrl};

use crate::columns::StoredSizes;
use crate::error::HistoryError;
use crate::query::{HistoryQuery, MessageSummary};
use crate::record::{MessageRecord, RecordId, RecordKey};

/// Time after a failed connection attempt during which calls fail without
/// a new attempt.
pub const RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// An open PostgreSQL history database.
pub(crate) struct PostgresBackend {
    url: PostgresUrl,
    state: Mutex<ConnectionState>,
}

/// The connection of a store, or when the last attempt to open one failed.
struct ConnectionState {
    connection: Option<Connection>,
    failed_attempt: Option<Instant>,
}

/// One connection and the statements prepared on it.
struct Connection {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Connection {
    fn open(url: &PostgresUrl) -> Result<Connection, HistoryError> {
        let client = url
            .config()
            .connect(NoTls)
            .map_err(|source| HistoryError::Open { database: url.to_string(), source: source.into() })?;

        tracing::info!(database = %url, "history database connected");
        Ok(Connection { client, statements: HashMap::new() })
    }
}

/// Whether an operation may run again when the connection was lost during
/// its commit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterLostCommit {
    /// The operation only reads, or deleting again does no harm.
    Repeat,
    /// The commit may have succeeded, and repeating would write twice.
    Fail,
}

/// The step of an operation that failed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Beginning the transaction or running its statements. The server rolls
    /// the transaction back when the connection is lost.
    Statements,
    /// Committing.
    Commit,
}

/// A failure inside an operation.
pub(super) enum Failure {
    /// A statement failed.
    Database(postgres::Error),
    /// The operation found invalid data and already built its error.
    Invalid(HistoryError),
}

impl From<postgres::Error> for Failure {
    fn from(error: postgres::Error) -> Failure {
        Failure::Database(error)
    }
}

/// The open transaction of an operation, with the connection's prepared
/// statements.
pub(super) struct Session<'a> {
    pub(super) transaction: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl Session<'_> {
    /// Returns the statement for `sql`, preparing it on first use on this
    /// connection.
    pub(super) fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.transaction.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

impl PostgresBackend {
    /// Connects to the database at `url` and migrates its schema.
    pub(crate) fn open(url: &PostgresUrl) -> Result<PostgresBackend, HistoryError> {
        let mut connection = Connection::open(url)?;
        schema::migrate(&mut connection.client, url)?;

        let state = ConnectionState { connection: Some(connection), failed_attempt: None };
        Ok(PostgresBackend { url: url.clone(), state: Mutex::new(state) })
    }

    pub(crate) fn url(&self) -> &PostgresUrl {
        &self.url
    }

    pub(crate) fn schema_version(&self) -> Result<u32, HistoryError> {
        self.run("reading the schema version", AfterLostCommit::Repeat, |session| {
            Ok(schema::current_version(&mut session.transaction)?)
        })
    }

    pub(crate) fn record(&self, record: &MessageRecord) -> Result<RecordId, HistoryError> {
        let sizes = StoredSizes::of(record)?;
        self.run("recording a message", AfterLostCommit::Fail, |session| write::insert(session, record, &sizes))
    }

    pub(crate) fn query(&self, query: &HistoryQuery) -> Result<Vec<MessageSummary>, HistoryError> {
        self.run("listing messages", AfterLostCommit::Repeat, |session| read::query(session, query, self))
    }

    pub(crate) fn count(&self, query: &HistoryQuery) -> Result<u64, HistoryError> {
        self.run("counting messages", AfterLostCommit::Repeat, |session| read::count(session, query))
    }

    pub(crate) fn get(&self, key: &RecordKey) -> Result<Option<MessageRecord>, HistoryError> {
        self.run("loading a message", AfterLostCommit::Repeat, |session| read::get(session, key, self))
    }

    pub(crate) fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, HistoryError> {
        let deleted = self.run("pruning old messages", AfterLostCommit::Repeat, |session| write::prune(session, older_than))?;

        tracing::info!(database = %self.url, %older_than, deleted, "history pruned");
        Ok(deleted)
    }

    /// Runs `work` in a transaction and commits it, connecting first when
    /// there is no connection. After a lost connection the work runs once
    /// more on a new one, as the module documentation describes.
    fn run<T>(
        &self,
        operation: &'static str,
        after_lost_commit: AfterLostCommit,
        mut work: impl FnMut(&mut Session<'_>) -> Result<T, Failure>,
    ) -> Result<T, HistoryError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let mut retried = false;

        loop {
            let connection = match state.connection.take() {
                Some(connection) if !connection.client.is_closed() => state.connection.insert(connection),
                _ => state.connection.insert(self.reconnect(&mut state.failed_attempt)?),
            };

            let (failure, step) = match attempt(connection, &mut work) {
                Ok(value) => return Ok(value),
                Err(failed) => failed,
            };
            let error = match failure {
                Failure::Invalid(error) => return Err(error),
                Failure::Database(error) => error,
            };

            if !connection_lost(&error, &connection.client) {
                return Err(self.database_error(operation, error));
            }
            state.connection = None;

            let repeatable = step == Step::Statements || after_lost_commit == AfterLostCommit::Repeat;
            if retried || !repeatable {
                tracing::warn!(database = %self.url, operation, %error, "history database connection lost");
                return Err(self.database_error(operation, error));
            }
            tracing::warn!(database = %self.url, operation, %error, "history database connection lost; reconnecting and retrying");
            retried = true;
        }
    }

    /// Opens a new connection, unless the last attempt failed less than
    /// [`RECONNECT_DELAY`] ago.
    fn reconnect(&self, failed_attempt: &mut Option<Instant>) -> Result<Connection, HistoryError> {
        if let Some(failed_at) = *failed_attempt
            && failed_at.elapsed() < RECONNECT_DELAY
        {
            let reason = format!(
                "not connected, because the last connection attempt failed less than {} s ago",
                RECONNECT_DELAY.as_secs()
            );
            return Err(HistoryError::Open { database: self.url.to_string(), source: reason.into() });
        }

        match Connection::open(&self.url) {
            Ok(connection) => {
                *failed_attempt = None;
                Ok(connection)
            }
            Err(error) => {
                *failed_attempt = Some(Instant::now());
                tracing::warn!(database = %self.url, %error, retry_after_secs = RECONNECT_DELAY.as_secs(), "cannot reconnect to the history database");
                Err(error)
            }
        }
    }

    /// Locks the connection state. An unfinished transaction rolls back when
    /// it is dropped, so a lock poisoned by a panic in another call is taken
    /// over.
    fn lock(&self) -> MutexGuard<'_, ConnectionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn database_error(&self, operation: &'static str, source: postgres::Error) -> HistoryError {
        HistoryError::Database { database: self.url.to_string(), operation, source: source.into() }
    }

    /// Builds the error for a stored value that does not map back to a record.
    pub(super) fn invalid_value(&self, column: &'static str, detail: String) -> HistoryError {
        HistoryError::InvalidStoredValue { database: self.url.to_string(), column, detail }
    }
}

impl Drop for PostgresBackend {
    /// Closes the connection. The `postgres` client closes it by blocking on
    /// a runtime of its own, which panics on a thread that runs async code,
    /// so there the closing moves to a thread of its own.
    fn drop(&mut self) {
        let connection = self.state.get_mut().unwrap_or_else(PoisonError::into_inner).connection.take();
        if let Some(connection) = connection
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(connection));
        }
    }
}

/// Tells whether `error` ended the session: the socket closed, or the
/// server sent a connection exception (SQLSTATE class 08), an operator
/// intervention such as `pg_terminate_backend` or a shutdown (class 57P),
/// or any other error of severity `FATAL` or `PANIC`.
fn connection_lost(error: &postgres::Error, client: &Client) -> bool {
    if error.is_closed() || client.is_closed() {
        return true;
    }

    let class_ends_session = error.code().is_some_and(|state| state.code().starts_with("08") || state.code().starts_with("57P"));
    let fatal = error
        .as_db_error()
        .is_some_and(|db_error| matches!(db_error.parsed_severity(), Some(Severity::Fatal | Severity::Panic)));
    class_ends_session || fatal
}

/// Runs `work` once in a new transaction on `connection` and commits it.
fn attempt<T>(
    connection: &mut Connection,
    work: &mut impl FnMut(&mut Session<'_>) -> Result<T, Failure>,
) -> Result<T, (Failure, Step)> {
    let Connection { client, statements } = connection;

    let transaction = client.transaction().map_err(|error| (Failure::Database(error), Step::Statements))?;
    let mut session = Session { transaction, statements };
    let value = work(&mut session).map_err(|failure| (failure, Step::Statements))?;
    session.transaction.commit().map_err(|error| (Failure::Database(error), Step::Commit))?;

    Ok(value)
}
