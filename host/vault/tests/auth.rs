//! Authentication: API keys with an expiry, session log-in with the CR LF
//! Basic header, and session expiry.

mod common;

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use mailgate_vault::server::{ExpiringApiKey, VaultUser};
use mailgate_vault::{UploadFile, VaultError, VaultServer, VaultServerConfig};
use reqwest::StatusCode;

use common::{authorized, client_for, server_config};

const EXPIRED_KEY: &str = "expired-key-0123456789abcdefgh";
const VALID_KEY: &str = "valid-key-0123456789abcdefghij";

fn one_file() -> Vec<UploadFile> {
    vec![UploadFile {
        folder: String::new(),
        file_name: "a.txt".to_owned(),
        content: Bytes::from_static(b"abc"),
    }]
}

fn config_with_credentials(data_dir: &std::path::Path) -> VaultServerConfig {
    let now = SystemTime::now();

    VaultServerConfig {
        expiring_api_keys: vec![
            ExpiringApiKey {
                key: EXPIRED_KEY.to_owned(),
                expires: now - Duration::from_secs(3600),
            },
            ExpiringApiKey {
                key: VALID_KEY.to_owned(),
                expires: now + Duration::from_secs(3600),
            },
        ],
        users: vec![VaultUser {
            name: "alice".to_owned(),
            password: "pass:word".to_owned(),
        }],
        session_lifetime: Duration::from_millis(1500),
        ..server_config(data_dir)
    }
}

fn basic(credentials: &str) -> String {
    format!("Basic {}", STANDARD.encode(credentials))
}

#[tokio::test]
async fn expired_key_unauthorized() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultServer::start(config_with_credentials(dir.path()))
        .await
        .unwrap();

    let err = client_for(&vault, EXPIRED_KEY)
        .upload_group(&one_file())
        .await
        .unwrap_err();
    match &err {
        VaultError::Unauthorized { status, message } => {
            assert_eq!(*status, 401);
            assert!(message.contains("expired"), "{message}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(err.to_string().contains("expired"), "{err}");

    let uploaded = client_for(&vault, VALID_KEY)
        .upload_group(&one_file())
        .await;
    assert!(uploaded.is_ok(), "a key before its expiry: {uploaded:?}");

    vault.shutdown().await;
}

#[tokio::test]
async fn login_with_crlf_basic() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultServer::start(config_with_credentials(dir.path()))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/authenticate", vault.rest_url());

    let response = http
        .get(&url)
        .header("authorization", basic("alice\r\npass:word"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["token"].as_str().expect("a token").to_owned();
    assert!(body["expires"].is_string(), "{body}");
    assert!(body["user_id"].is_string(), "{body}");

    let uploaded = client_for(&vault, &token).upload_group(&one_file()).await;
    assert!(
        uploaded.is_ok(),
        "upload with the session token: {uploaded:?}"
    );

    vault.shutdown().await;
}

#[tokio::test]
async fn login_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultServer::start(config_with_credentials(dir.path()))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/authenticate", vault.rest_url());

    let cases = [
        (Some(basic("alice:pass:word")), "not a colon"),
        (Some(basic("alice\r\nwrong")), "wrong"),
        (Some(basic("bob\r\npass:word")), "wrong"),
        (Some("Basic not-base64!".to_owned()), "base64"),
        (None, "missing"),
    ];
    for (header, expected) in cases {
        let mut request = http.get(&url);
        if let Some(header) = &header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.unwrap();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(expected), "{header:?}: {message}");
        assert!(body["token"].is_null(), "{header:?}");
    }

    vault.shutdown().await;
}

#[tokio::test]
async fn session_token_expires() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultServer::start(config_with_credentials(dir.path()))
        .await
        .unwrap();
    let http = reqwest::Client::new();

    let body: serde_json::Value = http
        .get(format!("{}/authenticate", vault.rest_url()))
        .header("authorization", basic("alice\r\npass:word"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1600)).await;

    let err = client_for(&vault, &token)
        .upload_group(&one_file())
        .await
        .unwrap_err();
    match err {
        VaultError::Unauthorized { message, .. } => {
            assert!(message.contains("session token expired"), "{message}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }

    vault.shutdown().await;
}

#[tokio::test]
async fn missing_group_id_product_error() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultServer::start(server_config(dir.path())).await.unwrap();
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();

    let requests = [
        (
            "start file",
            authorized(http.get(format!("{rest_url}/transfer_file")))
                .header("transfer_method", "Stream")
                .header("file_size", "3")
                .header("file_name", "a.txt"),
        ),
        (
            "send content",
            authorized(http.patch(format!("{rest_url}/transfer_file")))
                .header("file_id", "0123456789abcdef0123456789abcdef")
                .body("abc"),
        ),
        (
            "finish group",
            authorized(http.post(format!("{rest_url}/transfer"))),
        ),
    ];
    for (step, request) in requests {
        let response = request.send().await.unwrap();

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{step}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "message": "The file uploader group is required",
                "ui_message_key": "UPLOAD_FILE_UPLOADER_GROUP_IS_REQUIRED",
            }),
            "{step}"
        );
    }

    vault.shutdown().await;
}
