//! Receiver for the message text after DATA (RFC 5321 section 4.1.1.4).
//!
//! [`DataReceiver`] is fed byte slices however the network split them and
//! finds the end of the data without I/O. The rules:
//!
//! - Only CR LF `.` CR LF ends the data. The first line of the data counts as
//!   following a CR LF, so a lone `.` line right after DATA gives an empty
//!   message. A `.` after a bare LF or a bare CR does not end the data, which
//!   closes the "SMTP smuggling" gap where two servers disagree on the end.
//! - A line is the text after CR LF. When a line starts with `.`, exactly one
//!   `.` is removed (RFC 5321 section 4.5.2).
//! - A bare LF or a bare CR is kept as data and does not start a new line, so
//!   no dot is removed after it.
//! - The message is the data after dot-unstuffing, with the CR LF that ends
//!   its last line and without the final `.` CR LF.
//!
//! Limits on the message size, the header block and the line length are
//! checked as bytes arrive (see [`DataLimits`]). At the first limit exceeded
//! the receiver frees what it stored and keeps only counting until the end
//! marker, so memory stays bounded and the session stays in sync.

mod limits;

pub use limits::DataLimits;

use limits::LineMeter;

/// Error from [`DataReceiver::finish`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The message is longer than the limit; its bytes were discarded.
    #[error("message exceeds the maximum size of {limit} bytes")]
    TooLarge { limit: usize },
    /// The header block is longer than the limit; the message was discarded.
    #[error("message header exceeds the maximum size of {limit} bytes")]
    HeaderTooLarge { limit: usize },
    /// A line of the message is longer than the limit, counting its line
    /// end; the message was discarded.
    #[error("message contains a line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    /// [`DataReceiver::finish`] was called before the end of the data.
    #[error("end of data not received yet")]
    Incomplete,
}

/// Result of one [`DataReceiver::feed`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the input that belong to the data, including the end marker.
    /// Bytes after them belong to the next command.
    pub consumed: usize,
    /// Whether the end marker was found.
    pub complete: bool,
}

/// Position of the scanner relative to line starts and the end marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScanState {
    /// At the start of a line, after CR LF or at the start of the data.
    LineStart,
    /// Inside a line.
    Text,
    /// After a CR inside a line, which may be the start of CR LF.
    Cr,
    /// After a `.` at the start of a line; the dot has been removed.
    Dot,
    /// After `.` CR at the start of a line; the CR has not been stored yet.
    DotCr,
    /// The end marker was found.
    Done,
}

/// I/O-free receiver for the data of one message.
#[derive(Debug)]
pub struct DataReceiver {
    state: ScanState,
    limits: DataLimits,
    meter: LineMeter,
    size: usize,
    data: Vec<u8>,
    /// The first limit exceeded; once set, no more bytes are stored.
    rejection: Option<DataError>,
}

impl DataReceiver {
    /// Creates a receiver that keeps at most `max_size` bytes of message
    /// after dot-unstuffing and discards a longer message. Lines and the
    /// header block are not limited.
    pub fn new(max_size: usize) -> DataReceiver {
        DataReceiver::with_limits(DataLimits::size_only(max_size))
    }

    /// Creates a receiver that discards a message exceeding any of `limits`.
    pub fn with_limits(limits: DataLimits) -> DataReceiver {
        DataReceiver {
            state: ScanState::LineStart,
            limits,
            meter: LineMeter::new(),
            size: 0,
            data: Vec::new(),
            rejection: None,
        }
    }

    /// Scans `input`, stores the message bytes it contains and stops after the
    /// end marker. After the end it consumes nothing.
    pub fn feed(&mut self, input: &[u8]) -> Progress {
        let mut index = 0;

        while index < input.len() && self.state != ScanState::Done {
            let byte = input[index];
            match self.state {
                ScanState::Text => {
                    index += self.scan_text(&input[index..]);
                    continue;
                }
                ScanState::LineStart => match byte {
                    b'.' => self.state = ScanState::Dot,
                    b'\r' => self.store_byte(byte, ScanState::Cr),
                    _ => self.store_byte(byte, ScanState::Text),
                },
                ScanState::Cr => match byte {
                    b'\n' => self.store_byte(byte, ScanState::LineStart),
                    b'\r' => self.store_byte(byte, ScanState::Cr),
                    _ => self.store_byte(byte, ScanState::Text),
                },
                ScanState::Dot => match byte {
                    b'\r' => self.state = ScanState::DotCr,
                    _ => self.store_byte(byte, ScanState::Text),
                },
                ScanState::DotCr => {
                    if byte == b'\n' {
                        self.state = ScanState::Done;
                    } else {
                        // The line was `.` CR followed by more text, so the CR
                        // is data and the current byte is read after it.
                        self.store_byte(b'\r', ScanState::Cr);
                        continue;
                    }
                }
                ScanState::Done => break,
            }
            index += 1;
        }

        Progress {
            consumed: index,
            complete: self.state == ScanState::Done,
        }
    }

    /// Returns whether the end marker was found.
    pub fn is_complete(&self) -> bool {
        self.state == ScanState::Done
    }

    /// Size in bytes of the message received so far after dot-unstuffing,
    /// including bytes discarded for exceeding the limit.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Returns the message once the end marker was found.
    ///
    /// Errors: [`DataError::Incomplete`] before the end marker, otherwise the
    /// first limit that the message exceeded ([`DataError::TooLarge`],
    /// [`DataError::HeaderTooLarge`] or [`DataError::LineTooLong`]).
    pub fn finish(self) -> Result<Vec<u8>, DataError> {
        if self.state != ScanState::Done {
            return Err(DataError::Incomplete);
        }
        if let Some(rejection) = self.rejection {
            return Err(rejection);
        }

        Ok(self.data)
    }

    /// Returns the number of message bytes stored, which stays within
    /// `max_message_size`.
    pub fn stored(&self) -> usize {
        self.data.len()
    }

    /// Stores the text up to and including the next CR and returns how many
    /// bytes it took. A bare LF stays in the line.
    fn scan_text(&mut self, input: &[u8]) -> usize {
        match input.iter().position(|&b| b == b'\r') {
            Some(cr) => {
                self.store(&input[..=cr]);
                self.state = ScanState::Cr;
                cr + 1
            }
            None => {
                self.store(input);
                input.len()
            }
        }
    }

    fn store_byte(&mut self, byte: u8, next: ScanState) {
        self.store(&[byte]);
        self.state = next;
    }

    /// Appends message bytes, or counts and drops them once a limit is exceeded.
    fn store(&mut self, bytes: &[u8]) {
        self.size = self.size.saturating_add(bytes.len());

        if self.rejection.is_none() {
            self.rejection = if self.size > self.limits.max_message_size {
                Some(DataError::TooLarge {
                    limit: self.limits.max_message_size,
                })
            } else {
                self.meter.observe(bytes, &self.limits)
            };
        }

        if self.rejection.is_none() {
            self.data.extend_from_slice(bytes);
        } else if self.data.capacity() > 0 {
            self.data = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1024;

    /// Feeds `input` in one piece and returns the result and the consumed count.
    fn receive_whole(input: &[u8]) -> (Result<Vec<u8>, DataError>, usize) {
        let mut receiver = DataReceiver::new(LIMIT);
        let progress = receiver.feed(input);

        (receiver.finish(), progress.consumed)
    }

    /// Feeds `input` split at every set of two positions and checks that each
    /// split gives the same message and consumed count as the whole input.
    fn assert_split_invariant(input: &[u8]) {
        let (expected, expected_consumed) = receive_whole(input);

        for first in 0..=input.len() {
            for second in first..=input.len() {
                let mut receiver = DataReceiver::new(LIMIT);
                let mut consumed = 0;
                for part in [&input[..first], &input[first..second], &input[second..]] {
                    consumed += receiver.feed(part).consumed;
                    if receiver.is_complete() {
                        break;
                    }
                }

                let label = format!(
                    "input {:?} split at {first} and {second}",
                    String::from_utf8_lossy(input)
                );
                assert_eq!(consumed, expected_consumed, "consumed for {label}");
                assert_eq!(receiver.finish(), expected, "message for {label}");
            }
        }
    }

    #[test]
    fn unstuffing_table() {
        let cases: [(&[u8], &[u8]); 9] = [
            (b".\r\n", b""),
            (b"Hello\r\n.\r\n", b"Hello\r\n"),
            (b"..\r\n.\r\n", b".\r\n"),
            (b"..leading\r\n.\r\n", b".leading\r\n"),
            (b"a\r\n...three\r\n.\r\n", b"a\r\n..three\r\n"),
            (b"a.\r\nmid.dle\r\n.\r\n", b"a.\r\nmid.dle\r\n"),
            (b".x\r\n.\r\n", b"x\r\n"),
            (b"a\r\n. \r\n.\r\n", b"a\r\n \r\n"),
            (b"a\r\n.\rb\r\n.\r\n", b"a\r\n\rb\r\n"),
        ];

        for (input, expected) in cases {
            let mut receiver = DataReceiver::new(LIMIT);
            let progress = receiver.feed(input);
            let complete = progress.complete;
            let result = receiver.finish();

            let label = String::from_utf8_lossy(input);
            assert!(complete, "input {label:?} must be complete");
            assert_eq!(progress.consumed, input.len(), "consumed for {label:?}");
            assert_eq!(result.as_deref(), Ok(expected), "message for {label:?}");
        }
    }

    #[test]
    fn smuggling_variants_do_not_end_data() {
        let variants: [&[u8]; 6] = [
            b"a\n.\nb",
            b"a\n.\r\nb",
            b"a\r.\r\nb",
            b"a\r\n.\nb",
            b"a\r\n.\rb",
            b"a\r\n.\r\rb",
        ];

        for prefix in variants {
            let mut input = prefix.to_vec();
            input.extend_from_slice(b"\r\n.\r\n");

            let mut receiver = DataReceiver::new(LIMIT);
            let progress = receiver.feed(prefix);
            let label = String::from_utf8_lossy(prefix);
            assert!(!progress.complete, "{label:?} ended the data");
            assert_eq!(progress.consumed, prefix.len(), "consumed for {label:?}");

            let (result, consumed) = receive_whole(&input);
            assert_eq!(
                consumed,
                input.len(),
                "consumed with real end for {label:?}"
            );
            assert!(result.is_ok(), "message with real end for {label:?}");
        }
    }

    #[test]
    fn bare_line_feeds_kept_as_data() {
        let (result, _) = receive_whole(b"a\n.\nb\r\n.\r\n");

        assert_eq!(result.as_deref(), Ok(&b"a\n.\nb\r\n"[..]));
    }

    #[test]
    fn bare_line_feed_after_line_start_dot() {
        let (result, _) = receive_whole(b"a\r\n.\nb\r\n.\r\n");

        assert_eq!(result.as_deref(), Ok(&b"a\r\n\nb\r\n"[..]));
    }

    #[test]
    fn end_marker_split_everywhere() {
        let inputs: [&[u8]; 6] = [
            b"Subject: x\r\n\r\nbody\r\n.\r\n",
            b".\r\n",
            b"..\r\n..x\r\n.\r\n",
            b"a\n.\nb\r\n.\r\nQUIT\r\n",
            b"a\r\n.\rb\r\n.\r\nNOOP\r\n",
            b"a\r.\r\n\r\n.\r\n",
        ];

        for input in inputs {
            assert_split_invariant(input);
        }
    }

    #[test]
    fn stops_after_end_marker() {
        let mut receiver = DataReceiver::new(LIMIT);

        let progress = receiver.feed(b"body\r\n.\r\nQUIT\r\n");
        let after_end = receiver.feed(b"more");

        assert_eq!(
            progress,
            Progress {
                consumed: 9,
                complete: true
            }
        );
        assert_eq!(
            after_end,
            Progress {
                consumed: 0,
                complete: true
            }
        );
        assert_eq!(receiver.finish().as_deref(), Ok(&b"body\r\n"[..]));
    }

    #[test]
    fn size_limit_counts_unstuffed_bytes() {
        let mut at_limit = DataReceiver::new(6);
        at_limit.feed(b"..abc\r\n.\r\n");
        let mut over_limit = DataReceiver::new(5);
        over_limit.feed(b"..abc\r\n.\r\n");

        assert_eq!(at_limit.finish().as_deref(), Ok(&b".abc\r\n"[..]));
        assert_eq!(over_limit.finish(), Err(DataError::TooLarge { limit: 5 }));
    }

    #[test]
    fn oversized_message_reads_to_end() {
        let mut receiver = DataReceiver::new(10);
        let chunk = [b'x'; 100];

        for _ in 0..10 {
            let progress = receiver.feed(&chunk);
            assert!(!progress.complete);
        }
        let progress = receiver.feed(b"\r\n.\r\nNOOP\r\n");

        assert_eq!(
            progress,
            Progress {
                consumed: 5,
                complete: true
            }
        );
        assert_eq!(receiver.size(), 1002);
        assert_eq!(receiver.finish(), Err(DataError::TooLarge { limit: 10 }));
    }

    #[test]
    fn long_line_discarded_then_next_data() {
        let limits = DataLimits {
            max_message_size: 10_000,
            max_header_size: 100,
            max_line_length: 50,
        };
        let mut receiver = DataReceiver::with_limits(limits);
        let mut input = b"Subject: x\r\n\r\n".to_vec();
        input.extend_from_slice(&[b'z'; 60]);
        input.extend_from_slice(b"\r\n.\r\nNOOP\r\n");

        let progress = receiver.feed(&input);

        assert!(progress.complete);
        assert_eq!(progress.consumed, input.len() - 6);
        assert_eq!(receiver.stored(), 0);
        assert_eq!(receiver.finish(), Err(DataError::LineTooLong { limit: 50 }));
    }

    #[test]
    fn header_limit_reported_first() {
        let limits = DataLimits {
            max_message_size: 60,
            max_header_size: 20,
            max_line_length: 1000,
        };
        let mut receiver = DataReceiver::with_limits(limits);
        let mut input = b"X-Filler: yyyyyyyyyyyyyyyyyyyy\r\n".repeat(10);
        input.extend_from_slice(b"\r\nbody\r\n.\r\n");

        receiver.feed(&input);

        assert_eq!(receiver.stored(), 0);
        assert_eq!(
            receiver.finish(),
            Err(DataError::HeaderTooLarge { limit: 20 })
        );
    }

    #[test]
    fn finish_before_end_fails() {
        let mut receiver = DataReceiver::new(LIMIT);
        let progress = receiver.feed(b"partial\r\n.\r");

        assert!(!progress.complete);
        assert_eq!(receiver.finish(), Err(DataError::Incomplete));
    }
}
