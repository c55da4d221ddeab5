//! `offload-scanning`: the vault scans attachments instead of the gateway.
//!
//! In the before-scan stage the rule requests that the gateway not scan any
//! regular attachment (`skip-scan`), removes each one from the message,
//! uploads it to the vault and links it in the text and HTML bodies. The
//! gateway then processes only the headers and the body and passes the
//! message on at once, while the vault scans the files. Returns nothing in
//! the after-scan stage or for a message without attachments.
//!
//! The files are scanned only when the vault scans what it stores: the
//! built-in vault does so with `builtin_vault.scan = true` (off by default)
//! and then refuses the download of a file it blocks. With a vault that
//! does not scan, the recipients can download the files unscanned.
//!
//! Settings: none.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct OffloadScanning;

impl Rule for OffloadScanning {
    fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        if !message.is_before_scan() {
            return Ok(Vec::new());
        }
        let attachments = message.attachment_ids();
        if attachments.is_empty() {
            return Ok(Vec::new());
        }

        Ok(vec![
            Action::SkipScan(attachments.clone()),
            Action::RemoveParts(attachments.clone()),
            Action::UploadParts(attachments),
            Action::LinkUploads,
        ])
    }
}

mailgate_rule_sdk::no_std_runtime!();

export_rule!(OffloadScanning);
