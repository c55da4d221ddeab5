//! A fallback reader for MIME header parameters in raw header bytes.
//!
//! `mail-parser` loses parameters in two malformed cases that real mail
//! contains: a `Content-Type` whose type is empty (`Content-Type: ;
//! name="notes.txt"`), and raw 8-bit bytes that are not UTF-8 (a Latin-1
//! `filename="r\xe9sum\xe9.pdf"`), which it decodes to U+FFFD. This module
//! reads one parameter of one header field directly from the header block.
//! Folded lines are joined and a quoted value is unquoted. The bytes are
//! decoded as UTF-8 when valid, else as windows-1252, a superset of
//! Latin-1 and the usual charset of such legacy mail.

/// Returns the value of parameter `parameter` (case-insensitive) of the first
/// header field `field` in `header_block`, or `None` when either is missing.
/// RFC 2231 extended forms (`name*=`) are not handled here.
pub(crate) fn raw_parameter(header_block: &[u8], field: &str, parameter: &str) -> Option<String> {
    let value = raw_field_value(header_block, field)?;
    let lower = value.to_ascii_lowercase();
    let wanted = parameter.to_ascii_lowercase();

    let mut search_from = 0;
    while let Some(found) = find(&lower[search_from..], wanted.as_bytes()) {
        let start = search_from + found;
        search_from = start + wanted.len();

        let preceded_by_separator = start == 0 || matches!(lower[start - 1], b';' | b' ' | b'\t');
        let rest = trim_start(&value[start + wanted.len()..]);
        if !preceded_by_separator || rest.first() != Some(&b'=') {
            continue;
        }

        let raw = parse_value(trim_start(&rest[1..]));
        return Some(decode(&raw)).filter(|decoded| !decoded.trim().is_empty());
    }
    None
}

/// Returns the unfolded value bytes of the first field named `field`.
fn raw_field_value(header_block: &[u8], field: &str) -> Option<Vec<u8>> {
    let mut value: Option<Vec<u8>> = None;

    for line in header_block.split(|byte| *byte == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let is_continuation = matches!(line.first(), Some(b' ' | b'\t'));

        match (&mut value, is_continuation) {
            (Some(collected), true) => {
                collected.push(b' ');
                collected.extend_from_slice(trim_start(line));
            }
            (Some(_), false) => break,
            (None, false) => {
                let Some(colon) = line.iter().position(|byte| *byte == b':') else { continue };
                if line[..colon].trim_ascii().eq_ignore_ascii_case(field.as_bytes()) {
                    value = Some(line[colon + 1..].to_vec());
                }
            }
            (None, true) => {}
        }
    }
    value
}

/// Parses a quoted string without its quotes (backslash escapes resolved),
/// or a token up to the next `;` or white space.
fn parse_value(input: &[u8]) -> Vec<u8> {
    if input.first() == Some(&b'"') {
        let mut output = Vec::new();
        let mut bytes = input[1..].iter();
        while let Some(&byte) = bytes.next() {
            match byte {
                b'"' => break,
                b'\\' => output.extend(bytes.next().copied()),
                other => output.push(other),
            }
        }
        return output;
    }
    input.iter().copied().take_while(|byte| !matches!(byte, b';' | b' ' | b'\t')).collect()
}

fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|byte| matches!(byte, b' ' | b'\t')).count();
    &bytes[skip..]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_after_empty_type() {
        let block = b"Content-Type: ; name=\"notes.txt\"\r\nContent-Disposition: attachment\r\n\r\n";
        assert_eq!(raw_parameter(block, "Content-Type", "name").as_deref(), Some("notes.txt"));
    }

    #[test]
    fn parameter_latin1_bytes_decoded() {
        let block = b"Content-Disposition: attachment; filename=\"r\xe9sum\xe9.pdf\"\r\n\r\n";
        assert_eq!(raw_parameter(block, "content-disposition", "filename").as_deref(), Some("r\u{e9}sum\u{e9}.pdf"));
    }

    #[test]
    fn parameter_folded_and_unquoted() {
        let block = b"Content-Type: application/pdf;\r\n\tname=report.pdf\r\n\r\n";
        assert_eq!(raw_parameter(block, "Content-Type", "name").as_deref(), Some("report.pdf"));
    }

    #[test]
    fn parameter_name_inside_other_name_ignored() {
        let block = b"Content-Type: text/plain; xname=\"a\"; name=\"b.txt\"\r\n\r\n";
        assert_eq!(raw_parameter(block, "Content-Type", "name").as_deref(), Some("b.txt"));
    }

    #[test]
    fn parameter_missing() {
        let block = b"Content-Type: text/plain\r\n\r\n";
        assert_eq!(raw_parameter(block, "Content-Type", "name"), None);
        assert_eq!(raw_parameter(block, "Content-Disposition", "filename"), None);
    }
}
