//! One attachment to scan.

use std::fmt;

/// An attachment to scan: its bytes and what the email declares about it.
#[derive(Clone, Copy)]
pub struct ScanRequest<'a> {
    /// The file name from the email, when the part has one.
    pub file_name: Option<&'a str>,

    /// The media type from the part's `Content-Type`, such as
    /// `application/pdf`; parameters after `;` are allowed and ignored.
    pub declared_type: &'a str,

    /// The decoded content of the part.
    pub content: &'a [u8],
}

impl<'a> ScanRequest<'a> {
    /// Creates a request for `content` with the declared media type and no file name.
    pub fn new(declared_type: &'a str, content: &'a [u8]) -> Self {
        ScanRequest {
            file_name: None,
            declared_type,
            content,
        }
    }

    /// Sets the file name.
    pub fn with_file_name(mut self, file_name: &'a str) -> Self {
        self.file_name = Some(file_name);
        self
    }

    /// Creates the tracing span for a scan of this request by `engine`.
    ///
    /// The span records the file name, declared type and size, never the content.
    pub(crate) fn span(&self, engine: &str) -> tracing::Span {
        tracing::info_span!(
            "scan",
            engine,
            file_name = self.file_name.unwrap_or(""),
            declared_type = self.declared_type,
            size = self.content.len(),
        )
    }
}

/// Shows the size of the content instead of the bytes, so that logging a
/// request never logs attachment content.
impl fmt::Debug for ScanRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanRequest")
            .field("file_name", &self.file_name)
            .field("declared_type", &self.declared_type)
            .field("size", &self.content.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_size_not_content() {
        let request = ScanRequest::new("text/plain", b"secret content").with_file_name("a.txt");

        let shown = format!("{request:?}");

        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("size: 14"), "{shown}");
        assert!(shown.contains("a.txt"), "{shown}");
    }
}
