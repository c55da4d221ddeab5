//! `sanitized-originals`: recipients get the sanitized file, the vault
//! keeps the original.
//!
//! In the before-scan stage the rule requests the sanitization of every
//! regular attachment (`sanitize`). The sanitizer removes active content,
//! such as VBA macros in Office files and scripts in HTML files, and the
//! sanitized file replaces the original in the message. Attachments that
//! the scan blocks are not sanitized. In the after-scan stage the rule
//! returns `upload-originals` for every attachment that the sanitizer
//! rewrote, and `link-uploads`, so a recipient who needs the original can
//! download it from the vault. Returns nothing in a stage where there is
//! nothing to do.
//!
//! Settings:
//! - `sanitize`: `true` or `false`, whether this rule requests the
//!   sanitization itself. Default `true`. Set it to `false` when another
//!   rule requests sanitization and this one should only keep the
//!   originals.

#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use mailgate_rule_sdk::{Action, Message, Rule, SettingError, Settings, export_rule};

struct SanitizedOriginals;

/// Reads `sanitize`, which defaults to true.
fn sanitize(settings: &Settings) -> Result<bool, SettingError> {
    match settings.get("sanitize").map(str::trim) {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(SettingError {
            name: "sanitize".to_string(),
            reason: format!("invalid value `{other}`: expected `true` or `false`"),
        }),
    }
}

impl Rule for SanitizedOriginals {
    fn validate_settings(settings: &Settings) -> Result<(), SettingError> {
        settings.reject_unknown(&["sanitize"])?;
        sanitize(settings)?;
        Ok(())
    }

    fn evaluate(settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        if message.is_before_scan() {
            if !sanitize(settings).map_err(|error| error.reason)? {
                return Ok(Vec::new());
            }
            let attachments = message.attachment_ids();
            if attachments.is_empty() {
                return Ok(Vec::new());
            }
            return Ok(vec![Action::Sanitize(attachments)]);
        }

        let sanitized = message.sanitized_attachment_ids();
        if sanitized.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![Action::UploadOriginals(sanitized), Action::LinkUploads])
    }
}

mailgate_rule_sdk::no_std_runtime!();

export_rule!(SanitizedOriginals);
