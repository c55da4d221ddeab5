//! Asking an SMTP next hop whether it takes a recipient, without sending a
//! message: the callout behind recipient look-ahead.

use crate::error::DeliveryError;
use crate::relay::{RelayConfig, map_error, open};

/// Connects to the relay (with STARTTLS as for delivery), sends
/// `MAIL FROM:<>` and `RCPT TO:<recipient>`, and ends with QUIT. The null
/// sender keeps a relay that bounces on its own from ever sending a bounce
/// for the probe.
///
/// # Errors
///
/// [`DeliveryError::Rejected`] with the relay's reply when it rejects the
/// sender or the recipient, [`DeliveryError::Unreachable`] or
/// [`DeliveryError::Tls`] when it cannot be reached.
pub async fn probe_recipient(config: &RelayConfig, recipient: &str) -> Result<(), DeliveryError> {
    let relay = config.address();
    let mut client = open(config).await?;

    let mut answer = client.mail_from("").await.map_err(|error| map_error(&relay, error));
    if answer.is_ok() {
        answer = client.rcpt_to(recipient).await.map_err(|error| map_error(&relay, error));
    }

    client.quit(&relay).await;
    answer
}
