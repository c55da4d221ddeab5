//! Scanning of stored files: the first scan when a group is finished, rescan
//! passes, and the background task that starts a pass when files are due.
//!
//! A finished file is due for a rescan when one of these holds:
//! - its lock interval has ended (at any hour);
//! - all its scans failed and the last one is older than [`FAILED_SCAN_RETRY`]
//!   (at any hour);
//! - the rescan period is not zero, the current UTC hour is inside the rescan
//!   hours, and its last scan is older than the period or it was never scanned.
//!
//! Each pass first reads the built-in engine's block list file again, so that
//! removing a digest releases its files and adding one blocks them. Passes
//! never overlap.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use mailgate_scan::{BlocklistError, Engine, ScanRequest, Scanner, Verdict};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::config::{RescanHours, VaultServerConfig};
use super::routes::AppState;
use super::scan_state::{apply_verdict, is_locked, start_lock};
use super::store::{FileRecord, FileState};

/// Age of a failed first scan at which the file is scanned again.
pub const FAILED_SCAN_RETRY: Duration = Duration::from_secs(60);

/// Media type given to the engine. The vault stores no media type, so checks
/// that compare it with the content never apply.
const DECLARED_TYPE: &str = "application/octet-stream";

/// Engine name in verdicts that the vault produces itself, when the stored
/// content cannot be read.
const VAULT_ENGINE: &str = "vault";

/// Counts of one rescan pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RescanSummary {
    /// Files scanned.
    pub scanned: usize,

    /// Files that were blocked or had no verdict and are now available.
    pub released: usize,

    /// Files that were available or had no verdict and are now blocked.
    pub blocked: usize,

    /// Files whose lock interval ended with this pass.
    pub unlocked: usize,

    /// Scans that failed, and files whose new state could not be stored.
    pub failed: usize,
}

/// Failure of a whole rescan pass.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum RescanError {
    /// The vault runs without a scanner, so there is nothing to rescan with.
    #[error("the vault has no scanner configured, so it cannot rescan files")]
    NoScanner,

    /// The block list file could not be read again. No file was scanned and
    /// the previous list stays in use.
    #[error("rescan skipped, because the block list could not be read again: {0}")]
    Blocklist(#[from] BlocklistError),
}

/// The scanner with its rescan settings.
pub(crate) struct Scanning {
    engine: Arc<Engine>,
    lock_interval: Duration,
    rescan_period: Duration,
    rescan_hours: Option<RescanHours>,

    /// Held for the whole of a pass, so that passes never overlap.
    pass_lock: Mutex<()>,
}

impl Scanning {
    /// Returns the scanning settings of `config`, or `None` without a scanner.
    pub(crate) fn from_config(config: &VaultServerConfig) -> Option<Scanning> {
        let engine = config.scanner.clone()?;

        Some(Scanning {
            engine,
            lock_interval: config.lock_interval,
            rescan_period: config.rescan_period,
            rescan_hours: config.rescan_hours,
            pass_lock: Mutex::new(()),
        })
    }

    /// Returns the time between two checks for due files: a quarter of the
    /// shortest non-zero interval, between one second and one minute.
    fn check_period(&self) -> Duration {
        [self.lock_interval, self.rescan_period, FAILED_SCAN_RETRY]
            .into_iter()
            .filter(|interval| !interval.is_zero())
            .min()
            .map_or(Duration::from_secs(60), |shortest| shortest / 4)
            .clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// Returns true when `record` is due for a rescan at `now`, as the module describes.
    fn is_due(&self, record: &FileRecord, now: DateTime<Utc>) -> bool {
        if record.state == FileState::Composing {
            return false;
        }

        if record.locked_until.is_some_and(|until| now >= until) {
            return true;
        }

        let age = record
            .last_scan
            .as_ref()
            .map(|scan| (now - scan.scanned_at).to_std().unwrap_or(Duration::ZERO));
        if record.state == FileState::ScanFailed {
            return age.is_none_or(|age| age >= FAILED_SCAN_RETRY);
        }

        let in_hours = self
            .rescan_hours
            .is_none_or(|hours| hours.contains(now.hour()));
        !self.rescan_period.is_zero() && in_hours && age.is_none_or(|age| age >= self.rescan_period)
    }
}

/// Scans a file whose group has just been finished and sets its state. Without
/// a scanner the file becomes `Available` at once.
pub(crate) async fn scan_new_file(state: &AppState, record: &mut FileRecord) {
    let Some(scanning) = &state.scanning else {
        record.state = FileState::Available;
        return;
    };

    let now = Utc::now();
    start_lock(record, now, scanning.lock_interval);

    let verdict = scan_content(state, scanning, record).await;
    apply_verdict(record, &verdict, Utc::now());

    tracing::info!(file_id = record.file_id, %verdict, locked = is_locked(record), "vault scanned new file");
}

/// Runs one pass over every finished file (`all`) or over the files due now,
/// as the module describes.
///
/// Errors: [`RescanError::NoScanner`] without a scanner and
/// [`RescanError::Blocklist`] when the block list cannot be read again.
/// Failed scans and records that cannot be written are logged and counted in
/// [`RescanSummary::failed`].
pub(crate) async fn run_pass(state: &AppState, all: bool) -> Result<RescanSummary, RescanError> {
    let scanning = state.scanning.as_ref().ok_or(RescanError::NoScanner)?;
    let _pass = scanning.pass_lock.lock().await;

    let now = Utc::now();
    let files: Vec<FileRecord> = state
        .store
        .all_files()
        .into_iter()
        .filter(|record| record.state != FileState::Composing)
        .filter(|record| all || scanning.is_due(record, now))
        .collect();
    if files.is_empty() {
        return Ok(RescanSummary::default());
    }

    reload_blocklist(&scanning.engine).await?;

    let mut summary = RescanSummary::default();
    for record in files {
        rescan_file(state, scanning, record, &mut summary).await;
    }

    tracing::info!(
        scanned = summary.scanned,
        released = summary.released,
        blocked = summary.blocked,
        unlocked = summary.unlocked,
        failed = summary.failed,
        "vault finished rescan pass"
    );
    Ok(summary)
}

/// Scans one stored file again, stores its new state and counts the change.
async fn rescan_file(
    state: &AppState,
    scanning: &Scanning,
    record: FileRecord,
    summary: &mut RescanSummary,
) {
    let verdict = scan_content(state, scanning, &record).await;
    let scanned_at = Utc::now();
    summary.scanned += 1;

    // The record may have changed or gone while the content was scanned.
    let Some(mut current) = state.store.file(&record.file_id) else {
        return;
    };
    let before = current.clone();
    apply_verdict(&mut current, &verdict, scanned_at);

    if let Err(err) = state.store.write_file(&current).await {
        tracing::error!(file_id = current.file_id, error = %err, "vault failed to store the result of a rescan");
        summary.failed += 1;
        return;
    }

    if verdict.is_failed() {
        summary.failed += 1;
    }
    if before.state != FileState::Available && current.state == FileState::Available {
        summary.released += 1;
    }
    if before.state != FileState::Blocked && current.state == FileState::Blocked {
        summary.blocked += 1;
    }
    if is_locked(&before) && !is_locked(&current) {
        summary.unlocked += 1;
    }

    if before.state != current.state || is_locked(&before) != is_locked(&current) {
        tracing::info!(file_id = current.file_id, %verdict, from = ?before.state, to = ?current.state, locked = is_locked(&current), "vault rescan changed file state");
    }
}

/// Reads a stored file's content and scans it. Content that cannot be read
/// yields a failed verdict.
async fn scan_content(state: &AppState, scanning: &Scanning, record: &FileRecord) -> Verdict {
    // NOTE: engines take the whole content in memory, so a scan of a file of
    // the maximum size holds 512 MiB at once.
    let content = match tokio::fs::read(state.store.content_path(&record.file_id)).await {
        Ok(content) => content,
        Err(err) => {
            tracing::error!(file_id = record.file_id, error = %err, "vault failed to read a file to scan it");
            return Verdict::failed(
                VAULT_ENGINE,
                format!("the stored content could not be read: {err}"),
            );
        }
    };

    let request = ScanRequest::new(DECLARED_TYPE, &content).with_file_name(&record.name);
    scanning.engine.scan(request).await
}

/// Reads the block list file of the built-in engine again. Other engines keep
/// their own signatures up to date.
async fn reload_blocklist(engine: &Arc<Engine>) -> Result<(), BlocklistError> {
    if !matches!(engine.as_ref(), Engine::Builtin(_)) {
        return Ok(());
    }

    let engine = engine.clone();
    tokio::task::spawn_blocking(move || match engine.as_ref() {
        Engine::Builtin(builtin) => builtin.reload_blocklist().map(|_| ()),
        _ => Ok(()),
    })
    .await
    .expect("reading the block list does not panic")
}

/// Starts the task that runs a pass whenever files are due. It ends by itself
/// once the server has dropped its state, and returns `None` without a scanner.
pub(crate) fn spawn(state: Weak<AppState>, scanning: &Scanning) -> Option<JoinHandle<()>> {
    let period = scanning.check_period();

    Some(tokio::spawn(async move {
        let mut repeated = RepeatedError::default();
        loop {
            tokio::time::sleep(period).await;

            let Some(state) = state.upgrade() else {
                break;
            };
            match run_pass(&state, false).await {
                Ok(_) => repeated.clear(),
                Err(err) => repeated.report(&err.to_string()),
            }
        }
    }))
}

/// Interval at which an unchanged rescan error is logged again.
const REPEATED_ERROR_INTERVAL: Duration = Duration::from_secs(600);

/// Rate limit for the error of the background task: a new error is logged
/// at once, the same error again only every [`REPEATED_ERROR_INTERVAL`],
/// with the number of passes that failed the same way in between.
#[derive(Default)]
struct RepeatedError {
    last: Option<(String, std::time::Instant)>,
    suppressed: u64,
}

impl RepeatedError {
    fn report(&mut self, error: &str) {
        let now = std::time::Instant::now();
        match &self.last {
            Some((last, logged_at)) if last == error && now.duration_since(*logged_at) < REPEATED_ERROR_INTERVAL => {
                self.suppressed += 1;
            }
            _ => {
                tracing::error!(error, repeated = self.suppressed, "vault rescan pass failed");
                self.last = Some((error.to_string(), now));
                self.suppressed = 0;
            }
        }
    }

    fn clear(&mut self) {
        if self.last.take().is_some() {
            tracing::info!("vault rescan passes work again");
        }
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_error_suppressed_until_changed() {
        let mut repeated = RepeatedError::default();

        repeated.report("block list unreadable");
        repeated.report("block list unreadable");
        repeated.report("block list unreadable");
        assert_eq!(repeated.suppressed, 2);

        repeated.report("another error");
        assert_eq!(repeated.suppressed, 0);
        assert_eq!(repeated.last.as_ref().map(|(error, _)| error.as_str()), Some("another error"));

        repeated.clear();
        assert!(repeated.last.is_none());
    }
    use crate::server::auth::API_KEY_OWNER;
    use crate::server::scan_state::{ScanRecord, ScanResult};

    fn scanning(rescan_period: Duration, rescan_hours: Option<RescanHours>) -> Scanning {
        Scanning {
            engine: Arc::new(Engine::default()),
            lock_interval: Duration::ZERO,
            rescan_period,
            rescan_hours,
            pass_lock: Mutex::new(()),
        }
    }

    fn scanned_at(state: FileState, scanned_at: DateTime<Utc>) -> FileRecord {
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
            last_scan: Some(ScanRecord {
                scanned_at,
                engine: "builtin".to_owned(),
                result: ScanResult::Allowed,
                reason: None,
            }),
            blocked_reason: None,
            locked_until: None,
        }
    }

    /// 2026-09-28 at the given UTC hour.
    fn at_hour(hour: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 9, 28)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn due_after_period() {
        let daily = scanning(Duration::from_secs(3600), None);
        let now = at_hour(12);

        assert!(daily.is_due(&scanned_at(FileState::Available, at_hour(10)), now));
        assert!(daily.is_due(&scanned_at(FileState::Blocked, at_hour(11)), now));
        assert!(!daily.is_due(&scanned_at(FileState::Available, now), now));
        assert!(!daily.is_due(&scanned_at(FileState::Composing, at_hour(1)), now));
    }

    #[test]
    fn zero_period_disables_rescans() {
        let off = scanning(Duration::ZERO, None);

        assert!(!off.is_due(&scanned_at(FileState::Available, at_hour(0)), at_hour(23)));
    }

    #[test]
    fn rescan_hours_respected() {
        let night = scanning(
            Duration::from_secs(60),
            Some(RescanHours {
                from_hour: 22,
                to_hour: 6,
            }),
        );
        let old = scanned_at(FileState::Available, at_hour(0));

        assert!(!night.is_due(&old, at_hour(12)));
        assert!(night.is_due(&old, at_hour(23)));
    }

    #[test]
    fn lock_end_due_outside_hours() {
        let night = scanning(
            Duration::from_secs(3600),
            Some(RescanHours {
                from_hour: 22,
                to_hour: 6,
            }),
        );
        let mut locked = scanned_at(FileState::Available, at_hour(12));
        locked.locked_until = Some(at_hour(12) + chrono::Duration::minutes(5));

        assert!(!night.is_due(&locked, at_hour(12)));
        assert!(night.is_due(&locked, at_hour(13)));
    }

    #[test]
    fn failed_scan_retried() {
        let off = scanning(Duration::ZERO, None);
        let failed = scanned_at(FileState::ScanFailed, at_hour(12));

        assert!(!off.is_due(&failed, at_hour(12)));
        assert!(off.is_due(&failed, at_hour(12) + chrono::Duration::minutes(1)));
    }
}
