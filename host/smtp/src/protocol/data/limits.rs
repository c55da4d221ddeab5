//! Line and header limits for the text of a message, checked as its bytes
//! are stored.
//!
//! For these limits a line ends at every LF, with or without a CR before it,
//! so a message sent with bare LF line ends is measured by its real lines.
//! The header block is every byte from the start of the message up to and
//! including the first empty line (a line that contains only CR LF, LF or
//! CRs before an LF). A message without an empty line is all header.

use super::DataError;

/// Limits on the message text, in bytes after dot-unstuffing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataLimits {
    /// Maximum size of the whole message.
    pub max_message_size: usize,
    /// Maximum size of the header block, including its empty line.
    pub max_header_size: usize,
    /// Maximum length of one line, including its line end.
    pub max_line_length: usize,
}

impl DataLimits {
    /// Limits that check only the message size, as [`super::DataReceiver::new`] uses.
    pub fn size_only(max_message_size: usize) -> DataLimits {
        DataLimits {
            max_message_size,
            max_header_size: usize::MAX,
            max_line_length: usize::MAX,
        }
    }
}

/// Running measurement of the current line and of the header block.
#[derive(Debug)]
pub(super) struct LineMeter {
    line_length: usize,
    line_is_blank: bool,
    header_size: usize,
    in_header: bool,
}

impl LineMeter {
    pub fn new() -> LineMeter {
        LineMeter {
            line_length: 0,
            line_is_blank: true,
            header_size: 0,
            in_header: true,
        }
    }

    /// Measures stored bytes and returns the first limit they exceed.
    ///
    /// The result does not depend on how the bytes are split between calls:
    /// the limit exceeded at the earliest byte wins, and when one byte
    /// exceeds both, the line limit wins.
    pub fn observe(&mut self, bytes: &[u8], limits: &DataLimits) -> Option<DataError> {
        // After the header only the line limit applies. When the current line
        // plus all these bytes fits in it, no line can exceed it, and only the
        // length of the last line is needed.
        if !self.in_header && self.line_length.saturating_add(bytes.len()) <= limits.max_line_length
        {
            self.line_length = match memchr::memrchr(b'\n', bytes) {
                Some(lf) => bytes.len() - (lf + 1),
                None => self.line_length + bytes.len(),
            };
            return None;
        }

        let mut rest = bytes;

        while !rest.is_empty() {
            let segment_length = memchr::memchr(b'\n', rest).map_or(rest.len(), |lf| lf + 1);
            let (segment, after) = rest.split_at(segment_length);
            let ends_line = segment.ends_with(b"\n");
            rest = after;

            if let Some(error) = self.first_exceeded(segment.len(), limits) {
                return Some(error);
            }
            self.line_length = self.line_length.saturating_add(segment.len());

            if self.in_header {
                self.header_size = self.header_size.saturating_add(segment.len());
                self.line_is_blank &= segment.iter().all(|&b| b == b'\r' || b == b'\n');
            }

            if ends_line {
                if self.line_is_blank {
                    self.in_header = false;
                }
                self.line_length = 0;
                self.line_is_blank = true;
            }
        }

        None
    }

    /// Returns the limit that `length` more bytes of the current line exceed
    /// first, in the order of the bytes.
    fn first_exceeded(&self, length: usize, limits: &DataLimits) -> Option<DataError> {
        // Each room is the index, within the new bytes, of the first byte
        // beyond that limit.
        let line_room = limits.max_line_length.saturating_sub(self.line_length);
        let header_room = if self.in_header {
            limits.max_header_size.saturating_sub(self.header_size)
        } else {
            usize::MAX
        };

        if line_room < length && line_room <= header_room {
            Some(DataError::LineTooLong {
                limit: limits.max_line_length,
            })
        } else if header_room < length {
            Some(DataError::HeaderTooLarge {
                limit: limits.max_header_size,
            })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_header_size: usize, max_line_length: usize) -> DataLimits {
        DataLimits {
            max_message_size: usize::MAX,
            max_header_size,
            max_line_length,
        }
    }

    /// Feeds `input` one byte at a time and whole, and checks both agree.
    fn measure(input: &[u8], limits: DataLimits) -> Option<DataError> {
        let whole = LineMeter::new().observe(input, &limits);

        let mut meter = LineMeter::new();
        let by_byte = input
            .iter()
            .find_map(|byte| meter.observe(std::slice::from_ref(byte), &limits));

        assert_eq!(whole, by_byte, "input {:?}", String::from_utf8_lossy(input));
        whole
    }

    #[test]
    fn line_limit_includes_line_end() {
        let at_limit = measure(b"12345678\r\nabc\r\n", limits(100, 10));
        let over_limit = measure(b"123456789\r\n", limits(100, 10));

        assert_eq!(at_limit, None);
        assert_eq!(over_limit, Some(DataError::LineTooLong { limit: 10 }));
    }

    #[test]
    fn bare_line_feed_ends_line() {
        let result = measure(b"1234567\n1234567\n", limits(100, 8));

        assert_eq!(result, None);
    }

    #[test]
    fn header_ends_at_first_empty_line() {
        let header = b"Subject: x\r\n\r\n";
        let mut input = header.to_vec();
        input.extend_from_slice(&[b'b'; 50]);

        assert_eq!(measure(&input, limits(header.len(), 100)), None);
        assert_eq!(
            measure(&input, limits(header.len() - 1, 100)),
            Some(DataError::HeaderTooLarge {
                limit: header.len() - 1
            })
        );
    }

    #[test]
    fn bare_line_feed_empty_line_ends_header() {
        let mut input = b"Subject: x\n\n".to_vec();
        input.extend_from_slice(&[b'b'; 50]);

        assert_eq!(measure(&input, limits(12, 100)), None);
    }

    #[test]
    fn message_without_empty_line_is_all_header() {
        let input = b"Subject: x\r\nbody without separator\r\n";

        assert_eq!(
            measure(input, limits(20, 100)),
            Some(DataError::HeaderTooLarge { limit: 20 })
        );
    }

    #[test]
    fn long_multiline_input_matches_bytewise() {
        let mut input = Vec::new();
        for number in 1..=30 {
            input.extend_from_slice(format!("X-Field-{number}: ").as_bytes());
            input.extend_from_slice(&vec![b'v'; number * 3]);
            input.extend_from_slice(if number % 4 == 0 { b"\n" } else { b"\r\n" });
        }
        input.extend_from_slice(b"\r\n");
        let header_size = input.len();
        for number in 0..2000 {
            let line_end: &[u8] = match number % 5 {
                0 => b"\n",
                1 => b"\r\r\n",
                _ => b"\r\n",
            };
            let text = vec![b'a' + (number % 26) as u8; number % 150];
            let (first, second) = text.split_at(text.len() / 2);
            input.extend_from_slice(first);
            if number % 11 == 0 {
                input.push(b'\r');
            }
            input.extend_from_slice(second);
            input.extend_from_slice(line_end);
        }
        let cases = [
            (limits(usize::MAX, usize::MAX), None),
            (limits(header_size, 152), None),
            (
                limits(header_size - 1, 152),
                Some(DataError::HeaderTooLarge {
                    limit: header_size - 1,
                }),
            ),
            (
                limits(usize::MAX, 151),
                Some(DataError::LineTooLong { limit: 151 }),
            ),
        ];

        for (limits, expected) in cases {
            assert_eq!(measure(&input, limits), expected, "{limits:?}");

            for chunk_size in [2, 7, 64, 1000] {
                let mut meter = LineMeter::new();
                let chunked = input
                    .chunks(chunk_size)
                    .find_map(|chunk| meter.observe(chunk, &limits));
                assert_eq!(chunked, expected, "chunks of {chunk_size}, {limits:?}");
            }
        }
    }

    #[test]
    fn header_limit_before_line_limit_in_one_line() {
        let mut input = b"Subject: x\r\n".to_vec();
        input.extend_from_slice(&[b'h'; 50]);

        assert_eq!(
            measure(&input, limits(20, 40)),
            Some(DataError::HeaderTooLarge { limit: 20 })
        );
    }
}
