//! Errors of message parsing.

/// Why a message could not be parsed at all.
///
/// Most malformed input still parses: `mail-parser` is lenient and the
/// gateway records oddities instead of rejecting them. Only input without any
/// recognisable structure ends here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The message data was empty.
    #[error("message is empty")]
    Empty,

    /// `mail-parser` found no header block.
    #[error("message has no header block that could be parsed")]
    NoHeaders,

    /// `mail-parser` panicked on the input.
    #[error("message structure is too malformed to parse")]
    ParserPanicked,

    /// A part offset pointed outside the message, so the rewrite could not
    /// keep the other parts byte for byte.
    #[error("MIME part {part} has offsets outside the message data")]
    InvalidOffsets {
        /// Index of the part in message order.
        part: u32,
    },
}
