//! Sample records and test stores shared by the history tests.
//!
//! Every store test runs once per backend: [`backend_tests!`] turns a
//! function that takes a [`TestCase`] into the tests `sqlite::NAME` and
//! `postgres::NAME`. The PostgreSQL variant gets a database of its own on
//! the server that `MAILGATE_POSTGRES_URL` names, and is skipped without it
//! (see `mailgate_history::testing`).

#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use mailgate_history::testing::TestDatabase;
use mailgate_history::{
    AsyncHistoryStore, AttachmentRecord, HistoryStore, MessageRecord, Outcome, PartVerdict, RecordId, RuleResult, RuleStatus,
    UploadStatus,
};
use tempfile::TempDir;

/// Defines `sqlite::NAME` and `postgres::NAME` for each function `NAME`,
/// which takes a [`TestCase`]. `blocking:` defines plain tests and `async:`
/// tokio tests on a multi-threaded runtime.
#[allow(unused_macros)]
macro_rules! backend_tests {
    (blocking: $($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(crate::common::Backend::Sqlite.case(stringify!($name)))
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(crate::common::Backend::Postgres.case(stringify!($name)))
            })*
        }
    };
    (async: $($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(crate::common::Backend::Sqlite.case(stringify!($name))).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(crate::common::Backend::Postgres.case(stringify!($name))).await
            })*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use backend_tests;

/// A database kind that the store tests run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Names the test that runs against this backend.
    pub fn case(self, test_name: &'static str) -> TestCase {
        TestCase { backend: self, test_name }
    }
}

/// One test run against one backend.
#[derive(Clone, Copy, Debug)]
pub struct TestCase {
    pub backend: Backend,
    pub test_name: &'static str,
}

/// A database of its own for one test, deleted when dropped.
pub enum TestLocation {
    Sqlite { directory: TempDir, path: PathBuf },
    Postgres(TestDatabase),
}

impl TestLocation {
    /// Creates an empty location, or returns `None` when the PostgreSQL
    /// variant is skipped.
    pub fn create(case: TestCase) -> Option<TestLocation> {
        match case.backend {
            Backend::Sqlite => {
                let directory = tempfile::tempdir().unwrap();
                let path = directory.path().join("history.sqlite");
                Some(TestLocation::Sqlite { directory, path })
            }
            Backend::Postgres => TestDatabase::create(&format!("postgres::{}", case.test_name)).map(TestLocation::Postgres),
        }
    }

    /// Opens a blocking store on this database.
    pub fn open(&self) -> Result<HistoryStore, mailgate_history::HistoryError> {
        match self {
            TestLocation::Sqlite { path, .. } => HistoryStore::open_sqlite(path),
            TestLocation::Postgres(database) => HistoryStore::open_postgres(&database.postgres_url()),
        }
    }

    /// Opens an async store on this database.
    pub async fn open_async(&self) -> Result<AsyncHistoryStore, mailgate_history::HistoryError> {
        match self {
            TestLocation::Sqlite { path, .. } => AsyncHistoryStore::open_sqlite(path.clone()).await,
            TestLocation::Postgres(database) => AsyncHistoryStore::open_postgres(database.postgres_url()).await,
        }
    }

    /// Names the database as errors name it: the path or the URL without
    /// password.
    pub fn display_name(&self) -> String {
        match self {
            TestLocation::Sqlite { path, .. } => path.display().to_string(),
            TestLocation::Postgres(database) => database.postgres_url().to_string(),
        }
    }

    /// Runs `sql` on a connection of its own, as another process would.
    pub fn execute(&self, sql: &str) {
        match self {
            TestLocation::Sqlite { path, .. } => rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap(),
            TestLocation::Postgres(database) => database.execute(sql),
        }
    }

    /// Counts the rows of `table` on a connection of its own.
    pub fn count_rows(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        match self {
            TestLocation::Sqlite { path, .. } => {
                rusqlite::Connection::open(path).unwrap().query_row(&sql, [], |row| row.get(0)).unwrap()
            }
            TestLocation::Postgres(database) => database.query_i64(&sql),
        }
    }

    /// Marks the schema as migrated to `version`, as a newer release would.
    pub fn add_schema_migration(&self, version: u32) {
        let applied_at = match self {
            TestLocation::Sqlite { .. } => "0",
            TestLocation::Postgres(_) => "now()",
        };
        self.execute(&format!("INSERT INTO schema_migrations (version, applied_at) VALUES ({version}, {applied_at})"));
    }
}

/// A store open on a [`TestLocation`]. The store closes before the
/// database is deleted; destructure it as `TestStore { location, store }`
/// so that local bindings drop in that order too.
pub struct TestStore {
    pub store: HistoryStore,
    pub location: TestLocation,
}

impl TestStore {
    /// Opens a store in a new database, or returns `None` when the
    /// PostgreSQL variant is skipped.
    pub fn open(case: TestCase) -> Option<TestStore> {
        let location = TestLocation::create(case)?;
        let store = location.open().unwrap();
        Some(TestStore { store, location })
    }
}

/// Arrival time of the first sample message.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 28, 10, 0, 0).unwrap()
}

/// Builds a minimal delivered record.
pub fn simple(queue_id: &str, received_at: DateTime<Utc>, mail_from: &str, rcpt_to: &[&str]) -> MessageRecord {
    MessageRecord {
        queue_id: queue_id.to_string(),
        received_at,
        client_address: "127.0.0.1".to_string(),
        mail_from: mail_from.to_string(),
        rcpt_to: rcpt_to.iter().map(|address| address.to_string()).collect(),
        subject: None,
        message_id: None,
        size: 100,
        rule_set_id: None,
        rule_results: Vec::new(),
        part_verdicts: Vec::new(),
        outcome: Outcome::Delivered { reply: "250 2.0.0 OK".to_string() },
        attachments: Vec::new(),
        defects: Vec::new(),
    }
}

/// Builds a delivered record with every list filled: two rules that ran, one that did not
/// match, one that failed, verdicts, an uploaded attachment, a failed upload
/// with its cause, one that was only removed, and defects.
pub fn quarterly_report() -> MessageRecord {
    let folder = "Email Gateway/2026-09-28/Quarterly Report_<alice@example.com>_<q3@mail.example.com>".to_string();
    MessageRecord {
        queue_id: "00000000000A".to_string(),
        received_at: start(),
        client_address: "192.0.2.10".to_string(),
        mail_from: "alice@example.com".to_string(),
        rcpt_to: vec!["bob@example.org".to_string(), "carol@example.org".to_string()],
        subject: Some("Quarterly Report".to_string()),
        message_id: Some("q3@mail.example.com".to_string()),
        size: 58_321,
        rule_set_id: Some("rs-7f3a".to_string()),
        rule_results: vec![
            RuleResult {
                rule: "secure-storage".to_string(),
                status: RuleStatus::Ran { actions: vec!["remove 2".to_string(), "upload 2".to_string(), "link".to_string()] },
            },
            RuleResult { rule: "outbound-only".to_string(), status: RuleStatus::NotMatched },
            RuleResult { rule: "quiet".to_string(), status: RuleStatus::Ran { actions: Vec::new() } },
            RuleResult {
                rule: "broken".to_string(),
                status: RuleStatus::Failed { error: "rule trapped: unreachable".to_string() },
            },
        ],
        part_verdicts: vec![
            PartVerdict {
                part_id: 2,
                file_name: Some("Q3 report.pdf".to_string()),
                content_type: "application/pdf".to_string(),
                verdict: "clean".to_string(),
                sanitized: true,
            },
            PartVerdict {
                part_id: 3,
                file_name: None,
                content_type: "image/png".to_string(),
                verdict: "blocked: EICAR".to_string(),
                sanitized: false,
            },
        ],
        outcome: Outcome::Delivered { reply: "250 2.0.0 Ok: queued as 4F2A1".to_string() },
        attachments: vec![
            AttachmentRecord {
                part_id: 2,
                file_name: "Q3 report.pdf".to_string(),
                size: 583,
                folder: folder.clone(),
                upload: UploadStatus::Uploaded {
                    file_id: "e6424321".to_string(),
                    file_url: "http://127.0.0.1:8010/vault_rest/file/e6424321".to_string(),
                },
            },
            AttachmentRecord {
                part_id: 4,
                file_name: "budget.xlsx".to_string(),
                size: 12_000,
                folder: folder.clone(),
                upload: UploadStatus::Failed {
                    error: "upload to the vault failed".to_string(),
                    cause: Some("HTTP 503 Service Unavailable".to_string()),
                },
            },
            AttachmentRecord {
                part_id: 5,
                file_name: "notes.txt".to_string(),
                size: 0,
                folder,
                upload: UploadStatus::NotUploaded,
            },
        ],
        defects: vec!["missing MIME boundary end".to_string(), "header line too long".to_string()],
    }
}

/// Builds five records that differ in every filtered field:
///
/// | queue id | received | sender | recipients | subject | outcome |
/// |---|---|---|---|---|---|
/// | `00000000000A` | start | alice@example.com | bob, carol @example.org | Quarterly Report | delivered |
/// | `00000000000B` | start + 1 h | mallory@evil.test | xbob@example.org | Invoice 100% overdue | blocked |
/// | `00000000000C` | start + 2 h | Alice@Example.COM | Bob@Example.org | RE: quarterly report | temporary failure |
/// | `00000000000D` | start + 3 h | (null sender) | postmaster@example.org | none | rejected |
/// | `00000000000E` | start − 30 days | dave@example.net | erin@example.org | Ünïcode Grüße | delivered |
pub fn sample_records() -> Vec<MessageRecord> {
    let mut blocked = simple("00000000000B", start() + Duration::hours(1), "mallory@evil.test", &["xbob@example.org"]);
    blocked.subject = Some("Invoice 100% overdue".to_string());
    blocked.message_id = Some("invoice-17@evil.test".to_string());
    blocked.outcome = Outcome::Blocked { rule: "no-executables".to_string(), reason: "invoice.exe is an executable".to_string() };

    let mut failed = simple("00000000000C", start() + Duration::hours(2), "Alice@Example.COM", &["Bob@Example.org"]);
    failed.subject = Some("RE: quarterly report".to_string());
    failed.message_id = Some("re-q3@mail.example.com".to_string());
    failed.outcome = Outcome::TemporaryFailure { reason: "upload to the vault failed: connection refused".to_string() };
    failed.attachments = vec![AttachmentRecord {
        part_id: 1,
        file_name: "slides.pptx".to_string(),
        size: 2_000_000,
        folder: "Email Gateway/2026-09-28/RE quarterly report_<Alice@Example.COM>_<re-q3@mail.example.com>".to_string(),
        upload: UploadStatus::Failed { error: "upload to the vault failed".to_string(), cause: None },
    }];

    let mut rejected = simple("00000000000D", start() + Duration::hours(3), "", &["postmaster@example.org"]);
    rejected.outcome = Outcome::Rejected { reason: "message cannot be parsed".to_string() };

    let mut old = simple("00000000000E", start() - Duration::days(30), "dave@example.net", &["erin@example.org"]);
    old.subject = Some("Ünïcode Grüße".to_string());

    vec![quarterly_report(), blocked, failed, rejected, old]
}

/// Records [`sample_records`] and returns their ids in the same order.
pub fn record_samples(store: &HistoryStore) -> Vec<RecordId> {
    sample_records().iter().map(|record| store.record(record).unwrap()).collect()
}
