//! Delivery of processed messages to the next hop.
//!
//! The next hop is either an SMTP relay (the organisation's mail server) or,
//! for a gateway running on its own, a local Maildir. [`Delivery::deliver`]
//! returns only when the next hop has taken responsibility for the message:
//! the relay replied 250 to DATA, or the file was synced and renamed into
//! `new/`. Its error tells temporary failures (try again later) apart from
//! permanent ones.

mod error;
mod group;
mod line_endings;
mod maildir;
mod pool;
mod probe;
mod relay;
mod tls;

use std::path::PathBuf;

pub use error::DeliveryError;
pub use group::{Balance, RelayGroup};
pub use pool::{IDLE_TIMEOUT, MAX_IDLE_PER_RELAY};
pub use line_endings::normalize_line_endings;
pub use probe::probe_recipient;
pub use relay::RelayConfig;
pub use tls::{OutboundTls, TlsConnectors, TlsSetupError};

/// Destination of processed messages.
#[derive(Clone, Debug)]
pub enum NextHop {
    /// SMTP servers that accept the message for the recipients, tried in
    /// the group's order until one takes it.
    Relays(RelayGroup),
    /// A Maildir directory; `tmp/`, `new/` and `cur/` are created as needed.
    Maildir(PathBuf),
}

/// The envelope used on the way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundEnvelope {
    /// Reverse path without angle brackets; empty for the null sender.
    pub mail_from: String,
    /// Forward paths without angle brackets.
    pub rcpt_to: Vec<String>,
}

/// Proof that the next hop took the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryReceipt {
    /// The relay's reply to DATA.
    Relayed {
        /// `host:port` of the relay.
        relay: String,
    },
    /// The file written into the Maildir's `new/` directory.
    Stored {
        /// Full path of the message file.
        path: PathBuf,
    },
}

impl std::fmt::Display for DeliveryReceipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryReceipt::Relayed { relay } => write!(f, "accepted by {relay}"),
            DeliveryReceipt::Stored { path } => write!(f, "stored in {}", path.display()),
        }
    }
}

/// Delivers messages to one next hop.
#[derive(Clone, Debug)]
pub struct Delivery {
    next_hop: NextHop,
}

impl Delivery {
    /// Creates a delivery to `next_hop`.
    pub fn new(next_hop: NextHop) -> Delivery {
        Delivery { next_hop }
    }

    /// Returns the configured next hop.
    pub fn next_hop(&self) -> &NextHop {
        &self.next_hop
    }

    /// Delivers `message` to the next hop for `envelope`'s recipients.
    ///
    /// Line ends are normalised to CR LF first: bare LF or CR in a message
    /// received from a lenient client would otherwise reach the next hop.
    ///
    /// # Errors
    ///
    /// [`DeliveryError`]; [`DeliveryError::is_temporary`] tells whether a
    /// later attempt may succeed.
    pub async fn deliver(&self, envelope: &OutboundEnvelope, message: &[u8]) -> Result<DeliveryReceipt, DeliveryError> {
        let message = normalize_line_endings(message);
        match &self.next_hop {
            NextHop::Relays(group) => deliver_to_group(group, envelope, &message).await,
            NextHop::Maildir(directory) => maildir::store(directory, &message).await,
        }
    }
}

/// Tries the relays of `group` in turn. A temporary failure moves on to the
/// next relay; a permanent one (5xx) ends the attempt, since the relays
/// serve the same recipients. Returns the last error when all fail.
async fn deliver_to_group(group: &RelayGroup, envelope: &OutboundEnvelope, message: &[u8]) -> Result<DeliveryReceipt, DeliveryError> {
    let mut last_error = None;
    let relays = group.relays().len();

    for (attempt, config) in group.attempt_order().enumerate() {
        match relay::send(config, group.pool(), envelope, message).await {
            Ok(receipt) => return Ok(receipt),
            Err(error) if error.is_temporary() => {
                if attempt + 1 < relays {
                    tracing::warn!(relay = %config.address(), %error, "relay failed; trying the next one");
                }
                last_error = Some(error);
            }
            Err(error) => return Err(error),
        }
    }

    Err(last_error.unwrap_or_else(|| DeliveryError::Unreachable { relay: "none".to_string(), reason: "no relay configured".to_string() }))
}
