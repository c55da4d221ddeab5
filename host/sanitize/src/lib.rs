//! Built-in sanitization (content disarm and reconstruction) of attachments.
//!
//! [`Sanitizer::sanitize`] takes one attachment and returns a
//! [`SanitizeOutcome`]: not a handled type, nothing active found, a sanitized
//! copy with the list of what was removed, or a failure for the caller's
//! policy. The type is recognised from the content (ZIP structure, leading
//! HTML tags), with the name and declared type only telling text apart as
//! HTML.
//!
//! # Office Open XML (`.docm`, `.xlsm`, `.pptm` and their macro-free forms)
//!
//! Removed parts: the VBA project (`vbaProject.bin`), its data
//! (`vbaData.xml`) and signatures (`vbaProjectSignature*.bin`), Word key
//! assignments for macros, and ActiveX controls (every part under an
//! `activeX` folder or of an ActiveX content type). Every part that only
//! removed parts refer to goes too. The relationships to removed parts, the
//! elements that refer to those relationships, and the `[Content_Types].xml`
//! entries of removed parts are removed with them. A macro-enabled
//! main part type becomes its macro-free counterpart, and the suggested file
//! name changes with it (`.docm` → `.docx`, `.xlsm` → `.xlsx`, `.pptm` →
//! `.pptx`, and the template and slide show forms). Every other ZIP entry is
//! copied without recompression; edited XML parts change only inside the
//! edited elements.
//!
//! Limits ([`Limits`], defaults): 10,000 ZIP entries and 256 MiB of
//! uncompressed content, declared or actually decompressed. These archives
//! give [`SanitizeOutcome::Failed`]: one over a limit, one with an unreadable
//! structure, an absolute or `..` entry name, or two entries whose names
//! differ only in ASCII case. So does an XML part that must be edited but is
//! not well-formed UTF-8 XML, or that has a DTD. A valid ZIP archive without
//! `[Content_Types].xml` is [`SanitizeOutcome::NotApplicable`].
//!
//! # HTML
//!
//! Scripts, frames, embedded objects, forms, style sheets, event handler
//! attributes and `javascript:`, `vbscript:` and `data:` URLs are removed with
//! `ammonia`; text, formatting, tables, links and images stay. The result is
//! UTF-8 with `<meta charset="utf-8">`. Documents up to 32 MiB by default.
//!
//! NOTE: not handled, so [`SanitizeOutcome::NotApplicable`]: legacy binary
//! Office files (`.doc`, `.xls`, `.ppt`) with macros, JavaScript and other
//! actions in PDF files, OpenDocument macros, SVG images, and Office files
//! nested in other archives. Packages that are encrypted with a password are
//! OLE compound files, not ZIP archives, and are not handled either. Embedded
//! OLE objects in Office files are kept.

mod detect;
mod error;
mod html;
mod limits;
mod ooxml;
mod outcome;
mod sanitizer;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::SanitizeError;
pub use html::STYLE_PROPERTIES;
pub use limits::Limits;
pub use outcome::{SanitizeOutcome, SanitizedFile};
pub use sanitizer::Sanitizer;
