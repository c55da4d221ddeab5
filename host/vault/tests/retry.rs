//! Retries of chunks by the client, against a scripted vault on loopback that
//! fails chunk requests on purpose.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use mailgate_vault::{
    CHUNK_SIZE, UploadFile, VaultClient, VaultClientConfig, VaultError, client::MAX_CHUNK_ATTEMPTS,
};
use serde_json::json;

/// Responses of the scripted vault to chunk requests.
#[derive(Clone, Copy)]
enum Script {
    /// 503 for the first request of each offset, success for the next.
    FailFirstAttempt,
    /// 503 for every request.
    AlwaysUnavailable,
    /// 400 for every request.
    AlwaysRejected,
}

#[derive(Default)]
struct Record {
    transfer_method: Option<String>,

    /// Every chunk request as (offset, size, accepted).
    chunks: Vec<(u64, usize, bool)>,
}

struct Mock {
    script: Script,
    record: Mutex<Record>,
}

async fn start_group() -> Json<serde_json::Value> {
    Json(json!({ "group_id": "6f1c2d9e-0000-4000-8000-000000000000" }))
}

async fn start_file(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Json<serde_json::Value> {
    let method = headers["transfer_method"].to_str().unwrap().to_owned();
    mock.record.lock().unwrap().transfer_method = Some(method);

    Json(json!({ "file_id": "f1" }))
}

async fn chunk(State(mock): State<Arc<Mock>>, headers: HeaderMap, body: Bytes) -> Response {
    let offset: u64 = headers["chunk_offset"].to_str().unwrap().parse().unwrap();
    let mut record = mock.record.lock().unwrap();
    let earlier_attempts = record
        .chunks
        .iter()
        .filter(|(o, _, _)| *o == offset)
        .count();

    let status = match mock.script {
        Script::FailFirstAttempt if earlier_attempts == 0 => StatusCode::SERVICE_UNAVAILABLE,
        Script::FailFirstAttempt => StatusCode::OK,
        Script::AlwaysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Script::AlwaysRejected => StatusCode::BAD_REQUEST,
    };
    record
        .chunks
        .push((offset, body.len(), status == StatusCode::OK));

    if status == StatusCode::OK {
        StatusCode::OK.into_response()
    } else {
        let body = json!({ "message": "the scripted vault is busy", "ui_message_key": "BUSY" });
        (status, Json(body)).into_response()
    }
}

async fn finish_file() -> Json<serde_json::Value> {
    Json(json!({ "result": "success" }))
}

async fn finish_group() -> Json<serde_json::Value> {
    Json(json!({ "files": [{ "file_id": "f1", "file_url": "http://vault.example.test/f1" }] }))
}

/// Starts the scripted vault and returns a client for it.
async fn start_mock(script: Script) -> (Arc<Mock>, VaultClient) {
    let mock = Arc::new(Mock {
        script,
        record: Mutex::new(Record::default()),
    });
    let router = Router::new()
        .route("/vault_rest/transfer", get(start_group).post(finish_group))
        .route(
            "/vault_rest/transfer_file",
            get(start_file).patch(chunk).post(finish_file),
        )
        .layer(DefaultBodyLimit::disable())
        .with_state(mock.clone());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let config = VaultClientConfig::new(format!("http://{addr}/vault_rest"), "key");
    (mock, VaultClient::new(config).unwrap())
}

fn large_file() -> Vec<UploadFile> {
    vec![UploadFile {
        folder: String::new(),
        file_name: "large.bin".to_owned(),
        content: Bytes::from(vec![7u8; 2 * CHUNK_SIZE + 5]),
    }]
}

#[tokio::test]
async fn failed_chunk_retried() {
    let (mock, client) = start_mock(Script::FailFirstAttempt).await;

    let uploaded = client.upload_group(&large_file()).await;

    assert!(uploaded.is_ok(), "{uploaded:?}");
    let record = mock.record.lock().unwrap();
    assert_eq!(record.transfer_method.as_deref(), Some("Chunk"));
    let accepted: Vec<(u64, usize)> = record
        .chunks
        .iter()
        .filter(|(_, _, accepted)| *accepted)
        .map(|(offset, size, _)| (*offset, *size))
        .collect();
    let chunk = CHUNK_SIZE as u64;
    assert_eq!(
        accepted,
        [(0, CHUNK_SIZE), (chunk, CHUNK_SIZE), (2 * chunk, 5)]
    );
    assert_eq!(
        record.chunks.len(),
        6,
        "one failed and one accepted request per chunk"
    );
}

#[tokio::test]
async fn retries_bounded() {
    let (mock, client) = start_mock(Script::AlwaysUnavailable).await;

    let err = client.upload_group(&large_file()).await.unwrap_err();

    match &err {
        VaultError::Rejected {
            status, message, ..
        } => {
            assert_eq!(*status, 503);
            assert_eq!(message, "the scripted vault is busy");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(
        err.to_string().contains("the scripted vault is busy"),
        "{err}"
    );
    let attempts = mock.record.lock().unwrap().chunks.len();
    assert_eq!(attempts, MAX_CHUNK_ATTEMPTS as usize);
}

#[tokio::test]
async fn permanent_error_not_retried() {
    let (mock, client) = start_mock(Script::AlwaysRejected).await;

    let err = client.upload_group(&large_file()).await.unwrap_err();

    assert!(
        matches!(err, VaultError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(mock.record.lock().unwrap().chunks.len(), 1);
}
