//! `no-attachment`: some recipients may not receive attached files at all.
//!
//! Removes every regular attachment and uploads it to the vault, where
//! administrators and users can reach it. Adds no link to the message; use
//! `secure-storage` for that. Inline images and body parts stay.
//!
//! The rule acts in the before-scan stage and returns nothing in the
//! after-scan stage. An attachment that the scan blocks is removed but not
//! uploaded, unless another rule (such as `false-positives`) returns
//! `upload-blocked` for it.
//!
//! Settings: none.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct NoAttachment;

impl Rule for NoAttachment {
    fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        if !message.is_before_scan() {
            return Ok(Vec::new());
        }
        let attachments = message.attachment_ids();
        if attachments.is_empty() {
            return Ok(Vec::new());
        }

        Ok(vec![
            Action::RemoveParts(attachments.clone()),
            Action::UploadParts(attachments),
        ])
    }
}

mailgate_rule_sdk::no_std_runtime!();

export_rule!(NoAttachment);
