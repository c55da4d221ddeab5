//! The `mailgate` command as a user runs it: the custom-rule template built
//! as its README says, and `mailgate rule test` on a sample message.

use std::path::{Path, PathBuf};
use std::process::Command;

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
