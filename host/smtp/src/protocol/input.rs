//! Buffer of received bytes that splits command lines and enforces the
//! command line length limit.
//!
//! A command line ends at LF, and a CR right before it is removed, so clients
//! that end commands with a bare LF are understood. (Inside DATA only CR LF
//! ends a line, see [`super::data`].)

/// One item taken from the buffer in command mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A command line without its line ending.
    Complete(Vec<u8>),
    /// A line longer than the limit. Its bytes were discarded up to and
    /// including its LF, so the next line starts in sync.
    TooLong,
}

/// Received bytes that have not been processed yet.
#[derive(Debug, Default)]
pub struct InputBuffer {
    bytes: Vec<u8>,
    discarding_long_line: bool,
}

impl InputBuffer {
    /// Appends received bytes.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Returns the buffered bytes.
    pub fn pending(&self) -> &[u8] {
        &self.bytes
    }

    /// Removes the first `count` buffered bytes.
    pub fn consume(&mut self, count: usize) {
        let count = count.min(self.bytes.len());
        self.bytes.drain(..count);
    }

    /// Takes the next command line, or returns `None` until a whole line is
    /// buffered.
    ///
    /// `max_length` is in bytes and includes the line ending. Once an
    /// unfinished line reaches it, the buffered part is dropped, so the buffer
    /// contains less than `max_length` bytes between calls, and the rest of that
    /// line is dropped as it arrives.
    pub fn next_line(&mut self, max_length: usize) -> Option<Line> {
        let Some(newline) = self.bytes.iter().position(|&b| b == b'\n') else {
            if self.bytes.len() >= max_length {
                self.bytes.clear();
                self.discarding_long_line = true;
            }
            return None;
        };

        let line_length = newline + 1;
        let too_long = self.discarding_long_line || line_length > max_length;
        self.discarding_long_line = false;

        let mut line: Vec<u8> = self.bytes.drain(..line_length).collect();
        if too_long {
            return Some(Line::TooLong);
        }

        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(Line::Complete(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(text: &str) -> Option<Line> {
        Some(Line::Complete(text.as_bytes().to_vec()))
    }

    #[test]
    fn splits_pipelined_lines() {
        let mut buffer = InputBuffer::default();
        buffer.extend(b"NOOP\r\nRSET\nQUI");

        assert_eq!(buffer.next_line(100), complete("NOOP"));
        assert_eq!(buffer.next_line(100), complete("RSET"));
        assert_eq!(buffer.next_line(100), None);

        buffer.extend(b"T\r\n");
        assert_eq!(buffer.next_line(100), complete("QUIT"));
        assert_eq!(buffer.pending(), b"");
    }

    #[test]
    fn limit_includes_line_ending() {
        let mut buffer = InputBuffer::default();
        buffer.extend(b"12345678\r\n123456789\r\n");

        assert_eq!(buffer.next_line(10), complete("12345678"));
        assert_eq!(buffer.next_line(10), Some(Line::TooLong));
    }

    #[test]
    fn long_line_discarded_across_reads() {
        let mut buffer = InputBuffer::default();

        buffer.extend(b"0123456789");
        assert_eq!(buffer.next_line(10), None);
        assert!(buffer.pending().is_empty());

        buffer.extend(b"more text without end");
        assert_eq!(buffer.next_line(10), None);

        buffer.extend(b"end\r\nNOOP\r\n");
        assert_eq!(buffer.next_line(10), Some(Line::TooLong));
        assert_eq!(buffer.next_line(10), complete("NOOP"));
    }

    #[test]
    fn consume_removes_prefix() {
        let mut buffer = InputBuffer::default();
        buffer.extend(b"body.\r\nQUIT\r\n");

        buffer.consume(7);

        assert_eq!(buffer.pending(), b"QUIT\r\n");
    }
}
