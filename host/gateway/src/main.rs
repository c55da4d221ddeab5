//! The `mailgate` command.

mod cli;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use mailgate::{Config, Gateway};
use mailgate_vault::{VaultServer, VaultServerConfig};
use tracing_subscriber::EnvFilter;

/// Email security gateway whose rules run as sandboxed WebAssembly components.
#[derive(Parser)]
#[command(name = "mailgate", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gateway: SMTP in, rules, vault uploads, delivery.
    ///
    /// Without --config, every setting has its default: SMTP on
    /// 127.0.0.1:2525, the built-in vault on 127.0.0.1:8010, the
    /// secure-storage rule, and delivery into ./mailgate-data/maildir.
    Run {
        /// Configuration file (TOML); see examples/mailgate.toml.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },

    /// Runs only the built-in vault, for a gateway on another machine.
    ///
    /// Uses the [builtin_vault] section of the configuration; the API key
    /// comes from MAILGATE_VAULT_API_KEY, --api-key or builtin_vault.api_key.
    Vault {
        /// Configuration file (TOML); see examples/mailgate.toml.
        #[arg(long, short)]
        config: Option<PathBuf>,

        /// Address and port to listen on, overriding builtin_vault.listen.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,

        /// Directory for files and metadata, overriding builtin_vault.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,

        /// Bearer token that clients must send.
        #[arg(long, env = "MAILGATE_VAULT_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
    },

    /// Asks a running gateway to load its rules again, through the admin
    /// endpoint (admin.listen, with the token from admin.token or
    /// MAILGATE_ADMIN_TOKEN).
    Reload {
        /// Configuration file of the running gateway.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },

    /// Validates the configuration and the rules, then tests the vault and
    /// the next hop one step at a time and prints a fix for each problem.
    ///
    /// Exits with status 0 only when every check passed.
    Check {
        /// Configuration file (TOML); without it, the defaults are checked.
        #[arg(long, short)]
        config: Option<PathBuf>,

        /// Time limit for each network step (name lookup, connect, TLS
        /// handshake, request, SMTP greeting), in seconds.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
        timeout_secs: u64,
    },

    /// Works with rules without running the gateway.
    #[command(subcommand)]
    Rule(RuleCommand),

    /// Lists or shows processed messages from the history database.
    History {
        /// Configuration file whose [history] section is read; may also
        /// follow `list` or `show`.
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,

        #[command(subcommand)]
        command: HistoryCommand,
    },
}

#[derive(Subcommand)]
enum HistoryCommand {
    /// Lists messages, newest first.
    List(cli::history::ListFilters),
    /// Shows one message with its rules, uploads and outcome.
    Show {
        /// Queue id (from the 250 reply or the logs) or record number.
        id: String,
    },
}

#[derive(Subcommand)]
enum RuleCommand {
    /// Runs rules on a message file and prints their actions and how the
    /// message would change; uploads and sends nothing.
    Test {
        /// One rule: a shipped name (secure-storage, no-attachment,
        /// large-attachments, offload-scanning, false-positives,
        /// sanitized-originals) or a .wasm file. Without it, the rules of the
        /// configuration run.
        #[arg(long)]
        rule: Option<String>,

        /// Configuration file whose [[rules]] run (or whose other settings
        /// apply when --rule is given).
        #[arg(long, short)]
        config: Option<PathBuf>,

        /// The message, as an .eml file.
        message: PathBuf,
    },
}

/// Returns the log level used without `MAILGATE_LOG`: `info` for the
/// servers, `warn` for the commands that print a report, so that their
/// output is not mixed with progress lines.
fn default_log_level(command: &Command) -> &'static str {
    match command {
        Command::Run { .. } | Command::Vault { .. } => "info",
        Command::Reload { .. } | Command::Check { .. } | Command::Rule(_) | Command::History { .. } => "warn",
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::io::IsTerminal;
    let cli = Cli::parse();

    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(EnvFilter::try_from_env("MAILGATE_LOG").unwrap_or_else(|_| EnvFilter::new(default_log_level(&cli.command))))
        .init();

    match execute(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the
/// message already contains (many messages quote their cause).
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

async fn execute(command: Command) -> Result<()> {
    match command {
        Command::Run { config } => run(config.as_deref()).await,
        Command::Vault { config, listen, data_dir, api_key } => vault(config.as_deref(), listen, data_dir, api_key).await,
        Command::Reload { config } => reload(config.as_deref()).await,
        Command::Check { config, timeout_secs } => cli::check::run(config.as_deref(), timeout_secs).await,
        Command::History { config, command: HistoryCommand::List(filters) } => cli::history::list(config.as_deref(), filters).await,
        Command::History { config, command: HistoryCommand::Show { id } } => cli::history::show(config.as_deref(), &id).await,
        Command::Rule(RuleCommand::Test { rule, config, message }) => {
            tokio::task::block_in_place(|| cli::rule_test::run(rule.as_deref(), config.as_deref(), &message))
        }
    }
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(path) => Ok(Config::load(path)?),
        None => Ok(Config::default()),
    }
}

async fn run(config_path: Option<&Path>) -> Result<()> {
    let config = load_config(config_path)?;
    let gateway = Gateway::start_with_file(config, config_path.map(Path::to_path_buf))
        .await
        .context("cannot start the gateway")?;

    println!("mailgate is running");
    println!("  SMTP:     {}", gateway.smtp_address());
    if let Some(url) = gateway.builtin_vault_url() {
        println!("  vault:    {url} (built-in)");
    }
    if let Some(address) = gateway.admin_address() {
        println!("  admin:    http://{address}/admin/ui");
    }
    println!("  rule set: {}", gateway.rule_set_id());
    println!("Press Ctrl-C to stop; send SIGHUP to reload the rules and the block list and rescan the vault.");

    let gateway = std::sync::Arc::new(gateway);
    let reloading = std::sync::Arc::clone(&gateway);
    let hangups = tokio::spawn(async move {
        let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload through the admin endpoint");
            return;
        };
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP received");
            let _ = reloading.reloader().reload().await;
            if let Err(error) = reloading.reload_block_list() {
                tracing::error!(%error, "cannot reload scan.block_list; the previous list stays in use");
            }
            if let Some(vault) = reloading.builtin_vault() {
                rescan(&vault).await;
            }
        }
    });

    wait_for_signal().await;
    hangups.abort();
    let _ = hangups.await;
    match std::sync::Arc::try_unwrap(gateway) {
        Ok(gateway) => gateway.shutdown().await,
        Err(_) => tracing::warn!("the gateway is still in use; it stops with the process"),
    }
    Ok(())
}

async fn reload(config_path: Option<&Path>) -> Result<()> {
    let config = load_config(config_path)?;
    let Some(token) = config.admin_token() else {
        bail!("no admin token: set admin.token in the configuration or MAILGATE_ADMIN_TOKEN, as for the running gateway");
    };

    let url = format!("http://{}/admin/reload", config.admin.listen);
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach the admin endpoint at {url}; is the gateway running with this configuration?"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();

    if status.is_success() {
        println!("rule set {} loaded", body["rule_set"].as_str().unwrap_or("?"));
        Ok(())
    } else if status == reqwest::StatusCode::UNAUTHORIZED {
        bail!("the admin endpoint at {url} rejected the token; use the token the running gateway was started with")
    } else {
        bail!(
            "reload failed ({status}): {}; the running rule set {} stays",
            body["error"].as_str().unwrap_or("no reason given"),
            body["rule_set"].as_str().unwrap_or("?")
        )
    }
}

async fn vault(
    config_path: Option<&Path>,
    listen: Option<std::net::SocketAddr>,
    data_dir: Option<PathBuf>,
    api_key: Option<String>,
) -> Result<()> {
    let config = load_config(config_path)?;
    let settings = config.builtin_vault;
    let Some(api_key) = api_key.or_else(|| settings.api_key.clone()).filter(|key| !key.is_empty()) else {
        bail!("missing API key: pass --api-key, set MAILGATE_VAULT_API_KEY, or set builtin_vault.api_key");
    };

    let server_config = VaultServerConfig {
        listen: listen.unwrap_or(settings.listen),
        data_dir: data_dir.unwrap_or_else(|| settings.data_dir.clone()),
        api_keys: vec![api_key],
        public_url: settings.public_url.clone(),
        ..VaultServerConfig::default()
    };
    let server_config = settings
        .apply_scan_settings(server_config)
        .map_err(|reason| anyhow::anyhow!("invalid builtin_vault.block_list: {reason}"))?;

    let vault = VaultServer::start(server_config).await.context("cannot start the vault")?;

    println!("mailgate vault is running at {}", vault.rest_url());
    println!("Press Ctrl-C to stop; send SIGHUP to rescan the stored files now.");

    let vault = std::sync::Arc::new(vault);
    let rescanner = std::sync::Arc::clone(&vault);
    let hangups = tokio::spawn(async move {
        let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; rescans run on their schedule only");
            return;
        };
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP received");
            rescan(&rescanner).await;
        }
    });

    wait_for_signal().await;
    hangups.abort();
    let _ = hangups.await;
    match std::sync::Arc::try_unwrap(vault) {
        Ok(vault) => vault.shutdown().await,
        Err(_) => tracing::warn!("the vault is still in use; it stops with the process"),
    }
    Ok(())
}

/// Rescans every stored file of the built-in vault now, rereading its block
/// list first. A vault without a scanner has nothing to rescan.
async fn rescan(vault: &mailgate_vault::RunningVault) {
    match vault.rescan_now().await {
        Ok(summary) => tracing::info!(?summary, "vault rescanned"),
        Err(mailgate_vault::RescanError::NoScanner) => {}
        Err(error) => tracing::error!(%error, "vault rescan failed"),
    }
}

/// Waits for Ctrl-C or SIGTERM.
async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM; stop with Ctrl-C");
            let _ = interrupt.await;
            return;
        }
    };
    tokio::select! {
        _ = interrupt => tracing::info!("Ctrl-C received, stopping"),
        _ = terminate.recv() => tracing::info!("SIGTERM received, stopping"),
    }
}
