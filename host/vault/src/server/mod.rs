//! Built-in vault: an HTTP server with the subset of the MetaDefender Managed
//! File Transfer REST API that [`crate::client`] uses.
//!
//! Endpoints, all under `/vault_rest`:
//! - `GET /authenticate`: session log-in with a configured user, see `login.rs`.
//! - `GET /transfer`, `GET`/`PATCH`/`POST /transfer_file`, `POST /transfer`: the
//!   five upload steps, with both transfer methods, `Stream` and `Chunk`.
//! - `GET /file/{file_id}`: the content of a file, without authentication
//!   unless [`VaultServerConfig::download_requires_auth`] is set, because its
//!   links go into emails. Blocked and locked files get 403.
//! - `GET /file/status/{file_id}`: the file's metadata as JSON, with the
//!   result of its last scan.
//! - `GET /files/{my|all}/{start}/{count}`, `GET /folder_search/{folder id}/{start}/{count}`
//!   and `GET /root_folder`: listings, see `listing.rs`.
//!
//! All endpoints except the download and log-in require `Authorization: Bearer
//! <token>` with a configured API key that has not expired or an open session
//! token. Errors are JSON `{"message", "ui_message_key"}`. The `file_name` and
//! `path` headers are percent-decoded as [`crate::header_value`] describes.
//! Files and their metadata are kept under the data directory and survive a
//! restart. Uploads in progress do not, and an upload group left unfinished is
//! deleted after [`VaultServerConfig::transfer_timeout`].
//!
//! With [`VaultServerConfig::scanner`] set, each file is scanned when its
//! group is finished and rescanned later, see `rescan.rs`; the result and
//! time of the last scan are kept in the file's metadata.

mod auth;
mod cleanup;
mod config;
mod content;
mod error;
mod headers;
mod listing;
mod login;
mod rescan;
mod routes;
mod scan_state;
mod status;
mod store;
mod transfer;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use mailgate_scan::Scanner;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    DEFAULT_RESCAN_PERIOD, DEFAULT_SESSION_LIFETIME, DEFAULT_TRANSFER_TIMEOUT, ExpiringApiKey,
    RescanHours, VaultServerConfig, VaultUser,
};
pub use error::VaultServerError;
pub use listing::MAX_PAGE_SIZE;
pub use rescan::{FAILED_SCAN_RETRY, RescanError, RescanSummary};

pub(crate) use error::ApiError;

/// Maximum size of one file, in bytes (512 MiB). Larger `file_size` values are
/// rejected with 413 when the file is started, and no chunk may go beyond the
/// announced `file_size`.
pub const MAX_FILE_SIZE: u64 = 512 * 1024 * 1024;

/// Maximum size of one chunk, in bytes (100 MB, the product's limit). Larger
/// chunks are rejected with 400.
pub const MAX_CHUNK_SIZE: u64 = 100_000_000;

/// Entry point of the built-in vault.
pub struct VaultServer;

impl VaultServer {
    /// Opens the data directory, binds the listen address and serves requests
    /// in a background task until [`RunningVault::shutdown`] is called or the
    /// [`RunningVault`] is dropped.
    ///
    /// Errors: [`VaultServerError::InvalidConfig`] when neither an API key nor
    /// a user is set, for an empty key, a user without a password, a zero
    /// timeout or a `public_url` that is not an http(s) URL,
    /// [`VaultServerError::DataDir`] and [`VaultServerError::Bind`] for the
    /// failing resource.
    pub async fn start(config: VaultServerConfig) -> Result<RunningVault, VaultServerError> {
        config::check_config(&config)?;
        let public_url = config
            .public_url
            .as_deref()
            .map(config::check_public_url)
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
            credentials: auth::Credentials::from_config(&config),
            public_url: public_url.clone(),
            scanning: rescan::Scanning::from_config(&config),
            download_requires_auth: config.download_requires_auth,
        });
        let cleanup = cleanup::spawn(Arc::downgrade(&state), config.transfer_timeout);
        let rescans = state
            .scanning
            .as_ref()
            .and_then(|scanning| rescan::spawn(Arc::downgrade(&state), scanning));

        let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
        let server = axum::serve(listener, routes::router(state.clone())).with_graceful_shutdown(
            async move {
                // A dropped sender also ends the server.
                let _ = shutdown_receiver.await;
            },
        );
        let task = tokio::spawn(async move { server.await });

        tracing::info!(%local_addr, %public_url, data_dir = %config.data_dir.display(), scanner = ?config.scanner.as_deref().map(Scanner::name), "vault started");
        Ok(RunningVault {
            local_addr,
            shutdown_sender,
            task,
            cleanup,
            rescans,
            state,
        })
    }
}

/// A started vault. Dropping it stops the server as [`RunningVault::shutdown`]
/// does, but without waiting for the stop.
pub struct RunningVault {
    local_addr: SocketAddr,
    shutdown_sender: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    cleanup: JoinHandle<()>,
    rescans: Option<JoinHandle<()>>,
    state: Arc<routes::AppState>,
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

    /// Runs a rescan pass over every finished file now, whatever the age of
    /// its last scan and the rescan hours, and returns its counts. The
    /// built-in engine reads its block list file again first. A pass of the
    /// background task that is running already finishes before this one starts.
    ///
    /// Errors: [`RescanError::NoScanner`] without a configured scanner, and
    /// [`RescanError::Blocklist`] when the block list file cannot be read, in
    /// which case no file is scanned.
    pub async fn rescan_now(&self) -> Result<RescanSummary, RescanError> {
        rescan::run_pass(&self.state, true).await
    }

    /// Stops accepting connections, waits for the requests in progress to finish
    /// and returns when the server has stopped.
    pub async fn shutdown(self) {
        let _ = self.shutdown_sender.send(());
        self.cleanup.abort();
        if let Some(rescans) = &self.rescans {
            rescans.abort();
        }

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

/// Formats a time as RFC 3339 in UTC with whole seconds, the form of the
/// `expires` and `created` fields.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
