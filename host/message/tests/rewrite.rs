//! Rewrite tests over sample messages: removed parts are gone, replaced
//! parts carry their new content, name and type, notices and notes are in
//! both bodies at their position, and every other part is byte for byte the
//! same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use mail_parser::{MessageParser, MimeHeaders};
use mailgate_message::{
    Link, Note, NoticePosition, NoticeTemplate, ParsedMessage, PartId, PartKind, Replacement, Rewrite, TransferEncoding, Withheld,
    rewrite,
};

fn sample(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn link(name: &str) -> Link {
    Link { file_name: name.to_string(), url: format!("http://127.0.0.1:8010/vault_rest/file/{name}-id"), size: 2048, remark: None }
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
fn rewrite_emptied_nested_multipart_keeps_notice_in_body() {
    let raw = b"From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello Bob\r\n\
--b1\r\nContent-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n--b2\r\n\
Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"x.pdf\"\r\n\r\n%PDF\r\n--b2--\r\n--b1--\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();

    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("x.pdf")]));

    let parsed = MessageParser::default().parse(&output).unwrap();
    let body = parsed.body_text(0).unwrap();
    assert!(body.contains("Hello Bob"), "{body}");
    assert!(body.contains("x.pdf-id"), "the body has no notice: {body}");
    let text = String::from_utf8_lossy(&output);
    assert!(text.contains("--b2\r\n"), "the nested multipart is gone: {text}");
    assert!(text.contains("attachments of this message were removed"), "{text}");
    assert_eq!(text.matches("x.pdf-id").count(), 1, "{text}");
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

const DOCX_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// Builds a multipart/mixed message with a text body, a macro-enabled Word
/// document and a PDF.
fn docm_message() -> Vec<u8> {
    b"From: a@example.com\r\nTo: b@example.org\r\nSubject: report\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n\
--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe report is attached.\r\n\
--mix\r\nContent-Type: application/vnd.ms-word.document.macroEnabled.12;\r\n\tname=\"report.docm\"\r\n\
Content-Disposition: attachment;\r\n\tfilename=\"report.docm\"; size=6\r\nX-Attachment-Id: f_1\r\n\
Content-Transfer-Encoding: base64\r\n\r\nUEsDBG1t\r\n\
--mix\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--mix--\r\n"
        .to_vec()
}

fn part_named<'a>(message: &'a ParsedMessage, name: &str) -> &'a mailgate_message::PartInfo {
    message.parts.iter().find(|part| part.file_name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no part {name}"))
}

fn replace_plan(id: PartId, replacement: Replacement) -> Rewrite {
    Rewrite { replace: [(id, replacement)].into_iter().collect::<BTreeMap<_, _>>(), ..Rewrite::default() }
}

fn sanitized_docx(content: &[u8], name: &str) -> Replacement {
    Replacement { content: content.to_vec(), file_name: Some(name.to_string()), content_type: Some(DOCX_TYPE.to_string()) }
}

#[test]
fn replace_docm_with_sanitized_docx() {
    let raw = docm_message();
    let message = ParsedMessage::parse(raw.clone()).unwrap();
    let docm = part_named(&message, "report.docm");
    let new_content: Vec<u8> = (0..=255u8).cycle().take(300).collect();

    let output = rewrite(&message, &replace_plan(docm.id, sanitized_docx(&new_content, "report.docx")));

    let reparsed = ParsedMessage::parse(output.clone()).unwrap();
    let docx = part_named(&reparsed, "report.docx");
    assert_eq!(docx.id, docm.id);
    assert_eq!(docx.kind, PartKind::Attachment);
    assert_eq!(docx.content_type, DOCX_TYPE);
    assert_eq!(docx.transfer_encoding, TransferEncoding::Base64);
    assert_eq!(docx.content, new_content);
    let parsed = MessageParser::default().parse(&output).unwrap();
    let mail_parser_part = &parsed.parts[docm.id.0 as usize];
    assert_eq!(mail_parser_part.attachment_name(), Some("report.docx"));
    assert_eq!(mail_parser_part.content_disposition().and_then(|cd| cd.attribute("filename")), Some("report.docx"));
    assert_eq!(mail_parser_part.content_disposition().and_then(|cd| cd.attribute("size")), Some("6"), "other parameters kept");
    assert!(contains(&output, b"\r\nX-Attachment-Id: f_1\r\n"), "other header fields kept");
    assert!(!contains(&output, b"report.docm"));
    assert!(!contains(&output, b"macroEnabled"));
}

#[test]
fn replace_keeps_rest_byte_for_byte() {
    let raw = docm_message();
    let message = ParsedMessage::parse(raw.clone()).unwrap();
    let docm = part_named(&message, "report.docm");

    let output = rewrite(&message, &replace_plan(docm.id, sanitized_docx(b"PK\x03\x04clean", "report.docx")));

    let before = &raw[..docm.header_range.start];
    let after = &raw[docm.body_range.end..];
    assert!(output.starts_with(before), "{}", String::from_utf8_lossy(&output));
    assert!(output.ends_with(after), "{}", String::from_utf8_lossy(&output));
    let reparsed = ParsedMessage::parse(output).unwrap();
    let pdf = part_named(&reparsed, "a.pdf");
    assert_eq!(pdf.content, b"%PDF-1.4");
    assert_eq!(reparsed.parts.len(), message.parts.len());
    let lines = &reparsed.raw[reparsed.parts[docm.id.0 as usize].body_range.clone()];
    assert!(lines.split(|byte| *byte == b'\n').all(|line| line.len() <= 77), "base64 lines of at most 76 characters");
}

#[test]
fn replace_long_body_wraps_lines() {
    let message = ParsedMessage::parse(docm_message()).unwrap();
    let docm = part_named(&message, "report.docm");
    let new_content = vec![0xA5u8; 1000];

    let output = rewrite(&message, &replace_plan(docm.id, sanitized_docx(&new_content, "report.docx")));

    let reparsed = ParsedMessage::parse(output).unwrap();
    let part = &reparsed.parts[docm.id.0 as usize];
    let body = &reparsed.raw[part.body_range.clone()];
    let lines: Vec<&[u8]> = body.split(|byte| *byte == b'\n').collect();
    assert!(lines.len() > 10);
    let (last, full) = lines.split_last().unwrap();
    assert!(full.iter().all(|line| line.len() == 77 && line.ends_with(b"\r")), "{}", String::from_utf8_lossy(body));
    assert!(!last.is_empty(), "{}", String::from_utf8_lossy(body));
    assert!(last.len() <= 76, "{}", String::from_utf8_lossy(body));
    assert_eq!(part.content, new_content);
}

#[test]
fn replace_non_ascii_name_round_trips() {
    let message = ParsedMessage::parse(docm_message()).unwrap();
    let docm = part_named(&message, "report.docm");
    let long_name = format!("{}.docx", "\u{41e}\u{442}\u{447}\u{451}\u{442} \u{fc}ber Q3 ".repeat(5));

    for name in ["Bericht \u{fc}ber Q3.docx", long_name.as_str()] {
        let output = rewrite(&message, &replace_plan(docm.id, sanitized_docx(b"PK", name)));

        assert!(output.is_ascii(), "{}", String::from_utf8_lossy(&output));
        let reparsed = ParsedMessage::parse(output.clone()).unwrap();
        assert_eq!(reparsed.parts[docm.id.0 as usize].file_name.as_deref(), Some(name), "{}", String::from_utf8_lossy(&output));
        let name_lines = output.split(|byte| *byte == b'\n').filter(|line| contains(line, b"name"));
        let longest = name_lines.map(<[u8]>::len).max().unwrap();
        assert!(longest <= 78, "a name line of {longest} octets");
    }
}

#[test]
fn replace_without_new_name_keeps_fields() {
    let message = ParsedMessage::parse(docm_message()).unwrap();
    let pdf = part_named(&message, "a.pdf");
    let replacement = Replacement { content: b"%PDF-1.7 clean".to_vec(), file_name: None, content_type: None };

    let output = rewrite(&message, &replace_plan(pdf.id, replacement));

    assert!(contains(&output, b"Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n"));
    let reparsed = ParsedMessage::parse(output).unwrap();
    assert_eq!(part_named(&reparsed, "a.pdf").content, b"%PDF-1.7 clean");
}

#[test]
fn replace_ignored_for_body_and_protected_parts() {
    let raw = docm_message();
    let message = ParsedMessage::parse(raw.clone()).unwrap();
    let body = message.parts.iter().find(|part| part.kind == PartKind::Body).unwrap();
    assert_eq!(rewrite(&message, &replace_plan(body.id, sanitized_docx(b"x", "x.docx"))), raw);

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/08-pgp-multipart-signed.eml");
    let signed = ParsedMessage::parse(std::fs::read(path).unwrap()).unwrap();
    let inside = signed.parts.iter().find(|part| part.file_name.is_some() && part.kind == PartKind::Protected).unwrap();
    assert_eq!(rewrite(&signed, &replace_plan(inside.id, sanitized_docx(b"x", "x.docx"))), signed.raw);
}

#[test]
fn replace_and_remove_same_part_removes() {
    let message = ParsedMessage::parse(docm_message()).unwrap();
    let docm = part_named(&message, "report.docm");
    let mut plan = replace_plan(docm.id, sanitized_docx(b"PK", "report.docx"));
    plan.remove.insert(docm.id);

    let output = rewrite(&message, &plan);

    let reparsed = ParsedMessage::parse(output.clone()).unwrap();
    assert!(reparsed.parts.iter().all(|part| part.file_name.as_deref() != Some("report.docx")));
    assert!(!contains(&output, b"UEsDBG1t"));
    assert_eq!(reparsed.attachments().count(), 1);
}

#[test]
fn replace_single_part_message() {
    let raw = b"From: a@example.com\r\nSubject: macro\r\nMessage-ID: <m@x>\r\n\
Content-Type: application/vnd.ms-word.document.macroEnabled.12; name=\"m.docm\"\r\n\
Content-Disposition: attachment; filename=\"m.docm\"\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBG1t\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();

    let output = rewrite(&message, &replace_plan(PartId(0), sanitized_docx(b"PK clean", "m.docx")));

    assert!(output.starts_with(b"From: a@example.com\r\nSubject: macro\r\nMessage-ID: <m@x>\r\n"));
    let reparsed = ParsedMessage::parse(output).unwrap();
    assert_eq!(reparsed.parts[0].file_name.as_deref(), Some("m.docx"));
    assert_eq!(reparsed.parts[0].content_type, DOCX_TYPE);
    assert_eq!(reparsed.parts[0].content, b"PK clean");
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

#[test]
fn non_ascii_notice_in_7bit_utf8_body_becomes_quoted_printable() {
    let raw = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: Bericht\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 7bit\r\n\r\nHallo Bob\r\n--b1\r\nContent-Type: text/plain; name=\"data.txt\"\r\n\
Content-Disposition: attachment; filename=\"data.txt\"\r\n\r\nzahlen\r\n--b1--\r\n"
        .to_vec();
    let message = ParsedMessage::parse(raw).unwrap();

    let output = rewrite(&message, &plan(&attachment_ids(&message), vec![link("Bericht M\u{e4}rz.txt")]));

    let parsed = MessageParser::default().parse(&output).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("Bericht M\u{e4}rz.txt"), "non-ASCII name lost: {text}");
    assert!(contains(&output, b"Content-Transfer-Encoding: quoted-printable"), "{}", String::from_utf8_lossy(&output));
    assert!(output.is_ascii(), "8-bit bytes in a 7bit message");
}
