//! `GET /metrics` of the admin endpoint, on real gateways on loopback ports
//! with messages sent over SMTP.
//!
//! The metrics recorder is global to the process. This binary has a single
//! test, so the counters start at zero and every change is this test's. Both
//! of its gateways record into the same series.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use support::{TOKEN, closed_port, sample, send, send_for_reply, start_with};

/// Returns the value of every series in a Prometheus text exposition, keyed
/// by the series as written, for example `mailgate_messages_total{outcome="delivered"}`.
fn parse(exposition: &str) -> HashMap<String, f64> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(client: &reqwest::Client, url: &str) -> (String, HashMap<String, f64>) {
    let response = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "content type {content_type}");

    let text = response.text().await.unwrap();
    let values = parse(&text);
    (text, values)
}

fn value(values: &HashMap<String, f64>, series: &str) -> f64 {
    *values.get(series).unwrap_or_else(|| panic!("series {series} is missing; present: {:?}", values.keys().collect::<Vec<_>>()))
}

/// Returns the `kind` label of an action as the history writes it, for
/// example `upload parts [2]`.
fn action_kind(action: &str) -> &'static str {
    match action {
        _ if action.starts_with("remove parts") => "remove_parts",
        _ if action.starts_with("upload parts") => "upload_parts",
        _ if action.starts_with("link uploads") => "link_uploads",
        _ if action.starts_with("block") => "block",
        other => panic!("unknown action {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_token_and_count_messages() {
    let fixture = start_with(|config| config.builtin_vault.scan = true).await;
    let client = reqwest::Client::new();
    let url = format!("{}/metrics", fixture.base);

    let without_token = client.get(&url).send().await.unwrap();
    assert_eq!(without_token.status(), StatusCode::UNAUTHORIZED);
    let wrong_token = client.get(&url).bearer_auth("not-the-token").send().await.unwrap();
    assert_eq!(wrong_token.status(), StatusCode::UNAUTHORIZED);

    let (text, before) = scrape(&client, &url).await;
    assert!(text.contains("# TYPE mailgate_messages_total counter"), "{text}");
    assert!(text.contains("# TYPE mailgate_queue_messages gauge"), "{text}");
    assert_eq!(value(&before, "mailgate_messages_total{outcome=\"delivered\"}"), 0.0);
    assert_eq!(value(&before, "mailgate_messages_total{outcome=\"temporary_failure\"}"), 0.0);
    assert_eq!(value(&before, "mailgate_uploads_total"), 0.0);
    assert_eq!(value(&before, "mailgate_queue_messages"), 0.0);

    send(&fixture.gateway, "alice@example.com", "bob@example.org", &sample()).await;
    let (text, after) = scrape(&client, &url).await;

    assert_eq!(value(&after, "mailgate_messages_total{outcome=\"delivered\"}"), 1.0);
    assert_eq!(value(&after, "mailgate_messages_total{outcome=\"rejected\"}"), 0.0);
    assert_eq!(value(&after, "mailgate_uploads_total"), 1.0);
    assert!(!text.contains("mailgate_upload_errors_total{"), "no upload failed: {text}");
    assert_eq!(value(&after, "mailgate_queue_messages"), 0.0, "the message is finished");
    assert!(text.contains("# TYPE mailgate_rule_invocation_seconds histogram"), "{text}");
    // One invocation before the scan and one after it.
    assert_eq!(value(&after, "mailgate_rule_invocation_seconds_count{rule=\"secure-storage\"}"), 2.0);
    assert_eq!(value(&after, "mailgate_rule_invocation_seconds_bucket{rule=\"secure-storage\",le=\"+Inf\"}"), 2.0);
    assert!(!text.contains("mailgate_rule_failures_total{"), "no rule failed: {text}");

    let history = fixture.gateway.history().unwrap();
    let summary = history.query(Default::default()).await.unwrap().remove(0);
    let record = history.get(mailgate_history::RecordKey::Id(summary.id)).await.unwrap().unwrap();
    let mailgate_history::RuleStatus::Ran { actions } = &record.rule_results[0].status else {
        panic!("secure-storage ran: {:?}", record.rule_results);
    };
    let mut expected: HashMap<&str, f64> = ["remove_parts", "upload_parts", "link_uploads", "block"].into_iter().map(|kind| (kind, 0.0)).collect();
    for action in actions {
        *expected.get_mut(action_kind(action)).unwrap() += 1.0;
    }
    assert!(expected["upload_parts"] >= 1.0, "secure-storage uploads the PDF: {actions:?}");
    for (kind, count) in expected {
        assert_eq!(value(&after, &format!("mailgate_rule_actions_total{{kind=\"{kind}\"}}")), count, "actions of kind {kind}");
    }

    // The built-in vault scans each file after its group upload finished,
    // in the background.
    let scan_series = "mailgate_scan_seconds_count{engine=\"builtin\"}";
    let mut scans = 0.0;
    for _ in 0..100 {
        let (_, values) = scrape(&client, &url).await;
        scans = values.get(scan_series).copied().unwrap_or(0.0);
        if scans >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(scans >= 1.0, "the vault scanned the uploaded file within 10 s");

    let vault_port = closed_port().await;
    let unreachable_vault = start_with(|config| {
        config.vault.url = Some(format!("http://127.0.0.1:{vault_port}/vault_rest"));
        config.vault.api_key = Some("unused-key".to_string());
    })
    .await;
    let code = send_for_reply(&unreachable_vault.gateway, "alice@example.com", "bob@example.org", &sample()).await;
    assert_eq!(code, 451, "an unreachable vault gives a temporary failure");
    let (_, failed) = scrape(&client, &url).await;

    assert_eq!(value(&failed, "mailgate_messages_total{outcome=\"temporary_failure\"}"), 1.0);
    assert_eq!(value(&failed, "mailgate_messages_total{outcome=\"delivered\"}"), 1.0);
    assert_eq!(value(&failed, "mailgate_uploads_total"), 2.0);
    assert_eq!(value(&failed, "mailgate_upload_errors_total{cause=\"unreachable\"}"), 1.0);
    assert_eq!(value(&failed, "mailgate_queue_messages"), 0.0);

    unreachable_vault.gateway.shutdown().await;
    fixture.gateway.shutdown().await;
}
