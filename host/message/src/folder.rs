//! Vault folder names for one message.
//!
//! Each message gets one folder:
//!
//! ```text
//! <root>/<YYYY-MM-DD>/<subject>_<<sender>>_<<message id>>
//! ```
//!
//! The date is the UTC calendar day of the `Date` header, or of the arrival
//! time when that header is missing or invalid. The sender is the first
//! `From` address, else the envelope sender, else `unknown`. A message
//! without `Message-ID` gets `No Message Id (<key>)`, where the key is a
//! digest of the message's content (see [`MessageKey`]), so processing the
//! same message again lands in the same folder.
//!
//! Each component is sanitised on its own and always yields exactly one
//! folder level. Path and drive separators (`/`, `\`, `:`) and angle brackets
//! become `_`, and control characters become spaces. A component made only of
//! dots is replaced, and each value is cut to a bounded length on a character
//! boundary.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::parse::ParsedMessage;

/// Maximum length of the subject in a folder name, in characters.
const MAX_SUBJECT_CHARS: usize = 80;
/// Maximum length of the sender address in a folder name, in characters.
const MAX_SENDER_CHARS: usize = 100;
/// Maximum length of the message id in a folder name, in characters.
const MAX_MESSAGE_ID_CHARS: usize = 100;
/// Subject used when the message has none or it sanitises to nothing.
const NO_SUBJECT: &str = "No Subject";

/// Deterministic key of a message's content, used in place of a missing
/// `Message-ID`.
///
/// The key is the first 16 hex digits of a SHA-256 over the first `From`,
/// `To`, `Cc`, `Date` and `Subject` header values and the bytes after the
/// header block. Trace headers that relays add (`Received`, `Return-Path`)
/// are left out, so the key survives a second pass through a relay.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageKey(String);

impl MessageKey {
    /// Computes the key of `message`.
    pub fn of(message: &ParsedMessage) -> MessageKey {
        let mut hasher = Sha256::new();

        for name in ["From", "To", "Cc", "Date", "Subject"] {
            let value = message
                .headers
                .iter()
                .find(|header| header.name.eq_ignore_ascii_case(name))
                .map(|header| header.value.as_str())
                .unwrap_or_default();
            hasher.update(name.as_bytes());
            hasher.update(b":");
            hasher.update(value.as_bytes());
            hasher.update(b"\n");
        }
        let body_start = message.parts.first().map_or(0, |root| root.body_range.start);
        hasher.update(message.raw.get(body_start..).unwrap_or_default());

        let digest = hasher.finalize();
        let hex: String = digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        MessageKey(hex)
    }

    /// Returns the key as 16 lower-case hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The vault folder of one message, as a `/`-separated path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderName(String);

impl FolderName {
    /// Builds the folder of `message` under `root`.
    ///
    /// `arrival` is used for the date when the message has no valid `Date`.
    /// `envelope_sender` is used when the message has no `From` address.
    pub fn for_message(
        root: &str,
        message: &ParsedMessage,
        envelope_sender: &str,
        arrival: DateTime<Utc>,
    ) -> FolderName {
        let date = message.date.unwrap_or(arrival).format("%Y-%m-%d").to_string();

        let subject = message.subject.as_deref().unwrap_or_default();
        let sender = message
            .from
            .as_deref()
            .filter(|from| !from.trim().is_empty())
            .unwrap_or(envelope_sender);
        let message_id = match &message.message_id {
            Some(id) => sanitize(id, MAX_MESSAGE_ID_CHARS, "unknown"),
            None => format!("No Message Id ({})", MessageKey::of(message).as_str()),
        };

        FolderName::from_parts(root, &date, subject, sender, &message_id)
    }

    /// Builds a folder from already chosen values; each value is sanitised.
    pub fn from_parts(root: &str, date: &str, subject: &str, sender: &str, message_id: &str) -> FolderName {
        let root = root
            .split('/')
            .map(|level| sanitize(level, usize::MAX, ""))
            .filter(|level| !level.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        let subject = sanitize(subject, MAX_SUBJECT_CHARS, NO_SUBJECT);
        let sender = sanitize(sender, MAX_SENDER_CHARS, "unknown");
        let message_id = sanitize(message_id, MAX_MESSAGE_ID_CHARS + 32, "unknown");
        let leaf = format!("{subject}_<{sender}>_<{message_id}>");

        if root.is_empty() {
            FolderName(format!("{date}/{leaf}"))
        } else {
            FolderName(format!("{root}/{date}/{leaf}"))
        }
    }

    /// Returns the folder path, levels separated by `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FolderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Makes `value` safe as part of one folder level.
///
/// Control characters (CR and LF included) become spaces, path and drive
/// separators and angle brackets become `_`, runs of white space collapse,
/// surrounding white space and dots are trimmed, and the result is cut to
/// `max_chars` characters. An empty result becomes `fallback`.
fn sanitize(value: &str, max_chars: usize, fallback: &str) -> String {
    let mut cleaned = String::with_capacity(value.len());
    let mut last_was_space = false;

    for character in value.chars() {
        let mapped = match character {
            c if c.is_control() || c.is_whitespace() => ' ',
            '/' | '\\' | ':' | '<' | '>' | '\u{feff}' => '_',
            c => c,
        };
        if mapped == ' ' {
            if !last_was_space {
                cleaned.push(' ');
            }
            last_was_space = true;
        } else {
            cleaned.push(mapped);
            last_was_space = false;
        }
    }

    let trimmed: String = cleaned
        .trim_matches(|c: char| c == ' ' || c == '.')
        .chars()
        .take(max_chars)
        .collect();
    let trimmed = trimmed.trim_end_matches([' ', '.']).to_string();

    if trimmed.is_empty() { fallback.to_string() } else { trimmed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_of(folder: &FolderName) -> &str {
        folder.as_str().rsplit('/').next().unwrap()
    }

    fn assert_one_level(folder: &FolderName, root: &str) {
        let levels: Vec<&str> = folder.as_str().split('/').collect();
        let root_levels = root.split('/').filter(|level| !level.is_empty()).count();
        assert_eq!(levels.len(), root_levels + 2, "unexpected levels in {folder}");
        for level in &levels {
            assert!(!level.is_empty(), "empty level in {folder}");
            assert_ne!(*level, "..", "dot-dot level in {folder}");
            assert_ne!(*level, ".", "dot level in {folder}");
            assert!(!level.chars().any(char::is_control), "control character in {folder}");
        }
    }

    #[test]
    fn folder_plain_values() {
        let folder = FolderName::from_parts(
            "Email Gateway",
            "2026-09-28",
            "Quarterly report",
            "alice@example.com",
            "12345@example.com",
        );
        assert_eq!(
            folder.as_str(),
            "Email Gateway/2026-09-28/Quarterly report_<alice@example.com>_<12345@example.com>"
        );
    }

    #[test]
    fn folder_hostile_values_stay_one_level() {
        let long = "x".repeat(5000);
        let cases = [
            ("../../etc/passwd", "a@example.com", "id@example.com"),
            ("..", "..", ".."),
            ("a/b\\c:d", "evil/../x@example.com", "<id/../x>"),
            ("line\r\nBcc: victim@example.com", "a@example.com\r\n", "id\r\n@x"),
            ("\u{0}\u{1}\u{1b}[31m", "\t", " "),
            (long.as_str(), long.as_str(), long.as_str()),
            ("", "", ""),
            ("...", ". .", "<>"),
            ("\u{feff}Rechnung", "b\u{fc}ro@example.com", "\u{65e5}\u{672c}@example.jp"),
        ];

        for (subject, sender, id) in cases {
            let folder = FolderName::from_parts("Email Gateway", "2026-09-28", subject, sender, id);
            assert_one_level(&folder, "Email Gateway");
            assert!(leaf_of(&folder).chars().count() < 400, "leaf too long: {folder}");

            let again = FolderName::from_parts("Email Gateway", "2026-09-28", subject, sender, id);
            assert_eq!(folder, again);
        }
    }

    #[test]
    fn folder_crlf_never_reaches_name() {
        let folder = FolderName::from_parts("root", "2026-01-01", "a\r\nb", "s@x", "i@x");
        assert!(!folder.as_str().contains('\r'));
        assert!(!folder.as_str().contains('\n'));
        assert_eq!(leaf_of(&folder), "a b_<s@x>_<i@x>");
    }

    #[test]
    fn folder_dot_dot_subject_replaced() {
        let folder = FolderName::from_parts("root", "2026-01-01", "..", "..", "..");
        assert_eq!(leaf_of(&folder), "No Subject_<unknown>_<unknown>");
    }

    #[test]
    fn folder_long_subject_cut_on_char_boundary() {
        let subject = "\u{e9}".repeat(200);
        let folder = FolderName::from_parts("root", "2026-01-01", &subject, "s@x", "i@x");
        let kept = leaf_of(&folder).split("_<").next().unwrap();
        assert_eq!(kept.chars().count(), MAX_SUBJECT_CHARS);
    }

    #[test]
    fn folder_root_with_slashes_kept_as_levels() {
        let folder = FolderName::from_parts("/Mail/Gateway/", "2026-01-01", "s", "a@x", "i@x");
        assert_eq!(folder.as_str(), "Mail/Gateway/2026-01-01/s_<a@x>_<i@x>");
    }

    #[test]
    fn folder_missing_message_id_is_stable() {
        let raw = b"From: a@example.com\r\nSubject: no id\r\nDate: Mon, 28 Sep 2026 10:00:00 +0000\r\n\r\nbody\r\n".to_vec();
        let first = ParsedMessage::parse(raw.clone()).unwrap();
        let mut relayed = b"Received: from relay.example.com\r\n".to_vec();
        relayed.extend_from_slice(&raw);
        let second = ParsedMessage::parse(relayed).unwrap();

        let arrival = Utc::now();
        let folder_first = FolderName::for_message("root", &first, "", arrival);
        let folder_second = FolderName::for_message("root", &second, "", arrival);

        assert_eq!(folder_first, folder_second);
        assert!(folder_first.as_str().contains("_<No Message Id ("), "{folder_first}");
        assert!(folder_first.as_str().starts_with("root/2026-09-28/no id_<a@example.com>_"));
    }

    #[test]
    fn folder_missing_message_id_differs_per_message() {
        let one = ParsedMessage::parse(b"From: a@example.com\r\nSubject: s\r\n\r\none\r\n".to_vec()).unwrap();
        let two = ParsedMessage::parse(b"From: a@example.com\r\nSubject: s\r\n\r\ntwo\r\n".to_vec()).unwrap();
        assert_ne!(MessageKey::of(&one), MessageKey::of(&two));
    }

    #[test]
    fn folder_invalid_date_uses_arrival() {
        let message = ParsedMessage::parse(
            b"From: a@example.com\r\nDate: Mon, 28 Sep 2026 27:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nb\r\n".to_vec(),
        )
        .unwrap();
        let arrival = DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z").unwrap().with_timezone(&Utc);
        let folder = FolderName::for_message("root", &message, "", arrival);
        assert!(folder.as_str().starts_with("root/2026-12-04/"), "{folder}");
    }
}
