//! Scanning of attachments in the mail flow, over real SMTP: a blocked
//! attachment is removed, never uploaded and named in the notice, its
//! verdict is in the history, and an engine that cannot scan defers the
//! message by default.

use std::net::SocketAddr;

use mailgate::ScanEngineConfig;
use mailgate_history::{HistoryQuery, RecordKey, UploadStatus};
use mailgate_tests::{SmtpClient, SmtpSink, before_queue_config, shipped_rule, start_gateway};
use mailgate_vault::mailgate_scan::EICAR_TEST_FILE;

/// Builds a message with a text body, a clean PDF and the EICAR test file,
/// each attachment in base64.
fn message_with_eicar() -> Vec<u8> {
    use base64::Engine;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);

    format!(
        "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: Scan test\r\nMessage-ID: <scan@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachments.\r\n\
         --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"eicar.com\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        encode(b"%PDF-1.4 quarterly figures"),
        encode(EICAR_TEST_FILE)
    )
    .into_bytes()
}

#[tokio::test]
async fn blocked_attachment_is_withheld_and_recorded() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let config = before_queue_config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    let gateway = start_gateway(config).await;

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    let reply = client.send("alice@example.com", &["bob@example.org"], &message_with_eicar()).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let delivered = String::from_utf8(sink.next_message().await.data).unwrap();
    assert!(!delivered.contains("filename=\"eicar.com\""), "the blocked file was delivered");
    assert!(delivered.contains("Attachments of this message were removed:"), "{delivered}");
    assert!(delivered.contains("eicar.com: blocked by the virus scan"), "{delivered}");
    assert!(delivered.contains("report.pdf"), "the clean file is linked");

    let history = gateway.history().unwrap();
    let summaries = history.query(HistoryQuery::default()).await.unwrap();
    let record = history.get(RecordKey::Id(summaries[0].id)).await.unwrap().unwrap();
    let verdicts: Vec<(Option<&str>, &str)> =
        record.part_verdicts.iter().map(|verdict| (verdict.file_name.as_deref(), verdict.verdict.as_str())).collect();
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert_eq!(verdicts[0], (Some("report.pdf"), "clean (builtin)"));
    assert_eq!(verdicts[1].0, Some("eicar.com"));
    assert!(verdicts[1].1.starts_with("blocked (builtin)"), "{verdicts:?}");
    let upload_of = |name: &str| record.attachments.iter().find(|attachment| attachment.file_name == name).map(|attachment| &attachment.upload);
    assert!(matches!(upload_of("report.pdf"), Some(UploadStatus::Uploaded { .. })), "{:?}", record.attachments);
    assert_eq!(upload_of("eicar.com"), Some(&UploadStatus::NotUploaded));
    gateway.shutdown().await;
}

#[tokio::test]
async fn unreachable_engine_defers_message() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed: SocketAddr = listener.local_addr().unwrap();
    drop(listener);
    let mut config = before_queue_config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    config.scan.engine = ScanEngineConfig::Clamd;
    config.scan.clamd_address = Some(closed.to_string());
    let gateway = start_gateway(config).await;

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    let reply = client.send("alice@example.com", &["bob@example.org"], &message_with_eicar()).await;

    assert_eq!(reply.code, 451, "{reply:?}");
    assert!(!sink.has_message(std::time::Duration::from_millis(200)).await);
    gateway.shutdown().await;
}
