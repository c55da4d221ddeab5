//! The `metadefender` engine of the sanitize stage: MetaDefender Core's
//! sanitized copy of a part, from Core's scan of the part when there was one
//! and from a new submission otherwise.

use mailgate_message::PartInfo;
use mailgate_vault::mailgate_scan::{MetaDefenderScanner, ScanRequest, Scanner, Verdict};

use super::{EngineCopy, PartOutcome};

/// The line in [`SanitizedPart::removed`](super::SanitizedPart::removed) for
/// a copy from Core. Core's scan result, as the engine reads it, does not
/// list what the sanitization removed.
pub(super) const REMOVED_BY_CORE: &str = "active content (removed by MetaDefender Core)";

/// Core's earlier scan of a part, taken from its verdict.
struct CoreScan<'a> {
    data_id: &'a str,
    sanitized: bool,
}

/// Returns Core's sanitized copy of `part`, or [`PartOutcome::Kept`] when
/// Core did not sanitize it.
///
/// `verdict` is the part's scan verdict. A clean verdict of Core with a data
/// id is reused, and any other verdict (another engine, a failed scan, no
/// scan) makes this function submit the part to Core.
pub(super) async fn sanitize(scanner: &MetaDefenderScanner, part: &PartInfo, verdict: Option<&Verdict>) -> PartOutcome {
    let data_id = match verdict.and_then(|verdict| core_scan(scanner, verdict)) {
        Some(CoreScan { data_id, sanitized: true }) => data_id.to_string(),
        Some(CoreScan { data_id, sanitized: false }) => {
            tracing::debug!(part = part.id.0, data_id, "MetaDefender Core's scan did not sanitize the attachment");
            return PartOutcome::Kept;
        }
        None => match submit(scanner, part).await {
            Ok(Some(data_id)) => data_id,
            Ok(None) => return PartOutcome::Kept,
            Err(failed) => return failed,
        },
    };

    fetch(scanner, part, &data_id).await
}

/// Reads Core's data id and sanitized flag from a clean verdict of Core.
fn core_scan<'a>(scanner: &MetaDefenderScanner, verdict: &'a Verdict) -> Option<CoreScan<'a>> {
    if verdict.engine() != scanner.name() {
        return None;
    }
    let data_id = verdict.data_id()?;
    Some(CoreScan { data_id, sanitized: verdict.sanitized_copy().is_some() })
}

/// Submits `part` to Core and waits for the result. Returns the data id
/// when Core sanitized the file, `None` when it found nothing to sanitize.
///
/// # Errors
///
/// [`PartOutcome::Failed`] when Core cannot be reached, times out, blocks
/// the file or cannot process it.
async fn submit(scanner: &MetaDefenderScanner, part: &PartInfo) -> Result<Option<String>, PartOutcome> {
    let request = ScanRequest { file_name: part.file_name.as_deref(), declared_type: &part.content_type, content: &part.content };
    let report = scanner
        .scan_report(request)
        .await
        .map_err(|error| PartOutcome::Failed { reason: error.to_string(), temporary: error.is_temporary() })?;
    tracing::debug!(
        part = part.id.0,
        data_id = report.data_id,
        code = report.scan_all_result,
        "submitted to MetaDefender Core for sanitization"
    );

    match report.verdict(scanner.name()) {
        Verdict::Clean { sanitized: Some(copy), .. } => Ok(Some(copy.data_id)),
        Verdict::Clean { sanitized: None, .. } => Ok(None),
        Verdict::Blocked { reason, .. } => {
            Err(PartOutcome::Failed { reason: format!("MetaDefender Core blocked the file: {reason}"), temporary: false })
        }
        Verdict::Failed { reason, .. } => Err(PartOutcome::Failed {
            reason: format!("MetaDefender Core could not process the file: {reason}"),
            temporary: true,
        }),
    }
}

/// Downloads the sanitized copy of the scan `data_id`.
async fn fetch(scanner: &MetaDefenderScanner, part: &PartInfo, data_id: &str) -> PartOutcome {
    match scanner.fetch_sanitized(data_id).await {
        Ok(Some(content)) if content.is_empty() => PartOutcome::Failed {
            reason: format!("MetaDefender Core returned an empty sanitized copy for data id {data_id}"),
            temporary: false,
        },
        // NOTE: Core may convert a file to another format. Its new name and
        // media type are not read, so the part keeps the original ones.
        Ok(Some(content)) => PartOutcome::Sanitized(EngineCopy {
            content: content.to_vec(),
            removed: vec![REMOVED_BY_CORE.to_string()],
            file_name: String::new(),
            content_type: String::new(),
        }),
        Ok(None) => {
            tracing::info!(
                part = part.id.0,
                data_id,
                "MetaDefender Core has no sanitized copy (HTTP 404), so the attachment is kept"
            );
            PartOutcome::Kept
        }
        Err(error) => PartOutcome::Failed { reason: error.to_string(), temporary: error.is_temporary() },
    }
}
