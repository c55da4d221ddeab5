//! Settings of the built-in vault and their checks at start.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mailgate_scan::Engine;

use super::VaultServerError;

/// Default for [`VaultServerConfig::transfer_timeout`]: one hour.
pub const DEFAULT_TRANSFER_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Default for [`VaultServerConfig::session_lifetime`]: one hour.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Default for [`VaultServerConfig::rescan_period`]: 24 hours.
pub const DEFAULT_RESCAN_PERIOD: Duration = Duration::from_secs(24 * 60 * 60);

/// Settings of the built-in vault.
///
/// [`Default`] gives the product's default REST address `127.0.0.1:8010`, the
/// data directory `mailgate-data/vault`, no credentials and the default
/// timeouts. At least one API key or user must be set before the vault starts.
#[derive(Clone)]
pub struct VaultServerConfig {
    /// Address to listen on. Port 0 picks a free port, see
    /// [`super::RunningVault::local_addr`].
    pub listen: SocketAddr,

    /// Directory for file content and metadata. It is created when missing.
    pub data_dir: PathBuf,

    /// Accepted bearer tokens that never expire. Debug output redacts them.
    pub api_keys: Vec<String>,

    /// Accepted bearer tokens with an expiry time. A request with an expired
    /// key gets 401, and the error message states that the key expired.
    pub expiring_api_keys: Vec<ExpiringApiKey>,

    /// Users who may log in with `GET /vault_rest/authenticate` and then send
    /// the session token as a bearer token. Default: none.
    pub users: Vec<VaultUser>,

    /// Time a session token stays valid after log-in. Default:
    /// [`DEFAULT_SESSION_LIFETIME`].
    pub session_lifetime: Duration,

    /// Time after the last request of an unfinished upload group at which the
    /// vault deletes the group with all its files. Default:
    /// [`DEFAULT_TRANSFER_TIMEOUT`].
    pub transfer_timeout: Duration,

    /// Base of the links in upload responses, such as `http://vault.example.com:8010`.
    /// `None` uses `http://<local address>`, which other machines can only reach
    /// when the vault listens on an address they can route to.
    pub public_url: Option<String>,

    /// Engine that scans each file when its group is finished and again in
    /// rescans. `None`, the default, makes files available as soon as their
    /// group is finished and never scans them.
    ///
    /// Before each rescan pass, a [`Engine::Builtin`] engine reads its block
    /// list file again, so that edits to the list take effect.
    pub scanner: Option<Arc<Engine>>,

    /// Time after the end of its upload during which a clean file stays
    /// locked. The file becomes downloadable with the first clean scan at or
    /// after the end of the interval. Zero, the default, locks no file. Only
    /// used with a scanner.
    pub lock_interval: Duration,

    /// Age of a file's last scan at which it is scanned again. Zero turns
    /// periodic rescans off. Only used with a scanner. Default:
    /// [`DEFAULT_RESCAN_PERIOD`].
    pub rescan_period: Duration,

    /// Hours of the day in which periodic rescans run. `None`, the default,
    /// allows all day. Scans that end a lock interval and retries of failed
    /// first scans run at any hour.
    pub rescan_hours: Option<RescanHours>,

    /// Require the bearer token for `GET /vault_rest/file/{id}` too. Default
    /// false, because the download links go into emails for recipients who
    /// have no token.
    pub download_requires_auth: bool,
}

/// A window of whole hours of the day, in UTC, from `from_hour` (0 to 23,
/// included) to `to_hour` (1 to 24, excluded). A window whose start is after
/// its end runs past midnight: 22 to 6 allows 22:00 to 05:59.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RescanHours {
    pub from_hour: u8,
    pub to_hour: u8,
}

impl RescanHours {
    /// Returns true when `hour` (0 to 23) is inside the window.
    pub fn contains(&self, hour: u32) -> bool {
        let from = u32::from(self.from_hour);
        let to = u32::from(self.to_hour);

        if from < to {
            (from..to).contains(&hour)
        } else {
            hour >= from || hour < to
        }
    }
}

/// An API key that stops working at `expires`.
#[derive(Clone)]
pub struct ExpiringApiKey {
    pub key: String,
    pub expires: SystemTime,
}

/// A user who may log in to the built-in vault.
///
/// The built-in vault compares the password as configured, so the
/// configuration that contains it must be protected like the password.
#[derive(Clone)]
pub struct VaultUser {
    pub name: String,
    pub password: String,
}

impl Default for VaultServerConfig {
    fn default() -> VaultServerConfig {
        VaultServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8010)),
            data_dir: PathBuf::from("mailgate-data/vault"),
            api_keys: Vec::new(),
            expiring_api_keys: Vec::new(),
            users: Vec::new(),
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            transfer_timeout: DEFAULT_TRANSFER_TIMEOUT,
            public_url: None,
            scanner: None,
            lock_interval: Duration::ZERO,
            rescan_period: DEFAULT_RESCAN_PERIOD,
            rescan_hours: None,
            download_requires_auth: false,
        }
    }
}

impl fmt::Debug for VaultServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user_names: Vec<&str> = self.users.iter().map(|user| user.name.as_str()).collect();

        f.debug_struct("VaultServerConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .field(
                "expiring_api_keys",
                &format_args!("[{} redacted]", self.expiring_api_keys.len()),
            )
            .field("users", &user_names)
            .field("session_lifetime", &self.session_lifetime)
            .field("transfer_timeout", &self.transfer_timeout)
            .field("public_url", &self.public_url)
            .field("scanner", &self.scanner)
            .field("lock_interval", &self.lock_interval)
            .field("rescan_period", &self.rescan_period)
            .field("rescan_hours", &self.rescan_hours)
            .field("download_requires_auth", &self.download_requires_auth)
            .finish()
    }
}

impl fmt::Debug for ExpiringApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpiringApiKey")
            .field("key", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

impl fmt::Debug for VaultUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultUser")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Checks the credentials and timeouts of a configuration.
pub(crate) fn check_config(config: &VaultServerConfig) -> Result<(), VaultServerError> {
    let invalid = |reason: &str| VaultServerError::InvalidConfig {
        reason: reason.to_owned(),
    };

    if config.api_keys.is_empty() && config.expiring_api_keys.is_empty() && config.users.is_empty()
    {
        return Err(invalid(
            "no API key and no user is configured, so no upload could be authenticated; \
             set at least one API key",
        ));
    }

    let keys = config
        .api_keys
        .iter()
        .chain(config.expiring_api_keys.iter().map(|key| &key.key));
    for key in keys {
        if key.is_empty() || !key.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(invalid(
                "an API key is empty or contains spaces, control characters or non-ASCII \
                 characters",
            ));
        }
    }

    for user in &config.users {
        if user.name.is_empty() || user.name.contains(['\r', '\n']) {
            return Err(invalid(
                "a user name is empty or contains a line break; choose another name",
            ));
        }
        if user.password.is_empty() {
            return Err(VaultServerError::InvalidConfig {
                reason: format!("user {:?} has an empty password; set one", user.name),
            });
        }
    }

    if config.session_lifetime.is_zero() || config.transfer_timeout.is_zero() {
        return Err(invalid(
            "session_lifetime and transfer_timeout must be longer than zero",
        ));
    }

    if let Some(hours) = config.rescan_hours {
        let valid = hours.from_hour <= 23
            && (1..=24).contains(&hours.to_hour)
            && hours.from_hour != hours.to_hour;
        if !valid {
            return Err(VaultServerError::InvalidConfig {
                reason: format!(
                    "the rescan hours {} to {} are not a window: the start must be 0 to 23, \
                     the end 1 to 24, and they must differ; use 0 to 24 for all day",
                    hours.from_hour, hours.to_hour
                ),
            });
        }
    }

    Ok(())
}

/// Checks that `public_url` is an http(s) URL and returns it without a trailing slash.
pub(crate) fn check_public_url(url: &str) -> Result<String, VaultServerError> {
    let trimmed = url.trim().trim_end_matches('/');

    let parsed = reqwest::Url::parse(trimmed).map_err(|err| VaultServerError::InvalidConfig {
        reason: format!("public_url {url:?} is not a URL ({err}); expected for example http://vault.example.com:8010"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(VaultServerError::InvalidConfig {
            reason: format!("public_url {url:?} is not an http or https URL with a host"),
        });
    }

    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_keys(api_keys: &[&str]) -> VaultServerConfig {
        VaultServerConfig {
            api_keys: api_keys.iter().map(|key| (*key).to_owned()).collect(),
            ..VaultServerConfig::default()
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let config = VaultServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: PathBuf::from("/tmp/x"),
            api_keys: vec!["secret-one".to_owned(), "secret-two".to_owned()],
            expiring_api_keys: vec![ExpiringApiKey {
                key: "secret-three".to_owned(),
                expires: SystemTime::UNIX_EPOCH,
            }],
            users: vec![VaultUser {
                name: "alice".to_owned(),
                password: "secret-password".to_owned(),
            }],
            ..VaultServerConfig::default()
        };

        let debug = format!("{config:?}");

        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("2 redacted"), "{debug}");
        assert!(debug.contains("alice"), "{debug}");
    }

    #[test]
    fn public_url_checked() {
        assert_eq!(
            check_public_url("http://127.0.0.1:8010/").unwrap(),
            "http://127.0.0.1:8010"
        );
        assert!(check_public_url("vault.example.com").is_err());
        assert!(check_public_url("ftp://vault.example.com").is_err());
    }

    #[test]
    fn credentials_checked() {
        assert!(check_config(&with_keys(&[])).is_err());
        assert!(check_config(&with_keys(&[""])).is_err());
        assert!(check_config(&with_keys(&["a b"])).is_err());
        assert!(check_config(&with_keys(&["key"])).is_ok());

        let users_only = VaultServerConfig {
            users: vec![VaultUser {
                name: "alice".to_owned(),
                password: "pw".to_owned(),
            }],
            ..VaultServerConfig::default()
        };
        assert!(check_config(&users_only).is_ok());

        let empty_password = VaultServerConfig {
            users: vec![VaultUser {
                name: "alice".to_owned(),
                password: String::new(),
            }],
            ..VaultServerConfig::default()
        };
        assert!(check_config(&empty_password).is_err());
    }

    #[test]
    fn rescan_hours_window() {
        let day = RescanHours {
            from_hour: 8,
            to_hour: 18,
        };
        let night = RescanHours {
            from_hour: 22,
            to_hour: 6,
        };

        assert!(day.contains(8));
        assert!(day.contains(17));
        assert!(!day.contains(18));
        assert!(!day.contains(7));
        assert!(night.contains(22));
        assert!(night.contains(0));
        assert!(night.contains(5));
        assert!(!night.contains(6));
        assert!(!night.contains(21));
    }

    #[test]
    fn rescan_hours_checked() {
        let with_hours = |from_hour, to_hour| VaultServerConfig {
            rescan_hours: Some(RescanHours { from_hour, to_hour }),
            ..with_keys(&["key"])
        };

        assert!(check_config(&with_hours(0, 24)).is_ok());
        assert!(check_config(&with_hours(22, 6)).is_ok());
        assert!(check_config(&with_hours(5, 5)).is_err());
        assert!(check_config(&with_hours(24, 6)).is_err());
        assert!(check_config(&with_hours(3, 0)).is_err());
        assert!(check_config(&with_hours(3, 25)).is_err());
    }

    #[test]
    fn zero_timeout_rejected() {
        let config = VaultServerConfig {
            transfer_timeout: Duration::ZERO,
            ..with_keys(&["key"])
        };

        assert!(check_config(&config).is_err());
    }
}
