//! `large-attachments`: attachments above a size are replaced by links.
//!
//! Lets users exchange files larger than the mail server accepts and keeps
//! large files out of mailboxes. Every regular attachment larger than
//! `max_size` bytes is removed, uploaded to the vault and linked in the text
//! and HTML bodies; smaller ones stay in the message.
//!
//! The rule acts in the before-scan stage with `remove-above-size` (upload
//! on) and `link-uploads`, and returns nothing in the after-scan stage or
//! when no attachment is above the limit.
//!
//! Settings:
//! - `max_size`: the largest attachment kept in the message, in bytes of
//!   decoded content. Default 10485760 (10 MiB).

#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mailgate_rule_sdk::{Action, Message, Rule, SettingError, Settings, SizeLimit, export_rule};

/// Default of `max_size`, in bytes.
const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;

struct LargeAttachments;

fn max_size(settings: &Settings) -> Result<u64, SettingError> {
    let parsed = settings.parse::<u64>("max_size").map_err(|mut error| {
        error.reason = format!("{}; expected a whole number of bytes, such as 10485760 for 10 MiB", error.reason);
        error
    })?;
    Ok(parsed.unwrap_or(DEFAULT_MAX_SIZE))
}

impl Rule for LargeAttachments {
    fn validate_settings(settings: &Settings) -> Result<(), SettingError> {
        settings.reject_unknown(&["max_size"])?;
        max_size(settings)?;
        Ok(())
    }

    fn evaluate(settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        if !message.is_before_scan() {
            return Ok(Vec::new());
        }
        let limit = max_size(settings).map_err(|error| error.reason)?;
        // The host applies the limit itself; this check only keeps the rule
        // from recording actions for messages it does not change.
        if message.attachment_ids_where(|part| part.size > limit).is_empty() {
            return Ok(Vec::new());
        }

        Ok(vec![
            Action::RemoveAboveSize(SizeLimit { max_bytes: limit, upload: true }),
            Action::LinkUploads,
        ])
    }
}

mailgate_rule_sdk::no_std_runtime!();

export_rule!(LargeAttachments);
