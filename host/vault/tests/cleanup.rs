//! Removal of upload groups that were started but never finished.

mod common;

use std::time::Duration;

use mailgate_vault::VaultServer;
use mailgate_vault::VaultServerConfig;
use reqwest::StatusCode;

use common::{API_KEY, authorized, client_for, server_config, start_upload};

#[tokio::test]
async fn abandoned_transfer_removed() {
    let dir = tempfile::tempdir().unwrap();
    let config = VaultServerConfig {
        transfer_timeout: Duration::from_millis(300),
        ..server_config(dir.path())
    };
    let vault = VaultServer::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();
    let transfer_file = format!("{rest_url}/transfer_file");

    // One file finished and one half sent, in a group that is never finished.
    let (group_id, finished_id) = start_upload(&http, &rest_url, "Stream", 3).await;
    let response = authorized(http.patch(&transfer_file))
        .header("group_id", &group_id)
        .header("file_id", &finished_id)
        .body("abc")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = authorized(http.post(&transfer_file))
        .header("group_id", &group_id)
        .header("file_id", &finished_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let partial: serde_json::Value = authorized(http.get(&transfer_file))
        .header("transfer_method", "Stream")
        .header("group_id", &group_id)
        .header("file_size", "10")
        .header("file_name", "b.txt")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let partial_id = partial["file_id"].as_str().unwrap().to_owned();
    let response = authorized(http.patch(&transfer_file))
        .header("group_id", &group_id)
        .header("file_id", &partial_id)
        .body("abc")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let status_before = client_for(&vault, API_KEY)
        .file_status(&finished_id.clone().into())
        .await;
    assert!(status_before.is_ok(), "{status_before:?}");

    tokio::time::sleep(Duration::from_millis(800)).await;

    let response = authorized(http.patch(&transfer_file))
        .header("group_id", &group_id)
        .header("file_id", &partial_id)
        .body("def")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "partial file");

    let response = authorized(http.post(format!("{rest_url}/transfer")))
        .header("group_id", &group_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "group");

    let status_after = client_for(&vault, API_KEY)
        .file_status(&finished_id.clone().into())
        .await;
    assert!(
        status_after.is_err(),
        "finished file of the group: {status_after:?}"
    );

    let leftovers: Vec<_> = ["tmp", "files"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(dir.path().join(sub)).unwrap())
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(leftovers.is_empty(), "files left on disk: {leftovers:?}");

    vault.shutdown().await;
}

#[tokio::test]
async fn active_transfer_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = VaultServerConfig {
        transfer_timeout: Duration::from_millis(1000),
        ..server_config(dir.path())
    };
    let vault = VaultServer::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();
    let transfer_file = format!("{rest_url}/transfer_file");
    let (group_id, file_id) = start_upload(&http, &rest_url, "Chunk", 4).await;

    // Each chunk comes well within the timeout of the one before.
    for (offset, byte) in [(0, "a"), (1, "b"), (2, "c"), (3, "d")] {
        tokio::time::sleep(Duration::from_millis(350)).await;
        let response = authorized(http.patch(&transfer_file))
            .header("group_id", &group_id)
            .header("file_id", &file_id)
            .header("chunk_offset", offset.to_string())
            .body(byte)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "chunk at {offset}");
    }

    vault.shutdown().await;
}
