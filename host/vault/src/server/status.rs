//! The client's view of a stored file: its status JSON and whether it may be
//! downloaded now.
//!
//! Status fields that depend on scanning:
//! - `availability_state`: `Composing`, `Available`, `Blocked`, or
//!   `ProcessingFailed` when every scan of the file failed;
//! - `can_be_downloaded`: true only for an `Available` file that is not locked;
//! - `is_locked`, and `unlock_eta` (RFC 3339, UTC) while locked;
//! - `scan_result`, once scanned: `workflow_result` (`Allowed`, `Blocked` or
//!   `Failed`), `blocked_reason` while the file is blocked, `engine`,
//!   `scanned_at` (RFC 3339, UTC) and `failure_reason` after a failed scan.

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::ApiError;
use super::routes::AppState;
use super::scan_state::ScanResult;
use super::store::{FileRecord, FileState};

/// Builds the status of a file, the form that the status endpoint and the
/// listings return.
pub(crate) fn status_json(state: &AppState, record: &FileRecord) -> Value {
    let availability_state = match record.state {
        FileState::Composing => "Composing",
        FileState::Available => "Available",
        FileState::Blocked => "Blocked",
        FileState::ScanFailed => "ProcessingFailed",
    };

    let mut status = json!({
        "file_id": record.file_id,
        "name": record.name,
        "path": record.path,
        "folder_id": record.folder_id,
        "availability_state": availability_state,
        "can_be_downloaded": check_downloadable(record).is_ok(),
        "is_locked": record.locked_until.is_some(),
        "size": record.size,
        "group_id": record.group_id,
        "owner": record.owner,
        "created": record.created,
        "file_url": state.file_url(&record.file_id),
    });

    if let Some(until) = record.locked_until {
        status["unlock_eta"] = json!(time_text(until));
    }
    if let Some(scan) = &record.last_scan {
        let mut scan_result = json!({
            "workflow_result": scan.result,
            "engine": scan.engine,
            "scanned_at": time_text(scan.scanned_at),
        });
        if let Some(reason) = &record.blocked_reason {
            scan_result["blocked_reason"] = json!(reason);
        }
        if scan.result == ScanResult::Failed {
            scan_result["failure_reason"] = json!(scan.reason);
        }
        status["scan_result"] = scan_result;
    }

    status
}

/// Checks that a file may be downloaded now and returns the rejection
/// otherwise: 409 while its group is not finished, 403 while it is blocked,
/// without a verdict or locked.
pub(crate) fn check_downloadable(record: &FileRecord) -> Result<(), ApiError> {
    let file_id = &record.file_id;

    match record.state {
        FileState::Composing => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "FILE_NOT_AVAILABLE",
                format!(
                    "file {file_id} is not available yet, because its upload group is not finished"
                ),
            ));
        }
        FileState::Blocked => {
            let reason = record
                .blocked_reason
                .as_deref()
                .unwrap_or("no reason given");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "FILE_BLOCKED",
                format!("file {file_id} is blocked by the scan: {reason}"),
            ));
        }
        FileState::ScanFailed => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "FILE_NOT_SCANNED",
                format!(
                    "file {file_id} could not be scanned yet; the vault tries again, so retry the download later"
                ),
            ));
        }
        FileState::Available => {}
    }

    if let Some(until) = record.locked_until {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FILE_LOCKED",
            format!(
                "file {file_id} is locked until {} and a clean scan after that time",
                time_text(until)
            ),
        ));
    }

    Ok(())
}

/// Formats a time as RFC 3339 in UTC with milliseconds.
fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}
