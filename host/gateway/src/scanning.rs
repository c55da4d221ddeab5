//! The scan of a message's attachments, between the two rule stages.
//!
//! Every part classified as an attachment is scanned with the engine of
//! `[scan]`, except those a rule excluded with `skip-scan` before the scan.
//! Bodies, inline images and the parts of signed or encrypted content are
//! not scanned. The verdicts go to the rules of the second stage and into
//! the message's history record.
//!
//! | verdict | effect |
//! |---|---|
//! | clean | none |
//! | blocked | the part is removed and named in the notice with the reason; it is uploaded only when a rule returns `upload-blocked` |
//! | failed (engine down, timed out, invalid reply) | `scan.unavailable`: `retry-later` defers the whole message, `fail` rejects it, `pass-with-mark` keeps the part and records it as not scanned |

use std::collections::BTreeSet;

use std::collections::{BTreeMap, HashMap};

use mailgate_history::PartVerdict;
use mailgate_message::{ParsedMessage, PartId, PartInfo, StorageNames, Withheld};
use mailgate_rules::PartScan;
use mailgate_vault::mailgate_scan::{BlocklistError, Engine, ScanRequest, Scanner, UnavailablePolicy, Verdict};

use crate::failure::ProcessError;
use crate::plan::Plan;

/// The configured engine and the policy for scans that fail.
pub struct ScanStage {
    engine: Engine,
    unavailable: UnavailablePolicy,
}

/// The verdicts for the attachments of one message.
#[derive(Debug, Default)]
pub(crate) struct MessageScan {
    /// Blocked parts with their file name and the reason for the notice.
    blocked: Vec<(PartId, Withheld)>,
    /// One entry per attachment, scanned or skipped, for the history.
    pub(crate) verdicts: Vec<PartVerdict>,
    /// The scan state of each attachment, for the rules.
    pub(crate) states: BTreeMap<PartId, PartScan>,
    /// The engine's verdict for each scanned attachment, for the sanitizer.
    pub(crate) raw: HashMap<PartId, Verdict>,
}

impl ScanStage {
    /// Creates the stage with `engine`; scans that fail follow `unavailable`.
    pub fn new(engine: Engine, unavailable: UnavailablePolicy) -> ScanStage {
        ScanStage { engine, unavailable }
    }

    /// Reads the block list of the built-in engine again. Returns the number
    /// of digests, or `None` for the other engines, which keep their own
    /// signatures.
    ///
    /// # Errors
    ///
    /// The file cannot be read or parsed; the previous list stays in use.
    pub(crate) fn reload_block_list(&self) -> Result<Option<usize>, BlocklistError> {
        match &self.engine {
            Engine::Builtin(scanner) => scanner.reload_blocklist().map(Some),
            _ => Ok(None),
        }
    }

    /// Scans every attachment of `message` that is not in `skip`, one
    /// after another.
    ///
    /// # Errors
    ///
    /// [`ProcessError::ScanUnavailable`] or [`ProcessError::ScanFailed`]
    /// when a scan fails and the policy is `retry-later` or `fail`.
    pub(crate) async fn scan(&self, message: &ParsedMessage, skip: &BTreeSet<PartId>) -> Result<MessageScan, ProcessError> {
        let mut result = MessageScan::default();
        let mut names = StorageNames::new();

        for part in message.attachments() {
            let file_name = names.assign(part);
            if skip.contains(&part.id) {
                tracing::debug!(part = part.id.0, "attachment not scanned at a rule's request");
                result.not_scanned(part, file_name, "not scanned (skipped by a rule)");
                continue;
            }
            let verdict = self.engine.scan(request(part)).await;
            result.raw.insert(part.id, verdict.clone());
            self.note(part, file_name, verdict, &mut result)?;
        }

        Ok(result)
    }

    /// Records one verdict, or ends the scan by policy when it failed.
    fn note(&self, part: &PartInfo, file_name: String, verdict: Verdict, result: &mut MessageScan) -> Result<(), ProcessError> {
        let (text, state) = match &verdict {
            Verdict::Clean { engine, .. } => {
                tracing::debug!(part = part.id.0, %engine, "attachment clean");
                (format!("clean ({engine})"), PartScan::Clean { engine: engine.to_string() })
            }
            Verdict::Blocked { engine, reason } => {
                tracing::info!(part = part.id.0, file_name = %file_name, %engine, %reason, "attachment blocked by the scan");
                let withheld =
                    Withheld { file_name: file_name.clone(), reason: format!("blocked by the virus scan ({reason})"), link: None };
                result.blocked.push((part.id, withheld));
                let state = PartScan::Blocked { engine: engine.to_string(), reason: reason.to_string() };
                (format!("blocked ({engine}): {reason}"), state)
            }
            Verdict::Failed { engine, reason } => {
                tracing::warn!(part = part.id.0, file_name = %file_name, %engine, %reason, policy = ?self.unavailable, "attachment could not be scanned");
                match self.unavailable {
                    UnavailablePolicy::RetryLater => {
                        return Err(ProcessError::ScanUnavailable { file_name, reason: format!("{engine}: {reason}") });
                    }
                    UnavailablePolicy::Fail => {
                        return Err(ProcessError::ScanFailed { file_name, reason: format!("{engine}: {reason}") });
                    }
                    _ => (
                        format!("not scanned ({engine}): {reason}"),
                        PartScan::Failed { engine: engine.to_string(), reason: reason.to_string() },
                    ),
                }
            }
        };

        result.record(part, file_name, text, state);
        Ok(())
    }
}

impl MessageScan {
    /// Returns the result for a message whose attachments are not scanned
    /// because scanning is turned off.
    pub(crate) fn scanning_off(message: &ParsedMessage) -> MessageScan {
        let mut result = MessageScan::default();
        for part in message.attachments() {
            result.states.insert(part.id, PartScan::NotScanned);
        }
        result
    }

    /// Returns whether the scan blocked part `id`.
    pub(crate) fn is_blocked(&self, id: PartId) -> bool {
        self.blocked.iter().any(|(blocked, _)| *blocked == id)
    }

    /// Removes the blocked parts in `plan`. A blocked part is uploaded only
    /// when a rule asked for `upload-blocked`; all others are kept from the
    /// upload. Returns the entries for the notice, by part.
    pub(crate) fn apply(&self, plan: &mut Plan) -> Vec<(PartId, Withheld)> {
        let blocked: BTreeSet<PartId> = self.blocked.iter().map(|(id, _)| *id).collect();

        plan.remove.extend(blocked.iter().copied());
        plan.upload.retain(|id| !blocked.contains(id));
        plan.upload.extend(blocked.intersection(&plan.upload_blocked).copied());
        self.blocked.clone()
    }

    fn not_scanned(&mut self, part: &PartInfo, file_name: String, text: &str) {
        self.record(part, file_name, text.to_string(), PartScan::NotScanned);
    }

    fn record(&mut self, part: &PartInfo, file_name: String, text: String, state: PartScan) {
        self.states.insert(part.id, state);
        self.verdicts.push(PartVerdict {
            part_id: part.id.0,
            file_name: Some(file_name),
            content_type: part.content_type.clone(),
            verdict: text,
            sanitized: false,
        });
    }
}

fn request(part: &PartInfo) -> ScanRequest<'_> {
    ScanRequest { file_name: part.file_name.as_deref(), declared_type: &part.content_type, content: &part.content }
}
