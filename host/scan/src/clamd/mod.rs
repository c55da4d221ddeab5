//! ClamAV's daemon, clamd, reached over TCP or a Unix socket.
//!
//! Each scan opens a connection, sends the content with `INSTREAM` and reads
//! one reply. The connection is not reused.

mod config;
mod error;
mod protocol;

use std::future::Future;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::{ScanRequest, Scanner, Verdict};
use protocol::ScanReply;

pub use config::{ClamdAddress, ClamdConfig};
pub use error::ClamdError;

const ENGINE_NAME: &str = "clamd";

/// Result of a completed clamd scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdOutcome {
    Clean,
    /// A signature matched; `signature` is its name, such as `Eicar-Signature`.
    Found {
        signature: String,
    },
}

/// The clamd engine.
#[derive(Debug, Clone)]
pub struct ClamdScanner {
    config: ClamdConfig,
}

trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

impl ClamdScanner {
    /// Creates the engine. No connection is opened until the first call.
    pub fn new(config: ClamdConfig) -> Self {
        ClamdScanner { config }
    }

    /// Returns the settings.
    pub fn config(&self) -> &ClamdConfig {
        &self.config
    }

    /// Sends `PING` and expects `PONG`, for health checks.
    ///
    /// # Errors
    ///
    /// [`ClamdError`] when clamd cannot be reached, does not reply in time or
    /// replies with anything but `PONG`.
    pub async fn ping(&self) -> Result<(), ClamdError> {
        self.within_timeout(async {
            let mut connection = self.connect().await?;
            connection
                .write_all(protocol::PING)
                .await
                .map_err(|source| self.io_error(source))?;

            let reply = self.read_reply(&mut connection).await?;
            match protocol::reply_text(&reply) {
                Ok("PONG") => Ok(()),
                _ => Err(self.unexpected_reply(&reply)),
            }
        })
        .await
    }

    /// Scans `content` with `INSTREAM`.
    ///
    /// # Errors
    ///
    /// [`ClamdError::TooLarge`] without a connection when the content exceeds
    /// [`ClamdConfig::max_stream_size`]; otherwise any [`ClamdError`] for an
    /// unreachable daemon, a timeout, a size limit or error reply, or a reply
    /// that cannot be parsed.
    pub async fn scan_content(&self, content: &[u8]) -> Result<ClamdOutcome, ClamdError> {
        let size = content.len() as u64;
        if size > self.config.max_stream_size {
            return Err(ClamdError::TooLarge {
                size,
                limit: self.config.max_stream_size,
            });
        }

        self.within_timeout(async {
            let mut connection = self.connect().await?;
            let reply = match self.send_stream(&mut connection, content).await {
                Ok(()) => self.read_reply(&mut connection).await?,
                Err(write_error) => {
                    self.reply_after_write_error(&mut connection, write_error)
                        .await?
                }
            };

            self.interpret_scan_reply(&reply)
        })
        .await
    }

    async fn connect(&self) -> Result<Box<dyn Connection>, ClamdError> {
        let address = self.config.address.to_string();
        let connecting = async {
            match &self.config.address {
                ClamdAddress::Tcp(address) => TcpStream::connect(address)
                    .await
                    .map(|stream| Box::new(stream) as Box<dyn Connection>),
                #[cfg(unix)]
                ClamdAddress::Unix(path) => tokio::net::UnixStream::connect(path)
                    .await
                    .map(|stream| Box::new(stream) as Box<dyn Connection>),
            }
        };

        match tokio::time::timeout(self.config.connect_timeout, connecting).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(source)) => Err(ClamdError::Connect { address, source }),
            Err(_) => Err(ClamdError::TimedOut {
                address,
                after: self.config.connect_timeout,
            }),
        }
    }

    async fn send_stream(
        &self,
        connection: &mut Box<dyn Connection>,
        content: &[u8],
    ) -> std::io::Result<()> {
        connection.write_all(protocol::INSTREAM).await?;

        for chunk in content.chunks(self.config.chunk_size.max(1)) {
            connection
                .write_all(&protocol::chunk_header(chunk.len()))
                .await?;
            connection.write_all(chunk).await?;
        }

        connection.write_all(&protocol::END_OF_STREAM).await?;
        connection.flush().await
    }

    /// clamd closes the connection after it sends `INSTREAM size limit
    /// exceeded`, so a write can fail while the reply already waits to be read.
    async fn reply_after_write_error(
        &self,
        connection: &mut Box<dyn Connection>,
        write_error: std::io::Error,
    ) -> Result<Vec<u8>, ClamdError> {
        match self.read_reply(connection).await {
            Ok(reply) if !reply.is_empty() => Ok(reply),
            _ => Err(self.io_error(write_error)),
        }
    }

    /// Reads up to and including the NUL that ends a reply, or to the end of
    /// the connection.
    async fn read_reply(
        &self,
        connection: &mut Box<dyn Connection>,
    ) -> Result<Vec<u8>, ClamdError> {
        let mut reply = Vec::new();
        let mut buffer = [0u8; 512];

        loop {
            let count = connection
                .read(&mut buffer)
                .await
                .map_err(|source| self.io_error(source))?;
            if count == 0 {
                return Ok(reply);
            }

            reply.extend_from_slice(&buffer[..count]);
            if let Some(end) = reply.iter().position(|&byte| byte == 0) {
                reply.truncate(end + 1);
                return Ok(reply);
            }
            if reply.len() > protocol::MAX_REPLY_SIZE {
                return Err(self.unexpected_reply(&reply));
            }
        }
    }

    fn interpret_scan_reply(&self, reply: &[u8]) -> Result<ClamdOutcome, ClamdError> {
        let address = self.config.address.to_string();

        match protocol::parse_scan_reply(reply) {
            Ok(ScanReply::Clean) => Ok(ClamdOutcome::Clean),
            Ok(ScanReply::Found(signature)) => Ok(ClamdOutcome::Found { signature }),
            Ok(ScanReply::SizeLimitExceeded) => Err(ClamdError::SizeLimitExceeded { address }),
            Ok(ScanReply::Error(message)) => Err(ClamdError::Clamd { address, message }),
            Err(printable) => Err(ClamdError::UnexpectedReply {
                address,
                reply: printable,
            }),
        }
    }

    async fn within_timeout<T>(
        &self,
        operation: impl Future<Output = Result<T, ClamdError>>,
    ) -> Result<T, ClamdError> {
        match tokio::time::timeout(self.config.timeout, operation).await {
            Ok(result) => result,
            Err(_) => Err(ClamdError::TimedOut {
                address: self.config.address.to_string(),
                after: self.config.timeout,
            }),
        }
    }

    fn io_error(&self, source: std::io::Error) -> ClamdError {
        ClamdError::Io {
            address: self.config.address.to_string(),
            source,
        }
    }

    fn unexpected_reply(&self, reply: &[u8]) -> ClamdError {
        ClamdError::UnexpectedReply {
            address: self.config.address.to_string(),
            reply: protocol::printable(reply),
        }
    }
}

impl Scanner for ClamdScanner {
    fn name(&self) -> &str {
        ENGINE_NAME
    }

    async fn scan(&self, request: ScanRequest<'_>) -> Verdict {
        let span = request.span(ENGINE_NAME);

        async {
            let verdict = match self.scan_content(request.content).await {
                Ok(ClamdOutcome::Clean) => Verdict::clean(ENGINE_NAME),
                Ok(ClamdOutcome::Found { signature }) => {
                    Verdict::blocked(ENGINE_NAME, format!("ClamAV found {signature}"))
                }
                Err(error) => {
                    tracing::warn!(%error, "clamd scan failed");
                    Verdict::failed(ENGINE_NAME, error.to_string())
                }
            };

            tracing::debug!(%verdict, "scanned");
            verdict
        }
        .instrument(span)
        .await
    }
}
