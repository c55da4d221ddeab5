//! Sanitization of the attachments that rules request (`[sanitize]`).

use mailgate_sanitize::Limits;
use mailgate_vault::mailgate_scan::{MetaDefenderConfig, MetaDefenderScanner};
use serde::Deserialize;

use super::ScanConfig;
use crate::sanitizing::{SanitizeFailurePolicy, SanitizeStage};

/// Settings of the sanitization of attachments.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SanitizeConfig {
    /// Engine: `builtin` (the default: macros and ActiveX controls in Office
    /// Open XML files, scripts and other active content in HTML) or
    /// `metadefender` (MetaDefender Core's sanitized copy, at the
    /// `metadefender_url` and with the `metadefender_api_key` of `[scan]`).
    pub engine: SanitizeEngineConfig,
    /// Handling of an attachment that cannot be sanitized: `keep-original`
    /// (the default) delivers it unchanged, `remove` removes it and names it
    /// in the notice.
    pub failure: SanitizeFailurePolicy,
    /// Maximum number of entries in a ZIP archive for the `builtin` engine.
    /// Default 10,000.
    pub max_archive_entries: usize,
    /// Maximum uncompressed size of a ZIP archive's entries for the
    /// `builtin` engine, in bytes. Default 268,435,456 (256 MiB).
    pub max_archive_uncompressed_bytes: u64,
    /// Maximum size of an HTML attachment for the `builtin` engine, in
    /// bytes. Default 33,554,432 (32 MiB).
    pub max_html_bytes: usize,
}

impl Default for SanitizeConfig {
    fn default() -> Self {
        let limits = Limits::default();
        SanitizeConfig {
            engine: SanitizeEngineConfig::Builtin,
            failure: SanitizeFailurePolicy::KeepOriginal,
            max_archive_entries: limits.max_entries,
            max_archive_uncompressed_bytes: limits.max_total_uncompressed,
            max_html_bytes: limits.max_html_size,
        }
    }
}

/// Sanitization engine, as written in the configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SanitizeEngineConfig {
    /// `mailgate-sanitize`, in process.
    #[default]
    Builtin,
    /// MetaDefender Core over REST.
    Metadefender,
}

impl SanitizeConfig {
    /// Returns the limits of the built-in sanitizer.
    pub fn limits(&self) -> Limits {
        Limits {
            max_entries: self.max_archive_entries,
            max_total_uncompressed: self.max_archive_uncompressed_bytes,
            max_html_size: self.max_html_bytes,
        }
    }

    /// Checks the values that TOML types alone do not constrain, with the
    /// `[scan]` settings that the `metadefender` engine reuses.
    ///
    /// # Errors
    ///
    /// The dotted name of the invalid setting and the reason.
    pub(super) fn validate(&self, scan: &ScanConfig) -> Result<(), (&'static str, String)> {
        if self.max_archive_entries == 0 {
            return Err(("sanitize.max_archive_entries", "must be at least 1".to_string()));
        }
        if self.max_archive_uncompressed_bytes == 0 {
            return Err(("sanitize.max_archive_uncompressed_bytes", "must be at least 1 byte".to_string()));
        }
        if self.max_html_bytes == 0 {
            return Err(("sanitize.max_html_bytes", "must be at least 1 byte".to_string()));
        }
        if self.engine == SanitizeEngineConfig::Metadefender && scan.metadefender_url.is_none() {
            return Err((
                "sanitize.engine",
                "\"metadefender\" needs scan.metadefender_url (and scan.metadefender_api_key when Core has API keys)".to_string(),
            ));
        }
        Ok(())
    }

    /// Builds the sanitize stage. The `metadefender` engine takes Core's URL
    /// and API key from `scan`.
    ///
    /// # Errors
    ///
    /// A message that names the missing or invalid setting.
    pub fn build_stage(&self, scan: &ScanConfig) -> Result<SanitizeStage, String> {
        match self.engine {
            SanitizeEngineConfig::Builtin => Ok(SanitizeStage::builtin(self.limits(), self.failure)),
            SanitizeEngineConfig::Metadefender => {
                let url = scan
                    .metadefender_url
                    .as_deref()
                    .ok_or("scan.metadefender_url is needed with sanitize.engine = \"metadefender\"")?;
                let mut config = MetaDefenderConfig::new(url);
                config.api_key = scan.metadefender_api_key.clone();
                let scanner = MetaDefenderScanner::new(config)
                    .map_err(|error| format!("invalid scan.metadefender_url `{url}`: {error}"))?;
                Ok(SanitizeStage::metadefender(scanner, self.failure))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    use super::*;

    #[test]
    fn defaults_match_sanitizer_limits() {
        let config = Config::from_toml("").unwrap();

        assert_eq!(config.sanitize.engine, SanitizeEngineConfig::Builtin);
        assert_eq!(config.sanitize.failure, SanitizeFailurePolicy::KeepOriginal);
        assert_eq!(config.sanitize.limits(), Limits::default());
    }

    #[test]
    fn all_keys_read() {
        let config = Config::from_toml(
            "[scan]\nmetadefender_url = \"http://127.0.0.1:8008\"\n\
             [sanitize]\nengine = \"metadefender\"\nfailure = \"remove\"\n\
             max_archive_entries = 50\nmax_archive_uncompressed_bytes = 1048576\nmax_html_bytes = 4096\n",
        )
        .unwrap();

        let sanitize = &config.sanitize;
        assert_eq!(sanitize.engine, SanitizeEngineConfig::Metadefender);
        assert_eq!(sanitize.failure, SanitizeFailurePolicy::Remove);
        assert_eq!(sanitize.limits(), Limits { max_entries: 50, max_total_uncompressed: 1_048_576, max_html_size: 4096 });
    }

    #[test]
    fn bad_engine_names_value() {
        let error = Config::from_toml("[sanitize]\nengine = \"clamd\"\n").unwrap_err();

        let message = error.to_string();
        assert!(matches!(error, ConfigError::Parse { .. }), "{error:?}");
        assert!(message.contains("clamd"), "{message}");
        assert!(message.contains("builtin"), "{message}");
        assert!(message.contains("metadefender"), "{message}");
    }

    #[test]
    fn bad_failure_names_value() {
        let error = Config::from_toml("[sanitize]\nfailure = \"block\"\n").unwrap_err();

        let message = error.to_string();
        assert!(message.contains("block"), "{message}");
        assert!(message.contains("keep-original"), "{message}");
        assert!(message.contains("remove"), "{message}");
    }

    #[test]
    fn unknown_key_rejected() {
        let error = Config::from_toml("[sanitize]\nenabled = true\n").unwrap_err();

        assert!(error.to_string().contains("enabled"), "{error}");
    }

    #[test]
    fn metadefender_needs_scan_url() {
        let error = Config::from_toml("[sanitize]\nengine = \"metadefender\"\n").unwrap_err();

        let message = error.to_string();
        assert!(message.contains("sanitize.engine"), "{message}");
        assert!(message.contains("scan.metadefender_url"), "{message}");
    }

    #[test]
    fn zero_limits_rejected() {
        let cases = [
            ("max_archive_entries = 0", "sanitize.max_archive_entries"),
            ("max_archive_uncompressed_bytes = 0", "sanitize.max_archive_uncompressed_bytes"),
            ("max_html_bytes = 0", "sanitize.max_html_bytes"),
        ];

        for (line, setting) in cases {
            let error = Config::from_toml(&format!("[sanitize]\n{line}\n")).unwrap_err();
            assert!(error.to_string().contains(setting), "{line}: {error}");
        }
    }

    #[test]
    fn build_stage_per_engine() {
        let builtin = Config::from_toml("").unwrap();
        let core = Config::from_toml(
            "[scan]\nmetadefender_url = \"http://127.0.0.1:8008\"\nmetadefender_api_key = \"key\"\n\
             [sanitize]\nengine = \"metadefender\"\n",
        )
        .unwrap();

        let builtin_stage = builtin.sanitize.build_stage(&builtin.scan).unwrap();
        let core_stage = core.sanitize.build_stage(&core.scan).unwrap();

        assert_eq!(builtin_stage.engine_name(), "builtin");
        assert_eq!(core_stage.engine_name(), "metadefender");
    }

    #[test]
    fn build_stage_invalid_url_named() {
        let config =
            Config::from_toml("[scan]\nmetadefender_url = \"127.0.0.1:8008\"\n[sanitize]\nengine = \"metadefender\"\n").unwrap();

        let error = config.sanitize.build_stage(&config.scan).err().unwrap();

        assert!(error.contains("scan.metadefender_url"), "{error}");
        assert!(error.contains("127.0.0.1:8008"), "{error}");
    }
}
