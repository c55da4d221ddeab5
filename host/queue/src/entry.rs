//! The metadata of one spooled message, stored as JSON next to its data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::QueueId;

/// Version of the metadata format; [`Entry::from_json`] rejects others.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The SMTP envelope a message arrived with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEnvelope {
    /// IP address of the SMTP client, as text.
    pub client_address: String,
    /// Name the client gave in EHLO or HELO.
    pub helo: String,
    /// Reverse path without angle brackets; empty for the null sender.
    pub mail_from: String,
    /// Forward paths without angle brackets, in RCPT order.
    pub rcpt_to: Vec<String>,
}

/// How far processing of a spooled message has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Only the message as received is stored; rules have not run yet.
    Received,
    /// The rewritten outbound message is stored; attachments are uploaded,
    /// and only delivery remains.
    Processed,
}

/// The state of one spooled message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Format version, [`FORMAT_VERSION`] when written by this code.
    pub version: u32,
    /// Id of the message, also the stem of its file names.
    pub queue_id: QueueId,
    /// When the gateway accepted the message.
    pub arrival: DateTime<Utc>,
    /// The envelope as received.
    pub envelope: QueuedEnvelope,
    /// Processing or delivery attempts so far.
    pub attempts: u32,
    /// Earliest time of the next attempt.
    pub next_attempt: DateTime<Utc>,
    /// Cause of the last failed attempt.
    pub last_error: Option<String>,
    /// How far processing has come.
    pub stage: Stage,
    /// Record of processing kept by the gateway, so that the history record
    /// written at the final outcome contains it. Opaque to the spool.
    #[serde(default)]
    pub processing_record: Option<serde_json::Value>,
}

impl Entry {
    /// Creates the entry of a message that arrives now, due at once.
    pub fn new(queue_id: QueueId, envelope: QueuedEnvelope, stage: Stage, now: DateTime<Utc>) -> Entry {
        Entry {
            version: FORMAT_VERSION,
            queue_id,
            arrival: now,
            envelope,
            attempts: 0,
            next_attempt: now,
            last_error: None,
            stage,
            processing_record: None,
        }
    }

    /// Serializes the entry.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Parses a metadata file's content; the error names the problem.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Entry, String> {
        let entry: Entry = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        if entry.version != FORMAT_VERSION {
            return Err(format!("format version {} is not supported (expected {FORMAT_VERSION})", entry.version));
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        let envelope = QueuedEnvelope {
            client_address: "192.0.2.7".to_string(),
            helo: "client.example".to_string(),
            mail_from: "alice@example.com".to_string(),
            rcpt_to: vec!["bob@example.org".to_string()],
        };
        Entry::new(QueueId::generate(), envelope, Stage::Received, Utc::now())
    }

    #[test]
    fn entry_json_round_trip() {
        let mut entry = sample();
        entry.attempts = 3;
        entry.last_error = Some("next hop down".to_string());
        entry.processing_record = Some(serde_json::json!({ "subject": "x" }));

        let parsed = Entry::from_json(&entry.to_json()).unwrap();

        assert_eq!(parsed, entry);
    }

    #[test]
    fn entry_other_version_rejected() {
        let mut entry = sample();
        entry.version = 99;

        let error = Entry::from_json(&entry.to_json()).unwrap_err();

        assert!(error.contains("version 99"), "{error}");
    }

    #[test]
    fn entry_torn_json_rejected() {
        let json = sample().to_json();

        assert!(Entry::from_json(&json[..json.len() / 2]).is_err());
    }
}
