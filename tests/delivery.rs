//! Delivery to several relays and with STARTTLS, over real SMTP on
//! loopback: failover past a relay that is down, round robin between two
//! relays, and the three outbound TLS modes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use mailgate::{BalanceConfig, Config, OutboundTlsConfig, RunningGateway};
use mailgate_history::{HistoryQuery, Outcome, RecordKey};
use mailgate_smtp::TlsConfig;
use mailgate_tests::{SmtpSink, before_queue_config, sample, send_message, shipped_rule, start_gateway};

/// Returns a loopback port with nothing listening on it.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    address
}

/// Builds a gateway configuration that delivers to `relays` in before-queue
/// mode, so the reply to DATA shows the outcome of the delivery.
fn relays_config(data_dir: &Path, relays: &[SocketAddr]) -> Config {
    let mut config = before_queue_config(data_dir, relays[0], vec![shipped_rule("secure-storage")]);
    config.delivery.relay = None;
    config.delivery.relays = relays.iter().map(ToString::to_string).collect();
    config
}

/// Writes the certificate of `tls` as a PEM file into `directory`.
fn write_certificate(tls: &TlsConfig, directory: &Path) -> PathBuf {
    let der = tls.certificate_chain()[0].as_ref();
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");

    let path = directory.join("relay-ca.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

/// Sends a message through `gateway` and checks that `sink` received it.
async fn assert_delivered(gateway: &RunningGateway, sink: &SmtpSink) {
    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;

    assert_eq!(reply.code, 250, "{reply:?}");
    assert_eq!(sink.next_message().await.rcpt_to, ["bob@example.org"]);
}

#[tokio::test]
async fn failover_skips_relay_that_is_down() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let gateway = start_gateway(relays_config(data_dir.path(), &[closed_port().await, sink.address])).await;

    assert_delivered(&gateway, &sink).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn round_robin_alternates_relays() {
    let data_dir = tempfile::tempdir().unwrap();
    let first = SmtpSink::start().await;
    let second = SmtpSink::start().await;
    let mut config = relays_config(data_dir.path(), &[first.address, second.address]);
    config.delivery.balance = BalanceConfig::RoundRobin;
    let gateway = start_gateway(config).await;

    for _ in 0..4 {
        let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;
        assert_eq!(reply.code, 250, "{reply:?}");
    }

    for sink in [&first, &second] {
        sink.next_message().await;
        sink.next_message().await;
        assert!(!sink.has_message(Duration::from_millis(100)).await, "a relay got more than its share");
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn required_tls_with_trusted_certificate_delivers() {
    let data_dir = tempfile::tempdir().unwrap();
    let tls = TlsConfig::self_signed("127.0.0.1").unwrap();
    let ca_bundle = write_certificate(&tls, data_dir.path());
    let sink = SmtpSink::start_with_tls(tls).await;
    let mut config = relays_config(data_dir.path(), &[sink.address]);
    config.delivery.tls = OutboundTlsConfig::Required;
    config.delivery.tls_ca_bundle = Some(ca_bundle);
    let gateway = start_gateway(config).await;

    assert_delivered(&gateway, &sink).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn required_tls_without_starttls_defers() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut config = relays_config(data_dir.path(), &[sink.address]);
    config.delivery.tls = OutboundTlsConfig::Required;
    let gateway = start_gateway(config).await;

    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;

    assert_eq!(reply.code, 451, "{reply:?}");
    assert!(!sink.has_message(Duration::from_millis(200)).await);
    let history = gateway.history().unwrap();
    let failures = history.query(HistoryQuery::default()).await.unwrap();
    let record = history.get(RecordKey::Id(failures[0].id)).await.unwrap().unwrap();
    let Outcome::TemporaryFailure { reason } = record.outcome else { panic!("{:?}", record.outcome) };
    assert!(reason.contains("does not offer STARTTLS"), "{reason}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn required_tls_rejects_untrusted_certificate() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start_with_tls(TlsConfig::self_signed("127.0.0.1").unwrap()).await;
    let mut config = relays_config(data_dir.path(), &[sink.address]);
    config.delivery.tls = OutboundTlsConfig::Required;
    let gateway = start_gateway(config).await;

    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;

    assert_eq!(reply.code, 451, "{reply:?}");
    assert!(!sink.has_message(Duration::from_millis(200)).await);
    gateway.shutdown().await;
}

#[tokio::test]
async fn opportunistic_tls_accepts_self_signed_relay() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start_with_tls(TlsConfig::self_signed("relay.test").unwrap()).await;
    let gateway = start_gateway(relays_config(data_dir.path(), &[sink.address])).await;

    assert_delivered(&gateway, &sink).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn relay_restart_between_messages_delivers_both() {
    let data_dir = tempfile::tempdir().unwrap();
    let first = SmtpSink::start().await;
    let address = first.address;
    let gateway = start_gateway(relays_config(data_dir.path(), &[address])).await;
    assert_delivered(&gateway, &first).await;

    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = SmtpSink::start_on(address).await;

    assert_delivered(&gateway, &second).await;
    assert_delivered(&gateway, &second).await;
    gateway.shutdown().await;
}
