//! Percent-encoding of the `file_name` and `path` request headers.
//!
//! HTTP header values are limited to visible ASCII, spaces and tabs, but file
//! and folder names are Unicode. The client therefore encodes the UTF-8 bytes of
//! these two headers as RFC 3986 percent-escapes (`%C3%A9` for `é`), and the
//! built-in vault decodes them. The encoded bytes are: control characters, bytes
//! outside ASCII, `%` itself (so that a literal `%` round-trips) and a space at
//! the start or end of the value (HTTP strips surrounding whitespace). All other
//! ASCII characters, inner spaces included, are sent as they are, so plain ASCII
//! names look the same to a vault that does not decode.
//!
//! NOTE: whether MetaDefender Managed File Transfer decodes percent-escapes in
//! these headers is not documented. Against the product, a non-ASCII name may be
//! stored with the escapes visible.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Bytes that are escaped anywhere in the value, besides all non-ASCII bytes.
const ESCAPED: &AsciiSet = &CONTROLS.add(b'%');

/// Encodes `value` for a `file_name` or `path` header, as the module describes.
pub fn encode(value: &str) -> String {
    let mut encoded = utf8_percent_encode(value, ESCAPED).to_string();

    if encoded.starts_with(' ') {
        encoded.replace_range(..1, "%20");
    }

    if encoded.ends_with(' ') {
        let last = encoded.len() - 1;
        encoded.replace_range(last.., "%20");
    }

    encoded
}

/// Decodes a header value produced by [`encode`].
///
/// Returns `None` when the escapes decode to bytes that are not UTF-8. A `%`
/// that does not start a valid escape is kept as it is.
pub fn decode(value: &str) -> Option<String> {
    percent_decode_str(value)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_name_unchanged() {
        assert_eq!(
            encode("Report_<alice@example.com>.pdf"),
            "Report_<alice@example.com>.pdf"
        );
        assert_eq!(
            encode("Email Gateway/2026-09-28"),
            "Email Gateway/2026-09-28"
        );
    }

    #[test]
    fn non_ascii_and_percent_escaped() {
        assert_eq!(encode("Prüfung 100%.pdf"), "Pr%C3%BCfung 100%25.pdf");
        assert_eq!(encode("a\r\nb"), "a%0D%0Ab");
    }

    #[test]
    fn surrounding_spaces_escaped() {
        assert_eq!(encode(" a b "), "%20a b%20");
        assert_eq!(encode(" "), "%20");
    }

    #[test]
    fn round_trip() {
        for value in [
            "",
            "plain.txt",
            "Übersicht – 2026.xlsx",
            "日本語.txt",
            "50% off",
            " x ",
            "%41",
        ] {
            let encoded = encode(value);
            assert!(encoded.is_ascii(), "{encoded:?} is not ASCII");
            assert_eq!(decode(&encoded).as_deref(), Some(value));
        }
    }

    #[test]
    fn invalid_utf8_rejected() {
        assert_eq!(decode("%FF%FE"), None);
    }
}
