//! The sanitize stage on parsed messages: the built-in engine on Office and
//! HTML attachments, the failure policies, and the MetaDefender Core engine
//! against a stand-in Core on loopback.

use std::collections::{BTreeSet, HashMap};

use base64::Engine as _;
use mailgate::{Config, SanitizeFailurePolicy, SanitizeStage};
use mailgate_message::{ParsedMessage, PartId};
use mailgate_sanitize::Limits;
use mailgate_sanitize::testing::{docm, read_entries};
use mailgate_scan::testing::{API_KEY, CoreStandIn, Script, StatusCode, finished};
use mailgate_scan::{ScanRequest, Scanner, Verdict};

const DOCM_TYPE: &str = "application/vnd.ms-word.document.macroEnabled.12";
const DOCX_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

const ACTIVE_HTML: &str = "<!DOCTYPE html><html><body><h1>Invoice 42</h1>\
    <p>Amount due: 100 EUR</p><script>steal(document.cookie);</script></body></html>";

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// One attachment of a test message: `Content-Type` value, file name, content.
type Attachment<'a> = (&'a str, &'a str, &'a [u8]);

/// Builds and parses a multipart/mixed message with a text body and the
/// attachments, each encoded in base64.
fn message(attachments: &[Attachment<'_>]) -> ParsedMessage {
    let mut raw = String::from(
        "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: Files\r\n\
         Message-ID: <sanitize-test@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe files are attached.\r\n",
    );
    for (content_type, file_name, content) in attachments {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|chunk| std::str::from_utf8(chunk).unwrap()).collect();
        raw.push_str(&format!(
            "--b1\r\nContent-Type: {content_type}\r\nContent-Disposition: attachment; filename=\"{file_name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            lines.join("\r\n")
        ));
    }
    raw.push_str("--b1--\r\n");

    ParsedMessage::parse(raw.into_bytes()).unwrap()
}

/// Returns the id of the attachment named `file_name`.
fn part_id(message: &ParsedMessage, file_name: &str) -> PartId {
    message
        .attachments()
        .find(|part| part.file_name.as_deref() == Some(file_name))
        .map(|part| part.id)
        .unwrap_or_else(|| panic!("no attachment named {file_name}"))
}

fn all_attachments(message: &ParsedMessage) -> BTreeSet<PartId> {
    message.attachments().map(|part| part.id).collect()
}

fn builtin(failure: SanitizeFailurePolicy) -> SanitizeStage {
    SanitizeStage::builtin(Limits::default(), failure)
}

/// Returns the configuration with Core at the stand-in as the engine of
/// `[scan]` and `[sanitize]`.
fn core_config(stand_in: &CoreStandIn, failure: &str) -> Config {
    Config::from_toml(&format!(
        "[scan]\nengine = \"metadefender\"\nmetadefender_url = \"{}\"\nmetadefender_api_key = \"{API_KEY}\"\n\
         [sanitize]\nengine = \"metadefender\"\nfailure = \"{failure}\"\n",
        stand_in.url
    ))
    .unwrap()
}

fn core_stage(config: &Config) -> SanitizeStage {
    config.sanitize.build_stage(&config.scan).unwrap()
}

fn sanitized_by_core() -> Script {
    Script {
        polls: vec![finished(0, "Allowed", "", "Sanitized")],
        converted: Some(b"%PDF-1.4 sanitized by Core".to_vec()),
        ..Script::default()
    }
}

#[tokio::test]
async fn docm_becomes_docx_without_vba() {
    let original = docm();
    let message = message(&[(DOCM_TYPE, "Q3 report.docm", &original)]);
    let id = part_id(&message, "Q3 report.docm");

    let result =
        builtin(SanitizeFailurePolicy::KeepOriginal).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    assert!(result.failed.is_empty(), "{:?}", result.failed);
    assert_eq!(result.sanitized.len(), 1, "{:?}", result.sanitized);
    let part = &result.sanitized[0];
    assert_eq!(part.part_id, id);
    assert_eq!(part.file_name.as_deref(), Some("Q3 report.docx"));
    assert_eq!(part.content_type.as_deref(), Some(DOCX_TYPE));
    assert_eq!(part.original_size, original.len() as u64);
    assert_eq!(part.engine, "builtin");
    assert!(part.removed.iter().any(|line| line.contains("VBA")), "{:?}", part.removed);

    let names: Vec<String> = read_entries(&part.content).into_iter().map(|(name, _)| name).collect();
    assert!(names.contains(&"word/document.xml".to_string()), "{names:?}");
    assert!(!names.iter().any(|name| name.ends_with("vbaProject.bin")), "{names:?}");
}

#[tokio::test]
async fn html_loses_script() {
    let message = message(&[("text/html; charset=utf-8", "invoice.html", ACTIVE_HTML.as_bytes())]);

    let result =
        builtin(SanitizeFailurePolicy::KeepOriginal).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    assert_eq!(result.sanitized.len(), 1, "{result:?}");
    let part = &result.sanitized[0];
    let text = String::from_utf8(part.content.clone()).unwrap();
    assert!(!text.to_ascii_lowercase().contains("<script"), "{text}");
    assert!(!text.contains("steal("), "{text}");
    assert!(text.contains("Invoice 42"), "{text}");
    assert!(part.removed.iter().any(|line| line.contains("script element")), "{:?}", part.removed);
    assert_eq!(part.file_name, None);
    assert_eq!(part.content_type, None);
}

#[tokio::test]
async fn html_charset_becomes_utf8() {
    let latin1 = b"<html><body><p>Gr\xfc\xdfe</p><script>x()</script></body></html>";
    let message = message(&[("text/html; charset=iso-8859-1", "greeting.html", latin1)]);

    let result =
        builtin(SanitizeFailurePolicy::KeepOriginal).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    let part = &result.sanitized[0];
    assert_eq!(part.content_type.as_deref(), Some("text/html; charset=utf-8"));
    let text = String::from_utf8(part.content.clone()).unwrap();
    assert!(text.contains("Grüße"), "{text}");
}

#[tokio::test]
async fn pdf_untouched() {
    let message = message(&[("application/pdf", "report.pdf", PDF)]);

    let result = builtin(SanitizeFailurePolicy::Remove).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    assert!(result.is_empty(), "{result:?}");
}

#[tokio::test]
async fn only_requested_attachments() {
    let original = docm();
    let message = message(&[(DOCM_TYPE, "macros.docm", &original), ("text/html", "page.html", ACTIVE_HTML.as_bytes())]);
    let html = part_id(&message, "page.html");
    let body = PartId(1);
    let missing = PartId(99);
    let requested = BTreeSet::from([html, body, missing]);

    let result = builtin(SanitizeFailurePolicy::KeepOriginal).sanitize(&message, &requested, &HashMap::new()).await;

    let sanitized: Vec<PartId> = result.sanitized.iter().map(|part| part.part_id).collect();
    assert_eq!(sanitized, vec![html]);
    assert!(result.failed.is_empty(), "{:?}", result.failed);
}

#[tokio::test]
async fn failure_keeps_original_by_default() {
    let corrupt = b"PK\x03\x04 this is not a complete ZIP archive";
    let message = message(&[(DOCM_TYPE, "broken.docm", corrupt)]);
    let id = part_id(&message, "broken.docm");

    let result = builtin(SanitizeFailurePolicy::default()).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    assert!(result.sanitized.is_empty(), "{result:?}");
    assert_eq!(result.failed.len(), 1, "{result:?}");
    let failure = &result.failed[0];
    assert_eq!(failure.part_id, id);
    assert_eq!(failure.file_name, "broken.docm");
    assert!(failure.reason.contains("ZIP"), "{}", failure.reason);
    assert!(!failure.temporary);
    assert_eq!(failure.policy, SanitizeFailurePolicy::KeepOriginal);
    assert!(result.removed_parts().is_empty());
    assert!(result.withheld().is_empty());
}

#[tokio::test]
async fn failure_removes_part_by_policy() {
    let corrupt = b"PK\x03\x04 this is not a complete ZIP archive";
    let message = message(&[(DOCM_TYPE, "broken.docm", corrupt)]);
    let id = part_id(&message, "broken.docm");

    let result = builtin(SanitizeFailurePolicy::Remove).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    assert_eq!(result.removed_parts(), BTreeSet::from([id]));
    let withheld = result.withheld();
    assert_eq!(withheld.len(), 1);
    assert_eq!(withheld[0].file_name, "broken.docm");
    assert!(withheld[0].reason.contains("could not be sanitized"), "{}", withheld[0].reason);
}

#[tokio::test]
async fn over_limit_fails() {
    let original = docm();
    let message = message(&[(DOCM_TYPE, "report.docm", &original)]);
    let limits = Limits { max_entries: 3, ..Limits::default() };

    let result = SanitizeStage::builtin(limits, SanitizeFailurePolicy::KeepOriginal)
        .sanitize(&message, &all_attachments(&message), &HashMap::new())
        .await;

    assert!(result.sanitized.is_empty(), "{result:?}");
    assert_eq!(result.failed.len(), 1, "{result:?}");
    assert!(result.failed[0].reason.contains("limit"), "{}", result.failed[0].reason);
}

#[tokio::test]
async fn core_scan_copy_fetched() {
    let stand_in = CoreStandIn::start(sanitized_by_core()).await;
    let config = core_config(&stand_in, "keep-original");
    let message = message(&[("application/pdf", "report.pdf", PDF)]);
    let id = part_id(&message, "report.pdf");
    let part = message.part(id).unwrap();
    let scanner = config.scan.build_engine().unwrap();
    let request = ScanRequest::new(&part.content_type, &part.content).with_file_name("report.pdf");
    let verdict = scanner.scan(request).await;
    assert!(verdict.sanitized_copy().is_some(), "{verdict}");
    let data_id = verdict.data_id().unwrap().to_string();

    let result = core_stage(&config).sanitize(&message, &BTreeSet::from([id]), &HashMap::from([(id, verdict)])).await;

    assert_eq!(result.sanitized.len(), 1, "{result:?}");
    let sanitized = &result.sanitized[0];
    assert_eq!(sanitized.content, b"%PDF-1.4 sanitized by Core");
    assert_eq!(sanitized.engine, "metadefender");
    assert_eq!(sanitized.original_size, PDF.len() as u64);
    assert_eq!(sanitized.file_name, None);
    assert_eq!(sanitized.content_type, None);
    assert_eq!(sanitized.removed.len(), 1);
    assert_eq!(stand_in.submissions().len(), 1, "the stage submitted the part again");
    assert_eq!(stand_in.converted_requests(), vec![data_id]);
}

#[tokio::test]
async fn core_submits_unscanned_part() {
    let stand_in = CoreStandIn::start(sanitized_by_core()).await;
    let config = core_config(&stand_in, "keep-original");
    let message = message(&[("application/pdf", "report.pdf", PDF)]);
    let id = part_id(&message, "report.pdf");
    let builtin_verdict = HashMap::from([(id, Verdict::clean("builtin"))]);

    let result = core_stage(&config).sanitize(&message, &BTreeSet::from([id]), &builtin_verdict).await;

    assert_eq!(result.sanitized.len(), 1, "{result:?}");
    assert_eq!(result.sanitized[0].content, b"%PDF-1.4 sanitized by Core");
    let submissions = stand_in.submissions();
    assert_eq!(submissions.len(), 1);
    assert_eq!(submissions[0].body, PDF);
    assert_eq!(submissions[0].file_name.as_deref(), Some("report.pdf"));
    assert_eq!(stand_in.converted_requests().len(), 1);
}

#[tokio::test]
async fn core_not_sanitized_kept() {
    let stand_in = CoreStandIn::start(Script::polls(vec![finished(0, "Allowed", "", "")])).await;
    let config = core_config(&stand_in, "remove");
    let message = message(&[("application/pdf", "report.pdf", PDF)]);
    let id = part_id(&message, "report.pdf");
    let part = message.part(id).unwrap();
    let verdict = config.scan.build_engine().unwrap().scan(ScanRequest::new(&part.content_type, &part.content)).await;
    assert!(verdict.data_id().is_some(), "{verdict}");

    let scanned = core_stage(&config).sanitize(&message, &BTreeSet::from([id]), &HashMap::from([(id, verdict)])).await;
    let submitted = core_stage(&config).sanitize(&message, &BTreeSet::from([id]), &HashMap::new()).await;

    assert!(scanned.is_empty(), "{scanned:?}");
    assert!(submitted.is_empty(), "{submitted:?}");
    assert_eq!(stand_in.submissions().len(), 2);
    assert!(stand_in.converted_requests().is_empty(), "{:?}", stand_in.converted_requests());
}

#[tokio::test]
async fn core_missing_copy_kept() {
    let script = Script { converted: None, ..sanitized_by_core() };
    let stand_in = CoreStandIn::start(script).await;
    let config = core_config(&stand_in, "remove");
    let message = message(&[("application/pdf", "report.pdf", PDF)]);

    let result = core_stage(&config).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    assert!(result.is_empty(), "{result:?}");
    assert_eq!(stand_in.converted_requests().len(), 1);
}

#[tokio::test]
async fn core_block_fails() {
    let stand_in = CoreStandIn::start(Script::polls(vec![finished(1, "Blocked", "Infected", "")])).await;
    let config = core_config(&stand_in, "remove");
    let message = message(&[("application/pdf", "report.pdf", PDF)]);
    let id = part_id(&message, "report.pdf");

    let result = core_stage(&config).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    assert_eq!(result.failed.len(), 1, "{result:?}");
    let failure = &result.failed[0];
    assert!(failure.reason.contains("blocked"), "{}", failure.reason);
    assert!(failure.reason.contains("Infected"), "{}", failure.reason);
    assert!(!failure.temporary);
    assert_eq!(result.removed_parts(), BTreeSet::from([id]));
}

#[tokio::test]
async fn core_busy_fails_temporarily() {
    let script = Script {
        submit_response: Some((StatusCode::SERVICE_UNAVAILABLE, r#"{"err": "Queue is full"}"#.to_string())),
        ..Script::default()
    };
    let stand_in = CoreStandIn::start(script).await;
    let config = core_config(&stand_in, "keep-original");
    let message = message(&[("application/pdf", "report.pdf", PDF)]);

    let result = core_stage(&config).sanitize(&message, &all_attachments(&message), &HashMap::new()).await;

    assert_eq!(result.failed.len(), 1, "{result:?}");
    let failure = &result.failed[0];
    assert!(failure.temporary, "{failure:?}");
    assert!(failure.reason.contains("queue is full"), "{}", failure.reason);
    assert!(result.removed_parts().is_empty());
}
