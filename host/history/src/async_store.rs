//! The history store for async code.
//!
//! Each call moves its work to tokio's blocking thread pool with
//! `spawn_blocking`, so database I/O never stalls the runtime's worker
//! threads. The calls still run one at a time on the store's one connection.
//! Every method must be called from within a tokio runtime.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::HistoryError;
use crate::postgresql::PostgresUrl;
use crate::query::{HistoryQuery, MessageSummary};
use crate::record::{MessageRecord, RecordId, RecordKey};
use crate::store::HistoryStore;

/// A cheaply cloned async handle to a [`HistoryStore`]. Clones share the
/// store.
#[derive(Clone)]
pub struct AsyncHistoryStore {
    store: Arc<HistoryStore>,
}

impl AsyncHistoryStore {
    /// Opens the SQLite database at `path`, as [`HistoryStore::open_sqlite`]
    /// does.
    pub async fn open_sqlite(path: impl Into<PathBuf>) -> Result<AsyncHistoryStore, HistoryError> {
        let path = path.into();
        let store = spawn(move || HistoryStore::open_sqlite(path)).await?;
        Ok(AsyncHistoryStore::new(store))
    }

    /// Connects to the PostgreSQL database at `url`, as
    /// [`HistoryStore::open_postgres`] does.
    pub async fn open_postgres(url: PostgresUrl) -> Result<AsyncHistoryStore, HistoryError> {
        let store = spawn(move || HistoryStore::open_postgres(&url)).await?;
        Ok(AsyncHistoryStore::new(store))
    }

    /// Wraps an open store.
    pub fn new(store: HistoryStore) -> AsyncHistoryStore {
        AsyncHistoryStore { store: Arc::new(store) }
    }

    /// Returns the blocking store, for callers already on a blocking thread,
    /// which a PostgreSQL store needs.
    pub fn blocking(&self) -> &HistoryStore {
        &self.store
    }

    /// Stores one processed message, as [`HistoryStore::record`] does. The
    /// record is taken by value because the blocking task must own it.
    pub async fn record(&self, record: MessageRecord) -> Result<RecordId, HistoryError> {
        self.run(move |store| store.record(&record)).await
    }

    /// Lists matching records, as [`HistoryStore::query`] does.
    pub async fn query(&self, query: HistoryQuery) -> Result<Vec<MessageSummary>, HistoryError> {
        self.run(move |store| store.query(&query)).await
    }

    /// Counts matching records, as [`HistoryStore::count`] does.
    pub async fn count(&self, query: HistoryQuery) -> Result<u64, HistoryError> {
        self.run(move |store| store.count(&query)).await
    }

    /// Loads one record, as [`HistoryStore::get`] does.
    pub async fn get(&self, key: RecordKey) -> Result<Option<MessageRecord>, HistoryError> {
        self.run(move |store| store.get(&key)).await
    }

    /// Deletes old records, as [`HistoryStore::prune`] does.
    pub async fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, HistoryError> {
        self.run(move |store| store.prune(older_than)).await
    }

    async fn run<T, F>(&self, operation: F) -> Result<T, HistoryError>
    where
        T: Send + 'static,
        F: FnOnce(&HistoryStore) -> Result<T, HistoryError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        spawn(move || operation(&store)).await
    }
}

/// Runs `operation` on the blocking pool. A panic in it becomes
/// [`HistoryError::Task`].
async fn spawn<T, F>(operation: F) -> Result<T, HistoryError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, HistoryError> + Send + 'static,
{
    tokio::task::spawn_blocking(operation).await.map_err(|error| HistoryError::Task(error.to_string()))?
}
