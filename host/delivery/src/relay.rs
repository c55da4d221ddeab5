//! Delivery to an SMTP relay with `mail-send`.

use std::time::Duration;

use mail_send::SmtpClientBuilder;
use mail_send::smtp::message::Message;

use crate::error::DeliveryError;
use crate::{DeliveryReceipt, OutboundEnvelope};

/// An SMTP next hop.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Host name or IP address of the relay.
    pub host: String,
    /// TCP port of the relay.
    pub port: u16,
    /// Name sent in EHLO.
    pub hello_name: String,
    /// Limit for connecting and for each command, DATA included.
    pub timeout: Duration,
}

impl RelayConfig {
    /// `host:port` for logs and errors.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Sends `message` over plain SMTP.
///
/// NOTE: the relay is reached without STARTTLS; place it on a trusted
/// network until outbound TLS is supported.
pub(crate) async fn send(
    config: &RelayConfig,
    envelope: &OutboundEnvelope,
    message: &[u8],
) -> Result<DeliveryReceipt, DeliveryError> {
    let relay = config.address();

    let mut client = SmtpClientBuilder::new(config.host.as_str(), config.port)
        .helo_host(config.hello_name.as_str())
        .timeout(config.timeout)
        .connect_plain()
        .await
        .map_err(|error| map_error(&relay, error))?;

    // mail-send ends the data with CR LF . CR LF itself; without this the
    // message would gain an empty last line.
    let body = message.strip_suffix(b"\r\n").unwrap_or(message);
    let outbound = Message::new(envelope.mail_from.as_str(), envelope.rcpt_to.iter().map(String::as_str), body);
    client.send(outbound).await.map_err(|error| map_error(&relay, error))?;

    if let Err(error) = client.quit().await {
        tracing::debug!(%relay, error = %map_error(&relay, error), "QUIT after delivery failed");
    }

    tracing::info!(%relay, recipients = envelope.rcpt_to.len(), "message relayed");
    Ok(DeliveryReceipt::Relayed { relay })
}

fn map_error(relay: &str, error: mail_send::Error) -> DeliveryError {
    match error {
        mail_send::Error::UnexpectedReply(reply) | mail_send::Error::AuthenticationFailed(reply) => {
            let [class, subject, detail] = reply.esc;
            let enhanced_status = (class != 0).then(|| format!("{class}.{subject}.{detail}"));
            DeliveryError::Rejected { relay: relay.to_string(), code: reply.code, message: reply.message, enhanced_status }
        }
        mail_send::Error::Timeout => DeliveryError::Unreachable { relay: relay.to_string(), reason: "timed out".to_string() },
        mail_send::Error::Io(error) => DeliveryError::Unreachable { relay: relay.to_string(), reason: error.to_string() },
        other => DeliveryError::Unreachable { relay: relay.to_string(), reason: format!("{other:?}") },
    }
}
