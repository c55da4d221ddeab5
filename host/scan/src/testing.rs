//! A stand-in for MetaDefender Core on loopback, for the tests of this crate
//! and of the gateway. Enabled by the `testing` feature.
//!
//! It serves the three routes the engine uses: `POST /file` returns a new
//! data id (or a scripted error), `GET /file/{data_id}` replays the
//! scripted scan results in order, and `GET /file/converted/{data_id}`
//! returns the scripted sanitized copy or HTTP 404. Every request must carry
//! [`API_KEY`] in the `apikey` header, as Core checks it when keys are set.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::json;

pub use axum::http::StatusCode;

/// The API key the stand-in accepts.
pub const API_KEY: &str = "test-api-key";

/// One scripted HTTP response: status and body.
pub type Scripted = (StatusCode, String);

/// The scripted behaviour of the stand-in, the same for every submission.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// Status and body for `POST /file` instead of a new data id.
    pub submit_response: Option<Scripted>,
    /// Responses to `GET /file/{data_id}` in order. The last one repeats.
    pub polls: Vec<Scripted>,
    /// Bytes for `GET /file/converted/{data_id}`. With `None` that route
    /// returns HTTP 404.
    pub converted: Option<Vec<u8>>,
}

impl Script {
    /// Creates a script that returns `polls` to the result requests and has
    /// no sanitized copy.
    pub fn polls(polls: Vec<Scripted>) -> Script {
        Script {
            polls,
            ..Script::default()
        }
    }
}

/// A request to `POST /file` as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Submission {
    /// The `filename` header.
    pub file_name: Option<String>,
    /// The `Content-Length` header.
    pub content_length: Option<String>,
    /// The uploaded bytes.
    pub body: Vec<u8>,
}

#[derive(Default)]
struct StandInState {
    script: Script,
    submissions: Vec<Submission>,
    polls: HashMap<String, VecDeque<Scripted>>,
    converted: HashMap<String, Vec<u8>>,
    poll_count: usize,
    converted_requests: Vec<String>,
}

type Shared = Arc<Mutex<StandInState>>;

/// A running stand-in. It serves until the test's runtime ends.
#[derive(Clone)]
pub struct CoreStandIn {
    /// Base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    state: Shared,
}

impl CoreStandIn {
    /// Starts the stand-in on 127.0.0.1 with a free port.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound, which ends the test.
    pub async fn start(script: Script) -> CoreStandIn {
        let state: Shared = Arc::new(Mutex::new(StandInState {
            script,
            ..StandInState::default()
        }));
        let router = Router::new()
            .route("/file", post(submit))
            .route("/file/{data_id}", get(result))
            .route("/file/converted/{data_id}", get(converted))
            .with_state(state.clone());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the MetaDefender Core stand-in");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        CoreStandIn { url, state }
    }

    /// Returns the submissions received so far, in order.
    pub fn submissions(&self) -> Vec<Submission> {
        self.lock().submissions.clone()
    }

    /// Returns the number of `GET /file/{data_id}` requests received so far.
    pub fn poll_count(&self) -> usize {
        self.lock().poll_count
    }

    /// Returns the data ids of the `GET /file/converted/{data_id}` requests
    /// received so far, in order.
    pub fn converted_requests(&self) -> Vec<String> {
        self.lock().converted_requests.clone()
    }

    fn lock(&self) -> MutexGuard<'_, StandInState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Returns the result of a scan in progress at `percent`.
pub fn in_progress(percent: u32) -> Scripted {
    let body = json!({
        "scan_results": { "progress_percentage": percent, "scan_all_result_i": 255, "scan_all_result_a": "In Progress" },
        "process_info": { "result": "Processing", "progress_percentage": percent }
    });
    (StatusCode::OK, body.to_string())
}

/// Returns the result of a finished scan: `scan_all_result_i`,
/// `process_info.result`, `blocked_reason` and
/// `post_processing.actions_ran` (`"Sanitized"` for a sanitized file).
pub fn finished(
    code: i64,
    workflow_result: &str,
    blocked_reason: &str,
    actions_ran: &str,
) -> Scripted {
    let body = json!({
        "scan_results": { "progress_percentage": 100, "scan_all_result_i": code },
        "process_info": {
            "result": workflow_result,
            "blocked_reason": blocked_reason,
            "progress_percentage": 100,
            "post_processing": { "actions_ran": actions_ran, "actions_failed": "" }
        }
    });
    (StatusCode::OK, body.to_string())
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("apikey").and_then(|value| value.to_str().ok()) == Some(API_KEY)
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, r#"{"err": "Invalid API key"}"#).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, r#"{"err": "Not found"}"#).into_response()
}

fn lock(state: &Shared) -> MutexGuard<'_, StandInState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn submit(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let mut state = lock(&state);

    state.submissions.push(Submission {
        file_name: header("filename"),
        content_length: header("content-length"),
        body: body.to_vec(),
    });
    if let Some((status, body)) = state.script.submit_response.clone() {
        return (status, body).into_response();
    }

    let data_id = format!("{:032x}", state.submissions.len());
    let polls = state.script.polls.iter().cloned().collect();
    state.polls.insert(data_id.clone(), polls);
    if let Some(converted) = state.script.converted.clone() {
        state.converted.insert(data_id.clone(), converted);
    }
    (StatusCode::OK, json!({ "data_id": data_id }).to_string()).into_response()
}

async fn result(
    State(state): State<Shared>,
    Path(data_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let mut state = lock(&state);
    state.poll_count += 1;

    let Some(polls) = state.polls.get_mut(&data_id) else {
        return not_found();
    };
    let response = if polls.len() > 1 {
        polls.pop_front()
    } else {
        polls.front().cloned()
    };
    response
        .unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, String::new()))
        .into_response()
}

async fn converted(
    State(state): State<Shared>,
    Path(data_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let mut state = lock(&state);
    state.converted_requests.push(data_id.clone());

    match state.converted.get(&data_id) {
        Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
        None => not_found(),
    }
}
