//! Delivery status notifications (bounces) as defined by RFC 3464, built
//! without I/O.
//!
//! A bounce is a `multipart/report; report-type=delivery-status` message
//! with three parts: a human-readable explanation, a `message/delivery-status`
//! part with one block per failed recipient, and the original message's
//! header as `text/rfc822-headers` (RFC 6522). It is sent with the null
//! reverse path, so it can never cause another bounce.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::id::QueueId;

/// Maximum length of a value written into a header or status field, in
/// bytes. Longer texts are cut, so no line of the bounce exceeds the 998 octets that RFC
/// 5322 allows.
const MAX_FIELD_TEXT: usize = 900;

/// Maximum length of a line of the original header copied into the bounce, in bytes
/// without the line end (RFC 5322's limit).
const MAX_HEADER_LINE: usize = 998;

/// Largest part of the original header copied into the bounce, in bytes.
const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// One recipient the message could not be delivered to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRecipient {
    /// Forward path without angle brackets.
    pub address: String,
    /// RFC 3463 status code, such as `5.7.1`.
    pub status: String,
    /// Value of `Diagnostic-Code`: a type, `;` and the text, such as
    /// `smtp; 550 5.1.1 no such user`.
    pub diagnostic_code: String,
}

/// The facts a bounce reports.
#[derive(Clone, Debug)]
pub struct Bounce<'a> {
    /// Host name of this gateway, for `Reporting-MTA` and the `From` address.
    pub reporting_mta: &'a str,
    /// Queue id of the failed message.
    pub queue_id: &'a QueueId,
    /// When the gateway accepted the failed message.
    pub arrival: DateTime<Utc>,
    /// Envelope sender of the failed message; the bounce goes to it.
    pub sender: &'a str,
    /// Reason delivery failed, in words, for the human-readable part.
    pub reason: &'a str,
    /// The recipients that did not get the message.
    pub recipients: &'a [FailedRecipient],
    /// Header of the failed message, see [`header_block`].
    pub original_header: &'a [u8],
    /// Time of the bounce, for its `Date` header.
    pub now: DateTime<Utc>,
}

/// Returns the header of `message`: everything up to and including the
/// empty line that ends it, or the whole message when it has no body.
pub fn header_block(message: &[u8]) -> &[u8] {
    let crlf_end = message.windows(4).position(|window| window == b"\r\n\r\n").map(|index| index + 4);
    let lf_end = message.windows(2).position(|window| window == b"\n\n").map(|index| index + 2);
    let end = match (crlf_end, lf_end) {
        (Some(crlf), Some(lf)) => crlf.min(lf),
        (Some(end), None) | (None, Some(end)) => end,
        (None, None) => message.len(),
    };
    &message[..end]
}

/// Builds the bounce message, with CR LF line ends.
pub fn build_bounce(bounce: &Bounce<'_>) -> Vec<u8> {
    let mta = field_text(bounce.reporting_mta);
    let boundary = format!("=_mailgate_dsn_{}_{:016x}", bounce.queue_id, rand::random::<u64>());
    let mut text = String::new();

    let _ = write!(
        text,
        "From: Mail Delivery System <MAILER-DAEMON@{mta}>\r\n\
         To: <{sender}>\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Date: {date}\r\n\
         Message-ID: <{id}.{random:016x}.dsn@{mta}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\
         \r\n\
         This is a delivery status notification in MIME format.\r\n",
        sender = field_text(bounce.sender),
        date = bounce.now.to_rfc2822(),
        id = bounce.queue_id,
        random = rand::random::<u64>(),
    );

    let _ = write!(
        text,
        "\r\n--{boundary}\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         Content-Description: Notification\r\n\
         \r\n\
         This is the mail gateway at {mta}.\r\n\
         \r\n\
         Your message with queue id {id} could not be delivered to the\r\n\
         following recipients:\r\n\
         \r\n",
        id = bounce.queue_id,
    );
    for recipient in bounce.recipients {
        let _ = write!(text, "  <{}>\r\n", field_text(&recipient.address));
    }
    let _ = write!(text, "\r\nReason: {}\r\n", field_text(bounce.reason));

    let _ = write!(
        text,
        "\r\n--{boundary}\r\n\
         Content-Type: message/delivery-status\r\n\
         Content-Description: Delivery report\r\n\
         \r\n\
         Reporting-MTA: dns; {mta}\r\n\
         X-Mailgate-Queue-ID: {id}\r\n\
         Arrival-Date: {arrival}\r\n",
        id = bounce.queue_id,
        arrival = bounce.arrival.to_rfc2822(),
    );
    for recipient in bounce.recipients {
        let _ = write!(
            text,
            "\r\nFinal-Recipient: rfc822; {address}\r\n\
             Action: failed\r\n\
             Status: {status}\r\n\
             Diagnostic-Code: {diagnostic}\r\n",
            address = field_text(&recipient.address),
            status = field_text(&recipient.status),
            diagnostic = field_text(&recipient.diagnostic_code),
        );
    }

    let _ = write!(
        text,
        "\r\n--{boundary}\r\n\
         Content-Type: text/rfc822-headers\r\n\
         Content-Description: Header of the undelivered message\r\n\
         \r\n"
    );
    let mut output = text.into_bytes();
    output.extend_from_slice(&header_lines(bounce.original_header));
    output.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    output
}

/// Makes `text` safe for one header or status field: printable ASCII only,
/// at most [`MAX_FIELD_TEXT`] bytes.
fn field_text(text: &str) -> String {
    text.chars()
        .map(|character| if character.is_ascii_graphic() || character == ' ' { character } else { '?' })
        .take(MAX_FIELD_TEXT)
        .collect()
}

/// Copies the original header with CR LF line ends, without its ending
/// empty line, cutting each line at [`MAX_HEADER_LINE`] bytes and the whole
/// at [`MAX_HEADER_BLOCK`] bytes.
///
/// NOTE: 8-bit bytes in the header are copied as they are; RFC 6533's
/// `text/global-headers` is not used.
fn header_lines(header: &[u8]) -> Vec<u8> {
    let mut output = Vec::with_capacity(header.len().min(MAX_HEADER_BLOCK) + 64);
    for line in header.split(|byte| *byte == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let line = &line[..line.len().min(MAX_HEADER_LINE)];
        if output.len() + line.len() + 2 > MAX_HEADER_BLOCK {
            break;
        }
        output.extend_from_slice(line);
        output.extend_from_slice(b"\r\n");
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipients() -> Vec<FailedRecipient> {
        vec![
            FailedRecipient {
                address: "bob@example.org".to_string(),
                status: "5.1.1".to_string(),
                diagnostic_code: "smtp; 550 5.1.1 no such user".to_string(),
            },
            FailedRecipient {
                address: "carol@example.org".to_string(),
                status: "5.1.1".to_string(),
                diagnostic_code: "smtp; 550 5.1.1 no such user".to_string(),
            },
        ]
    }

    fn build(original: &[u8], reason: &str) -> String {
        let queue_id = QueueId::parse("0123456789AB").unwrap();
        let recipients = recipients();
        let bounce = Bounce {
            reporting_mta: "gateway.example.com",
            queue_id: &queue_id,
            arrival: DateTime::parse_from_rfc3339("2026-09-28T10:00:00Z").unwrap().with_timezone(&Utc),
            sender: "alice@example.com",
            reason,
            recipients: &recipients,
            original_header: header_block(original),
            now: DateTime::parse_from_rfc3339("2026-09-28T11:00:00Z").unwrap().with_timezone(&Utc),
        };
        String::from_utf8(build_bounce(&bounce)).unwrap()
    }

    /// Splits a multipart body at `boundary`, returning the parts between
    /// the first delimiter and the closing one.
    fn parts<'a>(message: &'a str, boundary: &str) -> Vec<&'a str> {
        let delimiter = format!("\r\n--{boundary}");
        let closing = format!("\r\n--{boundary}--\r\n");
        assert!(message.ends_with(&closing), "closing delimiter missing");
        let body = &message[..message.len() - closing.len()];
        body.split(delimiter.as_str()).skip(1).map(|part| part.trim_start_matches("\r\n")).collect()
    }

    fn boundary_of(message: &str) -> String {
        let start = message.find("boundary=\"").unwrap() + "boundary=\"".len();
        message[start..].split('"').next().unwrap().to_string()
    }

    #[test]
    fn bounce_is_multipart_report() {
        let message = build(b"Subject: hello\r\nFrom: alice@example.com\r\n\r\nsecret body\r\n", "next hop rejected the message");

        assert!(message.contains("Content-Type: multipart/report; report-type=delivery-status;"), "{message}");
        assert!(message.contains("\r\nTo: <alice@example.com>\r\n"));
        assert!(message.contains("\r\nAuto-Submitted: auto-replied\r\n"));
        let parts = parts(&message, &boundary_of(&message));
        assert_eq!(parts.len(), 3);
        assert!(parts[0].starts_with("Content-Type: text/plain"));
        assert!(parts[0].contains("Reason: next hop rejected the message"));
        assert!(parts[1].starts_with("Content-Type: message/delivery-status"));
        assert!(parts[2].starts_with("Content-Type: text/rfc822-headers"));
    }

    #[test]
    fn delivery_status_fields_per_recipient() {
        let message = build(b"Subject: hello\r\n\r\nbody\r\n", "rejected");
        let status = parts(&message, &boundary_of(&message))[1];

        assert!(status.contains("\r\n\r\nReporting-MTA: dns; gateway.example.com\r\n"), "{status}");
        assert!(status.contains("\r\nArrival-Date: Mon, 28 Sep 2026 10:00:00 +0000\r\n"), "{status}");
        let blocks: Vec<&str> = status.split("\r\n\r\n").filter(|block| block.starts_with("Final-Recipient")).collect();
        assert_eq!(blocks.len(), 2);
        for (block, address) in blocks.iter().zip(["bob@example.org", "carol@example.org"]) {
            assert!(block.contains(&format!("Final-Recipient: rfc822; {address}\r\n")), "{block}");
            assert!(block.contains("Action: failed\r\n"), "{block}");
            assert!(block.contains("Status: 5.1.1\r\n"), "{block}");
            assert!(block.contains("Diagnostic-Code: smtp; 550 5.1.1 no such user"), "{block}");
        }
    }

    #[test]
    fn original_header_without_body() {
        let message = build(b"Subject: hello\nX-Long: a\n\nsecret body\n", "rejected");
        let headers = parts(&message, &boundary_of(&message))[2];

        assert!(headers.ends_with("\r\n\r\nSubject: hello\r\nX-Long: a\r\n"), "{headers:?}");
        assert!(!message.contains("secret body"));
    }

    #[test]
    fn long_and_binary_texts_cut() {
        let reason = format!("bad\r\nInjected: yes {}", "x".repeat(5000));
        let long_header = format!("Subject: {}\r\n\r\n", "y".repeat(5000));
        let message = build(long_header.as_bytes(), &reason);

        assert!(!message.contains("\r\nInjected: yes"));
        let longest = message.split("\r\n").map(str::len).max().unwrap();
        assert!(longest <= 998, "a line of {longest} bytes");
    }

    #[test]
    fn header_block_table() {
        let cases: [(&[u8], &[u8]); 4] = [
            (b"A: 1\r\n\r\nbody", b"A: 1\r\n\r\n"),
            (b"A: 1\n\nbody\r\n\r\nmore", b"A: 1\n\n"),
            (b"A: 1\r\n", b"A: 1\r\n"),
            (b"", b""),
        ];
        for (message, expected) in cases {
            assert_eq!(header_block(message), expected, "{message:?}");
        }
    }
}
