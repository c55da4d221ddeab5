//! Refolding of header fields longer than 998 octets per line.
//!
//! A physical header line longer than RFC 5322 allows is folded at white
//! space where the field has some. An unstructured field without usable
//! white space (`Subject`, `Comments`, `X-…`) is rewritten as a sequence of
//! RFC 2047 encoded words on folded lines. Adjacent encoded words decode to
//! one value, so readers see the same text. Other structured fields without
//! white space are left as they are, because rewriting them could change
//! their meaning.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Maximum line length allowed by RFC 5322, in octets without CR LF.
const MAX_LINE_OCTETS: usize = 998;

/// Length aimed at when folding, in octets; well below the hard limit.
const FOLD_AT: usize = 76;

/// Returns `header_block` with over-long lines refolded, or `None` when no
/// line needed it.
pub(crate) fn refold_header_block(header_block: &[u8]) -> Option<Vec<u8>> {
    let too_long = header_block
        .split(|byte| *byte == b'\n')
        .any(|line| line.strip_suffix(b"\r").unwrap_or(line).len() > MAX_LINE_OCTETS);
    if !too_long {
        return None;
    }

    let mut output = Vec::with_capacity(header_block.len() + header_block.len() / 32);
    for line in header_block.split_inclusive(|byte| *byte == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.len() <= MAX_LINE_OCTETS {
            output.extend_from_slice(line);
            continue;
        }
        output.extend_from_slice(&refold_line(content));
        output.extend_from_slice(b"\r\n");
    }
    Some(output)
}

fn refold_line(line: &[u8]) -> Vec<u8> {
    if let Some(folded) = fold_at_white_space(line) {
        return folded;
    }

    let Some(colon) = line.iter().position(|byte| *byte == b':') else {
        return line.to_vec();
    };
    let name = String::from_utf8_lossy(&line[..colon]).trim().to_ascii_lowercase();
    let unstructured = name == "subject" || name == "comments" || name.starts_with("x-");
    if !unstructured {
        return line.to_vec();
    }
    encode_as_words(&line[..=colon], line[colon + 1..].trim_ascii_start())
}

/// Inserts CR LF before white space so that no line exceeds the limit; `None`
/// when some stretch without white space is itself too long.
fn fold_at_white_space(line: &[u8]) -> Option<Vec<u8>> {
    let mut output = Vec::with_capacity(line.len() + 16);
    let mut line_start = 0;
    let mut last_break: Option<usize> = None;

    for (index, byte) in line.iter().enumerate() {
        if (*byte == b' ' || *byte == b'\t') && index > line_start {
            last_break = Some(index);
        }
        if index - line_start >= FOLD_AT
            && let Some(break_at) = last_break.filter(|position| *position > line_start)
        {
            output.extend_from_slice(&line[line_start..break_at]);
            output.extend_from_slice(b"\r\n");
            line_start = break_at;
            last_break = None;
        }
        if index - line_start >= MAX_LINE_OCTETS {
            return None;
        }
    }
    output.extend_from_slice(&line[line_start..]);
    Some(output)
}

/// Writes `name_and_colon` followed by `value` as base64 encoded words of at
/// most 45 bytes each, one per folded line.
fn encode_as_words(name_and_colon: &[u8], value: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(value);
    let mut output = name_and_colon.to_vec();

    let mut chunk = String::new();
    let mut first = true;
    for character in text.chars() {
        if chunk.len() + character.len_utf8() > 45 {
            push_word(&mut output, &chunk, first);
            first = false;
            chunk.clear();
        }
        chunk.push(character);
    }
    if !chunk.is_empty() {
        push_word(&mut output, &chunk, first);
    }
    output
}

fn push_word(output: &mut Vec<u8>, chunk: &str, first: bool) {
    if !first {
        output.extend_from_slice(b"\r\n");
    }
    output.extend_from_slice(b" =?utf-8?b?");
    output.extend_from_slice(STANDARD.encode(chunk.as_bytes()).as_bytes());
    output.extend_from_slice(b"?=");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn longest_line(block: &[u8]) -> usize {
        block.split(|byte| *byte == b'\n').map(<[u8]>::len).max().unwrap_or(0)
    }

    #[test]
    fn fold_short_block_unchanged() {
        assert_eq!(refold_header_block(b"Subject: hi\r\nFrom: a@b\r\n\r\n"), None);
    }

    #[test]
    fn fold_at_white_space_keeps_words() {
        let words = "word ".repeat(400);
        let block = format!("Subject: {words}\r\n\r\n");
        let folded = refold_header_block(block.as_bytes()).unwrap();
        assert!(longest_line(&folded) <= 1000);
        let message = [folded.as_slice(), b"body"].concat();
        let parsed = mail_parser::MessageParser::default().parse(&message).unwrap();
        assert_eq!(parsed.subject().unwrap().trim(), words.trim());
    }

    #[test]
    fn fold_subject_without_spaces_decodes_back() {
        let value = "\u{e9}v".repeat(600);
        let block = format!("Subject: {value}\r\nTo: b@example.org\r\n\r\n");
        let folded = refold_header_block(block.as_bytes()).unwrap();
        assert!(longest_line(&folded) <= 1000);
        let message = [folded.as_slice(), b"body"].concat();
        let parsed = mail_parser::MessageParser::default().parse(&message).unwrap();
        assert_eq!(parsed.subject(), Some(value.as_str()));
        assert_eq!(parsed.to().and_then(|to| to.first()).and_then(|addr| addr.address()), Some("b@example.org"));
    }

    #[test]
    fn fold_extension_field_words_concatenate() {
        let value = "v".repeat(1100);
        let block = format!("X-Long-Header: {value}\r\n\r\n");
        let folded = refold_header_block(block.as_bytes()).unwrap();
        assert!(longest_line(&folded) <= 1000);

        let text = String::from_utf8(folded).unwrap();
        let decoded: String = text
            .split("=?utf-8?b?")
            .skip(1)
            .map(|word| word.split("?=").next().unwrap())
            .map(|encoded| String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap())
            .collect();
        assert_eq!(decoded, value);
    }

    #[test]
    fn fold_structured_without_spaces_left_alone() {
        let value = format!("<{}@example.com>", "i".repeat(1100));
        let block = format!("Message-ID: {value}\r\n\r\n");
        let folded = refold_header_block(block.as_bytes()).unwrap();
        assert_eq!(folded, block.as_bytes());
    }
}
