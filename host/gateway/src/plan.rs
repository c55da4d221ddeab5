//! Merging the actions of all rules into one plan for a message.
//!
//! Rules run in configuration order and all of them run. The plan is the
//! union of their requests: a part is removed if any rule removes it, and
//! uploaded if any rule uploads it; links are added if any rule requests
//! them. A block from any rule wins over everything else, and the first
//! blocking rule's reason is used. Requests for parts that are not
//! attachments (bodies, inline images, protected parts) or that do not exist
//! are ignored and logged.

use std::collections::BTreeSet;

use mailgate_message::{ParsedMessage, PartId};
use mailgate_rules::Action;

/// The merged actions for one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Parts removed from the delivered message.
    pub remove: BTreeSet<PartId>,
    /// Parts uploaded to the vault.
    pub upload: BTreeSet<PartId>,
    /// Whether uploaded parts are linked in the bodies.
    pub link: bool,
    /// The first block: the rule's name and its reason.
    pub block: Option<(String, String)>,
}

impl Plan {
    /// Adds the actions that rule `rule` returned for `message`.
    pub fn add(&mut self, rule: &str, actions: Vec<Action>, message: &ParsedMessage) {
        for action in actions {
            match action {
                Action::RemoveParts(ids) => {
                    let accepted = accepted_parts(rule, "remove", ids, message);
                    self.remove.extend(accepted);
                }
                Action::UploadParts(ids) => {
                    let accepted = accepted_parts(rule, "upload", ids, message);
                    self.upload.extend(accepted);
                }
                Action::LinkUploads => self.link = true,
                Action::Block(reason) => self.add_block(rule, &reason),
            }
        }
    }

    /// Records a block by `rule` unless an earlier rule blocked already.
    pub fn add_block(&mut self, rule: &str, reason: &str) {
        if self.block.is_none() {
            self.block = Some((rule.to_string(), reason.to_string()));
        }
    }

    /// Returns whether the plan leaves the message as it is.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.upload.is_empty() && self.block.is_none()
    }
}

fn accepted_parts(rule: &str, action: &str, ids: Vec<PartId>, message: &ParsedMessage) -> Vec<PartId> {
    ids.into_iter()
        .filter(|id| match message.part(*id) {
            Some(part) if part.is_attachment() => true,
            Some(part) => {
                tracing::warn!(rule, action, part = id.0, kind = ?part.kind, "rule asked for a part that is not an attachment; ignored");
                false
            }
            None => {
                tracing::warn!(rule, action, part = id.0, "rule asked for a part that does not exist; ignored");
                false
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ParsedMessage {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail/pdf-with-inline-logo.eml");
        ParsedMessage::parse(std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn plan_ignores_non_attachments() {
        let message = sample();
        let all: Vec<PartId> = message.parts.iter().map(|part| part.id).collect();
        let pdf = message.attachments().next().unwrap().id;

        let mut plan = Plan::default();
        plan.add("r", vec![Action::RemoveParts(all.clone()), Action::UploadParts(all)], &message);

        assert_eq!(plan.remove, BTreeSet::from([pdf]));
        assert_eq!(plan.upload, BTreeSet::from([pdf]));
        assert!(!plan.link);
    }

    #[test]
    fn plan_ignores_unknown_part() {
        let message = sample();
        let mut plan = Plan::default();
        plan.add("r", vec![Action::RemoveParts(vec![PartId(999)])], &message);
        assert!(plan.remove.is_empty());
    }

    #[test]
    fn plan_first_block_wins() {
        let message = sample();
        let mut plan = Plan::default();
        plan.add("first", vec![Action::Block("one".to_string())], &message);
        plan.add("second", vec![Action::Block("two".to_string()), Action::LinkUploads], &message);
        assert_eq!(plan.block, Some(("first".to_string(), "one".to_string())));
        assert!(plan.link);
    }
}
