//! The history of processed messages and of their attachments, which
//! administrators query.
//!
//! The gateway records one [`MessageRecord`] per message after processing
//! it, whether processing succeeded or not. The command line and the admin
//! endpoint list records with a [`HistoryQuery`], load one in full with
//! [`HistoryStore::get`], and delete old ones with [`HistoryStore::prune`].
//! A record contains metadata only: envelope, a few header fields, rule results,
//! scan verdicts, attachment uploads and the outcome, never message bodies or
//! attachment content.
//!
//! [`HistoryStore`] blocks on I/O. [`AsyncHistoryStore`] wraps it for tokio
//! and runs each call on the blocking thread pool. Both use one database
//! connection behind a mutex, so calls from one process run one at a time.
//!
//! # Storage
//!
//! The store keeps its records in one of two databases, which hold the same
//! tables and behave the same to callers:
//!
//! - an SQLite file in WAL mode ([`HistoryStore::open_sqlite`]), the
//!   default, for one gateway;
//! - a PostgreSQL database ([`HistoryStore::open_postgres`]) that several
//!   gateway nodes share. It is reached without TLS, and a lost connection
//!   is opened again.
//!
//! The tables are normalized.
//! `messages` has one row per record, with the filtered fields as indexed
//! columns. `recipients`, `rule_results`, `rule_actions`, `part_verdicts`,
//! `attachments` and `defects` contain the record's lists, one row per entry
//! with its position. Separate tables, rather than JSON columns, were chosen
//! for these reasons:
//!
//! - a recipient filter is an exact comparison on an indexed column, so
//!   `bob@example.org` can never match `xbob@example.org`;
//! - attachments and their upload failures are rows that an administrator
//!   can query with plain SQL, across messages;
//! - the tables carry over to PostgreSQL with changes of column types and
//!   table options only, so both backends share their conversions;
//! - the database rejects a record with missing fields through `NOT NULL`
//!   constraints, not only the code.
//!
//! The cost is one insert per list entry, all in one transaction per record.

mod async_store;
mod columns;
mod error;
mod postgresql;
mod query;
mod record;
mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use async_store::AsyncHistoryStore;
pub use error::{DatabaseError, HistoryError};
pub use postgresql::{DEFAULT_CONNECT_TIMEOUT, PostgresUrl, RECONNECT_DELAY};
pub use query::{DEFAULT_LIMIT, HistoryQuery, MAX_LIMIT, MessageSummary};
pub use record::{
    AttachmentRecord, MessageRecord, Outcome, OutcomeKind, PartVerdict, RecordId, RecordKey, RuleResult, RuleStatus, UploadStatus,
};
pub use store::HistoryStore;

/// Schema version that this release creates and reads, in both backends.
pub const SCHEMA_VERSION: u32 = sqlite::schema::LATEST_VERSION;
