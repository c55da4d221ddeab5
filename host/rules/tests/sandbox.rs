//! Rules run as real components built from `plugins/`: shipped rules return
//! the expected actions, hostile ones are contained.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailgate_message::{Envelope, ParsedMessage, PartId};
use mailgate_rules::{
    Action, COMPONENT_DIR, RuleEngine, RuleFailure, RuleInput, RuleLimits, RuleLoadError, RuleSource,
};

fn sample_input() -> RuleInput {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail/pdf-with-inline-logo.eml");
    let message = ParsedMessage::parse(std::fs::read(path).unwrap()).unwrap();
    let envelope = Envelope {
        client_address: "127.0.0.1".to_string(),
        helo: "client.example.com".to_string(),
        mail_from: "alice@example.com".to_string(),
        rcpt_to: vec!["bob@example.org".to_string()],
    };
    RuleInput::new(&message, &envelope)
}

fn pdf_part() -> PartId {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail/pdf-with-inline-logo.eml");
    let message = ParsedMessage::parse(std::fs::read(path).unwrap()).unwrap();
    message.parts.iter().find(|part| part.content_type == "application/pdf").unwrap().id
}

fn test_component(name: &str) -> RuleSource {
    RuleSource::File(Path::new(COMPONENT_DIR).join(format!("{name}.wasm")))
}

#[test]
fn secure_storage_removes_uploads_links() {
    let engine = RuleEngine::new().unwrap();
    let rule = engine
        .load("storage", &RuleSource::Shipped("secure-storage".to_string()), RuleLimits::default())
        .unwrap();

    let actions = rule.evaluate(&sample_input()).unwrap();

    let pdf = pdf_part();
    assert_eq!(
        actions,
        vec![Action::RemoveParts(vec![pdf]), Action::UploadParts(vec![pdf]), Action::LinkUploads]
    );
}

#[test]
fn no_attachment_removes_uploads_without_link() {
    let engine = RuleEngine::new().unwrap();
    let rule = engine
        .load("strip", &RuleSource::Shipped("no-attachment".to_string()), RuleLimits::default())
        .unwrap();

    let actions = rule.evaluate(&sample_input()).unwrap();

    let pdf = pdf_part();
    assert_eq!(actions, vec![Action::RemoveParts(vec![pdf]), Action::UploadParts(vec![pdf])]);
}

#[test]
fn endless_loop_times_out_then_next_runs() {
    let engine = RuleEngine::new().unwrap();
    let limits = RuleLimits { timeout: Duration::from_millis(200), ..RuleLimits::default() };
    let looping = engine.load("looping", &test_component("endless_loop"), limits).unwrap();
    let storage = engine
        .load("storage", &RuleSource::Shipped("secure-storage".to_string()), RuleLimits::default())
        .unwrap();
    let input = sample_input();

    let started = Instant::now();
    let failure = looping.evaluate(&input).unwrap_err();
    let elapsed = started.elapsed();

    assert!(matches!(failure, RuleFailure::TimedOut { ref rule, limit_ms: 200 } if rule == "looping"), "{failure}");
    assert!(elapsed < Duration::from_secs(5), "interrupt took {elapsed:?}");
    assert!(storage.evaluate(&input).is_ok());
    assert!(matches!(looping.evaluate(&input), Err(RuleFailure::TimedOut { .. })));
}

#[test]
fn trap_is_reported_with_rule_name() {
    let engine = RuleEngine::new().unwrap();
    let trapping = engine.load("crashing", &test_component("trap"), RuleLimits::default()).unwrap();

    let failure = trapping.evaluate(&sample_input()).unwrap_err();

    assert!(matches!(failure, RuleFailure::Trapped { ref rule, .. } if rule == "crashing"), "{failure}");
    assert!(failure.to_string().contains("rule `crashing` trapped"), "{failure}");
}

#[test]
fn memory_limit_below_need_traps() {
    let engine = RuleEngine::new().unwrap();
    let limits = RuleLimits { max_memory_bytes: 64 * 1024, ..RuleLimits::default() };
    let rule = engine.load("tiny", &RuleSource::Shipped("secure-storage".to_string()), limits).unwrap();

    let failure = rule.evaluate(&sample_input()).unwrap_err();

    assert!(
        matches!(failure, RuleFailure::Trapped { .. } | RuleFailure::Instantiate { .. }),
        "{failure}"
    );
}

#[test]
fn unknown_shipped_rule_lists_names() {
    let engine = RuleEngine::new().unwrap();
    let error = engine
        .load("mine", &RuleSource::Shipped("no-such-rule".to_string()), RuleLimits::default())
        .unwrap_err();

    assert!(matches!(error, RuleLoadError::UnknownShippedRule { .. }));
    assert!(error.to_string().contains("no-attachment, secure-storage"), "{error}");
}

#[test]
fn missing_component_file_named() {
    let engine = RuleEngine::new().unwrap();
    let error = engine
        .load("mine", &RuleSource::File(PathBuf::from("/nonexistent/rule.wasm")), RuleLimits::default())
        .unwrap_err();

    assert!(matches!(error, RuleLoadError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/rule.wasm"), "{error}");
}

#[test]
fn garbage_component_rejected() {
    let engine = RuleEngine::new().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"this is not wasm").unwrap();

    let error = engine
        .load("garbage", &RuleSource::File(file.path().to_path_buf()), RuleLimits::default())
        .unwrap_err();

    assert!(matches!(error, RuleLoadError::Compile { .. }), "{error}");
}

#[test]
fn core_module_without_interface_rejected() {
    let engine = RuleEngine::new().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    // An empty component: valid, but it exports nothing.
    std::fs::write(file.path(), b"\0asm\x0d\0\x01\0").unwrap();

    let error = engine
        .load("empty", &RuleSource::File(file.path().to_path_buf()), RuleLimits::default())
        .unwrap_err();

    assert!(matches!(error, RuleLoadError::Interface { .. } | RuleLoadError::Compile { .. }), "{error}");
}
