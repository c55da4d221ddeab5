//! MIME part model: ids, kinds and the facts the gateway keeps per part.

use std::fmt;
use std::ops::Range;

/// Index of a MIME part in message order; part 0 is the message itself.
///
/// Stable for one parse of one message, so that a rule's action, an upload
/// and a link always refer to the same part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartId(pub u32);

impl fmt::Display for PartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "part {}", self.0)
    }
}

/// The `Content-Disposition` type of a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// No header, or one without a usable type.
    None,
    /// `inline`.
    Inline,
    /// `attachment`.
    Attachment,
}

/// The `Content-Transfer-Encoding` of a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit` or no header.
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `quoted-printable`.
    QuotedPrintable,
    /// `base64`.
    Base64,
}

/// Classification of a part by the gateway.
///
/// Only [`PartKind::Attachment`] parts can be removed or uploaded. The
/// classification is the gateway's own, because `mail-parser`'s attachment
/// list also contains referenced images and calendar parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// A `multipart/*` container.
    Container,
    /// A text/plain or text/html part the recipient reads as the body.
    Body,
    /// An image that an HTML body references with `cid:`.
    InlineImage,
    /// A regular attachment: every other leaf part not listed below.
    Attachment,
    /// A part kept untouched whatever the rules request: calendar data,
    /// signatures, encrypted content, and every part inside a
    /// `multipart/signed` or `multipart/encrypted` subtree (changing those
    /// would break the signature or the encryption).
    Protected,
}

/// Everything the gateway keeps about one MIME part.
#[derive(Clone, Debug)]
pub struct PartInfo {
    /// Stable id of the part.
    pub id: PartId,
    /// The enclosing multipart, `None` for part 0.
    pub parent: Option<PartId>,
    /// Media type in lower case without parameters, e.g. `application/pdf`.
    pub content_type: String,
    /// `charset` parameter in lower case, for text parts.
    pub charset: Option<String>,
    /// `boundary` parameter, for multipart containers.
    pub boundary: Option<String>,
    /// File name from the disposition's `filename`, else the type's `name`,
    /// decoded to UTF-8.
    pub file_name: Option<String>,
    /// `Content-Disposition` type.
    pub disposition: Disposition,
    /// `Content-ID` without angle brackets.
    pub content_id: Option<String>,
    /// `Content-Transfer-Encoding`.
    pub transfer_encoding: TransferEncoding,
    /// The gateway's classification.
    pub kind: PartKind,
    /// Decoded content in bytes: for text the bytes in the part's own charset,
    /// for a nested message its raw bytes, empty for containers.
    pub content: Vec<u8>,
    /// Byte range of the part's header block in the raw message.
    pub header_range: Range<usize>,
    /// Byte range of the part's encoded body in the raw message.
    pub body_range: Range<usize>,
}

impl PartInfo {
    /// Size of the decoded content in bytes.
    pub fn size(&self) -> u64 {
        self.content.len() as u64
    }

    /// Returns whether the part is an attachment that rules may remove or upload.
    pub fn is_attachment(&self) -> bool {
        self.kind == PartKind::Attachment
    }
}
