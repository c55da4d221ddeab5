//! File listing, folder search and the root folder.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use mailgate_vault::server::VaultUser;
use mailgate_vault::{UploadFile, VaultServer, VaultServerConfig};
use reqwest::StatusCode;
use serde_json::Value;

use common::{API_KEY, authorized, client_for, error_message, server_config};

const FOLDER: &str = "Email Gateway/2026-09-28/Invoice_<alice@example.com>";

fn files() -> Vec<UploadFile> {
    let file = |folder: &str, name: &str| UploadFile {
        folder: folder.to_owned(),
        file_name: name.to_owned(),
        content: Bytes::from_static(b"content"),
    };

    vec![
        file(FOLDER, "Quarterly Report.pdf"),
        file(FOLDER, "logo.png"),
        file("Other", "report-draft.docx"),
    ]
}

async fn get_json(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .expect("an items array")
        .iter()
        .map(|item| item["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn listing_finds_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultServer::start(server_config(dir.path())).await.unwrap();
    client_for(&vault, API_KEY)
        .upload_group(&files())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();

    let all = get_json(authorized(http.get(format!("{rest_url}/files/all/0/10")))).await;
    assert_eq!(all["filter_count"], 3, "{all}");

    let found = get_json(
        authorized(http.get(format!("{rest_url}/files/my/0/10"))).query(&[
            ("find", "REPORT"),
            ("sort_column", "name"),
            ("sort_direction", "asc"),
        ]),
    )
    .await;
    assert_eq!(found["filter_count"], 2, "{found}");
    assert_eq!(names(&found), ["Quarterly Report.pdf", "report-draft.docx"]);
    assert!(found["items"][0]["file_url"].is_string(), "{found}");

    let by_path = get_json(
        authorized(http.get(format!("{rest_url}/files/all/0/10"))).query(&[("find", "2026-09-28")]),
    )
    .await;
    assert_eq!(
        by_path["filter_count"], 2,
        "find matches the path: {by_path}"
    );

    let page = get_json(
        authorized(http.get(format!("{rest_url}/files/all/1/1"))).query(&[("sort_column", "name")]),
    )
    .await;
    assert_eq!(page["filter_count"], 3, "{page}");
    assert_eq!(names(&page).len(), 1, "{page}");

    let response = authorized(http.get(format!("{rest_url}/files/all/0/lots")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(response).await.contains("count"));

    vault.shutdown().await;
}

#[tokio::test]
async fn my_files_by_owner() {
    let dir = tempfile::tempdir().unwrap();
    let config = VaultServerConfig {
        users: vec![VaultUser {
            name: "alice".to_owned(),
            password: "secret".to_owned(),
        }],
        ..server_config(dir.path())
    };
    let vault = VaultServer::start(config).await.unwrap();
    client_for(&vault, API_KEY)
        .upload_group(&files())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();

    let login: Value = get_json(http.get(format!("{rest_url}/authenticate")).header(
        "authorization",
        format!("Basic {}", STANDARD.encode("alice\r\nsecret")),
    ))
    .await;
    let token = login["token"].as_str().unwrap();

    let mine = get_json(
        http.get(format!("{rest_url}/files/my/0/10"))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(mine["filter_count"], 0, "alice uploaded nothing: {mine}");

    let all = get_json(
        http.get(format!("{rest_url}/files/all/0/10"))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(all["filter_count"], 3, "{all}");

    vault.shutdown().await;
}

#[tokio::test]
async fn folder_search_finds_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultServer::start(server_config(dir.path())).await.unwrap();
    let uploaded = client_for(&vault, API_KEY)
        .upload_group(&files())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let rest_url = vault.rest_url();

    let root = get_json(authorized(http.get(format!("{rest_url}/root_folder")))).await;
    let root_id = root["folder_id"].as_str().expect("a folder_id");
    assert_eq!(root["path"], "", "{root}");

    let everywhere = get_json(
        authorized(http.get(format!("{rest_url}/folder_search/{root_id}/0/10")))
            .query(&[("find", "report")]),
    )
    .await;
    assert_eq!(everywhere["filter_count"], 2, "{everywhere}");

    let folder_id = uploaded[0]
        .folder_url
        .as_deref()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let in_folder = get_json(
        authorized(http.get(format!("{rest_url}/folder_search/{folder_id}/0/10")))
            .query(&[("find", "report")]),
    )
    .await;
    assert_eq!(names(&in_folder), ["Quarterly Report.pdf"]);

    let response = authorized(http.get(format!("{rest_url}/folder_search/{folder_id}/0/10")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "without find");
    assert!(error_message(response).await.contains("find"));

    let response = authorized(http.get(format!(
        "{rest_url}/folder_search/6f1c2d9e-0000-4000-8000-000000000000/0/10"
    )))
    .query(&[("find", "report")])
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "unknown folder");

    vault.shutdown().await;
}
