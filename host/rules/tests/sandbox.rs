//! Rules run as real components built from `plugins/`: shipped rules return
//! the expected actions, hostile ones are contained, and bad components or
//! settings are rejected at load time with errors that name the cause.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailgate_message::{Envelope, ParsedMessage, PartId};
use mailgate_rules::{
    Action, COMPONENT_DIR, INTERFACE_VERSION, PartSanitization, PartScan, PoolSize, RuleDefinition, RuleEngine,
    RuleFailure, RuleInput, RuleLimits, RuleLoadError, RuleSource, ScanFacts,
};

fn sample_message() -> ParsedMessage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail/pdf-with-inline-logo.eml");
    ParsedMessage::parse(std::fs::read(path).unwrap()).unwrap()
}

fn sample_envelope() -> Envelope {
    Envelope {
        client_address: "127.0.0.1".to_string(),
        helo: "client.example.com".to_string(),
        mail_from: "alice@example.com".to_string(),
        rcpt_to: vec!["bob@example.org".to_string()],
    }
}

fn sample_input() -> RuleInput {
    RuleInput::new(&sample_message(), &sample_envelope())
}

/// Builds the view after the scan, with `facts` about the PDF attachment.
fn after_scan_input(facts: &ScanFacts) -> RuleInput {
    RuleInput::after_scan(&sample_message(), &sample_envelope(), facts)
}

fn pdf_part() -> PartId {
    sample_message().parts.iter().find(|part| part.content_type == "application/pdf").unwrap().id
}

fn shipped(name: &str) -> RuleDefinition {
    RuleDefinition::new(name, RuleSource::Shipped(name.to_string()))
}

fn test_component(name: &str) -> RuleDefinition {
    RuleDefinition::new(name, RuleSource::File(Path::new(COMPONENT_DIR).join(format!("{name}.wasm"))))
}

fn with_settings(mut definition: RuleDefinition, settings: &[(&str, &str)]) -> RuleDefinition {
    definition.settings = settings.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    definition
}

#[test]
fn secure_storage_removes_uploads_links() {
    let engine = RuleEngine::new().unwrap();
    let rule = engine.load(&shipped("secure-storage")).unwrap();

    let actions = rule.evaluate(&sample_input()).unwrap();

    let pdf = pdf_part();
    assert_eq!(actions, vec![Action::RemoveParts(vec![pdf]), Action::UploadParts(vec![pdf]), Action::LinkUploads]);
}

#[test]
fn no_attachment_removes_uploads_without_link() {
    let engine = RuleEngine::new().unwrap();
    let rule = engine.load(&shipped("no-attachment")).unwrap();

    let actions = rule.evaluate(&sample_input()).unwrap();

    let pdf = pdf_part();
    assert_eq!(actions, vec![Action::RemoveParts(vec![pdf]), Action::UploadParts(vec![pdf])]);
}

#[test]
fn large_attachments_respects_max_size() {
    let engine = RuleEngine::new().unwrap();
    let small_limit = engine.load(&with_settings(shipped("large-attachments"), &[("max_size", "100")])).unwrap();
    let large_limit = engine.load(&with_settings(shipped("large-attachments"), &[("max_size", "100000")])).unwrap();
    let default_limit = engine.load(&shipped("large-attachments")).unwrap();

    let pdf = pdf_part();
    assert_eq!(
        small_limit.evaluate(&sample_input()).unwrap(),
        vec![Action::RemoveAboveSize { max_bytes: 100, upload: true }, Action::LinkUploads]
    );
    assert_eq!(small_limit.evaluate(&after_scan_input(&ScanFacts::default())).unwrap(), Vec::new());
    assert_eq!(large_limit.evaluate(&sample_input()).unwrap(), Vec::new());
    assert_eq!(default_limit.evaluate(&sample_input()).unwrap(), Vec::new());
    assert!(sample_message().part(pdf).unwrap().size() > 100);
}

#[test]
fn offload_scanning_skips_scan_and_offloads_before_the_scan() {
    let engine = RuleEngine::new().unwrap();
    let rule = engine.load(&shipped("offload-scanning")).unwrap();

    let pdf = pdf_part();
    assert_eq!(
        rule.evaluate(&sample_input()).unwrap(),
        vec![Action::SkipScan(vec![pdf]), Action::RemoveParts(vec![pdf]), Action::UploadParts(vec![pdf]), Action::LinkUploads]
    );
    assert_eq!(rule.evaluate(&after_scan_input(&ScanFacts::default())).unwrap(), Vec::new());
}

#[test]
fn false_positives_uploads_blocked_files_after_the_scan() {
    let engine = RuleEngine::new().unwrap();
    let rule = engine.load(&shipped("false-positives")).unwrap();
    let pdf = pdf_part();

    let mut facts = ScanFacts::default();
    facts.scans.insert(pdf, PartScan::Clean { engine: "builtin".to_string() });
    assert_eq!(rule.evaluate(&sample_input()).unwrap(), Vec::new());
    assert_eq!(rule.evaluate(&after_scan_input(&facts)).unwrap(), Vec::new());

    facts.scans.insert(pdf, PartScan::Blocked { engine: "builtin".to_string(), reason: "on the block list".to_string() });
    assert_eq!(rule.evaluate(&after_scan_input(&facts)).unwrap(), vec![Action::UploadBlocked(vec![pdf]), Action::LinkUploads]);
}

#[test]
fn sanitized_originals_requests_sanitizing_and_uploads_originals() {
    let engine = RuleEngine::new().unwrap();
    let rule = engine.load(&shipped("sanitized-originals")).unwrap();
    let pdf = pdf_part();

    assert_eq!(rule.evaluate(&sample_input()).unwrap(), vec![Action::Sanitize(vec![pdf])]);
    assert_eq!(rule.evaluate(&after_scan_input(&ScanFacts::default())).unwrap(), Vec::new());

    let mut facts = ScanFacts::default();
    let sanitization =
        PartSanitization { removed: vec!["VBA project".to_string()], original_size: 900, sanitized_size: 700, file_name: None };
    facts.sanitized.insert(pdf, sanitization);
    assert_eq!(rule.evaluate(&after_scan_input(&facts)).unwrap(), vec![Action::UploadOriginals(vec![pdf]), Action::LinkUploads]);

    let without_sanitizing = engine.load(&with_settings(shipped("sanitized-originals"), &[("sanitize", "false")])).unwrap();
    assert_eq!(without_sanitizing.evaluate(&sample_input()).unwrap(), Vec::new());
    let bad = engine.load(&with_settings(shipped("sanitized-originals"), &[("sanitize", "yes")]));
    assert!(matches!(bad, Err(RuleLoadError::InvalidSetting { .. })), "{bad:?}");
}

#[test]
fn bad_setting_value_names_rule_and_setting() {
    let engine = RuleEngine::new().unwrap();
    let definition = with_settings(shipped("large-attachments"), &[("max_size", "ten megabytes")]);

    let error = engine.load(&RuleDefinition { name: "big-files".to_string(), ..definition }).unwrap_err();

    assert!(matches!(error, RuleLoadError::InvalidSetting { ref setting, .. } if setting == "max_size"), "{error}");
    let message = error.to_string();
    assert!(message.contains("rule `big-files`"), "{message}");
    assert!(message.contains("`max_size`"), "{message}");
    assert!(message.contains("ten megabytes"), "{message}");
}

#[test]
fn unknown_setting_rejected() {
    let engine = RuleEngine::new().unwrap();

    let error = engine.load(&with_settings(shipped("secure-storage"), &[("max_sise", "1")])).unwrap_err();

    assert!(matches!(error, RuleLoadError::InvalidSetting { ref setting, .. } if setting == "max_sise"), "{error}");
}

#[test]
fn endless_loop_times_out_then_next_runs() {
    let engine = RuleEngine::new().unwrap();
    let mut definition = test_component("endless_loop");
    definition.limits = RuleLimits { timeout: Duration::from_millis(200), ..RuleLimits::default() };
    let looping = engine.load(&definition).unwrap();
    let storage = engine.load(&shipped("secure-storage")).unwrap();
    let input = sample_input();

    let started = Instant::now();
    let failure = looping.evaluate(&input).unwrap_err();
    let elapsed = started.elapsed();

    assert!(matches!(failure, RuleFailure::TimedOut { ref rule, limit_ms: 200 } if rule == "endless_loop"), "{failure}");
    assert!(elapsed < Duration::from_secs(5), "interrupt took {elapsed:?}");
    assert!(storage.evaluate(&input).is_ok());
    assert!(matches!(looping.evaluate(&input), Err(RuleFailure::TimedOut { .. })));
}

#[test]
fn trap_is_reported_with_rule_name() {
    let engine = RuleEngine::new().unwrap();
    let trapping = engine.load(&test_component("trap")).unwrap();

    let failure = trapping.evaluate(&sample_input()).unwrap_err();

    assert!(matches!(failure, RuleFailure::Trapped { ref rule, .. } if rule == "trap"), "{failure}");
    assert!(failure.to_string().contains("rule `trap` trapped"), "{failure}");
}

#[test]
fn memory_bomb_stopped_by_limit() {
    let engine = RuleEngine::new().unwrap();
    let mut definition = test_component("memory_bomb");
    definition.limits = RuleLimits { max_memory_bytes: 16 * 1024 * 1024, ..RuleLimits::default() };
    let bomb = engine.load(&definition).unwrap();
    let storage = engine.load(&shipped("secure-storage")).unwrap();

    let failure = bomb.evaluate(&sample_input()).unwrap_err();

    assert!(matches!(failure, RuleFailure::Trapped { .. }), "{failure}");
    assert!(storage.evaluate(&sample_input()).is_ok());
}

#[test]
fn sandbox_denies_files_sockets_environment() {
    let engine = RuleEngine::new().unwrap();
    let probe = engine.load(&test_component("sandbox_probe")).unwrap();

    let actions = probe.evaluate(&sample_input()).unwrap();

    assert_eq!(actions, Vec::new(), "the rule reached outside its sandbox");
}

#[test]
fn old_interface_version_rejected() {
    let engine = RuleEngine::new().unwrap();

    let error = engine.load(&test_component("old_interface")).unwrap_err();

    assert!(
        matches!(error, RuleLoadError::IncompatibleVersion { ref component_version, .. } if component_version == "0.1.0"),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("mailgate:rule@0.1.0"), "{message}");
    assert!(message.contains(&format!("mailgate:rule@{INTERFACE_VERSION}")), "{message}");
}

#[test]
fn pinned_digest_mismatch_rejected() {
    let engine = RuleEngine::new().unwrap();
    let mut definition = shipped("secure-storage");
    definition.sha256 = Some("00".repeat(32));

    let error = engine.load(&definition).unwrap_err();

    assert!(matches!(error, RuleLoadError::DigestMismatch { .. }), "{error}");
}

#[test]
fn pinned_digest_match_loads() {
    let engine = RuleEngine::new().unwrap();
    let digest = engine.load(&shipped("secure-storage")).unwrap().digest().to_string();
    let mut definition = shipped("secure-storage");
    definition.sha256 = Some(digest.to_uppercase());

    assert!(engine.load(&definition).is_ok());
}

#[test]
fn cache_reused_after_restart() {
    let cache = tempfile::tempdir().unwrap();
    let first = RuleEngine::new().unwrap().with_cache(cache.path());
    first.load(&shipped("secure-storage")).unwrap();
    let entries: Vec<_> = std::fs::read_dir(cache.path()).unwrap().filter_map(Result::ok).collect();
    assert_eq!(entries.len(), 1, "one compiled component in the cache");

    let second = RuleEngine::new().unwrap().with_cache(cache.path());
    let rule = second.load(&shipped("secure-storage")).unwrap();

    assert!(rule.evaluate(&sample_input()).is_ok());
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
}

#[test]
fn corrupt_cache_entry_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    RuleEngine::new().unwrap().with_cache(cache.path()).load(&shipped("secure-storage")).unwrap();
    let entry = std::fs::read_dir(cache.path()).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&entry, b"garbage").unwrap();

    let rule = RuleEngine::new().unwrap().with_cache(cache.path()).load(&shipped("secure-storage")).unwrap();

    assert!(rule.evaluate(&sample_input()).is_ok());
}

#[test]
fn unknown_shipped_rule_lists_names() {
    let engine = RuleEngine::new().unwrap();
    let error = engine.load(&RuleDefinition::new("mine", RuleSource::Shipped("no-such-rule".to_string()))).unwrap_err();

    assert!(matches!(error, RuleLoadError::UnknownShippedRule { .. }));
    assert!(error.to_string().contains("no-attachment, secure-storage, large-attachments"), "{error}");
}

#[test]
fn missing_component_file_named() {
    let engine = RuleEngine::new().unwrap();
    let error = engine
        .load(&RuleDefinition::new("mine", RuleSource::File(PathBuf::from("/nonexistent/rule.wasm"))))
        .unwrap_err();

    assert!(matches!(error, RuleLoadError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/rule.wasm"), "{error}");
}

#[test]
fn garbage_component_rejected() {
    let engine = RuleEngine::new().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"this is not wasm").unwrap();

    let error = engine.load(&RuleDefinition::new("garbage", RuleSource::File(file.path().to_path_buf()))).unwrap_err();

    assert!(matches!(error, RuleLoadError::Compile { .. }), "{error}");
}

#[test]
fn empty_component_rejected() {
    let engine = RuleEngine::new().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    // A valid component that exports nothing.
    std::fs::write(file.path(), b"\0asm\x0d\0\x01\0").unwrap();

    let error = engine.load(&RuleDefinition::new("empty", RuleSource::File(file.path().to_path_buf()))).unwrap_err();

    assert!(matches!(error, RuleLoadError::Interface { .. }), "{error}");
    assert!(error.to_string().contains("does not export mailgate:rule/evaluator"), "{error}");
}

#[test]
fn shipped_rules_import_no_wasi() {
    let engine = wasmtime::Engine::default();
    for (name, bytes) in mailgate_rules::SHIPPED_RULES {
        let component = wasmtime::component::Component::new(&engine, bytes).unwrap();
        // The only import is the interface's own type definitions.
        let imports: Vec<String> = component.component_type().imports(&engine).map(|(name, _)| name.to_string()).collect();
        assert_eq!(imports, vec![format!("mailgate:rule/types@{INTERFACE_VERSION}")], "shipped rule `{name}`");
    }
}

#[test]
fn wasi_rule_runs_next_to_shipped_rule() {
    let pool = PoolSize { max_instances: 4, max_memory_bytes: RuleLimits::default().max_memory_bytes };
    for engine in [RuleEngine::new().unwrap(), RuleEngine::with_pool(pool).unwrap()] {
        let probe = engine.load(&test_component("sandbox_probe")).unwrap();
        let storage = engine.load(&shipped("secure-storage")).unwrap();
        let mut bomb = test_component("memory_bomb");
        bomb.limits.max_memory_bytes = 16 * 1024 * 1024;
        let bomb = engine.load(&bomb).unwrap();
        let input = sample_input();

        let pdf = pdf_part();
        for _ in 0..3 {
            assert_eq!(probe.evaluate(&input).unwrap(), Vec::new());
            assert!(matches!(bomb.evaluate(&input), Err(RuleFailure::Trapped { .. })));
            assert_eq!(
                storage.evaluate(&input).unwrap(),
                vec![Action::RemoveParts(vec![pdf]), Action::UploadParts(vec![pdf]), Action::LinkUploads]
            );
        }
    }
}
