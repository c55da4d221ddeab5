//! The `mailgate` command as a user runs it: the custom-rule template built
//! as its README says, and `mailgate rule test` on a sample message.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn mailgate(arguments: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mailgate"))
        .args(arguments)
        .current_dir(workspace())
        .env("MAILGATE_LOG", "warn")
        .output()
        .expect("mailgate runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn rule_test_shipped_rule_summary() {
    let (success, stdout, stderr) =
        mailgate(&["rule", "test", "--rule", "secure-storage", "examples/mail/pdf-with-inline-logo.eml"]);

    assert!(success, "{stderr}");
    assert!(stdout.contains("rule `secure-storage`"), "{stdout}");
    assert!(stdout.contains("remove parts [6]"), "{stdout}");
    assert!(stdout.contains("part 6: removed and uploaded as Q3 report.pdf"), "{stdout}");
}

#[test]
fn rule_test_bad_setting_is_one_line_error() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[[rules]]\nname = \"big\"\nshipped = \"large-attachments\"\nsettings = { max_size = \"abc\" }\n").unwrap();

    let (success, _, stderr) =
        mailgate(&["rule", "test", "--config", config.path().to_str().unwrap(), "examples/mail/plain-text.eml"]);

    assert!(!success);
    assert!(stderr.contains("error: rule `big`: invalid setting `max_size`"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn custom_rule_template_builds_and_runs() {
    let template = workspace().join("examples/custom-rule");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut build = Command::new(cargo);
    build.args(["build", "--release", "--target", "wasm32-wasip2"]).current_dir(&template);
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_") && key != "CARGO_HOME" {
            build.env_remove(key);
        }
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "the template does not build as its README says");

    let component = template.join("target/wasm32-wasip2/release/custom_rule.wasm");
    assert!(component.exists());

    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!("[[rules]]\nname = \"quarantine\"\npath = \"{}\"\nsettings = {{ extensions = \"pdf\" }}\n", component.display()),
    )
    .unwrap();
    let (success, stdout, stderr) =
        mailgate(&["rule", "test", "--config", config.path().to_str().unwrap(), "examples/mail/pdf-with-inline-logo.eml"]);

    assert!(success, "{stderr}");
    assert!(stdout.contains("rule `quarantine`"), "{stdout}");
    assert!(stdout.contains("part 6: removed and uploaded as Q3 report.pdf"), "{stdout}");
}

#[test]
fn history_list_and_show() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("history.sqlite");
    let store = mailgate_history::HistoryStore::open_sqlite(&database).unwrap();
    let record = mailgate_history::MessageRecord {
        queue_id: "0A1B2C3D4E5F".to_string(),
        received_at: chrono::Utc::now(),
        client_address: "192.0.2.7".to_string(),
        mail_from: "alice@example.com".to_string(),
        rcpt_to: vec!["bob@example.org".to_string()],
        subject: Some("Quarterly report".to_string()),
        message_id: Some("q3@example.com".to_string()),
        size: 2751,
        rule_set_id: Some("dcfe16b3ac2d".to_string()),
        rule_results: vec![mailgate_history::RuleResult {
            rule: "secure-storage".to_string(),
            status: mailgate_history::RuleStatus::Ran { actions: vec!["remove parts [6]".to_string()] },
        }],
        part_verdicts: Vec::new(),
        outcome: mailgate_history::Outcome::TemporaryFailure { reason: "upload to the vault failed".to_string() },
        attachments: vec![mailgate_history::AttachmentRecord {
            part_id: 6,
            file_name: "Q3 report.pdf".to_string(),
            size: 583,
            folder: "Email Gateway/2026-09-28/Quarterly report_<alice@example.com>_<q3@example.com>".to_string(),
            upload: mailgate_history::UploadStatus::Failed {
                error: "cannot reach the vault".to_string(),
                cause: Some("the vault cannot be reached".to_string()),
            },
        }],
        defects: Vec::new(),
    };
    store.record(&record).unwrap();
    drop(store);
    let config = directory.path().join("mailgate.toml");
    std::fs::write(&config, format!("[history]\npath = \"{}\"\n", database.display())).unwrap();
    let config = config.to_str().unwrap();

    let (success, stdout, stderr) = mailgate(&["history", "--config", config, "list", "--sender", "ALICE@example.com"]);
    assert!(success, "{stderr}");
    assert!(stdout.contains("0A1B2C3D4E5F"), "{stdout}");
    assert!(stdout.contains("temporary_failure"), "{stdout}");
    assert!(stdout.contains("1 of 1 matching"), "{stdout}");

    let (success, stdout, stderr) = mailgate(&["history", "--config", config, "show", "0a1b2c3d4e5f"]);
    assert!(success, "{stderr}");
    assert!(stdout.contains("upload FAILED (the vault cannot be reached)"), "{stdout}");
    assert!(stdout.contains("secure-storage"), "{stdout}");

    let (success, _, stderr) = mailgate(&["history", "--config", config, "list", "--outcome", "lost"]);
    assert!(!success);
    assert!(stderr.contains("unknown outcome `lost`"), "{stderr}");

    // Output into a pipe that is closed already, as with `| head`.
    let mut closed_pipe = Command::new(env!("CARGO_BIN_EXE_mailgate"))
        .args(["history", "--config", config, "show", "0a1b2c3d4e5f"])
        .env("MAILGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(closed_pipe.stdout.take());
    let output = closed_pipe.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn report_command_logs_no_info() {
    let output = Command::new(env!("CARGO_BIN_EXE_mailgate"))
        .args(["rule", "test", "--rule", "secure-storage", "examples/mail/pdf-with-inline-logo.eml"])
        .current_dir(workspace())
        .env_remove("MAILGATE_LOG")
        .output()
        .expect("mailgate runs");
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("INFO"), "{stderr}");
}
