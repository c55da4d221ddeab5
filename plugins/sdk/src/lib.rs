//! Guest-side SDK for mailgate rules.
//!
//! A rule is a type that implements [`Rule`]; [`export_rule!`] turns it into
//! the component export the gateway calls. The message types are the ones
//! generated from the `mailgate:rule` WIT package, re-exported here, so a rule
//! gets exactly the types the host sends.
//!
//! ```ignore
//! use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};
//!
//! struct RemoveAll;
//!
//! impl Rule for RemoveAll {
//!     fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
//!         let ids = message.attachment_ids();
//!         Ok(vec![Action::RemoveParts(ids)])
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
    Action, Disposition, Envelope, Header, Message, Part, PartId, Setting, SettingError,
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
    /// Ids of the parts the host classifies as regular attachments, in
    /// message order. Bodies and inline images are never among them.
    pub fn attachment_ids(&self) -> Vec<PartId> {
        self.parts
            .iter()
            .filter(|part| part.is_attachment)
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
