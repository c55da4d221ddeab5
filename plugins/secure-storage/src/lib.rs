//! `secure-storage`: the vault as a transparent store for attachments.
//!
//! Removes every regular attachment, uploads it to the vault and adds a
//! notice with one link per file to the text and HTML bodies. The vault
//! rescans stored files over time, so malware that is unknown on the day of
//! arrival is still caught before the recipient downloads it.
//!
//! The rule acts in the before-scan stage and returns nothing in the
//! after-scan stage. An attachment that the scan blocks is removed but not
//! uploaded, unless another rule (such as `false-positives`) returns
//! `upload-blocked` for it. To leave the scan to the vault instead, use
//! `offload-scanning`.
//!
//! Settings: none.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct SecureStorage;

impl Rule for SecureStorage {
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
            Action::LinkUploads,
        ])
    }
}

mailgate_rule_sdk::no_std_runtime!();

export_rule!(SecureStorage);
