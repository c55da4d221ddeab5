//! End-to-end tests: a real `SmtpServer` on 127.0.0.1 with a recording
//! handler, driven over TCP the way an SMTP client would.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{Client, TestServer};
use mailgate_smtp::{Outcome, SmtpServerConfig};
use tokio::io::BufReader;
use tokio::net::TcpStream;

#[tokio::test]
async fn full_transaction() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;

    let ehlo = client.command("EHLO client.test.example").await;
    assert_eq!(
        ehlo,
        "250-mx.test.example\n250-SIZE 26214400\n250-8BITMIME\n250-PIPELINING\n250 ENHANCEDSTATUSCODES"
    );
    assert_eq!(
        client
            .command("MAIL FROM:<sender@test.example> SIZE=100 BODY=8BITMIME")
            .await,
        "250 2.1.0 sender OK"
    );
    assert_eq!(
        client.command("RCPT TO:<one@test.example>").await,
        "250 2.1.5 recipient OK"
    );
    assert_eq!(
        client.command("rcpt to:<two@test.example>").await,
        "250 2.1.5 recipient OK"
    );
    assert_eq!(
        client.command("DATA").await,
        "354 End data with <CR><LF>.<CR><LF>"
    );
    client
        .send(b"Subject: hello\r\n\r\nbody text\r\n.\r\n")
        .await;
    assert_eq!(client.read_reply().await, "250 2.0.0 OK queued as Q1");
    assert_eq!(
        client.command("QUIT").await,
        "221 2.0.0 mx.test.example closing connection"
    );
    client.expect_closed().await;

    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.helo, "client.test.example");
    assert_eq!(message.mail_from, "sender@test.example");
    assert_eq!(message.rcpt_to, ["one@test.example", "two@test.example"]);
    assert_eq!(message.data, b"Subject: hello\r\n\r\nbody text\r\n");
    assert_eq!(message.client_address, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert!(!message.session_id.to_string().is_empty());

    server.stop().await;
}

#[tokio::test]
async fn pipelined_commands() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;

    client
        .send(b"MAIL FROM:<>\r\nRCPT TO:<a@test.example>\r\nRCPT TO:<b@test.example>\r\nNOOP\r\nDATA\r\n")
        .await;
    let mut replies = Vec::new();
    for _ in 0..5 {
        replies.push(client.read_reply().await);
    }
    client.send(b"line\r\n.\r\nRSET\r\nQUIT\r\n").await;
    replies.push(client.read_reply().await);
    replies.push(client.read_reply().await);
    replies.push(client.read_reply().await);

    assert_eq!(
        replies,
        [
            "250 2.1.0 sender OK",
            "250 2.1.5 recipient OK",
            "250 2.1.5 recipient OK",
            "250 2.0.0 OK",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 OK queued as Q1",
            "250 2.0.0 OK",
            "221 2.0.0 mx.test.example closing connection",
        ]
    );
    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].mail_from, "");
    assert_eq!(messages[0].data, b"line\r\n");

    server.stop().await;
}

#[tokio::test]
async fn handler_failure_outcomes() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;

    server.handler.set_outcome(Outcome::TemporaryFailure {
        reason: "scanner unavailable".to_string(),
    });
    assert_eq!(
        client.send_message(b"first\r\n").await,
        "451 4.3.0 scanner unavailable"
    );

    server.handler.set_outcome(Outcome::PermanentFailure {
        reason: "virus found\r\n250 2.0.0 forged".to_string(),
    });
    assert_eq!(
        client.send_message(b"second\r\n").await,
        "550 5.7.1 virus found  250 2.0.0 forged"
    );

    server.handler.set_outcome(Outcome::Accepted {
        queue_id: "Q3".to_string(),
    });
    assert_eq!(
        client.send_message(b"third\r\n").await,
        "250 2.0.0 OK queued as Q3"
    );
    assert_eq!(server.handler.messages().len(), 3);

    server.stop().await;
}

#[tokio::test]
async fn dot_stuffed_body_unstuffed() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;

    let reply = client
        .send_message(b"..leading dot\r\n...\r\nmiddle . dot\r\n")
        .await;

    assert_eq!(reply, "250 2.0.0 OK queued as Q1");
    let messages = server.handler.messages();
    assert_eq!(messages[0].data, b".leading dot\r\n..\r\nmiddle . dot\r\n");

    server.stop().await;
}

#[tokio::test]
async fn smuggled_end_stays_in_body() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;
    let body = b"first\n.\nMAIL FROM:<evil@test.example>\r\nRCPT TO:<victim@test.example>\r\nDATA\r\nsmuggled\r\n";

    let reply = client.send_message(body).await;

    assert_eq!(reply, "250 2.0.0 OK queued as Q1");
    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].data, body);

    server.stop().await;
}

#[tokio::test]
async fn oversized_message_then_next_transaction() {
    let config = SmtpServerConfig {
        max_message_size: 1000,
        ..SmtpServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let mut client = server.connect_ehlo().await;
    let big_body = b"0123456789012345678901234567890123456789\r\n".repeat(200);

    let oversized = client.send_message(&big_body).await;
    let next = client.send_message(b"small\r\n").await;

    assert_eq!(
        oversized,
        "552 5.3.4 message exceeds the maximum size of 1000 bytes"
    );
    assert_eq!(next, "250 2.0.0 OK queued as Q1");
    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].data, b"small\r\n");

    server.stop().await;
}

#[tokio::test]
async fn declared_size_over_limit() {
    let config = SmtpServerConfig {
        max_message_size: 1000,
        ..SmtpServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let mut client = server.connect_ehlo().await;

    let reply = client.command("MAIL FROM:<a@test.example> SIZE=1001").await;

    assert_eq!(
        reply,
        "552 5.3.4 message exceeds the maximum size of 1000 bytes"
    );

    server.stop().await;
}

#[tokio::test]
async fn bad_sequence_replies() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;

    assert_eq!(
        client.command("MAIL FROM:<a@test.example>").await,
        "503 5.5.1 send EHLO or HELO first"
    );
    assert_eq!(
        client.command("HELO client.test.example").await,
        "250 mx.test.example"
    );
    assert_eq!(
        client.command("RCPT TO:<b@test.example>").await,
        "503 5.5.1 send MAIL first"
    );
    assert_eq!(client.command("DATA").await, "503 5.5.1 send RCPT first");
    assert_eq!(
        client.command("MAIL FROM:<a@test.example>").await,
        "250 2.1.0 sender OK"
    );
    assert_eq!(
        client.command("MAIL FROM:<a@test.example>").await,
        "503 5.5.1 nested MAIL command"
    );
    assert_eq!(client.command("DATA").await, "503 5.5.1 send RCPT first");

    server.stop().await;
}

#[tokio::test]
async fn rejected_commands_and_parameters() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;

    assert_eq!(
        client.command("STARTTLS").await,
        "502 5.5.1 command not implemented"
    );
    client.send(b"BDAT 10 LAST\r\nXYZZY\r\nRSE").await;
    assert_eq!(
        client.read_reply().await,
        "502 5.5.1 command not implemented, CHUNKING is not offered, use DATA"
    );
    assert_eq!(
        client.command("XYZZY").await,
        "500 5.5.2 command not recognized"
    );
    assert_eq!(
        client.command("MAIL FROM:<a@test.example> SMTPUTF8").await,
        "555 5.5.4 unsupported parameter SMTPUTF8"
    );
    assert_eq!(
        client.command("MAIL FROM:a@test.example").await,
        "501 5.5.4 invalid syntax: address must be enclosed in angle brackets"
    );
    assert!(client.command("VRFY someone").await.starts_with("252 "));
    assert!(client.command("HELP").await.starts_with("214 "));
    assert_eq!(
        client.command(&format!("NOOP {}", "x".repeat(5000))).await,
        "500 5.5.2 line too long"
    );
    assert_eq!(client.command("NOOP").await, "250 2.0.0 OK");

    server.stop().await;
}

#[tokio::test]
async fn idle_client_times_out() {
    let config = SmtpServerConfig {
        command_timeout: Duration::from_millis(200),
        ..SmtpServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let mut client = server.connect().await;

    let reply = client.read_reply().await;

    assert_eq!(
        reply,
        "421 4.4.2 mx.test.example timeout, closing connection"
    );
    client.expect_closed().await;

    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_idle_sessions() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;
    let address = server.address;

    server.stop().await;
    let reply = client.read_reply().await;

    assert_eq!(reply, "421 4.3.2 mx.test.example service shutting down");
    client.expect_closed().await;
    assert!(
        TcpStream::connect(address).await.is_err(),
        "listener still open after shutdown"
    );
}

#[tokio::test]
async fn connection_limit_rejects_extra_client() {
    let config = SmtpServerConfig {
        max_connections: 1,
        ..SmtpServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let _first = server.connect().await;

    let mut second = Client {
        stream: BufReader::new(TcpStream::connect(server.address).await.unwrap()),
    };
    let reply = second.read_reply().await;

    assert_eq!(
        reply,
        "421 4.3.2 mx.test.example too many connections, try again later"
    );
    second.expect_closed().await;

    server.stop().await;
}

#[tokio::test]
async fn client_limit_rejects_extra_connection() {
    let config = SmtpServerConfig {
        max_connections_per_client: 2,
        ..SmtpServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let _first = server.connect().await;
    let second = server.connect().await;

    let mut third = Client {
        stream: BufReader::new(TcpStream::connect(server.address).await.unwrap()),
    };
    let reply = third.read_reply().await;

    assert_eq!(
        reply,
        "421 4.7.0 mx.test.example too many connections from your address, try again later"
    );
    third.expect_closed().await;

    // The place is free once the server has seen the close, so retry a few
    // times instead of racing it.
    drop(second);
    let mut greeting = String::new();
    for _ in 0..50 {
        let mut retry = Client {
            stream: BufReader::new(TcpStream::connect(server.address).await.unwrap()),
        };
        greeting = retry.read_reply().await;
        if greeting.starts_with("220 ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(greeting, "220 mx.test.example ESMTP mailgate");

    server.stop().await;
}
