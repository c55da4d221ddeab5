//! `false-positives`: blocked attachments go to the vault, not away.
//!
//! A scan engine sometimes blocks a harmless file. In the after-scan stage
//! the rule returns `upload-blocked` for every regular attachment that the
//! scan blocked, and `link-uploads`. The gateway still removes those files
//! from the message but uploads them to the vault, which keeps each one
//! unavailable until its own scan finds it clean. So the link in the
//! message lets the recipient download a file that was blocked wrongly.
//! Returns nothing in the before-scan stage or when the scan blocked
//! nothing.
//!
//! When any rule blocks the whole message, the gateway uploads nothing, so
//! this rule never moves the files of a blocked message to the vault.
//!
//! Settings: none.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct FalsePositives;

impl Rule for FalsePositives {
    fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        if !message.is_after_scan() {
            return Ok(Vec::new());
        }
        let blocked = message.blocked_attachment_ids();
        if blocked.is_empty() {
            return Ok(Vec::new());
        }

        Ok(vec![Action::UploadBlocked(blocked), Action::LinkUploads])
    }
}

mailgate_rule_sdk::no_std_runtime!();

export_rule!(FalsePositives);
