//! The email and processing history over real SMTP: each message is
//! recorded with its rules, uploads and outcome, and found again through the
//! store and the admin JSON API.
//!
//! Every test runs once per history backend, as `sqlite::NAME` and
//! `postgres::NAME`. The PostgreSQL variant gets a database of its own on
//! the server that `MAILGATE_POSTGRES_URL` names and is skipped without it,
//! unless `CI` is set (see `mailgate_history::testing`).

use std::path::{Path, PathBuf};

use mailgate::Config;
use mailgate_history::testing::TestDatabase;
use mailgate_history::{HistoryQuery, Outcome, OutcomeKind, RecordKey, RuleStatus, UploadStatus};
use mailgate_tests::{
    SmtpSink, before_queue_config, config, final_record, queue_id_of, sample, send_message, shipped_rule, start_gateway,
};

/// Defines `sqlite::NAME` and `postgres::NAME` for each async function
/// `NAME` that takes a [`Backend`] and a test name.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Sqlite, concat!("sqlite::", stringify!($name))).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Postgres, concat!("postgres::", stringify!($name))).await
            })*
        }
    };
}

backend_tests!(delivered_message_recorded_with_uploads, upload_failure_recorded_with_cause);

/// A history database kind.
#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The test's history database. A PostgreSQL database is kept until the
/// test ends.
struct HistoryDatabase {
    sqlite: Option<PathBuf>,
    postgres: Option<TestDatabase>,
}

impl HistoryDatabase {
    /// Checks that `expected` records reached this database, read past the
    /// gateway's store.
    fn assert_record_count(&self, expected: i64) {
        if let Some(database) = &self.postgres {
            assert_eq!(database.query_i64("SELECT count(*) FROM messages"), expected, "records in PostgreSQL");
        }
        if let Some(path) = &self.sqlite {
            assert!(path.is_file(), "SQLite file {} exists", path.display());
        }
    }
}

/// Points `settings` at a new history database of `backend`: a file in
/// `data_dir`, or a PostgreSQL database of its own. Returns `None` when the
/// PostgreSQL test is skipped.
fn use_history(settings: &mut Config, backend: Backend, data_dir: &Path, test_name: &str) -> Option<HistoryDatabase> {
    match backend {
        Backend::Sqlite => {
            settings.history.path = data_dir.join("history.sqlite");
            Some(HistoryDatabase { sqlite: Some(settings.history.path.clone()), postgres: None })
        }
        Backend::Postgres => {
            let database = TestDatabase::create(test_name)?;
            let text = format!("[history]\nbackend = \"postgres\"\nurl = '{}'\n", database.url());
            settings.history = Config::from_toml(&text).expect("history settings are valid").history;
            Some(HistoryDatabase { sqlite: None, postgres: Some(database) })
        }
    }
}


async fn delivered_message_recorded_with_uploads(backend: Backend, test_name: &str) {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut settings = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    let Some(database) = use_history(&mut settings, backend, data_dir.path(), test_name) else { return };
    settings.admin.listen = "127.0.0.1:0".parse().unwrap();
    settings.admin.token = Some("admin-secret".to_string());
    let gateway = start_gateway(settings).await;

    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    sink.next_message().await;
    let queue_id = queue_id_of(&reply);

    let record = final_record(&gateway, &queue_id).await;
    assert_eq!(record.mail_from, "alice@example.com");
    assert_eq!(record.rcpt_to, vec!["bob@example.org".to_string()]);
    assert_eq!(record.subject.as_deref(), Some("Quarterly report"));
    assert_eq!(record.message_id.as_deref(), Some("3f9c2d1e-7a41-4b8e-9c1d-5e2f8a6b7c90@mail.example.com"));
    assert_eq!(record.rule_set_id.as_deref(), Some(gateway.rule_set_id().as_str()));
    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "{:?}", record.outcome);
    assert_eq!(record.rule_results.len(), 1);
    assert!(matches!(&record.rule_results[0].status, RuleStatus::Ran { actions } if actions.len() == 3), "{:?}", record.rule_results);

    assert_eq!(record.attachments.len(), 1);
    let attachment = &record.attachments[0];
    assert_eq!(attachment.file_name, "Q3 report.pdf");
    assert!(attachment.folder.starts_with("Email Gateway/2026-09-28/Quarterly report_"), "{}", attachment.folder);
    let UploadStatus::Uploaded { file_url, .. } = &attachment.upload else { panic!("upload not recorded: {:?}", attachment.upload) };
    assert_eq!(reqwest::get(file_url).await.unwrap().status(), 200);

    let base = format!("http://{}", gateway.admin_address().unwrap());
    let http = reqwest::Client::new();
    let listed: serde_json::Value = http
        .get(format!("{base}/admin/history?sender=alice@example.com&outcome=delivered"))
        .bearer_auth("admin-secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["messages"][0]["queue_id"], queue_id.as_str());

    let shown = http.get(format!("{base}/admin/history/{queue_id}")).bearer_auth("admin-secret").send().await.unwrap();
    assert_eq!(shown.status(), 200);
    let anonymous = http.get(format!("{base}/admin/history")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    database.assert_record_count(1);
    gateway.shutdown().await;
}

async fn upload_failure_recorded_with_cause(backend: Backend, test_name: &str) {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let mut settings = before_queue_config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    let Some(database) = use_history(&mut settings, backend, data_dir.path(), test_name) else { return };
    settings.vault.url = Some(format!("http://{closed}/vault_rest"));
    settings.vault.api_key = Some("unused".to_string());
    let gateway = start_gateway(settings).await;

    let failed = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(failed.code, 451, "{failed:?}");
    let plain = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(plain.code, 250, "{plain:?}");

    let history = gateway.history().unwrap();
    let failures = history
        .query(HistoryQuery { outcome: Some(OutcomeKind::TemporaryFailure), ..HistoryQuery::default() })
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    let record = history.get(RecordKey::Id(failures[0].id)).await.unwrap().unwrap();
    assert!(matches!(&record.outcome, Outcome::TemporaryFailure { reason } if reason.contains("upload")), "{:?}", record.outcome);
    let UploadStatus::Failed { cause, error } = &record.attachments[0].upload else {
        panic!("failure not recorded: {:?}", record.attachments)
    };
    assert_eq!(cause.as_deref(), Some("the vault cannot be reached"));
    assert!(error.contains(&closed.to_string()), "{error}");

    let all = history.count(HistoryQuery::default()).await.unwrap();
    assert_eq!(all, 2);
    database.assert_record_count(2);
    gateway.shutdown().await;
}
