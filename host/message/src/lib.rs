//! Message model of the gateway: parsing, part classification, vault folder
//! names and the byte-preserving rewrite.
//!
//! Everything here is free of I/O. [`ParsedMessage::parse`] reads raw RFC 5322
//! bytes with `mail-parser` and classifies every MIME part with the gateway's
//! own rules (see [`PartKind`]), after repairing damage that would hide
//! parts (see [`Defect`]); [`rewrite`] produces the message delivered to
//! the next hop, changing only the parts the rules asked to change.

mod body_notice;
mod classify;
mod date;
mod defect;
mod early_decode;
mod error;
mod fields;
mod fold;
mod folder;
mod names;
mod notice;
mod params;
mod parse;
mod part;
mod repair;
mod replace;
mod rewrite;
mod rfc2231;
mod short_view;
mod template;
mod transfer;

pub use defect::Defect;
pub use error::ParseError;
pub use folder::{FolderName, MessageKey};
pub use names::StorageNames;
pub use notice::{Link, Note, Withheld};
pub use parse::{Envelope, HeaderField, ParsedMessage};
pub use part::{Disposition, PartId, PartInfo, PartKind, TransferEncoding};
pub use replace::Replacement;
pub use rewrite::{Rewrite, rewrite};
pub use template::{
    DEFAULT_HTML_STYLE, DEFAULT_LINKS_HEADING, DEFAULT_WITHHELD_HEADING, DEFAULT_WITHHELD_LINK_TEXT, NoticePosition,
    NoticeTemplate,
};
