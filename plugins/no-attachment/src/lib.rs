//! `no-attachment`: some recipients may not receive attached files at all.
//!
//! Removes every regular attachment and uploads it to the vault, where
//! administrators and users can reach it. Adds no link to the message; use
//! `secure-storage` for that. Inline images and body parts stay.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct NoAttachment;

impl Rule for NoAttachment {
    fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
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
