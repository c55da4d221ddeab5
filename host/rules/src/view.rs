//! Conversion of the gateway's message model into the WIT message view.

use std::collections::BTreeMap;

use mailgate_message::{Disposition, Envelope, ParsedMessage, PartId, PartKind};

use crate::bindings::mailgate::rule::types as wit;

/// The stage in which rules see a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Before the attachments are scanned and sanitized.
    BeforeScan,
    /// After the scan and the sanitizer ran.
    AfterScan,
}

/// The scan state of one part as rules see it after the scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartScan {
    /// Not scanned: not an attachment, skipped by a rule, or scanning off.
    NotScanned,
    /// The named engine found nothing.
    Clean { engine: String },
    /// The engine blocked the file for `reason`.
    Blocked { engine: String, reason: String },
    /// The scan failed and the failure policy let the part pass.
    Failed { engine: String, reason: String },
}

/// Changes the sanitizer made to one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartSanitization {
    /// Kinds of content removed, such as `VBA project`.
    pub removed: Vec<String>,
    /// Size of the original file in bytes.
    pub original_size: u64,
    /// Size of the sanitized file in bytes.
    pub sanitized_size: u64,
    /// New file name, when the sanitizer changed it.
    pub file_name: Option<String>,
}

/// Findings of the scan and the sanitizer, per part. A part without an
/// entry in `scans` counts as not scanned.
#[derive(Clone, Debug, Default)]
pub struct ScanFacts {
    /// Scan state per part.
    pub scans: BTreeMap<PartId, PartScan>,
    /// Sanitization result per rewritten part.
    pub sanitized: BTreeMap<PartId, PartSanitization>,
}

/// The read-only view of one message handed to every rule.
///
/// Built once per message and stage and shared by all rules that run on it.
pub struct RuleInput {
    pub(crate) message: wit::Message,
}

impl RuleInput {
    /// Builds the view of `message` as received with `envelope`, for the
    /// `before-scan` stage: every part's scan is pending.
    pub fn new(message: &ParsedMessage, envelope: &Envelope) -> RuleInput {
        RuleInput::build(message, envelope, Stage::BeforeScan, &ScanFacts::default())
    }

    /// Builds the view for the `after-scan` stage with the verdicts and
    /// sanitization results in `facts`. A sanitized part shows the size of
    /// the sanitized file.
    pub fn after_scan(message: &ParsedMessage, envelope: &Envelope, facts: &ScanFacts) -> RuleInput {
        RuleInput::build(message, envelope, Stage::AfterScan, facts)
    }

    fn build(message: &ParsedMessage, envelope: &Envelope, stage: Stage, facts: &ScanFacts) -> RuleInput {
        let parts = message
            .parts
            .iter()
            .map(|part| {
                let sanitized = facts.sanitized.get(&part.id);
                wit::Part {
                    id: part.id.0,
                    parent: part.parent.map(|parent| parent.0),
                    content_type: part.content_type.clone(),
                    file_name: part.file_name.clone(),
                    size: sanitized.map_or(part.size(), |sanitized| sanitized.sanitized_size),
                    disposition: match part.disposition {
                        Disposition::None => wit::Disposition::None,
                        Disposition::Inline => wit::Disposition::Inline,
                        Disposition::Attachment => wit::Disposition::Attachment,
                    },
                    content_id: part.content_id.clone(),
                    is_inline_image: part.kind == PartKind::InlineImage,
                    is_body: part.kind == PartKind::Body,
                    is_attachment: part.kind == PartKind::Attachment,
                    scan: match stage {
                        Stage::BeforeScan => wit::ScanState::Pending,
                        Stage::AfterScan => scan_state(facts.scans.get(&part.id)),
                    },
                    sanitized: sanitized.map(|sanitized| wit::Sanitization {
                        removed: sanitized.removed.clone(),
                        original_size: sanitized.original_size,
                        file_name: sanitized.file_name.clone(),
                    }),
                }
            })
            .collect();

        RuleInput {
            message: wit::Message {
                envelope: wit::Envelope {
                    client_address: envelope.client_address.clone(),
                    helo: envelope.helo.clone(),
                    mail_from: envelope.mail_from.clone(),
                    rcpt_to: envelope.rcpt_to.clone(),
                },
                headers: message
                    .headers
                    .iter()
                    .map(|header| wit::Header { name: header.name.clone(), value: header.value.clone() })
                    .collect(),
                subject: message.subject.clone(),
                message_id: message.message_id.clone(),
                date: message.date.map(|date| date.to_rfc3339()),
                parts,
                stage: match stage {
                    Stage::BeforeScan => wit::Stage::BeforeScan,
                    Stage::AfterScan => wit::Stage::AfterScan,
                },
            },
        }
    }

    /// Returns the stage this view was built for.
    pub fn stage(&self) -> Stage {
        match self.message.stage {
            wit::Stage::BeforeScan => Stage::BeforeScan,
            wit::Stage::AfterScan => Stage::AfterScan,
        }
    }
}

fn scan_state(scan: Option<&PartScan>) -> wit::ScanState {
    let finding = |engine: &str, reason: &str| wit::ScanFinding { engine: engine.to_string(), reason: reason.to_string() };
    match scan {
        None | Some(PartScan::NotScanned) => wit::ScanState::NotScanned,
        Some(PartScan::Clean { engine }) => wit::ScanState::Clean(engine.clone()),
        Some(PartScan::Blocked { engine, reason }) => wit::ScanState::Blocked(finding(engine, reason)),
        Some(PartScan::Failed { engine, reason }) => wit::ScanState::Failed(finding(engine, reason)),
    }
}
