//! Identifiers of the gateway.

use std::fmt;

/// Id the gateway gives each message it accepts, quoted in the 250 reply,
/// the `Received` header and every log line about the message.
///
/// Twelve upper-case hex digits from a random source: unique enough to find
/// one message in the logs of one gateway.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QueueId(String);

impl QueueId {
    /// Generates a new random id.
    pub fn generate() -> QueueId {
        QueueId(format!("{:012X}", rand::random::<u64>() & 0xFFFF_FFFF_FFFF))
    }

    /// Returns the id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
