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
//! marker, so memory stays bounded and the session stays in sync. The error
//! is the limit exceeded at the earliest byte of the message. When one byte
//! exceeds several limits, the message size comes first, then the line
//! length, then the header size. So the result does not depend on how the
//! input is split between [`DataReceiver::feed`] calls.

mod limits;

pub use limits::DataLimits;

use std::sync::LazyLock;

use limits::LineMeter;
use memchr::memmem;

/// Searcher for CR LF `.`, built once. Building one per search took a third
/// of the time on text with every 20th line dot-stuffed
/// (`benches/data_receiver.rs`).
static DOT_LINE_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\r\n."));

/// Capacity in bytes of the first allocation for a message without
/// [`DataReceiver::reserve`], which saves the many small reallocations at the
/// start of every message.
const MIN_CAPACITY: usize = 4096;

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
            index += self.step(&input[index..]);
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

    /// Returns the message bytes stored so far, or `None` once a limit was
    /// exceeded and the message will be rejected. The bytes only grow: what
    /// this returns is always the start of the message that
    /// [`DataReceiver::finish`] returns.
    pub fn stored_data(&self) -> Option<&[u8]> {
        match self.rejection {
            None => Some(&self.data),
            Some(_) => None,
        }
    }

    /// Returns the number of bytes allocated for the message, which stays
    /// within `max_message_size`.
    pub fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// Reserves memory for a message of `expected_size` bytes after
    /// dot-unstuffing, so that it is stored without reallocation.
    ///
    /// `expected_size` is meant for the `SIZE=` value of MAIL FROM, which
    /// RFC 1870 defines as this size and which the client only estimates. The
    /// value is not trusted, so the capacity is capped at `max_message_size`,
    /// and a larger message is still rejected by that limit.
    pub fn reserve(&mut self, expected_size: usize) {
        if self.rejection.is_some() {
            return;
        }

        let capacity = expected_size.min(self.limits.max_message_size);
        self.data
            .reserve_exact(capacity.saturating_sub(self.data.len()));
    }

    /// Advances the scanner over the start of `input`, which is not empty,
    /// and returns how many bytes it consumed. A step that only changes the
    /// state consumes nothing, and the next step reads the same byte.
    fn step(&mut self, input: &[u8]) -> usize {
        let Some(&byte) = input.first() else {
            return 0;
        };

        match (self.state, byte) {
            (ScanState::Text, _) => self.scan_text(input),
            (ScanState::LineStart, b'.') => {
                self.state = ScanState::Dot;
                1
            }
            (ScanState::Cr, b'\n') => {
                self.store(b"\n");
                self.state = ScanState::LineStart;
                1
            }
            (ScanState::Dot, b'\r') => {
                self.state = ScanState::DotCr;
                1
            }
            (ScanState::DotCr, b'\n') => {
                self.state = ScanState::Done;
                1
            }
            (ScanState::DotCr, _) => {
                // The line was `.` CR followed by more text, so the CR is
                // data and the current byte is read after it.
                self.store(b"\r");
                self.state = ScanState::Cr;
                0
            }
            // Any other byte continues the line as text, and `scan_text`
            // stores it as the byte-by-byte rules would: a CR there also
            // leads to `Cr`, and a bare LF stays in the line.
            (ScanState::LineStart | ScanState::Cr | ScanState::Dot, _) => {
                self.state = ScanState::Text;
                0
            }
            (ScanState::Done, _) => 0,
        }
    }

    /// Stores the text up to the CR LF before the next line that starts with
    /// `.`, or all of `input` when it contains none, and returns the number
    /// of bytes consumed.
    ///
    /// Inside a line every byte is data until a CR LF `.` sequence, because
    /// a line start whose first byte is not `.` is stored like any other
    /// text. So the only position where the scanner must stop is right
    /// after the CR LF of such a sequence.
    fn scan_text(&mut self, input: &[u8]) -> usize {
        if let Some(position) = DOT_LINE_FINDER.find(input) {
            let (line_ends, _) = input.split_at(position + 2);
            self.store(line_ends);
            self.state = ScanState::LineStart;
            return line_ends.len();
        }

        self.store(input);
        self.state = if input.ends_with(b"\r\n") {
            ScanState::LineStart
        } else if input.ends_with(b"\r") {
            ScanState::Cr
        } else {
            ScanState::Text
        };
        input.len()
    }

    /// Appends message bytes, or counts and drops them once a limit is exceeded.
    fn store(&mut self, bytes: &[u8]) {
        let size_before = self.size;
        self.size = self.size.saturating_add(bytes.len());

        if self.rejection.is_none() {
            self.rejection = self.check_limits(size_before, bytes);
        }

        if self.rejection.is_none() {
            self.grow(bytes.len());
            self.data.extend_from_slice(bytes);
        } else if self.data.capacity() > 0 {
            self.data = Vec::new();
        }
    }

    /// Measures `bytes`, which follow `size_before` bytes of message, and
    /// returns the first limit they exceed in the order of the bytes. When
    /// one byte exceeds the message size and a line or header limit, the
    /// message size wins.
    fn check_limits(&mut self, size_before: usize, bytes: &[u8]) -> Option<DataError> {
        let room = self.limits.max_message_size.saturating_sub(size_before);
        let (within_size, beyond_size) = bytes.split_at(room.min(bytes.len()));

        if let Some(error) = self.meter.observe(within_size, &self.limits) {
            return Some(error);
        }
        if beyond_size.is_empty() {
            None
        } else {
            Some(DataError::TooLarge {
                limit: self.limits.max_message_size,
            })
        }
    }

    /// Makes room for `additional` more bytes, which fit in the message size
    /// limit. Like [`Vec::reserve`] it doubles the capacity, but it never
    /// grows beyond `max_message_size`.
    fn grow(&mut self, additional: usize) {
        let needed = self.data.len().saturating_add(additional);
        if needed <= self.data.capacity() {
            return;
        }

        let capacity = needed
            .max(self.data.capacity().saturating_mul(2))
            .max(MIN_CAPACITY)
            .min(self.limits.max_message_size)
            .max(needed);
        self.data.reserve_exact(capacity - self.data.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1024;

    /// Feeds `input` in one piece and returns the result and the consumed count.
    fn receive_whole(input: &[u8]) -> (Result<Vec<u8>, DataError>, usize) {
        receive_whole_with(input, DataLimits::size_only(LIMIT))
    }

    fn receive_whole_with(input: &[u8], limits: DataLimits) -> (Result<Vec<u8>, DataError>, usize) {
        let mut receiver = DataReceiver::with_limits(limits);
        let progress = receiver.feed(input);

        (receiver.finish(), progress.consumed)
    }

    /// Feeds `input` split at every set of two positions and checks that each
    /// split gives the same message and consumed count as the whole input.
    fn assert_split_invariant(input: &[u8]) {
        assert_split_invariant_with(input, DataLimits::size_only(LIMIT));
    }

    fn assert_split_invariant_with(input: &[u8], limits: DataLimits) {
        let (expected, expected_consumed) = receive_whole_with(input, limits);

        for first in 0..=input.len() {
            for second in first..=input.len() {
                let mut receiver = DataReceiver::with_limits(limits);
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

    #[test]
    fn fast_path_split_everywhere() {
        let inputs: [&[u8]; 10] = [
            b"line one\r\nline two\r\nline three\r\n.\r\n",
            b"a\r\n.b\r\n..c\r\n...\r\nd.\r\n.\r\n",
            b"a\n.\r\nb\r.\r\nc\r\n.x\r\n.\r\n",
            b"a\r\r\n.\r\n",
            b"a\r\n\r\n.\r\n",
            b"x\r\n.\r\r\n.\r\n",
            b"x\r\n.\r.\r\n.\r\n",
            b"x\r\n.\n.\r\n.\r\n",
            b"\r\n.\r\n",
            b"\r.\r\n\n.\r\n\r\n.\r\nNOOP\r\n",
        ];

        for input in inputs {
            assert_split_invariant(input);
        }
    }

    #[test]
    fn many_lines_fed_in_chunks() {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for number in 0..500 {
            let line = format!("line {number} of the message\r\n");
            if number % 7 == 0 {
                input.push(b'.');
            }
            input.extend_from_slice(line.as_bytes());
            expected.extend_from_slice(line.as_bytes());
        }
        input.extend_from_slice(b".\r\nQUIT\r\n");
        let data_length = input.len() - 6;

        for chunk_size in [1, 2, 3, 5, 29, 30, 31, 64, 1000, input.len()] {
            let mut receiver = DataReceiver::new(1 << 20);
            let mut consumed = 0;
            for chunk in input.chunks(chunk_size) {
                consumed += receiver.feed(chunk).consumed;
                if receiver.is_complete() {
                    break;
                }
            }

            assert_eq!(consumed, data_length, "consumed in chunks of {chunk_size}");
            assert_eq!(
                receiver.finish().as_deref(),
                Ok(&expected[..]),
                "message in chunks of {chunk_size}"
            );
        }
    }

    #[test]
    fn chunk_ending_in_cr_then_dot_line() {
        let mut receiver = DataReceiver::new(LIMIT);

        let first = receiver.feed(b"text\r");
        let second = receiver.feed(b"\n.\r");
        let third = receiver.feed(b"\nNOOP\r\n");

        assert_eq!(first.consumed, 5);
        assert!(!first.complete);
        assert_eq!(second.consumed, 3);
        assert!(!second.complete);
        assert_eq!(third.consumed, 1);
        assert!(third.complete);
        assert_eq!(receiver.finish().as_deref(), Ok(&b"text\r\n"[..]));
    }

    #[test]
    fn chunk_ending_in_bare_cr_keeps_dot() {
        let mut receiver = DataReceiver::new(LIMIT);

        receiver.feed(b"text\r");
        let after_dot_line = receiver.feed(b".\r\n");
        let after_end = receiver.feed(b".\r\n");

        assert!(!after_dot_line.complete);
        assert_eq!(after_dot_line.consumed, 3);
        assert!(after_end.complete);
        assert_eq!(receiver.finish().as_deref(), Ok(&b"text\r.\r\n"[..]));
    }

    /// Messages that exceed several limits, with limits of 100 bytes for the
    /// message, 60 for the header and 40 for a line: the limit exceeded at
    /// the earliest byte is reported, however the input is split.
    #[test]
    fn first_limit_in_byte_order_reported() {
        let limits = DataLimits {
            max_message_size: 100,
            max_header_size: 60,
            max_line_length: 40,
        };
        let long_line = [b'x'; 200];
        let header_lines = b"X-A: 1234567890123456789012345\r\n".repeat(4);
        let short_lines = b"\r\n123456789012345678901234567890123\r\n".repeat(4);
        // The header limit is exceeded at byte 31 of the second line, the
        // line limit only at its byte 41.
        let header_then_line = [&[b'h'; 28][..], b"\r\n", &[b'x'; 50]].concat();
        let cases: [(&[u8], DataError); 4] = [
            (&long_line, DataError::LineTooLong { limit: 40 }),
            (&header_lines, DataError::HeaderTooLarge { limit: 60 }),
            (&short_lines, DataError::TooLarge { limit: 100 }),
            (&header_then_line, DataError::HeaderTooLarge { limit: 60 }),
        ];

        for (body, expected) in cases {
            let mut input = body.to_vec();
            input.extend_from_slice(b"\r\n.\r\n");

            let (result, consumed) = receive_whole_with(&input, limits);

            let label = String::from_utf8_lossy(body);
            assert_eq!(result, Err(expected), "error for {label:?}");
            assert_eq!(consumed, input.len(), "consumed for {label:?}");
        }
    }

    #[test]
    fn limits_on_one_byte_precedence() {
        let both_at_41 = [b'x'; 50];
        let cases = [
            (
                DataLimits {
                    max_message_size: 40,
                    max_header_size: 40,
                    max_line_length: 40,
                },
                DataError::TooLarge { limit: 40 },
            ),
            (
                DataLimits {
                    max_message_size: 1000,
                    max_header_size: 40,
                    max_line_length: 40,
                },
                DataError::LineTooLong { limit: 40 },
            ),
        ];

        for (limits, expected) in cases {
            let mut input = both_at_41.to_vec();
            input.extend_from_slice(b"\r\n.\r\n");

            let (result, _) = receive_whole_with(&input, limits);

            assert_eq!(result, Err(expected), "limits {limits:?}");
        }
    }

    #[test]
    fn limits_split_everywhere() {
        let limits = DataLimits {
            max_message_size: 30,
            max_header_size: 20,
            max_line_length: 12,
        };
        let inputs: [&[u8]; 5] = [
            b"Subject: 12345\r\n\r\nbody\r\n.\r\n",
            b"Subject: x\r\nX: y\r\n\r\nbody\r\n.\r\n",
            b"\r\n1234567890\r\n..234567890\r\n12345\r\n.\r\n",
            b"\n1234567890\n1234567890\n123456\r\n.\r\n",
            b"\r\n12345678901\r\n.\r\n",
        ];

        for input in inputs {
            assert_split_invariant_with(input, limits);
        }
    }

    /// Feeds pseudo-random inputs whole, in random pieces and byte by byte,
    /// and compares each result with [`reference_receive`].
    #[test]
    fn random_inputs_match_reference() {
        let fragments: [&[u8]; 9] = [
            b"\r\n",
            b"\r\n.",
            b"\r",
            b"\n",
            b".",
            b"a",
            b"text",
            b"\r\n.\r\n",
            b"Subject: x",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next_random = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };

        for _ in 0..5000 {
            let limits = DataLimits {
                max_message_size: 1 + next_random(80),
                max_header_size: 1 + next_random(60),
                max_line_length: 1 + next_random(30),
            };
            let mut input = Vec::new();
            for _ in 0..next_random(40) {
                input.extend_from_slice(fragments[next_random(fragments.len())]);
            }
            let label = format!("input {:?}, {limits:?}", String::from_utf8_lossy(&input));
            let expected = reference_receive(&input, limits);

            let mut whole = DataReceiver::with_limits(limits);
            let whole_consumed = whole.feed(&input).consumed;
            assert_eq!(whole_consumed, expected.1, "consumed whole for {label}");
            assert!(
                whole.capacity() <= limits.max_message_size,
                "capacity for {label}"
            );
            assert_eq!(whole.finish(), expected.0, "result whole for {label}");

            let mut pieces = DataReceiver::with_limits(limits);
            let mut consumed = 0;
            let mut offset = 0;
            while offset < input.len() && !pieces.is_complete() {
                let end = (offset + 1 + next_random(8)).min(input.len());
                consumed += pieces.feed(&input[offset..end]).consumed;
                offset = end;
            }
            assert_eq!(consumed, expected.1, "consumed in pieces for {label}");
            assert_eq!(pieces.finish(), expected.0, "result in pieces for {label}");

            let mut bytes = DataReceiver::with_limits(limits);
            let consumed: usize = input.chunks(1).map(|byte| bytes.feed(byte).consumed).sum();
            assert_eq!(consumed, expected.1, "consumed byte by byte for {label}");
            assert_eq!(
                bytes.finish(),
                expected.0,
                "result byte by byte for {label}"
            );
        }
    }

    /// Receives `input` by the rules of the module documentation, written
    /// independently of [`DataReceiver`]. The data ends at the first CR LF
    /// `.` CR LF, counting a CR LF before the input. One `.` after each CR LF
    /// is removed, and every limit is checked after each stored byte.
    /// Returns the result and the consumed count.
    fn reference_receive(input: &[u8], limits: DataLimits) -> (Result<Vec<u8>, DataError>, usize) {
        let mut text = b"\r\n".to_vec();
        text.extend_from_slice(input);
        let end = text.windows(5).position(|window| window == b"\r\n.\r\n");
        let Some(end) = end else {
            return (Err(DataError::Incomplete), input.len());
        };

        let mut message = Vec::new();
        for index in 2..end + 2 {
            let line_start = text[index - 2..index] == *b"\r\n";
            if !(line_start && text[index] == b'.') {
                message.push(text[index]);
            }
        }

        let mut line_length = 0;
        let mut line_is_blank = true;
        let mut in_header = true;
        for (index, &byte) in message.iter().enumerate() {
            if index + 1 > limits.max_message_size {
                return (
                    Err(DataError::TooLarge {
                        limit: limits.max_message_size,
                    }),
                    end + 3,
                );
            }
            line_length += 1;
            if line_length > limits.max_line_length {
                return (
                    Err(DataError::LineTooLong {
                        limit: limits.max_line_length,
                    }),
                    end + 3,
                );
            }
            if in_header && index + 1 > limits.max_header_size {
                return (
                    Err(DataError::HeaderTooLarge {
                        limit: limits.max_header_size,
                    }),
                    end + 3,
                );
            }
            line_is_blank &= byte == b'\r' || byte == b'\n';
            if byte == b'\n' {
                in_header &= !line_is_blank;
                line_length = 0;
                line_is_blank = true;
            }
        }

        (Ok(message), end + 3)
    }

    #[test]
    fn reserve_capped_at_limit() {
        let mut declared_small = DataReceiver::new(1000);
        declared_small.reserve(300);
        let mut declared_huge = DataReceiver::new(1000);
        declared_huge.reserve(usize::MAX);

        assert_eq!(declared_small.capacity(), 300);
        assert_eq!(declared_huge.capacity(), 1000);
    }

    #[test]
    fn growth_capped_at_limit() {
        let mut receiver = DataReceiver::new(10_000);
        receiver.reserve(3000);
        let line = [b'y'; 98];

        for _ in 0..99 {
            receiver.feed(&line);
            receiver.feed(b"\r\n");
            assert!(
                receiver.capacity() <= 10_000,
                "capacity {}",
                receiver.capacity()
            );
        }
        let progress = receiver.feed(b".\r\n");

        assert!(progress.complete);
        assert_eq!(receiver.capacity(), 10_000);
        assert_eq!(receiver.finish().map(|data| data.len()), Ok(9900));
    }

    #[test]
    fn reserve_after_rejection_allocates_nothing() {
        let mut receiver = DataReceiver::new(4);
        receiver.feed(b"too long\r\n");
        receiver.reserve(4);

        assert_eq!(receiver.capacity(), 0);
    }
}
