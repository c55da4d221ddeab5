//! The email and processing history over real SMTP: each message is
//! recorded with its rules, uploads and outcome, and found again through the
//! store and the admin JSON API.

use mailgate_history::{HistoryQuery, Outcome, OutcomeKind, RecordKey, RuleStatus, UploadStatus};
use mailgate_tests::{
    SmtpSink, before_queue_config, config, final_record, queue_id_of, sample, send_message, shipped_rule, start_gateway,
};

#[tokio::test]
async fn delivered_message_recorded_with_uploads() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut settings = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    settings.history.path = data_dir.path().join("history.sqlite");
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
    gateway.shutdown().await;
}

#[tokio::test]
async fn upload_failure_recorded_with_cause() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let mut settings = before_queue_config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    settings.history.path = data_dir.path().join("history.sqlite");
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
    gateway.shutdown().await;
}
