//! Parsing of base64 bodies, which `mail-parser` reads undecoded. The
//! gateway still reports the encoding and decodes every body itself. Header
//! values and raw bytes stay as received, and a part with broken base64 is
//! classified as the part with valid base64 would be.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mailgate_message::{Defect, ParsedMessage, PartKind, TransferEncoding};

/// Encodes `content` in base64 lines of 76 characters, each ending in CR LF.
fn base64_lines(content: &[u8]) -> String {
    let encoded = STANDARD.encode(content);
    let mut lines = String::new();
    for chunk in encoded.as_bytes().chunks(76) {
        lines.push_str(std::str::from_utf8(chunk).unwrap());
        lines.push_str("\r\n");
    }
    lines
}

/// Bytes 0 to 255, repeated: content that no text decoding keeps intact.
fn binary_content() -> Vec<u8> {
    (0..1000).map(|index| (index % 256) as u8).collect()
}

fn parse(raw: &[u8]) -> ParsedMessage {
    let message = ParsedMessage::parse(raw.to_vec()).unwrap();
    assert_eq!(message.raw, raw, "raw differs from the input");
    message
}

fn field_value<'a>(message: &'a ParsedMessage, name: &str) -> Option<&'a str> {
    message
        .headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(|header| header.value.as_str())
}

fn attachment_message(content_type_field: &str, encoding_field: &str, encoded: &str) -> Vec<u8> {
    format!(
        "From: a@example.com\r\nSubject: attachment\r\n{content_type_field}\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n\
--b\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n{encoding_field}\r\n\
Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n{encoded}--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn attachment_with_odd_encoding_fields() {
    let content = binary_content();
    let encoded = base64_lines(&content);
    let encoding_fields = [
        "Content-Transfer-Encoding: base64",
        "content-transfer-ENCODING: BASE64",
        "Content-Transfer-Encoding:\tBase64 \t",
        "Content-Transfer-Encoding:\r\n base64",
        "Content-Transfer-Encoding: \r\n\tbAsE64\r\n ",
    ];
    // The second `Content-Type` needs a repair, so the parse view is a copy.
    let content_type_fields = [
        "Content-Type: multipart/mixed; boundary=\"b\"",
        "Content-Type: multipart/mixed; boundary=\r\n \"b\"",
    ];

    for content_type_field in content_type_fields {
        for encoding_field in encoding_fields {
            let raw = attachment_message(content_type_field, encoding_field, &encoded);
            let case = format!("{content_type_field:?} {encoding_field:?}");

            let message = parse(&raw);

            assert_eq!(message.parts.len(), 3, "{case}");
            let attachment = &message.parts[2];
            assert_eq!(attachment.kind, PartKind::Attachment, "{case}");
            assert_eq!(
                attachment.transfer_encoding,
                TransferEncoding::Base64,
                "{case}"
            );
            assert_eq!(attachment.content, content, "{case}");
            assert_eq!(attachment.file_name.as_deref(), Some("data.bin"), "{case}");
            assert_eq!(
                &raw[attachment.body_range.clone()],
                encoded.trim_end().as_bytes(),
                "{case}"
            );
            assert!(message.defects.is_empty(), "{case}: {:?}", message.defects);
        }
    }
}

#[test]
fn encoding_with_comment_not_base64() {
    // `mail-parser` reads the whole value, comment included, so it decodes
    // no such body, and the gateway takes the body as 7bit too.
    let raw = attachment_message(
        "Content-Type: multipart/mixed; boundary=\"b\"",
        "Content-Transfer-Encoding: base64 (encoded)",
        "QUJD\r\n",
    );

    let message = parse(&raw);

    assert_eq!(
        message.parts[2].transfer_encoding,
        TransferEncoding::SevenBit
    );
    assert_eq!(message.parts[2].content, b"QUJD");
}

#[test]
fn text_bodies_in_base64() {
    let plain = "Gr\u{fc}\u{df}e aus Z\u{fc}rich.\r\n";
    let html = "<p>Gr\u{fc}\u{df}e <img src=\"cid:logo@example.com\"></p>";
    let raw = format!(
        "From: a@example.com\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\
--alt\r\nContent-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
--rel\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\
--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@example.com>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\
--rel--\r\n--alt--\r\n",
        base64_lines(plain.as_bytes()),
        base64_lines(html.as_bytes())
    );

    let message = parse(raw.as_bytes());

    let kinds: Vec<(&str, PartKind)> = message
        .parts
        .iter()
        .map(|part| (part.content_type.as_str(), part.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("multipart/alternative", PartKind::Container),
            ("text/plain", PartKind::Body),
            ("multipart/related", PartKind::Container),
            ("text/html", PartKind::Body),
            ("image/png", PartKind::InlineImage),
        ]
    );
    assert_eq!(message.parts[1].content, plain.as_bytes());
    assert_eq!(message.parts[3].content, html.as_bytes());
    assert_eq!(message.parts[4].content, b"\x89PNG\r\n\x1a\n");
    assert!(
        message
            .parts
            .iter()
            .skip(1)
            .all(|part| part.transfer_encoding == TransferEncoding::Base64
                || part.kind == PartKind::Container)
    );
}

#[test]
fn single_part_message_keeps_base64_field() {
    let text = "Only one part, in base64.\r\n";
    let raw = format!(
        "From: a@example.com\r\nSubject: single\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding:  BASE64\r\n\r\n{}",
        base64_lines(text.as_bytes())
    );

    let message = parse(raw.as_bytes());

    assert_eq!(
        field_value(&message, "Content-Transfer-Encoding"),
        Some("BASE64")
    );
    assert_eq!(message.subject.as_deref(), Some("single"));
    assert_eq!(message.parts.len(), 1);
    assert_eq!(message.parts[0].kind, PartKind::Body);
    assert_eq!(message.parts[0].transfer_encoding, TransferEncoding::Base64);
    assert_eq!(message.parts[0].content, text.as_bytes());
}

#[test]
fn folded_base64_field_value_unfolded() {
    let raw = b"From: a@example.com\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding:\r\n base64\r\n\r\nJVBERi0xLjQ=\r\n";

    let message = parse(raw);

    assert_eq!(
        field_value(&message, "Content-Transfer-Encoding"),
        Some("base64")
    );
    assert_eq!(message.parts[0].content, b"%PDF-1.4");
}

#[test]
fn broken_base64_text_body_stays_body() {
    let raw = format!(
        "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}!!broken!!\r\n\
--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b--\r\n",
        base64_lines(b"Hello there.")
    );

    let message = parse(raw.as_bytes());

    let body = &message.parts[1];
    assert_eq!(body.kind, PartKind::Body);
    assert!(
        body.content.starts_with(b"Hello there."),
        "{:?}",
        String::from_utf8_lossy(&body.content)
    );
    assert_eq!(message.parts[2].kind, PartKind::Attachment);
    assert_eq!(message.defects, [Defect::InvalidBase64 { part: body.id }]);
}

#[test]
fn broken_base64_html_alternative_stays_body() {
    let raw = format!(
        "From: a@example.com\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nPlain.\r\n\
--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--\r\n--b--\r\n",
        base64_lines(b"<p>HTML</p>")
    );

    let message = parse(raw.as_bytes());

    let kinds: Vec<PartKind> = message.parts.iter().map(|part| part.kind).collect();
    assert_eq!(kinds, [PartKind::Container, PartKind::Body, PartKind::Body]);
    assert_eq!(message.parts[2].content, b"<p>HTML</p>");
    assert_eq!(
        message.defects,
        [Defect::InvalidBase64 {
            part: message.parts[2].id
        }]
    );
}

#[test]
fn broken_base64_attachment_decoded_leniently() {
    let content = binary_content();
    let encoded = base64_lines(&content).replacen("\r\n", "\r\n*\r\n", 3);
    let raw = attachment_message(
        "Content-Type: multipart/mixed; boundary=\"b\"",
        "Content-Transfer-Encoding: base64",
        &encoded,
    );

    let message = parse(&raw);

    let attachment = &message.parts[2];
    assert_eq!(attachment.kind, PartKind::Attachment);
    assert_eq!(attachment.transfer_encoding, TransferEncoding::Base64);
    assert_eq!(attachment.content, content);
    assert_eq!(
        message.defects,
        [Defect::InvalidBase64 {
            part: attachment.id
        }]
    );
}

#[test]
fn base64_forwarded_message_decoded() {
    let forwarded = b"From: b@example.com\r\nSubject: inner\r\n\r\nInner text.\r\n";
    let raw = format!(
        "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nForwarded below.\r\n\
--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\
--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b--\r\n",
        base64_lines(forwarded)
    );

    let message = parse(raw.as_bytes());

    let leaves: Vec<(&str, PartKind)> = message
        .parts
        .iter()
        .skip(1)
        .map(|part| (part.content_type.as_str(), part.kind))
        .collect();
    assert_eq!(
        leaves,
        [
            ("text/plain", PartKind::Body),
            ("message/rfc822", PartKind::Attachment),
            ("application/pdf", PartKind::Attachment)
        ]
    );
    assert_eq!(message.parts[2].content, forwarded);
    assert!(message.defects.is_empty(), "{:?}", message.defects);
}

#[test]
fn digest_entry_without_type_in_base64() {
    // An entry of a digest without `Content-Type` is a message, which
    // `mail-parser` would parse in place if it did not see the base64.
    let entry = b"From: b@example.com\r\nSubject: entry\r\n\r\nEntry text.\r\n";
    let raw = format!(
        "From: a@example.com\r\nContent-Type: multipart/digest; boundary=\"d\"\r\n\r\n\
--d\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\
--d\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--d--\r\n",
        base64_lines(entry)
    );

    let message = parse(raw.as_bytes());

    let leaves: Vec<(&str, PartKind, TransferEncoding)> = message
        .parts
        .iter()
        .skip(1)
        .map(|part| {
            (
                part.content_type.as_str(),
                part.kind,
                part.transfer_encoding,
            )
        })
        .collect();
    assert_eq!(
        leaves,
        [
            (
                "message/rfc822",
                PartKind::Attachment,
                TransferEncoding::Base64
            ),
            (
                "application/pdf",
                PartKind::Attachment,
                TransferEncoding::Base64
            )
        ]
    );
    assert_eq!(message.parts[1].content, entry);
    assert_eq!(message.parts[2].content, b"%PDF-1.4");
}

#[test]
fn corpus_raw_unchanged_by_parse() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();

        let message = ParsedMessage::parse(raw.clone()).unwrap();

        // Only these two repairs change the message data.
        let repaired = message
            .defects
            .iter()
            .any(|defect| matches!(defect, Defect::BareLineFeed | Defect::MissingBlankLine));
        if !repaired {
            assert!(message.raw == raw, "{} changed by parse", path.display());
        }
    }
}

/// Decodes base64 the way the gateway does: every alphabet character, all
/// others skipped, a truncated final group as far as it goes.
fn lenient_decode(encoded: &[u8]) -> Vec<u8> {
    let alphabet: Vec<u8> = encoded.iter().copied().filter(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/')).collect();
    let whole = alphabet.len() - alphabet.len() % 4;
    let mut decoded = STANDARD.decode(&alphabet[..whole]).unwrap();
    let rest = &alphabet[whole..];
    if rest.len() >= 2 {
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        decoded.extend(engine.decode(rest).unwrap());
    }
    decoded
}

#[test]
fn large_bodies_decoded_like_small_ones() {
    // Above the size from which bodies are decoded on a second thread.
    let content: Vec<u8> = (0..1_200_000u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let encoded = base64_lines(&content);
    let field = "Content-Transfer-Encoding: base64";
    let multipart = "Content-Type: multipart/mixed; boundary=\"b\"";
    let cases = [
        ("clean", encoded.clone(), true),
        ("junk character", encoded.replacen("A", "A*", 1), false),
        ("dashes inside", encoded.replacen("\r\n", "\r\n--not-the-boundary\r\n", 3), false),
        ("white space at the end", format!("{encoded}  \r\n\r\n"), true),
        ("one long line", encoded.replace("\r\n", "") + "\r\n", true),
    ];

    for (label, body, valid) in cases {
        let raw = attachment_message(multipart, field, &body);
        let message = parse(&raw);
        let attachment = message.attachments().next().unwrap_or_else(|| panic!("{label}: no attachment"));

        let expected = lenient_decode(&raw[attachment.body_range.clone()]);
        assert_eq!(attachment.content.len(), expected.len(), "{label}: length");
        assert!(attachment.content == expected, "{label}: content differs");
        let reported = message.defects.iter().any(|defect| matches!(defect, Defect::InvalidBase64 { .. }));
        assert_eq!(reported, !valid, "{label}: invalid base64 reported");
    }
}

#[test]
fn large_body_without_closing_boundary() {
    let content: Vec<u8> = (0..1_100_000u32).map(|index| (index % 251) as u8).collect();
    let raw = format!(
        "From: a@example.com\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(&content)
    )
    .into_bytes();

    let message = parse(&raw);

    assert!(message.parts[0].content == content, "content differs");
    assert!(message.defects.is_empty(), "{:?}", message.defects);
}
