//! Built-in vault: an HTTP server with the subset of the MetaDefender Managed
//! File Transfer REST API that [`crate::client`] uses.
//!
//! Endpoints, all under `/vault_rest`:
//! - `GET /transfer`, `GET`/`PATCH`/`POST /transfer_file`, `POST /transfer`: the
//!   five upload steps. Only the `Stream` transfer method is supported, and
//!   `Chunk` is rejected with 400.
//! - `GET /file/{file_id}`: the content of a file, without authentication,
//!   because its links go into emails.
//! - `GET /file/status/{file_id}`: the file's metadata as JSON.
//!
//! All endpoints except the download require `Authorization: Bearer <key>` with
//! one of the configured keys. Errors are JSON `{"message", "ui_message_key"}`.
//! The `file_name` and `path` headers are percent-decoded as
//! [`crate::header_value`] describes. Files and their metadata are kept under
//! the data directory and survive a restart, but uploads in progress do not.

mod auth;
mod error;
mod headers;
mod routes;
mod store;
mod transfer;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::VaultServerError;

pub(crate) use error::ApiError;

/// Maximum size of one file, in bytes (512 MiB). Larger `file_size` values are
/// rejected with 413 when the file is started, and no chunk may go beyond the
/// announced `file_size`.
pub const MAX_FILE_SIZE: u64 = 512 * 1024 * 1024;

/// Settings of the built-in vault.
#[derive(Clone)]
pub struct VaultServerConfig {
    /// Address to listen on. Port 0 picks a free port, see [`RunningVault::local_addr`].
    pub listen: SocketAddr,

    /// Directory for file content and metadata. It is created when missing.
    pub data_dir: PathBuf,

    /// Accepted bearer tokens. At least one is required. Debug output redacts them.
    pub api_keys: Vec<String>,

    /// Base of the links in upload responses, such as `http://vault.example.com:8010`.
    /// `None` uses `http://<local address>`, which other machines can only reach
    /// when the vault listens on an address they can route to.
    pub public_url: Option<String>,
}

impl fmt::Debug for VaultServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultServerConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// Entry point of the built-in vault.
pub struct VaultServer;

impl VaultServer {
    /// Opens the data directory, binds the listen address and serves requests
    /// in a background task until [`RunningVault::shutdown`] is called or the
    /// [`RunningVault`] is dropped.
    ///
    /// Errors: [`VaultServerError::InvalidConfig`] for an empty key list, an
    /// empty key or a `public_url` that is not an http(s) URL,
    /// [`VaultServerError::DataDir`] and [`VaultServerError::Bind`] for the
    /// failing resource.
    pub async fn start(config: VaultServerConfig) -> Result<RunningVault, VaultServerError> {
        check_api_keys(&config.api_keys)?;
        let public_url = config
            .public_url
            .as_deref()
            .map(check_public_url)
            .transpose()?;

        let data_dir_error = |source| VaultServerError::DataDir {
            path: config.data_dir.clone(),
            source,
        };
        let data_dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || store::Store::open(&data_dir))
            .await
            .expect("opening the store does not panic")
            .map_err(data_dir_error)?;

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| VaultServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| VaultServerError::Bind {
                addr: config.listen,
                source,
            })?;

        let public_url = public_url.unwrap_or_else(|| format!("http://{local_addr}"));
        let state = Arc::new(routes::AppState {
            store,
            transfers: transfer::Transfers::default(),
            api_keys: config.api_keys,
            public_url: public_url.clone(),
        });

        let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
        let server =
            axum::serve(listener, routes::router(state)).with_graceful_shutdown(async move {
                // A dropped sender also ends the server.
                let _ = shutdown_receiver.await;
            });
        let task = tokio::spawn(async move { server.await });

        tracing::info!(%local_addr, %public_url, data_dir = %config.data_dir.display(), "vault started");
        Ok(RunningVault {
            local_addr,
            shutdown_sender,
            task,
        })
    }
}

/// A started vault. Dropping it stops the server as [`RunningVault::shutdown`]
/// does, but without waiting for the stop.
pub struct RunningVault {
    local_addr: SocketAddr,
    shutdown_sender: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningVault {
    /// Address the server listens on, with the port chosen when 0 was configured.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Base URL of the REST API, `http://<local address>/vault_rest`.
    pub fn rest_url(&self) -> String {
        format!("http://{}/vault_rest", self.local_addr)
    }

    /// Stops accepting connections, waits for the requests in progress to finish
    /// and returns when the server has stopped.
    pub async fn shutdown(self) {
        let _ = self.shutdown_sender.send(());

        match self.task.await {
            Ok(Ok(())) => tracing::info!(local_addr = %self.local_addr, "vault stopped"),
            Ok(Err(err)) => {
                tracing::error!(local_addr = %self.local_addr, error = %err, "vault stopped after a server error")
            }
            Err(err) => {
                tracing::error!(local_addr = %self.local_addr, error = %err, "vault server task failed")
            }
        }
    }
}

impl fmt::Debug for RunningVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningVault")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

fn check_api_keys(api_keys: &[String]) -> Result<(), VaultServerError> {
    if api_keys.is_empty() {
        return Err(VaultServerError::InvalidConfig {
            reason:
                "no API key is configured, so no upload could be authenticated; set at least one"
                    .to_owned(),
        });
    }

    if api_keys
        .iter()
        .any(|key| key.is_empty() || !key.bytes().all(|byte| byte.is_ascii_graphic()))
    {
        return Err(VaultServerError::InvalidConfig {
            reason:
                "an API key is empty or contains spaces, control characters or non-ASCII characters"
                    .to_owned(),
        });
    }

    Ok(())
}

/// Checks that `public_url` is an http(s) URL and returns it without a trailing slash.
fn check_public_url(url: &str) -> Result<String, VaultServerError> {
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

    #[test]
    fn debug_redacts_api_keys() {
        let config = VaultServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: PathBuf::from("/tmp/x"),
            api_keys: vec!["secret-one".to_owned(), "secret-two".to_owned()],
            public_url: None,
        };

        let debug = format!("{config:?}");

        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("2 redacted"), "{debug}");
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
    fn api_keys_checked() {
        assert!(check_api_keys(&[]).is_err());
        assert!(check_api_keys(&[String::new()]).is_err());
        assert!(check_api_keys(&["a b".to_owned()]).is_err());
        assert!(check_api_keys(&["key".to_owned()]).is_ok());
    }
}
