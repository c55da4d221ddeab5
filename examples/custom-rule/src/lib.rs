//! `quarantine-extensions`: a template for your own mailgate rule.
//!
//! Moves attachments whose file name ends in one of the configured
//! extensions to the vault and links them, and blocks the whole message when
//! it carries more than `max_quarantined` of them.
//!
//! Settings:
//! - `extensions`: comma-separated list, case-insensitive. Default
//!   `exe,scr,js,vbs,bat,cmd`.
//! - `max_quarantined`: block the message above this many matching
//!   attachments. Default 10.

use mailgate_rule_sdk::{Action, Message, Rule, SettingError, Settings, export_rule};

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
        let wanted = extensions(settings);
        let matching: Vec<_> = message
            .parts
            .iter()
            .filter(|part| part.is_attachment)
            .filter(|part| {
                let name = part.file_name.as_deref().unwrap_or_default().to_lowercase();
                wanted.iter().any(|extension| name.ends_with(&format!(".{extension}")))
            })
            .map(|part| part.id)
            .collect();

        let limit = max_quarantined(settings).map_err(|error| error.reason)?;
        if matching.len() > limit {
            return Ok(vec![Action::Block(format!("{} executable attachments", matching.len()))]);
        }
        if matching.is_empty() {
            return Ok(Vec::new());
        }

        Ok(vec![Action::RemoveParts(matching.clone()), Action::UploadParts(matching), Action::LinkUploads])
    }
}

export_rule!(QuarantineExtensions);
