//! Helpers shared by the integration tests: a built-in vault on loopback with
//! a temporary data directory, and a client for it.

#![allow(dead_code)]

use std::path::Path;

use mailgate_vault::{
    RunningVault, VaultClient, VaultClientConfig, VaultServer, VaultServerConfig,
};

pub const API_KEY: &str = "test-key-0123456789abcdefghijk";

pub fn server_config(data_dir: &Path) -> VaultServerConfig {
    VaultServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        api_keys: vec![API_KEY.to_owned()],
        ..VaultServerConfig::default()
    }
}

pub async fn start_vault(data_dir: &Path) -> RunningVault {
    VaultServer::start(server_config(data_dir))
        .await
        .expect("the vault starts")
}

pub fn client_for(vault: &RunningVault, api_key: &str) -> VaultClient {
    VaultClient::new(VaultClientConfig::new(vault.rest_url(), api_key))
        .expect("the client accepts rest_url()")
}

/// Sends a request with the test API key to the vault's REST API.
pub fn authorized(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.bearer_auth(API_KEY)
}

/// Starts a group and a file with raw requests and returns their ids.
pub async fn start_upload(
    http: &reqwest::Client,
    rest_url: &str,
    transfer_method: &str,
    file_size: usize,
) -> (String, String) {
    let group: serde_json::Value = authorized(http.get(format!("{rest_url}/transfer")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let group_id = group["group_id"].as_str().unwrap().to_owned();

    let file: serde_json::Value = authorized(http.get(format!("{rest_url}/transfer_file")))
        .header("transfer_method", transfer_method)
        .header("group_id", &group_id)
        .header("file_size", file_size.to_string())
        .header("file_name", "a.txt")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file_id = file["file_id"].as_str().unwrap().to_owned();

    (group_id, file_id)
}

/// Reads a JSON error body and returns its `message`.
pub async fn error_message(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.expect("error bodies are JSON");
    assert!(
        body["ui_message_key"].is_string(),
        "no ui_message_key in {body}"
    );
    body["message"]
        .as_str()
        .expect("error bodies have a message")
        .to_owned()
}
