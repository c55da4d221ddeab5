//! Inserting the notice and the notes into the content of a text/plain or
//! text/html body.
//!
//! What goes at the top comes first in a text body, and right after the
//! `<body>` tag of an HTML body (at its start when it has none). What goes
//! at the bottom comes last in a text body, and before the last `</body>`
//! tag of an HTML body (at its end when it has none).

use crate::notice::{NoticeContent, render_html, render_text};
use crate::part::PartInfo;
use crate::template::NoticePosition;
use crate::transfer;

/// Returns the decoded content of the text/plain body `part` with the
/// notice, encoded in the part's charset; `None` when the charset is not
/// ASCII-compatible.
pub(crate) fn text_with_notice(part: &PartInfo, notice: &NoticeContent<'_>) -> Option<Vec<u8>> {
    let encode = |position| transfer::encode_plain_text(&render_text(notice, position), part.charset.as_deref(), part.transfer_encoding);
    let top = encode(NoticePosition::Top)?;
    let bottom = encode(NoticePosition::Bottom)?;

    let mut combined = top;
    if bottom.is_empty() {
        combined.extend_from_slice(&part.content);
    } else {
        combined.extend_from_slice(&append_text(&part.content, &bottom));
    }
    Some(combined)
}

/// Returns the decoded content of the text/html body `part` with the
/// notice; `None` when the charset is not ASCII-compatible.
pub(crate) fn html_with_notice(part: &PartInfo, notice: &NoticeContent<'_>) -> Option<Vec<u8>> {
    let encode = |position| transfer::encode_html(&render_html(notice, position), part.charset.as_deref());
    let top = encode(NoticePosition::Top)?;
    let bottom = encode(NoticePosition::Bottom)?;

    let with_bottom = if bottom.is_empty() { part.content.clone() } else { insert_before_body_end(&part.content, &bottom) };
    if top.is_empty() {
        return Some(with_bottom);
    }
    Some(insert_after_body_start(&with_bottom, &top))
}

fn append_text(content: &[u8], notice: &[u8]) -> Vec<u8> {
    let mut combined = content.to_vec();
    if !combined.is_empty() && !combined.ends_with(b"\n") {
        combined.extend_from_slice(b"\r\n");
    }
    combined.extend_from_slice(notice.strip_prefix(b"\r\n").unwrap_or(notice));
    combined
}

/// Inserts `notice` before the last `</body>` (case-insensitive), or at the
/// end when there is none.
fn insert_before_body_end(content: &[u8], notice: &[u8]) -> Vec<u8> {
    let lower = content.to_ascii_lowercase();
    let position = rfind(&lower, b"</body").unwrap_or(content.len());

    let mut combined = Vec::with_capacity(content.len() + notice.len());
    combined.extend_from_slice(&content[..position]);
    combined.extend_from_slice(notice);
    combined.extend_from_slice(&content[position..]);
    combined
}

/// Inserts `notice` right after the first `<body …>` tag (case-insensitive),
/// or at the start when there is none.
fn insert_after_body_start(content: &[u8], notice: &[u8]) -> Vec<u8> {
    let lower = content.to_ascii_lowercase();
    let tag_start = lower
        .windows(6)
        .position(|window| window.starts_with(b"<body") && matches!(window[5], b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/'));
    let position = tag_start
        .and_then(|start| content[start..].iter().position(|byte| *byte == b'>').map(|end| start + end + 1))
        .unwrap_or(0);

    let mut combined = Vec::with_capacity(content.len() + notice.len());
    combined.extend_from_slice(&content[..position]);
    combined.extend_from_slice(notice);
    combined.extend_from_slice(&content[position..]);
    combined
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_start_after_tag_with_attributes() {
        let html = b"<html><BODY class=\"x\"><p>hi</p></body></html>";
        assert_eq!(insert_after_body_start(html, b"N"), b"<html><BODY class=\"x\">N<p>hi</p></body></html>");
    }

    #[test]
    fn body_start_without_tag() {
        assert_eq!(insert_after_body_start(b"<p>hi</p>", b"N"), b"N<p>hi</p>");
        assert_eq!(insert_after_body_start(b"<bodyguard>", b"N"), b"N<bodyguard>");
    }

    #[test]
    fn body_end_before_last_closing_tag() {
        assert_eq!(insert_before_body_end(b"<body>a</BODY></html>", b"N"), b"<body>aN</BODY></html>");
        assert_eq!(insert_before_body_end(b"<p>a</p>", b"N"), b"<p>a</p>N");
    }

    #[test]
    fn text_bottom_after_line_break() {
        assert_eq!(append_text(b"Hi", b"\r\n\r\nN\r\n"), b"Hi\r\n\r\nN\r\n");
        assert_eq!(append_text(b"Hi\r\n", b"\r\n\r\nN\r\n"), b"Hi\r\n\r\nN\r\n");
    }
}
