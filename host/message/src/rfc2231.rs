//! Writing a MIME header parameter, with RFC 2231 encoding for values that
//! are not plain ASCII.
//!
//! A printable ASCII value is written as a quoted string
//! (`name="report.docx"`). Any other value is written in the RFC 2231
//! extended form with the UTF-8 charset (`name*=utf-8''r%C3%A9sum%C3%A9.pdf`).
//! A value longer than [`MAX_SEGMENT_OCTETS`] is split into numbered
//! continuations (`name*0*=…`, `name*1*=…`), each on a line of its own,
//! and never inside a character, because readers such as `mail-parser`
//! decode each continuation on its own.

/// Maximum length of one parameter segment's value, in octets, so that a
/// folded line stays under 78 characters.
const MAX_SEGMENT_OCTETS: usize = 60;

/// Encodes `attribute` with `value` as one or more `attribute=value` pieces,
/// to be written in order, each after a `;`.
///
/// Control characters in `value` must already be removed; they would be
/// percent-encoded here.
pub(crate) fn encode_parameter(attribute: &str, value: &str) -> Vec<String> {
    let is_plain = value.chars().all(|c| c == ' ' || c.is_ascii_graphic());
    if is_plain {
        return encode_quoted(attribute, value);
    }

    let mut segments = Vec::new();
    let mut current = String::from("utf-8''");
    for character in value.chars() {
        let encoded = percent_encode(character);
        if current.len() + encoded.len() > MAX_SEGMENT_OCTETS && !current.ends_with('\'') {
            segments.push(std::mem::take(&mut current));
        }
        current.push_str(&encoded);
    }
    segments.push(current);

    if segments.len() == 1 {
        return vec![format!("{attribute}*={}", segments[0])];
    }
    segments.iter().enumerate().map(|(index, segment)| format!("{attribute}*{index}*={segment}")).collect()
}

fn encode_quoted(attribute: &str, value: &str) -> Vec<String> {
    let quote = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    if value.len() <= MAX_SEGMENT_OCTETS {
        return vec![format!("{attribute}=\"{}\"", quote(value))];
    }

    let characters: Vec<char> = value.chars().collect();
    characters
        .chunks(MAX_SEGMENT_OCTETS)
        .enumerate()
        .map(|(index, chunk)| format!("{attribute}*{index}=\"{}\"", quote(&chunk.iter().collect::<String>())))
        .collect()
}

/// Encodes one character as RFC 2231 `attr-char`s or `%XX` escapes of its
/// UTF-8 bytes.
fn percent_encode(character: char) -> String {
    let is_attribute_char =
        character.is_ascii_alphanumeric() || matches!(character, '!' | '#' | '$' | '&' | '+' | '-' | '.' | '^' | '_' | '`' | '|' | '~');
    if is_attribute_char {
        return character.to_string();
    }
    let mut buffer = [0u8; 4];
    character.encode_utf8(&mut buffer).bytes().map(|byte| format!("%{byte:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_ascii_quoted() {
        assert_eq!(encode_parameter("filename", "report.docx"), ["filename=\"report.docx\""]);
        assert_eq!(encode_parameter("name", "a \"b\" \\c.txt"), ["name=\"a \\\"b\\\" \\\\c.txt\""]);
    }

    #[test]
    fn parameter_non_ascii_extended() {
        assert_eq!(encode_parameter("filename", "r\u{e9}sum\u{e9} 1.pdf"), ["filename*=utf-8''r%C3%A9sum%C3%A9%201.pdf"]);
    }

    #[test]
    fn parameter_long_non_ascii_split_between_characters() {
        let value = "\u{41e}\u{442}\u{447}\u{451}\u{442}".repeat(6);
        let pieces = encode_parameter("filename", &value);

        assert!(pieces.len() > 1, "{pieces:?}");
        assert!(pieces[0].starts_with("filename*0*=utf-8''%D0%9E"), "{pieces:?}");
        for (index, piece) in pieces.iter().enumerate() {
            let (name, segment) = piece.split_once('=').unwrap();
            assert_eq!(name, format!("filename*{index}*"));
            assert!(segment.len() <= MAX_SEGMENT_OCTETS, "{piece}");
            assert!(segment.trim_start_matches("utf-8''").starts_with("%D0%") || segment.starts_with("%D1%"), "{piece}");
        }
    }

    #[test]
    fn parameter_long_ascii_continued() {
        let value = "n".repeat(130);
        let pieces = encode_parameter("name", &value);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces[0], format!("name*0=\"{}\"", "n".repeat(60)));
        assert_eq!(pieces[2], format!("name*2=\"{}\"", "n".repeat(10)));
    }
}
