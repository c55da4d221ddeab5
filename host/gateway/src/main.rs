//! The `mailgate` command.

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
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("MAILGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .init();

    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run(config.as_deref()).await,
        Command::Vault { config, listen, data_dir, api_key } => vault(config.as_deref(), listen, data_dir, api_key).await,
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
    let gateway = Gateway::start(config).await.context("cannot start the gateway")?;

    println!("mailgate is running");
    println!("  SMTP:  {}", gateway.smtp_address());
    if let Some(url) = gateway.builtin_vault_url() {
        println!("  vault: {url} (built-in)");
    }
    println!("Press Ctrl-C to stop.");

    wait_for_signal().await;
    gateway.shutdown().await;
    Ok(())
}

async fn vault(
    config_path: Option<&Path>,
    listen: Option<std::net::SocketAddr>,
    data_dir: Option<PathBuf>,
    api_key: Option<String>,
) -> Result<()> {
    let config = load_config(config_path)?;
    let settings = config.builtin_vault;
    let Some(api_key) = api_key.or(settings.api_key).filter(|key| !key.is_empty()) else {
        bail!("missing API key: pass --api-key, set MAILGATE_VAULT_API_KEY, or set builtin_vault.api_key");
    };

    let vault = VaultServer::start(VaultServerConfig {
        listen: listen.unwrap_or(settings.listen),
        data_dir: data_dir.unwrap_or(settings.data_dir),
        api_keys: vec![api_key],
        public_url: settings.public_url,
    })
    .await
    .context("cannot start the vault")?;

    println!("mailgate vault is running at {}", vault.rest_url());
    println!("Press Ctrl-C to stop.");

    wait_for_signal().await;
    vault.shutdown().await;
    Ok(())
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
