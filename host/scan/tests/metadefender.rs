//! The MetaDefender Core engine against a stand-in Core on loopback that
//! replays scripted responses.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use mailgate_scan::{
    MetaDefenderConfig, MetaDefenderError, MetaDefenderScanner, SanitizedCopy, ScanRequest,
    Scanner, Verdict,
};
use serde_json::json;

const API_KEY: &str = "test-api-key";

/// One scripted HTTP response: status and body.
type Scripted = (StatusCode, String);

/// What the stand-in does with the next submission and its polls.
#[derive(Clone, Default)]
struct Script {
    /// Status and body for `POST /file` instead of a new data id.
    submit_response: Option<Scripted>,
    /// Responses to `GET /file/{data_id}` in order; the last one repeats.
    polls: Vec<Scripted>,
    /// Bytes for `GET /file/converted/{data_id}`.
    converted: Option<Vec<u8>>,
}

/// A request to `POST /file` as the stand-in received it.
#[derive(Debug, Clone)]
struct Submission {
    file_name: Option<String>,
    content_length: Option<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct StandInState {
    script: Script,
    submissions: Vec<Submission>,
    polls: HashMap<String, VecDeque<Scripted>>,
    converted: HashMap<String, Vec<u8>>,
    poll_count: usize,
}

type Shared = Arc<Mutex<StandInState>>;

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("apikey").and_then(|value| value.to_str().ok()) == Some(API_KEY)
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, r#"{"err": "Invalid API key"}"#).into_response()
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
    let mut state = state.lock().unwrap();

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
    let mut state = state.lock().unwrap();
    state.poll_count += 1;

    let Some(polls) = state.polls.get_mut(&data_id) else {
        return (StatusCode::NOT_FOUND, r#"{"err": "Not found"}"#).into_response();
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

    match state.lock().unwrap().converted.get(&data_id) {
        Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, r#"{"err": "Not found"}"#).into_response(),
    }
}

/// Starts the stand-in on 127.0.0.1 and returns its base URL and state.
async fn stand_in(script: Script) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(StandInState {
        script,
        ..StandInState::default()
    }));
    let router = Router::new()
        .route("/file", post(submit))
        .route("/file/{data_id}", get(result))
        .route("/file/converted/{data_id}", get(converted))
        .with_state(state.clone());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, state)
}

fn scanner(url: &str) -> MetaDefenderScanner {
    let mut config = MetaDefenderConfig::new(url);
    config.api_key = Some(API_KEY.to_string());
    config.poll_interval = Duration::from_millis(10);
    config.scan_timeout = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(5);
    MetaDefenderScanner::new(config).unwrap()
}

fn in_progress(percent: u32) -> Scripted {
    let body = json!({
        "scan_results": { "progress_percentage": percent, "scan_all_result_i": 255, "scan_all_result_a": "In Progress" },
        "process_info": { "result": "Processing", "progress_percentage": percent }
    });
    (StatusCode::OK, body.to_string())
}

fn finished(code: i64, workflow_result: &str, blocked_reason: &str, actions_ran: &str) -> Scripted {
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

fn polls(polls: Vec<Scripted>) -> Script {
    Script {
        polls,
        ..Script::default()
    }
}

#[tokio::test]
async fn clean_after_progress_steps() {
    let script = polls(vec![
        in_progress(0),
        in_progress(50),
        finished(0, "Allowed", "", ""),
    ]);
    let (url, state) = stand_in(script).await;

    let request =
        ScanRequest::new("application/pdf", b"%PDF-1.4 harmless").with_file_name("Q3 report.pdf");
    let verdict = scanner(&url).scan(request).await;

    assert_eq!(verdict, Verdict::clean("metadefender"));
    let state = state.lock().unwrap();
    assert_eq!(state.poll_count, 3);
    let submission = &state.submissions[0];
    assert_eq!(submission.file_name.as_deref(), Some("Q3 report.pdf"));
    assert_eq!(submission.content_length.as_deref(), Some("17"));
    assert_eq!(submission.body, b"%PDF-1.4 harmless");
}

#[tokio::test]
async fn blocking_results_name_the_code() {
    let cases = [
        (1, "Infected", "infected (scan result 1): Infected"),
        (2, "", "suspicious (scan result 2)"),
        (
            8,
            "Blocklisted",
            "on the block list (scan result 8): Blocklisted",
        ),
        (21, "", "YARA rule matched (scan result 21)"),
        (22, "", "potentially unwanted program (scan result 22)"),
    ];

    for (code, blocked_reason, expected) in cases {
        let (url, _state) = stand_in(polls(vec![
            in_progress(30),
            finished(code, "Blocked", blocked_reason, ""),
        ]))
        .await;

        let verdict = scanner(&url)
            .scan(ScanRequest::new("application/octet-stream", b"payload"))
            .await;

        assert_eq!(
            verdict,
            Verdict::blocked("metadefender", expected),
            "code {code}"
        );
    }
}

#[tokio::test]
async fn undecided_results_fail() {
    let cases = [
        (3, "scan failed (scan result 3)"),
        (10, "not scanned (scan result 10)"),
        (19, "scan cancelled (scan result 19)"),
        (23, "unsupported file type (scan result 23)"),
    ];

    for (code, expected) in cases {
        let (url, _state) = stand_in(polls(vec![finished(code, "Blocked", "", "")])).await;

        let verdict = scanner(&url)
            .scan(ScanRequest::new("application/octet-stream", b"payload"))
            .await;

        assert_eq!(
            verdict,
            Verdict::failed("metadefender", expected),
            "code {code}"
        );
    }
}

#[tokio::test]
async fn sanitized_copy_is_reported_and_fetched() {
    let script = Script {
        polls: vec![in_progress(80), finished(4, "Allowed", "", "Sanitized")],
        converted: Some(b"%PDF-1.4 sanitized".to_vec()),
        ..Script::default()
    };
    let (url, _state) = stand_in(script).await;
    let scanner = scanner(&url);

    let verdict = scanner
        .scan(ScanRequest::new("application/pdf", b"%PDF-1.4 with macro"))
        .await;

    let Verdict::Clean {
        sanitized: Some(SanitizedCopy { data_id }),
        ..
    } = verdict
    else {
        panic!("expected a clean verdict with a sanitized copy, got {verdict}");
    };
    let bytes = scanner.fetch_sanitized(&data_id).await.unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"%PDF-1.4 sanitized"[..]));
}

#[tokio::test]
async fn missing_sanitized_copy_is_none() {
    let (url, _state) = stand_in(polls(vec![finished(0, "Allowed", "", "")])).await;
    let scanner = scanner(&url);

    let report = scanner
        .scan_report(ScanRequest::new("text/plain", b"payload"))
        .await
        .unwrap();
    let bytes = scanner.fetch_sanitized(&report.data_id).await.unwrap();

    assert!(!report.sanitized);
    assert_eq!(bytes, None);
}

#[tokio::test]
async fn queue_full_fails_with_retry_later() {
    let script = Script {
        submit_response: Some((
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"err": "Queue is full"}"#.to_string(),
        )),
        ..Script::default()
    };
    let (url, _state) = stand_in(script).await;

    let verdict = scanner(&url)
        .scan(ScanRequest::new("text/plain", b"payload"))
        .await;

    assert!(verdict.is_failed(), "{verdict}");
    assert!(
        verdict.reason().unwrap().contains("retry later"),
        "{verdict}"
    );
}

#[tokio::test]
async fn endless_scan_times_out() {
    let (url, state) = stand_in(polls(vec![in_progress(50)])).await;
    let mut config = MetaDefenderConfig::new(&url);
    config.api_key = Some(API_KEY.to_string());
    config.poll_interval = Duration::from_millis(20);
    config.scan_timeout = Duration::from_millis(300);

    let started = std::time::Instant::now();
    let verdict = MetaDefenderScanner::new(config)
        .unwrap()
        .scan(ScanRequest::new("text/plain", b"payload"))
        .await;

    assert_eq!(
        verdict,
        Verdict::failed(
            "metadefender",
            "MetaDefender Core did not finish the scan within 0.3 s"
        )
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(state.lock().unwrap().poll_count >= 3);
}

#[tokio::test]
async fn invalid_responses_fail() {
    let scripts = [
        Script {
            submit_response: Some((StatusCode::OK, "not json".to_string())),
            ..Script::default()
        },
        Script {
            submit_response: Some((StatusCode::OK, r#"{"data_id": "../../etc"}"#.to_string())),
            ..Script::default()
        },
        polls(vec![(
            StatusCode::OK,
            "<html>proxy error</html>".to_string(),
        )]),
        polls(vec![(
            StatusCode::OK,
            r#"{"scan_results": {"progress_percentage": 100}}"#.to_string(),
        )]),
        polls(vec![(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"err": "Internal error"}"#.to_string(),
        )]),
    ];

    for (index, script) in scripts.into_iter().enumerate() {
        let (url, _state) = stand_in(script).await;

        let verdict = scanner(&url)
            .scan(ScanRequest::new("text/plain", b"payload"))
            .await;

        assert!(verdict.is_failed(), "script {index}: {verdict}");
    }
}

#[tokio::test]
async fn wrong_api_key_fails() {
    let (url, _state) = stand_in(polls(vec![finished(0, "Allowed", "", "")])).await;
    let mut config = MetaDefenderConfig::new(&url);
    config.api_key = Some("wrong".to_string());

    let verdict = MetaDefenderScanner::new(config)
        .unwrap()
        .scan(ScanRequest::new("text/plain", b"payload"))
        .await;

    assert!(verdict.is_failed(), "{verdict}");
    assert!(
        verdict
            .reason()
            .unwrap()
            .contains("rejected the API key (HTTP 401: Invalid API key)"),
        "{verdict}"
    );
}

#[tokio::test]
async fn unreachable_core_fails() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let verdict = scanner(&url)
        .scan(ScanRequest::new("text/plain", b"payload"))
        .await;

    assert!(verdict.is_failed(), "{verdict}");
    assert!(
        verdict
            .reason()
            .unwrap()
            .contains("cannot connect to MetaDefender Core"),
        "{verdict}"
    );
}

#[tokio::test]
async fn empty_content_is_clean_without_request() {
    let (url, state) = stand_in(polls(vec![finished(1, "Blocked", "", "")])).await;

    let verdict = scanner(&url)
        .scan(ScanRequest::new("text/plain", b""))
        .await;

    assert_eq!(verdict, Verdict::clean("metadefender"));
    assert!(state.lock().unwrap().submissions.is_empty());
}

#[tokio::test]
async fn unknown_data_id_is_not_found() {
    let (url, _state) = stand_in(Script::default()).await;

    let error = scanner(&url).fetch_report("0123abcd").await.unwrap_err();

    assert!(
        matches!(error, MetaDefenderError::NotFound { .. }),
        "{error:?}"
    );
}

#[test]
fn invalid_configuration_is_rejected() {
    let invalid_url =
        MetaDefenderScanner::new(MetaDefenderConfig::new("127.0.0.1:8008")).unwrap_err();
    let mut with_bad_key = MetaDefenderConfig::new("http://127.0.0.1:8008");
    with_bad_key.api_key = Some("key\nwith newline".to_string());
    let invalid_key = MetaDefenderScanner::new(with_bad_key).unwrap_err();

    assert!(
        matches!(invalid_url, MetaDefenderError::InvalidUrl { .. }),
        "{invalid_url:?}"
    );
    assert!(
        matches!(invalid_key, MetaDefenderError::InvalidApiKey),
        "{invalid_key:?}"
    );
}
