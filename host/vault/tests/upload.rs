//! Uploads through the real client to the built-in vault over HTTP.

mod common;

use bytes::Bytes;
use mailgate_vault::{AvailabilityState, UploadFile, VaultServer};

use common::{API_KEY, client_for, server_config, start_vault};

const FOLDER: &str = "Email Gateway/2026-09-28/Report_<alice@example.com>_<123@example.com>";

fn sample_files() -> Vec<UploadFile> {
    let large: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();

    vec![
        UploadFile {
            folder: FOLDER.to_owned(),
            file_name: "report.pdf".to_owned(),
            content: Bytes::from_static(b"%PDF-1.7 example content"),
        },
        UploadFile {
            folder: FOLDER.to_owned(),
            file_name: "Übersicht – März 100%.xlsx".to_owned(),
            content: Bytes::from_static("Zählerstände".as_bytes()),
        },
        UploadFile {
            folder: FOLDER.to_owned(),
            file_name: "empty.txt".to_owned(),
            content: Bytes::new(),
        },
        UploadFile {
            folder: "Email Gateway/другая папка".to_owned(),
            file_name: "large.bin".to_owned(),
            content: Bytes::from(large),
        },
    ]
}

async fn download(url: &str) -> reqwest::Response {
    reqwest::get(url)
        .await
        .expect("the download link is reachable")
}

#[tokio::test]
async fn group_upload_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let client = client_for(&vault, API_KEY);
    let files = sample_files();

    let uploaded = client
        .upload_group(&files)
        .await
        .expect("the upload succeeds");

    assert_eq!(uploaded.len(), files.len());
    let link_prefix = format!("http://{}/vault_rest/file/", vault.local_addr());
    for (file, stored) in files.iter().zip(&uploaded) {
        assert_eq!(stored.file_name, file.file_name);
        assert_eq!(stored.file_url, format!("{link_prefix}{}", stored.file_id));

        let response = download(&stored.file_url).await;
        assert_eq!(response.status(), 200, "download of {}", file.file_name);
        let length = response.content_length();
        let content = response.bytes().await.unwrap();
        assert_eq!(content, file.content, "content of {}", file.file_name);
        assert_eq!(
            length,
            Some(file.content.len() as u64),
            "Content-Length of {}",
            file.file_name
        );

        let status = client
            .file_status(&stored.file_id)
            .await
            .expect("the status is readable");
        assert_eq!(status.file_id, stored.file_id);
        assert_eq!(status.name, file.file_name);
        assert_eq!(status.path, file.folder);
        assert_eq!(status.size, Some(file.content.len() as u64));
        assert_eq!(status.availability_state, AvailabilityState::Available);
        assert!(status.can_be_downloaded);
        assert!(status.group_id.is_some());
    }

    let folder_urls: Vec<_> = uploaded
        .iter()
        .map(|file| file.folder_url.clone().expect("a folder_url"))
        .collect();
    let folder_prefix = format!("http://{}/files/personal/folder/", vault.local_addr());
    assert!(
        folder_urls
            .iter()
            .all(|url| url.starts_with(&folder_prefix)),
        "{folder_urls:?}"
    );
    assert_eq!(folder_urls[0], folder_urls[1], "one folder, one folder_url");
    assert_ne!(
        folder_urls[0], folder_urls[3],
        "two folders, two folder_urls"
    );

    let ids: std::collections::HashSet<_> = uploaded.iter().map(|file| &file.file_id).collect();
    assert_eq!(ids.len(), files.len(), "file ids are unique");

    let group_ids: std::collections::HashSet<_> = {
        let mut group_ids = std::collections::HashSet::new();
        for stored in &uploaded {
            group_ids.insert(client.file_status(&stored.file_id).await.unwrap().group_id);
        }
        group_ids
    };
    assert_eq!(group_ids.len(), 1, "all files are in one group");

    vault.shutdown().await;
}

#[tokio::test]
async fn download_sends_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let client = client_for(&vault, API_KEY);
    let files = sample_files();

    let uploaded = client.upload_group(&files[1..2]).await.unwrap();
    let response = download(&uploaded[0].file_url).await;

    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition
            .contains("filename*=UTF-8''%C3%9Cbersicht%20%E2%80%93%20M%C3%A4rz%20100%25%2Exlsx"),
        "{disposition}"
    );

    vault.shutdown().await;
}

#[tokio::test]
async fn empty_group_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let client = client_for(&vault, API_KEY);

    let uploaded = client.upload_group(&[]).await.unwrap();

    assert!(uploaded.is_empty());
    vault.shutdown().await;
}

#[tokio::test]
async fn links_use_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = server_config(dir.path());
    config.public_url = Some("https://vault.example.test:8010/".to_owned());
    let vault = VaultServer::start(config).await.unwrap();
    let client = client_for(&vault, API_KEY);

    let uploaded = client.upload_group(&sample_files()[..1]).await.unwrap();

    let stored = &uploaded[0];
    assert_eq!(
        stored.file_url,
        format!(
            "https://vault.example.test:8010/vault_rest/file/{}",
            stored.file_id
        )
    );
    let folder_url = stored.folder_url.as_deref().unwrap();
    assert!(
        folder_url.starts_with("https://vault.example.test:8010/files/personal/folder/"),
        "{folder_url}"
    );

    vault.shutdown().await;
}

#[tokio::test]
async fn restart_keeps_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample_files();

    let vault = start_vault(dir.path()).await;
    let uploaded = client_for(&vault, API_KEY)
        .upload_group(&files)
        .await
        .unwrap();
    let first_addr = vault.local_addr();
    vault.shutdown().await;

    let mut config = server_config(dir.path());
    config.listen = first_addr;
    let vault = VaultServer::start(config)
        .await
        .expect("the vault restarts on the same address");

    for (file, stored) in files.iter().zip(&uploaded) {
        let response = download(&stored.file_url).await;
        assert_eq!(
            response.status(),
            200,
            "download of {} after restart",
            file.file_name
        );
        assert_eq!(
            response.bytes().await.unwrap(),
            file.content,
            "content of {} after restart",
            file.file_name
        );

        let status = client_for(&vault, API_KEY)
            .file_status(&stored.file_id)
            .await
            .unwrap();
        assert_eq!(status.name, file.file_name);
        assert_eq!(status.path, file.folder);
    }

    vault.shutdown().await;
}

#[tokio::test]
async fn dropped_vault_stops() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let client = client_for(&vault, API_KEY);

    drop(vault);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let err = client.upload_group(&sample_files()[..1]).await.unwrap_err();
    assert!(err.is_temporary(), "{err}");
}
