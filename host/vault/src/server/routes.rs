//! HTTP routes of the built-in vault, and the download and status endpoints.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Request, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, middleware};
use futures_util::stream;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::io::AsyncReadExt;
use tracing::Instrument;

use super::auth::Credentials;
use super::rescan::Scanning;
use super::status::{check_downloadable, status_json};
use super::store::{FileRecord, Store, is_valid_file_id};
use super::transfer::{self, Transfers};
use super::{ApiError, MAX_FILE_SIZE, auth, content, listing, login};

/// Size of the reads that stream a download, in bytes.
const DOWNLOAD_READ_SIZE: usize = 64 * 1024;

/// State shared by all handlers.
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) transfers: Transfers,
    pub(crate) credentials: Credentials,

    /// Base of the generated links, without a trailing slash.
    pub(crate) public_url: String,

    /// The scanner and its rescan settings, `None` when files are not scanned.
    pub(crate) scanning: Option<Scanning>,

    /// Whether downloads require a bearer token like the other endpoints.
    pub(crate) download_requires_auth: bool,
}

impl AppState {
    pub(crate) fn file_url(&self, file_id: &str) -> String {
        format!("{}/vault_rest/file/{file_id}", self.public_url)
    }

    pub(crate) fn folder_url(&self, folder_id: &str) -> String {
        format!("{}/files/personal/folder/{folder_id}", self.public_url)
    }
}

/// Builds the router. Downloads need no token unless
/// [`AppState::download_requires_auth`] is set, because their links go into
/// emails, and log-in takes a user name and password instead. Every other
/// endpoint requires a bearer token.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut authenticated = Router::new()
        .route(
            "/vault_rest/transfer",
            get(transfer::start_group).post(transfer::finish_group),
        )
        .route(
            "/vault_rest/transfer_file",
            get(transfer::start_file)
                .patch(content::send_content)
                .post(transfer::finish_file),
        )
        .route("/vault_rest/file/status/{file_id}", get(file_status))
        .route(
            "/vault_rest/files/{scope}/{start}/{count}",
            get(listing::list_files),
        )
        .route(
            "/vault_rest/folder_search/{folder_id}/{start}/{count}",
            get(listing::search_folder),
        )
        .route("/vault_rest/root_folder", get(listing::root_folder));
    let mut public = Router::new().route("/vault_rest/authenticate", get(login::authenticate));

    if state.download_requires_auth {
        authenticated = authenticated.route("/vault_rest/file/{file_id}", get(download));
    } else {
        public = public.route("/vault_rest/file/{file_id}", get(download));
    }

    let authenticated = authenticated.route_layer(middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));

    // The upload handler streams the raw body and stops at the announced
    // file_size, which this limit does not cover. The limit bounds any
    // extractor that buffers a body.
    let body_limit = DefaultBodyLimit::max(MAX_FILE_SIZE as usize);

    authenticated
        .merge(public)
        .fallback(unknown_endpoint)
        .layer(body_limit)
        .layer(middleware::from_fn(request_span))
        .with_state(state)
}

/// Runs each request inside a `vault_request` span that records the method,
/// the path and the `group_id` and `file_id` headers, and logs its status.
/// The query and the other headers, credentials among them, are not recorded.
async fn request_span(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let span = tracing::info_span!(
        "vault_request",
        method = %request.method(),
        path = request.uri().path(),
        group_id = header_text(headers, "group_id"),
        file_id = header_text(headers, "file_id"),
    );

    async move {
        let started = Instant::now();

        let response = next.run(request).await;

        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "vault request finished"
        );
        response
    }
    .instrument(span)
    .await
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn unknown_endpoint() -> ApiError {
    ApiError::not_found(
        "NOT_FOUND",
        "no such endpoint; the vault API is under /vault_rest",
    )
}

/// `GET /file/{file_id}`: the content of a file that [`check_downloadable`] accepts.
async fn download(
    State(state): State<Arc<AppState>>,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    let record = find_record(&state, &file_id)?;
    check_downloadable(&record)?;

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
    let record = find_record(&state, &file_id)?;

    Ok(Json(status_json(&state, &record)))
}

/// Looks up a file's record. Ids of a form the vault never generates get
/// the same 404 as unknown ids.
fn find_record(state: &AppState, file_id: &str) -> Result<FileRecord, ApiError> {
    let not_found = || ApiError::not_found("FILE_NOT_FOUND", format!("file {file_id:?} not found"));

    if !is_valid_file_id(file_id) {
        return Err(not_found());
    }

    state.store.file(file_id).ok_or_else(not_found)
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
