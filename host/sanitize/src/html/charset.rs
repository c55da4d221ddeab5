//! The character encoding of an HTML attachment.
//!
//! The order follows the encoding sniffing of the HTML standard, without its
//! frequency-based guessing. A byte order mark comes first, then the
//! `charset` parameter of the declared media type, then a `<meta>`
//! declaration in the first 1024 bytes. Without any of them, valid UTF-8 is
//! read as UTF-8 and anything else as windows-1252.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How many leading bytes are searched for a `<meta>` charset declaration.
const PRESCAN_LEN: usize = 1024;

/// Decodes `content` into text, replacing malformed sequences with U+FFFD,
/// and returns the encoding used.
pub(crate) fn decode<'a>(
    declared_type: &str,
    content: &'a [u8],
) -> (Cow<'a, str>, &'static Encoding) {
    let encoding = Encoding::for_bom(content)
        .map(|(encoding, _)| encoding)
        .or_else(|| charset_parameter(declared_type))
        .or_else(|| meta_charset(content))
        .unwrap_or_else(|| {
            if std::str::from_utf8(content).is_ok() {
                UTF_8
            } else {
                WINDOWS_1252
            }
        });

    let (text, used, _had_errors) = encoding.decode(content);
    (text, used)
}

/// Returns the encoding named by the `charset` parameter of a media type.
fn charset_parameter(media_type: &str) -> Option<&'static Encoding> {
    media_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches('"').as_bytes())
    })
}

/// Returns the encoding declared by the first `<meta>` element with a
/// `charset`, either as an attribute or inside `content`.
///
/// A UTF-16 label is read as UTF-8 and `x-user-defined` as windows-1252,
/// because a document whose declaration can be read as ASCII is not UTF-16.
fn meta_charset(content: &[u8]) -> Option<&'static Encoding> {
    let head = content[..content.len().min(PRESCAN_LEN)].to_ascii_lowercase();
    let mut rest = head.as_slice();

    while let Some(start) = find(rest, b"<meta") {
        let tag = &rest[start..];
        let tag = &tag[..find(tag, b">").unwrap_or(tag.len())];

        if let Some(position) = find(tag, b"charset") {
            let value = tag[position + b"charset".len()..]
                .iter()
                .skip_while(|byte| {
                    byte.is_ascii_whitespace()
                        || **byte == b'='
                        || **byte == b'"'
                        || **byte == b'\''
                })
                .take_while(|byte| !byte.is_ascii_whitespace() && !b"\"';>/".contains(byte))
                .copied()
                .collect::<Vec<u8>>();
            if let Some(encoding) = Encoding::for_label(&value) {
                return Some(if encoding == encoding_rs::X_USER_DEFINED {
                    WINDOWS_1252
                } else {
                    encoding.output_encoding()
                });
            }
        }
        rest = &rest[start + b"<meta".len()..];
    }

    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_charset_wins_over_meta() {
        let (text, encoding) = decode(
            "text/html; charset=\"ISO-8859-1\"",
            b"<meta charset=utf-8>\xe9",
        );
        assert_eq!(encoding, WINDOWS_1252);
        assert!(text.ends_with('é'));
    }

    #[test]
    fn meta_charset_attribute() {
        let (_, encoding) = decode("text/html", b"<html><head><meta charset='koi8-r'></head>");
        assert_eq!(encoding, encoding_rs::KOI8_R);
    }

    #[test]
    fn meta_http_equiv_content() {
        let html =
            b"<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=windows-1252\">";
        assert_eq!(decode("", html).1, WINDOWS_1252);
    }

    #[test]
    fn bom_wins() {
        let (text, encoding) = decode("text/html; charset=windows-1252", b"\xef\xbb\xbf\xc3\xa9");
        assert_eq!(encoding, UTF_8);
        assert_eq!(text, "é");
    }

    #[test]
    fn fallback_utf8_then_windows_1252() {
        assert_eq!(decode("", "é".as_bytes()).1, UTF_8);
        assert_eq!(decode("", b"\x93quoted\x94").1, WINDOWS_1252);
    }

    #[test]
    fn meta_utf16_label_read_as_utf8() {
        assert_eq!(decode("", b"<meta charset=utf-16>").1, UTF_8);
    }
}
