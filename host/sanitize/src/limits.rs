//! Resource limits for hostile input.

/// Resource limits that bound the work and memory spent on one attachment.
///
/// Input over a limit gives [`SanitizeOutcome::Failed`](crate::SanitizeOutcome::Failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of entries in a ZIP archive. Default: 10,000.
    pub max_entries: usize,

    /// Maximum sum of the uncompressed sizes of all entries of a ZIP archive,
    /// in bytes, both as declared in the central directory and as actually
    /// decompressed for the parts that are edited. Default: 256 MiB.
    pub max_total_uncompressed: u64,

    /// Maximum size of an HTML document, in bytes before decoding.
    /// Default: 32 MiB.
    pub max_html_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_total_uncompressed: 256 * 1024 * 1024,
            max_html_size: 32 * 1024 * 1024,
        }
    }
}
