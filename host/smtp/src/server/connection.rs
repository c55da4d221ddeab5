//! One SMTP connection: moves bytes between the socket and the I/O-free
//! [`Session`], calls the handler for each message, runs the TLS handshake
//! after STARTTLS and enforces timeouts.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{info, warn};

use super::config::SmtpServerConfig;
use super::data_stream::DataStream;
use super::handler::{MessageHandler, Outcome, ReceivedMessage, SessionId};
use super::stream::SmtpStream;
use crate::protocol::{CompletedMessage, Event, RecipientVerdict, Reply, Session};

/// Bytes read from the socket at once. Pipelined commands and data arrive in
/// pieces of up to this size.
const READ_BUFFER_SIZE: usize = 16 * 1024;

/// Error that ends a connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    #[error("connection I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out writing a reply to the client")]
    WriteTimeout,
    #[error("TLS handshake failed: {0}")]
    TlsHandshake(std::io::Error),
    #[error("TLS handshake timed out")]
    TlsHandshakeTimeout,
    #[error("STARTTLS accepted without a TLS configuration or on a TLS stream")]
    TlsUnavailable,
}

/// Reason a session ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// After QUIT.
    Quit,
    /// The session closed itself, after too many rejected commands.
    Closed,
    /// The client closed the connection without QUIT.
    ClientDisconnected,
    /// No input within `command_timeout`.
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

impl fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            SessionEnd::Quit => "client sent QUIT",
            SessionEnd::Closed => "closed by server after too many errors",
            SessionEnd::ClientDisconnected => "client disconnected",
            SessionEnd::Timeout => "timed out",
            SessionEnd::Shutdown => "server shutting down",
        };
        f.write_str(text)
    }
}

/// Everything one connection task needs besides its stream.
pub(crate) struct Connection<H> {
    pub peer: SocketAddr,
    pub session_id: SessionId,
    pub config: Arc<SmtpServerConfig>,
    pub handler: Arc<H>,
    pub shutdown: watch::Receiver<bool>,
}

impl<H: MessageHandler> Connection<H> {
    /// Runs the session to its end and logs how it ended. Call inside a span
    /// that names the session.
    pub async fn serve(mut self, stream: TcpStream) {
        info!("session started");

        let mut messages = 0usize;
        match self
            .run_session(SmtpStream::Plain(stream), &mut messages)
            .await
        {
            Ok(end) => info!(reason = %end, messages, "session ended"),
            Err(error) => warn!(%error, messages, "session failed"),
        }
    }

    async fn run_session(
        &mut self,
        mut stream: SmtpStream,
        messages: &mut usize,
    ) -> Result<SessionEnd, ConnectionError> {
        let timeout = self.config.command_timeout;
        let mut session = Session::new(self.config.session_config(self.peer.ip()));
        let mut output = Vec::new();
        let mut read_buffer = vec![0u8; READ_BUFFER_SIZE];
        let mut data_stream = DataStream::Waiting;

        session.greeting().write_to(&mut output);
        loop {
            // Process everything buffered, then flush the replies in one write.
            while let Some(event) = session.next_event() {
                match event {
                    Event::Reply(reply) => reply.write_to(&mut output),
                    Event::RelayDenied { recipient, reply } => {
                        info!(%recipient, client = %self.peer.ip(), "recipient rejected: relaying denied");
                        reply.write_to(&mut output);
                    }
                    Event::MessageRejected { size, reply } => {
                        info!(size, %reply, "message rejected");
                        reply.write_to(&mut output);
                    }
                    Event::Message(message) => {
                        self.send(&mut stream, &mut output).await?;
                        *messages += 1;
                        let reply = self.deliver(message, data_stream.take()).await;
                        session.complete_message();
                        reply.write_to(&mut output);
                    }
                    Event::VerifyRecipient(request) => {
                        self.send(&mut stream, &mut output).await?;
                        let recipient = request.recipient.clone();
                        let verdict = self.handler.verify_recipient(self.peer.ip(), request).await;
                        if verdict != RecipientVerdict::Accept {
                            info!(%recipient, ?verdict, "recipient rejected by look-ahead");
                        }
                        if let Some(reply) = session.recipient_verified(verdict) {
                            reply.write_to(&mut output);
                        }
                    }
                    Event::StartTls => {
                        self.send(&mut stream, &mut output).await?;
                        stream = self.start_tls(stream).await?;
                        session.tls_started();
                    }
                    Event::Close => {
                        self.send(&mut stream, &mut output).await?;
                        let _ = stream.shutdown().await;
                        return Ok(if session.quit_received() { SessionEnd::Quit } else { SessionEnd::Closed });
                    }
                }
                if !session.in_data() {
                    // A message rejected at its end drops its sink here.
                    drop(data_stream.take());
                }
            }
            self.send(&mut stream, &mut output).await?;
            data_stream.advance(self.handler.as_ref(), &session, &self.session_id, self.peer.ip()).await;

            // Wait for more input, the timeout or shutdown.
            let read = tokio::select! {
                biased;
                _ = self.shutdown.changed() => None,
                result = tokio::time::timeout(timeout, stream.read(&mut read_buffer)) => Some(result),
            };
            let end = match read {
                Some(Ok(Ok(0))) => {
                    if session.in_data() {
                        info!("client disconnected inside DATA, message discarded");
                    }
                    return Ok(SessionEnd::ClientDisconnected);
                }
                Some(Ok(Ok(count))) => {
                    session.receive(&read_buffer[..count]);
                    continue;
                }
                Some(Ok(Err(error))) => return Err(error.into()),
                Some(Err(_elapsed)) => (session.timeout_reply(), SessionEnd::Timeout),
                None => (session.shutdown_reply(), SessionEnd::Shutdown),
            };

            end.0.write_to(&mut output);
            self.send(&mut stream, &mut output).await?;
            let _ = stream.shutdown().await;
            return Ok(end.1);
        }
    }

    /// Runs the server side of the TLS handshake on a plain stream, bounded
    /// by `tls_handshake_timeout`.
    async fn start_tls(&self, stream: SmtpStream) -> Result<SmtpStream, ConnectionError> {
        let (SmtpStream::Plain(tcp), Some(tls)) = (stream, &self.config.tls) else {
            return Err(ConnectionError::TlsUnavailable);
        };

        let handshake = tls.acceptor().accept(tcp);
        let tls_stream =
            match tokio::time::timeout(self.config.tls_handshake_timeout, handshake).await {
                Ok(Ok(tls_stream)) => tls_stream,
                Ok(Err(error)) => return Err(ConnectionError::TlsHandshake(error)),
                Err(_elapsed) => return Err(ConnectionError::TlsHandshakeTimeout),
            };

        let (_, connection) = tls_stream.get_ref();
        info!(
            version = ?connection.protocol_version(),
            cipher_suite = ?connection.negotiated_cipher_suite().map(|suite| suite.suite()),
            "TLS started"
        );
        Ok(SmtpStream::Tls(Box::new(tls_stream)))
    }

    /// Hands a message to the handler, with the sink that got its start when
    /// there is one, logs the outcome and returns the reply.
    async fn deliver(&self, message: CompletedMessage, sink: Option<H::Sink>) -> Reply {
        let size = message.data.len();
        let recipients = message.rcpt_to.len();
        let mail_from = message.mail_from.clone();
        let received = ReceivedMessage {
            session_id: self.session_id.clone(),
            client_address: self.peer.ip(),
            helo: message.helo,
            mail_from: message.mail_from,
            rcpt_to: message.rcpt_to,
            data: message.data,
        };

        let outcome = match sink {
            Some(sink) => self.handler.handle_streamed(received, sink).await,
            None => self.handler.handle(received).await,
        };

        match &outcome {
            Outcome::Accepted { queue_id } => {
                info!(%queue_id, %mail_from, recipients, size, "message accepted")
            }
            Outcome::TemporaryFailure { reason } => {
                warn!(%reason, %mail_from, recipients, size, "message deferred with temporary failure")
            }
            Outcome::PermanentFailure { reason } => {
                info!(%reason, %mail_from, recipients, size, "message rejected")
            }
        }
        outcome.reply()
    }

    /// Writes and clears `output`, bounded by `command_timeout`.
    async fn send(
        &self,
        stream: &mut SmtpStream,
        output: &mut Vec<u8>,
    ) -> Result<(), ConnectionError> {
        if output.is_empty() {
            return Ok(());
        }

        let write = async {
            stream.write_all(output).await?;
            stream.flush().await
        };
        match tokio::time::timeout(self.config.command_timeout, write).await {
            Ok(result) => result?,
            Err(_elapsed) => return Err(ConnectionError::WriteTimeout),
        }

        output.clear();
        Ok(())
    }
}

/// Sends `reply` to a connection over a session limit and closes it, giving
/// up after `write_timeout`.
pub(crate) async fn reject_connection(
    mut stream: TcpStream,
    reply: Reply,
    write_timeout: Duration,
) {
    let reply = reply.to_bytes();

    let write = stream.write_all(&reply);
    if let Ok(Ok(())) = tokio::time::timeout(write_timeout, write).await {
        let _ = stream.shutdown().await;
    }
}
