//! Idle SMTP connections to the relays, kept for the next message.
//!
//! Opening a connection costs a TCP handshake, the greeting, EHLO and often
//! STARTTLS; at hundreds of messages per second that is most of the work of
//! a delivery. After a successful delivery the connection goes back into
//! the pool instead of ending with QUIT. A connection taken from the pool is
//! first checked with RSET, so one that the relay closed in the meantime is
//! dropped and replaced by a new one before any message data is sent.
//!
//! At most [`MAX_IDLE_PER_RELAY`] connections per relay are kept, each for
//! at most [`IDLE_TIMEOUT`]; relays commonly close idle sessions after a few
//! minutes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::relay::RelayClient;

/// Maximum number of idle connections kept per relay.
pub const MAX_IDLE_PER_RELAY: usize = 16;

/// Maximum time a connection stays in the pool unused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Idle connections by relay address (`host:port`).
#[derive(Default)]
pub(crate) struct ConnectionPool {
    idle: Mutex<HashMap<String, Vec<(Instant, RelayClient)>>>,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionPool")
    }
}

impl ConnectionPool {
    /// Takes the most recently used idle connection to `relay` that is
    /// younger than [`IDLE_TIMEOUT`]; older ones are dropped.
    pub(crate) fn take(&self, relay: &str) -> Option<RelayClient> {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let connections = idle.get_mut(relay)?;

        connections.retain(|(since, _)| since.elapsed() < IDLE_TIMEOUT);
        connections.pop().map(|(_, client)| client)
    }

    /// Keeps `client` for the next message to `relay`. When the pool already
    /// contains [`MAX_IDLE_PER_RELAY`] connections to it, `client` is dropped.
    pub(crate) fn put(&self, relay: &str, client: RelayClient) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let connections = idle.entry(relay.to_string()).or_default();

        if connections.len() < MAX_IDLE_PER_RELAY {
            connections.push((Instant::now(), client));
        }
    }
}
