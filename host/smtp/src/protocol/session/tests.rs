use super::*;
use crate::protocol::relay::{DomainPattern, RelayPolicy};

fn config() -> SessionConfig {
    SessionConfig {
        hostname: "mx.test".to_string(),
        max_message_size: 100,
        max_recipients: 2,
        max_line_length: 64,
        max_header_size: 60,
        max_data_line_length: 40,
        starttls: false,
        require_tls: false,
        relay: RelayPolicy::default(),
        verify_recipients: false,
    }
}

fn tls_config() -> SessionConfig {
    SessionConfig {
        starttls: true,
        ..config()
    }
}

/// Feeds `input` and returns the reply lines and messages until the session
/// needs more input. Each message is completed right away.
fn run(session: &mut Session, input: &[u8]) -> (Vec<String>, Vec<CompletedMessage>) {
    let mut replies = Vec::new();
    let mut messages = Vec::new();

    session.receive(input);
    while let Some(event) = session.next_event() {
        match event {
            Event::Reply(reply) => replies.push(reply.to_string()),
            Event::Message(message) => {
                messages.push(message);
                session.complete_message();
            }
            Event::Close => replies.push("<close>".to_string()),
            Event::StartTls => replies.push("<starttls>".to_string()),
            Event::VerifyRecipient(request) => replies.push(format!("<verify {}>", request.recipient)),
            Event::RelayDenied { reply, .. } | Event::MessageRejected { reply, .. } => replies.push(reply.to_string()),
        }
    }

    (replies, messages)
}

fn codes(replies: &[String]) -> Vec<&str> {
    replies
        .iter()
        .map(|reply| reply.get(..3).unwrap_or(reply))
        .collect()
}

#[test]
fn greeting_names_host() {
    let session = Session::new(config());

    assert_eq!(session.greeting().to_string(), "220 mx.test ESMTP mailgate");
}

#[test]
fn ehlo_advertises_extensions() {
    let mut session = Session::new(config());

    let (replies, _) = run(&mut session, b"EHLO client.test\r\n");

    assert_eq!(
        replies,
        [
            "250-mx.test\r\n250-SIZE 100\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES"
        ]
    );
}

#[test]
fn full_transaction() {
    let mut session = Session::new(config());
    let input = b"HELO client.test\r\nMAIL FROM:<a@test.example>\r\nRCPT TO:<b@test.example>\r\n\
                  RCPT TO:<c@test.example>\r\nDATA\r\n..hi\r\n.\r\nQUIT\r\n";

    let (replies, messages) = run(&mut session, input);

    assert_eq!(
        replies,
        [
            "250 mx.test",
            "250 2.1.0 sender OK",
            "250 2.1.5 recipient OK",
            "250 2.1.5 recipient OK",
            "354 End data with <CR><LF>.<CR><LF>",
            "221 2.0.0 mx.test closing connection",
            "<close>",
        ]
    );
    assert_eq!(
        messages,
        [CompletedMessage {
            helo: "client.test".to_string(),
            mail_from: "a@test.example".to_string(),
            rcpt_to: vec!["b@test.example".to_string(), "c@test.example".to_string()],
            data: b".hi\r\n".to_vec(),
        }]
    );
}

#[test]
fn waits_for_outcome_before_next_command() {
    let mut session = Session::new(config());
    session.receive(
        b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@test.example>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n",
    );

    let mut events = Vec::new();
    while let Some(event) = session.next_event() {
        events.push(event);
    }

    assert!(matches!(events.last(), Some(Event::Message(_))));
    assert_eq!(session.next_event(), None);

    session.complete_message();
    assert_eq!(
        session.next_event(),
        Some(Event::Reply(Reply::new(250, "2.0.0", "OK")))
    );
}

#[test]
fn bad_sequence_replies() {
    let cases: [(&[u8], &str); 6] = [
        (
            b"MAIL FROM:<a@test.example>\r\n",
            "503 5.5.1 send EHLO or HELO first",
        ),
        (
            b"HELO c\r\nRCPT TO:<b@test.example>\r\n",
            "503 5.5.1 send MAIL first",
        ),
        (b"HELO c\r\nDATA\r\n", "503 5.5.1 send RCPT first"),
        (
            b"HELO c\r\nMAIL FROM:<>\r\nDATA\r\n",
            "503 5.5.1 send RCPT first",
        ),
        (
            b"HELO c\r\nMAIL FROM:<>\r\nMAIL FROM:<>\r\n",
            "503 5.5.1 nested MAIL command",
        ),
        (
            b"HELO c\r\nMAIL FROM:<>\r\nRSET\r\nRCPT TO:<b@test.example>\r\n",
            "503 5.5.1 send MAIL first",
        ),
    ];

    for (input, expected) in cases {
        let mut session = Session::new(config());
        let (replies, _) = run(&mut session, input);

        let label = String::from_utf8_lossy(input);
        assert_eq!(
            replies.last().map(String::as_str),
            Some(expected),
            "input {label:?}"
        );
    }
}

#[test]
fn ehlo_resets_transaction() {
    let mut session = Session::new(config());

    let (replies, _) = run(
        &mut session,
        b"HELO c\r\nMAIL FROM:<>\r\nHELO c\r\nRCPT TO:<b@test.example>\r\n",
    );

    assert_eq!(
        replies.last().map(String::as_str),
        Some("503 5.5.1 send MAIL first")
    );
}

#[test]
fn parse_errors_map_to_replies() {
    let cases: [(&[u8], &str); 7] = [
        (b"XYZZY\r\n", "500 5.5.2 command not recognized"),
        (
            b"HELO\r\n",
            "501 5.5.4 invalid syntax: domain name required",
        ),
        (
            b"BDAT 0 LAST\r\n",
            "502 5.5.1 command not implemented, CHUNKING is not offered, use DATA",
        ),
        (b"STARTTLS\r\n", "502 5.5.1 command not implemented"),
        (
            b"HELO c\r\nMAIL FROM:<j\xc3\xb6rg@test.example>\r\n",
            "553 5.6.7 non-ASCII address requires SMTPUTF8, which this server does not offer",
        ),
        (
            b"HELO c\r\nMAIL FROM:<a@test.example> SMTPUTF8\r\n",
            "555 5.5.4 unsupported parameter SMTPUTF8",
        ),
        (
            b"VRFY someone\r\n",
            "252 2.0.0 cannot verify the user, but will accept the message",
        ),
    ];

    for (input, expected) in cases {
        let mut session = Session::new(config());
        let (replies, _) = run(&mut session, input);

        let label = String::from_utf8_lossy(input);
        assert_eq!(
            replies.last().map(String::as_str),
            Some(expected),
            "input {label:?}"
        );
    }
}

#[test]
fn declared_size_over_limit() {
    let mut session = Session::new(config());

    let (replies, _) = run(
        &mut session,
        b"EHLO c\r\nMAIL FROM:<a@test.example> SIZE=101\r\nMAIL FROM:<a@test.example> SIZE=100\r\n",
    );

    assert_eq!(
        replies[1],
        "552 5.3.4 message exceeds the maximum size of 100 bytes"
    );
    assert_eq!(replies[2], "250 2.1.0 sender OK");
}

#[test]
fn too_many_recipients() {
    let mut session = Session::new(config());
    let input = b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@t.example>\r\nRCPT TO:<b@t.example>\r\nRCPT TO:<c@t.example>\r\n";

    let (replies, _) = run(&mut session, input);

    assert_eq!(codes(&replies), ["250", "250", "250", "250", "452"]);
    assert_eq!(replies[4], "452 4.5.3 too many recipients");
}

#[test]
fn oversized_message_then_next_transaction() {
    let mut session = Session::new(config());
    let mut input = b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@test.example>\r\nDATA\r\n".to_vec();
    // An empty header and short lines, so that only the size limit is exceeded.
    input.extend_from_slice(b"\r\n");
    input.extend_from_slice(&b"xxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n".repeat(7));
    input.extend_from_slice(
        b".\r\nMAIL FROM:<>\r\nRCPT TO:<b@test.example>\r\nDATA\r\nsmall\r\n.\r\n",
    );

    let (replies, messages) = run(&mut session, &input);

    assert_eq!(
        codes(&replies),
        ["250", "250", "250", "354", "552", "250", "250", "354"]
    );
    assert_eq!(
        replies[4],
        "552 5.3.4 message exceeds the maximum size of 100 bytes"
    );
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].data, b"small\r\n");
}

#[test]
fn long_line_keeps_session_in_sync() {
    let mut session = Session::new(config());
    let mut input = b"NOOP ".to_vec();
    input.extend_from_slice(&[b'a'; 200]);
    input.extend_from_slice(b"\r\nNOOP\r\n");

    let (replies, _) = run(&mut session, &input);

    assert_eq!(replies, ["500 5.5.2 line too long", "250 2.0.0 OK"]);
}

#[test]
fn data_split_across_receives() {
    let mut session = Session::new(config());
    let input =
        b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@test.example>\r\nDATA\r\nline\r\n.\r\nNOOP\r\n";
    let mut replies = Vec::new();
    let mut messages = Vec::new();

    for byte in input {
        let (mut new_replies, mut new_messages) = run(&mut session, &[*byte]);
        replies.append(&mut new_replies);
        messages.append(&mut new_messages);
    }

    assert_eq!(codes(&replies), ["250", "250", "250", "354", "250"]);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].data, b"line\r\n");
}

#[test]
fn too_many_errors_closes() {
    let mut session = Session::new(config());
    let input = b"BAD\r\n".repeat(MAX_COMMAND_ERRORS + 5);

    let (replies, _) = run(&mut session, &input);

    assert_eq!(replies.len(), MAX_COMMAND_ERRORS + 1);
    assert_eq!(
        replies[MAX_COMMAND_ERRORS - 1],
        "421 4.7.0 too many errors, closing connection"
    );
    assert_eq!(replies[MAX_COMMAND_ERRORS], "<close>");
}

/// Feeds pseudo-random mixes of SMTP fragments and raw bytes in random
/// pieces. The session must not panic and must keep its buffer bounded.
#[test]
fn random_input_never_panics() {
    let fragments: [&[u8]; 14] = [
        b"EHLO c\r\n",
        b"MAIL FROM:<a@t.example> SIZE=5\r\n",
        b"RCPT TO:<b@t.example>\r\n",
        b"DATA\r\n",
        b"\r\n.\r\n",
        b"..",
        b"\n.\n",
        b"\r",
        b"\n",
        b".",
        b"RSET\r\n",
        b"MAIL FROM:<\"q\\\">\"@t.example>\r\n",
        b"\xff\x00\xc3",
        b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next_random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };

    for _ in 0..200 {
        let mut session = Session::new(config());
        let mut input = Vec::new();
        for _ in 0..60 {
            let index = (next_random() % fragments.len() as u64) as usize;
            input.extend_from_slice(fragments[index]);
        }

        let mut offset = 0;
        while offset < input.len() {
            let piece = 1 + (next_random() % 16) as usize;
            let end = (offset + piece).min(input.len());
            run(&mut session, &input[offset..end]);
            offset = end;

            assert!(session.input.pending().len() < config().max_line_length + 16);
        }
    }
}

#[test]
fn bdat_chunk_skipped() {
    let mut session = Session::new(config());
    let input = b"EHLO c\r\nMAIL FROM:<>\r\nBDAT 9 LAST\r\nMAIL FROMRSET\r\nNOOP\r\n";

    let (replies, messages) = run(&mut session, input);

    assert_eq!(codes(&replies), ["250", "250", "502", "250", "250"]);
    assert!(messages.is_empty());
    assert_eq!(session.buffered(), 0);
}

#[test]
fn bdat_chunk_skipped_across_receives() {
    let mut session = Session::new(config());
    let mut replies = Vec::new();

    for piece in [
        &b"BDAT 23\r\nRCPT "[..],
        b"TO:<b@t.",
        b"example>\r\nNOOP\r\n",
    ] {
        replies.extend(run(&mut session, piece).0);
    }

    assert_eq!(codes(&replies), ["502", "250"]);
}

#[test]
fn starttls_offered_when_configured() {
    let mut session = Session::new(tls_config());

    let (replies, _) = run(&mut session, b"EHLO c\r\nHELP\r\n");

    assert!(replies[0].ends_with("250 STARTTLS"), "{}", replies[0]);
    assert!(replies[1].contains("STARTTLS"), "{}", replies[1]);
}

#[test]
fn starttls_discards_pipelined_commands() {
    let mut session = Session::new(tls_config());

    let (replies, _) = run(
        &mut session,
        b"EHLO c\r\nMAIL FROM:<a@t.example>\r\nSTARTTLS\r\nMAIL FROM:<evil@t.example>\r\nRCPT TO:<b@t.example>\r\n",
    );
    let (late, _) = run(&mut session, b"RCPT TO:<late@t.example>\r\n");

    assert_eq!(replies[2..], ["220 2.0.0 Ready to start TLS", "<starttls>"]);
    assert!(late.is_empty());
    assert_eq!(session.buffered(), 0);
}

#[test]
fn starttls_resets_session() {
    let mut session = Session::new(tls_config());
    run(
        &mut session,
        b"EHLO c\r\nMAIL FROM:<a@t.example>\r\nSTARTTLS\r\n",
    );

    session.tls_started();
    let (replies, _) = run(
        &mut session,
        b"MAIL FROM:<a@t.example>\r\nEHLO c\r\nRCPT TO:<b@t.example>\r\nSTARTTLS\r\n",
    );

    assert!(session.is_tls());
    assert_eq!(replies[0], "503 5.5.1 send EHLO or HELO first");
    assert!(!replies[1].contains("STARTTLS"), "{}", replies[1]);
    assert_eq!(replies[2], "503 5.5.1 send MAIL first");
    assert_eq!(replies[3], "503 5.5.1 TLS already active");
}

#[test]
fn tls_started_ignored_without_starttls() {
    let mut session = Session::new(tls_config());

    session.tls_started();

    assert!(!session.is_tls());
}

#[test]
fn require_tls_rejects_mail() {
    let mut session = Session::new(SessionConfig {
        require_tls: true,
        ..tls_config()
    });

    let (before, _) = run(
        &mut session,
        b"EHLO c\r\nMAIL FROM:<a@t.example>\r\nSTARTTLS\r\n",
    );
    session.tls_started();
    let (after, _) = run(&mut session, b"EHLO c\r\nMAIL FROM:<a@t.example>\r\n");

    assert_eq!(before[1], "530 5.7.0 Must issue a STARTTLS command first");
    assert_eq!(after[1], "250 2.1.0 sender OK");
}

#[test]
fn data_limits_keep_session_in_sync() {
    let start = b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@test.example>\r\nDATA\r\n";
    let long_line = [&b"S: x\r\n\r\n"[..], &[b'z'; 45], b"\r\n.\r\n"].concat();
    let long_header = [
        &b"X-A: "[..],
        &[b'y'; 30],
        b"\r\nX-B: ",
        &[b'y'; 30],
        b"\r\n\r\nbody\r\n.\r\n",
    ]
    .concat();
    let cases: [(&[u8], &str); 2] = [
        (
            &long_line,
            "554 5.6.0 message contains a line longer than 40 bytes",
        ),
        (
            &long_header,
            "552 5.3.4 message header exceeds the maximum size of 60 bytes",
        ),
    ];

    for (data, expected) in cases {
        let mut session = Session::new(config());
        let input = [&start[..], data, b"NOOP\r\n"].concat();

        let (replies, messages) = run(&mut session, &input);

        assert_eq!(replies[4], expected);
        assert_eq!(replies[5], "250 2.0.0 OK");
        assert!(messages.is_empty());
    }
}

fn untrusted_config() -> SessionConfig {
    SessionConfig {
        relay: RelayPolicy {
            accepted_domains: vec![DomainPattern::parse("test.example").unwrap()],
            client_may_relay: false,
        },
        ..config()
    }
}

#[test]
fn untrusted_client_cannot_relay() {
    let mut session = Session::new(untrusted_config());

    let (replies, _) = run(
        &mut session,
        b"EHLO c\r\nMAIL FROM:<a@elsewhere.test>\r\nRCPT TO:<victim@other.test>\r\nRCPT TO:<b@TEST.example>\r\nDATA\r\n",
    );

    assert_eq!(codes(&replies), ["250", "250", "550", "250", "354"]);
    assert!(replies[2].starts_with("550 5.7.1 relaying denied"), "{}", replies[2]);
}

#[test]
fn relay_denials_do_not_close_the_session() {
    let mut session = Session::new(untrusted_config());
    let mut input = b"EHLO c\r\nMAIL FROM:<a@elsewhere.test>\r\n".to_vec();
    for _ in 0..MAX_COMMAND_ERRORS + 5 {
        input.extend_from_slice(b"RCPT TO:<victim@other.test>\r\n");
    }
    input.extend_from_slice(b"NOOP\r\n");

    let (replies, _) = run(&mut session, &input);

    assert_eq!(replies.last().map(String::as_str), Some("250 2.0.0 OK"));
}

#[test]
fn verified_recipients_wait_for_the_verdict() {
    let mut session = Session::new(SessionConfig {
        verify_recipients: true,
        ..untrusted_config()
    });

    let (replies, _) = run(
        &mut session,
        b"EHLO c\r\nMAIL FROM:<a@elsewhere.test>\r\nRCPT TO:<nobody@test.example>\r\nRCPT TO:<b@test.example>\r\n",
    );
    assert_eq!(codes(&replies), ["250", "250", "<ve"]);
    assert_eq!(replies[2], "<verify nobody@test.example>");

    let rejected = session.recipient_verified(RecipientVerdict::Reject {
        reason: "no such user".into(),
    });
    assert_eq!(rejected.unwrap().to_string(), "550 5.1.1 no such user");
    let (replies, _) = run(&mut session, b"");
    assert_eq!(replies, ["<verify b@test.example>"]);

    let accepted = session.recipient_verified(RecipientVerdict::Accept);
    assert_eq!(accepted.unwrap().to_string(), "250 2.1.5 recipient OK");
    assert_eq!(session.recipient_verified(RecipientVerdict::Accept), None);

    let (replies, messages) = run(&mut session, b"DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n");
    assert_eq!(codes(&replies), ["354"]);
    assert_eq!(messages[0].rcpt_to, ["b@test.example"]);
}

#[test]
fn relay_check_comes_before_verification() {
    let mut session = Session::new(SessionConfig {
        verify_recipients: true,
        ..untrusted_config()
    });

    let (replies, _) = run(
        &mut session,
        b"EHLO c\r\nMAIL FROM:<a@elsewhere.test>\r\nRCPT TO:<victim@other.test>\r\n",
    );

    assert_eq!(codes(&replies), ["250", "250", "550"]);
}

#[test]
fn data_in_progress_is_a_growing_prefix() {
    let mut session = Session::new(config());
    run(&mut session, b"HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@test.example>\r\n");
    assert_eq!(session.data_in_progress(), None);

    run(&mut session, b"DATA\r\n");
    let start = session.data_in_progress().unwrap();
    assert_eq!((start.helo, start.mail_from, start.data), ("c", "a@x.test", &b""[..]));
    assert_eq!(start.rcpt_to, ["b@test.example"]);

    let mut seen = Vec::new();
    for piece in [&b"Subject: x\r\n\r\n.."[..], b"dot\r\n.", b"\r", b"x\r\n", b".\r\n"] {
        run(&mut session, piece);
        if let Some(progress) = session.data_in_progress() {
            assert!(progress.data.starts_with(&seen));
            seen = progress.data.to_vec();
        }
    }
    assert_eq!(seen, b"Subject: x\r\n\r\n.dot\r\n\rx\r\n");
    assert_eq!(session.data_in_progress(), None);
}

#[test]
fn data_in_progress_ends_over_limit() {
    let mut session = Session::new(config());
    run(&mut session, b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@test.example>\r\nDATA\r\n\r\n");
    assert!(session.data_in_progress().is_some());

    run(&mut session, &b"xxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n".repeat(4));

    assert_eq!(session.data_in_progress(), None);
    assert!(session.in_data());
}

#[test]
fn quit_told_apart_from_error_close() {
    let mut quitting = Session::new(config());
    let mut failing = Session::new(config());

    run(&mut quitting, b"HELO c\r\nQUIT\r\n");
    let (replies, _) = run(&mut failing, &b"BOGUS\r\n".repeat(MAX_COMMAND_ERRORS));

    assert!(quitting.quit_received());
    assert!(!failing.quit_received());
    assert_eq!(replies.last().map(String::as_str), Some("<close>"));
}

#[test]
fn data_over_limit_reported_with_size() {
    let mut session = Session::new(config());
    run(&mut session, b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@test.example>\r\nDATA\r\n\r\n");

    session.receive(&b"xxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n".repeat(7));
    session.receive(b".\r\n");
    let event = session.next_event();

    let Some(Event::MessageRejected { size, reply }) = event else { panic!("{event:?}") };
    assert_eq!(size, 2 + 30 * 7);
    assert_eq!(reply.code(), 552);
}

#[test]
fn declared_size_over_limit_reported() {
    let mut session = Session::new(config());
    run(&mut session, b"EHLO c\r\n");

    session.receive(b"MAIL FROM:<a@x.test> SIZE=5000\r\n");
    let event = session.next_event();

    let Some(Event::MessageRejected { size, reply }) = event else { panic!("{event:?}") };
    assert_eq!(size, 5000);
    assert_eq!(reply.code(), 552);
}
