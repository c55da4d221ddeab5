//! The queue id of a message.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Number of hexadecimal digits in a queue id.
const ID_DIGITS: usize = 12;

/// Id the gateway gives each message it accepts, quoted in the 250 reply,
/// the `Received` header, every log line about the message and the names of
/// its spool files.
///
/// Twelve upper-case hex digits from a random source: unique enough to find
/// one message in the logs of one gateway. The spool never reuses the id of
/// a message it still holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QueueId(String);

impl QueueId {
    /// Generates a new random id.
    pub fn generate() -> QueueId {
        QueueId(format!("{:012X}", rand::random::<u64>() & 0xFFFF_FFFF_FFFF))
    }

    /// Parses an id; returns `None` unless `text` is twelve upper-case hex
    /// digits, so a parsed id is always a safe file name.
    pub fn parse(text: &str) -> Option<QueueId> {
        let valid = text.len() == ID_DIGITS && text.bytes().all(|byte| byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte));
        valid.then(|| QueueId(text.to_string()))
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

impl TryFrom<String> for QueueId {
    type Error = String;

    fn try_from(text: String) -> Result<QueueId, String> {
        QueueId::parse(&text).ok_or_else(|| format!("`{text}` is not a queue id (twelve upper-case hex digits)"))
    }
}

impl From<QueueId> for String {
    fn from(id: QueueId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_parses() {
        let id = QueueId::generate();

        assert_eq!(QueueId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn parse_rejects_other_text() {
        for text in ["", "0123456789AB0", "0123456789ab", "../../etc/pa", "0123456789AG"] {
            assert_eq!(QueueId::parse(text), None, "{text:?}");
        }
    }
}
