//! The status of a stored file, as `GET /file/status/{file_id}` returns it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::FileId;

/// Status of one file in the vault.
///
/// Fields that the built-in vault always sends are required. The others are
/// optional, because their form in the product is only partly known. Fields
/// that this type does not name stay in `other`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileStatus {
    pub file_id: FileId,

    /// File name as uploaded.
    pub name: String,

    /// Folder path inside the vault, empty for the root.
    #[serde(default)]
    pub path: String,

    pub availability_state: AvailabilityState,

    /// Whether a download through the file's URL succeeds now.
    pub can_be_downloaded: bool,

    /// Size in bytes.
    pub size: Option<u64>,

    pub group_id: Option<String>,

    pub processing_state: Option<String>,

    pub is_locked: Option<bool>,

    pub is_sanitized: Option<bool>,

    /// Any other fields of the response, such as `scan_result` or `expires`.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Life-cycle state of a stored file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AvailabilityState {
    Composing,
    QueuedForProcessing,
    BeingProcessed,
    Available,
    Expired,
    Deleted,
    Blocked,
    BlockedNoSanitization,
    ProcessingFailed,

    /// A state that this client does not recognize.
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_product_fields() {
        let body = serde_json::json!({
            "file_id": "abc",
            "name": "report.pdf",
            "path": "Email Gateway/2026-09-28",
            "availability_state": "Blocked",
            "can_be_downloaded": false,
            "size": 1234,
            "group_id": "6f1c2d9e-0000-4000-8000-000000000000",
            "is_locked": true,
            "scan_result": {"workflow_result": "Blocked", "blocked_reason": "Infected"},
        });

        let status: FileStatus = serde_json::from_value(body).unwrap();

        assert_eq!(status.file_id, FileId::from("abc"));
        assert_eq!(status.availability_state, AvailabilityState::Blocked);
        assert_eq!(status.size, Some(1234));
        assert_eq!(status.is_locked, Some(true));
        assert_eq!(status.other["scan_result"]["blocked_reason"], "Infected");
    }

    #[test]
    fn unknown_state_accepted() {
        let body = serde_json::json!({
            "file_id": "abc",
            "name": "a",
            "availability_state": "SomethingNew",
            "can_be_downloaded": false,
        });

        let status: FileStatus = serde_json::from_value(body).unwrap();

        assert_eq!(status.availability_state, AvailabilityState::Unknown);
        assert_eq!(status.path, "");
    }
}
