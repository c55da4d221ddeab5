//! Scanning in the built-in vault: blocked files, rescans after block list
//! edits, the lock interval, authenticated downloads and scan metadata that
//! survives a restart.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mailgate_vault::mailgate_scan::{BuiltinScanner, Engine};
use mailgate_vault::{
    AvailabilityState, RunningVault, UploadFile, UploadedFile, VaultServer, VaultServerConfig,
};
use sha2::{Digest, Sha256};

use common::{API_KEY, client_for, server_config};

const CONTENT: &[u8] = b"quarterly figures, nothing harmful in here";

fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Builds a configuration with the built-in engine reading `block_list`.
fn scanning_config(data_dir: &Path, block_list: &Path) -> VaultServerConfig {
    let engine = BuiltinScanner::from_blocklist_file(block_list).expect("the block list loads");

    VaultServerConfig {
        scanner: Some(Arc::new(Engine::Builtin(engine))),
        ..server_config(data_dir)
    }
}

async fn upload(vault: &RunningVault, content: &'static [u8]) -> UploadedFile {
    let file = UploadFile {
        folder: "Email Gateway/2026-09-28".to_owned(),
        file_name: "figures.txt".to_owned(),
        content: Bytes::from_static(content),
    };

    client_for(vault, API_KEY)
        .upload_group(&[file])
        .await
        .expect("the upload succeeds")
        .remove(0)
}

async fn status(vault: &RunningVault, file_id: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}/file/status/{file_id}", vault.rest_url()))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn blocked_file_released_by_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let block_list = dir.path().join("blocklist.txt");
    std::fs::write(
        &block_list,
        format!("# test entry\n{}\n", sha256_hex(CONTENT)),
    )
    .unwrap();
    let vault = VaultServer::start(scanning_config(&dir.path().join("vault"), &block_list))
        .await
        .unwrap();

    let uploaded = upload(&vault, CONTENT).await;

    let response = reqwest::get(&uploaded.file_url).await.unwrap();
    assert_eq!(response.status(), 403);
    let message = common::error_message(response).await;
    assert!(message.contains("block list"), "{message}");
    let blocked = status(&vault, uploaded.file_id.as_str()).await;
    assert_eq!(blocked["availability_state"], "Blocked");
    assert_eq!(blocked["can_be_downloaded"], false);
    assert_eq!(blocked["scan_result"]["workflow_result"], "Blocked");
    let reason = blocked["scan_result"]["blocked_reason"].as_str().unwrap();
    assert!(reason.contains(&sha256_hex(CONTENT)), "{reason}");

    std::fs::write(&block_list, "# emptied\n").unwrap();
    let summary = vault.rescan_now().await.unwrap();

    assert_eq!(summary.scanned, 1);
    assert_eq!(summary.released, 1);
    let released = status(&vault, uploaded.file_id.as_str()).await;
    assert_eq!(released["availability_state"], "Available");
    assert_eq!(released["can_be_downloaded"], true);
    assert_eq!(released["scan_result"]["workflow_result"], "Allowed");
    assert!(released["scan_result"].get("blocked_reason").is_none());
    let response = reqwest::get(&uploaded.file_url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), CONTENT);
}

#[tokio::test]
async fn clean_file_blocked_by_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let block_list = dir.path().join("blocklist.txt");
    std::fs::write(&block_list, "").unwrap();
    let vault = VaultServer::start(scanning_config(&dir.path().join("vault"), &block_list))
        .await
        .unwrap();

    let uploaded = upload(&vault, CONTENT).await;
    let response = reqwest::get(&uploaded.file_url).await.unwrap();
    assert_eq!(response.status(), 200);
    let client = client_for(&vault, API_KEY);
    let clean = client.file_status(&uploaded.file_id).await.unwrap();
    assert_eq!(clean.availability_state, AvailabilityState::Available);
    assert_eq!(clean.is_locked, Some(false));

    std::fs::write(&block_list, format!("{}\n", sha256_hex(CONTENT))).unwrap();
    let summary = vault.rescan_now().await.unwrap();

    assert_eq!(summary.blocked, 1);
    let response = reqwest::get(&uploaded.file_url).await.unwrap();
    assert_eq!(response.status(), 403);
    let blocked = client.file_status(&uploaded.file_id).await.unwrap();
    assert_eq!(blocked.availability_state, AvailabilityState::Blocked);
    assert!(!blocked.can_be_downloaded);
}

#[tokio::test]
async fn eicar_blocked_at_arrival() {
    let dir = tempfile::tempdir().unwrap();
    let block_list = dir.path().join("blocklist.txt");
    std::fs::write(&block_list, "").unwrap();
    let vault = VaultServer::start(scanning_config(&dir.path().join("vault"), &block_list))
        .await
        .unwrap();

    let uploaded = upload(&vault, mailgate_vault::mailgate_scan::EICAR_TEST_FILE).await;

    let response = reqwest::get(&uploaded.file_url).await.unwrap();
    assert_eq!(response.status(), 403);
    let blocked = status(&vault, uploaded.file_id.as_str()).await;
    assert_eq!(blocked["scan_result"]["blocked_reason"], "EICAR test file");
}

/// Runs only when `MAILGATE_CLAMD` names a running clamd, as
/// `scripts/test` arranges; otherwise it passes without checking.
#[tokio::test]
async fn clamd_engine_blocks_and_releases() {
    let Ok(address) = std::env::var("MAILGATE_CLAMD") else {
        eprintln!("skipped: MAILGATE_CLAMD is not set; run scripts/test for a real clamd");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let address: mailgate_vault::mailgate_scan::ClamdAddress = address.parse().unwrap();
    let engine = mailgate_vault::mailgate_scan::ClamdScanner::new(mailgate_vault::mailgate_scan::ClamdConfig::new(address));
    let config = VaultServerConfig { scanner: Some(Arc::new(Engine::Clamd(engine))), ..server_config(&dir.path().join("vault")) };
    let vault = VaultServer::start(config).await.unwrap();

    let infected = upload(&vault, mailgate_vault::mailgate_scan::EICAR_TEST_FILE).await;
    let clean = upload(&vault, CONTENT).await;

    assert_eq!(reqwest::get(&infected.file_url).await.unwrap().status(), 403);
    let blocked = status(&vault, infected.file_id.as_str()).await;
    assert_eq!(blocked["availability_state"], "Blocked");
    let reason = blocked["scan_result"]["blocked_reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("EICAR"), "{reason}");

    let downloaded = reqwest::get(&clean.file_url).await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), CONTENT);
}

#[tokio::test]
async fn lock_interval_delays_download() {
    let dir = tempfile::tempdir().unwrap();
    let block_list = dir.path().join("blocklist.txt");
    std::fs::write(&block_list, "").unwrap();
    let config = VaultServerConfig {
        lock_interval: Duration::from_millis(700),
        ..scanning_config(&dir.path().join("vault"), &block_list)
    };
    let vault = VaultServer::start(config).await.unwrap();

    let uploaded = upload(&vault, CONTENT).await;

    let locked = status(&vault, uploaded.file_id.as_str()).await;
    assert_eq!(locked["is_locked"], true);
    assert_eq!(locked["can_be_downloaded"], false);
    assert!(locked["unlock_eta"].is_string(), "{locked}");
    let response = reqwest::get(&uploaded.file_url).await.unwrap();
    assert_eq!(response.status(), 403);
    let message = common::error_message(response).await;
    assert!(message.contains("locked until"), "{message}");

    tokio::time::sleep(Duration::from_millis(750)).await;
    // The background task may end the lock first, so only the state is checked.
    vault.rescan_now().await.unwrap();

    let unlocked = status(&vault, uploaded.file_id.as_str()).await;
    assert_eq!(unlocked["is_locked"], false);
    assert!(unlocked.get("unlock_eta").is_none(), "{unlocked}");
    let response = reqwest::get(&uploaded.file_url).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn rescan_before_lock_end_keeps_lock() {
    let dir = tempfile::tempdir().unwrap();
    let block_list = dir.path().join("blocklist.txt");
    std::fs::write(&block_list, "").unwrap();
    let config = VaultServerConfig {
        lock_interval: Duration::from_secs(3600),
        ..scanning_config(&dir.path().join("vault"), &block_list)
    };
    let vault = VaultServer::start(config).await.unwrap();
    let uploaded = upload(&vault, CONTENT).await;

    let summary = vault.rescan_now().await.unwrap();

    assert_eq!(summary.unlocked, 0);
    let response = reqwest::get(&uploaded.file_url).await.unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn download_requires_auth_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let config = VaultServerConfig {
        download_requires_auth: true,
        ..server_config(dir.path())
    };
    let vault = VaultServer::start(config).await.unwrap();
    let uploaded = upload(&vault, CONTENT).await;

    let anonymous = reqwest::get(&uploaded.file_url).await.unwrap();
    let authorized = reqwest::Client::new()
        .get(&uploaded.file_url)
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();

    assert_eq!(anonymous.status(), 401);
    assert_eq!(authorized.status(), 200);
    assert_eq!(authorized.bytes().await.unwrap(), CONTENT);
}

#[tokio::test]
async fn scan_metadata_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("vault");
    let block_list = dir.path().join("blocklist.txt");
    std::fs::write(&block_list, format!("{}\n", sha256_hex(CONTENT))).unwrap();
    let vault = VaultServer::start(scanning_config(&data_dir, &block_list))
        .await
        .unwrap();
    let uploaded = upload(&vault, CONTENT).await;
    let before = status(&vault, uploaded.file_id.as_str()).await;
    vault.shutdown().await;

    let restarted = VaultServer::start(scanning_config(&data_dir, &block_list))
        .await
        .unwrap();
    let after = status(&restarted, uploaded.file_id.as_str()).await;

    assert_eq!(after["availability_state"], "Blocked");
    assert_eq!(after["scan_result"], before["scan_result"]);
    assert!(after["scan_result"]["scanned_at"].is_string(), "{after}");
    let response = reqwest::get(
        &uploaded
            .file_url
            .replace(&vault_addr(&before), &restarted.local_addr().to_string()),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn rescan_without_scanner_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultServer::start(server_config(dir.path())).await.unwrap();

    let outcome = vault.rescan_now().await;

    assert!(
        matches!(outcome, Err(mailgate_vault::RescanError::NoScanner)),
        "{outcome:?}"
    );
}

/// Returns the `host:port` of a status's `file_url`.
fn vault_addr(status: &serde_json::Value) -> String {
    let url = status["file_url"].as_str().unwrap();
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}
