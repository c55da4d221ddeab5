//! Relay control and recipient look-ahead over real SMTP: a client outside
//! the relay networks reaches the accepted domains only, and with look-ahead
//! a recipient that the next hop rejects is rejected at RCPT time.

use std::net::SocketAddr;
use std::time::Duration;

use mailgate_tests::{SmtpClient, SmtpSink, config, sample, shipped_rule, start_gateway};

/// Builds a short message addressed to `to`.
fn message_to(to: &str) -> Vec<u8> {
    format!("From: alice@example.com\r\nTo: {to}\r\nSubject: relay test\r\nMessage-ID: <relay@example.com>\r\n\r\nHello.\r\n")
        .into_bytes()
}

#[tokio::test]
async fn untrusted_client_reaches_accepted_domains_only() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut config = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    config.smtp.accepted_domains = vec!["example.org".to_string(), ".example.net".to_string()];
    config.smtp.relay_networks = Vec::new();
    let gateway = start_gateway(config).await;

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    assert_eq!(client.command("MAIL FROM:<spammer@elsewhere.test>").await.code, 250);
    let denied = client.command("RCPT TO:<victim@open-relay-target.test>").await;
    assert_eq!(denied.code, 550, "{denied:?}");
    assert!(denied.text.starts_with("5.7.1 relaying denied"), "{denied:?}");
    assert_eq!(client.command("RCPT TO:<bob@EXAMPLE.org>").await.code, 250);
    assert_eq!(client.command("RCPT TO:<carol@mx.example.net>").await.code, 250);
    assert_eq!(client.command("RSET").await.code, 250);

    let reply = client.send("alice@elsewhere.test", &["bob@example.org"], &message_to("bob@example.org")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    let delivered = sink.next_message().await;
    assert_eq!(delivered.rcpt_to, ["bob@example.org"]);
    gateway.shutdown().await;
}

#[tokio::test]
async fn client_in_trusted_networks_may_relay() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut config = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    config.smtp.relay_networks = Vec::new();
    config.smtp.trusted_networks = vec!["127.0.0.1/32".parse().unwrap()];
    let gateway = start_gateway(config).await;

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    let reply = client.send("alice@example.org", &["partner@elsewhere.test"], &sample("plain-text.eml")).await;

    assert_eq!(reply.code, 250, "{reply:?}");
    assert_eq!(sink.next_message().await.rcpt_to, ["partner@elsewhere.test"]);
    gateway.shutdown().await;
}

#[tokio::test]
async fn lookahead_rejects_unknown_recipients() {
    let data_dir = tempfile::tempdir().unwrap();
    let next_hop = SmtpSink::start_accepting(&["example.org"]).await;
    let mut config = config(data_dir.path(), next_hop.address, vec![shipped_rule("secure-storage")]);
    config.smtp.recipient_lookahead = mailgate::LookaheadMode::NextHop;
    let gateway = start_gateway(config).await;

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    assert_eq!(client.command("MAIL FROM:<alice@example.com>").await.code, 250);
    let rejected = client.command("RCPT TO:<nobody@unknown.test>").await;
    assert_eq!(rejected.code, 550, "{rejected:?}");
    assert!(rejected.text.starts_with("5.1.1 recipient rejected by the next hop: 550"), "{rejected:?}");
    assert_eq!(client.command("RCPT TO:<bob@example.org>").await.code, 250);
    assert_eq!(client.command("DATA").await.code, 354);
    assert_eq!(client.command("Subject: x\r\n\r\nhi\r\n.").await.code, 250);

    let delivered = next_hop.next_message().await;
    assert_eq!(delivered.rcpt_to, ["bob@example.org"]);
    assert!(!next_hop.has_message(Duration::from_millis(200)).await, "the probe must not deliver anything");
    gateway.shutdown().await;
}

#[tokio::test]
async fn lookahead_accepts_while_next_hop_down() {
    let data_dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed: SocketAddr = listener.local_addr().unwrap();
    drop(listener);
    let mut config = config(data_dir.path(), closed, vec![shipped_rule("secure-storage")]);
    config.smtp.recipient_lookahead = mailgate::LookaheadMode::NextHop;
    let gateway = start_gateway(config).await;

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    assert_eq!(client.command("MAIL FROM:<alice@example.com>").await.code, 250);
    let reply = client.command("RCPT TO:<bob@example.org>").await;

    assert_eq!(reply.code, 250, "{reply:?}");
    gateway.shutdown().await;
}
