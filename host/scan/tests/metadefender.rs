//! The MetaDefender Core engine against a stand-in Core on loopback that
//! replays scripted responses.

use std::time::Duration;

use mailgate_scan::testing::{
    API_KEY, CoreStandIn, Script, Scripted, StatusCode, finished, in_progress,
};
use mailgate_scan::{
    MetaDefenderConfig, MetaDefenderError, MetaDefenderScanner, SanitizedCopy, ScanRequest,
    Scanner, Verdict,
};

/// Starts the stand-in and returns its base URL with the stand-in.
async fn stand_in(script: Script) -> (String, CoreStandIn) {
    let stand_in = CoreStandIn::start(script).await;
    (stand_in.url.clone(), stand_in)
}

fn scanner(url: &str) -> MetaDefenderScanner {
    let mut config = MetaDefenderConfig::new(url);
    config.api_key = Some(API_KEY.to_string());
    config.poll_interval = Duration::from_millis(10);
    config.scan_timeout = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(5);
    MetaDefenderScanner::new(config).unwrap()
}

fn polls(polls: Vec<Scripted>) -> Script {
    Script::polls(polls)
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

    let data_id = verdict
        .data_id()
        .expect("a clean verdict of Core has a data id");
    assert!(verdict.is_clean(), "{verdict}");
    assert_eq!(verdict.sanitized_copy(), None);
    assert_eq!(data_id, format!("{:032x}", 1));
    assert_eq!(state.poll_count(), 3);
    let submissions = state.submissions();
    let submission = &submissions[0];
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
    let (url, stand_in) = stand_in(script).await;
    let scanner = scanner(&url);

    let verdict = scanner
        .scan(ScanRequest::new("application/pdf", b"%PDF-1.4 with macro"))
        .await;

    let Verdict::Clean {
        sanitized: Some(SanitizedCopy { data_id }),
        data_id: Some(scan_id),
        ..
    } = &verdict
    else {
        panic!("expected a clean verdict with a sanitized copy, got {verdict}");
    };
    assert_eq!(data_id, scan_id);
    let bytes = scanner.fetch_sanitized(data_id).await.unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"%PDF-1.4 sanitized"[..]));
    assert_eq!(stand_in.converted_requests(), vec![data_id.clone()]);
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
    assert!(state.poll_count() >= 3);
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
    assert!(state.submissions().is_empty());
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

#[tokio::test]
async fn errors_temporary_or_permanent() {
    let scripts = [
        (
            "queue full",
            Script {
                submit_response: Some((
                    StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"err": "Queue is full"}"#.to_string(),
                )),
                ..Script::default()
            },
            true,
        ),
        (
            "internal error",
            polls(vec![(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"err": "Internal error"}"#.to_string(),
            )]),
            true,
        ),
        (
            "bad request",
            Script {
                submit_response: Some((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    r#"{"err": "Empty body"}"#.to_string(),
                )),
                ..Script::default()
            },
            false,
        ),
        (
            "invalid response",
            polls(vec![(StatusCode::OK, "not json".to_string())]),
            false,
        ),
    ];

    for (case, script, temporary) in scripts {
        let (url, _state) = stand_in(script).await;

        let error = scanner(&url)
            .scan_report(ScanRequest::new("text/plain", b"payload"))
            .await
            .unwrap_err();

        assert_eq!(error.is_temporary(), temporary, "{case}: {error}");
    }
}

#[tokio::test]
async fn unreachable_and_wrong_key_kinds() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (url, _state) = stand_in(polls(vec![finished(0, "Allowed", "", "")])).await;
    let mut config = MetaDefenderConfig::new(&url);
    config.api_key = Some("wrong".to_string());

    let unreachable = scanner(&closed_url)
        .scan_report(ScanRequest::new("text/plain", b"payload"))
        .await
        .unwrap_err();
    let unauthorized = MetaDefenderScanner::new(config)
        .unwrap()
        .scan_report(ScanRequest::new("text/plain", b"payload"))
        .await
        .unwrap_err();

    assert!(unreachable.is_temporary(), "{unreachable}");
    assert!(!unauthorized.is_temporary(), "{unauthorized}");
}
