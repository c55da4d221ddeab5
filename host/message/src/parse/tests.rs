//! The structure read from the short view equals the one read from the
//! full view, for messages with large base64 bodies in many shapes.

use base64::Engine;

use super::*;

/// Base64 lines of a body above the size that is decoded early.
fn large_body(line_end: &str) -> String {
    let content: Vec<u8> = (0..900_000u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|line| std::str::from_utf8(line).unwrap()).collect();
    lines.join(line_end) + line_end
}

/// `body` with a line `--x` after its first 1.1 MB.
fn dashes_late(body: &str) -> String {
    let line_end = body[1_100_000..].find("\r\n").unwrap() + 1_100_000 + 2;
    format!("{}--x\r\n{}", &body[..line_end], &body[line_end..])
}

fn attachment(content_type: &str, body: &str) -> String {
    format!("Content-Type: {content_type}\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}")
}

fn mixed(parts: &[String], closing: &str) -> String {
    let mut message = "From: a@example.com\r\nSubject: large\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n".to_string();
    for part in parts {
        message.push_str("--b\r\n");
        message.push_str(part);
    }
    message.push_str(closing);
    message
}

fn cases() -> Vec<(&'static str, String)> {
    let body = large_body("\r\n");
    let text = "Content-Type: text/plain\r\n\r\nhello\r\n".to_string();
    let nested = format!(
        "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n--inner\r\n{}--inner--\r\n",
        attachment("image/png", &body)
    );
    vec![
        ("one attachment", mixed(&[text.clone(), attachment("application/octet-stream", &body)], "--b--\r\n")),
        ("text attachment", mixed(&[text.clone(), attachment("text/plain", &body)], "--b--\r\n")),
        ("two attachments", mixed(&[attachment("application/pdf", &body), attachment("application/zip", &body)], "--b--\r\n")),
        ("nested multipart", mixed(&[text.clone(), nested], "--b--\r\n")),
        ("dashes inside", mixed(&[attachment("application/octet-stream", &body.replacen("\r\n", "\r\n--x\r\n", 2))], "--b--\r\n")),
        ("dashes late", mixed(&[attachment("application/octet-stream", &dashes_late(&body))], "--b--\r\n")),
        ("no closing boundary", mixed(&[text.clone(), attachment("application/octet-stream", &body)], "")),
        ("bare line feeds", mixed(&[attachment("application/octet-stream", &large_body("\n"))], "--b--\r\n")),
        ("epilogue after closing", mixed(&[attachment("application/octet-stream", &body)], "--b--\r\nepilogue\r\n--b\r\n")),
        (
            "forwarded message in base64",
            mixed(&[attachment("message/rfc822", &body), text.clone()], "--b--\r\n"),
        ),
        (
            "multipart in base64",
            format!("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}--b\r\n{text}--b--\r\n"),
        ),
        (
            "single part",
            format!("From: a@example.com\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}--\r\nsigned\r\n"),
        ),
    ]
}

/// Everything of a structure, as text.
fn describe(structure: &Structure) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        structure.headers,
        structure.subject,
        structure.message_id,
        structure.from,
        structure.date,
        structure.parts,
        structure.leaves,
        { let mut ids: Vec<_> = structure.body_ids.iter().collect(); ids.sort(); ids },
        structure.duplicate_headers,
        structure.has_nested_message,
    )
}

#[test]
fn short_view_reads_the_same_structure() {
    let mut shortened = 0;
    let mut used = Vec::new();
    for (label, message) in cases() {
        let prepared = repair::prepare(message.into_bytes());
        let guesses = early_decode::guess_bodies(&prepared.raw, prepared.hidden_base64.offsets());
        let full = read_structure(&prepared, None).map(|structure| describe(&structure)).map_err(|error| error.to_string());

        let Some(short) = ShortView::build(prepared.parser_input(), &guesses) else { continue };
        shortened += 1;
        let direct = read_structure(&prepared, Some(&short));
        if direct.is_ok() {
            used.push(label);
        }
        let from_short = direct.or_else(|_| read_structure(&prepared, None));

        assert_eq!(from_short.map(|structure| describe(&structure)).map_err(|error| error.to_string()), full, "{label}");
    }
    assert_eq!(shortened, 10, "cases with a short view");
    let expected = ["one attachment", "two attachments", "nested multipart", "dashes late", "bare line feeds", "epilogue after closing", "single part"];
    assert_eq!(used, expected, "cases read from the short view");
}

#[test]
fn short_view_taken_for_a_plain_attachment() {
    let message = mixed(&[attachment("application/octet-stream", &large_body("\r\n"))], "--b--\r\n");
    let prepared = repair::prepare(message.into_bytes());
    let guesses = early_decode::guess_bodies(&prepared.raw, prepared.hidden_base64.offsets());
    let short = ShortView::build(prepared.parser_input(), &guesses).expect("a short view");

    assert!(short.bytes.len() < 1_000, "{} bytes", short.bytes.len());
    assert!(read_structure(&prepared, Some(&short)).is_ok(), "the short view was refused");
}
