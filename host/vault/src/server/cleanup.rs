//! Background removal of abandoned uploads and expired sessions.
//!
//! An upload group that gets no request for the configured transfer timeout
//! (one hour by default) is deleted: its files' content received so far, and
//! the records of files already finished but never made available. Its ids get
//! 404 afterwards. The task checks every quarter of the timeout, at least every
//! minute and at most every 10 ms, so a group is removed between one and one
//! and a quarter timeouts after its last request.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinHandle;

use super::routes::AppState;

/// Starts the cleanup task. It ends by itself once the server has dropped its state.
pub(crate) fn spawn(state: Weak<AppState>, timeout: Duration) -> JoinHandle<()> {
    let period = (timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(60));

    tokio::spawn(async move {
        loop {
            tokio::time::sleep(period).await;

            let Some(state) = state.upgrade() else {
                break;
            };
            remove_abandoned(&state, timeout).await;
            forget_expired_sessions(&state);
        }
    })
}

/// Deletes the groups idle for at least `timeout`, with their files.
async fn remove_abandoned(state: &Arc<AppState>, timeout: Duration) {
    let abandoned = state.transfers.take_abandoned(Instant::now(), timeout);

    for group in abandoned {
        let mut failed = 0;
        for file_id in &group.file_ids {
            if let Err(err) = state.store.delete_file(file_id).await {
                tracing::error!(group_id = group.group_id, file_id, error = %err, "vault failed to delete a file of an abandoned upload");
                failed += 1;
            }
        }

        tracing::info!(
            group_id = group.group_id,
            files = group.file_ids.len(),
            failed,
            idle_secs = timeout.as_secs(),
            "vault removed abandoned upload group"
        );
    }
}

fn forget_expired_sessions(state: &AppState) {
    let removed = state.credentials.forget_expired_sessions(SystemTime::now());

    if removed > 0 {
        tracing::debug!(removed, "vault removed expired sessions");
    }
}
