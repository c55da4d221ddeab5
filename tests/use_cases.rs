//! The six use cases of the shipped rules, end to end over real SMTP.
//!
//! Each test configures the shipped rule of one use case, the built-in vault
//! and an SMTP sink as next hop, and sends a message with an inline logo and
//! attachments. It then checks three results:
//! - the message that reaches the next hop: attachments, links and notice in
//!   the text and HTML bodies, and the inline logo;
//! - the files in the message's vault folder: names, and the downloaded bytes;
//! - the message's history record: outcome, rule actions, uploads and scan
//!   verdicts.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use mailgate::{Config, FailurePolicyConfig, RunningGateway};
use mailgate_history::{MessageRecord, Outcome, PartVerdict, RuleResult, RuleStatus, UploadStatus};
use mailgate_message::{ParsedMessage, PartKind};
use mailgate_sanitize::testing::{docm, read_entries};
use mailgate_tests::{
    SmtpSink, VAULT_KEY, before_queue_config, config, file_rule, final_record, queue_id_of, send_message, shipped_rule,
    start_gateway, test_rule, vault_client,
};
use mailgate_vault::mailgate_scan::EICAR_TEST_FILE;
use mailgate_vault::{AvailabilityState, FileId, FileStatus};
use sha2::{Digest, Sha256};

/// `Date` of every test message. The vault folder takes its UTC day.
const DATE: &str = "Mon, 28 Sep 2026 10:15:42 +0000";

/// The day of [`DATE`] as the vault folder names it.
const FOLDER_DAY: &str = "2026-09-28";

/// Content-ID of the inline logo, which the HTML body references with `cid:`.
const LOGO_CID: &str = "logo.7f3a@example.com";

/// A 16 by 16 pixel PNG, base64, the inline logo of every test message.
const LOGO_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR4nGOQi1pAEmIY1TCqYfhqAABaJBgQW+XgqwAAAABJRU5ErkJggg==";

/// A minimal PDF file.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// A short text file.
const NOTES: &[u8] = b"Agenda for Monday:\n1. Quarterly figures\n2. Hiring\n";

/// Sentence of the text body that every delivered message must keep.
const BODY_TEXT: &str = "the files are attached.";

/// Heading of the notice's list of links.
const LINKS_HEADING: &str = "Attachments of this message were moved to secure storage:";

/// Heading of the notice's list of files removed and not linked.
const WITHHELD_HEADING: &str = "Attachments of this message were removed:";

/// Media type of a macro-enabled Word document (`.docm`).
const DOCM_TYPE: &str = "application/vnd.ms-word.document.macroEnabled.12";

/// Media type of a Word document without macros (`.docx`).
const DOCX_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// One attachment of a test message: `Content-Type` value, file name, content.
type Attachment<'a> = (&'a str, &'a str, &'a [u8]);

/// Builds a message as a mail client sends it: a `multipart/mixed` with a
/// `multipart/related` (text and HTML alternatives, and the inline logo that
/// the HTML shows) followed by the attachments, each in base64.
///
/// The sender is `alice@example.com`, so the vault folder is
/// `Email Gateway/2026-09-28/<subject>_<alice@example.com>_<<message_id>>`.
fn message(subject: &str, message_id: &str, attachments: &[Attachment<'_>]) -> Vec<u8> {
    let mut raw = format!(
        "From: Alice Example <alice@example.com>\r\nTo: Bob Example <bob@example.org>\r\n\
         Subject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: {DATE}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"mixed\"\r\n\r\n\
         --mixed\r\nContent-Type: multipart/related; boundary=\"related\"\r\n\r\n\
         --related\r\nContent-Type: multipart/alternative; boundary=\"alternative\"\r\n\r\n\
         --alternative\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hi Bob,\r\n\r\n{BODY_TEXT}\r\n\r\nAlice\r\n\
         --alternative\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <html><body><p><img src=\"cid:{LOGO_CID}\" alt=\"Example Corp\"></p>\
         <p>Hi Bob,</p><p>{BODY_TEXT}</p><p>Alice</p></body></html>\r\n\
         --alternative--\r\n\
         --related\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-Disposition: inline; filename=\"logo.png\"\r\n\
         Content-ID: <{LOGO_CID}>\r\nContent-Transfer-Encoding: base64\r\n\r\n{LOGO_BASE64}\r\n\
         --related--\r\n"
    );
    for (content_type, file_name, content) in attachments {
        raw.push_str(&format!(
            "--mixed\r\nContent-Type: {content_type}; name=\"{file_name}\"\r\n\
             Content-Disposition: attachment; filename=\"{file_name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64_lines(content)
        ));
    }
    raw.push_str("--mixed--\r\n");
    raw.into_bytes()
}

/// Encodes `content` in base64 lines of 76 characters.
fn base64_lines(content: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|chunk| std::str::from_utf8(chunk).unwrap()).collect();
    lines.join("\r\n")
}

fn logo() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(LOGO_BASE64).unwrap()
}

/// Vault folder of a test message sent with [`message`].
fn folder_of(subject: &str, message_id: &str) -> String {
    format!("Email Gateway/{FOLDER_DAY}/{subject}_<alice@example.com>_<{message_id}>")
}

/// Returns the part ids of the attachments named `file_names` in `raw`, as
/// the history writes them in actions: `6, 7`.
fn part_ids(raw: &[u8], file_names: &[&str]) -> String {
    let parsed = ParsedMessage::parse(raw.to_vec()).unwrap();
    let ids: Vec<String> = file_names
        .iter()
        .map(|name| {
            let part = parsed.attachments().find(|part| part.file_name.as_deref() == Some(*name));
            part.unwrap_or_else(|| panic!("the test message has no attachment {name}")).id.0.to_string()
        })
        .collect();
    ids.join(", ")
}

/// Starts a gateway with `settings`, sends `raw` to it, and returns the
/// gateway, the message the next hop got, parsed, and the message's history
/// record.
async fn deliver(settings: Config, sink: &SmtpSink, raw: &[u8]) -> (RunningGateway, ParsedMessage, MessageRecord) {
    let gateway = start_gateway(settings).await;
    let reply = send_message(gateway.smtp_address(), raw).await;
    assert_eq!(reply.code, 250, "reply to the message: {reply:?}");

    let delivered = sink.next_message().await;
    let parsed = ParsedMessage::parse(delivered.data).expect("the delivered message parses");
    let record = final_record(&gateway, &queue_id_of(&reply)).await;
    (gateway, parsed, record)
}

/// Names of the regular attachments of `message`, in message order.
fn attachment_names(message: &ParsedMessage) -> Vec<String> {
    message.attachments().map(|part| part.file_name.clone().unwrap_or_default()).collect()
}

/// Decoded content of the attachment named `file_name`.
fn attachment<'a>(message: &'a ParsedMessage, file_name: &str) -> Option<&'a [u8]> {
    message.attachments().find(|part| part.file_name.as_deref() == Some(file_name)).map(|part| part.content.as_slice())
}

/// Decoded content of the first body part of `media_type`, as UTF-8.
fn body(message: &ParsedMessage, media_type: &str) -> String {
    let part = message
        .parts
        .iter()
        .find(|part| part.kind == PartKind::Body && part.content_type == media_type)
        .unwrap_or_else(|| panic!("no {media_type} body in the delivered message"));
    String::from_utf8(part.content.clone()).expect("the body is UTF-8")
}

/// Checks that the inline logo arrived as sent and that the HTML body still
/// references it.
fn assert_logo_kept(message: &ParsedMessage) {
    let images: Vec<_> = message.parts.iter().filter(|part| part.kind == PartKind::InlineImage).collect();
    assert_eq!(images.len(), 1, "inline images in the delivered message: {images:?}");
    assert_eq!(images[0].content_id.as_deref(), Some(LOGO_CID), "Content-ID of the inline logo");
    assert_eq!(images[0].content, logo(), "content of the inline logo");

    let html = body(message, "text/html");
    assert!(html.contains(&format!("cid:{LOGO_CID}")), "the HTML body lost the logo reference: {html}");
}

/// Checks that both bodies kept the sender's text.
fn assert_bodies_kept(message: &ParsedMessage) {
    let text = body(message, "text/plain");
    let html = body(message, "text/html");
    assert!(text.contains(BODY_TEXT), "text body: {text}");
    assert!(html.contains(BODY_TEXT), "HTML body: {html}");
}

/// Download links to the vault found in a text.
fn links_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .filter(|word| word.contains("/vault_rest/file/"))
        .map(str::to_string)
        .collect()
}

/// Download links to the vault in the `href` attributes of an HTML text.
/// The text of an `<a>` element may repeat its URL, so only `href` counts.
fn html_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|url| url.contains("/vault_rest/file/"))
        .map(str::to_string)
        .collect()
}

/// Returns the download links of the text body, after checking that the
/// HTML body links the same ones in the same order.
fn body_links(message: &ParsedMessage) -> Vec<String> {
    let text = body(message, "text/plain");
    let html = body(message, "text/html");
    let text_links = links_in(&text);
    assert_eq!(text_links, html_links(&html), "links of the text body (left) and the HTML body (right); HTML: {html}");
    text_links
}

/// Lists the files of the built-in vault whose folder is exactly `folder`,
/// sorted by name, through `GET /files/all` of the REST API.
async fn folder_files(gateway: &RunningGateway, folder: &str) -> Vec<FileStatus> {
    let mut files: Vec<FileStatus> =
        all_files(gateway, Some(folder)).await.into_iter().filter(|file| file.path == folder).collect();
    files.sort_by(|first, second| first.name.cmp(&second.name));
    files
}

/// Lists the files of the built-in vault whose name or folder contains
/// `find`, or every file without `find`.
async fn all_files(gateway: &RunningGateway, find: Option<&str>) -> Vec<FileStatus> {
    let base = format!("{}/files/all/0/1000", gateway.builtin_vault_url().expect("the built-in vault runs"));
    let url = match find {
        Some(find) => reqwest::Url::parse_with_params(&base, &[("find", find)]).unwrap(),
        None => reqwest::Url::parse(&base).unwrap(),
    };
    let reply = reqwest::Client::new().get(url).bearer_auth(VAULT_KEY).send().await.unwrap();
    assert_eq!(reply.status(), 200, "status of the vault's file list");

    let listing: serde_json::Value = reply.json().await.unwrap();
    serde_json::from_value(listing["items"].clone()).unwrap_or_else(|error| panic!("invalid file list {listing}: {error}"))
}

/// Names of `files`, in order.
fn names(files: &[FileStatus]) -> Vec<&str> {
    files.iter().map(|file| file.name.as_str()).collect()
}

/// Returns the download link (`file_url`) of a file status.
fn file_url(file: &FileStatus) -> String {
    file.other.get("file_url").and_then(|url| url.as_str()).unwrap_or_else(|| panic!("no file_url in {file:?}")).to_string()
}

/// Downloads `url` as a recipient does, without credentials, and returns
/// the status code and the body.
async fn download(url: &str) -> (u16, Vec<u8>) {
    let reply = reqwest::get(url).await.unwrap();
    let status = reply.status().as_u16();
    (status, reply.bytes().await.unwrap().to_vec())
}

/// Checks that the file named `file_name` in `files` downloads with the
/// bytes `expected`.
async fn assert_downloads(files: &[FileStatus], file_name: &str, expected: &[u8]) {
    let file = files.iter().find(|file| file.name == file_name).unwrap_or_else(|| panic!("{file_name} not in {files:?}"));
    let (status, content) = download(&file_url(file)).await;
    assert_eq!(status, 200, "download status of {file_name}");
    assert!(content == expected, "{file_name} downloaded with {} bytes that differ from the {} sent", content.len(), expected.len());
}

/// Returns the file name that the vault stores behind a download link.
async fn name_behind(gateway: &RunningGateway, link: &str) -> String {
    let id = FileId::from(link.rsplit('/').next().unwrap().to_string());
    vault_client(gateway).file_status(&id).await.unwrap().name
}

/// Builds the history entry of a rule that ran and returned `actions` over
/// both stages.
fn actions(rule: &str, actions: &[&str]) -> RuleResult {
    RuleResult { rule: rule.to_string(), status: RuleStatus::Ran { actions: actions.iter().map(|action| action.to_string()).collect() } }
}

/// Finds the scan verdict recorded for the attachment `file_name`.
fn verdict<'a>(record: &'a MessageRecord, file_name: &str) -> &'a PartVerdict {
    record
        .part_verdicts
        .iter()
        .find(|verdict| verdict.file_name.as_deref() == Some(file_name))
        .unwrap_or_else(|| panic!("no verdict for {file_name}: {:?}", record.part_verdicts))
}

/// Finds the upload recorded for the attachment `file_name`.
fn upload<'a>(record: &'a MessageRecord, file_name: &str) -> &'a UploadStatus {
    record
        .attachments
        .iter()
        .find(|attachment| attachment.file_name == file_name)
        .map(|attachment| &attachment.upload)
        .unwrap_or_else(|| panic!("no attachment record for {file_name}: {:?}", record.attachments))
}

/// Returns the download link recorded for the uploaded attachment
/// `file_name`.
fn uploaded_url(record: &MessageRecord, file_name: &str) -> String {
    match upload(record, file_name) {
        UploadStatus::Uploaded { file_url, .. } => file_url.clone(),
        other => panic!("{file_name} is recorded as {other:?}, not as uploaded"),
    }
}

/// Writes a block list file with the SHA-256 digest of each of `files`.
fn write_block_list(path: &Path, files: &[&[u8]]) {
    let mut text = String::from("# SHA-256 digests of blocked files\n");
    for content in files {
        text.push_str(&sha256_hex(content));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Makes the gateway's scan and the built-in vault both block the digests
/// of the block list file at `block_list`, and the vault scan every stored
/// file.
fn use_block_list(settings: &mut Config, block_list: &Path) {
    settings.scan.block_list = Some(block_list.to_path_buf());
    settings.builtin_vault.scan = true;
    settings.builtin_vault.block_list = Some(block_list.to_path_buf());
}

#[tokio::test]
async fn no_attachment_uploads_without_links() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let settings = config(data_dir.path(), sink.address, vec![shipped_rule("no-attachment")]);
    let (subject, message_id) = ("No attachments", "no-attachment@example.com");
    let raw = message(subject, message_id, &[("application/pdf", "report.pdf", PDF), ("text/plain", "notes.txt", NOTES)]);

    let (gateway, delivered, record) = deliver(settings, &sink, &raw).await;

    assert!(attachment_names(&delivered).is_empty(), "attachments delivered: {:?}", attachment_names(&delivered));
    assert_logo_kept(&delivered);
    assert_bodies_kept(&delivered);
    assert!(body_links(&delivered).is_empty(), "links in the bodies: {:?}", body_links(&delivered));
    let text = body(&delivered, "text/plain");
    let html = body(&delivered, "text/html");
    assert!(!text.contains(LINKS_HEADING), "the text body has a notice of links: {text}");
    assert!(!html.contains(LINKS_HEADING), "the HTML body has a notice of links: {html}");

    let files = folder_files(&gateway, &folder_of(subject, message_id)).await;
    assert_eq!(names(&files), ["notes.txt", "report.pdf"], "files in the message's vault folder");
    assert_downloads(&files, "report.pdf", PDF).await;
    assert_downloads(&files, "notes.txt", NOTES).await;

    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "outcome: {:?}", record.outcome);
    let ids = part_ids(&raw, &["report.pdf", "notes.txt"]);
    let expected = actions("no-attachment", &[&format!("remove parts [{ids}]"), &format!("upload parts [{ids}]")]);
    assert_eq!(record.rule_results, [expected], "rule results");
    for file in &files {
        assert_eq!(uploaded_url(&record, &file.name), file_url(file), "recorded link of {}", file.name);
        let scanned = verdict(&record, &file.name);
        assert_eq!(scanned.verdict, "clean (builtin)", "verdict of {}", file.name);
        assert!(!scanned.sanitized, "{} is recorded as sanitized: {scanned:?}", file.name);
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn secure_storage_links_each_file() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let settings = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    let (subject, message_id) = ("Secure storage", "secure-storage@example.com");
    let raw = message(subject, message_id, &[("application/pdf", "report.pdf", PDF), ("text/plain", "notes.txt", NOTES)]);

    let (gateway, delivered, record) = deliver(settings, &sink, &raw).await;

    assert!(attachment_names(&delivered).is_empty(), "attachments delivered: {:?}", attachment_names(&delivered));
    assert_logo_kept(&delivered);
    assert_bodies_kept(&delivered);
    let text = body(&delivered, "text/plain");
    assert!(text.contains(LINKS_HEADING), "the text body has no notice of links: {text}");
    let links = body_links(&delivered);
    assert_eq!(links.len(), 2, "links in the bodies: {links:?}");
    let mut linked_names = Vec::new();
    for link in &links {
        let name = name_behind(&gateway, link).await;
        let line = text.lines().find(|line| line.contains(link.as_str())).unwrap_or_default();
        assert!(line.contains(&name), "the notice line of the link to {name} names another file: {line:?}");
        let expected = if name == "report.pdf" { PDF } else { NOTES };
        let (status, content) = download(link).await;
        assert_eq!(status, 200, "download status of {link}");
        assert!(content == expected, "{link} downloaded {} bytes that differ from {name}", content.len());
        linked_names.push(name);
    }
    linked_names.sort();
    assert_eq!(linked_names, ["notes.txt", "report.pdf"], "files behind the links");

    let files = folder_files(&gateway, &folder_of(subject, message_id)).await;
    assert_eq!(names(&files), ["notes.txt", "report.pdf"], "files in the message's vault folder");
    for file in &files {
        assert!(links.contains(&file_url(file)), "{} in the vault is not linked: {links:?}", file.name);
    }

    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "outcome: {:?}", record.outcome);
    let ids = part_ids(&raw, &["report.pdf", "notes.txt"]);
    let expected =
        actions("secure-storage", &[&format!("remove parts [{ids}]"), &format!("upload parts [{ids}]"), "link uploads"]);
    assert_eq!(record.rule_results, [expected], "rule results");
    for file in &files {
        assert_eq!(uploaded_url(&record, &file.name), file_url(file), "recorded link of {}", file.name);
        assert_eq!(verdict(&record, &file.name).verdict, "clean (builtin)", "verdict of {}", file.name);
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn offload_scanning_leaves_scan_to_vault() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut settings = config(data_dir.path(), sink.address, vec![shipped_rule("offload-scanning")]);
    assert!(settings.scan.enabled, "the gateway's own scan must be on for this test");
    settings.builtin_vault.scan = true;
    let (subject, message_id) = ("Offload scanning", "offload-scanning@example.com");
    let attachments = [("application/pdf", "report.pdf", PDF), ("application/octet-stream", "eicar.com", EICAR_TEST_FILE)];
    let raw = message(subject, message_id, &attachments);

    let (gateway, delivered, record) = deliver(settings, &sink, &raw).await;

    assert!(attachment_names(&delivered).is_empty(), "attachments delivered: {:?}", attachment_names(&delivered));
    assert_logo_kept(&delivered);
    assert_bodies_kept(&delivered);
    let text = body(&delivered, "text/plain");
    assert!(!text.contains(WITHHELD_HEADING), "the gateway withheld a file it should not have scanned: {text}");
    let links = body_links(&delivered);
    assert_eq!(links.len(), 2, "links in the bodies: {links:?}");

    for file_name in ["report.pdf", "eicar.com"] {
        let scanned = verdict(&record, file_name);
        assert_eq!(scanned.verdict, "not scanned (skipped by a rule)", "verdict of {file_name}");
        assert!(links.contains(&uploaded_url(&record, file_name)), "{file_name} is not linked: {links:?}");
    }
    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "outcome: {:?}", record.outcome);
    let ids = part_ids(&raw, &["report.pdf", "eicar.com"]);
    let expected = actions(
        "offload-scanning",
        &[&format!("skip scan of parts [{ids}]"), &format!("remove parts [{ids}]"), &format!("upload parts [{ids}]"), "link uploads"],
    );
    assert_eq!(record.rule_results, [expected], "rule results");

    let files = folder_files(&gateway, &folder_of(subject, message_id)).await;
    assert_eq!(names(&files), ["eicar.com", "report.pdf"], "files in the message's vault folder");
    let eicar = &files[0];
    assert_eq!(eicar.availability_state, AvailabilityState::Blocked, "vault status of eicar.com: {eicar:?}");
    assert!(!eicar.can_be_downloaded, "the vault lets eicar.com be downloaded: {eicar:?}");
    let (status, _) = download(&uploaded_url(&record, "eicar.com")).await;
    assert_eq!(status, 403, "download status of eicar.com");
    assert_downloads(&files, "report.pdf", PDF).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn false_positive_released_after_rescan() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let invoice: &[u8] = b"%PDF-1.4\n% invoice 2026-0917, flagged by mistake\n%%EOF\n";
    let block_list = data_dir.path().join("blocked.sha256");
    write_block_list(&block_list, &[invoice]);
    let mut settings = config(data_dir.path(), sink.address, vec![shipped_rule("false-positives")]);
    use_block_list(&mut settings, &block_list);
    let (subject, message_id) = ("False positive", "false-positive@example.com");
    let raw = message(subject, message_id, &[("application/pdf", "invoice.pdf", invoice), ("text/plain", "notes.txt", NOTES)]);

    let (gateway, delivered, record) = deliver(settings, &sink, &raw).await;

    assert_eq!(attachment_names(&delivered), ["notes.txt"], "attachments delivered");
    assert_eq!(attachment(&delivered, "notes.txt"), Some(NOTES), "content of the clean attachment");
    assert_logo_kept(&delivered);
    assert_bodies_kept(&delivered);
    let reason = format!("invoice.pdf: blocked by the virus scan (SHA-256 {} is on the block list)", sha256_hex(invoice));
    let text = body(&delivered, "text/plain");
    let html = body(&delivered, "text/html");
    assert!(text.contains(&reason), "the text body does not name the blocked file with the reason: {text}");
    assert!(html.contains(&reason), "the HTML body does not name the blocked file with the reason: {html}");
    let invoice_url = uploaded_url(&record, "invoice.pdf");
    assert_eq!(body_links(&delivered), std::slice::from_ref(&invoice_url), "links in the bodies");

    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "outcome: {:?}", record.outcome);
    let ids = part_ids(&raw, &["invoice.pdf"]);
    assert_eq!(record.rule_results, [actions("false-positives", &[&format!("upload blocked parts [{ids}]"), "link uploads"])]);
    let blocked = verdict(&record, "invoice.pdf");
    assert!(blocked.verdict.starts_with("blocked (builtin): SHA-256"), "verdict of invoice.pdf: {blocked:?}");
    assert_eq!(verdict(&record, "notes.txt").verdict, "clean (builtin)", "verdict of notes.txt");

    let files = folder_files(&gateway, &folder_of(subject, message_id)).await;
    assert_eq!(names(&files), ["invoice.pdf"], "files in the message's vault folder");
    assert_eq!(files[0].availability_state, AvailabilityState::Blocked, "vault status of invoice.pdf: {:?}", files[0]);
    let (status, _) = download(&invoice_url).await;
    assert_eq!(status, 403, "download status of invoice.pdf while its digest is on the block list");

    write_block_list(&block_list, &[]);
    let vault = gateway.builtin_vault().expect("the built-in vault runs");
    let summary = vault.rescan_now().await.expect("the rescan runs");
    let (status, content) = download(&invoice_url).await;
    assert_eq!(status, 200, "download status of invoice.pdf after a clean rescan ({summary:?})");
    assert!(content == invoice, "invoice.pdf downloaded {} bytes that differ from the {} sent", content.len(), invoice.len());

    // SIGHUP also rereads the mail flow's block list, so the same file now
    // arrives attached.
    assert_eq!(gateway.reload_block_list().expect("the block list reloads"), Some(0), "digests after the reload");
    let again = message(subject, "false-positive-again@example.com", &[("application/pdf", "invoice.pdf", invoice)]);
    let reply = send_message(gateway.smtp_address(), &again).await;
    assert_eq!(reply.code, 250, "reply to the second message: {reply:?}");
    let delivered_again = ParsedMessage::parse(sink.next_message().await.data).unwrap();
    assert_eq!(attachment(&delivered_again, "invoice.pdf"), Some(invoice), "invoice.pdf after the block list reload");
    gateway.shutdown().await;
}

#[tokio::test]
async fn blocked_message_leaves_vault_empty() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let invoice: &[u8] = b"%PDF-1.4\n% invoice 2026-0917, flagged by mistake\n%%EOF\n";
    let block_list = data_dir.path().join("blocked.sha256");
    write_block_list(&block_list, &[invoice]);
    let mut trapping = file_rule("crashing", test_rule("trap"), 1000);
    trapping.on_failure = FailurePolicyConfig::Block;
    let mut settings = before_queue_config(data_dir.path(), sink.address, vec![trapping, shipped_rule("false-positives")]);
    use_block_list(&mut settings, &block_list);
    let gateway = start_gateway(settings).await;
    let raw = message("Blocked message", "blocked-message@example.com", &[("application/pdf", "invoice.pdf", invoice)]);

    let reply = send_message(gateway.smtp_address(), &raw).await;

    assert_eq!(reply.code, 550, "reply to the message: {reply:?}");
    assert!(!sink.has_message(Duration::from_millis(300)).await, "the blocked message reached the next hop");
    let stored = all_files(&gateway, None).await;
    assert!(stored.is_empty(), "the vault stores files of a blocked message: {:?}", names(&stored));

    let history = gateway.history().expect("history enabled");
    let summaries = history.query(mailgate_history::HistoryQuery::default()).await.unwrap();
    assert_eq!(summaries.len(), 1, "history records: {summaries:?}");
    let record = history.get(mailgate_history::RecordKey::Id(summaries[0].id)).await.unwrap().unwrap();
    assert!(matches!(&record.outcome, Outcome::Blocked { rule, .. } if rule == "crashing"), "outcome: {:?}", record.outcome);
    assert!(record.part_verdicts.is_empty(), "a blocked message was scanned: {:?}", record.part_verdicts);
    let uploads: Vec<_> = record.attachments.iter().filter(|attachment| attachment.upload != UploadStatus::NotUploaded).collect();
    assert!(uploads.is_empty(), "uploads recorded for a blocked message: {uploads:?}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn sanitized_original_uploaded_and_linked() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let settings = config(data_dir.path(), sink.address, vec![shipped_rule("sanitized-originals")]);
    let (subject, message_id) = ("Sanitized original", "sanitized-original@example.com");
    let original = docm();
    let raw = message(subject, message_id, &[(DOCM_TYPE, "report.docm", &original)]);

    let (gateway, delivered, record) = deliver(settings, &sink, &raw).await;

    assert_logo_kept(&delivered);
    assert_bodies_kept(&delivered);
    let links = body_links(&delivered);
    assert_eq!(links.len(), 1, "links in the bodies: {links:?}");
    assert_eq!(name_behind(&gateway, &links[0]).await, "report.docm", "file behind the link");
    for media_type in ["text/plain", "text/html"] {
        let text = body(&delivered, media_type);
        assert!(text.contains("original before sanitization"), "the {media_type} notice does not call the link the original: {text}");
    }
    let (status, content) = download(&links[0]).await;
    assert_eq!(status, 200, "download status of the original");
    assert!(content == original, "the original downloaded {} bytes that differ from the {} sent", content.len(), original.len());

    let files = folder_files(&gateway, &folder_of(subject, message_id)).await;
    assert_eq!(names(&files), ["report.docm"], "files in the message's vault folder");
    assert_eq!(file_url(&files[0]), links[0], "link of the original in the vault");

    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "outcome: {:?}", record.outcome);
    let ids = part_ids(&raw, &["report.docm"]);
    let expected = actions(
        "sanitized-originals",
        &[&format!("sanitize parts [{ids}]"), &format!("upload originals of parts [{ids}]"), "link uploads"],
    );
    assert_eq!(record.rule_results, [expected], "rule results");
    let scanned = verdict(&record, "report.docm");
    assert_eq!(scanned.verdict, "clean (builtin)", "verdict of report.docm");
    assert!(scanned.sanitized, "report.docm is not recorded as sanitized: {scanned:?}");
    assert_eq!(uploaded_url(&record, "report.docm"), links[0], "recorded link of the original");

    assert_eq!(attachment_names(&delivered), ["report.docx"], "attachments delivered");
    let sanitized = delivered.attachments().next().expect("the sanitized document is delivered");
    assert_eq!(sanitized.content_type, DOCX_TYPE, "media type of the delivered document");
    let entries: Vec<String> = read_entries(&sanitized.content).into_iter().map(|(name, _)| name).collect();
    assert!(entries.contains(&"word/document.xml".to_string()), "the delivered document lost its text: {entries:?}");
    assert!(!entries.iter().any(|name| name.contains("vbaProject")), "the delivered document keeps its VBA project: {entries:?}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn large_attachment_linked_small_kept() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut large_rule = shipped_rule("large-attachments");
    large_rule.settings.insert("max_size".to_string(), toml::Value::Integer(1024));
    let settings = config(data_dir.path(), sink.address, vec![large_rule]);
    let (subject, message_id) = ("Large attachment", "large-attachment@example.com");
    let dataset: Vec<u8> = (0..4096u32).map(|index| (index % 251) as u8).collect();
    let raw = message(subject, message_id, &[("application/octet-stream", "dataset.bin", &dataset), ("text/plain", "notes.txt", NOTES)]);

    let (gateway, delivered, record) = deliver(settings, &sink, &raw).await;

    assert_eq!(attachment_names(&delivered), ["notes.txt"], "attachments delivered");
    assert_eq!(attachment(&delivered, "notes.txt"), Some(NOTES), "content of the small attachment");
    assert_logo_kept(&delivered);
    assert_bodies_kept(&delivered);
    let links = body_links(&delivered);
    assert_eq!(links.len(), 1, "links in the bodies: {links:?}");
    assert_eq!(name_behind(&gateway, &links[0]).await, "dataset.bin", "file behind the link");

    let files = folder_files(&gateway, &folder_of(subject, message_id)).await;
    assert_eq!(names(&files), ["dataset.bin"], "files in the message's vault folder");
    assert_downloads(&files, "dataset.bin", &dataset).await;
    assert_eq!(file_url(&files[0]), links[0], "link of dataset.bin in the vault");

    assert!(matches!(record.outcome, Outcome::Delivered { .. }), "outcome: {:?}", record.outcome);
    let expected = actions("large-attachments", &["remove and upload attachments above 1024 bytes", "link uploads"]);
    assert_eq!(record.rule_results, [expected], "rule results");
    let recorded: Vec<&str> = record.attachments.iter().map(|attachment| attachment.file_name.as_str()).collect();
    assert_eq!(recorded, ["dataset.bin"], "attachments recorded as removed or uploaded");
    assert_eq!(uploaded_url(&record, "dataset.bin"), links[0], "recorded link of dataset.bin");
    assert_eq!(verdict(&record, "dataset.bin").verdict, "clean (builtin)", "verdict of dataset.bin");
    assert_eq!(verdict(&record, "notes.txt").verdict, "clean (builtin)", "verdict of notes.txt");
    gateway.shutdown().await;
}
