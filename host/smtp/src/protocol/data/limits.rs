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
    pub fn observe(&mut self, bytes: &[u8], limits: &DataLimits) -> Option<DataError> {
        let mut rest = bytes;

        while !rest.is_empty() {
            let (segment, ends_line) = match rest.iter().position(|&b| b == b'\n') {
                Some(lf) => (&rest[..=lf], true),
                None => (rest, false),
            };
            rest = &rest[segment.len()..];

            self.line_length = self.line_length.saturating_add(segment.len());
            self.line_is_blank &= segment.iter().all(|&b| b == b'\r' || b == b'\n');
            if self.line_length > limits.max_line_length {
                return Some(DataError::LineTooLong {
                    limit: limits.max_line_length,
                });
            }

            if self.in_header {
                self.header_size = self.header_size.saturating_add(segment.len());
                if self.header_size > limits.max_header_size {
                    return Some(DataError::HeaderTooLarge {
                        limit: limits.max_header_size,
                    });
                }
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
}
