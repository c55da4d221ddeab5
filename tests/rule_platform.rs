//! The rule platform over real SMTP: rule sets swapped while mail flows,
//! the admin endpoint, failure policies and match conditions.

use std::time::Duration;

use mail_parser::MessageParser;
use mailgate::{Config, FailurePolicyConfig, RuleConfig};
use mailgate_tests::{
    SmtpClient, SmtpSink, before_queue_config, config, file_rule, sample, send_message, shipped_rule, start_gateway, test_rule,
};

fn header_value(data: &[u8], name: &str) -> Option<String> {
    let message = MessageParser::default().parse(data)?;
    message.header_raw(name).map(|value| value.trim().to_string())
}

fn has_pdf(data: &[u8]) -> bool {
    String::from_utf8_lossy(data).contains("application/pdf")
}

/// Writes `config`'s rules as a TOML file the reloader reads.
fn write_rules(path: &std::path::Path, rules: &str) {
    std::fs::write(path, rules).unwrap();
}

#[tokio::test]
async fn swap_during_stream_loses_nothing() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let config_file = data_dir.path().join("mailgate.toml");
    write_rules(&config_file, "[[rules]]\nname = \"keep\"\nshipped = \"large-attachments\"\n");

    let mut settings = config(data_dir.path(), sink.address, vec![RuleConfig::shipped("large-attachments")]);
    settings.rules[0].name = "keep".to_string();
    settings.rule_set.add_header = true;
    let gateway = mailgate::Gateway::start_with_file(settings, Some(config_file.clone())).await.unwrap();
    let old_id = gateway.rule_set_id();
    let address = gateway.smtp_address();

    let sender = tokio::spawn(async move {
        let mut client = SmtpClient::connect(address).await;
        let mut codes = Vec::new();
        for _ in 0..40 {
            let reply = client.send("alice@example.com", &["bob@example.org"], &sample("pdf-with-inline-logo.eml")).await;
            codes.push(reply.code);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        codes
    });

    tokio::time::sleep(Duration::from_millis(200)).await;
    write_rules(&config_file, "[[rules]]\nname = \"strip\"\nshipped = \"secure-storage\"\n");
    let new_id = gateway.reloader().reload().await.unwrap();
    assert_ne!(new_id, old_id);

    let codes = sender.await.unwrap();
    assert!(codes.iter().all(|code| *code == 250), "replies: {codes:?}");

    let mut seen = Vec::new();
    for _ in 0..codes.len() {
        let delivered = sink.next_message().await;
        let id = header_value(&delivered.data, "X-Mailgate-Rule-Set").expect("rule set header");
        let pdf_kept = has_pdf(&delivered.data);
        if id == old_id.as_str() {
            assert!(pdf_kept, "old rule set keeps the small PDF");
        } else {
            assert_eq!(id, new_id.as_str());
            assert!(!pdf_kept, "new rule set moves the PDF to the vault");
        }
        seen.push(id);
    }

    let first_new = seen.iter().position(|id| id == new_id.as_str()).expect("messages after the swap");
    assert!(first_new > 0, "messages before the swap");
    assert!(seen[first_new..].iter().all(|id| id == new_id.as_str()), "old set used after the swap: {seen:?}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn file_change_reloads_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let config_file = data_dir.path().join("mailgate.toml");
    write_rules(&config_file, "[[rules]]\nname = \"secure-storage\"\nshipped = \"secure-storage\"\n");
    let mut settings = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    settings.rule_set.watch = true;
    let gateway = mailgate::Gateway::start_with_file(settings, Some(config_file.clone())).await.unwrap();
    let reloader = gateway.reloader();
    let first = gateway.rule_set_id();

    tokio::time::sleep(Duration::from_millis(300)).await;
    write_rules(&config_file, "[[rules]]\nname = \"strip\"\nshipped = \"no-attachment\"\n");
    let mut waited = Duration::ZERO;
    while gateway.rule_set_id() == first && waited < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert_ne!(gateway.rule_set_id(), first, "the change was not picked up");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let settled = reloader.attempts();
    let _ = std::fs::read_to_string(&config_file).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(reloader.attempts(), settled, "reading the file must not reload");
    assert!(settled <= 3, "{settled} reloads for one change");
    gateway.shutdown().await;
}

#[tokio::test]
async fn failed_reload_keeps_running_set() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let config_file = data_dir.path().join("mailgate.toml");
    write_rules(&config_file, "[[rules]]\nname = \"secure-storage\"\nshipped = \"secure-storage\"\n");
    let settings = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    let gateway = mailgate::Gateway::start_with_file(settings, Some(config_file.clone())).await.unwrap();
    let running = gateway.rule_set_id();

    write_rules(&config_file, "[[rules]]\nname = \"big\"\nshipped = \"large-attachments\"\nsettings = { max_size = \"huge\" }\n");
    let error = gateway.reloader().reload().await.unwrap_err();

    assert!(error.to_string().contains("invalid setting `max_size`"), "{error}");
    assert_eq!(gateway.rule_set_id(), running);
    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    assert!(!has_pdf(&sink.next_message().await.data), "the running set still strips attachments");
    gateway.shutdown().await;
}

#[tokio::test]
async fn admin_endpoint_requires_token() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut settings: Config = config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")]);
    settings.admin.listen = "127.0.0.1:0".parse().unwrap();
    settings.admin.token = Some("admin-secret".to_string());
    let gateway = start_gateway(settings).await;
    let base = format!("http://{}", gateway.admin_address().expect("admin endpoint runs"));
    let http = reqwest::Client::new();

    let anonymous = http.post(format!("{base}/admin/reload")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = http.get(format!("{base}/admin/rules")).bearer_auth("admin-secreT").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    let rules: serde_json::Value =
        http.get(format!("{base}/admin/rules")).bearer_auth("admin-secret").send().await.unwrap().json().await.unwrap();
    assert_eq!(rules["rule_set"], gateway.rule_set_id().as_str());
    assert_eq!(rules["rules"][0]["name"], "secure-storage");

    let reloaded = http.post(format!("{base}/admin/reload")).bearer_auth("admin-secret").send().await.unwrap();
    assert_eq!(reloaded.status(), 200);
    let body: serde_json::Value = reloaded.json().await.unwrap();
    assert_eq!(body["rule_set"], gateway.rule_set_id().as_str());
    gateway.shutdown().await;
}

#[tokio::test]
async fn failure_policy_skip_continues() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut trapping = file_rule("crashing", test_rule("trap"), 1000);
    trapping.on_failure = FailurePolicyConfig::Skip;
    let mut settings = config(data_dir.path(), sink.address, vec![trapping, shipped_rule("secure-storage")]);
    settings.admin.listen = "127.0.0.1:0".parse().unwrap();
    settings.admin.token = Some("admin-secret".to_string());
    let gateway = start_gateway(settings).await;

    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;

    assert_eq!(reply.code, 250, "{reply:?}");
    assert!(!has_pdf(&sink.next_message().await.data), "the second rule still ran");

    let url = format!("http://{}/admin/rules", gateway.admin_address().unwrap());
    let status: serde_json::Value =
        reqwest::Client::new().get(url).bearer_auth("admin-secret").send().await.unwrap().json().await.unwrap();
    let crashing = &status["rules"][0];
    assert_eq!(crashing["name"], "crashing");
    let errors = crashing["recent_errors"].as_array().expect("recent errors listed");
    assert_eq!(errors.len(), 2, "one failure before and one after the scan: {status}");
    assert!(errors[0]["error"].as_str().unwrap().contains("crashing"), "{status}");
    assert_eq!(status["rules"][1]["recent_errors"].as_array().map(Vec::len), Some(0));
    gateway.shutdown().await;
}

#[tokio::test]
async fn failure_policy_block_rejects() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut looping = file_rule("looping", test_rule("endless_loop"), 200);
    looping.on_failure = FailurePolicyConfig::Block;
    let gateway = start_gateway(before_queue_config(data_dir.path(), sink.address, vec![looping])).await;

    let reply = send_message(gateway.smtp_address(), &sample("plain-text.eml")).await;

    assert_eq!(reply.code, 550, "{reply:?}");
    assert!(!sink.has_message(Duration::from_millis(300)).await);
    gateway.shutdown().await;
}

#[tokio::test]
async fn match_conditions_select_recipients() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut strip = shipped_rule("secure-storage");
    strip.conditions.recipients = vec!["example.org".to_string()];
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![strip])).await;
    let message = sample("pdf-with-inline-logo.eml");

    let mut client = SmtpClient::connect(gateway.smtp_address()).await;
    let matched = client.send("alice@example.com", &["bob@example.org"], &message).await;
    let unmatched = client.send("alice@example.com", &["carol@example.net"], &message).await;

    assert_eq!(matched.code, 250);
    assert_eq!(unmatched.code, 250);
    let mut delivered = [sink.next_message().await, sink.next_message().await];
    delivered.sort_by(|first, second| first.rcpt_to.cmp(&second.rcpt_to));
    assert_eq!(delivered[0].rcpt_to, vec!["bob@example.org".to_string()]);
    assert!(!has_pdf(&delivered[0].data), "rule ran for example.org");
    assert!(has_pdf(&delivered[1].data), "rule skipped for example.net");
    gateway.shutdown().await;
}

#[tokio::test]
async fn invalid_rule_setting_stops_start() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let mut big = RuleConfig::shipped("large-attachments");
    big.settings.insert("max_size".to_string(), toml::Value::String("lots".to_string()));

    let error = mailgate::Gateway::start(config(data_dir.path(), sink.address, vec![big])).await.err().expect("start fails");

    let message = error.to_string();
    assert!(message.contains("rule `large-attachments`"), "{message}");
    assert!(message.contains("max_size"), "{message}");
}
