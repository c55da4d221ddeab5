//! Starting and stopping the whole gateway.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailgate_delivery::{Delivery, NextHop, RelayConfig};
use mailgate_rules::{LoadedRule, RuleEngine, RuleLimits, RuleLoadError, RuleSource};
use mailgate_smtp::{SmtpServer, SmtpServerConfig};
use mailgate_vault::{RunningVault, VaultClient, VaultClientConfig, VaultError, VaultServer, VaultServerConfig, VaultServerError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Config, parse_host_port};
use crate::pipeline::Pipeline;

/// Errors that stop the gateway from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A rule could not be loaded.
    #[error(transparent)]
    Rule(#[from] RuleLoadError),

    /// The built-in vault could not start.
    #[error("cannot start the built-in vault: {0}")]
    Vault(#[from] VaultServerError),

    /// The vault client configuration is invalid.
    #[error("invalid vault settings: {0}")]
    VaultClient(#[from] VaultError),

    /// The SMTP listener could not start.
    #[error("cannot listen for SMTP on {address}: {source}")]
    Smtp {
        /// The configured address.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A setting is invalid.
    #[error("invalid setting `{setting}`: {reason}")]
    Config {
        /// Name of the setting.
        setting: String,
        /// The problem with the value.
        reason: String,
    },
}

/// Entry point for starting the gateway.
pub struct Gateway;

impl Gateway {
    /// Loads the rules, starts the built-in vault unless an external one is
    /// configured, and starts serving SMTP. Returns once the listener is
    /// bound, so the returned addresses are ready for connections.
    pub async fn start(config: Config) -> Result<RunningGateway, GatewayError> {
        config.validate().map_err(|error| match error {
            crate::config::ConfigError::Invalid { setting, reason } => GatewayError::Config { setting, reason },
            other => GatewayError::Config { setting: "configuration".to_string(), reason: other.to_string() },
        })?;
        let rules = load_rules(&config)?;

        let (builtin_vault, vault_client) = start_vault(&config).await?;
        let delivery = Delivery::new(next_hop(&config)?);
        tracing::info!(next_hop = ?delivery.next_hop(), "delivery configured");

        let pipeline = Arc::new(Pipeline::new(
            rules,
            vault_client,
            delivery,
            config.vault.root_folder.clone(),
            config.smtp.hostname.clone(),
        ));

        let smtp_config = SmtpServerConfig {
            listen: config.smtp.listen,
            hostname: config.smtp.hostname.clone(),
            max_message_size: config.smtp.max_message_size,
            max_recipients: config.smtp.max_recipients,
            command_timeout: config.command_timeout(),
            max_connections: config.smtp.max_connections,
            ..SmtpServerConfig::default()
        };
        let server = SmtpServer::bind(smtp_config)
            .await
            .map_err(|source| GatewayError::Smtp { address: config.smtp.listen, source })?;
        let smtp_address = server.local_addr();
        tracing::info!(address = %smtp_address, "SMTP listening");

        let (stop, stopped) = oneshot::channel::<()>();
        let smtp_task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = server.run(pipeline, shutdown).await {
                tracing::error!(%error, "SMTP server stopped with an error");
            }
        });

        Ok(RunningGateway { smtp_address, builtin_vault, stop: Some(stop), smtp_task })
    }
}

fn load_rules(config: &Config) -> Result<Vec<LoadedRule>, GatewayError> {
    let engine = RuleEngine::new()?;
    config
        .rules
        .iter()
        .map(|rule| {
            let source = match (&rule.shipped, &rule.path) {
                (Some(name), _) => RuleSource::Shipped(name.clone()),
                (None, Some(path)) => RuleSource::File(path.clone()),
                (None, None) => {
                    return Err(GatewayError::Config {
                        setting: format!("rules `{}`", rule.name),
                        reason: "needs `shipped` or `path`".to_string(),
                    });
                }
            };
            let limits = RuleLimits {
                timeout: Duration::from_millis(rule.timeout_ms),
                max_memory_bytes: rule.max_memory_mib.saturating_mul(1024 * 1024),
                ..RuleLimits::default()
            };
            Ok(engine.load(&rule.name, &source, limits)?)
        })
        .collect()
}

async fn start_vault(config: &Config) -> Result<(Option<RunningVault>, VaultClient), GatewayError> {
    let timeout = Duration::from_secs(config.vault.request_timeout_secs);

    if let Some(url) = &config.vault.url {
        let api_key = config.vault_api_key().unwrap_or_default();
        let client = VaultClient::new(VaultClientConfig { base_url: url.clone(), api_key, request_timeout: timeout })?;
        tracing::info!(url = %url, "using external vault");
        return Ok((None, client));
    }

    let api_key = config.builtin_vault.api_key.clone().unwrap_or_else(generate_api_key);
    let vault = VaultServer::start(VaultServerConfig {
        listen: config.builtin_vault.listen,
        data_dir: config.builtin_vault.data_dir.clone(),
        api_keys: vec![api_key.clone()],
        public_url: config.builtin_vault.public_url.clone(),
    })
    .await?;
    tracing::info!(url = %vault.rest_url(), data_dir = %config.builtin_vault.data_dir.display(), "built-in vault started");

    let client = VaultClient::new(VaultClientConfig { base_url: vault.rest_url(), api_key, request_timeout: timeout })?;
    Ok((Some(vault), client))
}

fn next_hop(config: &Config) -> Result<NextHop, GatewayError> {
    match &config.delivery.relay {
        Some(relay) => {
            let (host, port) = parse_host_port(relay)
                .map_err(|reason| GatewayError::Config { setting: "delivery.relay".to_string(), reason })?;
            Ok(NextHop::Relay(RelayConfig {
                host,
                port,
                hello_name: config.smtp.hostname.clone(),
                timeout: Duration::from_secs(config.delivery.timeout_secs),
            }))
        }
        None => Ok(NextHop::Maildir(config.delivery.maildir.clone())),
    }
}

/// Generates a random 30-character alphanumeric key, the length of the MFT
/// product's API keys.
fn generate_api_key() -> String {
    use rand::Rng;
    rand::rng().sample_iter(rand::distr::Alphanumeric).take(30).map(char::from).collect()
}

/// A started gateway.
pub struct RunningGateway {
    smtp_address: SocketAddr,
    builtin_vault: Option<RunningVault>,
    stop: Option<oneshot::Sender<()>>,
    smtp_task: JoinHandle<()>,
}

impl RunningGateway {
    /// Address the SMTP server listens on.
    pub fn smtp_address(&self) -> SocketAddr {
        self.smtp_address
    }

    /// REST URL of the built-in vault, when it runs.
    pub fn builtin_vault_url(&self) -> Option<String> {
        self.builtin_vault.as_ref().map(RunningVault::rest_url)
    }

    /// Stops accepting connections, lets sessions in flight finish within
    /// the SMTP server's grace period, then stops the built-in vault.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(error) = (&mut self.smtp_task).await {
            tracing::error!(%error, "SMTP task ended abnormally");
        }
        if let Some(vault) = self.builtin_vault.take() {
            vault.shutdown().await;
        }
        tracing::info!("gateway stopped");
    }
}
