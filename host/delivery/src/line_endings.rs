//! Line-end normalisation for outbound messages.

use std::borrow::Cow;

/// Returns `message` with every bare LF and bare CR turned into CR LF.
///
/// Borrows the input when it already uses CR LF throughout.
pub fn normalize_line_endings(message: &[u8]) -> Cow<'_, [u8]> {
    let needs_change = message.iter().enumerate().any(|(index, byte)| match byte {
        b'\n' => index == 0 || message[index - 1] != b'\r',
        b'\r' => message.get(index + 1) != Some(&b'\n'),
        _ => false,
    });
    if !needs_change {
        return Cow::Borrowed(message);
    }

    let mut output = Vec::with_capacity(message.len() + message.len() / 32);
    let mut index = 0;
    while index < message.len() {
        match message[index] {
            b'\r' if message.get(index + 1) == Some(&b'\n') => {
                output.extend_from_slice(b"\r\n");
                index += 2;
            }
            b'\r' | b'\n' => {
                output.extend_from_slice(b"\r\n");
                index += 1;
            }
            byte => {
                output.push(byte);
                index += 1;
            }
        }
    }
    Cow::Owned(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_table() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"a\r\nb\r\n", b"a\r\nb\r\n"),
            (b"a\nb\n", b"a\r\nb\r\n"),
            (b"a\rb", b"a\r\nb"),
            (b"\n\n", b"\r\n\r\n"),
            (b"a\r\r\nb", b"a\r\n\r\nb"),
            (b"", b""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_line_endings(input).as_ref(), expected, "input {input:?}");
        }
    }

    #[test]
    fn line_endings_crlf_borrowed() {
        assert!(matches!(normalize_line_endings(b"a\r\nb"), Cow::Borrowed(_)));
    }
}
