//! Chunked uploads: the client's `Chunk` method for large files, and the
//! built-in vault's checks of chunks sent directly.

mod common;

use bytes::Bytes;
use mailgate_vault::{CHUNK_SIZE, UploadFile};
use md5::{Digest, Md5};
use reqwest::StatusCode;

use common::{API_KEY, authorized, client_for, error_message, start_upload, start_vault};

fn md5_hex(content: &[u8]) -> String {
    Md5::digest(content)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[tokio::test]
async fn large_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let client = client_for(&vault, API_KEY);

    // 50 MB, not a multiple of the chunk size, with no repeating period that
    // divides the chunk size, so a chunk written at a wrong offset shows.
    let size = 50_000_000;
    assert!(size > 4 * CHUNK_SIZE, "several chunks");
    assert_ne!(size % CHUNK_SIZE, 0, "a short last chunk");
    let content: Vec<u8> = (0..size as u64)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let expected_digest = md5_hex(&content);
    let files = vec![
        UploadFile {
            folder: "Large".to_owned(),
            file_name: "large.bin".to_owned(),
            content: Bytes::from(content),
        },
        UploadFile {
            folder: "Large".to_owned(),
            file_name: "small.txt".to_owned(),
            content: Bytes::from_static(b"small"),
        },
    ];

    let uploaded = client
        .upload_group(&files)
        .await
        .expect("the upload succeeds");

    let response = reqwest::get(&uploaded[0].file_url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let downloaded = response.bytes().await.unwrap();
    assert_eq!(downloaded.len(), size, "downloaded size");
    assert_eq!(md5_hex(&downloaded), expected_digest, "downloaded MD5");

    let small = reqwest::get(&uploaded[1].file_url).await.unwrap();
    assert_eq!(small.bytes().await.unwrap(), "small");

    let status = client.file_status(&uploaded[0].file_id).await.unwrap();
    assert_eq!(status.size, Some(size as u64));

    vault.shutdown().await;
}

/// Sends a chunk of a `Chunk` file with a raw request.
async fn patch_chunk(
    http: &reqwest::Client,
    rest_url: &str,
    ids: &(String, String),
    offset: Option<u64>,
    body: &'static [u8],
    checksum: Option<&str>,
) -> reqwest::Response {
    let mut request = authorized(http.patch(format!("{rest_url}/transfer_file")))
        .header("group_id", &ids.0)
        .header("file_id", &ids.1)
        .body(body);
    if let Some(offset) = offset {
        request = request.header("chunk_offset", offset.to_string());
    }
    if let Some(checksum) = checksum {
        request = request.header("chunk_checksum", checksum);
    }

    request.send().await.unwrap()
}

async fn finish_file(
    http: &reqwest::Client,
    rest_url: &str,
    ids: &(String, String),
) -> reqwest::Response {
    authorized(http.post(format!("{rest_url}/transfer_file")))
        .header("group_id", &ids.0)
        .header("file_id", &ids.1)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn chunks_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();
    let ids = start_upload(&http, &rest_url, "Chunk", 10).await;

    let last = patch_chunk(
        &http,
        &rest_url,
        &ids,
        Some(5),
        b"fghij",
        Some(&md5_hex(b"fghij")),
    )
    .await;
    assert_eq!(last.status(), StatusCode::OK, "second half first");

    let response = finish_file(&http, &rest_url, &ids).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "finish with a gap"
    );
    let message = error_message(response).await;
    assert!(message.contains("missing bytes 0..5"), "{message}");

    let first = patch_chunk(&http, &rest_url, &ids, Some(0), b"abcde", None).await;
    assert_eq!(first.status(), StatusCode::OK, "first half");
    let repeated = patch_chunk(&http, &rest_url, &ids, Some(0), b"abcde", None).await;
    assert_eq!(
        repeated.status(),
        StatusCode::OK,
        "first half again, as a retry"
    );

    let response = finish_file(&http, &rest_url, &ids).await;
    assert_eq!(response.status(), StatusCode::OK, "finish");

    let response = authorized(http.post(format!("{rest_url}/transfer")))
        .header("group_id", &ids.0)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    let file_url = body["files"][0]["file_url"].as_str().unwrap();
    let content = reqwest::get(file_url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&content[..], b"abcdefghij");

    vault.shutdown().await;
}

#[tokio::test]
async fn chunk_checks() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();
    let ids = start_upload(&http, &rest_url, "Chunk", 10).await;

    let response = patch_chunk(&http, &rest_url, &ids, None, b"abcde", None).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "no chunk_offset"
    );
    assert!(error_message(response).await.contains("chunk_offset"));

    let response = patch_chunk(&http, &rest_url, &ids, Some(8), b"abcde", None).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "beyond file_size"
    );
    assert!(error_message(response).await.contains("file_size"));

    let response = patch_chunk(&http, &rest_url, &ids, Some(11), b"", None).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "offset beyond file_size"
    );
    assert!(
        error_message(response)
            .await
            .contains("beyond the file_size")
    );

    let response = patch_chunk(&http, &rest_url, &ids, Some(0), b"abcdef", None).await;
    assert_eq!(response.status(), StatusCode::OK, "0..6");
    let response = patch_chunk(&http, &rest_url, &ids, Some(5), b"fghij", None).await;
    assert_eq!(response.status(), StatusCode::OK, "5..10");

    let response = finish_file(&http, &rest_url, &ids).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "overlap");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ui_message_key"], "CHUNKS_OVERLAP", "{body}");

    vault.shutdown().await;
}

#[tokio::test]
async fn wrong_checksum_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();
    let ids = start_upload(&http, &rest_url, "Chunk", 5).await;

    let good = patch_chunk(
        &http,
        &rest_url,
        &ids,
        Some(0),
        b"abcde",
        Some(&md5_hex(b"abcde")),
    )
    .await;
    assert_eq!(good.status(), StatusCode::OK, "right checksum");

    let wrong = md5_hex(b"other");
    let response = patch_chunk(&http, &rest_url, &ids, Some(0), b"vwxyz", Some(&wrong)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "wrong checksum");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ui_message_key"], "CHUNK_CHECKSUM_MISMATCH", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("chunk_checksum"),
        "{body}"
    );

    // The rejected chunk overwrote the accepted one, so the range is missing again.
    let response = finish_file(&http, &rest_url, &ids).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "finish after rejection"
    );
    assert!(error_message(response).await.contains("missing bytes 0..5"));

    vault.shutdown().await;
}

#[tokio::test]
async fn oversized_chunk_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();
    let ids = start_upload(&http, &rest_url, "Chunk", 150_000_000).await;

    let response = authorized(http.patch(format!("{rest_url}/transfer_file")))
        .header("group_id", &ids.0)
        .header("file_id", &ids.1)
        .header("chunk_offset", "0")
        .body(vec![0u8; 100_000_001])
        .send()
        .await
        .expect("the vault responds before or after reading the body");

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ui_message_key"], "CHUNK_TOO_LARGE", "{body}");

    vault.shutdown().await;
}
