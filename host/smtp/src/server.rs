//! Tokio SMTP listener: accepts connections and runs one session task per
//! connection until shutdown.

mod client_limit;
mod config;
mod connection;
mod data_stream;
mod handler;
mod stream;
mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinError, JoinSet};
use tracing::{Instrument, error, info, info_span, warn};

pub use config::{
    ConfigError, MIN_DATA_LINE_LENGTH, MIN_LINE_LENGTH, SmtpServerConfig, loopback_networks,
};
pub use data_stream::{STREAM_CHUNK, STREAM_THRESHOLD};
pub use handler::{DataSink, IncomingEnvelope, MessageHandler, NoSink, Outcome, ReceivedMessage, SessionId};
pub use tls::{TlsConfig, TlsError};

use crate::protocol::Reply;
use client_limit::ClientLimiter;
use connection::{Connection, reject_connection};

/// Pause after a failed accept, such as when the process is out of file
/// descriptors, so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Time allowed for sending the 421 reply to a connection over a limit.
const BUSY_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound SMTP listener.
pub struct SmtpServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: Arc<SmtpServerConfig>,
}

impl SmtpServer {
    /// Checks the settings and binds the listening socket.
    ///
    /// Errors: an invalid setting gives [`io::ErrorKind::InvalidInput`] with a
    /// [`ConfigError`] inside; a failed bind gives the operating system error.
    pub async fn bind(config: SmtpServerConfig) -> io::Result<SmtpServer> {
        config
            .validate()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;

        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;

        Ok(SmtpServer {
            listener,
            local_addr,
            config: Arc::new(config),
        })
    }

    /// Returns the bound address, with the real port when `listen` had port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves connections until `shutdown` resolves.
    ///
    /// On shutdown the listener closes at once. Sessions that wait for a
    /// command or are receiving data get `421 4.3.2` and are closed, so the
    /// client keeps an unfinished message and retries. A session whose
    /// handler is running finishes the handler and sends its reply first.
    /// Sessions still running after `shutdown_grace_period` are aborted
    /// without a reply. Returns when all sessions have ended.
    pub async fn run<H: MessageHandler>(
        self,
        handler: Arc<H>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let SmtpServer {
            listener,
            local_addr,
            config,
        } = self;
        let (shutdown_sender, shutdown_receiver) = watch::channel(false);
        let spawner = SessionSpawner {
            connection_limit: Arc::new(Semaphore::new(config.max_connections)),
            client_limiter: Arc::new(ClientLimiter::new(config.max_connections_per_client)),
            config: Arc::clone(&config),
            handler,
            shutdown: shutdown_receiver,
        };
        let mut sessions = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);

        info!(
            address = %local_addr,
            hostname = %config.hostname,
            starttls = config.tls.is_some(),
            "SMTP server listening"
        );
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => spawner.spawn(&mut sessions, stream, peer),
                    Err(error) => {
                        warn!(%error, "failed to accept connection");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                },
                Some(joined) = sessions.join_next(), if !sessions.is_empty() => log_join_error(joined),
            }
        }

        drop(listener);
        info!(sessions = sessions.len(), "SMTP server stopping");
        let _ = shutdown_sender.send(true);
        drain_sessions(&mut sessions, config.shutdown_grace_period).await;
        info!("SMTP server stopped");
        Ok(())
    }
}

/// Starts session tasks for accepted connections.
struct SessionSpawner<H> {
    config: Arc<SmtpServerConfig>,
    handler: Arc<H>,
    shutdown: watch::Receiver<bool>,
    connection_limit: Arc<Semaphore>,
    client_limiter: Arc<ClientLimiter>,
}

impl<H: MessageHandler> SessionSpawner<H> {
    /// Spawns a session for `stream` inside a span with its id and client,
    /// or a task that rejects it with 421 when `max_connections_per_client`
    /// sessions from its address or `max_connections` sessions in all run.
    fn spawn(&self, sessions: &mut JoinSet<()>, stream: TcpStream, peer: SocketAddr) {
        let hostname = &self.config.hostname;

        let Some(client_slot) = self.client_limiter.try_acquire(peer.ip()) else {
            warn!(
                client = %peer,
                limit = self.config.max_connections_per_client,
                "connection rejected, too many sessions from this client"
            );
            let text =
                format!("{hostname} too many connections from your address, try again later");
            let reply = Reply::new(421, "4.7.0", &text);
            sessions.spawn(reject_connection(stream, reply, BUSY_REPLY_TIMEOUT));
            return;
        };

        let Ok(permit) = Arc::clone(&self.connection_limit).try_acquire_owned() else {
            warn!(client = %peer, limit = self.config.max_connections, "connection rejected, too many sessions");
            let text = format!("{hostname} too many connections, try again later");
            let reply = Reply::new(421, "4.3.2", &text);
            sessions.spawn(reject_connection(stream, reply, BUSY_REPLY_TIMEOUT));
            return;
        };

        if let Err(error) = stream.set_nodelay(true) {
            warn!(%error, client = %peer, "failed to set TCP_NODELAY");
        }

        let session_id = SessionId::generate();
        let span = info_span!("smtp_session", session_id = %session_id, client = %peer);
        let connection = Connection {
            peer,
            session_id,
            config: Arc::clone(&self.config),
            handler: Arc::clone(&self.handler),
            shutdown: self.shutdown.clone(),
        };
        sessions.spawn(
            async move {
                connection.serve(stream).await;
                drop(permit);
                drop(client_slot);
            }
            .instrument(span),
        );
    }
}

/// Waits up to `grace_period` for sessions to end, then aborts the rest.
async fn drain_sessions(sessions: &mut JoinSet<()>, grace_period: Duration) {
    let wait_all = async {
        while let Some(joined) = sessions.join_next().await {
            log_join_error(joined);
        }
    };

    if tokio::time::timeout(grace_period, wait_all).await.is_err() {
        warn!(
            sessions = sessions.len(),
            ?grace_period,
            "aborting sessions still running after the grace period"
        );
        sessions.shutdown().await;
    }
}

fn log_join_error(joined: Result<(), JoinError>) {
    if let Err(join_error) = joined
        && join_error.is_panic()
    {
        error!(error = %join_error, "session task panicked");
    }
}
