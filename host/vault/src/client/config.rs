//! Configuration of the vault client and the check of its base URL.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use super::VaultError;

/// Default for [`VaultClientConfig::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Path under which the vault serves its REST API.
const REST_PATH: &str = "/vault_rest";

/// Location of the vault and the API key to authenticate with.
#[derive(Clone)]
pub struct VaultClientConfig {
    /// Base URL of the REST API, `http(s)://<host>:<port>/vault_rest`. A trailing
    /// slash is accepted. The product's default REST port is 8010, and its web UI
    /// (default port 8000) is not the REST API.
    pub base_url: String,

    /// API key, sent as `Authorization: Bearer <api_key>`. Debug output redacts it.
    pub api_key: String,

    /// Time limit for each HTTP request, from connecting to reading the whole
    /// response. Default: [`DEFAULT_REQUEST_TIMEOUT`] (30 s).
    pub request_timeout: Duration,

    /// PEM file with CA certificates trusted for the vault's TLS certificate,
    /// in addition to the public roots the client trusts by default (the
    /// Mozilla root list built into the client, not the system's store).
    /// Needed for a vault whose certificate comes from a private CA.
    pub ca_bundle: Option<std::path::PathBuf>,
}

impl VaultClientConfig {
    /// Builds a configuration with the default request timeout.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> VaultClientConfig {
        VaultClientConfig {
            base_url: base_url.into(),
            api_key: api_key.into(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            ca_bundle: None,
        }
    }
}

impl fmt::Debug for VaultClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("request_timeout", &self.request_timeout)
            .field("ca_bundle", &self.ca_bundle)
            .finish()
    }
}

/// Checks the form of a base URL and returns it without a trailing slash.
///
/// The port may be left out when it is the scheme's default (80 or 443), as behind
/// a reverse proxy. A URL whose path is not `/vault_rest` is rejected, with a hint
/// when it looks like the address of the web UI.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url, VaultError> {
    let invalid = |reason: &str| VaultError::InvalidUrl {
        url: raw.to_owned(),
        reason: reason.to_owned(),
    };

    let url = Url::parse(raw.trim()).map_err(|err| invalid(&format!("not a URL ({err})")))?;

    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid(&format!(
            "the scheme is {:?}, not http or https",
            url.scheme()
        )));
    }

    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the host is missing"));
    }

    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "user name or password in the URL; put the API key in api_key",
        ));
    }

    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the URL has a query or fragment"));
    }

    let path = url.path().trim_end_matches('/');
    if path.is_empty() {
        // The product's REST port is 8010 by default; any other port without
        // a path is often the web UI address (8000 by default) pasted in.
        let reason = if url.port_or_known_default() == Some(8010) {
            "the path /vault_rest is missing; add it after the port"
        } else {
            "the path /vault_rest is missing; this looks like the web UI address, \
             while the REST API is usually on port 8010 under /vault_rest"
        };
        return Err(invalid(reason));
    }
    if path != REST_PATH {
        return Err(invalid(&format!("the path is {path:?}, not /vault_rest")));
    }

    let mut normalized = url;
    normalized.set_path(REST_PATH);
    Ok(normalized)
}

/// Checks that an API key can be sent in an `Authorization` header.
pub(crate) fn check_api_key(api_key: &str) -> Result<(), VaultError> {
    if api_key.is_empty() {
        return Err(VaultError::InvalidApiKey {
            reason: "the key is empty".to_owned(),
        });
    }

    if !api_key.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(VaultError::InvalidApiKey {
            reason: "the key contains spaces, control characters or non-ASCII characters"
                .to_owned(),
        });
    }

    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_api_key() {
        let config = VaultClientConfig::new("http://127.0.0.1:8010/vault_rest", "secret-key-123");
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret-key-123"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn trailing_slash_removed() {
        let url = parse_base_url("http://127.0.0.1:8010/vault_rest/").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8010/vault_rest");
    }

    #[test]
    fn api_key_checked() {
        assert!(check_api_key("0123456789abcdefghijklmnopqrst").is_ok());
        assert!(check_api_key("").is_err());
        assert!(check_api_key("with space").is_err());
        assert!(check_api_key("line\nbreak").is_err());
        assert!(check_api_key("schlüssel").is_err());
    }
}
