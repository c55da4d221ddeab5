//! The reasons for a failed sanitization.

/// A reason why an attachment could not be sanitized.
///
/// Every variant describes the input, never a fault of the gateway: the same
/// input fails the same way on every run.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SanitizeError {
    /// The ZIP structure could not be read (truncated, corrupt or an
    /// unsupported ZIP feature).
    #[error("invalid ZIP archive: {0}")]
    InvalidArchive(String),

    /// The archive has more entries than [`Limits::max_entries`](crate::Limits::max_entries).
    #[error("ZIP archive has {count} entries, more than the limit of {limit}")]
    TooManyEntries { count: usize, limit: usize },

    /// The uncompressed entries add up to more than
    /// [`Limits::max_total_uncompressed`](crate::Limits::max_total_uncompressed) bytes.
    #[error("ZIP archive expands to more than the limit of {limit} bytes")]
    TooLarge { limit: u64 },

    /// An entry name is absolute, contains `..` or `.` segments, a backslash,
    /// a control character or a drive letter.
    #[error("unsafe entry name in ZIP archive: {0:?}")]
    UnsafeEntryName(String),

    /// Two entries have names that are equal when compared without regard to
    /// ASCII case, which Office Open XML treats as the same part.
    #[error("duplicate entry name in ZIP archive: {0:?}")]
    DuplicateEntryName(String),

    /// An XML part that must be edited is not well-formed, is not UTF-8, or
    /// contains a document type declaration.
    #[error("invalid XML in part {part:?}: {cause}")]
    InvalidXml { part: String, cause: String },

    /// The HTML document is larger than [`Limits::max_html_size`](crate::Limits::max_html_size).
    #[error("HTML document of {size} bytes is larger than the limit of {limit} bytes")]
    HtmlTooLarge { size: usize, limit: usize },

    /// Writing the sanitized archive failed.
    #[error("failed to write the sanitized ZIP archive: {0}")]
    WriteArchive(String),
}
