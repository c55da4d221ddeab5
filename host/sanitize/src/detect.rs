//! Recognition of the document types this crate sanitizes.
//!
//! The content decides first. A ZIP archive goes to the Office Open XML
//! sanitizer whatever its name. Content that starts like an HTML document is
//! HTML when the declared type is generic (empty or
//! `application/octet-stream`). Text content with an `.htm` or `.html` name
//! or a declared `text/html` type is HTML too, because the recipient's client
//! opens it as HTML.

/// A document type with a sanitizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentKind {
    /// A ZIP archive, possibly an Office Open XML package.
    Zip,
    Html,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// How many leading bytes are inspected for binary content and HTML tags.
const SNIFF_LEN: usize = 1024;

/// Declared media types that give no information about the content.
const GENERIC_TYPES: &[&str] = &["", "application/octet-stream", "application/unknown"];

/// Tags that identify HTML at the start of the content, lowercased, after
/// white space (the list of the WHATWG MIME Sniffing standard).
const HTML_STARTS: &[&str] = &[
    "<!doctype html",
    "<html",
    "<head",
    "<script",
    "<iframe",
    "<h1",
    "<div",
    "<font",
    "<table",
    "<a",
    "<style",
    "<title",
    "<b",
    "<body",
    "<br",
    "<p",
    "<!--",
];

/// Recognises the document type of an attachment, or `None` when no
/// sanitizer applies.
pub(crate) fn detect(file_name: &str, declared_type: &str, content: &[u8]) -> Option<DocumentKind> {
    if content.starts_with(ZIP_MAGIC) {
        return Some(DocumentKind::Zip);
    }

    let media_type = essence(declared_type);
    let named_html = has_html_extension(file_name) || media_type == "text/html";
    let generic = GENERIC_TYPES.contains(&media_type.as_str());

    if looks_binary(content) {
        None
    } else if named_html || (generic && starts_like_html(content)) {
        Some(DocumentKind::Html)
    } else {
        None
    }
}

/// Returns the lowercased `type/subtype` of a media type, without parameters.
pub(crate) fn essence(media_type: &str) -> String {
    let essence = media_type.split(';').next().unwrap_or_default();
    essence.trim().to_ascii_lowercase()
}

fn has_html_extension(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    lower.ends_with(".html") || lower.ends_with(".htm")
}

/// Returns true for content with a NUL byte near the start, unless a UTF-16
/// byte order mark explains it.
fn looks_binary(content: &[u8]) -> bool {
    let utf16_bom = content.starts_with(b"\xff\xfe") || content.starts_with(b"\xfe\xff");
    let head = &content[..content.len().min(SNIFF_LEN)];
    !utf16_bom && head.contains(&0)
}

fn starts_like_html(content: &[u8]) -> bool {
    let head = &content[..content.len().min(SNIFF_LEN)];
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = head[start..].to_ascii_lowercase();

    HTML_STARTS.iter().any(|tag| {
        head.starts_with(tag.as_bytes())
            && matches!(
                head.get(tag.len()),
                Some(b' ' | b'>' | b'\t' | b'\n' | b'\r' | b'\x0c')
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_detected_whatever_the_name() {
        let kind = detect("notes.txt", "text/plain", b"PK\x03\x04rest");
        assert_eq!(kind, Some(DocumentKind::Zip));
    }

    #[test]
    fn html_detected_by_content() {
        let kind = detect(
            "page",
            "application/octet-stream",
            b"\r\n <!DOCTYPE html><p>x",
        );
        assert_eq!(kind, Some(DocumentKind::Html));
    }

    #[test]
    fn html_detected_by_declared_type() {
        let kind = detect("a.bin", "Text/HTML; charset=utf-8", b"hello");
        assert_eq!(kind, Some(DocumentKind::Html));
    }

    #[test]
    fn plain_text_with_tags_not_html() {
        assert_eq!(detect("notes.txt", "text/plain", b"<html>"), None);
    }

    #[test]
    fn binary_named_html_not_html() {
        assert_eq!(detect("a.html", "text/html", b"\x00\x01\x02"), None);
    }

    #[test]
    fn tag_prefix_needs_delimiter() {
        assert_eq!(detect("x", "", b"<bogus>"), None);
        assert_eq!(detect("x", "", b"<b>bold"), Some(DocumentKind::Html));
    }
}
