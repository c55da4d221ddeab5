//! PostgreSQL connection URLs, and the form of them that may be logged.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;

use crate::error::HistoryError;

/// Time allowed for opening one connection when the URL sets no
/// `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed `postgres://` or `postgresql://` URL, for example
/// `postgres://mailgate:secret@127.0.0.1:5432/mailgate`.
///
/// The URL may carry the parameters of libpq's URLs that the `postgres`
/// crate supports, such as `connect_timeout` in seconds. `Display`
/// and `Debug` show the URL without its password, so a `PostgresUrl` can be
/// logged and put into error messages.
///
/// Connections never use TLS, whatever `sslmode` says. The store is meant
/// for a database on the same host or on a trusted network.
#[derive(Clone)]
pub struct PostgresUrl {
    config: postgres::Config,
    redacted: String,
}

impl PostgresUrl {
    /// Parses `url`. A URL without `connect_timeout` gets
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    ///
    /// # Errors
    ///
    /// [`HistoryError::InvalidUrl`] when `url` is not a `postgres://` or
    /// `postgresql://` URL, cannot be parsed, or names no host, user or
    /// database. The message never contains the URL.
    pub fn parse(url: &str) -> Result<PostgresUrl, HistoryError> {
        let invalid = |detail: &str| HistoryError::InvalidUrl { detail: detail.to_string() };

        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid("the URL must start with postgres:// or postgresql://"));
        }
        let mut config =
            postgres::Config::from_str(url).map_err(|error| HistoryError::InvalidUrl { detail: error.to_string() })?;

        if config.get_hosts().is_empty() {
            return Err(invalid("the URL names no host, as in postgres://user:password@127.0.0.1:5432/mailgate"));
        }
        if config.get_user().is_none_or(str::is_empty) {
            return Err(invalid("the URL names no user, as in postgres://user:password@127.0.0.1:5432/mailgate"));
        }
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err(invalid("the URL names no database, as in postgres://user:password@127.0.0.1:5432/mailgate"));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }

        let redacted = redact(&config);
        Ok(PostgresUrl { config, redacted })
    }

    /// Returns the name of the database.
    pub fn database_name(&self) -> &str {
        self.config.get_dbname().unwrap_or_default()
    }

    /// Returns the connection settings, password included.
    pub(crate) fn config(&self) -> &postgres::Config {
        &self.config
    }
}

impl FromStr for PostgresUrl {
    type Err = HistoryError;

    fn from_str(url: &str) -> Result<PostgresUrl, HistoryError> {
        PostgresUrl::parse(url)
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PostgresUrl").field(&self.redacted).finish()
    }
}

/// Writes the user, hosts, ports and database as a URL, leaving out the
/// password and every other parameter.
fn redact(config: &postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let name = match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            // One port applies to every host; otherwise each host has its own.
            match ports.get(index).or(if ports.len() == 1 { ports.first() } else { None }) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();

    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_leaves_out_password() {
        let url = PostgresUrl::parse("postgres://mailgate:s3cret-pw@127.0.0.1:5433/history?connect_timeout=3").unwrap();

        assert_eq!(url.to_string(), "postgres://mailgate@127.0.0.1:5433/history");
        assert!(!format!("{url:?}").contains("s3cret-pw"));
        assert_eq!(url.database_name(), "history");
        assert_eq!(url.config().get_connect_timeout(), Some(&Duration::from_secs(3)));
    }

    #[test]
    fn password_parameter_is_left_out() {
        let url = PostgresUrl::parse("postgresql://mailgate@localhost/history?password=s3cret-pw").unwrap();

        assert_eq!(url.to_string(), "postgres://mailgate@localhost:5432/history", "the default port is shown");
        assert_eq!(url.config().get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));
    }

    #[test]
    fn invalid_urls_are_rejected_without_echo() {
        for url in [
            "mysql://mailgate:s3cret-pw@127.0.0.1/history",
            "host=127.0.0.1 user=mailgate password=s3cret-pw dbname=history",
            "postgres://mailgate:s3cret-pw@127.0.0.1:notaport/history",
            "postgres://:s3cret-pw@127.0.0.1/history",
            "postgres://mailgate:s3cret-pw@127.0.0.1/",
            "postgres://mailgate:s3cret-pw@127.0.0.1/history?unknown_option=1",
        ] {
            let error = PostgresUrl::parse(url).unwrap_err();
            assert!(matches!(error, HistoryError::InvalidUrl { .. }), "{url}: {error:?}");
            assert!(!error.to_string().contains("s3cret-pw"), "{url}: {error}");
        }
    }
}
