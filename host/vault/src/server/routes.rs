//! HTTP routes of the built-in vault, and the download and status endpoints.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, middleware};
use futures_util::stream;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::io::AsyncReadExt;

use super::store::{FileRecord, FileState, Store, is_valid_file_id};
use super::transfer::{self, Transfers};
use super::{ApiError, MAX_FILE_SIZE, auth};

/// Size of the reads that stream a download, in bytes.
const DOWNLOAD_READ_SIZE: usize = 64 * 1024;

/// State shared by all handlers.
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) transfers: Transfers,
    pub(crate) api_keys: Vec<String>,

    /// Base of the generated links, without a trailing slash.
    pub(crate) public_url: String,
}

impl AppState {
    pub(crate) fn file_url(&self, file_id: &str) -> String {
        format!("{}/vault_rest/file/{file_id}", self.public_url)
    }

    pub(crate) fn folder_url(&self, folder_id: &str) -> String {
        format!("{}/files/personal/folder/{folder_id}", self.public_url)
    }
}

/// Builds the router. Downloads need no API key, because their links go into
/// emails. Every other endpoint requires one.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let authenticated = Router::new()
        .route(
            "/vault_rest/transfer",
            get(transfer::start_group).post(transfer::finish_group),
        )
        .route(
            "/vault_rest/transfer_file",
            get(transfer::start_file)
                .patch(transfer::send_content)
                .post(transfer::finish_file),
        )
        .route("/vault_rest/file/status/{file_id}", get(file_status))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ));

    let public = Router::new().route("/vault_rest/file/{file_id}", get(download));

    // The upload handler streams the raw body and stops at the announced
    // file_size, which this limit does not cover. The limit bounds any
    // extractor that buffers a body.
    let body_limit = DefaultBodyLimit::max(MAX_FILE_SIZE as usize);

    authenticated
        .merge(public)
        .fallback(unknown_endpoint)
        .layer(body_limit)
        .with_state(state)
}

async fn unknown_endpoint() -> ApiError {
    ApiError::not_found(
        "NOT_FOUND",
        "no such endpoint; the vault API is under /vault_rest",
    )
}

/// `GET /file/{file_id}`: the content of an available file.
async fn download(
    State(state): State<Arc<AppState>>,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    let record = available_record(&state, &file_id).await?;

    let content_path = state.store.content_path(&record.file_id);
    let file = tokio::fs::File::open(&content_path)
        .await
        .map_err(|err| ApiError::storage("open the content", &record.file_id, err))?;

    let body = Body::from_stream(stream::try_unfold(file, |mut file| async move {
        let mut buffer = vec![0; DOWNLOAD_READ_SIZE];
        let read = file.read(&mut buffer).await?;
        buffer.truncate(read);

        Ok::<_, std::io::Error>((read > 0).then_some((buffer, file)))
    }));

    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(record.size));
    headers.insert(CONTENT_DISPOSITION, content_disposition(&record.name));

    Ok((headers, body).into_response())
}

/// `GET /file/status/{file_id}`: the file's metadata as JSON.
async fn file_status(
    State(state): State<Arc<AppState>>,
    Path(file_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let record = find_record(&state, &file_id).await?;

    let available = record.state == FileState::Available;
    let availability_state = if available { "Available" } else { "Composing" };

    Ok(Json(serde_json::json!({
        "file_id": record.file_id,
        "name": record.name,
        "path": record.path,
        "folder_id": record.folder_id,
        "availability_state": availability_state,
        "can_be_downloaded": available,
        "is_locked": false,
        "size": record.size,
        "group_id": record.group_id,
        "created": record.created,
    })))
}

/// Looks up a file's record. Ids of a form the vault never generates get
/// the same 404 as unknown ids.
async fn find_record(state: &AppState, file_id: &str) -> Result<FileRecord, ApiError> {
    let not_found = || ApiError::not_found("FILE_NOT_FOUND", format!("file {file_id:?} not found"));

    if !is_valid_file_id(file_id) {
        return Err(not_found());
    }

    state
        .store
        .read_file(file_id)
        .await
        .map_err(|err| ApiError::storage("read the file record", file_id, err))?
        .ok_or_else(not_found)
}

/// Looks up a file's record and checks that its group is finished.
async fn available_record(state: &AppState, file_id: &str) -> Result<FileRecord, ApiError> {
    let record = find_record(state, file_id).await?;

    if record.state != FileState::Available {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "FILE_NOT_AVAILABLE",
            format!(
                "file {file_id} is not available yet, because its upload group is not finished"
            ),
        ));
    }

    Ok(record)
}

/// Builds `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<name>` (RFC 6266).
fn content_disposition(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(name, NON_ALPHANUMERIC);

    let value = format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}");
    HeaderValue::from_str(&value).expect("the value contains only visible ASCII and spaces")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_encodes_name() {
        let value = content_disposition("Prüfung \"1\".pdf");

        assert_eq!(
            value.to_str().unwrap(),
            "attachment; filename=\"Pr_fung _1_.pdf\"; filename*=UTF-8''Pr%C3%BCfung%20%221%22%2Epdf"
        );
    }
}
