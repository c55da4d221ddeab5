//! Failures on the way in before-queue mode: broken rules, an unreachable
//! vault or next hop. The client gets a temporary failure (451), nothing
//! reaches the next hop, and the gateway keeps serving; with
//! `vault.upload_failure = "keep-attachment"` an unreachable vault lets the
//! message through with its attachments. The same
//! failures in after-queue mode are in `queue.rs`.

use std::time::{Duration, Instant};

use mailgate::UploadFailurePolicy;
use mailgate_history::UploadStatus;
use mailgate_message::ParsedMessage;
use mailgate_tests::{
    SmtpClient, SmtpSink, before_queue_config as config, closed_port, file_rule, final_record, queue_id_of, sample,
    send_message, shipped_rule, start_gateway, test_rule, use_unreachable_vault,
};

#[tokio::test]
async fn endless_rule_gets_451_and_gateway_serves_on() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let rules = vec![file_rule("looping", test_rule("endless_loop"), 300)];
    let gateway = start_gateway(config(data_dir.path(), sink.address, rules)).await;
    let message = sample("pdf-with-inline-logo.eml");

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    for attempt in 0..2 {
        let started = Instant::now();
        let reply = client.send("alice@example.com", &["bob@example.org"], &message).await;
        assert_eq!(reply.code, 451, "attempt {attempt}: {reply:?}");
        assert!(reply.text.starts_with("4.3.0"), "{reply:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "rule was not interrupted");
    }
    assert_eq!(client.command("NOOP").await.code, 250);

    let other = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(other.code, 451, "{other:?}");
    assert!(!sink.has_message(Duration::from_millis(300)).await, "a message passed unprocessed");
    gateway.shutdown().await;
}

#[tokio::test]
async fn trapping_rule_gets_451() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let rules = vec![shipped_rule("secure-storage"), file_rule("crashing", test_rule("trap"), 1000)];
    let gateway = start_gateway(config(data_dir.path(), sink.address, rules)).await;

    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(reply.code, 451, "{reply:?}");

    let again = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(again.code, 451, "{again:?}");
    assert!(!sink.has_message(Duration::from_millis(300)).await, "a message passed unprocessed");
    gateway.shutdown().await;
}

#[tokio::test]
async fn unreachable_vault_gets_451() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut settings = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    use_unreachable_vault(&mut settings).await;
    let gateway = start_gateway(settings).await;

    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(reply.code, 451, "{reply:?}");
    assert!(!sink.has_message(Duration::from_millis(300)).await, "message delivered without its attachment");

    let plain = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(plain.code, 250, "a message without attachments needs no vault: {plain:?}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn unreachable_next_hop_gets_451() {
    let data_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(config(data_dir.path(), closed_port().await, vec![shipped_rule("secure-storage")])).await;

    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;

    assert_eq!(reply.code, 451, "{reply:?}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn unreachable_vault_keeps_attachment_when_configured() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut settings = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    use_unreachable_vault(&mut settings).await;
    settings.vault.upload_failure = UploadFailurePolicy::KeepAttachment;
    let gateway = start_gateway(settings).await;
    let original = sample("pdf-with-inline-logo.eml");

    let reply = send_message(gateway.smtp_address(), &original).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let delivered = ParsedMessage::parse(sink.next_message().await.data).unwrap();
    let kept: Vec<_> = delivered.attachments().map(|part| part.file_name.clone()).collect();
    let sent: Vec<_> = ParsedMessage::parse(original).unwrap().attachments().map(|part| part.file_name.clone()).collect();
    assert_eq!(kept, sent, "the attachment must stay in the message");
    assert!(!String::from_utf8_lossy(&delivered.raw).contains("secure storage"), "no link notice without an upload");

    let record = final_record(&gateway, &queue_id_of(&reply)).await;
    let attachment = record.attachments.first().expect("the attachment is recorded");
    let UploadStatus::Failed { cause, .. } = &attachment.upload else { panic!("upload not recorded as failed: {attachment:?}") };
    assert_eq!(cause.as_deref(), Some("the vault cannot be reached"));
    gateway.shutdown().await;
}
