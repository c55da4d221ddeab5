//! Guest-side SDK for mailgate rules.
//!
//! A rule is a type that implements [`Rule`]; [`export_rule!`] turns it into
//! the component export the gateway calls. The message types are the ones
//! generated from the `mailgate:rule` WIT package (version 0.3), re-exported
//! here, so a rule gets exactly the types the host sends.
//!
//! The gateway calls a rule twice per message: in the before-scan stage,
//! when every part's scan is still pending, and in the after-scan stage,
//! when each part carries its scan verdict and sanitization result. The
//! host merges the actions of both calls, so a rule returns each action in
//! one stage only:
//!
//! ```ignore
//! use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};
//!
//! struct RemoveAll;
//!
//! impl Rule for RemoveAll {
//!     fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
//!         if message.is_before_scan() {
//!             // Remove every attachment; the scan result does not matter.
//!             return Ok(vec![Action::RemoveParts(message.attachment_ids())]);
//!         }
//!
//!         // Keep what the scan blocked in the vault, where it is rescanned.
//!         let blocked = message.blocked_attachment_ids();
//!         if blocked.is_empty() {
//!             return Ok(Vec::new());
//!         }
//!         Ok(vec![Action::UploadBlocked(blocked)])
//!     }
//! }
//!
//! export_rule!(RemoveAll);
//! ```
//!
//! The SDK itself needs only `core` and `alloc`, so a rule may use the
//! standard library or not. A rule built with `#![no_std]` and
//! [`no_std_runtime!`] imports nothing from WASI: the host then needs no
//! WASI context for it, and an invocation is cheaper. The shipped rules are
//! built that way.

#![no_std]

#[doc(hidden)]
pub extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

#[cfg(target_arch = "wasm32")]
pub mod runtime;

/// Bindings generated from `wit/rule.wit`.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "rule",
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "mailgate_rule_sdk::bindings",
    });
}

pub use bindings::mailgate::rule::types::{
    Action, Disposition, Envelope, Header, Message, Notice, NoticePosition, Part, PartId, Sanitization, ScanFinding,
    ScanState, Setting, SettingError, SizeLimit, Stage,
};

/// A security rule: decides what the gateway does with one message.
pub trait Rule {
    /// Checks the rule's settings once, when the gateway loads the rule.
    ///
    /// The default accepts no settings at all, so a misspelt setting of a
    /// rule without settings is reported instead of ignored.
    fn validate_settings(settings: &Settings) -> Result<(), SettingError> {
        settings.reject_unknown(&[])
    }

    /// Returns the actions for `message`, or an error text when the rule
    /// cannot decide. An error makes the gateway reply with a temporary
    /// failure, so the sending server retries later.
    ///
    /// Called once in each stage of a message (see [`Message::stage`]); the
    /// host merges the actions of both calls.
    fn evaluate(settings: &Settings, message: &Message) -> Result<Vec<Action>, String>;
}

/// The settings a rule was configured with.
#[derive(Clone, Debug, Default)]
pub struct Settings(Vec<Setting>);

impl Settings {
    /// Wraps the settings the host passed.
    pub fn new(settings: Vec<Setting>) -> Settings {
        Settings(settings)
    }

    /// Value of the setting `name`, as text.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|setting| setting.name == name).map(|setting| setting.value.as_str())
    }

    /// Parses the setting `name` with [`str::parse`]; `Ok(None)` when it is
    /// not set, an error naming the setting when it does not parse.
    pub fn parse<T: core::str::FromStr>(&self, name: &str) -> Result<Option<T>, SettingError>
    where
        T::Err: core::fmt::Display,
    {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value.trim().parse().map(Some).map_err(|error| SettingError {
                name: name.to_string(),
                reason: format!("invalid value `{value}`: {error}"),
            }),
        }
    }

    /// Fails on the first setting whose name is not in `known`.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), SettingError> {
        match self.0.iter().find(|setting| !known.contains(&setting.name.as_str())) {
            None => Ok(()),
            Some(setting) => Err(SettingError {
                name: setting.name.clone(),
                reason: if known.is_empty() {
                    "this rule takes no settings".to_string()
                } else {
                    format!("unknown setting; known settings are: {}", known.join(", "))
                },
            }),
        }
    }
}

impl Message {
    /// True in the before-scan stage, the only stage in which the host
    /// honours `skip-scan` and `sanitize`.
    pub fn is_before_scan(&self) -> bool {
        self.stage == Stage::BeforeScan
    }

    /// True in the after-scan stage, when each part carries its scan
    /// verdict and sanitization result.
    pub fn is_after_scan(&self) -> bool {
        self.stage == Stage::AfterScan
    }

    /// Ids of the parts the host classifies as regular attachments, in
    /// message order. Bodies and inline images are never among them.
    pub fn attachment_ids(&self) -> Vec<PartId> {
        self.attachment_ids_where(|_| true)
    }

    /// Ids of the regular attachments that the scan blocked, in message
    /// order. Always empty in the before-scan stage.
    pub fn blocked_attachment_ids(&self) -> Vec<PartId> {
        self.attachment_ids_where(Part::is_blocked)
    }

    /// Ids of the regular attachments that the sanitizer rewrote, in message
    /// order. Always empty in the before-scan stage.
    pub fn sanitized_attachment_ids(&self) -> Vec<PartId> {
        self.attachment_ids_where(Part::is_sanitized)
    }

    /// Ids of the regular attachments for which `keep` returns true, in
    /// message order.
    pub fn attachment_ids_where(&self, mut keep: impl FnMut(&Part) -> bool) -> Vec<PartId> {
        self.parts
            .iter()
            .filter(|part| part.is_attachment && keep(part))
            .map(|part| part.id)
            .collect()
    }

    /// Value of the first header field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }
}

impl Part {
    /// True when the scan blocked this part. The host then removes it from
    /// the message and uploads it only when a rule returns `upload-blocked`
    /// for it.
    pub fn is_blocked(&self) -> bool {
        matches!(self.scan, ScanState::Blocked(_))
    }

    /// True when the sanitizer rewrote this part, so that the message
    /// carries the sanitized file in place of the original.
    pub fn is_sanitized(&self) -> bool {
        self.sanitized.is_some()
    }

    /// Returns the scan finding when the scan blocked this part or failed on
    /// it, and `None` otherwise.
    pub fn scan_finding(&self) -> Option<&ScanFinding> {
        match &self.scan {
            ScanState::Blocked(finding) | ScanState::Failed(finding) => Some(finding),
            ScanState::Pending | ScanState::NotScanned | ScanState::Clean(_) => None,
        }
    }
}

/// Exports a [`Rule`] implementation as the component's `evaluator`.
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        struct MailgateRuleExport;

        impl $crate::bindings::exports::mailgate::rule::evaluator::Guest for MailgateRuleExport {
            fn validate_settings(
                settings: $crate::alloc::vec::Vec<$crate::Setting>,
            ) -> ::core::result::Result<(), $crate::SettingError> {
                <$rule as $crate::Rule>::validate_settings(&$crate::Settings::new(settings))
            }

            fn evaluate(
                settings: $crate::alloc::vec::Vec<$crate::Setting>,
                message: $crate::Message,
            ) -> ::core::result::Result<$crate::alloc::vec::Vec<$crate::Action>, $crate::alloc::string::String> {
                <$rule as $crate::Rule>::evaluate(&$crate::Settings::new(settings), &message)
            }
        }

        $crate::bindings::export_bindings!(MailgateRuleExport with_types_in $crate::bindings);
    };
}
