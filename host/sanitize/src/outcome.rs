//! The result of sanitizing one attachment.

use crate::SanitizeError;

/// The result of [`Sanitizer::sanitize`](crate::Sanitizer::sanitize) for one
/// attachment.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SanitizeOutcome {
    /// The content is not of a type this sanitizer handles; the caller keeps
    /// the original.
    NotApplicable,

    /// The content is of a handled type and no active content was found; the
    /// caller keeps the original.
    Unchanged,

    /// Active content was removed; the caller replaces the attachment.
    Sanitized(SanitizedFile),

    /// The content looks like a handled type but could not be sanitized
    /// (corrupt, hostile or over a limit). The caller decides by policy
    /// whether to block, quarantine or deliver the original.
    Failed {
        /// The cause, suitable for the history and the notice.
        reason: SanitizeError,
    },
}

/// A sanitized copy of an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanitizedFile {
    /// The new file content.
    pub content: Vec<u8>,

    /// One line for each thing taken out, for example
    /// `"VBA macro project (word/vbaProject.bin)"`.
    pub removed: Vec<String>,

    /// The suggested file name, for example `report.docx` for `report.docm`.
    /// It equals the original name when the file type did not change.
    pub file_name: String,

    /// The suggested media type of the new content, without parameters for
    /// Office files and with `charset=utf-8` for HTML.
    pub content_type: String,
}
