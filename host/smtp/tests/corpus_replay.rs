//! Replays the SMTP dialogues of the corpus of hard cases
//! (`tests/corpus/*.smtp` at the repository root) against a real server. The
//! checks: exact dot-unstuffing (24), BDAT rejected with its chunks skipped
//! (25, 25b), bounded long lines and header bombs (26), UTF-8 addresses
//! rejected with X.6.7 without SMTPUTF8 (27, 27b) and bare LF data (28).

mod common;

use std::path::PathBuf;

use common::{Client, READ_TIMEOUT, TestServer};
use mailgate_smtp::SmtpServerConfig;
use tokio::io::AsyncBufReadExt;

fn corpus_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(name);

    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// Reads replies until the server closes the connection. The lines of a
/// multi-line reply are joined with "\n".
async fn replies_until_close(client: &mut Client) -> Vec<String> {
    let mut replies = Vec::new();
    let mut current = Vec::new();

    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(READ_TIMEOUT, client.stream.read_line(&mut line)).await;
        let count = read.expect("reply within timeout").expect("read reply");
        if count == 0 {
            assert!(current.is_empty(), "connection closed inside a reply");
            return replies;
        }

        let line = line.trim_end_matches("\r\n").to_string();
        let last = line.as_bytes().get(3) != Some(&b'-');
        current.push(line);
        if last {
            replies.push(current.join("\n"));
            current.clear();
        }
    }
}

/// Returns the three-digit codes of `replies`.
fn codes(replies: &[String]) -> Vec<&str> {
    replies.iter().map(|reply| &reply[..3]).collect()
}

/// Returns `dialogue` without its final `QUIT` line.
fn without_quit(dialogue: &[u8]) -> &[u8] {
    dialogue
        .strip_suffix(b"QUIT\r\n")
        .expect("dialogue ends with QUIT")
}

#[tokio::test]
async fn dot_stuffing_case_24() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;

    client.send(&corpus_file("24-smtp-dot-stuffing.smtp")).await;
    let replies = replies_until_close(&mut client).await;

    assert_eq!(codes(&replies), ["250", "250", "250", "354", "250", "221"]);
    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].mail_from, "docs@example.com");
    assert_eq!(messages[0].rcpt_to, ["user@example.org"]);
    assert!(
        messages[0].data == corpus_file("24-smtp-dot-stuffing.eml"),
        "recorded data differs from 24-smtp-dot-stuffing.eml:\n{}",
        String::from_utf8_lossy(&messages[0].data)
    );

    server.stop().await;
}

#[tokio::test]
async fn bdat_chunks_case_25() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;
    let dialogue = corpus_file("25-smtp-bdat-chunking.smtp");

    client.send(without_quit(&dialogue)).await;
    let mut replies = Vec::new();
    for _ in 0..5 {
        replies.push(client.read_reply().await);
    }

    assert!(!replies[0].contains("CHUNKING"), "EHLO: {}", replies[0]);
    assert_eq!(codes(&replies), ["250", "250", "250", "502", "502"]);
    assert_eq!(
        replies[3],
        "502 5.5.1 command not implemented, CHUNKING is not offered, use DATA"
    );

    // The chunks were skipped, so the session is in sync and usable.
    assert_eq!(client.command("RSET").await, "250 2.0.0 OK");
    assert_eq!(
        client
            .send_message(b"Subject: after BDAT\r\n\r\nbody\r\n")
            .await,
        "250 2.0.0 OK queued as Q1"
    );
    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].data, b"Subject: after BDAT\r\n\r\nbody\r\n");

    server.stop().await;
}

#[tokio::test]
async fn bdat_before_mail_case_25b() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;

    client.send(&corpus_file("25b-bdat-before-mail.smtp")).await;
    let replies = replies_until_close(&mut client).await;

    assert_eq!(codes(&replies), ["250", "502", "250", "221"]);
    assert_eq!(
        replies[1],
        "502 5.5.1 command not implemented, CHUNKING is not offered, use DATA"
    );
    assert!(server.handler.messages().is_empty());

    server.stop().await;
}

/// Sends the commands of a dialogue up to DATA as one pipelined group, the
/// way RFC 2920 clients do, and returns their replies.
async fn replay_until_data(client: &mut Client, dialogue: &[u8]) -> Vec<String> {
    let data_end = dialogue
        .windows(6)
        .position(|window| window == b"DATA\r\n")
        .map(|start| start + 6)
        .unwrap_or(dialogue.len());
    let group = &dialogue[..data_end];
    let commands = group
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .count();

    client.send(group).await;
    let mut replies = Vec::new();
    for _ in 0..commands {
        replies.push(client.read_reply().await);
    }
    replies
}

#[tokio::test]
async fn utf8_addresses_case_27() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;

    let replies = replay_until_data(
        &mut client,
        &corpus_file("27-smtputf8-and-8bit-headers.smtp"),
    )
    .await;

    assert!(!replies[0].contains("SMTPUTF8"), "EHLO: {}", replies[0]);
    assert_eq!(
        replies[1],
        "553 5.6.7 non-ASCII address requires SMTPUTF8, which this server does not offer"
    );
    assert_eq!(replies[2], replies[1], "RCPT with a UTF-8 address");
    assert_eq!(replies[3], "503 5.5.1 send RCPT first");
    assert_eq!(
        client.command("QUIT").await,
        "221 2.0.0 mx.test.example closing connection"
    );
    assert!(server.handler.messages().is_empty());

    server.stop().await;
}

/// The whole dialogue of case 27 in one write, data included, although DATA
/// was rejected: the message lines are read as commands and rejected, and
/// the session ends cleanly without accepting a message.
#[tokio::test]
async fn utf8_addresses_case_27_fully_pipelined() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;

    client
        .send(&corpus_file("27-smtputf8-and-8bit-headers.smtp"))
        .await;
    let replies = replies_until_close(&mut client).await;

    assert_eq!(codes(&replies)[..4], ["250", "553", "553", "503"]);
    let last = replies.last().expect("at least one reply");
    assert!(
        last.starts_with("221 ") || last.starts_with("421 4.7.0"),
        "last reply: {last}"
    );
    assert!(server.handler.messages().is_empty());

    server.stop().await;
}

#[tokio::test]
async fn utf8_sender_case_27b() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect().await;

    client
        .send(&corpus_file("27b-utf8-address-without-smtputf8.smtp"))
        .await;
    let replies = replies_until_close(&mut client).await;

    assert_eq!(codes(&replies), ["250", "553", "503", "221"]);
    assert!(replies[1].starts_with("553 5.6.7 "), "MAIL: {}", replies[1]);

    server.stop().await;
}

#[tokio::test]
async fn long_lines_case_26_accepted() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;
    let message = corpus_file("26-long-lines-and-huge-headers.eml");
    let longest_line = message
        .split(|&b| b == b'\n')
        .map(<[u8]>::len)
        .max()
        .unwrap();
    assert!(
        longest_line > 998,
        "the case must have lines over 998 octets"
    );

    let reply = client.send_message(&message).await;

    assert_eq!(reply, "250 2.0.0 OK queued as Q1");
    assert!(server.handler.messages()[0].data == message);

    server.stop().await;
}

/// Builds a message whose header block is about 1.5 MiB, like the header
/// bomb of the case 26 generator: thousands of recipients and filler fields.
fn header_bomb() -> Vec<u8> {
    let recipients: Vec<String> = (0..5000).map(|i| format!("user{i}@example.org")).collect();
    let mut message = format!(
        "From: sender@example.com\r\nTo: {}\r\n",
        recipients.join(",\r\n ")
    );
    for i in 0..15_000 {
        message.push_str(&format!("X-Filler-{i}: {}\r\n", "y".repeat(60)));
    }
    message.push_str("Subject: header bomb\r\nMessage-ID: <bomb-26@example.com>\r\n\r\nbody\r\n");
    message.into_bytes()
}

#[tokio::test]
async fn header_bomb_case_26_rejected() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;
    let bomb = header_bomb();
    assert!(bomb.len() > 1024 * 1024);

    let rejected = client.send_message(&bomb).await;
    let next = client.send_message(b"Subject: small\r\n\r\nbody\r\n").await;

    assert_eq!(
        rejected,
        "552 5.3.4 message header exceeds the maximum size of 1048576 bytes"
    );
    assert_eq!(next, "250 2.0.0 OK queued as Q1");
    let messages = server.handler.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].data, b"Subject: small\r\n\r\nbody\r\n");

    server.stop().await;
}

#[tokio::test]
async fn huge_line_case_26_rejected() {
    let server = TestServer::start(SmtpServerConfig::default()).await;
    let mut client = server.connect_ehlo().await;
    let mut message =
        b"From: sender@example.com\r\nSubject: 5 MiB line\r\nMessage-ID: <line-26@example.com>\r\n\r\n"
            .to_vec();
    message.extend(std::iter::repeat_n(b'z', 5 * 1024 * 1024));
    message.extend_from_slice(b"\r\n");

    let rejected = client.send_message(&message).await;
    let next = client.send_message(b"Subject: small\r\n\r\nbody\r\n").await;

    assert_eq!(
        rejected,
        "554 5.6.0 message contains a line longer than 1048576 bytes"
    );
    assert_eq!(next, "250 2.0.0 OK queued as Q1");
    assert_eq!(server.handler.messages().len(), 1);

    server.stop().await;
}

/// Case 28 is written with bare LF line ends. Sent three times in one
/// message it is over 1000 bytes without a single CR LF, and still passes the
/// smallest DATA line limit because a bare LF ends a line for that limit.
/// The bytes are kept as sent.
#[tokio::test]
async fn bare_lf_case_28_accepted() {
    let config = SmtpServerConfig {
        max_data_line_length: 1000,
        ..SmtpServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let mut client = server.connect_ehlo().await;
    let message = corpus_file("28-bare-lf-and-missing-blank-line.eml");
    assert!(!message.contains(&b'\r'));

    let mut body = message.repeat(3);
    body.extend_from_slice(b"\r\n");
    assert!(body.len() > 1000);
    let reply = client.send_message(&body).await;

    assert_eq!(reply, "250 2.0.0 OK queued as Q1");
    assert!(server.handler.messages()[0].data == body);

    server.stop().await;
}
