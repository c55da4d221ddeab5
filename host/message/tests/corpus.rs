//! The hard cases of `tests/corpus` (see its README for each case's trap
//! and expected behaviour): parts are classified as expected, names decode,
//! folder names stay one level deep and deterministic, damaged structure is
//! repaired, and the defects are recorded.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use mailgate_message::{Defect, FolderName, Link, ParsedMessage, PartKind, Rewrite, StorageNames, rewrite};

fn case(name: &str) -> ParsedMessage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus").join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    ParsedMessage::parse(raw).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// (kind, media type, file name) of every leaf part, in message order.
fn leaves(message: &ParsedMessage) -> Vec<(PartKind, String, Option<String>)> {
    message
        .parts
        .iter()
        .filter(|part| part.kind != PartKind::Container)
        .map(|part| (part.kind, part.content_type.clone(), part.file_name.clone()))
        .collect()
}

fn attachment_names(message: &ParsedMessage) -> Vec<String> {
    let mut names = StorageNames::new();
    message.attachments().map(|part| names.assign(part)).collect()
}

fn link(name: &str) -> Link {
    Link { file_name: name.to_string(), url: format!("http://127.0.0.1:8010/vault_rest/file/{name}-id"), size: 100, remark: None }
}

fn remove_all_attachments(message: &ParsedMessage) -> Rewrite {
    Rewrite { remove: message.attachments().map(|part| part.id).collect(), ..Rewrite::default() }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn has_bare_line_feed(data: &[u8]) -> bool {
    data.iter().enumerate().any(|(index, byte)| *byte == b'\n' && (index == 0 || data[index - 1] != b'\r'))
}

fn arrival() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn folder(message: &ParsedMessage) -> FolderName {
    FolderName::for_message("Email Gateway", message, "envelope@example.com", arrival())
}

fn assert_one_folder_level(folder: &FolderName) {
    let levels: Vec<&str> = folder.as_str().split('/').collect();
    assert_eq!(levels.len(), 3, "{folder}");
    assert!(levels.iter().all(|level| !level.is_empty() && *level != ".." && *level != "."), "{folder}");
    assert!(!folder.as_str().chars().any(char::is_control), "{folder}");
}

#[test]
fn corpus_every_case_parses() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "eml") {
            let raw = std::fs::read(&path).unwrap();
            let message = ParsedMessage::parse(raw).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            let everything = Rewrite { remove: message.attachments().map(|part| part.id).collect(), ..Rewrite::default() };
            let output = rewrite(&message, &everything);
            ParsedMessage::parse(output).unwrap_or_else(|error| panic!("{} after rewrite: {error}", path.display()));
        }
    }
}

#[test]
fn case_02_non_ascii_names_decode() {
    let names = attachment_names(&case("02-nonascii-filename-encodings.eml"));
    assert_eq!(
        names,
        [
            "Capture d\u{2019}e\u{301}cran.png",
            "\u{41e}\u{442}\u{447}\u{451}\u{442} \u{437}\u{430} \u{43a}\u{432}\u{430}\u{440}\u{442}\u{430}\u{43b}.docx",
            "r\u{e9}sum\u{e9} \u{e9}t\u{e9}.pdf"
        ]
    );
}

#[test]
fn case_03_empty_disposition_keeps_name() {
    let message = case("03-empty-content-disposition.eml");
    let parts = leaves(&message);
    assert_eq!(parts[1].0, PartKind::InlineImage, "{parts:?}");
    assert_eq!(parts[2], (PartKind::Attachment, "text/plain".to_string(), Some("notes.txt".to_string())));
}

#[test]
fn case_04_referenced_images_stay() {
    let parts = leaves(&case("04-cid-inline-vs-attached-images.eml"));
    let kind_of = |name: &str| parts.iter().find(|part| part.2.as_deref() == Some(name)).map(|part| part.0);
    assert_eq!(kind_of("logo.png"), Some(PartKind::InlineImage));
    assert_eq!(kind_of("chart.png"), Some(PartKind::InlineImage), "referenced with an upper-case CID: scheme");
    assert_eq!(kind_of("unused.png"), Some(PartKind::Attachment));
    assert_eq!(kind_of("photo.jpg"), Some(PartKind::Attachment));
}

#[test]
fn case_06_forward_is_one_attachment() {
    let message = case("06-forwarded-message-rfc822.eml");
    let attachments: Vec<_> = message.attachments().collect();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].content_type, "message/rfc822");
    assert_eq!(attachment_names(&message), ["attachment-2.eml"]);

    let raw = &message.raw;
    let body = &raw[attachments[0].body_range.clone()];
    assert_eq!(attachments[0].content.as_slice(), body, "forwarded message stored byte for byte");
    assert!(folder(&message).as_str().contains("FW_ Q3 numbers_<pat@example.com>"), "{}", folder(&message));
}

#[test]
fn case_07_corrupt_forwards_stay_attachments() {
    let message = case("07-corrupt-rfc822-attachment.eml");
    let attachments: Vec<_> = message.attachments().collect();

    let names: Vec<Option<&str>> = attachments.iter().map(|part| part.file_name.as_deref()).collect();
    assert_eq!(names, [Some("corrupted.eml"), Some("empty.eml"), Some("garbage.eml")]);
    assert!(attachments.iter().all(|part| part.content_type == "message/rfc822"), "{attachments:?}");
    assert_eq!(attachments[0].content, b"this attachment is not an email at all, just one line of text");
    assert_eq!(attachments[1].size(), 0, "the empty forward is a 0-byte file");
    assert_eq!(attachment_names(&message), ["corrupted.eml", "empty.eml", "garbage.eml"]);
    assert_eq!(message.parts.iter().filter(|part| part.kind == PartKind::Body).count(), 1);
}

#[test]
fn case_07_corrupt_forwards_recorded() {
    let message = case("07-corrupt-rfc822-attachment.eml");
    let ids: Vec<_> = message.attachments().map(|part| part.id).collect();

    for id in &ids {
        assert!(message.defects.contains(&Defect::NotAMessage { part: *id }), "{id}: {:?}", message.defects);
    }
    assert!(message.defects.contains(&Defect::InvalidBase64 { part: ids[2] }), "{:?}", message.defects);
    assert_eq!(message.defects.len(), 4, "{:?}", message.defects);
}

#[test]
fn case_07_corrupt_forwards_removed() {
    let message = case("07-corrupt-rfc822-attachment.eml");

    let output = rewrite(&message, &remove_all_attachments(&message));

    let reparsed = ParsedMessage::parse(output.clone()).unwrap();
    assert_eq!(reparsed.attachments().count(), 0, "{}", String::from_utf8_lossy(&output));
    assert!(!contains(&output, b"not an email at all"));
    assert!(!contains(&output, b"!!!not-base64!!!"));
    assert!(contains(&output, b"See attachments.\r\n\r\n--b07--\r\n"), "the body keeps its last line break");
}

#[test]
fn case_08_signed_subtree_untouched() {
    let message = case("08-pgp-multipart-signed.eml");
    assert!(message.parts.iter().filter(|part| part.kind != PartKind::Container).all(|part| part.kind == PartKind::Protected));
    assert_eq!(message.attachments().count(), 0);
}

#[test]
fn case_09_opaque_smime_not_stripped() {
    let message = case("09-smime-opaque-p7m.eml");
    assert_eq!(message.parts[0].kind, PartKind::Protected);
    assert_eq!(message.attachments().count(), 0);
}

#[test]
fn case_11_calendar_kept_document_stripped() {
    let message = case("11-calendar-invite.eml");
    let calendars = message.parts.iter().filter(|part| part.content_type == "text/calendar").count();
    assert_eq!(calendars, 2);
    assert!(message.parts.iter().filter(|part| part.content_type == "text/calendar").all(|part| part.kind == PartKind::Protected));
    assert_eq!(attachment_names(&message), ["agenda.pdf"]);
}

#[test]
fn case_12_uuencode_stays_in_body() {
    let message = case("12-uuencode-in-text-body.eml");
    assert_eq!(message.parts[0].kind, PartKind::Body);
    assert_eq!(message.attachments().count(), 0);
}

#[test]
fn case_14_zero_length_attachments() {
    let message = case("14-zero-length-attachment.eml");
    let sizes: Vec<u64> = message.attachments().map(|part| part.size()).collect();
    assert_eq!(sizes, [0, 0]);
    assert_eq!(attachment_names(&message), ["empty.txt", "empty.bin"]);
}

#[test]
fn case_15_generated_names_with_extension() {
    let message = case("15-attachment-without-filename.eml");
    assert_eq!(attachment_names(&message), ["24344.doc", "attachment-3.png", "attachment-4.bin"]);
    assert_eq!(attachment_names(&message), attachment_names(&case("15-attachment-without-filename.eml")));
}

#[test]
fn case_17_hostile_subject_and_sender() {
    for name in ["17-subject-sender-folder-name.eml", "17b-dotdot-subject-and-sender.eml"] {
        let message = case(name);
        let first = folder(&message);
        assert_one_folder_level(&first);
        assert_eq!(first, folder(&case(name)), "{name} folder changes between runs");
    }
    let folder_17 = folder(&case("17-subject-sender-folder-name.eml"));
    assert!(!folder_17.as_str().contains("X-Injected: yes\r"), "{folder_17}");
}

#[test]
fn case_18_message_id_fallbacks() {
    let missing = folder(&case("18-missing-message-id.eml"));
    assert!(missing.as_str().ends_with(")>"), "{missing}");
    assert!(missing.as_str().contains("_<No Message Id ("), "{missing}");
    assert_eq!(missing, folder(&case("18-missing-message-id.eml")));

    let odd = folder(&case("18b-odd-message-id.eml"));
    assert_one_folder_level(&odd);
    assert!(odd.as_str().contains("_<[AAMkADk0==_.._.._x]@example.com>"), "{odd}");

    let empty_domain = folder(&case("18c-empty-domain-message-id.eml"));
    assert!(empty_domain.as_str().ends_with("_<njzifx.9stqh0@>"), "{empty_domain}");
}

#[test]
fn case_19_first_header_instance_wins() {
    let message = case("19-duplicate-headers.eml");
    assert_eq!(message.subject.as_deref(), Some("Salary adjustment"));
    assert_eq!(message.from.as_deref(), Some("payroll@example.com"));
    assert_eq!(message.message_id.as_deref(), Some("dup-19-a@example.com"));
    assert_eq!(message.date.unwrap().to_rfc3339(), "2024-07-25T09:00:00+00:00");
    for name in ["Subject", "From", "Date", "Message-ID"] {
        let defect = Defect::DuplicateHeader { name: name.to_string() };
        assert!(message.defects.contains(&defect), "{name}: {:?}", message.defects);
    }
}

#[test]
fn case_20_dates_for_folders() {
    let invalid = folder(&case("20-invalid-date.eml"));
    assert!(invalid.as_str().starts_with("Email Gateway/2026-12-04/"), "invalid date uses arrival: {invalid}");

    let obsolete = folder(&case("20b-obsolete-date-syntax.eml"));
    assert!(obsolete.as_str().starts_with("Email Gateway/2025-02-12/"), "{obsolete}");

    let crosses = folder(&case("20c-date-crosses-utc-day.eml"));
    assert!(crosses.as_str().starts_with("Email Gateway/2024-07-27/"), "the folder date is the UTC day: {crosses}");
}

#[test]
fn case_27_latin1_name_falls_back() {
    let message = case("27-smtputf8-and-8bit-headers.eml");
    assert_eq!(attachment_names(&message), ["r\u{e9}sum\u{e9}.pdf"]);
}

#[test]
fn case_28_bare_lf_parsed_like_crlf() {
    let message = case("28-bare-lf-and-missing-blank-line.eml");

    assert_eq!(message.defects, [Defect::BareLineFeed, Defect::MissingBlankLine]);
    assert!(!has_bare_line_feed(&message.raw));
    assert_eq!(message.parts[0].content_type, "multipart/alternative");
    assert_eq!(message.parts[0].boundary.as_deref(), Some("lf28"));
    let bodies: Vec<(PartKind, String)> =
        message.parts.iter().skip(1).map(|part| (part.kind, part.content_type.clone())).collect();
    assert_eq!(bodies, [(PartKind::Body, "text/plain".to_string()), (PartKind::Body, "text/html".to_string())]);
    assert!(message.parts[1].content.starts_with(b"Plain version"));
    assert_eq!(message.parts[2].content, b"<p>HTML version</p>");
    let campaign = message.headers.iter().find(|header| header.name == "X-Campaign").unwrap();
    assert_eq!(campaign.value, "summer hello");
}

#[test]
fn case_28_rewrite_keeps_both_alternatives() {
    let message = case("28-bare-lf-and-missing-blank-line.eml");
    let plan = Rewrite { links: vec![link("report.pdf")], ..Rewrite::default() };

    let output = rewrite(&message, &plan);

    assert!(!has_bare_line_feed(&output), "{}", String::from_utf8_lossy(&output));
    let reparsed = ParsedMessage::parse(output.clone()).unwrap();
    assert!(reparsed.defects.is_empty(), "{:?}", reparsed.defects);
    let plain = reparsed.parts.iter().find(|part| part.content_type == "text/plain").unwrap();
    let html = reparsed.parts.iter().find(|part| part.content_type == "text/html").unwrap();
    assert_eq!(plain.kind, PartKind::Body);
    assert_eq!(html.kind, PartKind::Body);
    assert!(plain.content.starts_with(b"Plain version"), "{}", String::from_utf8_lossy(&plain.content));
    assert!(contains(&plain.content, b"report.pdf-id"));
    assert!(html.content.starts_with(b"<p>HTML version</p>"), "{}", String::from_utf8_lossy(&html.content));
    assert!(contains(&html.content, b"report.pdf-id"));
}

#[test]
fn case_28_empty_rewrite_writes_crlf() {
    let message = case("28-bare-lf-and-missing-blank-line.eml");

    let output = rewrite(&message, &Rewrite::default());

    assert!(!has_bare_line_feed(&output));
    assert!(contains(&output, b"X-Campaign: summer\r\n hello\r\n\r\n--lf28\r\n"), "{}", String::from_utf8_lossy(&output));
}

#[test]
fn case_29_folded_parameters_unfold() {
    let message = case("29-folded-content-type-params.eml");

    assert_eq!(message.parts[0].content_type, "multipart/mixed");
    assert_eq!(message.parts[0].boundary.as_deref(), Some("outer29"));
    let inner = message.parts.iter().find(|part| part.boundary.as_deref() == Some("inner29"));
    let inner = inner.unwrap_or_else(|| panic!("nested multipart not parsed: {:?}", leaves(&message)));
    assert_eq!(inner.kind, PartKind::Container);
    assert_eq!(
        leaves(&message),
        [
            (PartKind::Body, "text/plain".to_string(), None),
            (PartKind::Attachment, "application/vnd.ms-excel".to_string(), Some("budget.xls".to_string())),
            (PartKind::Body, "text/plain".to_string(), None),
            (PartKind::Attachment, "application/zip".to_string(), Some("inner.zip".to_string())),
        ]
    );
    assert_eq!(message.defects, [Defect::MissingParameterSeparator { part: inner.id }]);
}

#[test]
fn case_29_nested_attachment_removed() {
    let message = case("29-folded-content-type-params.eml");

    let output = rewrite(&message, &remove_all_attachments(&message));

    assert!(!contains(&output, b"0M8R4KGxGuEAAAAA"), "budget.xls still present");
    assert!(!contains(&output, b"UEsFBgAAAAAA"), "inner.zip still present");
    assert!(contains(&output, b"Outer text."));
    assert!(contains(&output, b"Inner text."));
    assert_eq!(ParsedMessage::parse(output).unwrap().attachments().count(), 0);
}
