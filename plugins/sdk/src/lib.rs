//! Guest-side SDK for mailgate rules.
//!
//! A rule is a type that implements [`Rule`]; [`export_rule!`] turns it into
//! the component export the gateway calls. The message types are the ones
//! generated from the `mailgate:rule` WIT package, re-exported here, so a rule
//! gets exactly the types the host sends.
//!
//! ```ignore
//! use mailgate_rule_sdk::{Action, Message, Rule, export_rule};
//!
//! struct RemoveAll;
//!
//! impl Rule for RemoveAll {
//!     fn evaluate(message: &Message) -> Result<Vec<Action>, String> {
//!         let ids = message.attachment_ids();
//!         Ok(vec![Action::RemoveParts(ids)])
//!     }
//! }
//!
//! export_rule!(RemoveAll);
//! ```

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
    Action, Disposition, Envelope, Header, Message, Part, PartId,
};

/// A security rule: decides what the gateway does with one message.
pub trait Rule {
    /// Returns the actions for `message`, or an error text when the rule
    /// cannot decide. An error makes the gateway reply with a temporary
    /// failure, so the sending server retries later.
    fn evaluate(message: &Message) -> Result<Vec<Action>, String>;
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
            fn evaluate(
                message: $crate::Message,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::Action>, ::std::string::String> {
                <$rule as $crate::Rule>::evaluate(&message)
            }
        }

        $crate::bindings::export_bindings!(MailgateRuleExport with_types_in $crate::bindings);
    };
}
