//! The parts of clamd's socket protocol that the engine uses, free of I/O.
//!
//! Commands use the `z` form: the command ends with a NUL byte, and so does
//! clamd's reply. `INSTREAM` data follows the command as chunks, each a
//! 4-byte big-endian length and that many bytes, ended by a zero length.

/// The `PING` command; clamd replies `PONG`.
pub(crate) const PING: &[u8] = b"zPING\0";

/// The `INSTREAM` command.
pub(crate) const INSTREAM: &[u8] = b"zINSTREAM\0";

/// The chunk length that ends a stream.
pub(crate) const END_OF_STREAM: [u8; 4] = [0; 4];

/// Maximum reply size in bytes. clamd's replies are one short line.
pub(crate) const MAX_REPLY_SIZE: usize = 4096;

/// A parsed reply to `INSTREAM`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScanReply {
    Clean,
    Found(String),
    SizeLimitExceeded,
    Error(String),
}

/// Returns the 4-byte big-endian length prefix of a chunk.
///
/// Chunks are never longer than `u32::MAX`; the caller splits content into
/// chunks of the configured size.
pub(crate) fn chunk_header(length: usize) -> [u8; 4] {
    u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes()
}

/// Removes the NUL or newline that ends a reply and checks that it is text.
pub(crate) fn reply_text(raw: &[u8]) -> Result<&str, String> {
    let trimmed = raw
        .strip_suffix(b"\0")
        .or_else(|| raw.strip_suffix(b"\n"))
        .unwrap_or(raw);

    std::str::from_utf8(trimmed).map_err(|_| printable(raw))
}

/// Parses the reply to `INSTREAM`: `stream: OK`, `stream: <name> FOUND`, or a
/// message ending in ` ERROR`.
///
/// Returns the reply, made printable, as the error when it has none of those forms.
pub(crate) fn parse_scan_reply(raw: &[u8]) -> Result<ScanReply, String> {
    let text = reply_text(raw)?;

    if let Some(result) = text.strip_prefix("stream: ") {
        if result == "OK" {
            return Ok(ScanReply::Clean);
        }
        if let Some(name) = result.strip_suffix(" FOUND")
            && !name.trim().is_empty()
        {
            return Ok(ScanReply::Found(name.to_string()));
        }
    }

    if let Some(message) = text.strip_suffix(" ERROR") {
        if message.starts_with("INSTREAM size limit exceeded") {
            return Ok(ScanReply::SizeLimitExceeded);
        }
        let message = message.strip_prefix("stream: ").unwrap_or(message);
        let message = message
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        return Ok(ScanReply::Error(message));
    }

    Err(printable(raw))
}

/// Renders a reply for an error message: escaped, and cut to 200 characters.
pub(crate) fn printable(raw: &[u8]) -> String {
    const MAX_CHARS: usize = 200;

    let escaped = raw.escape_ascii().to_string();
    if raw.is_empty() {
        return "an empty reply".to_string();
    }
    if escaped.chars().count() <= MAX_CHARS {
        return format!("\"{escaped}\"");
    }
    let cut: String = escaped.chars().take(MAX_CHARS).collect();
    format!("\"{cut}...\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_scan_reply_cases() {
        let cases: Vec<(&[u8], Result<ScanReply, ()>)> = vec![
            (b"stream: OK\0", Ok(ScanReply::Clean)),
            (b"stream: OK\n", Ok(ScanReply::Clean)),
            (b"stream: OK", Ok(ScanReply::Clean)),
            (
                b"stream: Win.Test.EICAR_HDB-1 FOUND\0",
                Ok(ScanReply::Found("Win.Test.EICAR_HDB-1".to_string())),
            ),
            (
                b"INSTREAM size limit exceeded. ERROR\0",
                Ok(ScanReply::SizeLimitExceeded),
            ),
            (
                b"stream: Can't allocate memory ERROR\0",
                Ok(ScanReply::Error("Can't allocate memory".to_string())),
            ),
            (b"UNKNOWN COMMAND\0", Err(())),
            (b"stream:  FOUND\0", Err(())),
            (b"stream: ok\0", Err(())),
            (b"PONG\0", Err(())),
            (b"\xff\xfe\0", Err(())),
            (b"", Err(())),
        ];

        for (raw, expected) in cases {
            let parsed = parse_scan_reply(raw).map_err(|_| ());
            assert_eq!(parsed, expected, "reply {}", raw.escape_ascii());
        }
    }

    #[test]
    fn printable_escapes_and_cuts() {
        assert_eq!(printable(b"a\0b"), "\"a\\x00b\"");
        assert_eq!(printable(b""), "an empty reply");
        let long = printable(&[b'x'; 500]);
        assert!(long.ends_with("...\""));
        assert_eq!(long.len(), 205);
    }

    #[test]
    fn chunk_header_is_big_endian() {
        assert_eq!(chunk_header(0x0102_0304), [1, 2, 3, 4]);
        assert_eq!(chunk_header(0), END_OF_STREAM);
    }
}
