//! Scanning of attachments in the mail flow (`[scan]`), and the engine
//! builder that this section and the built-in vault's rescans share.

use std::path::{Path, PathBuf};

use mailgate_vault::mailgate_scan::{
    BuiltinScanner, ClamdAddress, ClamdConfig, ClamdScanner, Engine, MetaDefenderConfig, MetaDefenderScanner,
    UnavailablePolicy,
};
use serde::Deserialize;

use super::ScanEngineConfig;

/// Settings of the scan of every message's attachments.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// Scan the attachments of every message before the rules run. A blocked
    /// attachment is removed, never uploaded, and named in the notice.
    /// Default true, with the built-in engine.
    pub enabled: bool,
    /// Engine: `builtin` (the default: EICAR test file, SHA-256 block list,
    /// executables and mismatched types), `clamd` or `metadefender`.
    pub engine: ScanEngineConfig,
    /// SHA-256 block list file of the built-in engine, one digest per line.
    pub block_list: Option<PathBuf>,
    /// clamd address for the `clamd` engine: `host:port`, `unix:/path` or an
    /// absolute socket path.
    pub clamd_address: Option<String>,
    /// MetaDefender Core base URL for the `metadefender` engine.
    pub metadefender_url: Option<String>,
    /// MetaDefender Core API key, sent in the `apikey` header.
    pub metadefender_api_key: Option<String>,
    /// Policy for an engine that cannot scan (down, timed out, invalid
    /// reply). `retry-later` (the default) keeps the message and tries it
    /// again later. `fail` rejects or bounces it. `pass-with-mark` delivers
    /// it, and the history marks the part as not scanned.
    pub unavailable: UnavailablePolicy,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            enabled: true,
            engine: ScanEngineConfig::Builtin,
            block_list: None,
            clamd_address: None,
            metadefender_url: None,
            metadefender_api_key: None,
            unavailable: UnavailablePolicy::RetryLater,
        }
    }
}

impl ScanConfig {
    /// Builds the configured engine.
    ///
    /// # Errors
    ///
    /// A message that names the missing or invalid setting.
    pub fn build_engine(&self) -> Result<Engine, String> {
        EngineSettings {
            section: "scan",
            kind: self.engine,
            kind_setting: "engine",
            block_list: self.block_list.as_deref(),
            clamd_address: self.clamd_address.as_deref(),
            metadefender_url: self.metadefender_url.as_deref(),
            metadefender_api_key: self.metadefender_api_key.as_deref(),
        }
        .build()
    }
}

/// The settings that choose and configure a scanning engine, with the name
/// of their section for error messages.
pub(super) struct EngineSettings<'a> {
    pub(super) section: &'a str,
    pub(super) kind: ScanEngineConfig,
    pub(super) kind_setting: &'a str,
    pub(super) block_list: Option<&'a Path>,
    pub(super) clamd_address: Option<&'a str>,
    pub(super) metadefender_url: Option<&'a str>,
    pub(super) metadefender_api_key: Option<&'a str>,
}

impl EngineSettings<'_> {
    /// Builds the engine; the error names the setting.
    pub(super) fn build(&self) -> Result<Engine, String> {
        let section = self.section;
        match self.kind {
            ScanEngineConfig::Builtin => {
                let engine = match self.block_list {
                    Some(path) => BuiltinScanner::from_blocklist_file(path).map_err(|err| err.to_string())?,
                    None => BuiltinScanner::new(),
                };
                Ok(Engine::Builtin(engine))
            }
            ScanEngineConfig::Clamd => {
                let address = self
                    .clamd_address
                    .ok_or_else(|| format!("{section}.clamd_address is needed with {} = \"clamd\"", self.kind_setting))?;
                let address: ClamdAddress =
                    address.parse().map_err(|reason| format!("invalid {section}.clamd_address `{address}`: {reason}"))?;
                Ok(Engine::Clamd(ClamdScanner::new(ClamdConfig::new(address))))
            }
            ScanEngineConfig::Metadefender => {
                let url = self
                    .metadefender_url
                    .ok_or_else(|| format!("{section}.metadefender_url is needed with {} = \"metadefender\"", self.kind_setting))?;
                let mut config = MetaDefenderConfig::new(url);
                config.api_key = self.metadefender_api_key.map(str::to_string);
                let scanner =
                    MetaDefenderScanner::new(config).map_err(|error| format!("invalid {section}.metadefender_url `{url}`: {error}"))?;
                Ok(Engine::MetaDefender(scanner))
            }
        }
    }
}
