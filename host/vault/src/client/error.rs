//! Errors of the vault client.

/// Failure of a vault client call.
///
/// Each message names what failed and what to check. [`VaultError::is_temporary`]
/// returns whether the same call may succeed later without a change of configuration.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum VaultError {
    /// The configured base URL does not have the form `http(s)://<host>:<port>/vault_rest`.
    #[error(
        "invalid vault URL {url:?}: {reason}; expected http(s)://<host>:<port>/vault_rest, \
         for example http://vault.example.com:8010/vault_rest"
    )]
    InvalidUrl { url: String, reason: String },

    /// The configured API key cannot be sent as a bearer token.
    #[error("invalid vault API key: {reason}; set the key that the vault administrator created")]
    InvalidApiKey { reason: String },

    /// A file to upload or an identifier cannot be expressed as a vault request.
    #[error("invalid vault request: {reason}")]
    InvalidInput { reason: String },

    /// The CA bundle for the vault's certificate could not be used.
    #[error("cannot use the CA bundle {path}: {reason}; give a PEM file with one or more CA certificates")]
    InvalidCaBundle { path: std::path::PathBuf, reason: String },

    /// No connection to the vault could be opened.
    #[error(
        "cannot connect to the vault at {url}; check that the vault is running and that \
         the host and port in the vault URL are right"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The vault sent no response within the configured request timeout.
    #[error(
        "the vault request to {url} timed out; check the vault's load or raise the request timeout"
    )]
    TimedOut { url: String },

    /// The connection failed after it was opened, before a complete response arrived.
    #[error("the vault request to {url} failed before a complete response arrived")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The vault rejected the API key with HTTP 401 or 403.
    #[error(
        "the vault rejected the API key (HTTP {status}: {message}); check that the key is \
         right and has not expired"
    )]
    Unauthorized { status: u16, message: String },

    /// The vault rejected a step with an HTTP error other than 401 or 403.
    ///
    /// `message` and `ui_message_key` are the vault's own, when its error body had them.
    #[error("the vault rejected the request to {step} with HTTP {status}: {message}")]
    Rejected {
        step: &'static str,
        status: u16,
        message: String,
        ui_message_key: Option<String>,
    },

    /// The vault returned a success status, but the body is not what the API defines.
    #[error(
        "invalid vault response to {step}: {reason}; check that the vault URL points at the \
         vault's REST API"
    )]
    InvalidResponse { step: &'static str, reason: String },
}

impl VaultError {
    /// Returns true when retrying the same call later may succeed: the vault was
    /// unreachable, timed out, dropped the connection, or responded with HTTP 5xx,
    /// 408 or 429. Configuration errors and other HTTP 4xx answers are permanent.
    pub fn is_temporary(&self) -> bool {
        match self {
            VaultError::Unreachable { .. }
            | VaultError::TimedOut { .. }
            | VaultError::Transport { .. } => true,

            VaultError::Rejected { status, .. } => {
                *status >= 500 || *status == 408 || *status == 429
            }

            VaultError::InvalidUrl { .. }
            | VaultError::InvalidApiKey { .. }
            | VaultError::InvalidInput { .. }
            | VaultError::InvalidCaBundle { .. }
            | VaultError::Unauthorized { .. }
            | VaultError::InvalidResponse { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16) -> VaultError {
        VaultError::Rejected {
            step: "finish file",
            status,
            message: "x".to_owned(),
            ui_message_key: None,
        }
    }

    #[test]
    fn temporary_by_status() {
        assert!(rejected(500).is_temporary());
        assert!(rejected(503).is_temporary());
        assert!(rejected(429).is_temporary());
        assert!(rejected(408).is_temporary());
        assert!(!rejected(400).is_temporary());
        assert!(!rejected(404).is_temporary());
        assert!(!rejected(413).is_temporary());
    }

    #[test]
    fn permanent_errors() {
        let unauthorized = VaultError::Unauthorized {
            status: 401,
            message: "x".to_owned(),
        };
        assert!(!unauthorized.is_temporary());

        let invalid_url = VaultError::InvalidUrl {
            url: "x".to_owned(),
            reason: "x".to_owned(),
        };
        assert!(!invalid_url.is_temporary());

        let timed_out = VaultError::TimedOut {
            url: "x".to_owned(),
        };
        assert!(timed_out.is_temporary());
    }
}
