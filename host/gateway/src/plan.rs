//! Merging the actions of all rules into one plan for a message.
//!
//! Rules run in configuration order, all of them, once before the scan and
//! once after it. The plan is the union of their requests from both stages.
//! A part is removed if any rule removes it, uploaded if any rule uploads
//! it, and so on. Links are added if any rule requests them. A block from
//! any rule wins over everything else, and the first blocking rule's reason
//! is used. `skip-scan` and `sanitize` count only before the scan, since the
//! scan and the sanitizer have run by the second stage.
//!
//! Requests for parts that are not attachments (bodies, inline images,
//! protected parts) or that do not exist are ignored and logged.

use std::collections::BTreeSet;

use mailgate_message::{ParsedMessage, PartId};
use mailgate_rules::{Action, NoticePosition, Stage};

/// Characters of one rule notice that are kept; the rest is cut.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// Rule notices kept per message; later ones are dropped and logged.
pub const MAX_NOTES: usize = 8;

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
    /// Attachments the gateway does not scan.
    pub skip_scan: BTreeSet<PartId>,
    /// Attachments to sanitize.
    pub sanitize: BTreeSet<PartId>,
    /// Blocked attachments to upload all the same.
    pub upload_blocked: BTreeSet<PartId>,
    /// Sanitized attachments whose originals are uploaded.
    pub upload_originals: BTreeSet<PartId>,
    /// Texts of rule notices with their position, in rule order.
    pub notes: Vec<(NoticePosition, String)>,
}

impl Plan {
    /// Adds the actions that rule `rule` returned for `message` in `stage`.
    pub fn add(&mut self, rule: &str, actions: Vec<Action>, message: &ParsedMessage, stage: Stage) {
        for action in actions {
            match action {
                Action::RemoveParts(ids) => self.remove.extend(accepted_parts(rule, "remove", ids, message)),
                Action::UploadParts(ids) => self.upload.extend(accepted_parts(rule, "upload", ids, message)),
                Action::LinkUploads => self.link = true,
                Action::Block(reason) => self.add_block(rule, &reason),
                Action::SkipScan(ids) if stage == Stage::BeforeScan => {
                    self.skip_scan.extend(accepted_parts(rule, "skip-scan", ids, message));
                }
                Action::Sanitize(ids) if stage == Stage::BeforeScan => {
                    self.sanitize.extend(accepted_parts(rule, "sanitize", ids, message));
                }
                Action::SkipScan(_) | Action::Sanitize(_) => {
                    tracing::warn!(rule, action = %action, "action counts only before the scan; ignored");
                }
                Action::UploadBlocked(ids) => {
                    self.upload_blocked.extend(accepted_parts(rule, "upload-blocked", ids, message));
                }
                Action::UploadOriginals(ids) => {
                    self.upload_originals.extend(accepted_parts(rule, "upload-originals", ids, message));
                }
                Action::RemoveAboveSize { max_bytes, upload } => {
                    let large: Vec<PartId> =
                        message.attachments().filter(|part| part.size() > max_bytes).map(|part| part.id).collect();
                    if upload {
                        self.upload.extend(large.iter().copied());
                    }
                    self.remove.extend(large);
                }
                Action::AddNotice { text, position } => self.add_note(rule, text, position),
            }
        }
    }

    /// Records a block by `rule` unless an earlier rule blocked already.
    pub fn add_block(&mut self, rule: &str, reason: &str) {
        if self.block.is_none() {
            self.block = Some((rule.to_string(), reason.to_string()));
        }
    }

    /// Adds the plan of a later stage: every set is joined, notes are
    /// appended up to [`MAX_NOTES`], and an earlier block stays.
    pub fn merge(&mut self, later: Plan) {
        self.remove.extend(later.remove);
        self.upload.extend(later.upload);
        self.link |= later.link;
        if self.block.is_none() {
            self.block = later.block;
        }
        self.skip_scan.extend(later.skip_scan);
        self.sanitize.extend(later.sanitize);
        self.upload_blocked.extend(later.upload_blocked);
        self.upload_originals.extend(later.upload_originals);
        let room = MAX_NOTES.saturating_sub(self.notes.len());
        self.notes.extend(later.notes.into_iter().take(room));
    }

    /// Returns whether the plan leaves the message as it is.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.upload.is_empty() && self.block.is_none() && self.notes.is_empty()
    }

    fn add_note(&mut self, rule: &str, text: String, position: NoticePosition) {
        if self.notes.len() >= MAX_NOTES {
            tracing::warn!(rule, max = MAX_NOTES, "too many notices for one message; this one is dropped");
            return;
        }
        let text: String = text.chars().take(MAX_NOTE_CHARS).collect();
        if !text.trim().is_empty() {
            self.notes.push((position, text));
        }
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
        plan.add("r", vec![Action::RemoveParts(all.clone()), Action::UploadParts(all)], &message, Stage::BeforeScan);

        assert_eq!(plan.remove, BTreeSet::from([pdf]));
        assert_eq!(plan.upload, BTreeSet::from([pdf]));
        assert!(!plan.link);
    }

    #[test]
    fn plan_ignores_unknown_part() {
        let message = sample();
        let mut plan = Plan::default();
        plan.add("r", vec![Action::RemoveParts(vec![PartId(999)])], &message, Stage::BeforeScan);
        assert!(plan.remove.is_empty());
    }

    #[test]
    fn plan_first_block_wins() {
        let message = sample();
        let mut plan = Plan::default();
        plan.add("first", vec![Action::Block("one".to_string())], &message, Stage::BeforeScan);
        plan.add("second", vec![Action::Block("two".to_string()), Action::LinkUploads], &message, Stage::AfterScan);
        assert_eq!(plan.block, Some(("first".to_string(), "one".to_string())));
        assert!(plan.link);
    }

    #[test]
    fn plan_scan_choices_count_before_the_scan_only() {
        let message = sample();
        let pdf = message.attachments().next().unwrap().id;

        let mut plan = Plan::default();
        plan.add("r", vec![Action::SkipScan(vec![pdf]), Action::Sanitize(vec![pdf])], &message, Stage::AfterScan);
        assert!(plan.skip_scan.is_empty());
        assert!(plan.sanitize.is_empty());

        plan.add("r", vec![Action::SkipScan(vec![pdf]), Action::Sanitize(vec![pdf])], &message, Stage::BeforeScan);
        assert_eq!(plan.skip_scan, BTreeSet::from([pdf]));
        assert_eq!(plan.sanitize, BTreeSet::from([pdf]));
    }

    #[test]
    fn plan_remove_above_size_picks_large_attachments() {
        let message = sample();
        let pdf = message.attachments().next().unwrap();

        let mut plan = Plan::default();
        plan.add("r", vec![Action::RemoveAboveSize { max_bytes: pdf.size(), upload: true }], &message, Stage::BeforeScan);
        assert!(plan.remove.is_empty());

        plan.add("r", vec![Action::RemoveAboveSize { max_bytes: pdf.size() - 1, upload: true }], &message, Stage::BeforeScan);
        assert_eq!(plan.remove, BTreeSet::from([pdf.id]));
        assert_eq!(plan.upload, BTreeSet::from([pdf.id]));
    }

    #[test]
    fn plan_caps_notices() {
        let message = sample();
        let mut plan = Plan::default();
        let long = "x".repeat(MAX_NOTE_CHARS + 10);
        let notices = (0..MAX_NOTES + 2).map(|_| Action::AddNotice { text: long.clone(), position: NoticePosition::Top }).collect();
        plan.add("r", notices, &message, Stage::BeforeScan);

        assert_eq!(plan.notes.len(), MAX_NOTES);
        assert_eq!(plan.notes[0].1.chars().count(), MAX_NOTE_CHARS);
    }
}
