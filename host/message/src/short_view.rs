//! A parse view without the large base64 bodies, so that `mail-parser`
//! reads the structure of a message without scanning them.
//!
//! `mail-parser` finds the end of a body by reading it byte by byte up to a
//! line that starts with `--` and the boundary. On a 13.7 MB message that
//! scan took longer than anything else in the parse. A body guessed by the
//! `early_decode` module contains no `--`, starts after a blank line and
//! ends before a line that starts with `--`. Leaving it out of the view
//! changes only where that scan ends the body. In the view the part's body
//! is empty and ends at the cut. In the message it ends before the line
//! end in front of the `--`.
//!
//! [`ShortView::body`] maps part offsets back. A cut that is not the start
//! of exactly one such body makes the view unusable, so the parser then
//! reads the full view instead.

use std::ops::Range;

/// A body left out of the view.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cut {
    /// Offset in the view where the body was.
    view_start: usize,
    /// Bytes left out.
    removed: usize,
    /// Offset in the full view where `mail-parser` ends the body: before
    /// the line end in front of the `--`.
    body_end: usize,
}

/// The parse view without the bodies that can be left out.
#[derive(Debug)]
pub(crate) struct ShortView {
    /// The bytes for `mail-parser`.
    pub(crate) bytes: Vec<u8>,
    cuts: Vec<Cut>,
}

impl ShortView {
    /// Builds the view of `input` without the `guesses` that can be left
    /// out: those that end in a line end before `--`. Overlapping guesses
    /// after the first are kept. Returns `None` when no guess can be left
    /// out.
    pub(crate) fn build(input: &[u8], guesses: &[Range<usize>]) -> Option<ShortView> {
        let mut ranges: Vec<&Range<usize>> = guesses.iter().filter(|range| can_leave_out(input, range)).collect();
        ranges.sort_by_key(|range| range.start);
        ranges.dedup_by(|later, earlier| later.start < earlier.end);
        if ranges.is_empty() {
            return None;
        }

        let removed: usize = ranges.iter().map(|range| range.len()).sum();
        let mut bytes = Vec::with_capacity(input.len() - removed);
        let mut cuts = Vec::with_capacity(ranges.len());
        let mut copied = 0;
        for range in ranges {
            bytes.extend_from_slice(&input[copied..range.start]);
            let before_dashes = if input[range.end - 2] == b'\r' { range.end - 2 } else { range.end - 1 };
            cuts.push(Cut { view_start: bytes.len(), removed: range.len(), body_end: before_dashes });
            copied = range.end;
        }
        bytes.extend_from_slice(&input[copied..]);
        Some(ShortView { bytes, cuts })
    }

    /// Returns the offset in the full view of `offset` in this view, for an
    /// offset that is not the end of a body.
    pub(crate) fn offset(&self, offset: usize) -> usize {
        let shift: usize = self.cuts.iter().take_while(|cut| cut.view_start < offset).map(|cut| cut.removed).sum();
        offset + shift
    }

    /// Returns the body range in the full view of a part whose body is
    /// `start..end` in this view. Returns `None` when the part ends at a cut
    /// without starting there, because then the cut was not a whole body.
    pub(crate) fn body(&self, start: usize, end: usize) -> Option<Range<usize>> {
        let body_start = self.offset(start);
        match self.cuts.iter().find(|cut| cut.view_start == end) {
            Some(cut) if start == end => Some(body_start..cut.body_end),
            Some(_) => None,
            None => Some(body_start..self.offset(end)),
        }
    }

    /// Returns whether a body that starts at `start` in this view starts at
    /// a cut.
    pub(crate) fn starts_at_cut(&self, start: usize) -> bool {
        self.cuts.iter().any(|cut| cut.view_start == start)
    }

    /// Returns how many bodies were left out.
    pub(crate) fn cut_count(&self) -> usize {
        self.cuts.len()
    }
}

/// Returns whether `range` of `input` starts after a line end and ends in
/// one in front of `--`, so that leaving it out keeps the parser's scan.
fn can_leave_out(input: &[u8], range: &Range<usize>) -> bool {
    range.len() >= 2
        && range.start >= 2
        && input.get(range.start - 2..range.start) == Some(b"\r\n")
        && input.get(range.end - 1) == Some(&b'\n')
        && input.get(range.end..).is_some_and(|rest| rest.starts_with(b"--"))
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    const INPUT: &[u8] = b"H: 1\r\n\r\nQUJD\r\nREVG\r\n--b\r\nH: 2\r\n\r\nR0hJ\nSktM\n--b--\r\n";

    #[test]
    fn cuts_map_back() {
        let first = 8..20;
        let second = 33..43;

        let view = ShortView::build(INPUT, &[second.clone(), first.clone()]).unwrap();

        assert_eq!(view.bytes, b"H: 1\r\n\r\n--b\r\nH: 2\r\n\r\n--b--\r\n");
        assert_eq!(view.cut_count(), 2);
        assert_eq!(view.body(8, 8), Some(8..18));
        assert_eq!(view.body(21, 21), Some(33..42));
        assert_eq!(view.offset(11), 23);
        assert_eq!(view.offset(24), 46);
        assert_eq!(view.offset(8), 8, "a body start stays before its cut");
        assert!(view.starts_at_cut(21));
    }

    #[test]
    fn body_ending_at_foreign_cut_rejected() {
        let view = ShortView::build(INPUT, &[8..20]).unwrap();

        assert_eq!(view.body(2, 8), None);
        assert_eq!(view.body(2, 9), Some(2..21));
    }

    #[test]
    fn ranges_not_ending_before_dashes_are_kept() {
        assert!(ShortView::build(INPUT, &[8..18]).is_none(), "ends inside a line");
        assert!(ShortView::build(INPUT, &[8..14]).is_none(), "no dashes after it");
        assert!(ShortView::build(INPUT, &[9..20]).is_none(), "does not start a line");
        assert!(ShortView::build(INPUT, &[]).is_none());
    }
}
