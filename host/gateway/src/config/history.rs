//! Settings of the email and processing history: whether it is kept, in
//! which database, and for how long.

use std::fmt;
use std::path::PathBuf;

use mailgate_history::PostgresUrl;
use serde::Deserialize;

use super::ConfigError;

/// Environment variable whose PostgreSQL URL takes precedence over
/// `history.url`, so that the password can stay out of the file.
const HISTORY_URL_VARIABLE: &str = "MAILGATE_HISTORY_URL";

/// The database kind behind the history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryBackend {
    /// An SQLite file at `history.path`, for one gateway.
    #[default]
    Sqlite,
    /// A PostgreSQL database at `history.url`, which several gateways can
    /// share. `postgresql` is accepted as well.
    #[serde(alias = "postgresql")]
    Postgres,
}

/// Settings of the email and processing history.
///
/// `Debug` shows `url` without its password.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Record every message. Default true.
    pub enabled: bool,
    /// The database kind. Default `sqlite`.
    pub backend: HistoryBackend,
    /// SQLite database file, used with `backend = "sqlite"`. Default
    /// `mailgate-data/history.sqlite`.
    pub path: PathBuf,
    /// PostgreSQL URL, used with `backend = "postgres"`, for example
    /// `postgres://mailgate:secret@127.0.0.1:5432/mailgate`. The
    /// environment variable `MAILGATE_HISTORY_URL` takes precedence. The
    /// connection uses no TLS. Default: none.
    pub url: Option<String>,
    /// Days a record is kept; older records are deleted once an hour. 0
    /// keeps records forever. Default 90.
    pub retention_days: u32,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            enabled: true,
            backend: HistoryBackend::Sqlite,
            path: PathBuf::from("mailgate-data/history.sqlite"),
            url: None,
            retention_days: 90,
        }
    }
}

impl HistoryConfig {
    /// Returns the PostgreSQL URL when the backend is `postgres`, and `None`
    /// for SQLite, whose file is `path`.
    ///
    /// # Errors
    ///
    /// As [`HistoryConfig::postgres_url`].
    pub fn postgres_database(&self) -> Result<Option<PostgresUrl>, ConfigError> {
        match self.backend {
            HistoryBackend::Sqlite => Ok(None),
            HistoryBackend::Postgres => self.postgres_url().map(Some),
        }
    }

    /// Returns the PostgreSQL URL: `MAILGATE_HISTORY_URL` when set and not
    /// empty, else `history.url`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`], naming the variable or the setting, when
    /// neither is set or the URL is invalid.
    pub fn postgres_url(&self) -> Result<PostgresUrl, ConfigError> {
        let from_environment = std::env::var(HISTORY_URL_VARIABLE).ok().filter(|url| !url.trim().is_empty());
        let (setting, url) = match (from_environment, &self.url) {
            (Some(url), _) => (HISTORY_URL_VARIABLE, url),
            (None, Some(url)) => ("history.url", url.clone()),
            (None, None) => {
                return Err(invalid(
                    "history.url",
                    "history.backend = \"postgres\" needs a URL such as \
                     postgres://user:password@127.0.0.1:5432/mailgate: set history.url or MAILGATE_HISTORY_URL",
                ));
            }
        };

        PostgresUrl::parse(&url).map_err(|error| invalid(setting, &error.to_string()))
    }

    /// Checks the settings of the chosen backend. A disabled history is not
    /// checked.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }

        match self.backend {
            HistoryBackend::Sqlite if self.url.is_some() => Err(invalid(
                "history.url",
                "is used only with history.backend = \"postgres\"; set the backend or remove the URL",
            )),
            HistoryBackend::Sqlite if self.path.as_os_str().is_empty() => {
                Err(invalid("history.path", "must name the SQLite database file"))
            }
            HistoryBackend::Sqlite => Ok(()),
            HistoryBackend::Postgres => self.postgres_url().map(drop),
        }
    }
}

impl fmt::Debug for HistoryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.url.as_deref().map(|url| match PostgresUrl::parse(url) {
            Ok(url) => url.to_string(),
            Err(_) => "(invalid URL)".to_string(),
        });

        f.debug_struct("HistoryConfig")
            .field("enabled", &self.enabled)
            .field("backend", &self.backend)
            .field("path", &self.path)
            .field("url", &url)
            .field("retention_days", &self.retention_days)
            .finish()
    }
}

fn invalid(setting: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid { setting: setting.to_string(), reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    use super::HistoryBackend;

    fn invalid_setting(text: &str) -> (String, String) {
        match Config::from_toml(text) {
            Err(ConfigError::Invalid { setting, reason }) => (setting, reason),
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[test]
    fn history_defaults_to_sqlite() {
        let config = Config::from_toml("").unwrap();

        assert_eq!(config.history.backend, HistoryBackend::Sqlite);
        assert_eq!(config.history.path.to_str(), Some("mailgate-data/history.sqlite"));
        assert_eq!(config.history.url, None);
    }

    #[test]
    fn history_postgres_url_is_parsed() {
        let config =
            Config::from_toml("[history]\nbackend = \"postgres\"\nurl = \"postgres://mailgate:pw-123@127.0.0.1:5432/mailgate\"\n")
                .unwrap();

        assert_eq!(config.history.backend, HistoryBackend::Postgres);
        assert_eq!(config.history.postgres_url().unwrap().to_string(), "postgres://mailgate@127.0.0.1:5432/mailgate");
        assert!(!format!("{config:?}").contains("pw-123"), "Debug shows no password");
    }

    #[test]
    fn history_postgresql_alias_is_accepted() {
        let config =
            Config::from_toml("[history]\nbackend = \"postgresql\"\nurl = \"postgresql://mailgate@db.internal/mailgate\"\n").unwrap();

        assert_eq!(config.history.backend, HistoryBackend::Postgres);
    }

    #[test]
    fn history_postgres_without_url_names_setting() {
        let (setting, reason) = invalid_setting("[history]\nbackend = \"postgres\"\n");

        assert_eq!(setting, "history.url");
        assert!(reason.contains("MAILGATE_HISTORY_URL"), "{reason}");
    }

    #[test]
    fn history_invalid_url_names_setting_not_password() {
        let (setting, reason) =
            invalid_setting("[history]\nbackend = \"postgres\"\nurl = \"mysql://mailgate:pw-123@127.0.0.1/mailgate\"\n");

        assert_eq!(setting, "history.url");
        assert!(reason.contains("postgres://"), "{reason}");
        assert!(!reason.contains("pw-123"), "{reason}");
    }

    #[test]
    fn history_url_with_sqlite_is_rejected() {
        let (setting, reason) = invalid_setting("[history]\nurl = \"postgres://mailgate@127.0.0.1/mailgate\"\n");

        assert_eq!(setting, "history.url");
        assert!(reason.contains("history.backend"), "{reason}");
    }

    #[test]
    fn history_unknown_backend_fails_to_parse() {
        let error = Config::from_toml("[history]\nbackend = \"mysql\"\n").unwrap_err();

        assert!(matches!(error, ConfigError::Parse { .. }), "{error:?}");
        assert!(error.to_string().contains("mysql"), "{error}");
    }

    #[test]
    fn disabled_history_is_not_checked() {
        let config = Config::from_toml("[history]\nenabled = false\nbackend = \"postgres\"\n").unwrap();

        assert!(!config.history.enabled);
    }
}
