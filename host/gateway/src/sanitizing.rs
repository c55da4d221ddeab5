//! The sanitization of the attachments that rules request, before the upload
//! and the rewrite of a message.
//!
//! Rules request sanitization of an attachment with the `sanitize` action.
//! The pipeline passes the requested part ids to [`SanitizeStage::sanitize`]
//! and replaces each part of the returned [`SanitizedPart`]s with its
//! sanitized copy (content, and file name and media type where they
//! changed) in the delivered message. A part gets no entry and stays as it
//! is when it is not an attachment, is empty, is of a type that the engine
//! does not sanitize, or has no active content.
//!
//! # Engines (`[sanitize] engine`)
//!
//! - `builtin` (the default): [`mailgate_sanitize::Sanitizer`] on tokio's
//!   blocking pool, with the limits of `[sanitize]`. It removes VBA projects
//!   and ActiveX controls from Office Open XML files (`.docm` becomes
//!   `.docx`, and so on) and scripts and other active content from HTML.
//! - `metadefender`: MetaDefender Core's sanitized copy, from
//!   `GET /file/converted/{data_id}`. When the part's scan verdict comes from
//!   Core, that scan is used: a clean verdict with a sanitized copy is
//!   fetched, and a clean verdict without one leaves the part unchanged.
//!   Otherwise the stage submits the part itself (`POST /file`, then polls
//!   `GET /file/{data_id}`). A copy that Core no longer serves (HTTP 404)
//!   leaves the part unchanged, and a file that Core blocks is a failure.
//!
//! # Failures (`[sanitize] failure`)
//!
//! A part fails when the engine cannot sanitize it: a corrupt or hostile
//! file, a file over a limit, Core unreachable, busy or blocking the file.
//! Every failure is logged with the part id and the reason and returned in
//! [`MessageSanitization::failed`] for the history.
//!
//! | policy | effect |
//! |---|---|
//! | `keep-original` (default) | the original is delivered unchanged |
//! | `remove` | the part is removed from the delivered message and named in the notice with the reason |
//!
//! `keep-original` is the default because the scan has already passed the
//! file, and most failures come from corrupt or unusual files that the
//! sender means to send. A file crafted to make sanitization fail then
//! passes with its active content, so sites that must not deliver macros
//! choose `remove`. [`SanitizeFailure::temporary`] marks the failures where
//! a later attempt may succeed, such as Core being unreachable.

mod metadefender;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use mailgate_message::{ParsedMessage, PartId, PartInfo, StorageNames, Withheld};
use mailgate_sanitize::{Limits, SanitizeOutcome, Sanitizer};
use mailgate_vault::mailgate_scan::{MetaDefenderScanner, Verdict};
use serde::Deserialize;

/// Name of the built-in engine in logs and results.
const BUILTIN_ENGINE: &str = "builtin";

/// Name of the MetaDefender Core engine in logs and results.
const METADEFENDER_ENGINE: &str = "metadefender";

/// Handling of an attachment that could not be sanitized. In configuration
/// files the values are `keep-original` and `remove`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SanitizeFailurePolicy {
    /// Deliver the original attachment unchanged.
    #[default]
    KeepOriginal,
    /// Remove the attachment and name it in the notice with the reason.
    Remove,
}

/// The configured engine and the failure policy.
#[derive(Debug)]
pub struct SanitizeStage {
    engine: Engine,
    failure: SanitizeFailurePolicy,
}

#[derive(Debug)]
enum Engine {
    Builtin(Arc<Sanitizer>),
    MetaDefender(MetaDefenderScanner),
}

/// The sanitized copy of one attachment, to deliver in place of the original.
#[derive(Clone, PartialEq, Eq)]
pub struct SanitizedPart {
    /// The part the copy replaces.
    pub part_id: PartId,
    /// The new file name, when it differs from the original, such as
    /// `report.docx` for `report.docm`.
    pub file_name: Option<String>,
    /// The new media type, when it differs from the original in type or
    /// charset, such as `text/html; charset=utf-8`.
    pub content_type: Option<String>,
    /// The sanitized content, decoded (the rewrite applies the transfer
    /// encoding).
    pub content: Vec<u8>,
    /// One line for each removed item or kind of content, for the history
    /// and the notice, such as `VBA macro project (word/vbaProject.bin)` or
    /// `2 script elements`.
    pub removed: Vec<String>,
    /// Size of the original decoded content, in bytes.
    pub original_size: u64,
    /// The engine that produced the copy: `builtin` or `metadefender`.
    pub engine: &'static str,
}

/// Shows the size of the content instead of the bytes, so that logging a
/// result never logs attachment content.
impl fmt::Debug for SanitizedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SanitizedPart")
            .field("part_id", &self.part_id)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("size", &self.content.len())
            .field("removed", &self.removed)
            .field("original_size", &self.original_size)
            .field("engine", &self.engine)
            .finish()
    }
}

/// An attachment that could not be sanitized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SanitizeFailure {
    /// The part.
    pub part_id: PartId,
    /// The attachment's name as the notice and the vault show it.
    pub file_name: String,
    /// The cause, for logs, the history and the notice.
    pub reason: String,
    /// True when a later attempt may succeed, because Core was unreachable,
    /// busy, timed out or could not decide. False for causes in the file.
    pub temporary: bool,
    /// The configured policy for this failure.
    pub policy: SanitizeFailurePolicy,
}

impl SanitizeFailure {
    /// Returns true when the policy removes the part from the message.
    pub fn removes_part(&self) -> bool {
        self.policy == SanitizeFailurePolicy::Remove
    }

    /// Returns the notice entry for a removed part, or `None` when the
    /// original is kept.
    pub fn withheld(&self) -> Option<Withheld> {
        self.removes_part()
            .then(|| Withheld {
            file_name: self.file_name.clone(),
            reason: format!("could not be sanitized ({})", self.reason),
            link: None,
        })
    }
}

/// The results of the sanitize stage for one message.
#[derive(Debug, Default)]
pub struct MessageSanitization {
    /// The sanitized copies, in part order.
    pub sanitized: Vec<SanitizedPart>,
    /// The parts that could not be sanitized, in part order.
    pub failed: Vec<SanitizeFailure>,
}

impl MessageSanitization {
    /// Returns true when no part was sanitized and none failed.
    pub fn is_empty(&self) -> bool {
        self.sanitized.is_empty() && self.failed.is_empty()
    }

    /// Returns the parts that the failure policy removes from the delivered
    /// message.
    pub fn removed_parts(&self) -> BTreeSet<PartId> {
        self.failed.iter().filter(|failure| failure.removes_part()).map(|failure| failure.part_id).collect()
    }

    /// Returns the notice entries of the removed parts.
    pub fn withheld(&self) -> Vec<Withheld> {
        self.failed.iter().filter_map(SanitizeFailure::withheld).collect()
    }
}

/// The result of an engine for one part.
enum PartOutcome {
    /// Not applicable or no active content: the original stays.
    Kept,
    Sanitized(EngineCopy),
    Failed {
        reason: String,
        temporary: bool,
    },
}

/// A sanitized copy as an engine returns it, before it is compared with the
/// original part.
struct EngineCopy {
    content: Vec<u8>,
    removed: Vec<String>,
    /// The suggested file name, empty when the engine does not suggest one.
    file_name: String,
    /// The suggested media type, empty when the engine does not suggest one.
    content_type: String,
}

impl SanitizeStage {
    /// Creates the stage with the built-in sanitizer and its `limits`.
    pub fn builtin(limits: Limits, failure: SanitizeFailurePolicy) -> SanitizeStage {
        SanitizeStage { engine: Engine::Builtin(Arc::new(Sanitizer::new(limits))), failure }
    }

    /// Creates the stage with MetaDefender Core. `scanner` should reach the
    /// same Core as the scan, so that the stage can reuse Core's scans.
    pub fn metadefender(scanner: MetaDefenderScanner, failure: SanitizeFailurePolicy) -> SanitizeStage {
        SanitizeStage { engine: Engine::MetaDefender(scanner), failure }
    }

    /// Returns the engine's name: `builtin` or `metadefender`.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Builtin(_) => BUILTIN_ENGINE,
            Engine::MetaDefender(_) => METADEFENDER_ENGINE,
        }
    }

    /// Returns the configured failure policy.
    pub fn failure_policy(&self) -> SanitizeFailurePolicy {
        self.failure
    }

    /// Sanitizes the attachments in `parts`, one after another.
    ///
    /// `verdicts` contains the scan verdicts of the message's attachments by
    /// part id, and may be empty (no scan ran). Only the `metadefender`
    /// engine reads it, to reuse Core's scan of a part. Part ids that do not
    /// exist or are not attachments are skipped with a warning. This method
    /// never fails as a whole: each part's failure is in the result.
    pub async fn sanitize(
        &self,
        message: &ParsedMessage,
        parts: &BTreeSet<PartId>,
        verdicts: &HashMap<PartId, Verdict>,
    ) -> MessageSanitization {
        let mut result = MessageSanitization::default();
        let names = storage_names(message);

        for &part_id in parts {
            let Some(part) = message.part(part_id).filter(|part| part.is_attachment()) else {
                tracing::warn!(part = part_id.0, "ignored a sanitization request for a part that is not an attachment");
                continue;
            };
            if part.content.is_empty() {
                continue;
            }

            let outcome = match &self.engine {
                Engine::Builtin(sanitizer) => sanitize_builtin(sanitizer, part).await,
                Engine::MetaDefender(scanner) => metadefender::sanitize(scanner, part, verdicts.get(&part_id)).await,
            };
            let file_name = names.get(&part_id).cloned().unwrap_or_else(|| format!("attachment-{}", part_id.0));
            self.record(part, file_name, outcome, &mut result);
        }

        result
    }

    /// Logs one part's outcome and adds it to `result`.
    fn record(&self, part: &PartInfo, file_name: String, outcome: PartOutcome, result: &mut MessageSanitization) {
        let engine = self.engine_name();
        match outcome {
            PartOutcome::Kept => {
                tracing::debug!(part = part.id.0, %file_name, engine, "attachment kept: nothing to sanitize");
            }
            PartOutcome::Sanitized(copy) => {
                tracing::info!(
                    part = part.id.0,
                    %file_name,
                    engine,
                    removed = ?copy.removed,
                    original_size = part.size(),
                    size = copy.content.len(),
                    "attachment sanitized"
                );
                result.sanitized.push(SanitizedPart {
                    part_id: part.id,
                    file_name: changed_file_name(part, &copy.file_name),
                    content_type: changed_content_type(part, &copy.content_type),
                    content: copy.content,
                    removed: copy.removed,
                    original_size: part.size(),
                    engine,
                });
            }
            PartOutcome::Failed { reason, temporary } => {
                tracing::warn!(
                    part = part.id.0,
                    %file_name,
                    engine,
                    %reason,
                    temporary,
                    policy = ?self.failure,
                    "attachment could not be sanitized"
                );
                result.failed.push(SanitizeFailure { part_id: part.id, file_name, reason, temporary, policy: self.failure });
            }
        }
    }
}

/// Assigns the storage names of all attachments in message order, so that a
/// failure names a part as the notice and the vault do.
fn storage_names(message: &ParsedMessage) -> HashMap<PartId, String> {
    let mut names = StorageNames::new();
    message.attachments().map(|part| (part.id, names.assign(part))).collect()
}

/// Runs the built-in sanitizer on the blocking pool, because a large
/// archive takes CPU time that would stall the async workers.
async fn sanitize_builtin(sanitizer: &Arc<Sanitizer>, part: &PartInfo) -> PartOutcome {
    let sanitizer = Arc::clone(sanitizer);
    let file_name = part.file_name.clone().unwrap_or_default();
    let declared_type = declared_type(part);
    let content = part.content.clone();

    let joined = tokio::task::spawn_blocking(move || sanitizer.sanitize(&file_name, &declared_type, &content)).await;

    match joined {
        Ok(SanitizeOutcome::NotApplicable | SanitizeOutcome::Unchanged) => PartOutcome::Kept,
        Ok(SanitizeOutcome::Sanitized(file)) => PartOutcome::Sanitized(EngineCopy {
            content: file.content,
            removed: file.removed,
            file_name: file.file_name,
            content_type: file.content_type,
        }),
        Ok(SanitizeOutcome::Failed { reason }) => PartOutcome::Failed { reason: reason.to_string(), temporary: false },
        Ok(_) => PartOutcome::Failed {
            reason: "the sanitizer returned an outcome this gateway does not handle".to_string(),
            temporary: false,
        },
        Err(error) => PartOutcome::Failed { reason: format!("the sanitizer stopped unexpectedly: {error}"), temporary: false },
    }
}

/// Returns the part's media type with its charset, as the message declares
/// it, so that the HTML sanitizer decodes the text correctly.
fn declared_type(part: &PartInfo) -> String {
    match &part.charset {
        Some(charset) => format!("{}; charset={charset}", part.content_type),
        None => part.content_type.clone(),
    }
}

/// Returns the engine's file name when it is not empty and differs from
/// the part's.
fn changed_file_name(part: &PartInfo, suggested: &str) -> Option<String> {
    let unchanged = suggested.is_empty() || part.file_name.as_deref() == Some(suggested);
    (!unchanged).then(|| suggested.to_string())
}

/// Returns the engine's media type when it is not empty and differs from
/// the part's in type or in charset.
fn changed_content_type(part: &PartInfo, suggested: &str) -> Option<String> {
    if suggested.trim().is_empty() {
        return None;
    }

    let mut pieces = suggested.split(';');
    let essence = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
    let charset = pieces.find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    });

    let same_type = essence == part.content_type;
    let same_charset = charset.is_none() || charset == part.charset;
    (!(same_type && same_charset)).then(|| suggested.to_string())
}
