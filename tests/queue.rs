//! After-queue mode over real SMTP: the client gets 250 once the message is
//! spooled, temporary failures are retried with backoff, permanent ones and
//! expired messages are bounced to the sender, and the spool survives a
//! graceful shutdown.

use std::path::Path;
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use mailgate::{Config, FailurePolicyConfig, RunningGateway};
use mailgate_history::Outcome;
use mailgate_smtp::ReceivedMessage;
use mailgate_tests::{
    SmtpClient, SmtpSink, closed_port, config, file_rule, final_record, queue_id_of, sample, send_message, shipped_rule,
    start_gateway, test_rule, use_unreachable_vault,
};

/// Builds a configuration whose retries come after 1 second, at most 2
/// seconds apart.
fn quick_retries(data_dir: &Path, relay: std::net::SocketAddr) -> Config {
    let mut settings = config(data_dir, relay, vec![shipped_rule("secure-storage")]);
    settings.queue.retry_initial_secs = 1;
    settings.queue.retry_max_secs = 2;
    settings
}

/// Sink policy: reject every message except bounces with 550 5.1.1.
fn reject_except_bounces(message: &ReceivedMessage) -> mailgate_smtp::Outcome {
    if message.mail_from.is_empty() {
        mailgate_smtp::Outcome::Accepted { queue_id: "SINK".to_string() }
    } else {
        mailgate_smtp::Outcome::PermanentFailure { reason: "no such user".to_string() }
    }
}

/// Sink policy: reject every message with 550.
fn reject_all(_: &ReceivedMessage) -> mailgate_smtp::Outcome {
    mailgate_smtp::Outcome::PermanentFailure { reason: "no such user".to_string() }
}

/// Names of the metadata files in the gateway's spool.
fn spooled(gateway_spool: &Path) -> Vec<String> {
    std::fs::read_dir(gateway_spool)
        .unwrap()
        .map(|item| item.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect()
}

/// Waits up to 10 seconds for the spool to empty.
async fn wait_for_empty_spool(gateway: &RunningGateway) {
    for _ in 0..100 {
        if gateway.queued_messages() == 0 && spooled(gateway.spool_directory()).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("spool still holds {:?}", spooled(gateway.spool_directory()));
}

/// Number of files stored by the built-in vault.
fn vault_files(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("vault/files"))
        .map(|items| items.filter_map(Result::ok).filter(|item| item.path().extension().is_some_and(|ext| ext == "bin")).count())
        .unwrap_or(0)
}

/// Returns the content type of each top-level part of `data`, as `type/subtype`.
fn part_types(data: &[u8]) -> Vec<String> {
    let message = MessageParser::default().parse(data).expect("bounce parses");
    let root = message.parts.first().expect("root part");
    let mail_parser::PartType::Multipart(children) = &root.body else { panic!("bounce is not multipart") };
    children
        .iter()
        .map(|index| {
            let content_type = message.parts[*index as usize].content_type().expect("part has a content type");
            format!("{}/{}", content_type.ctype(), content_type.subtype().unwrap_or_default())
        })
        .collect()
}

/// Checks the parts of a bounce to alice@example.com about a message to
/// bob@example.org, and returns its text.
fn check_bounce(bounce: &ReceivedMessage, status: &str) -> String {
    assert_eq!(bounce.mail_from, "", "a bounce has the null sender");
    assert_eq!(bounce.rcpt_to, vec!["alice@example.com".to_string()]);

    let message = MessageParser::default().parse(&bounce.data).expect("bounce parses");
    let content_type = message.content_type().expect("content type");
    assert_eq!((content_type.ctype(), content_type.subtype()), ("multipart", Some("report")));
    assert_eq!(content_type.attribute("report-type"), Some("delivery-status"));
    assert_eq!(part_types(&bounce.data), vec!["text/plain", "message/delivery-status", "text/rfc822-headers"]);

    let text = String::from_utf8_lossy(&bounce.data).into_owned();
    assert!(text.contains("\r\nReporting-MTA: dns; localhost\r\n"), "{text}");
    assert!(text.contains("\r\nArrival-Date: "), "{text}");
    assert!(text.contains("\r\nFinal-Recipient: rfc822; bob@example.org\r\n"), "{text}");
    assert!(text.contains("\r\nAction: failed\r\n"), "{text}");
    assert!(text.contains(&format!("\r\nStatus: {status}\r\n")), "{text}");
    assert!(text.contains("\r\nDiagnostic-Code: "), "{text}");
    text
}

/// The log of every test in this binary, for checks on the fields of
/// spans. As the global subscriber it also gets the events of the
/// gateway's other threads, so a check picks its lines by queue id.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLog {
    /// Returns the log, installing it as the global subscriber on the first call.
    fn global() -> CapturedLog {
        static LOG: std::sync::OnceLock<CapturedLog> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            let log = CapturedLog::default();
            let writer = log.clone();
            let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
            tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
            log
        })
        .clone()
    }

    fn lines_with(&self, text: &str) -> Vec<String> {
        let bytes = self.0.lock().unwrap();
        String::from_utf8_lossy(&bytes).lines().filter(|line| line.contains(text)).map(str::to_string).collect()
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn next_hop_down_retried_until_delivered() {
    let log = CapturedLog::global();
    let data_dir = tempfile::tempdir().unwrap();
    let relay = closed_port().await;
    let gateway = start_gateway(quick_retries(data_dir.path(), relay)).await;

    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    assert!(reply.text.starts_with("2.0.0 OK queued as "), "{reply:?}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(gateway.queued_messages(), 1);

    let sink = SmtpSink::start_on(relay).await;
    let delivered = sink.next_message().await;
    assert_eq!(delivered.mail_from, "alice@example.com");
    assert_eq!(delivered.rcpt_to, vec!["bob@example.org".to_string()]);
    assert!(!String::from_utf8_lossy(&delivered.data).contains("application/pdf"), "the PDF was not moved to the vault");

    let record = final_record(&gateway, &queue_id_of(&reply)).await;
    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "{:?}", record.outcome);
    assert_eq!(record.attachments.len(), 1, "the processing record was kept across attempts");
    wait_for_empty_spool(&gateway).await;
    assert_eq!(vault_files(data_dir.path()), 1, "a retry uploaded the attachment again");
    assert!(!sink.has_message(Duration::from_millis(500)).await, "delivered twice");
    gateway.shutdown().await;
    let lines = log.lines_with(&format!("queue_id={}", queue_id_of(&reply)));
    let delivered_by_retry = lines.iter().find(|line| line.contains("message delivered") && !line.contains("attempt=1"));
    let delivered_by_retry = delivered_by_retry.expect("a retry logged the delivery");
    assert!(delivered_by_retry.contains("message_id="), "{delivered_by_retry}");
    assert!(delivered_by_retry.contains("rule_set="), "{delivered_by_retry}");
}

#[tokio::test]
async fn expired_message_bounced_to_sender() {
    let data_dir = tempfile::tempdir().unwrap();
    let relay = closed_port().await;
    let mut settings = quick_retries(data_dir.path(), relay);
    settings.queue.max_age_secs = 2;
    let gateway = start_gateway(settings).await;

    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    let queue_id = queue_id_of(&reply);
    let record = final_record(&gateway, &queue_id).await;
    let Outcome::Bounced { reason } = &record.outcome else { panic!("{:?}", record.outcome) };
    assert!(reason.contains("expired"), "{reason}");
    assert!(reason.contains("bounced to <alice@example.com>"), "{reason}");

    let sink = SmtpSink::start_on(relay).await;
    let bounce = sink.next_message().await;
    let text = check_bounce(&bounce, "5.4.7");
    assert!(text.contains(&queue_id), "{text}");
    assert!(text.contains("\r\nSubject: "), "original header missing: {text}");
    assert!(!sink.has_message(Duration::from_millis(1500)).await, "the expired message was delivered after all");
    wait_for_empty_spool(&gateway).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn next_hop_5xx_bounced_at_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start_with("127.0.0.1:0".parse().unwrap(), reject_except_bounces).await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;

    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let rejected = sink.next_message().await;
    assert_eq!(rejected.mail_from, "alice@example.com");
    let bounce = sink.next_message().await;
    let text = check_bounce(&bounce, "5.7.1");
    assert!(text.contains("\r\nDiagnostic-Code: smtp; 550 5.7.1 no such user\r\n"), "{text}");

    let record = final_record(&gateway, &queue_id_of(&reply)).await;
    assert!(matches!(&record.outcome, Outcome::Bounced { reason } if reason.contains("bounced")), "{:?}", record.outcome);
    wait_for_empty_spool(&gateway).await;
    assert!(!sink.has_message(Duration::from_millis(500)).await, "a rejected message was retried");
    gateway.shutdown().await;
}

#[tokio::test]
async fn null_sender_never_bounced() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start_with("127.0.0.1:0".parse().unwrap(), reject_all).await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    let reply = client.send("", &["bob@example.org"], &sample("plain-text.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let rejected = sink.next_message().await;
    assert_eq!(rejected.mail_from, "");
    let record = final_record(&gateway, &queue_id_of(&reply)).await;
    assert!(matches!(&record.outcome, Outcome::Bounced { reason } if reason.contains("null sender")), "{:?}", record.outcome);
    assert!(!sink.has_message(Duration::from_millis(1500)).await, "a message with the null sender was bounced");
    wait_for_empty_spool(&gateway).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn rule_block_bounced_after_queue() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut trapping = file_rule("crashing", test_rule("trap"), 1000);
    trapping.on_failure = FailurePolicyConfig::Block;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![trapping])).await;

    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let bounce = sink.next_message().await;
    check_bounce(&bounce, "5.7.1");
    let record = final_record(&gateway, &queue_id_of(&reply)).await;
    assert!(matches!(&record.outcome, Outcome::Blocked { rule, .. } if rule == "crashing"), "{:?}", record.outcome);
    assert!(!sink.has_message(Duration::from_millis(500)).await, "the blocked message was delivered");
    gateway.shutdown().await;
}

#[tokio::test]
async fn trapping_rule_deferred_after_queue() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let rules = vec![shipped_rule("secure-storage"), file_rule("crashing", test_rule("trap"), 1000)];
    let mut settings = config(data_dir.path(), sink.address, rules);
    settings.queue.retry_initial_secs = 1;
    let gateway = start_gateway(settings).await;

    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let metadata = gateway.spool_directory().join(format!("{}.json", queue_id_of(&reply)));
    let entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&metadata).unwrap()).unwrap();
    assert!(entry["attempts"].as_u64().unwrap() >= 2, "{entry}");
    assert_eq!(entry["stage"], "received");
    assert!(entry["last_error"].as_str().unwrap().contains("crashing"), "{entry}");
    assert!(!sink.has_message(Duration::from_millis(300)).await, "a message passed unprocessed");
    assert_eq!(gateway.history().unwrap().count(Default::default()).await.unwrap(), 0, "a deferral is not a final outcome");
    gateway.shutdown().await;
}

#[tokio::test]
async fn vault_down_deferred_after_queue() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut settings = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    use_unreachable_vault(&mut settings).await;
    let gateway = start_gateway(settings).await;

    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    assert!(!sink.has_message(Duration::from_millis(1000)).await, "message delivered without its attachment");
    assert_eq!(gateway.queued_messages(), 1);

    let plain = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(plain.code, 250, "{plain:?}");
    assert!(sink.next_message().await.rcpt_to.contains(&"bob@example.org".to_string()));
    gateway.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_keeps_queued_message() {
    let data_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(config(data_dir.path(), closed_port().await, vec![shipped_rule("secure-storage")])).await;

    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    let queue_id = queue_id_of(&reply);
    gateway.shutdown().await;
    assert_eq!(spooled(&data_dir.path().join("queue")), vec![format!("{queue_id}.json")]);

    let sink = SmtpSink::start().await;
    let restarted = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;
    let delivered = sink.next_message().await;
    assert!(String::from_utf8_lossy(&delivered.data).contains(&format!("with ESMTP id {queue_id}")));
    let record = final_record(&restarted, &queue_id).await;
    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "{:?}", record.outcome);
    wait_for_empty_spool(&restarted).await;
    assert!(!sink.has_message(Duration::from_millis(500)).await, "delivered twice");
    restarted.shutdown().await;
}

/// Builds a message of about 3 MB of text, some lines starting with a dot.
fn large_text_message() -> Vec<u8> {
    let mut message = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: large\r\n\r\n".to_vec();
    for number in 0..40_000 {
        let line = if number % 9 == 0 { format!(".line {number:>70}\r\n") } else { format!("line {number:>71}\r\n") };
        message.extend_from_slice(line.as_bytes());
    }
    message
}

/// Sizes of the message files (`.msg`) in the spool.
fn message_file_sizes(spool: &Path) -> Vec<u64> {
    std::fs::read_dir(spool)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|item| item.path().extension().is_some_and(|extension| extension == "msg"))
        .filter_map(|item| item.metadata().ok().map(|metadata| metadata.len()))
        .collect()
}

#[tokio::test]
async fn large_message_is_spooled_while_it_arrives() {
    use tokio::io::AsyncWriteExt;

    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;
    let message = large_text_message();

    // A client that sends 2 MB of the data and then leaves.
    let mut stream = tokio::net::TcpStream::connect(gateway.smtp_address()).await.unwrap();
    stream.write_all(b"EHLO client.test\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n").await.unwrap();
    stream.write_all(&message[..2_000_000]).await.unwrap();
    let mut spooled_early = false;
    for _ in 0..100 {
        if message_file_sizes(gateway.spool_directory()).iter().any(|size| *size >= 1024 * 1024) {
            spooled_early = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stream);
    assert!(spooled_early, "no part of the message reached the spool before its end");
    for _ in 0..100 {
        if message_file_sizes(gateway.spool_directory()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(message_file_sizes(gateway.spool_directory()), Vec::<u64>::new(), "the abandoned message stayed in the spool");

    let reply = send_message(gateway.smtp_address(), &message).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    let delivered = sink.next_message().await;
    let body_start = message.windows(4).position(|window| window == b"\r\n\r\n").unwrap();
    assert!(delivered.data.ends_with(&message[body_start..]), "the delivered body differs from the one sent");
    let record = final_record(&gateway, &queue_id_of(&reply)).await;
    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "{:?}", record.outcome);
    wait_for_empty_spool(&gateway).await;
    gateway.shutdown().await;
}
