//! Feeds arbitrary bytes to the I/O-free SMTP session in arbitrary pieces and
//! checks that it never panics, keeps its input buffer bounded and emits
//! well-formed replies.
//!
//! Input layout: byte 0 holds switches (bit 0 offers STARTTLS, bit 1
//! requires TLS, bit 2 lets the simulated handshake succeed, bit 3 denies
//! relaying outside `fuzz.example`, bit 4 turns on recipient look-ahead,
//! bit 5 makes the look-ahead reject), byte 1 sets the size of the pieces,
//! the rest is what the client sends.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailgate_smtp::protocol::{
    DomainPattern, Event, RecipientVerdict, RelayPolicy, Session, SessionConfig,
};

const MAX_LINE_LENGTH: usize = 512;
const MAX_MESSAGE_SIZE: usize = 4096;

fuzz_target!(|input: &[u8]| {
    let [switches, piece_size, client_bytes @ ..] = input else {
        return;
    };
    let config = SessionConfig {
        hostname: "mx.fuzz.example".to_string(),
        max_message_size: MAX_MESSAGE_SIZE,
        max_recipients: 3,
        max_line_length: MAX_LINE_LENGTH,
        max_header_size: 512,
        max_data_line_length: 1000,
        starttls: switches & 1 != 0,
        require_tls: switches & 2 != 0,
        relay: RelayPolicy {
            accepted_domains: vec![DomainPattern::parse("fuzz.example").expect("valid domain")],
            client_may_relay: switches & 8 == 0,
        },
        verify_recipients: switches & 16 != 0,
    };
    let verdict = if switches & 32 != 0 {
        RecipientVerdict::Reject {
            reason: "no such user".to_string(),
        }
    } else {
        RecipientVerdict::Accept
    };
    let handshake_succeeds = switches & 4 != 0;
    let piece_size = usize::from(*piece_size).max(1);

    let mut session = Session::new(config);
    let mut output = Vec::new();
    session.greeting().write_to(&mut output);

    for piece in client_bytes.chunks(piece_size) {
        session.receive(piece);

        while let Some(event) = session.next_event() {
            match event {
                Event::Reply(reply) | Event::RelayDenied { reply, .. } => check_reply(&reply.to_bytes()),
                Event::Message(message) => {
                    assert!(message.data.len() <= MAX_MESSAGE_SIZE);
                    assert!(!message.rcpt_to.is_empty());
                    session.complete_message();
                }
                Event::StartTls => {
                    if !handshake_succeeds {
                        return;
                    }
                    session.tls_started();
                    assert_eq!(session.buffered(), 0);
                }
                Event::VerifyRecipient(_) => {
                    let reply = session
                        .recipient_verified(verdict.clone())
                        .expect("a recipient awaits its verdict");
                    check_reply(&reply.to_bytes());
                }
                Event::Close => return,
            }
        }

        // Without a complete line the command buffer contains less than one
        // line, and inside DATA the receiver consumes everything.
        assert!(
            session.buffered() < MAX_LINE_LENGTH,
            "buffer holds {} bytes",
            session.buffered()
        );
    }
});

/// Checks that every reply line has a valid code and ends with CR LF, and
/// that no other CR or LF is inside it.
fn check_reply(wire: &[u8]) {
    assert!(wire.ends_with(b"\r\n"));

    for line in wire.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\r\n").expect("line ends with CR LF");
        assert!(!text.contains(&b'\r'), "CR inside a reply line");
        assert!(!text.contains(&b'\n'), "LF inside a reply line");
        assert!(
            text.len() >= 4 && text.len() <= 510,
            "reply line length {}",
            text.len()
        );

        let code = std::str::from_utf8(&text[..3]).expect("ASCII code");
        let code: u16 = code.parse().expect("numeric code");
        assert!((200..=599).contains(&code), "code {code}");
    }
}
