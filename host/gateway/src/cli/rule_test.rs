//! `mailgate rule test`: runs rules on a message file without uploading or
//! sending anything, and prints what each rule returned and how the message
//! would change.
//!
//! The rules run in both stages. The dry run scans and sanitizes nothing, so
//! in the `after-scan` stage every attachment is `not-scanned`.

use std::path::Path;

use anyhow::{Context, Result};
use mailgate::{Config, Direction, Plan, RuleConfig, RuleSet};
use mailgate_message::{Envelope, ParsedMessage, PartKind, StorageNames};
use mailgate_rules::{FailurePolicy, RuleEngine, RuleInput, SHIPPED_RULES, ScanFacts, Stage, shipped_component};

/// Runs the dry run and prints the report to standard output.
pub fn run(rule: Option<&str>, config_path: Option<&Path>, message_path: &Path) -> Result<()> {
    let mut config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(rule) = rule {
        config.rules = vec![rule_config(rule)?];
    }

    let raw = std::fs::read(message_path).with_context(|| format!("cannot read {}", message_path.display()))?;
    let message = ParsedMessage::parse(raw).with_context(|| format!("cannot parse {}", message_path.display()))?;
    let envelope = Envelope {
        client_address: "127.0.0.1".to_string(),
        helo: "localhost".to_string(),
        mail_from: message.from.clone().unwrap_or_default(),
        rcpt_to: Vec::new(),
    };

    let engine = RuleEngine::new()?;
    let rule_set = RuleSet::load(&engine, &config)?;
    outln!("message: {}", message_path.display());
    outln!("rule set: {}", rule_set.id());
    print_parts(&message);

    let mut plan = Plan::default();
    let mut temporary_failure = None;
    let stages = [RuleInput::new(&message, &envelope), RuleInput::after_scan(&message, &envelope, &ScanFacts::default())];
    for input in &stages {
        let stage = input.stage();
        for configured in rule_set.rules() {
            let rule = &configured.rule;
            outln!();
            outln!("rule `{}` (sha256 {}), {}", rule.name(), &rule.digest()[..16], stage_name(stage));
            if !configured.conditions.matches(&envelope, Direction::Inbound) {
                outln!("  skipped: its match conditions do not select this message");
                continue;
            }
            match rule.evaluate(input) {
                Ok(actions) if actions.is_empty() => outln!("  no actions"),
                Ok(actions) => {
                    for action in &actions {
                        outln!("  {action}");
                    }
                    plan.add(rule.name(), actions, &message, stage);
                }
                Err(failure) => {
                    let policy = rule.definition().on_failure;
                    outln!("  FAILED: {failure} (on_failure: {policy:?})");
                    match policy {
                        FailurePolicy::TemporaryFailure => {
                            temporary_failure.get_or_insert_with(|| rule.name().to_string());
                        }
                        FailurePolicy::Block => plan.add_block(rule.name(), "the message could not be checked"),
                        FailurePolicy::Skip => {}
                    }
                }
            }
        }
        if plan.block.is_some() || temporary_failure.is_some() {
            break;
        }
    }

    outln!();
    match temporary_failure {
        Some(rule) => {
            outln!("summary:");
            outln!("  the message would get a temporary failure (451) because rule `{rule}` failed");
        }
        None => print_summary(&message, &plan),
    }
    Ok(())
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::BeforeScan => "before the scan",
        Stage::AfterScan => "after the scan (nothing scanned in a dry run)",
    }
}

/// Builds the configuration of a rule given on the command line: a shipped
/// name or a component path.
fn rule_config(rule: &str) -> Result<RuleConfig> {
    if shipped_component(rule).is_some() {
        return Ok(RuleConfig::shipped(rule));
    }
    let path = Path::new(rule);
    if !path.exists() {
        let shipped: Vec<&str> = SHIPPED_RULES.iter().map(|(name, _)| *name).collect();
        anyhow::bail!("`{rule}` is neither a shipped rule ({}) nor an existing component file", shipped.join(", "));
    }
    let name = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or(rule);
    Ok(RuleConfig::file(name, path.to_path_buf()))
}

fn print_parts(message: &ParsedMessage) {
    outln!("parts:");
    for part in &message.parts {
        outln!(
            "  {:>3}  {:<12} {:<40} {:>9} B  {}",
            part.id.0,
            format!("{:?}", part.kind),
            part.content_type,
            part.size(),
            part.file_name.as_deref().unwrap_or("")
        );
    }
}

fn print_summary(message: &ParsedMessage, plan: &Plan) {
    outln!("summary:");
    if let Some((rule, reason)) = &plan.block {
        outln!("  the message would be rejected with 550 by rule `{rule}`: {reason}");
        outln!("  nothing would be uploaded or delivered");
        return;
    }
    if plan.is_empty() && !plan.link && plan.sanitize.is_empty() && plan.skip_scan.is_empty() {
        outln!("  the message would be delivered unchanged, unless the scan blocks an attachment");
        outln!("  (a dry run neither scans nor sanitizes, so actions that depend on verdicts do not show)");
        return;
    }

    let mut names = StorageNames::new();
    for part in message.parts.iter().filter(|part| part.kind == PartKind::Attachment) {
        let removed = plan.remove.contains(&part.id);
        let uploaded = plan.upload.contains(&part.id);
        if !removed && !uploaded {
            continue;
        }
        let verb = match (removed, uploaded) {
            (true, true) => "removed and uploaded as",
            (true, false) => "removed (not uploaded)",
            _ => "uploaded (kept in the message) as",
        };
        let name = if uploaded { names.assign(part) } else { String::new() };
        outln!("  part {}: {verb} {name}", part.id.0);
    }
    for part in &plan.skip_scan {
        outln!("  part {}: not scanned by the gateway", part.0);
    }
    for part in &plan.sanitize {
        outln!("  part {}: sanitized when the sanitizer supports its type", part.0);
    }
    if plan.link && !plan.upload.is_empty() {
        outln!("  a notice with {} link(s) would be added to the text and HTML bodies", plan.upload.len());
    }
    for (position, text) in &plan.notes {
        outln!("  a notice at the {} of the bodies: {}", format!("{position:?}").to_lowercase(), text.lines().next().unwrap_or_default());
    }
}
