//! Sample records shared by the history tests.

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use mailgate_history::{
    AttachmentRecord, HistoryStore, MessageRecord, Outcome, PartVerdict, RecordId, RuleResult, RuleStatus, UploadStatus,
};
use tempfile::TempDir;

/// Arrival time of the first sample message.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 28, 10, 0, 0).unwrap()
}

/// Opens a store in a new temporary directory, which is deleted when the
/// returned `TempDir` is dropped.
pub fn temporary_store() -> (TempDir, std::path::PathBuf, HistoryStore) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("history.sqlite");
    let store = HistoryStore::open_sqlite(&path).unwrap();
    (directory, path, store)
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
