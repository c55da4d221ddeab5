//! Error responses of the built-in vault and how the client reports them.

mod common;

use bytes::Bytes;
use mailgate_vault::{FileId, UploadFile, VaultClient, VaultClientConfig, VaultError};
use reqwest::StatusCode;

use common::{API_KEY, authorized, client_for, error_message, start_upload, start_vault};

fn one_file() -> Vec<UploadFile> {
    vec![UploadFile {
        folder: "Email Gateway".to_owned(),
        file_name: "a.txt".to_owned(),
        content: Bytes::from_static(b"abc"),
    }]
}

#[tokio::test]
async fn wrong_api_key_unauthorized() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let client = client_for(&vault, "wrong-key-0123456789abcdefghij");

    let err = client.upload_group(&one_file()).await.unwrap_err();
    match &err {
        VaultError::Unauthorized { status, message } => {
            assert_eq!(*status, 401);
            assert!(message.contains("API key"), "{message}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(!err.is_temporary());

    let err = client
        .file_status(&FileId::from("0123456789abcdef0123456789abcdef"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, VaultError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );

    vault.shutdown().await;
}

#[tokio::test]
async fn missing_authorization_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let http = reqwest::Client::new();

    let response = http
        .get(format!("{}/transfer", vault.rest_url()))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert!(
        error_message(response)
            .await
            .contains("Authorization header is missing")
    );

    vault.shutdown().await;
}

#[tokio::test]
async fn unknown_file_id_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let client = client_for(&vault, API_KEY);

    for id in [
        "0123456789abcdef0123456789abcdef",
        "not-an-id",
        "..%2F..%2Fetc",
    ] {
        let response = reqwest::get(format!("{}/file/{id}", vault.rest_url()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "download of {id}");
        assert!(
            error_message(response).await.contains("not found"),
            "download of {id}"
        );

        let err = client.file_status(&FileId::from(id)).await.unwrap_err();
        match err {
            VaultError::Rejected {
                status,
                ui_message_key,
                ..
            } => {
                assert_eq!(status, 404, "status of {id}");
                assert_eq!(
                    ui_message_key.as_deref(),
                    Some("FILE_NOT_FOUND"),
                    "status of {id}"
                );
            }
            other => panic!("expected Rejected for {id}, got {other:?}"),
        }
    }

    vault.shutdown().await;
}

#[tokio::test]
async fn closed_port_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = VaultClient::new(VaultClientConfig::new(
        format!("http://{addr}/vault_rest"),
        API_KEY,
    ))
    .unwrap();

    let err = client.upload_group(&one_file()).await.unwrap_err();

    assert!(matches!(err, VaultError::Unreachable { .. }), "{err:?}");
    assert!(err.is_temporary());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn silent_vault_times_out() {
    // Accepts connections but never sends a response.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let mut config = VaultClientConfig::new(format!("http://{addr}/vault_rest"), API_KEY);
    config.request_timeout = std::time::Duration::from_millis(300);
    let client = VaultClient::new(config).unwrap();

    let err = client.upload_group(&one_file()).await.unwrap_err();

    assert!(matches!(err, VaultError::TimedOut { .. }), "{err:?}");
    assert!(err.is_temporary());
    accept.abort();
}

#[tokio::test]
async fn start_file_header_checks() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/transfer_file", vault.rest_url());
    let (group_id, _) = start_upload(&http, &vault.rest_url(), "Stream", 3).await;

    let valid = [
        ("transfer_method", "Stream"),
        ("group_id", group_id.as_str()),
        ("file_size", "3"),
        ("file_name", "a.txt"),
    ];
    for (omitted, _) in valid {
        let mut request = authorized(http.get(&url));
        for (name, value) in valid.iter().filter(|(name, _)| *name != omitted) {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "without {omitted}"
        );
        let message = error_message(response).await;
        let expected = if omitted == "group_id" {
            "The file uploader group is required"
        } else {
            omitted
        };
        assert!(message.contains(expected), "without {omitted}: {message}");
    }

    let cases: [(&str, &str, StatusCode, &str); 7] = [
        (
            "transfer_method",
            "Bulk",
            StatusCode::BAD_REQUEST,
            "neither Stream nor Chunk",
        ),
        (
            "group_id",
            "6f1c2d9e-0000-4000-8000-000000000000",
            StatusCode::NOT_FOUND,
            "is not open",
        ),
        (
            "file_size",
            "three",
            StatusCode::BAD_REQUEST,
            "not a byte count",
        ),
        (
            "file_size",
            "536870913",
            StatusCode::PAYLOAD_TOO_LARGE,
            "maximum",
        ),
        (
            "path",
            "Email Gateway/../secrets",
            StatusCode::BAD_REQUEST,
            ".. component",
        ),
        (
            "path",
            "a%0Ab",
            StatusCode::BAD_REQUEST,
            "control characters",
        ),
        ("file_name", "%FF.txt", StatusCode::BAD_REQUEST, "UTF-8"),
    ];
    for (name, value, expected_status, expected_message) in cases {
        let mut request = authorized(http.get(&url));
        for (valid_name, valid_value) in valid.iter().filter(|(valid_name, _)| *valid_name != name)
        {
            request = request.header(*valid_name, *valid_value);
        }
        let response = request.header(name, value).send().await.unwrap();
        assert_eq!(response.status(), expected_status, "{name}: {value}");
        let message = error_message(response).await;
        assert!(
            message.contains(expected_message),
            "{name}: {value}: {message}"
        );
    }

    vault.shutdown().await;
}

#[tokio::test]
async fn content_checks() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();
    let url = format!("{rest_url}/transfer_file");
    let (group_id, file_id) = start_upload(&http, &rest_url, "Stream", 3).await;
    let patch = |body: &'static [u8]| {
        authorized(http.patch(&url))
            .header("group_id", &group_id)
            .header("file_id", &file_id)
            .body(body)
    };

    let response = patch(b"abc")
        .header("chunk_checksum", "00000000000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "wrong checksum");
    assert!(error_message(response).await.contains("chunk_checksum"));

    let response = patch(b"abcd").send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "more than file_size"
    );
    assert!(error_message(response).await.contains("file_size"));

    let response = patch(b"ab")
        .header("chunk_checksum", "187EF4436122D1CC2F40DC2B92F0EBA0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "first two bytes, upper-case checksum"
    );

    let response = patch(b"c")
        .header("chunk_offset", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "wrong chunk_offset"
    );
    assert!(error_message(response).await.contains("chunk_offset"));

    let finish = || {
        authorized(http.post(&url))
            .header("group_id", &group_id)
            .header("file_id", &file_id)
    };
    let response = finish().send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "finish with 2 of 3 bytes"
    );
    assert!(error_message(response).await.contains("has 2 bytes"));

    let response = authorized(http.patch(&url))
        .header("group_id", "6f1c2d9e-0000-4000-8000-000000000000")
        .header("file_id", &file_id)
        .body("c")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "file of another group"
    );
    assert!(error_message(response).await.contains("does not belong"));

    let response = patch(b"c")
        .header("chunk_offset", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "last byte");
    let response = finish().send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "finish with all bytes");

    let response = reqwest::get(format!("{rest_url}/file/{file_id}"))
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "download before the group is finished"
    );

    let response = authorized(http.post(format!("{rest_url}/transfer")))
        .header("group_id", &group_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "finish group");
    let body: serde_json::Value = response.json().await.unwrap();
    let file_url = body["files"][0]["file_url"].as_str().unwrap();

    let content = reqwest::get(file_url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&content[..], b"abc");

    vault.shutdown().await;
}

#[tokio::test]
async fn finish_group_checks() {
    let dir = tempfile::tempdir().unwrap();
    let vault = start_vault(dir.path()).await;
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();
    let finish_group = |group_id: &str| {
        authorized(http.post(format!("{rest_url}/transfer")))
            .header("group_id", group_id.to_owned())
    };

    let response = finish_group("6f1c2d9e-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "unknown group");

    let (group_id, _) = start_upload(&http, &rest_url, "Stream", 3).await;
    let response = finish_group(&group_id).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "unfinished file"
    );
    assert!(error_message(response).await.contains("is not finished"));

    let response = finish_group(&group_id)
        .header("expires_after", "7 days")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "malformed expires_after"
    );
    assert!(error_message(response).await.contains("DD:HH:MM:SS"));

    let response = authorized(http.get(format!("{rest_url}/transfer")))
        .header("group_id", &group_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT, "group id in use");

    let response = authorized(http.get(format!("{rest_url}/transfer")))
        .header("group_id", "123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "group id not a UUID"
    );

    vault.shutdown().await;
}
