//! The gateway's TOML configuration.
//!
//! Every setting has a default, so an empty file (or no file) runs the whole
//! gateway on loopback: SMTP on 127.0.0.1:2525, the built-in vault on
//! 127.0.0.1:8010, the `secure-storage` rule, and delivery into the Maildir
//! `mailgate-data/maildir`. `examples/mailgate.toml` documents each setting.
//! Relative paths are taken from the working directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use mailgate_vault::mailgate_scan::Engine;
use mailgate_vault::{RescanHours, VaultServerConfig};
use serde::Deserialize;

mod delivery;
mod history;
mod notice;
mod queue;
mod relay;
mod rules;
mod sanitize;
mod scan;

pub use delivery::{BalanceConfig, OutboundTlsConfig};
pub use history::{HistoryBackend, HistoryConfig};
pub use notice::{NoticeConfig, NoticePositionConfig};
pub use queue::{QueueConfig, SmtpMode};
pub use relay::LookaheadMode;
pub use sanitize::{SanitizeConfig, SanitizeEngineConfig};
pub use scan::ScanConfig;
pub use rules::{DirectionConfig, FailurePolicyConfig, MatchConfig, RuleConfig};
use rules::default_rules;

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Inbound SMTP.
    pub smtp: SmtpConfig,
    /// Vault that receives uploaded attachments.
    pub vault: VaultConfig,
    /// The built-in vault, used when `vault.url` is not set.
    pub builtin_vault: BuiltinVaultConfig,
    /// The next hop.
    pub delivery: DeliveryConfig,
    /// The spool and the retries of queued messages.
    pub queue: QueueConfig,
    /// Scanning of attachments.
    pub scan: ScanConfig,
    /// Sanitization of the attachments that rules request.
    pub sanitize: SanitizeConfig,
    /// Loading and hot swap of rule sets.
    pub rule_set: RuleSetConfig,
    /// The administration endpoint.
    pub admin: AdminConfig,
    /// The email and processing history.
    pub history: HistoryConfig,
    /// The notice that rewritten messages carry.
    pub notice: NoticeConfig,
    /// The rules, run in this order on every message.
    #[serde(default = "default_rules")]
    pub rules: Vec<RuleConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            smtp: SmtpConfig::default(),
            vault: VaultConfig::default(),
            builtin_vault: BuiltinVaultConfig::default(),
            delivery: DeliveryConfig::default(),
            queue: QueueConfig::default(),
            scan: ScanConfig::default(),
            sanitize: SanitizeConfig::default(),
            rule_set: RuleSetConfig::default(),
            admin: AdminConfig::default(),
            history: HistoryConfig::default(),
            notice: NoticeConfig::default(),
            rules: default_rules(),
        }
    }
}

/// Inbound SMTP settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Address and port to listen on. Default `127.0.0.1:2525`.
    pub listen: SocketAddr,
    /// Host name in the greeting, the EHLO reply and the `Received` header.
    /// Default `localhost`.
    pub hostname: String,
    /// Largest message accepted, in bytes. Default 25 MiB.
    pub max_message_size: usize,
    /// Maximum number of recipients per message. Default 100.
    pub max_recipients: usize,
    /// Idle time allowed while waiting for a command or data, in seconds.
    /// Default 300.
    pub command_timeout_secs: u64,
    /// Maximum number of simultaneous connections. Default 100.
    pub max_connections: usize,
    /// Client networks of the organisation, in CIDR form. Messages from them
    /// are outbound, all others inbound. Default: none.
    pub trusted_networks: Vec<IpNet>,
    /// Maximum number of simultaneous connections from one client address.
    /// Default 20.
    pub max_connections_per_client: usize,
    /// Maximum size of a message's header block, in bytes. Default 1 MiB.
    pub max_header_size: usize,
    /// Maximum length of one line inside DATA, in bytes with its line end.
    /// Default 1 MiB; at least 1000.
    pub max_data_line_length: usize,
    /// PEM file with the certificate chain for STARTTLS.
    pub tls_certificate: Option<PathBuf>,
    /// PEM file with the private key for STARTTLS.
    pub tls_private_key: Option<PathBuf>,
    /// Offer STARTTLS with a self-signed certificate for `hostname`,
    /// generated at start. For development only. Default false.
    pub tls_self_signed: bool,
    /// Reject MAIL until the client has started TLS. Default false.
    pub require_tls: bool,
    /// Domains whose mail any client may send in: `example.org` for that
    /// domain, `.example.org` for its subdomains. Default: none.
    pub accepted_domains: Vec<String>,
    /// Client networks, in CIDR form, that may send to any domain, besides
    /// `trusted_networks`. Default loopback: `127.0.0.0/8` and `::1/128`.
    pub relay_networks: Vec<IpNet>,
    /// Recipient check at RCPT time: `off` (default) or `next-hop`, which
    /// probes the relays of `delivery` with `MAIL FROM:<>` and `RCPT TO`.
    pub recipient_lookahead: LookaheadMode,
    /// Time a next hop's reply about a recipient is cached, in seconds.
    /// Default 600.
    pub lookahead_cache_secs: u64,
    /// When the client gets 250: `after-queue` (the default) once the
    /// message is in the spool, `before-queue` once the next hop took it.
    pub mode: SmtpMode,
    /// Time that sessions get to finish when the gateway stops, in seconds;
    /// later ones are closed. Default 30.
    pub shutdown_timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 2525)),
            hostname: "localhost".to_string(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            command_timeout_secs: 300,
            max_connections: 100,
            trusted_networks: Vec::new(),
            max_connections_per_client: 20,
            max_header_size: 1024 * 1024,
            max_data_line_length: 1024 * 1024,
            tls_certificate: None,
            tls_private_key: None,
            tls_self_signed: false,
            require_tls: false,
            accepted_domains: Vec::new(),
            relay_networks: mailgate_smtp::loopback_networks(),
            recipient_lookahead: LookaheadMode::Off,
            lookahead_cache_secs: 600,
            mode: SmtpMode::default(),
            shutdown_timeout_secs: 30,
        }
    }
}

/// Vault settings shared by the built-in and an external vault.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaultConfig {
    /// REST base URL of an external vault, `http(s)://host:port/vault_rest`.
    /// When absent, the gateway starts the built-in vault.
    pub url: Option<String>,
    /// API key for the external vault. The environment variable
    /// `MAILGATE_VAULT_API_KEY` takes precedence.
    pub api_key: Option<String>,
    /// First level of every message folder. Default `Email Gateway`.
    pub root_folder: String,
    /// Limit for each vault request, in seconds. Default 30.
    pub request_timeout_secs: u64,
    /// PEM file with CA certificates to trust for the external vault's TLS
    /// certificate, besides the public roots built into the gateway.
    pub ca_bundle: Option<PathBuf>,
    /// Policy for a message whose upload fails. Default `retry-later`.
    pub upload_failure: UploadFailurePolicy,
}

/// Policy for a message when the upload of its attachments fails (vault
/// down, request rejected, timed out). The failure and its cause are
/// recorded for each attachment either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UploadFailurePolicy {
    /// The message is not delivered now. In after-queue mode it stays in
    /// the queue and is processed again later. In before-queue mode the
    /// client gets 451 and retries.
    #[default]
    RetryLater,
    /// The message is delivered with the attachments that were to leave it
    /// still attached, and without links. Blocked files and originals of
    /// sanitized files cannot go back into the message, so a message whose
    /// upload includes them is retried later all the same.
    KeepAttachment,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            url: None,
            api_key: None,
            root_folder: "Email Gateway".to_string(),
            request_timeout_secs: 30,
            ca_bundle: None,
            upload_failure: UploadFailurePolicy::default(),
        }
    }
}

/// Settings of the built-in vault.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuiltinVaultConfig {
    /// Address and port of its REST API. Default `127.0.0.1:8010`.
    pub listen: SocketAddr,
    /// Directory for stored files and their metadata.
    /// Default `mailgate-data/vault`.
    pub data_dir: PathBuf,
    /// Base of the links written into emails, e.g. `https://files.example.com`.
    /// Default `http://<listen>`.
    pub public_url: Option<String>,
    /// Bearer token the built-in vault accepts. When absent, the gateway
    /// generates one at start and uses it itself; `mailgate vault` requires
    /// one (or `MAILGATE_VAULT_API_KEY`).
    pub api_key: Option<String>,
    /// Scan stored files with `scan_engine` (by default the built-in engine:
    /// EICAR test file, block list, executables) at the end of each upload
    /// and again in rescans.
    /// A blocked file cannot be downloaded until a clean rescan. Default false:
    /// files are available at once and never scanned.
    pub scan: bool,
    /// SHA-256 block list file of the built-in engine, one digest per line,
    /// read again before each rescan pass. Only used with `scan`. Default none.
    pub block_list: Option<PathBuf>,
    /// Engine that scans and rescans stored files: `builtin` (the default),
    /// `clamd` or `metadefender`. Only used with `scan`.
    pub scan_engine: ScanEngineConfig,
    /// clamd address for the `clamd` engine: `host:port`, `unix:/path` or
    /// an absolute socket path.
    pub clamd_address: Option<String>,
    /// MetaDefender Core base URL for the `metadefender` engine, e.g.
    /// `http://core.example.com:8008`.
    pub metadefender_url: Option<String>,
    /// MetaDefender Core API key, sent in the `apikey` header.
    pub metadefender_api_key: Option<String>,
    /// Seconds a clean new file stays locked; it becomes downloadable with
    /// the first clean rescan after that. Only used with `scan`. Default 0,
    /// no lock.
    pub lock_interval_secs: u64,
    /// Age in seconds of a file's last scan at which it is scanned again;
    /// 0 turns periodic rescans off. Only used with `scan`. Default 86400.
    pub rescan_period_secs: u64,
    /// First hour (0-23, UTC) in which periodic rescans run. Default 0.
    pub rescan_from_hour: u8,
    /// Hour (1-24, UTC) at which periodic rescans stop. A value below
    /// `rescan_from_hour` makes the window run past midnight. Default 24,
    /// which with the default start allows all day.
    pub rescan_to_hour: u8,
    /// Require the API key for downloads too. Default false, because the
    /// links go into emails for recipients who have no key.
    pub download_requires_auth: bool,
}

impl Default for BuiltinVaultConfig {
    fn default() -> Self {
        BuiltinVaultConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8010)),
            data_dir: PathBuf::from("mailgate-data/vault"),
            public_url: None,
            api_key: None,
            scan: false,
            block_list: None,
            scan_engine: ScanEngineConfig::default(),
            clamd_address: None,
            metadefender_url: None,
            metadefender_api_key: None,
            lock_interval_secs: 0,
            rescan_period_secs: 24 * 60 * 60,
            rescan_from_hour: 0,
            rescan_to_hour: 24,
            download_requires_auth: false,
        }
    }
}

impl BuiltinVaultConfig {
    /// Sets the scanning and download settings of `server` from these
    /// settings. With `scan`, this loads the block list file.
    ///
    /// # Errors
    ///
    /// The block list cannot be read or has an invalid line; the message
    /// names the file and the line.
    pub fn apply_scan_settings(&self, server: VaultServerConfig) -> Result<VaultServerConfig, String> {
        let scanner = if self.scan { Some(Arc::new(self.scan_engine()?)) } else { None };

        let all_day = self.rescan_from_hour == 0 && self.rescan_to_hour == 24;
        let rescan_hours =
            (!all_day).then_some(RescanHours { from_hour: self.rescan_from_hour, to_hour: self.rescan_to_hour });

        Ok(VaultServerConfig {
            scanner,
            lock_interval: Duration::from_secs(self.lock_interval_secs),
            rescan_period: Duration::from_secs(self.rescan_period_secs),
            rescan_hours,
            download_requires_auth: self.download_requires_auth,
            ..server
        })
    }
}

impl BuiltinVaultConfig {
    /// Builds the configured scanning engine; the error names the setting.
    fn scan_engine(&self) -> Result<Engine, String> {
        scan::EngineSettings {
            section: "builtin_vault",
            kind: self.scan_engine,
            kind_setting: "scan_engine",
            block_list: self.block_list.as_deref(),
            clamd_address: self.clamd_address.as_deref(),
            metadefender_url: self.metadefender_url.as_deref(),
            metadefender_api_key: self.metadefender_api_key.as_deref(),
        }
        .build()
    }
}

/// Scanning engine of the built-in vault, as written in the configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanEngineConfig {
    /// EICAR, the SHA-256 block list and file-type checks, in process.
    #[default]
    Builtin,
    /// A ClamAV daemon, through INSTREAM.
    Clamd,
    /// MetaDefender Core over REST.
    Metadefender,
}

/// Next-hop settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// SMTP relay as `host:port`. When absent, messages go to `maildir`.
    pub relay: Option<String>,
    /// Maildir used when no relay is set. Default `mailgate-data/maildir`.
    pub maildir: PathBuf,
    /// Limit for connecting to the relay and for each command, in seconds.
    /// Default 60.
    pub timeout_secs: u64,
    /// Several relays as `host:port`, instead of `relay`. Default none.
    pub relays: Vec<String>,
    /// Order in which messages go to `relays`: `failover` (default) or
    /// `round-robin`.
    pub balance: BalanceConfig,
    /// STARTTLS to the relays: `opportunistic` (default), `required` or
    /// `off`.
    pub tls: OutboundTlsConfig,
    /// PEM file with CA certificates trusted for the relays' certificates
    /// besides the Mozilla root certificates, for `tls = "required"`.
    pub tls_ca_bundle: Option<PathBuf>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            relay: None,
            maildir: PathBuf::from("mailgate-data/maildir"),
            timeout_secs: 60,
            relays: Vec::new(),
            balance: BalanceConfig::default(),
            tls: OutboundTlsConfig::default(),
            tls_ca_bundle: None,
        }
    }
}

/// Settings of rule loading and hot swap.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleSetConfig {
    /// Directory for compiled components, so a restart does not compile the
    /// rules again. Default `mailgate-data/cache`.
    pub cache_dir: PathBuf,
    /// Reload the rules when the configuration file or a rule's component
    /// file changes. Default true.
    pub watch: bool,
    /// Add an `X-Mailgate-Rule-Set` header with the id of the rule set that
    /// processed the message. Default false.
    pub add_header: bool,
    /// Use wasmtime's pooling allocator: instances come from slots reserved
    /// at start, which makes each invocation several times cheaper. The pool
    /// has 8 slots more than the larger of `smtp.max_connections` (sessions
    /// run rules in before-queue mode) and `queue.workers`. Each slot has
    /// room for the larger of 256 MiB and the largest `max_memory_mib` of the
    /// rules; a rule reloaded later with a larger limit needs a restart.
    /// Default true.
    pub pooling: bool,
}

impl Default for RuleSetConfig {
    fn default() -> Self {
        RuleSetConfig { cache_dir: PathBuf::from("mailgate-data/cache"), watch: true, add_header: false, pooling: true }
    }
}

/// The administration endpoint (HTTP, bearer token).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address and port. Default `127.0.0.1:8025`.
    pub listen: SocketAddr,
    /// Bearer token every request must carry. The environment variable
    /// `MAILGATE_ADMIN_TOKEN` takes precedence. Without a token the endpoint
    /// does not start.
    pub token: Option<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig { listen: SocketAddr::from(([127, 0, 0, 1], 8025)), token: None }
    }
}

/// Errors of loading or validating a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The file is not valid TOML for this configuration.
    #[error("invalid configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error, with line and column.
        message: String,
    },

    /// A value is out of range or settings contradict each other.
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        /// Dotted name of the setting, e.g. `rules[1].path`.
        setting: String,
        /// The problem and the expected value.
        reason: String,
    },
}

impl Config {
    /// Reads and validates the configuration in `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let config: Config =
            toml::from_str(&text).map_err(|error| ConfigError::Parse { path: path.to_path_buf(), message: error.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    /// Parses and validates configuration text.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|error| ConfigError::Parse { path: PathBuf::from("<text>"), message: error.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that TOML types alone do not constrain.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting: &str, reason: &str| ConfigError::Invalid { setting: setting.to_string(), reason: reason.to_string() };

        if self.smtp.max_message_size == 0 {
            return Err(invalid("smtp.max_message_size", "must be at least 1 byte"));
        }
        if self.smtp.command_timeout_secs == 0 {
            return Err(invalid("smtp.command_timeout_secs", "must be at least 1 second"));
        }
        match (&self.smtp.tls_certificate, &self.smtp.tls_private_key) {
            (Some(_), None) => return Err(invalid("smtp.tls_private_key", "is needed with smtp.tls_certificate")),
            (None, Some(_)) => return Err(invalid("smtp.tls_certificate", "is needed with smtp.tls_private_key")),
            (Some(_), Some(_)) if self.smtp.tls_self_signed => {
                return Err(invalid("smtp.tls_self_signed", "set either a certificate or tls_self_signed, not both"));
            }
            _ => {}
        }
        let has_tls = self.smtp.tls_certificate.is_some() || self.smtp.tls_self_signed;
        if self.smtp.require_tls && !has_tls {
            return Err(invalid("smtp.require_tls", "needs smtp.tls_certificate and smtp.tls_private_key, or tls_self_signed"));
        }
        self.validate_relay()?;
        if self.vault.request_timeout_secs == 0 {
            return Err(invalid("vault.request_timeout_secs", "must be at least 1 second"));
        }
        if self.delivery.timeout_secs == 0 {
            return Err(invalid("delivery.timeout_secs", "must be at least 1 second"));
        }
        self.validate_delivery()?;
        if self.vault.url.is_some() && self.vault_api_key().is_none() {
            return Err(invalid(
                "vault.api_key",
                "an external vault needs an API key: set vault.api_key or MAILGATE_VAULT_API_KEY",
            ));
        }
        self.queue.validate().map_err(|(setting, reason)| invalid(setting, reason))?;
        self.sanitize.validate(&self.scan).map_err(|(setting, reason)| invalid(setting, &reason))?;
        self.history.validate()?;
        self.notice.validate().map_err(|(setting, reason)| invalid(setting, reason))?;
        if self.rules.is_empty() {
            return Err(invalid("rules", "at least one rule is needed; use the shipped `secure-storage` rule"));
        }

        for (index, rule) in self.rules.iter().enumerate() {
            let setting = format!("rules[{index}]");
            match (&rule.shipped, &rule.path) {
                (Some(_), Some(_)) => return Err(invalid(&setting, "set either `shipped` or `path`, not both")),
                (None, None) => return Err(invalid(&setting, "set `shipped` (a shipped rule name) or `path` (a .wasm file)")),
                _ => {}
            }
            if rule.name.trim().is_empty() {
                return Err(invalid(&format!("{setting}.name"), "must not be empty"));
            }
            if rule.timeout_ms == 0 {
                return Err(invalid(&format!("{setting}.timeout_ms"), "must be at least 1 millisecond"));
            }
            if rule.max_memory_mib == 0 {
                return Err(invalid(&format!("{setting}.max_memory_mib"), "must be at least 1 MiB"));
            }
            if let Some(digest) = &rule.sha256 {
                let is_hex = digest.trim().len() == 64 && digest.trim().chars().all(|c| c.is_ascii_hexdigit());
                if !is_hex {
                    return Err(invalid(&format!("{setting}.sha256"), "must be 64 hex digits"));
                }
            }
            let duplicate = self.rules[..index].iter().any(|earlier| earlier.name == rule.name);
            if duplicate {
                return Err(invalid(&format!("{setting}.name"), &format!("`{}` names two rules; names must be unique", rule.name)));
            }
        }
        Ok(())
    }

    /// API key for the external vault: `MAILGATE_VAULT_API_KEY`, else
    /// `vault.api_key`.
    pub fn vault_api_key(&self) -> Option<String> {
        std::env::var("MAILGATE_VAULT_API_KEY")
            .ok()
            .filter(|key| !key.is_empty())
            .or_else(|| self.vault.api_key.clone())
    }

    /// Admin token: `MAILGATE_ADMIN_TOKEN`, else `admin.token`.
    pub fn admin_token(&self) -> Option<String> {
        std::env::var("MAILGATE_ADMIN_TOKEN")
            .ok()
            .filter(|token| !token.is_empty())
            .or_else(|| self.admin.token.clone().filter(|token| !token.is_empty()))
    }

    /// Idle timeout for SMTP commands.
    pub fn command_timeout(&self) -> Duration {
        Duration::from_secs(self.smtp.command_timeout_secs)
    }
}

/// Splits `host:port`; `[v6]:port` is accepted for IPv6 literals.
pub(crate) fn parse_host_port(value: &str) -> Result<(String, u16), String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("`{value}` is not of the form host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("`{value}` has no host"));
    }
    let port: u16 = port.parse().map_err(|_| format!("`{value}` has an invalid port"))?;
    if port == 0 {
        return Err(format!("`{value}` has port 0"));
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_empty_text_gives_defaults() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.smtp.listen.to_string(), "127.0.0.1:2525");
        assert_eq!(config.builtin_vault.listen.to_string(), "127.0.0.1:8010");
        assert_eq!(config.rules.len(), 1);
        assert_eq!(config.rules[0].shipped.as_deref(), Some("secure-storage"));
        assert!(config.delivery.relay.is_none());
    }

    #[test]
    fn config_default_matches_empty_text() {
        let from_text = Config::from_toml("").unwrap();
        let default = Config::default();
        assert_eq!(format!("{default:?}"), format!("{from_text:?}"));
        default.validate().unwrap();
    }

    #[test]
    fn config_unknown_key_rejected() {
        let error = Config::from_toml("[smtp]\nlisten_address = \"127.0.0.1:25\"\n").unwrap_err();
        assert!(error.to_string().contains("listen_address"), "{error}");
    }

    #[test]
    fn config_rule_needs_one_source() {
        let error = Config::from_toml("[[rules]]\nname = \"x\"\n").unwrap_err();
        assert!(error.to_string().contains("rules[0]"), "{error}");

        let error = Config::from_toml("[[rules]]\nname = \"x\"\nshipped = \"a\"\npath = \"b.wasm\"\n").unwrap_err();
        assert!(error.to_string().contains("not both"), "{error}");
    }

    #[test]
    fn config_rule_with_settings_and_match() {
        let config = Config::from_toml(
            r#"
[smtp]
trusted_networks = ["10.0.0.0/8"]

[[rules]]
name = "big"
shipped = "large-attachments"
priority = -5
on_failure = "skip"
settings = { max_size = 1048576, note = "x" }
match = { direction = "inbound", recipients = ["example.org"], client_networks = ["192.0.2.0/24"] }
"#,
        )
        .unwrap();

        let rule = &config.rules[0];
        assert_eq!(rule.priority, -5);
        assert_eq!(rule.on_failure, FailurePolicyConfig::Skip);
        assert_eq!(rule.conditions.direction, DirectionConfig::Inbound);
        assert_eq!(rule.conditions.recipients, vec!["example.org".to_string()]);
        let mut settings = rule.settings_as_text();
        settings.sort();
        assert_eq!(settings, vec![("max_size".to_string(), "1048576".to_string()), ("note".to_string(), "x".to_string())]);
    }

    #[test]
    fn config_vault_scan_engines() {
        let clamd = Config::from_toml("[builtin_vault]\nscan = true\nscan_engine = \"clamd\"\nclamd_address = \"127.0.0.1:3310\"\n").unwrap();
        let server = clamd.builtin_vault.apply_scan_settings(VaultServerConfig::default()).unwrap();
        assert!(matches!(server.scanner.as_deref(), Some(Engine::Clamd(_))));

        let core = Config::from_toml(
            "[builtin_vault]\nscan = true\nscan_engine = \"metadefender\"\nmetadefender_url = \"http://127.0.0.1:8008\"\n",
        )
        .unwrap();
        let server = core.builtin_vault.apply_scan_settings(VaultServerConfig::default()).unwrap();
        assert!(matches!(server.scanner.as_deref(), Some(Engine::MetaDefender(_))));

        let missing = Config::from_toml("[builtin_vault]\nscan = true\nscan_engine = \"clamd\"\n").unwrap();
        let error = missing.builtin_vault.apply_scan_settings(VaultServerConfig::default()).unwrap_err();
        assert!(error.contains("clamd_address"), "{error}");
    }

    #[test]
    fn config_duplicate_rule_names_rejected() {
        let error = Config::from_toml("[[rules]]\nname = \"a\"\nshipped = \"secure-storage\"\n[[rules]]\nname = \"a\"\nshipped = \"no-attachment\"\n").unwrap_err();
        assert!(error.to_string().contains("names two rules"), "{error}");
    }

    #[test]
    fn config_bad_network_rejected() {
        let error = Config::from_toml("[smtp]\ntrusted_networks = [\"10.0.0.0/33\"]\n").unwrap_err();
        assert!(error.to_string().contains("trusted_networks"), "{error}");
    }

    #[test]
    fn config_bad_relay_rejected() {
        let error = Config::from_toml("[delivery]\nrelay = \"mail.example.com\"\n").unwrap_err();
        assert!(error.to_string().contains("delivery.relay"), "{error}");
    }

    #[test]
    fn config_example_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mailgate.toml");
        Config::load(&path).unwrap();
    }

    #[test]
    fn builtin_vault_scan_settings() {
        let dir = tempfile::tempdir().unwrap();
        let block_list = dir.path().join("blocklist.txt");
        std::fs::write(&block_list, format!("{}\n", "ab".repeat(32))).unwrap();
        let text = format!(
            "[builtin_vault]\nscan = true\nblock_list = {:?}\nlock_interval_secs = 30\n\
             rescan_period_secs = 600\nrescan_from_hour = 22\nrescan_to_hour = 6\n\
             download_requires_auth = true\n",
            block_list.to_str().unwrap()
        );
        let config: Config = toml::from_str(&text).unwrap();

        let server = config.builtin_vault.apply_scan_settings(VaultServerConfig::default()).unwrap();

        assert!(server.scanner.is_some());
        assert_eq!(server.lock_interval, Duration::from_secs(30));
        assert_eq!(server.rescan_period, Duration::from_secs(600));
        assert_eq!(server.rescan_hours, Some(RescanHours { from_hour: 22, to_hour: 6 }));
        assert!(server.download_requires_auth);
    }

    #[test]
    fn builtin_vault_scan_defaults() {
        let server = BuiltinVaultConfig::default().apply_scan_settings(VaultServerConfig::default()).unwrap();

        assert!(server.scanner.is_none());
        assert_eq!(server.lock_interval, Duration::ZERO);
        assert_eq!(server.rescan_period, Duration::from_secs(86400));
        assert_eq!(server.rescan_hours, None);
        assert!(!server.download_requires_auth);
    }

    #[test]
    fn builtin_vault_missing_block_list_rejected() {
        let settings = BuiltinVaultConfig {
            scan: true,
            block_list: Some(PathBuf::from("/nonexistent/mailgate-blocklist.txt")),
            ..BuiltinVaultConfig::default()
        };

        let error = settings.apply_scan_settings(VaultServerConfig::default()).unwrap_err();

        assert!(error.contains("mailgate-blocklist.txt"), "{error}");
    }

    #[test]
    fn host_port_table() {
        assert_eq!(parse_host_port("mx.example.com:25").unwrap(), ("mx.example.com".to_string(), 25));
        assert_eq!(parse_host_port("[::1]:2526").unwrap(), ("::1".to_string(), 2526));
        assert!(parse_host_port("mx.example.com").is_err());
        assert!(parse_host_port(":25").is_err());
        assert!(parse_host_port("mx:0").is_err());
        assert!(parse_host_port("mx:99999").is_err());
    }
}
