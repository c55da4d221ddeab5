//! Asking an SMTP next hop whether it takes a recipient, without sending a
//! message: the callout behind recipient look-ahead.

use mail_send::smtp::message::Parameters;

use crate::error::DeliveryError;
use crate::relay::{RelayConfig, connect, map_error};

/// Connects to the relay, sends EHLO, `MAIL FROM:<>` and `RCPT TO:<recipient>`,
/// and ends with QUIT. The null sender keeps a relay that bounces on its own
/// from ever sending a bounce for the probe.
///
/// # Errors
///
/// [`DeliveryError::Rejected`] with the relay's reply when it refuses the
/// sender or the recipient, [`DeliveryError::Unreachable`] when it cannot be
/// reached or times out.
pub async fn probe_recipient(config: &RelayConfig, recipient: &str) -> Result<(), DeliveryError> {
    let relay = config.address();

    let mut client = connect(config).await?;

    let no_parameters = Parameters::default();
    client.mail_from("", &no_parameters).await.map_err(|error| map_error(&relay, error))?;
    let answer = client.rcpt_to(recipient, &no_parameters).await.map_err(|error| map_error(&relay, error));

    if let Err(error) = client.quit().await {
        tracing::debug!(%relay, error = %map_error(&relay, error), "QUIT after a recipient probe failed");
    }
    answer
}
