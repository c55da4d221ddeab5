//! Starting and stopping the whole gateway.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use mailgate_delivery::{Delivery, NextHop};
use mailgate_history::{AsyncHistoryStore, HistoryError};
use mailgate_rules::{PoolSize, RuleEngine, RuleLoadError};
use mailgate_smtp::{SmtpServer, SmtpServerConfig, TlsConfig, TlsError};
use mailgate_vault::mailgate_scan::Scanner;
use mailgate_vault::{RunningVault, VaultClient, VaultClientConfig, VaultError, VaultServer, VaultServerConfig, VaultServerError};
use mailgate_queue::{Spool, SpoolError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::admin::AdminServer;
use crate::config::{Config, ConfigError, HistoryBackend, LookaheadMode, SmtpMode};
use crate::lookahead::RecipientLookahead;
use crate::scanning::ScanStage;
use crate::pipeline::{Pipeline, PipelineSettings};
use crate::queue_acceptor::QueueAcceptor;
use crate::queue_runner::{QueueRunner, RunnerSettings};
use crate::queue_worker::QueueContext;
use crate::reload::{Reloader, spawn_watcher};
use crate::rule_set::{RuleSet, RuleSetId, SharedRuleSet};

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

    /// The history database could not be opened.
    #[error("cannot open the history: {0}")]
    History(#[from] HistoryError),

    /// The admin endpoint could not start.
    #[error("cannot start the admin endpoint on {address}: {source}")]
    Admin {
        /// The configured address.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The STARTTLS certificate or key could not be loaded.
    #[error("cannot set up STARTTLS: {0}")]
    Tls(#[from] TlsError),

    /// The SMTP listener could not start.
    #[error("cannot listen for SMTP on {address}: {source}")]
    Smtp {
        /// The configured address.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The spool directory could not be opened or recovered.
    #[error("cannot open the spool: {0}")]
    Spool(#[from] SpoolError),

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
    /// configured, opens the spool and continues the messages in it, and
    /// starts serving SMTP. Returns once the listener is bound, so the
    /// returned addresses are ready for connections.
    pub async fn start(config: Config) -> Result<RunningGateway, GatewayError> {
        Gateway::start_with_file(config, None).await
    }

    /// Starts like [`Gateway::start`]; reloads read `config_path` again, and
    /// with `rule_set.watch` a change to that file reloads the rules.
    pub async fn start_with_file(config: Config, config_path: Option<PathBuf>) -> Result<RunningGateway, GatewayError> {
        config.validate().map_err(config_error)?;

        let engine = Arc::new(rule_engine(&config)?.with_cache(&config.rule_set.cache_dir));
        let initial = load_rule_set(&engine, &config).await?;
        tracing::info!(rule_set = %initial.id(), rules = initial.rules().len(), "rule set loaded");
        let rule_set: SharedRuleSet = Arc::new(ArcSwap::from_pointee(initial));
        let reloader = Arc::new(Reloader::new(Arc::clone(&engine), Arc::clone(&rule_set), config_path, config.clone()));

        let (builtin_vault, vault_client) = start_vault(&config).await?;
        let delivery = Delivery::new(config.next_hop().map_err(config_error)?);
        tracing::info!(next_hop = ?delivery.next_hop(), "delivery configured");

        let settings = PipelineSettings {
            root_folder: config.vault.root_folder.clone(),
            hostname: config.smtp.hostname.clone(),
            trusted_networks: config.smtp.trusted_networks.clone(),
            add_rule_set_header: config.rule_set.add_header,
            upload_failure: config.vault.upload_failure,
            notice: config.notice.template(),
        };
        let history = open_history(&config).await?;
        let pruner = history.clone().and_then(|store| spawn_pruner(store, config.history.retention_days));
        let lookahead = recipient_lookahead(&config, &delivery).map(Arc::new);
        let mut pipeline = Pipeline::new(Arc::clone(&rule_set), vault_client, delivery, history.clone(), settings);
        if let Some(lookahead) = &lookahead {
            pipeline = pipeline.with_lookahead(Arc::clone(lookahead));
        }
        let sanitizer = config
            .sanitize
            .build_stage(&config.scan)
            .map_err(|reason| GatewayError::Config { setting: "sanitize".to_string(), reason })?;
        pipeline = pipeline.with_sanitizing(Arc::new(sanitizer));
        let scan = scan_stage(&config)?.map(Arc::new);
        if let Some(stage) = &scan {
            pipeline = pipeline.with_scanning(Arc::clone(stage));
        }
        let pipeline = Arc::new(pipeline);
        let spool = open_spool(&config).await?;

        let admin = match config.admin_token() {
            Some(token) => Some(
                AdminServer::start(config.admin.listen, token, Arc::clone(&reloader), Arc::clone(&rule_set), history.clone())
                    .await
                    .map_err(|source| GatewayError::Admin { address: config.admin.listen, source })?,
            ),
            None => None,
        };
        let watcher = if config.rule_set.watch { spawn_watcher(Arc::clone(&reloader)) } else { None };

        let smtp_config = SmtpServerConfig {
            listen: config.smtp.listen,
            hostname: config.smtp.hostname.clone(),
            max_message_size: config.smtp.max_message_size,
            max_recipients: config.smtp.max_recipients,
            command_timeout: config.command_timeout(),
            max_connections: config.smtp.max_connections,
            max_connections_per_client: config.smtp.max_connections_per_client,
            max_header_size: config.smtp.max_header_size,
            max_data_line_length: config.smtp.max_data_line_length,
            tls: smtp_tls(&config)?,
            require_tls: config.smtp.require_tls,
            accepted_domains: config.accepted_domains().map_err(config_error)?,
            relay_networks: config.relay_networks(),
            verify_recipients: config.smtp.recipient_lookahead == LookaheadMode::NextHop,
            shutdown_grace_period: Duration::from_secs(config.smtp.shutdown_timeout_secs),
            ..SmtpServerConfig::default()
        };
        let server = SmtpServer::bind(smtp_config)
            .await
            .map_err(|source| GatewayError::Smtp { address: config.smtp.listen, source })?;
        let smtp_address = server.local_addr();
        tracing::info!(address = %smtp_address, "SMTP listening");

        let (spool, recovered) = spool;
        let spool = Arc::new(spool);
        let (runner_sender, runner_receiver) = mpsc::unbounded_channel();
        let context = Arc::new(QueueContext {
            spool: Arc::clone(&spool),
            pipeline: Arc::clone(&pipeline),
            policy: config.queue.retry_policy(),
            hostname: config.smtp.hostname.clone(),
            runner: runner_sender.clone(),
        });
        let runner_settings = RunnerSettings {
            workers: config.queue.workers,
            shutdown_timeout: Duration::from_secs(config.queue.shutdown_timeout_secs),
        };
        let queue = QueueRunner::start(context, runner_receiver, recovered, runner_settings);

        let (stop, stopped) = oneshot::channel::<()>();
        let mode = config.smtp.mode;
        let mut acceptor = QueueAcceptor::new(Arc::clone(&spool), runner_sender);
        if let Some(lookahead) = lookahead {
            acceptor = acceptor.with_lookahead(lookahead);
        }
        let acceptor = Arc::new(acceptor);
        let smtp_task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let served = match mode {
                SmtpMode::AfterQueue => server.run(acceptor, shutdown).await,
                SmtpMode::BeforeQueue => server.run(pipeline, shutdown).await,
            };
            if let Err(error) = served {
                tracing::error!(%error, "SMTP server stopped with an error");
            }
        });
        tracing::info!(?mode, spool = %spool.root().display(), "SMTP mode");

        let builtin_vault = builtin_vault.map(Arc::new);
        Ok(RunningGateway {
            smtp_address,
            builtin_vault,
            stop: Some(stop),
            smtp_task,
            queue: Some(queue),
            spool,
            reloader,
            admin,
            watcher,
            pruner,
            history,
            scan,
        })
    }
}

fn config_error(error: ConfigError) -> GatewayError {
    match error {
        ConfigError::Invalid { setting, reason } => GatewayError::Config { setting, reason },
        other => GatewayError::Config { setting: "configuration".to_string(), reason: other.to_string() },
    }
}

/// Builds the scan of attachments in the mail flow, when it is enabled.
fn scan_stage(config: &Config) -> Result<Option<ScanStage>, GatewayError> {
    if !config.scan.enabled {
        tracing::warn!("attachments are not scanned: scan.enabled is false");
        return Ok(None);
    }
    let engine = config.scan.build_engine().map_err(|reason| GatewayError::Config { setting: "scan".to_string(), reason })?;
    tracing::info!(engine = %engine.name(), unavailable = ?config.scan.unavailable, "attachments are scanned");
    Ok(Some(ScanStage::new(engine, config.scan.unavailable)))
}

/// Builds the recipient look-ahead against the SMTP next hop, when it is
/// configured.
fn recipient_lookahead(config: &Config, delivery: &Delivery) -> Option<RecipientLookahead> {
    if config.smtp.recipient_lookahead != LookaheadMode::NextHop {
        return None;
    }
    let NextHop::Relays(relays) = delivery.next_hop() else { return None };
    tracing::info!(relays = relays.relays().len(), "recipients are checked at the next hop");
    Some(RecipientLookahead::new(relays.clone(), config.lookahead_cache_duration()))
}

/// Opens the spool on a blocking thread and logs what recovery found.
async fn open_spool(config: &Config) -> Result<(Spool, Vec<mailgate_queue::Entry>), GatewayError> {
    let directory = config.queue.directory.clone();
    let (spool, recovery) = tokio::task::spawn_blocking(move || Spool::open(&directory))
        .await
        .map_err(|error| GatewayError::Config { setting: "queue.directory".to_string(), reason: error.to_string() })??;

    let processed = recovery.entries.iter().filter(|entry| entry.stage == mailgate_queue::Stage::Processed).count();
    tracing::info!(
        directory = %spool.root().display(),
        queued = recovery.entries.len(),
        processed,
        removed_temporary = recovery.removed_temporary,
        removed_orphans = recovery.removed_orphans,
        moved_to_corrupt = recovery.moved_to_corrupt,
        "spool opened"
    );
    Ok((spool, recovery.entries))
}

/// Smallest memory slot of the pool, so reloaded rules can raise their limit
/// up to this without a restart.
const MIN_POOL_SLOT_BYTES: usize = 256 * 1024 * 1024;

fn rule_engine(config: &Config) -> Result<RuleEngine, GatewayError> {
    if !config.rule_set.pooling {
        return Ok(RuleEngine::new()?);
    }
    let largest_rule = config.rules.iter().map(|rule| rule.max_memory_mib.saturating_mul(1024 * 1024)).max().unwrap_or(0);
    let pool = PoolSize {
        max_instances: u32::try_from(config.smtp.max_connections.max(config.queue.workers).saturating_add(8)).unwrap_or(u32::MAX),
        max_memory_bytes: largest_rule.max(MIN_POOL_SLOT_BYTES),
    };
    tracing::info!(instances = pool.max_instances, slot_bytes = pool.max_memory_bytes, "rule engine uses the pooling allocator");
    Ok(RuleEngine::with_pool(pool)?)
}

/// Opens the history in the configured backend, creating the SQLite file's
/// directory when needed, or returns `None` when the history is disabled.
async fn open_history(config: &Config) -> Result<Option<AsyncHistoryStore>, GatewayError> {
    let history = &config.history;
    if !history.enabled {
        return Ok(None);
    }

    let store = match history.backend {
        HistoryBackend::Sqlite => {
            if let Some(directory) = history.path.parent().filter(|directory| !directory.as_os_str().is_empty()) {
                std::fs::create_dir_all(directory).map_err(|error| GatewayError::Config {
                    setting: "history.path".to_string(),
                    reason: format!("cannot create {}: {error}", directory.display()),
                })?;
            }
            let store = AsyncHistoryStore::open_sqlite(history.path.clone()).await?;
            tracing::info!(backend = "sqlite", path = %history.path.display(), "history opened");
            store
        }
        HistoryBackend::Postgres => {
            let url = history.postgres_url().map_err(|error| match error {
                ConfigError::Invalid { setting, reason } => GatewayError::Config { setting, reason },
                other => GatewayError::Config { setting: "history.url".to_string(), reason: other.to_string() },
            })?;
            let store = AsyncHistoryStore::open_postgres(url.clone()).await?;
            tracing::info!(backend = "postgres", database = %url, "history opened");
            store
        }
    };

    Ok(Some(store))
}

/// Deletes records older than `retention_days` now and then once an hour.
fn spawn_pruner(store: AsyncHistoryStore, retention_days: u32) -> Option<JoinHandle<()>> {
    if retention_days == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(3600));
        loop {
            interval.tick().await;
            let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(retention_days));
            match store.prune(cutoff).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, retention_days, "old history records deleted"),
                Err(error) => tracing::error!(%error, "cannot prune the history"),
            }
        }
    }))
}

fn smtp_tls(config: &Config) -> Result<Option<TlsConfig>, GatewayError> {
    let smtp = &config.smtp;
    match (&smtp.tls_certificate, &smtp.tls_private_key) {
        (Some(certificate), Some(key)) => Ok(Some(TlsConfig::from_pem_files(certificate, key)?)),
        _ if smtp.tls_self_signed => {
            tracing::warn!(hostname = %smtp.hostname, "STARTTLS uses a self-signed certificate; clients will not trust it");
            Ok(Some(TlsConfig::self_signed(&smtp.hostname)?))
        }
        _ => Ok(None),
    }
}

/// Loads the first rule set on a blocking thread: compiling components takes
/// a while.
async fn load_rule_set(engine: &Arc<RuleEngine>, config: &Config) -> Result<RuleSet, GatewayError> {
    let engine = Arc::clone(engine);
    let config = config.clone();
    tokio::task::spawn_blocking(move || RuleSet::load(&engine, &config))
        .await
        .map_err(|error| GatewayError::Config { setting: "rules".to_string(), reason: error.to_string() })?
        .map_err(GatewayError::from)
}

async fn start_vault(config: &Config) -> Result<(Option<RunningVault>, VaultClient), GatewayError> {
    let timeout = Duration::from_secs(config.vault.request_timeout_secs);

    if let Some(url) = &config.vault.url {
        let api_key = config.vault_api_key().unwrap_or_default();
        let client = VaultClient::new(VaultClientConfig {
            base_url: url.clone(),
            api_key,
            request_timeout: timeout,
            ca_bundle: config.vault.ca_bundle.clone(),
        })?;
        tracing::info!(url = %url, "using external vault");
        return Ok((None, client));
    }

    let api_key = config.builtin_vault.api_key.clone().unwrap_or_else(generate_api_key);
    let server_config = VaultServerConfig {
        listen: config.builtin_vault.listen,
        data_dir: config.builtin_vault.data_dir.clone(),
        api_keys: vec![api_key.clone()],
        public_url: config.builtin_vault.public_url.clone(),
        ..VaultServerConfig::default()
    };
    let server_config = config
        .builtin_vault
        .apply_scan_settings(server_config)
        .map_err(|reason| GatewayError::Config { setting: "builtin_vault.block_list".to_string(), reason })?;

    let vault = VaultServer::start(server_config).await?;
    tracing::info!(url = %vault.rest_url(), data_dir = %config.builtin_vault.data_dir.display(), "built-in vault started");

    let client = VaultClient::new(VaultClientConfig { base_url: vault.rest_url(), api_key, request_timeout: timeout, ca_bundle: None })?;
    Ok((Some(vault), client))
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
    builtin_vault: Option<Arc<RunningVault>>,
    stop: Option<oneshot::Sender<()>>,
    smtp_task: JoinHandle<()>,
    queue: Option<QueueRunner>,
    spool: Arc<Spool>,
    reloader: Arc<Reloader>,
    admin: Option<AdminServer>,
    watcher: Option<JoinHandle<()>>,
    pruner: Option<JoinHandle<()>>,
    history: Option<AsyncHistoryStore>,
    scan: Option<Arc<ScanStage>>,
}

impl RunningGateway {
    /// Reads the block list file of the mail flow's built-in scan engine
    /// (`scan.block_list`) again, as SIGHUP does. Returns the number of
    /// digests, or `None` when the mail flow has no built-in engine.
    ///
    /// # Errors
    ///
    /// The file cannot be read or parsed; the previous list stays in use.
    pub fn reload_block_list(&self) -> Result<Option<usize>, mailgate_vault::mailgate_scan::BlocklistError> {
        match &self.scan {
            Some(stage) => stage.reload_block_list(),
            None => Ok(None),
        }
    }

    /// Loads the rules again, as SIGHUP and the admin endpoint do.
    pub fn reloader(&self) -> Arc<Reloader> {
        Arc::clone(&self.reloader)
    }

    /// Id of the rule set in use.
    pub fn rule_set_id(&self) -> RuleSetId {
        self.reloader.current_id()
    }

    /// Returns the history store, when the history is enabled.
    pub fn history(&self) -> Option<&AsyncHistoryStore> {
        self.history.as_ref()
    }

    /// Address of the admin endpoint, when it runs.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(AdminServer::address)
    }

    /// Number of messages in the spool, queued or being processed.
    pub fn queued_messages(&self) -> usize {
        self.spool.len()
    }

    /// Directory of the spool.
    pub fn spool_directory(&self) -> &std::path::Path {
        self.spool.root()
    }

    /// Address the SMTP server listens on.
    pub fn smtp_address(&self) -> SocketAddr {
        self.smtp_address
    }

    /// REST URL of the built-in vault, when it runs.
    pub fn builtin_vault_url(&self) -> Option<String> {
        self.builtin_vault.as_ref().map(|vault| vault.rest_url())
    }

    /// Returns the built-in vault, when it runs, so its files can be
    /// rescanned at once.
    pub fn builtin_vault(&self) -> Option<Arc<RunningVault>> {
        self.builtin_vault.clone()
    }

    /// Stops accepting connections and lets sessions in flight finish within
    /// `smtp.shutdown_timeout_secs`. Then lets the queue's running attempts
    /// finish within `queue.shutdown_timeout_secs`, leaving every other
    /// message in the spool for the next start, and stops the built-in
    /// vault.
    pub async fn shutdown(mut self) {
        if let Some(watcher) = self.watcher.take() {
            watcher.abort();
        }
        if let Some(pruner) = self.pruner.take() {
            pruner.abort();
        }
        if let Some(admin) = self.admin.take() {
            admin.stop();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(error) = (&mut self.smtp_task).await {
            tracing::error!(%error, "SMTP task ended abnormally");
        }
        if let Some(queue) = self.queue.take() {
            queue.stop().await;
        }
        if let Some(vault) = self.builtin_vault.take() {
            match Arc::try_unwrap(vault) {
                Ok(vault) => vault.shutdown().await,
                Err(_) => tracing::warn!("the built-in vault is still in use; it stops with the process"),
            }
        }
        tracing::info!("gateway stopped");
    }
}
