//! Scan results of stored files and the state change that each scan causes.
//!
//! [`apply_verdict`] applies one scan to a file:
//! - clean: the file becomes `Available`. Its lock ends when the scan ran at
//!   or after `locked_until`, and stays otherwise.
//! - blocked: the file becomes `Blocked` with the verdict's reason, whatever
//!   its state before.
//! - failed: a file that had a clean or blocked verdict keeps it, because an
//!   engine that is down says nothing about the file. A file without one
//!   becomes `ScanFailed`.
//!
//! Every scan, failed ones included, becomes the file's `last_scan`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mailgate_scan::Verdict;
use serde::{Deserialize, Serialize};

use super::store::{FileRecord, FileState};

/// Outcome of one scan, with the names of the `workflow_result` field of the
/// file status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ScanResult {
    Allowed,
    Blocked,
    Failed,
}

/// One scan of a stored file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ScanRecord {
    pub(crate) scanned_at: DateTime<Utc>,

    /// Name of the engine that produced the verdict.
    pub(crate) engine: String,
    pub(crate) result: ScanResult,

    /// Reason of a blocked or failed scan.
    pub(crate) reason: Option<String>,
}

/// Starts the lock interval of a newly finished file at `now`. A zero
/// interval leaves the file unlocked.
pub(crate) fn start_lock(record: &mut FileRecord, now: DateTime<Utc>, lock_interval: Duration) {
    if lock_interval.is_zero() {
        record.locked_until = None;
        return;
    }

    // An interval too large for chrono locks the file for as long as chrono can count.
    let interval = chrono::Duration::from_std(lock_interval).unwrap_or(chrono::Duration::MAX);
    record.locked_until = Some(
        now.checked_add_signed(interval)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    );
}

/// Applies a scan that ran at `scanned_at` to a finished file, as the module
/// describes.
pub(crate) fn apply_verdict(record: &mut FileRecord, verdict: &Verdict, scanned_at: DateTime<Utc>) {
    let result = match verdict {
        // NOTE: a sanitized copy that an engine offers is not fetched; the
        // vault keeps serving the original content.
        Verdict::Clean { .. } => ScanResult::Allowed,
        Verdict::Blocked { .. } => ScanResult::Blocked,
        Verdict::Failed { .. } => ScanResult::Failed,
    };

    match result {
        ScanResult::Allowed => {
            record.state = FileState::Available;
            record.blocked_reason = None;
            if record.locked_until.is_some_and(|until| scanned_at >= until) {
                record.locked_until = None;
            }
        }
        ScanResult::Blocked => {
            record.state = FileState::Blocked;
            record.blocked_reason = verdict.reason().map(str::to_owned);
        }
        ScanResult::Failed => {
            if !matches!(record.state, FileState::Available | FileState::Blocked) {
                record.state = FileState::ScanFailed;
            }
        }
    }

    record.last_scan = Some(ScanRecord {
        scanned_at,
        engine: verdict.engine().to_owned(),
        result,
        reason: verdict.reason().map(str::to_owned),
    });
}

/// Returns true while the file's lock interval has not been ended by a clean scan.
pub(crate) fn is_locked(record: &FileRecord) -> bool {
    record.locked_until.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::auth::API_KEY_OWNER;

    fn record(state: FileState) -> FileRecord {
        FileRecord {
            file_id: "0123456789abcdef0123456789abcdef".to_owned(),
            name: "a.txt".to_owned(),
            path: String::new(),
            folder_id: String::new(),
            size: 1,
            group_id: "g".to_owned(),
            created: "2026-09-28T00:00:00Z".to_owned(),
            state,
            owner: API_KEY_OWNER.to_owned(),
            last_scan: None,
            blocked_reason: None,
            locked_until: None,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn blocked_then_clean_releases() {
        let mut file = record(FileState::Composing);

        apply_verdict(
            &mut file,
            &Verdict::blocked("builtin", "on the list"),
            at(0),
        );
        assert_eq!(file.state, FileState::Blocked);
        assert_eq!(file.blocked_reason.as_deref(), Some("on the list"));

        apply_verdict(&mut file, &Verdict::clean("builtin"), at(1));
        assert_eq!(file.state, FileState::Available);
        assert_eq!(file.blocked_reason, None);
        assert_eq!(file.last_scan.unwrap().scanned_at, at(1));
    }

    #[test]
    fn failed_scan_keeps_verdict() {
        let mut available = record(FileState::Available);
        let mut blocked = record(FileState::Blocked);
        let mut new = record(FileState::Composing);
        let failed = Verdict::failed("clamd", "connection refused");

        apply_verdict(&mut available, &failed, at(0));
        apply_verdict(&mut blocked, &failed, at(0));
        apply_verdict(&mut new, &failed, at(0));

        assert_eq!(available.state, FileState::Available);
        assert_eq!(blocked.state, FileState::Blocked);
        assert_eq!(new.state, FileState::ScanFailed);
        assert_eq!(new.last_scan.unwrap().result, ScanResult::Failed);
    }

    #[test]
    fn lock_ends_with_clean_scan_after_interval() {
        let mut file = record(FileState::Composing);
        start_lock(&mut file, at(0), Duration::from_secs(60));

        apply_verdict(&mut file, &Verdict::clean("builtin"), at(0));
        assert!(is_locked(&file));

        apply_verdict(&mut file, &Verdict::clean("builtin"), at(59));
        assert!(is_locked(&file));

        apply_verdict(&mut file, &Verdict::blocked("builtin", "x"), at(60));
        assert!(is_locked(&file));

        apply_verdict(&mut file, &Verdict::clean("builtin"), at(61));
        assert!(!is_locked(&file));
        assert_eq!(file.state, FileState::Available);
    }

    #[test]
    fn zero_lock_interval_unlocked() {
        let mut file = record(FileState::Composing);

        start_lock(&mut file, at(0), Duration::ZERO);

        assert!(!is_locked(&file));
    }
}
