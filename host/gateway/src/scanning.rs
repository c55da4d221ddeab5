//! The scan of a message's attachments, before the rules run.
//!
//! Every part classified as an attachment is scanned with the engine of
//! `[scan]`. Bodies, inline images and the parts of signed or encrypted
//! content are not scanned. The verdicts go into the message's history
//! record.
//!
//! | verdict | effect |
//! |---|---|
//! | clean | none |
//! | blocked | the part is removed, never uploaded, and named in the notice with the reason |
//! | failed (engine down, timed out, invalid reply) | `scan.unavailable`: `retry-later` defers the whole message, `fail` rejects it, `pass-with-mark` keeps the part and records it as not scanned |
//!
//! NOTE: rules do not see the verdicts yet, and the sanitizer of
//! `mailgate-sanitize` is not applied to the delivered message yet.

use std::collections::BTreeSet;

use mailgate_history::PartVerdict;
use mailgate_message::{ParsedMessage, PartId, PartInfo, StorageNames, Withheld};
use mailgate_vault::mailgate_scan::{Engine, ScanRequest, Scanner, UnavailablePolicy, Verdict};

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
    /// One entry per scanned attachment, for the history.
    pub(crate) verdicts: Vec<PartVerdict>,
}

impl ScanStage {
    /// Creates the stage with `engine`; scans that fail follow `unavailable`.
    pub fn new(engine: Engine, unavailable: UnavailablePolicy) -> ScanStage {
        ScanStage { engine, unavailable }
    }

    /// Scans every attachment of `message`, one after another.
    ///
    /// # Errors
    ///
    /// [`ProcessError::ScanUnavailable`] or [`ProcessError::ScanFailed`]
    /// when a scan fails and the policy is `retry-later` or `fail`.
    pub(crate) async fn scan(&self, message: &ParsedMessage) -> Result<MessageScan, ProcessError> {
        let mut result = MessageScan::default();
        let mut names = StorageNames::new();

        for part in message.attachments() {
            let file_name = names.assign(part);
            let verdict = self.engine.scan(request(part)).await;
            self.note(part, file_name, verdict, &mut result)?;
        }

        Ok(result)
    }

    /// Records one verdict, or ends the scan by policy when it failed.
    fn note(&self, part: &PartInfo, file_name: String, verdict: Verdict, result: &mut MessageScan) -> Result<(), ProcessError> {
        let text = match &verdict {
            Verdict::Clean { engine, .. } => {
                tracing::debug!(part = part.id.0, %engine, "attachment clean");
                format!("clean ({engine})")
            }
            Verdict::Blocked { engine, reason } => {
                tracing::info!(part = part.id.0, file_name = %file_name, %engine, %reason, "attachment blocked by the scan");
                let withheld = Withheld { file_name: file_name.clone(), reason: format!("blocked by the virus scan ({reason})") };
                result.blocked.push((part.id, withheld));
                format!("blocked ({engine}): {reason}")
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
                    _ => format!("not scanned ({engine}): {reason}"),
                }
            }
        };

        result.verdicts.push(PartVerdict {
            part_id: part.id.0,
            file_name: Some(file_name),
            content_type: part.content_type.clone(),
            verdict: text,
            sanitized: false,
        });
        Ok(())
    }
}

impl MessageScan {
    /// Removes the blocked parts in `plan` and keeps them from the upload.
    /// Returns the entries for the notice.
    pub(crate) fn apply(&self, plan: &mut Plan) -> Vec<Withheld> {
        let blocked: BTreeSet<PartId> = self.blocked.iter().map(|(id, _)| *id).collect();

        plan.remove.extend(blocked.iter().copied());
        plan.upload.retain(|id| !blocked.contains(id));
        self.blocked.iter().map(|(_, withheld)| withheld.clone()).collect()
    }
}

fn request(part: &PartInfo) -> ScanRequest<'_> {
    ScanRequest { file_name: part.file_name.as_deref(), declared_type: &part.content_type, content: &part.content }
}
