//! Delivery to one SMTP relay with `mail-send`, upgraded with STARTTLS
//! according to the relay's [`OutboundTls`] setting.

use std::time::Duration;

use mail_send::smtp::message::{Message, Parameters};
use mail_send::{SmtpClient, SmtpClientBuilder};
use smtp_proto::EXT_START_TLS;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::error::DeliveryError;
use crate::pool::ConnectionPool;
use crate::tls::{OutboundTls, TlsConnectors};
use crate::{DeliveryReceipt, OutboundEnvelope};

/// An SMTP next hop.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Host name or IP address of the relay; with [`OutboundTls::Required`]
    /// its certificate must be valid for this name.
    pub host: String,
    /// TCP port of the relay.
    pub port: u16,
    /// Name sent in EHLO.
    pub hello_name: String,
    /// Limit for connecting and for each command, DATA included.
    pub timeout: Duration,
    /// Use of STARTTLS. Default [`OutboundTls::Opportunistic`].
    pub tls: OutboundTls,
    /// Connectors for STARTTLS. Default: certificates checked against the
    /// Mozilla root certificates only.
    pub connectors: TlsConnectors,
}

impl RelayConfig {
    /// Creates the settings of a relay with opportunistic STARTTLS.
    pub fn new(host: impl Into<String>, port: u16, hello_name: impl Into<String>, timeout: Duration) -> RelayConfig {
        RelayConfig {
            host: host.into(),
            port,
            hello_name: hello_name.into(),
            timeout,
            tls: OutboundTls::default(),
            connectors: TlsConnectors::mozilla_roots(),
        }
    }

    /// `host:port` for logs and errors.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// An SMTP session with the relay after EHLO, in plain text or over TLS.
pub(crate) enum RelayClient {
    Plain(SmtpClient<TcpStream>),
    Tls(Box<SmtpClient<TlsStream<TcpStream>>>),
}

impl RelayClient {
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, RelayClient::Tls(_))
    }

    async fn send(&mut self, message: Message<'_>) -> mail_send::Result<()> {
        match self {
            RelayClient::Plain(client) => client.send(message).await,
            RelayClient::Tls(client) => client.send(message).await,
        }
    }

    pub(crate) async fn mail_from(&mut self, address: &str) -> mail_send::Result<()> {
        let none = Parameters::default();
        match self {
            RelayClient::Plain(client) => client.mail_from(address, &none).await,
            RelayClient::Tls(client) => client.mail_from(address, &none).await,
        }
    }

    /// Resets the session with RSET; fails when the relay closed it.
    async fn rset(&mut self) -> mail_send::Result<()> {
        match self {
            RelayClient::Plain(client) => client.rset().await,
            RelayClient::Tls(client) => client.rset().await,
        }
    }

    pub(crate) async fn rcpt_to(&mut self, address: &str) -> mail_send::Result<()> {
        let none = Parameters::default();
        match self {
            RelayClient::Plain(client) => client.rcpt_to(address, &none).await,
            RelayClient::Tls(client) => client.rcpt_to(address, &none).await,
        }
    }

    /// Sends QUIT; a failure only matters for the log.
    pub(crate) async fn quit(self, relay: &str) {
        let result = match self {
            RelayClient::Plain(client) => client.quit().await,
            RelayClient::Tls(client) => client.quit().await,
        };
        if let Err(error) = result {
            tracing::debug!(%relay, error = %map_error(relay, error), "QUIT failed");
        }
    }
}

/// Sends `message` to the relay, over an idle connection from `pool` when
/// one is still open, and returns the connection to the pool afterwards.
pub(crate) async fn send(
    config: &RelayConfig,
    pool: &ConnectionPool,
    envelope: &OutboundEnvelope,
    message: &[u8],
) -> Result<DeliveryReceipt, DeliveryError> {
    let relay = config.address();
    let mut client = match reused(pool, &relay).await {
        Some(client) => client,
        None => open(config).await?,
    };
    let tls = client.is_tls();

    // mail-send ends the data with CR LF . CR LF itself; without this the
    // message would gain an empty last line.
    let body = message.strip_suffix(b"\r\n").unwrap_or(message);
    let outbound = Message::new(envelope.mail_from.as_str(), envelope.rcpt_to.iter().map(String::as_str), body);
    client.send(outbound).await.map_err(|error| map_error(&relay, error))?;
    pool.put(&relay, client);

    tracing::info!(%relay, tls, recipients = envelope.rcpt_to.len(), "message relayed");
    Ok(DeliveryReceipt::Relayed { relay })
}

/// Takes an idle connection to `relay` from `pool` that still answers RSET.
async fn reused(pool: &ConnectionPool, relay: &str) -> Option<RelayClient> {
    while let Some(mut client) = pool.take(relay) {
        match client.rset().await {
            Ok(()) => return Some(client),
            Err(error) => tracing::debug!(%relay, error = %map_error(relay, error), "idle connection closed; dropped"),
        }
    }
    None
}

/// Connects to the relay and sends EHLO. Depending on `config.tls`, then
/// upgrades the connection with STARTTLS and sends EHLO again.
///
/// # Errors
///
/// [`DeliveryError::Unreachable`] when the relay cannot be reached,
/// [`DeliveryError::Rejected`] when it rejects EHLO, and
/// [`DeliveryError::Tls`] when TLS is required but not offered or fails.
pub(crate) async fn open(config: &RelayConfig) -> Result<RelayClient, DeliveryError> {
    let relay = config.address();
    let (client, offers_tls) = greet(config).await?;

    match (config.tls, offers_tls) {
        (OutboundTls::Off, _) | (OutboundTls::Opportunistic, false) => return Ok(RelayClient::Plain(client)),
        (OutboundTls::Required, false) => {
            return Err(DeliveryError::Tls { relay, reason: "the relay does not offer STARTTLS, and delivery.tls is `required`".to_string() });
        }
        (_, true) => {}
    }

    let connector = if config.tls == OutboundTls::Required { &config.connectors.verified } else { &config.connectors.unverified };
    let upgraded = match client.start_tls(connector, &config.host).await {
        Ok(mut tls) => tls.ehlo(&config.hello_name).await.map(|_| tls),
        Err(error) => Err(error),
    };

    match upgraded {
        Ok(tls) => Ok(RelayClient::Tls(Box::new(tls))),
        Err(error) if config.tls == OutboundTls::Opportunistic => {
            tracing::warn!(%relay, error = %map_error(&relay, error), "STARTTLS failed; delivering in plain text on a new connection");
            let (client, _) = greet(config).await?;
            Ok(RelayClient::Plain(client))
        }
        Err(error) => Err(DeliveryError::Tls { relay: relay.clone(), reason: map_error(&relay, error).to_string() }),
    }
}

/// Connects, reads the greeting and sends EHLO; returns the client and
/// whether the relay offers STARTTLS.
async fn greet(config: &RelayConfig) -> Result<(SmtpClient<TcpStream>, bool), DeliveryError> {
    let relay = config.address();

    let mut client = SmtpClientBuilder::new(config.host.as_str(), config.port)
        .helo_host(config.hello_name.as_str())
        .timeout(config.timeout)
        .say_ehlo(false)
        .connect_plain()
        .await
        .map_err(|error| map_error(&relay, error))?;
    // Without this, a reused connection waits for delayed ACKs between the
    // writes of one message (Nagle's algorithm).
    if let Err(error) = client.stream.set_nodelay(true) {
        tracing::debug!(%relay, %error, "cannot turn off Nagle's algorithm on the relay connection");
    }
    let capabilities = client.ehlo(&config.hello_name).await.map_err(|error| map_error(&relay, error))?;

    Ok((client, capabilities.has_capability(EXT_START_TLS)))
}

pub(crate) fn map_error(relay: &str, error: mail_send::Error) -> DeliveryError {
    match error {
        mail_send::Error::UnexpectedReply(reply) | mail_send::Error::AuthenticationFailed(reply) => {
            let [class, subject, detail] = reply.esc;
            let enhanced_status = (class != 0).then(|| format!("{class}.{subject}.{detail}"));
            DeliveryError::Rejected { relay: relay.to_string(), code: reply.code, message: reply.message, enhanced_status }
        }
        mail_send::Error::Timeout => DeliveryError::Unreachable { relay: relay.to_string(), reason: "timed out".to_string() },
        mail_send::Error::Io(error) => DeliveryError::Unreachable { relay: relay.to_string(), reason: error.to_string() },
        mail_send::Error::Tls(error) => DeliveryError::Tls { relay: relay.to_string(), reason: error.to_string() },
        other => DeliveryError::Unreachable { relay: relay.to_string(), reason: format!("{other:?}") },
    }
}
