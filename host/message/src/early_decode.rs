//! Decoding of large base64 bodies on a second thread while `mail-parser`
//! reads the structure of the message.
//!
//! The body of a part whose `Content-Transfer-Encoding` the parse view
//! hides is guessed from the raw data: it starts after the first blank line
//! that follows the field and ends before the first `--`, which base64 text
//! never contains. Once `mail-parser` has read the structure, a guess is
//! used only where the part's body starts at the same offset and the guess
//! runs past its end by line ends alone, so that decoding either range gives
//! the same bytes. Every other body is decoded as usual, so a wrong guess
//! costs time, never content.

use std::ops::Range;

use crate::transfer;

/// Smallest guessed body, in bytes of base64 text, that is decoded early.
/// Below it the second thread costs more than it saves.
pub(crate) const MIN_EARLY_BODY: usize = 1024 * 1024;

/// A body decoded early.
#[derive(Debug)]
pub(crate) struct EarlyBody {
    /// The guessed body in the raw data.
    range: Range<usize>,
    /// The decoded content.
    content: Vec<u8>,
    /// Whether the base64 text is valid (see [`transfer::is_valid_base64`]).
    valid: bool,
}

/// Bodies decoded early, until the parser takes them.
#[derive(Debug, Default)]
pub(crate) struct EarlyBodies {
    bodies: Vec<EarlyBody>,
}

impl EarlyBodies {
    /// Returns the decoded content of the base64 body at `body_range` of
    /// `raw` and whether its text is valid, when a guess matches it.
    pub(crate) fn take(&mut self, raw: &[u8], body_range: &Range<usize>) -> Option<(Vec<u8>, bool)> {
        let index = self.bodies.iter().position(|body| {
            body.range.start == body_range.start
                && body_range.end <= body.range.end
                && raw
                    .get(body_range.end..body.range.end)
                    .is_some_and(|rest| rest.iter().all(|byte| matches!(byte, b'\r' | b'\n')))
        })?;

        let body = self.bodies.swap_remove(index);
        Some((body.content, body.valid))
    }
}

/// Returns the guessed bodies of at least [`MIN_EARLY_BODY`] bytes for the
/// hidden fields at `field_offsets` of `raw`.
pub(crate) fn guess_bodies(raw: &[u8], field_offsets: impl Iterator<Item = usize>) -> Vec<Range<usize>> {
    field_offsets
        .filter_map(|offset| {
            let rest = raw.get(offset..)?;
            let start = offset + memchr::memmem::find(rest, b"\r\n\r\n")? + 4;
            let end = memchr::memmem::find(raw.get(start..)?, b"--").map_or(raw.len(), |length| start + length);
            (end - start >= MIN_EARLY_BODY).then_some(start..end)
        })
        .collect()
}

/// Decodes the guessed bodies `ranges` of `raw`.
pub(crate) fn decode(raw: &[u8], ranges: &[Range<usize>]) -> EarlyBodies {
    let bodies = ranges
        .iter()
        .filter_map(|range| {
            let text = raw.get(range.clone())?;
            let (content, valid) = transfer::decode_base64_checked(text);
            Some(EarlyBody { range: range.clone(), content, valid })
        })
        .collect();
    EarlyBodies { bodies }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &[u8], after: &[u8]) -> Vec<u8> {
        let mut raw = b"Content-Transfer-Encoding: base64\r\n\r\n".to_vec();
        raw.extend_from_slice(body);
        raw.extend_from_slice(after);
        raw
    }

    #[test]
    fn body_guessed_up_to_dashes() {
        let body = b"QUJD\r\n".repeat(MIN_EARLY_BODY / 6 + 1);
        let raw = message(&body, b"--b--\r\n");

        let guesses = guess_bodies(&raw, [0].into_iter());

        assert_eq!(guesses, vec![37..37 + body.len()]);
    }

    #[test]
    fn small_body_not_guessed() {
        let raw = message(b"QUJD\r\n", b"--b--\r\n");

        assert_eq!(guess_bodies(&raw, [0].into_iter()), Vec::<Range<usize>>::new());
    }

    #[test]
    fn guess_taken_only_for_matching_range() {
        let body = b"QUJD\r\n".repeat(MIN_EARLY_BODY / 6 + 1);
        let raw = message(&body, b"--b--\r\n");
        let guesses = guess_bodies(&raw, [0].into_iter());
        let end = 37 + body.len();

        let mut bodies = decode(&raw, &guesses);
        assert!(bodies.take(&raw, &(38..end - 2)).is_none(), "another start matched");
        assert!(bodies.take(&raw, &(37..end - 3)).is_none(), "a range ending before text matched");
        let (content, valid) = bodies.take(&raw, &(37..end - 2)).expect("the part's body matched");

        assert_eq!(content, b"ABC".repeat(MIN_EARLY_BODY / 6 + 1));
        assert!(valid);
        assert!(bodies.take(&raw, &(37..end - 2)).is_none(), "taken twice");
    }
}
