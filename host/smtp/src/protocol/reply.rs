//! SMTP replies (RFC 5321 section 4.2) with optional enhanced status codes
//! (RFC 3463) and their wire format.
//!
//! Every text line passes through [`sanitize_text`] when the reply is built,
//! so text from other code or from the client can never inject CR, LF or
//! other control bytes into the reply stream.

use std::fmt;

/// Maximum length in bytes of the text of one reply line, after sanitizing.
///
/// RFC 5321 section 4.5.3.1.5 limits a reply line to 512 octets including the
/// code and CR LF, so 400 bytes leaves room for the code and the enhanced
/// status code.
pub const MAX_REPLY_TEXT: usize = 400;

/// One SMTP reply, possibly spanning several lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    status: Option<&'static str>,
    lines: Vec<String>,
}

impl Reply {
    /// Creates a one-line reply with an enhanced status code such as `"2.1.0"`.
    pub fn new(code: u16, status: &'static str, text: &str) -> Reply {
        Reply {
            code,
            status: Some(status),
            lines: vec![sanitize_text(text)],
        }
    }

    /// Creates a one-line reply without an enhanced status code, as used for
    /// the greeting and the HELO reply.
    pub fn plain(code: u16, text: &str) -> Reply {
        Reply {
            code,
            status: None,
            lines: vec![sanitize_text(text)],
        }
    }

    /// Creates a multi-line reply without enhanced status codes, as used for
    /// the EHLO reply. An empty `lines` gives one empty line.
    pub fn multiline<S: AsRef<str>>(code: u16, lines: &[S]) -> Reply {
        let mut sanitized: Vec<String> = lines
            .iter()
            .map(|line| sanitize_text(line.as_ref()))
            .collect();
        if sanitized.is_empty() {
            sanitized.push(String::new());
        }

        Reply {
            code,
            status: None,
            lines: sanitized,
        }
    }

    /// Returns the three-digit reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// Returns the enhanced status code, if the reply carries one.
    pub fn status(&self) -> Option<&'static str> {
        self.status
    }

    /// Returns the sanitized text lines, without code and status.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Returns whether the code is a permanent (5xx) or transient (4xx) error.
    pub fn is_error(&self) -> bool {
        self.code >= 400
    }

    /// Appends the wire form, each line ending in CR LF, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (index, text) in self.lines.iter().enumerate() {
            let separator = if index == last { ' ' } else { '-' };
            let line = match self.status {
                Some(status) => format!("{}{separator}{status} {text}\r\n", self.code),
                None => format!("{}{separator}{text}\r\n", self.code),
            };
            out.extend_from_slice(line.as_bytes());
        }
    }

    /// Returns the wire form as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// Formats the reply as its wire form without the final CR LF, for logs.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wire = String::from_utf8_lossy(&self.to_bytes()).into_owned();
        f.write_str(wire.trim_end_matches("\r\n"))
    }
}

/// Makes `text` safe for a reply line: tabs, CR and LF become spaces, other
/// bytes outside printable ASCII become `?`, and the result is cut to
/// [`MAX_REPLY_TEXT`] bytes.
pub fn sanitize_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c,
            '\t' | '\r' | '\n' => ' ',
            _ => '?',
        })
        .take(MAX_REPLY_TEXT)
        .collect()
}

/// Returns `reason`, or `default` when `reason` is empty or blank.
pub(crate) fn or_default<'a>(reason: &'a str, default: &'a str) -> &'a str {
    if reason.trim().is_empty() {
        default
    } else {
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_status() {
        let reply = Reply::new(250, "2.1.0", "sender OK");

        assert_eq!(reply.to_bytes(), b"250 2.1.0 sender OK\r\n");
    }

    #[test]
    fn multiline_uses_dash_separator() {
        let reply = Reply::multiline(250, &["mx.example", "PIPELINING", "8BITMIME"]);

        assert_eq!(
            reply.to_bytes(),
            b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
        );
    }

    #[test]
    fn sanitize_removes_line_breaks() {
        let reply = Reply::new(550, "5.7.1", "bad\r\n250 2.0.0 injected");

        assert_eq!(reply.to_bytes(), b"550 5.7.1 bad  250 2.0.0 injected\r\n");
    }

    #[test]
    fn sanitize_replaces_non_ascii() {
        assert_eq!(sanitize_text("caf\u{e9}\0\x1b"), "caf???");
    }

    #[test]
    fn sanitize_bounds_length() {
        let long = "x".repeat(MAX_REPLY_TEXT * 2);

        assert_eq!(sanitize_text(&long).len(), MAX_REPLY_TEXT);
    }

    #[test]
    fn display_omits_line_end() {
        let reply = Reply::plain(220, "mx.example ESMTP mailgate");

        assert_eq!(reply.to_string(), "220 mx.example ESMTP mailgate");
    }
}
