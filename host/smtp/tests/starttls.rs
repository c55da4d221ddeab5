//! STARTTLS against a real rustls client that trusts the server's generated
//! self-signed certificate.

mod common;

use std::sync::Arc;

use common::{Client, TestServer};
use mailgate_smtp::{SmtpServerConfig, TlsConfig};
use rustls::RootCertStore;
use rustls_pki_types::ServerName;
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

const HOSTNAME: &str = "mx.test.example";

async fn start_tls_server(require_tls: bool) -> (TestServer, TlsConfig) {
    let tls = TlsConfig::self_signed(HOSTNAME).expect("generate certificate");
    let config = SmtpServerConfig {
        tls: Some(tls.clone()),
        require_tls,
        ..SmtpServerConfig::default()
    };

    (TestServer::start(config).await, tls)
}

/// Runs the client side of the handshake on the client's TCP stream,
/// trusting only the server's own certificate.
async fn handshake(client: Client, tls: &TlsConfig) -> Client<TlsStream<TcpStream>> {
    assert!(
        client.stream.buffer().is_empty(),
        "server sent bytes after the 220 reply to STARTTLS"
    );
    let tcp = client.stream.into_inner();

    let mut roots = RootCertStore::empty();
    roots
        .add(tls.certificate_chain()[0].clone())
        .expect("trust the server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(client_config));
    let server_name = ServerName::try_from(HOSTNAME).expect("server name");

    let stream = connector
        .connect(server_name, tcp)
        .await
        .expect("TLS handshake");
    Client {
        stream: BufReader::new(stream),
    }
}

#[tokio::test]
async fn starttls_full_transaction() {
    let (server, tls) = start_tls_server(false).await;
    let mut client = server.connect().await;

    let ehlo = client.command("EHLO client.test.example").await;
    assert!(ehlo.ends_with("\n250 STARTTLS"), "EHLO before TLS: {ehlo}");
    assert_eq!(
        client.command("STARTTLS").await,
        "220 2.0.0 Ready to start TLS"
    );
    let mut client = handshake(client, &tls).await;

    let ehlo = client.command("EHLO client.test.example").await;
    assert!(!ehlo.contains("STARTTLS"), "EHLO after TLS: {ehlo}");
    assert_eq!(
        client.command("STARTTLS").await,
        "503 5.5.1 TLS already active"
    );
    let reply = client
        .send_message(b"Subject: secret\r\n\r\nover TLS\r\n")
        .await;
    assert_eq!(reply, "250 2.0.0 OK queued as Q1");
    assert_eq!(
        client.command("QUIT").await,
        "221 2.0.0 mx.test.example closing connection"
    );

    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].helo, "client.test.example");
    assert_eq!(messages[0].data, b"Subject: secret\r\n\r\nover TLS\r\n");

    server.stop().await;
}

#[tokio::test]
async fn commands_pipelined_behind_starttls_discarded() {
    let (server, tls) = start_tls_server(false).await;
    let mut client = server.connect().await;

    client
        .send(b"EHLO client.test.example\r\nSTARTTLS\r\nMAIL FROM:<evil@test.example>\r\nRCPT TO:<victim@test.example>\r\n")
        .await;
    let ehlo = client.read_reply().await;
    assert!(ehlo.starts_with("250-mx.test.example"), "EHLO: {ehlo}");
    assert_eq!(client.read_reply().await, "220 2.0.0 Ready to start TLS");
    let mut client = handshake(client, &tls).await;

    // The server forgot the EHLO name and never ran the pipelined MAIL.
    assert_eq!(
        client.command("MAIL FROM:<sender@test.example>").await,
        "503 5.5.1 send EHLO or HELO first"
    );
    assert!(
        client
            .command("EHLO client.test.example")
            .await
            .starts_with("250-")
    );
    assert_eq!(
        client.command("RCPT TO:<rcpt@test.example>").await,
        "503 5.5.1 send MAIL first"
    );
    assert_eq!(
        client.send_message(b"Subject: ok\r\n\r\nbody\r\n").await,
        "250 2.0.0 OK queued as Q1"
    );

    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].mail_from, "sender@test.example");
    assert_eq!(messages[0].rcpt_to, ["rcpt@test.example"]);

    server.stop().await;
}

#[tokio::test]
async fn require_tls_rejects_plain_mail() {
    let (server, tls) = start_tls_server(true).await;
    let mut client = server.connect_ehlo().await;

    assert_eq!(
        client.command("MAIL FROM:<sender@test.example>").await,
        "530 5.7.0 Must issue a STARTTLS command first"
    );
    assert_eq!(
        client.command("STARTTLS").await,
        "220 2.0.0 Ready to start TLS"
    );
    let mut client = handshake(client, &tls).await;
    assert!(
        client
            .command("EHLO client.test.example")
            .await
            .starts_with("250-")
    );

    assert_eq!(
        client.send_message(b"Subject: ok\r\n\r\nbody\r\n").await,
        "250 2.0.0 OK queued as Q1"
    );

    server.stop().await;
}

#[tokio::test]
async fn failed_handshake_closes_connection() {
    let (server, _tls) = start_tls_server(false).await;
    let mut client = server.connect_ehlo().await;

    assert_eq!(
        client.command("STARTTLS").await,
        "220 2.0.0 Ready to start TLS"
    );
    client.send(b"this is not a TLS client hello\r\n").await;
    client.expect_closed_or_reset().await;

    // The server still serves new connections.
    let mut next = server.connect_ehlo().await;
    assert_eq!(next.command("NOOP").await, "250 2.0.0 OK");

    server.stop().await;
}

#[tokio::test]
async fn starttls_not_offered_without_certificate() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;

    let ehlo = client.command("EHLO client.test.example").await;

    assert!(!ehlo.contains("STARTTLS"), "EHLO: {ehlo}");
    assert_eq!(
        client.command("STARTTLS").await,
        "502 5.5.1 command not implemented"
    );

    server.stop().await;
}
