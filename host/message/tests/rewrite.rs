//! Rewrite tests over sample messages: removed parts are gone, notices and
//! notes are in both bodies at their position, and every other part is byte
//! for byte the same.

use std::collections::BTreeSet;
use std::path::PathBuf;

use mail_parser::{MessageParser, MimeHeaders};
use mailgate_message::{Link, Note, NoticePosition, NoticeTemplate, ParsedMessage, PartId, PartKind, Rewrite, Withheld, rewrite};

fn sample(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn link(name: &str) -> Link {
    Link { file_name: name.to_string(), url: format!("http://127.0.0.1:8010/vault_rest/file/{name}-id"), size: 2048 }
}

fn plan(remove: &[PartId], links: Vec<Link>) -> Rewrite {
    Rewrite { remove: remove.iter().copied().collect::<BTreeSet<_>>(), links, ..Rewrite::default() }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn attachment_ids(message: &ParsedMessage) -> Vec<PartId> {
    message.attachments().map(|part| part.id).collect()
}

#[test]
fn classify_sample_with_inline_logo() {
    let message = ParsedMessage::parse(sample("pdf-with-inline-logo.eml")).unwrap();
    let kinds: Vec<(String, PartKind)> =
        message.parts.iter().map(|part| (part.content_type.clone(), part.kind)).collect();

    assert!(kinds.contains(&("image/png".to_string(), PartKind::InlineImage)), "{kinds:?}");
    assert!(kinds.contains(&("application/pdf".to_string(), PartKind::Attachment)), "{kinds:?}");
    assert!(kinds.contains(&("text/plain".to_string(), PartKind::Body)), "{kinds:?}");
    assert!(kinds.contains(&("text/html".to_string(), PartKind::Body)), "{kinds:?}");
    assert_eq!(attachment_ids(&message).len(), 1);
}

#[test]
fn rewrite_removes_pdf_keeps_logo() {
    let raw = sample("pdf-with-inline-logo.eml");
    let message = ParsedMessage::parse(raw.clone()).unwrap();
    let logo = message.parts.iter().find(|part| part.kind == PartKind::InlineImage).unwrap();
    let logo_bytes = raw[logo.header_range.start..logo.body_range.end].to_vec();

    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("Q3 report.pdf")]));

    assert!(contains(&output, &logo_bytes), "inline logo changed");
    assert!(!contains(&output, b"application/pdf"), "PDF part still present");
    assert!(!contains(&output, b"JVBERi0"), "PDF content still present");

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("http://127.0.0.1:8010/vault_rest/file/Q3 report.pdf-id"), "{text}");
    assert!(text.contains("Numbers look good."), "{text}");
    let html = parsed.body_html(0).unwrap();
    assert!(html.contains("href=\"http://127.0.0.1:8010/vault_rest/file/Q3 report.pdf-id\""), "{html}");
    assert!(html.find("mailgate-notice").unwrap() < html.find("</body>").unwrap(), "{html}");
    assert!(html.contains("cid:logo.7f3a@example.com"));
}

#[test]
fn rewrite_keeps_structure_parseable() {
    let message = ParsedMessage::parse(sample("pdf-with-inline-logo.eml")).unwrap();
    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("Q3 report.pdf")]));
    let reparsed = ParsedMessage::parse(output).unwrap();

    let types: Vec<&str> = reparsed.parts.iter().map(|part| part.content_type.as_str()).collect();
    assert_eq!(
        types,
        ["multipart/mixed", "multipart/related", "multipart/alternative", "text/plain", "text/html", "image/png"]
    );
    assert_eq!(reparsed.attachments().count(), 0);
}

#[test]
fn rewrite_headers_unchanged() {
    let raw = sample("pdf-with-inline-logo.eml");
    let message = ParsedMessage::parse(raw.clone()).unwrap();
    let header_block = raw[message.parts[0].header_range.clone()].to_vec();

    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("Q3 report.pdf")]));

    assert!(output.starts_with(&header_block));
}

#[test]
fn rewrite_empty_plan_is_identity() {
    let raw = sample("pdf-with-inline-logo.eml");
    let message = ParsedMessage::parse(raw.clone()).unwrap();
    assert_eq!(rewrite(&message, &Rewrite::default()), raw);
}

#[test]
fn rewrite_never_removes_body_or_inline_image() {
    let raw = sample("pdf-with-inline-logo.eml");
    let message = ParsedMessage::parse(raw.clone()).unwrap();
    let everything: Vec<PartId> = message.parts.iter().map(|part| part.id).collect();

    let output = rewrite(&message, &plan(&everything, Vec::new()));
    let reparsed = ParsedMessage::parse(output).unwrap();

    assert!(reparsed.parts.iter().any(|part| part.kind == PartKind::InlineImage));
    assert_eq!(reparsed.parts.iter().filter(|part| part.kind == PartKind::Body).count(), 2);
}

#[test]
fn rewrite_latin1_quoted_printable_body() {
    let message = ParsedMessage::parse(sample("no-message-id.eml")).unwrap();
    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("r\u{e9}sum\u{e9}.txt")]));

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("Caf\u{e9} at 10?"), "{text}");
    assert!(text.contains("- r\u{e9}sum\u{e9}.txt (2.0 KiB): http://127.0.0.1:8010/"), "{text}");
    assert!(contains(&output, b"charset=\"iso-8859-1\""));
    assert!(contains(&output, b"r=E9sum=E9.txt"), "notice not encoded in Latin-1 QP");
}

#[test]
fn rewrite_notice_without_removal() {
    let message = ParsedMessage::parse(sample("plain-text.eml")).unwrap();
    let output = rewrite(&message, &plan(&[], vec![link("a.pdf")]));

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.starts_with("Hi Frank,"));
    assert!(text.contains("a.pdf-id"));
}

#[test]
fn rewrite_only_attachment_in_multipart_replaced_by_notice_part() {
    let raw = b"From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"x.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b1--\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();
    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("x.pdf")]));

    let reparsed = ParsedMessage::parse(output.clone()).unwrap();
    assert_eq!(reparsed.attachments().count(), 0, "{}", String::from_utf8_lossy(&output));
    let parsed = MessageParser::default().parse(&output).unwrap();
    assert!(parsed.body_text(0).unwrap().contains("x.pdf-id"));
}

#[test]
fn rewrite_attachment_only_without_links_leaves_sentence() {
    let raw = b"From: a@example.com\r\nSubject: s\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: application/zip; name=\"a.zip\"\r\n\r\nPK\r\n--b1\r\n\
Content-Type: application/zip; name=\"b.zip\"\r\n\r\nPK\r\n--b1--\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();
    let output = rewrite(&message, &plan(&attachment_ids(&message), Vec::new()));

    let parsed = MessageParser::default().parse(&output).unwrap();
    assert!(parsed.body_text(0).unwrap().contains("attachments of this message were removed"));
    assert_eq!(ParsedMessage::parse(output).unwrap().attachments().count(), 0);
}

#[test]
fn rewrite_single_part_attachment_message() {
    let raw = b"From: a@example.com\r\nSubject: scan\r\nMessage-ID: <s@x>\r\n\
Content-Type: application/pdf;\r\n name=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();
    assert_eq!(attachment_ids(&message), vec![PartId(0)]);

    let output = rewrite(&message, &plan(&[PartId(0)], vec![link("scan.pdf")]));
    let text = String::from_utf8(output.clone()).unwrap();
    assert!(text.starts_with("From: a@example.com\r\nSubject: scan\r\nMessage-ID: <s@x>\r\n"), "{text}");
    assert!(!text.contains("application/pdf"), "{text}");
    assert!(!text.contains(" name=\"scan.pdf\""), "{text}");

    let parsed = MessageParser::default().parse(&output).unwrap();
    assert!(parsed.body_text(0).unwrap().contains("scan.pdf-id"));
}

#[test]
fn rewrite_no_body_gets_new_text_part() {
    let raw = b"From: a@example.com\r\nSubject: s\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: application/pdf; name=\"a.pdf\"\r\n\r\n%PDF\r\n--b1\r\n\
Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n--b1--\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw.clone()).unwrap();
    let calendar = message.parts.iter().find(|part| part.content_type == "text/calendar").unwrap();
    assert_eq!(calendar.kind, PartKind::Protected);
    let calendar_bytes = raw[calendar.header_range.start..calendar.body_range.end].to_vec();

    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("a.pdf")]));

    assert!(contains(&output, &calendar_bytes));
    let parsed = MessageParser::default().parse(&output).unwrap();
    let notice_part = parsed.parts.iter().find(|part| {
        part.content_type().is_some_and(|ct| ct.subtype() == Some("plain"))
    });
    assert!(notice_part.is_some(), "{}", String::from_utf8_lossy(&output));
    assert!(String::from_utf8_lossy(notice_part.unwrap().contents()).contains("a.pdf-id"));
}

#[test]
fn rewrite_base64_html_body() {
    let html = "<html><body><p>Hallo</p></body></html>";
    let encoded = base64_lines(html.as_bytes());
    let raw = format!(
        "From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n\
--b\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\n\r\nxx\r\n--b--\r\n"
    );
    let message = ParsedMessage::parse(raw.into_bytes()).unwrap();
    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("x.bin")]));

    let parsed = MessageParser::default().parse(&output).unwrap();
    let body = parsed.body_html(0).unwrap();
    assert!(body.starts_with("<html><body><p>Hallo</p>"), "{body}");
    assert!(body.contains("x.bin-id"), "{body}");
    assert!(body.trim_end().ends_with("</body></html>"), "{body}");
}

#[test]
fn rewrite_bare_lf_message() {
    let raw = b"From: a@example.com\nSubject: s\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
--b\nContent-Type: text/plain\n\nhello\n--b\nContent-Type: application/pdf; name=\"a.pdf\"\n\n%PDF\n--b--\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();
    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("a.pdf")]));

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.starts_with("hello"), "{text}");
    assert!(text.contains("a.pdf-id"), "{text}");
    assert_eq!(ParsedMessage::parse(output).unwrap().attachments().count(), 0);
}

fn base64_lines(content: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in content.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn corrupt_forwarded_message_parses() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/07-corrupt-rfc822-attachment.eml");
    let message = ParsedMessage::parse(std::fs::read(path).unwrap()).unwrap();
    assert!(message.attachments().count() >= 1);
}

#[test]
fn rewrite_long_lines_reencoded() {
    let long_line = "x".repeat(2000);
    let raw = format!(
        "From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{long_line}</p>\r\n\
--b\r\nContent-Type: text/plain; name=\"data.txt\"\r\nContent-Disposition: attachment\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n{long_line}\r\n--b--\r\n"
    );
    let message = ParsedMessage::parse(raw.into_bytes()).unwrap();

    let output = rewrite(&message, &Rewrite::default());

    let longest = output.split(|byte| *byte == b'\n').map(<[u8]>::len).max().unwrap();
    assert!(longest <= 1000, "a line of {longest} octets is left");
    let parsed = MessageParser::default().parse(&output).unwrap();
    assert_eq!(parsed.body_html(0).unwrap().trim_end(), format!("<p>{long_line}</p>"));
    let attachment = parsed.attachment(0).unwrap();
    assert_eq!(String::from_utf8_lossy(attachment.contents()).trim_end(), long_line);
    assert_eq!(output.windows(35).filter(|window| window == b"Content-Transfer-Encoding: quoted-p").count(), 2);
    assert!(!contains(&output, b"Content-Transfer-Encoding: 8bit"));
}

#[test]
fn rewrite_long_lines_with_notice() {
    let long_line = "y".repeat(1500);
    let raw = format!("From: a@example.com\r\nSubject: s\r\nContent-Type: text/plain\r\n\r\n{long_line}\r\n");
    let message = ParsedMessage::parse(raw.into_bytes()).unwrap();

    let output = rewrite(&message, &plan(&[], vec![link("a.pdf")]));

    let longest = output.split(|byte| *byte == b'\n').map(<[u8]>::len).max().unwrap();
    assert!(longest <= 1000, "a line of {longest} octets is left");
    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.starts_with(&long_line), "{text}");
    assert!(text.contains("a.pdf-id"));
}

fn withheld_with_link() -> Withheld {
    Withheld {
        file_name: "invoice.docm".to_string(),
        reason: "blocked by the virus scan (macro)".to_string(),
        link: Some(link("invoice.docm")),
    }
}

#[test]
fn notice_at_top_of_both_bodies() {
    let message = ParsedMessage::parse(sample("pdf-with-inline-logo.eml")).unwrap();
    let template = NoticeTemplate { position: NoticePosition::Top, ..NoticeTemplate::default() };
    let plan = Rewrite { remove: attachment_ids(&message).into_iter().collect(), links: vec![link("Q3 report.pdf")], template, ..Rewrite::default() };

    let output = rewrite(&message, &plan);

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.starts_with("Attachments of this message were moved to secure storage:\r\n- Q3 report.pdf"), "{text}");
    assert!(text.contains("Numbers look good."), "{text}");
    let html = parsed.body_html(0).unwrap();
    let body_tag_end = html.to_ascii_lowercase().find("<body").and_then(|start| html[start..].find('>').map(|end| start + end + 1)).unwrap();
    assert!(html[body_tag_end..].trim_start().starts_with("<div class=\"mailgate-notice\""), "{html}");
}

#[test]
fn notice_custom_headings_and_style() {
    let message = ParsedMessage::parse(sample("pdf-with-inline-logo.eml")).unwrap();
    let template = NoticeTemplate {
        links_heading: "Dateien im sicheren Speicher:".to_string(),
        withheld_heading: "Gesperrte Dateien:".to_string(),
        html_style: "border:2px solid red".to_string(),
        ..NoticeTemplate::default()
    };
    let plan = Rewrite { links: vec![link("a.pdf")], withheld: vec![withheld_with_link()], template, ..Rewrite::default() };

    let output = rewrite(&message, &plan);

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("Dateien im sicheren Speicher:\r\n- a.pdf"), "{text}");
    assert!(text.contains("Gesperrte Dateien:\r\n- invoice.docm: blocked by the virus scan (macro); kept in secure storage"), "{text}");
    assert!(text.contains("finds it clean: http://127.0.0.1:8010/vault_rest/file/invoice.docm-id"), "{text}");
    let html = parsed.body_html(0).unwrap();
    assert!(html.contains("style=\"border:2px solid red\""), "{html}");
    assert!(html.contains("<a href=\"http://127.0.0.1:8010/vault_rest/file/invoice.docm-id\">"), "{html}");
}

#[test]
fn notes_without_links_added() {
    let message = ParsedMessage::parse(sample("pdf-with-inline-logo.eml")).unwrap();
    let notes = vec![
        Note { text: "This message comes from outside <your> organisation.".to_string(), position: NoticePosition::Top },
        Note { text: "Scanned by mailgate.".to_string(), position: NoticePosition::Bottom },
    ];
    let plan = Rewrite { notes, ..Rewrite::default() };

    let output = rewrite(&message, &plan);

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.starts_with("This message comes from outside <your> organisation.\r\n\r\nHi Bob,"), "{text}");
    assert!(text.trim_end().ends_with("Scanned by mailgate."), "{text}");
    assert!(!text.contains("secure storage"), "{text}");
    let html = parsed.body_html(0).unwrap();
    assert!(html.contains("outside &lt;your&gt; organisation."), "{html}");
    assert!(!html.contains("<your>"), "{html}");
    assert_eq!(html.matches("class=\"mailgate-note\"").count(), 2, "{html}");
    assert!(!html.contains("mailgate-notice"), "{html}");
    assert_eq!(ParsedMessage::parse(output).unwrap().attachments().count(), 1, "nothing removed");
}

#[test]
fn notes_in_placeholder_part() {
    let raw = b"From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: application/pdf; name=\"x.pdf\"\r\n\r\n%PDF\r\n--b1--\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();
    let notes = vec![Note { text: "Checked.".to_string(), position: NoticePosition::Bottom }];
    let plan = Rewrite { remove: attachment_ids(&message).into_iter().collect(), links: vec![link("x.pdf")], notes, ..Rewrite::default() };

    let output = rewrite(&message, &plan);

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("x.pdf-id"), "{text}");
    assert!(text.trim_end().ends_with("Checked."), "{text}");
}

#[test]
fn rewrite_removes_part_after_empty_part() {
    let raw = b"From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nHello\r\n\r\n\
--b\r\nContent-Type: application/octet-stream; name=\"empty.bin\"\r\n\r\n\
--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\r\n%PDF\r\n--b--\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();
    assert_eq!(message.attachments().map(|part| part.size()).collect::<Vec<_>>(), [0, 4]);

    let output = rewrite(&message, &plan(&attachment_ids(&message), Vec::new()));

    assert!(!contains(&output, b"a.pdf"), "{}", String::from_utf8_lossy(&output));
    assert!(!contains(&output, b"empty.bin"), "{}", String::from_utf8_lossy(&output));
    assert!(contains(&output, b"Hello\r\n\r\n--b--\r\n"), "{}", String::from_utf8_lossy(&output));
}
