//! `quarantine-extensions`: a template for your own mailgate rule.
//!
//! The gateway calls a rule twice per message, and this one acts in both
//! stages:
//!
//! - before the scan, it moves attachments whose file name ends in one of
//!   the configured extensions to the vault and links them, and blocks the
//!   whole message when it carries more than `max_quarantined` of them;
//! - after the scan, it adds a notice at the top of the body naming each
//!   attachment it left in the message that the scan could not check (the
//!   gateway's `scan.unavailable = "pass-with-mark"` lets such files pass).
//!
//! Settings:
//! - `extensions`: comma-separated list, case-insensitive. Default
//!   `exe,scr,js,vbs,bat,cmd`.
//! - `max_quarantined`: block the message above this many matching
//!   attachments. Default 10.

use mailgate_rule_sdk::{
    Action, Message, Notice, NoticePosition, Part, Rule, ScanState, SettingError, Settings, export_rule,
};

const DEFAULT_EXTENSIONS: &str = "exe,scr,js,vbs,bat,cmd";
const DEFAULT_MAX_QUARANTINED: usize = 10;

struct QuarantineExtensions;

fn extensions(settings: &Settings) -> Vec<String> {
    settings
        .get("extensions")
        .unwrap_or(DEFAULT_EXTENSIONS)
        .split(',')
        .map(|extension| extension.trim().trim_start_matches('.').to_lowercase())
        .filter(|extension| !extension.is_empty())
        .collect()
}

fn max_quarantined(settings: &Settings) -> Result<usize, SettingError> {
    Ok(settings.parse::<usize>("max_quarantined")?.unwrap_or(DEFAULT_MAX_QUARANTINED))
}

/// True when the file name of `part` ends in one of `extensions`.
fn has_extension(part: &Part, extensions: &[String]) -> bool {
    let name = part.file_name.as_deref().unwrap_or_default().to_lowercase();
    extensions.iter().any(|extension| name.ends_with(&format!(".{extension}")))
}

/// Before the scan: quarantine matching attachments or block the message.
fn quarantine(settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
    let quarantined = extensions(settings);
    let matching = message.attachment_ids_where(|part| has_extension(part, &quarantined));

    let limit = max_quarantined(settings).map_err(|error| error.reason)?;
    if matching.len() > limit {
        return Ok(vec![Action::Block(format!(
            "{} attachments with a quarantined extension, more than the limit of {limit}",
            matching.len()
        ))]);
    }
    if matching.is_empty() {
        return Ok(Vec::new());
    }

    Ok(vec![Action::RemoveParts(matching.clone()), Action::UploadParts(matching), Action::LinkUploads])
}

/// After the scan: warn about attachments that the scan could not check and
/// that this rule did not move to the vault.
fn warn_unscanned(settings: &Settings, message: &Message) -> Vec<Action> {
    let quarantined = extensions(settings);
    let unscanned: Vec<String> = message
        .parts
        .iter()
        .filter(|part| part.is_attachment && matches!(part.scan, ScanState::Failed(_)))
        .filter(|part| !has_extension(part, &quarantined))
        .map(|part| part.file_name.clone().unwrap_or_else(|| format!("part {}", part.id)))
        .collect();
    if unscanned.is_empty() {
        return Vec::new();
    }

    let text = format!("These attachments could not be scanned for malware: {}.", unscanned.join(", "));
    vec![Action::AddNotice(Notice { text, position: NoticePosition::Top })]
}

impl Rule for QuarantineExtensions {
    fn validate_settings(settings: &Settings) -> Result<(), SettingError> {
        settings.reject_unknown(&["extensions", "max_quarantined"])?;
        if extensions(settings).is_empty() {
            return Err(SettingError {
                name: "extensions".to_string(),
                reason: "needs at least one extension, e.g. \"exe,js\"".to_string(),
            });
        }
        max_quarantined(settings)?;
        Ok(())
    }

    fn evaluate(settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        // Each stage returns its own actions: the gateway merges both calls,
        // so an action returned in both would be recorded twice.
        if message.is_before_scan() {
            quarantine(settings, message)
        } else {
            Ok(warn_unscanned(settings, message))
        }
    }
}

export_rule!(QuarantineExtensions);
