//! `mailgate check` as a user runs it: the real binary against configurations
//! in temporary directories and servers on loopback ports that each test
//! starts (HTML page, self-signed TLS, the built-in vault, an SMTP greeter).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Exit status, standard output and standard error of one run.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Writes `extra` after a base configuration whose built-in vault, vault
/// storage and Maildir are usable, and runs `mailgate check` on it in `directory`.
async fn check(directory: &Path, extra: &str) -> Run {
    check_with_vault_settings(directory, "", extra).await
}

/// Runs `mailgate check` like [`check`], with `vault_settings` added to the
/// `[builtin_vault]` section.
async fn check_with_vault_settings(directory: &Path, vault_settings: &str, extra: &str) -> Run {
    let vault_port = free_port().await;
    let config = format!(
        "[builtin_vault]\nlisten = \"127.0.0.1:{vault_port}\"\ndata_dir = \"vault\"\n{vault_settings}\n[rule_set]\ncache_dir = \"cache\"\n\n{extra}"
    );
    let config_path = directory.join("mailgate.toml");
    std::fs::write(&config_path, config).unwrap();

    let directory = directory.to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mailgate"))
            .args(["check", "--timeout-secs", "3", "--config"])
            .arg(&config_path)
            .current_dir(&directory)
            .env("MAILGATE_LOG", "warn")
            .env_remove("MAILGATE_VAULT_API_KEY")
            .output()
            .expect("mailgate runs")
    })
    .await
    .unwrap();

    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Returns a loopback port that was free a moment ago.
async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts a plain HTTP server that returns an HTML page for every path, as a
/// vault's web UI does.
async fn start_html_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = axum::Router::new().fallback(|| async { axum::response::Html("<!doctype html><title>Vault</title><p>Log in</p>") });
    tokio::spawn(async move { axum::serve(listener, router).await });
    port
}

/// Starts a TLS server with a self-signed certificate for vault.example.com
/// that returns `{}` as JSON to every request.
async fn start_self_signed_server() -> u16 {
    start_tls_server_for("vault.example.com").await.0
}

/// Starts a TLS server with a self-signed certificate for `name` that
/// returns `{}` as JSON to every request; returns its port and the
/// certificate as PEM.
async fn start_tls_server_for(name: &str) -> (u16, String) {
    let generated = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    let certificate_pem = generated.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut request = [0u8; 1024];
                let _ = tls.read(&mut request).await;
                let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, certificate_pem)
}

/// Starts an SMTP server that greets with 220 and replies 221 to QUIT.
async fn start_smtp_greeter() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let _ = stream.get_mut().write_all(b"220 relay.test ESMTP ready\r\n").await;
                let mut line = String::new();
                let _ = stream.read_line(&mut line).await;
                let _ = stream.get_mut().write_all(b"221 bye\r\n").await;
            });
        }
    });
    port
}

fn vault_section(url: &str) -> String {
    format!("[vault]\nurl = \"{url}\"\napi_key = \"check-test-key\"\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn check_builtin_setup_passes() {
    let directory = tempfile::tempdir().unwrap();

    let run = check(directory.path(), "[delivery]\nmaildir = \"maildir\"\n").await;

    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("OK    configuration"), "{}", run.stdout);
    assert!(run.stdout.contains("OK    rules"), "{}", run.stdout);
    assert!(run.stdout.contains("built-in vault is used"), "{}", run.stdout);
    assert!(run.stdout.contains("OK    next hop"), "{}", run.stdout);
    assert!(run.stdout.contains("all 7 checks passed"), "{}", run.stdout);
    assert!(!directory.path().join("maildir").exists(), "check must not create the Maildir");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_invalid_configuration_fails() {
    let directory = tempfile::tempdir().unwrap();

    let run = check(directory.path(), "[delivery]\nrelay = \"no-port\"\n").await;

    assert!(!run.success);
    assert!(run.stdout.contains("FAIL  configuration: invalid setting `delivery.relay`"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_builtin_vault_port_in_use() {
    let directory = tempfile::tempdir().unwrap();
    let occupant = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = occupant.local_addr().unwrap();
    let config = format!(
        "[builtin_vault]\nlisten = \"{address}\"\ndata_dir = \"vault\"\n[delivery]\nmaildir = \"maildir\"\n[rule_set]\ncache_dir = \"cache\"\n"
    );
    let config_path = directory.path().join("taken.toml");
    std::fs::write(&config_path, config).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_mailgate"))
        .args(["check", "--config"])
        .arg(&config_path)
        .current_dir(directory.path())
        .env("MAILGATE_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);

    assert!(!output.status.success());
    assert!(stdout.contains("FAIL  vault: the built-in vault cannot listen"), "{stdout}");
    assert!(stdout.contains("another program already listens there"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_url_without_rest_path() {
    let directory = tempfile::tempdir().unwrap();

    let run = check(directory.path(), &vault_section("http://127.0.0.1:8000/")).await;

    assert!(!run.success);
    assert!(run.stdout.contains("FAIL  vault: invalid vault URL"), "{}", run.stdout);
    assert!(run.stdout.contains("http(s)://<host>:<port>/vault_rest"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_host_unresolved() {
    let directory = tempfile::tempdir().unwrap();

    let run = check(directory.path(), &vault_section("http://vault.invalid:8010/vault_rest")).await;

    assert!(!run.success);
    assert!(run.stdout.contains("\"vault.invalid\" in vault.url does not resolve"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_connection_refused() {
    let directory = tempfile::tempdir().unwrap();
    let port = free_port().await;

    let run = check(directory.path(), &vault_section(&format!("http://127.0.0.1:{port}/vault_rest"))).await;

    assert!(!run.success);
    assert!(run.stdout.contains(&format!("127.0.0.1:{port} refused the connection")), "{}", run.stdout);
    assert!(run.stdout.contains("start the vault"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_ui_port_detected() {
    let directory = tempfile::tempdir().unwrap();
    let port = start_html_server().await;

    let run = check(directory.path(), &vault_section(&format!("http://127.0.0.1:{port}/vault_rest"))).await;

    assert!(!run.success);
    assert!(run.stdout.contains("returned an HTML page"), "{}", run.stdout);
    assert!(run.stdout.contains("default port is 8010, while the web UI is on 8000"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_https_on_plain_port() {
    let directory = tempfile::tempdir().unwrap();
    let port = start_html_server().await;

    let run = check(directory.path(), &vault_section(&format!("https://127.0.0.1:{port}/vault_rest"))).await;

    assert!(!run.success);
    assert!(run.stdout.contains("speaks plain HTTP, but vault.url starts with https://"), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("use http://127.0.0.1:{port}/vault_rest")), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_http_on_tls_port() {
    let directory = tempfile::tempdir().unwrap();
    let port = start_self_signed_server().await;

    let run = check(directory.path(), &vault_section(&format!("http://127.0.0.1:{port}/vault_rest"))).await;

    assert!(!run.success);
    assert!(run.stdout.contains("speaks TLS, but vault.url starts with http://"), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("use https://127.0.0.1:{port}/vault_rest")), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_untrusted_certificate() {
    let directory = tempfile::tempdir().unwrap();
    let port = start_self_signed_server().await;

    let run = check(directory.path(), &vault_section(&format!("https://127.0.0.1:{port}/vault_rest"))).await;

    assert!(!run.success);
    assert!(run.stdout.contains("certificate is not trusted: no certificate authority that mailgate trusts issued it"), "{}", run.stdout);
    assert!(run.stdout.contains("the certificate names vault.example.com, not 127.0.0.1"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_ca_bundle_trusts_private_ca() {
    let directory = tempfile::tempdir().unwrap();
    let (port, certificate_pem) = start_tls_server_for("localhost").await;
    let bundle = directory.path().join("vault-ca.pem");
    std::fs::write(&bundle, certificate_pem).unwrap();
    let url = format!("https://localhost:{port}/vault_rest");

    let without_bundle = check(directory.path(), &vault_section(&url)).await;
    let with_bundle =
        check(directory.path(), &format!("{}ca_bundle = \"{}\"\n", vault_section(&url), bundle.display())).await;

    assert!(without_bundle.stdout.contains("certificate is not trusted"), "{}", without_bundle.stdout);
    assert!(!with_bundle.stdout.contains("not trusted"), "{}", with_bundle.stdout);
    assert!(with_bundle.stdout.contains("OK    vault"), "{}", with_bundle.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_wrong_api_key() {
    let directory = tempfile::tempdir().unwrap();
    let vault = mailgate_vault::VaultServer::start(mailgate_vault::VaultServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: directory.path().join("external-vault"),
        api_keys: vec!["the-right-key".to_string()],
        ..mailgate_vault::VaultServerConfig::default()
    })
    .await
    .unwrap();

    let run = check(directory.path(), &vault_section(&vault.rest_url())).await;

    assert!(!run.success);
    assert!(run.stdout.contains("the vault rejected the API key from vault.api_key with HTTP 401"), "{}", run.stdout);
    assert!(run.stdout.contains("neither a valid API key nor an open session token"), "{}", run.stdout);
    vault.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_vault_right_api_key_passes() {
    let directory = tempfile::tempdir().unwrap();
    let vault = mailgate_vault::VaultServer::start(mailgate_vault::VaultServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: directory.path().join("external-vault"),
        api_keys: vec!["check-test-key".to_string()],
        ..mailgate_vault::VaultServerConfig::default()
    })
    .await
    .unwrap();

    let run = check(directory.path(), &format!("{}[delivery]\nmaildir = \"maildir\"\n", vault_section(&vault.rest_url()))).await;

    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("accepts the API key"), "{}", run.stdout);
    vault.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_relay_connection_refused() {
    let directory = tempfile::tempdir().unwrap();
    let port = free_port().await;

    let run = check(directory.path(), &format!("[delivery]\nrelay = \"127.0.0.1:{port}\"\n")).await;

    assert!(!run.success);
    assert!(run.stdout.contains(&format!("FAIL  next hop: relay 127.0.0.1:{port} (127.0.0.1:{port}) refused the connection")), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_relay_greeting_passes() {
    let directory = tempfile::tempdir().unwrap();
    let port = start_smtp_greeter().await;

    let run = check(directory.path(), &format!("[delivery]\nrelay = \"127.0.0.1:{port}\"\n")).await;

    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("OK    next hop: relay"), "{}", run.stdout);
    assert!(run.stdout.contains("220 relay.test ESMTP ready"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_builtin_scanner_passes() {
    let directory = tempfile::tempdir().unwrap();

    let run = check_with_vault_settings(directory.path(), "scan = true\n", "[delivery]\nmaildir = \"maildir\"\n").await;

    assert!(run.success, "{}", run.stdout);
    assert!(run.stdout.contains("OK    vault scanner: the builtin engine blocks the EICAR test file"), "{}", run.stdout);
    assert!(run.stdout.contains("OK    scan: the builtin engine blocks the EICAR test file"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_clamd_scanner_refused() {
    let directory = tempfile::tempdir().unwrap();
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };

    let settings = format!("scan = true\nscan_engine = \"clamd\"\nclamd_address = \"{closed}\"\n");
    let run = check_with_vault_settings(directory.path(), &settings, "").await;

    assert!(!run.success);
    assert!(run.stdout.contains("FAIL  vault scanner: the clamd engine failed"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_mail_scan_engine_refused() {
    let directory = tempfile::tempdir().unwrap();
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };

    let settings = format!("[delivery]\nmaildir = \"maildir\"\n[scan]\nengine = \"clamd\"\nclamd_address = \"{closed}\"\n");
    let run = check_with_vault_settings(directory.path(), "", &settings).await;

    assert!(!run.success);
    assert!(run.stdout.contains("FAIL  scan: the clamd engine failed"), "{}", run.stdout);
    assert!(run.stdout.contains("correct scan.clamd_address"), "{}", run.stdout);
}
