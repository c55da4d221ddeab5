//! Shared fixtures of the gateway's integration tests: a real gateway on
//! loopback ports with its own data directory, and an SMTP client that sends
//! one message.
//!
//! Each test binary uses a part of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use mailgate::{Config, Gateway, RunningGateway};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Admin token of every fixture gateway.
pub const TOKEN: &str = "ui-test-token-0123456789";

/// A gateway with its history and the data directory it writes into.
pub struct Fixture {
    pub gateway: RunningGateway,
    /// `http://127.0.0.1:PORT` of the admin endpoint.
    pub base: String,
    _data: tempfile::TempDir,
}

/// Starts a gateway with the shipped default rules, the built-in vault,
/// delivery into a maildir, the history and the admin endpoint.
pub async fn start() -> Fixture {
    start_with(|_| {}).await
}

/// Starts a gateway like [`start`], with `adjust` applied to the
/// configuration last.
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Fixture {
    let data = tempfile::tempdir().unwrap();
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut config = Config::default();
    config.smtp.listen = loopback;
    config.builtin_vault.listen = loopback;
    config.builtin_vault.data_dir = data.path().join("vault");
    config.delivery.relay = None;
    config.delivery.maildir = data.path().join("maildir");
    config.rule_set.cache_dir = data.path().join("cache");
    config.rule_set.watch = false;
    config.history.path = data.path().join("history.sqlite");
    config.queue.directory = data.path().join("queue");
    // The tests read the history right after the 250, which before-queue
    // mode sends only after the message is recorded.
    config.smtp.mode = mailgate::SmtpMode::BeforeQueue;
    config.admin.listen = loopback;
    config.admin.token = Some(TOKEN.to_string());
    adjust(&mut config);

    let gateway = Gateway::start(config).await.expect("gateway starts");
    let base = format!("http://{}", gateway.admin_address().expect("admin endpoint runs"));
    Fixture { gateway, base, _data: data }
}

/// Returns the example message with the subject `Quarterly report`, a PDF
/// attachment `Q3 report.pdf` and an inline logo.
pub fn sample() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail/pdf-with-inline-logo.eml");
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Reads one SMTP reply, which may span several lines, and returns its code.
pub async fn read_reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> u16 {
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(30), reader.read_line(&mut line)).await.expect("SMTP reply within 30 s").unwrap();
        assert!(read > 0, "SMTP server closed the connection");
        if line.as_bytes().get(3) != Some(&b'-') {
            return line[..3].parse().expect("reply starts with a code");
        }
    }
}

/// Sends `message` over SMTP and expects 250 after the data.
pub async fn send(gateway: &RunningGateway, from: &str, to: &str, message: &[u8]) {
    assert_eq!(send_for_reply(gateway, from, to, message).await, 250, "reply to the end of data");
}

/// Sends `message` over SMTP and returns the code of the reply to the end
/// of data.
pub async fn send_for_reply(gateway: &RunningGateway, from: &str, to: &str, message: &[u8]) -> u16 {
    let stream = TcpStream::connect(gateway.smtp_address()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    assert_eq!(read_reply(&mut reader).await, 220);

    for (command, expected) in [("EHLO client.test".to_string(), 250), (format!("MAIL FROM:<{from}>"), 250), (format!("RCPT TO:<{to}>"), 250), ("DATA".to_string(), 354)] {
        write.write_all(format!("{command}\r\n").as_bytes()).await.unwrap();
        assert_eq!(read_reply(&mut reader).await, expected, "reply to {command}");
    }

    let text = String::from_utf8_lossy(message).replace("\r\n", "\n");
    let mut data = String::new();
    for line in text.lines() {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    write.write_all(data.as_bytes()).await.unwrap();
    let code = read_reply(&mut reader).await;

    write.write_all(b"QUIT\r\n").await.unwrap();
    assert_eq!(read_reply(&mut reader).await, 221);
    code
}

/// Returns a loopback port that nothing listens on.
pub async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}
