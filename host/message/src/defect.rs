//! Defects: oddities in a message that the parser noticed and tolerated.
//!
//! A defect never stops processing. The gateway repairs what it can (see
//! [`crate::repair`]) or applies one documented reading, and keeps the list
//! so that the history shows what was odd about a message.

use std::fmt;

use crate::part::PartId;

/// One oddity found while parsing a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Defect {
    /// Some lines ended in a bare LF. The parsed message, and therefore the
    /// rewritten one, has CR LF line ends throughout.
    BareLineFeed,
    /// The top-level header block ran into the first boundary delimiter
    /// without the blank line that ends it. The gateway inserted the blank
    /// line, so the delimiter starts the first part.
    MissingBlankLine,
    /// A `Content-Type` field has a parameter without the `;` in front of it.
    /// The gateway reads the parameter as if the `;` were there.
    MissingParameterSeparator {
        /// The part whose header block has the field.
        part: PartId,
    },
    /// A `message/rfc822` part whose content is not a message: empty, or
    /// without a header field on its first line. It stays one attachment.
    NotAMessage {
        /// The part.
        part: PartId,
    },
    /// A base64 body with characters outside the base64 alphabet. They were
    /// skipped when decoding, so the content may be incomplete.
    InvalidBase64 {
        /// The part.
        part: PartId,
    },
    /// A top-level header field that may occur once occurs several times.
    /// The gateway uses the first instance.
    DuplicateHeader {
        /// The field name as it appears in the first instance.
        name: String,
    },
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Defect::BareLineFeed => write!(f, "bare LF line ends, read and written as CR LF"),
            Defect::MissingBlankLine => {
                write!(f, "no blank line between the header fields and the first MIME boundary; one was inserted")
            }
            Defect::MissingParameterSeparator { part } => {
                write!(f, "{part}: missing `;` before a Content-Type parameter")
            }
            Defect::NotAMessage { part } => write!(f, "{part}: message/rfc822 content is not a message"),
            Defect::InvalidBase64 { part } => {
                write!(f, "{part}: base64 content has characters outside the alphabet; they were skipped")
            }
            Defect::DuplicateHeader { name } => write!(f, "duplicate `{name}` header field; the first one is used"),
        }
    }
}
