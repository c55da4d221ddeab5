//! Repairs of malformed message structure before parsing.
//!
//! `mail-parser` misreads some real-world damage, and each misreading hides
//! content from the gateway, because a part that it parses as body text is
//! never classified, scanned or stripped. Two repairs change the message data,
//! because the fix adds bytes:
//! - bare LF line ends become CR LF everywhere, as SMTP requires;
//! - a top-level header block that runs straight into the first boundary
//!   delimiter gets the missing blank line, so the delimiter is not read as
//!   a header line.
//!
//! The other changes apply only to the data that `mail-parser` reads (the
//! parse view). It has the same length as the message data, so part offsets
//! fit both, and the message delivered keeps its own bytes:
//! - in `Content-Type` and `Content-Disposition` fields, a line fold right
//!   before or after the `=` of a parameter becomes spaces (`mail-parser`
//!   loses such a value, and with a lost `boundary` it reads a nested
//!   multipart as one body);
//! - a `;` is written over the space between the media type and a parameter
//!   that lacks it, on the same line. A missing `;` before a folded line
//!   needs no repair, because `mail-parser` reads that form;
//! - the media type `message/rfc822` (and `message/global`) becomes
//!   [`OPAQUE_MESSAGE_TYPE`]. `mail-parser` parses such content as a nested
//!   message in place, and when the content is no message its header parser
//!   runs on into the following parts and swallows them. The gateway never
//!   looks inside a forwarded message, so it reads the part as opaque data
//!   and restores the type afterwards;
//! - a `Content-Transfer-Encoding` value `base64` (any case, alone in the
//!   field apart from white space and folding) becomes
//!   [`UNDECODED_ENCODING`]. This is no repair: `mail-parser` then returns
//!   such bodies as they are instead of decoding them, because the gateway
//!   decodes every body itself. Part offsets stay the same, because
//!   `mail-parser` (0.11.9) ends a base64 body and a `binary` body at the
//!   same boundary. It never reports broken base64 as an encoding problem
//!   now, so it lists a part with broken base64 as a text or HTML body
//!   exactly when it would list the part with valid base64.
//!
//! The parse view is a copy of the message data when a `Content-Type` or
//! `Content-Disposition` field needs a change. Otherwise it is the message
//! data itself, with the `base64` values written over, and the parser must
//! call [`Prepared::restore_base64`] once `mail-parser` is done with it.

use std::ops::Range;

use crate::defect::Defect;
use crate::params::raw_parameter;

/// The message data prepared for parsing.
pub(crate) struct Prepared {
    /// The message data that part offsets refer to and that the rewrite
    /// copies. When `parse_view` is `None`, the values in `hidden_base64` are
    /// written over here until [`Prepared::restore_base64`] puts them back.
    pub(crate) raw: Vec<u8>,
    /// A copy of `raw` with the same length and repaired header fields, for
    /// `mail-parser`; `None` when no field needed a repair.
    pub(crate) parse_view: Option<Vec<u8>>,
    /// Defects of the whole message.
    pub(crate) defects: Vec<Defect>,
    /// Offsets in `raw` of `Content-Type` fields that lack a `;` before a
    /// parameter; the parser ties them to parts.
    pub(crate) missing_separators: Vec<usize>,
    /// Offsets in `raw` of `Content-Type` fields whose message type the parse
    /// view hides, with that type in lower case.
    pub(crate) opaque_messages: Vec<(usize, String)>,
    /// `Content-Transfer-Encoding` values `base64` that the parse view shows
    /// as [`UNDECODED_ENCODING`].
    pub(crate) hidden_base64: HiddenBase64,
}

impl Prepared {
    /// Returns the data for `mail-parser`: the parse view when there is a
    /// copy, else `raw`.
    pub(crate) fn parser_input(&self) -> &[u8] {
        self.parse_view.as_deref().unwrap_or(&self.raw)
    }

    /// Writes the hidden `base64` values back into `raw` and the parse view,
    /// so that both show these fields as received, and clears the list.
    /// Returns whether any value was hidden.
    pub(crate) fn restore_base64(&mut self) -> bool {
        let hidden = std::mem::take(&mut self.hidden_base64);
        hidden.restore(&mut self.raw, 0);
        if let Some(view) = &mut self.parse_view {
            hidden.restore(view, 0);
        }
        !hidden.values.is_empty()
    }
}

/// `Content-Transfer-Encoding` values `base64` that the parse view shows as
/// [`UNDECODED_ENCODING`].
#[derive(Debug, Default)]
pub(crate) struct HiddenBase64 {
    /// Offset in `raw` and spelling as received of each value, in ascending
    /// order of offset.
    values: Vec<(usize, [u8; BASE64.len()])>,
}

impl HiddenBase64 {
    /// Returns the offsets in `raw` of the hidden values, in ascending order.
    pub(crate) fn offsets(&self) -> impl Iterator<Item = usize> + '_ {
        self.values.iter().map(|(offset, _)| *offset)
    }

    /// Returns the spelling as received of the hidden value that starts in
    /// `range` of `raw`, if there is one.
    pub(crate) fn original_within(&self, range: Range<usize>) -> Option<&str> {
        let first = self.values.partition_point(|(offset, _)| *offset < range.start);
        let (offset, original) = self.values.get(first)?;
        if *offset >= range.end {
            return None;
        }
        std::str::from_utf8(original).ok()
    }

    /// Writes [`UNDECODED_ENCODING`] over every value in `data`, a copy of
    /// `raw` or `raw` itself.
    fn hide(&self, data: &mut [u8]) {
        for (offset, _) in &self.values {
            write_at(data, 0, *offset, UNDECODED_ENCODING);
        }
    }

    /// Writes the values as received into `data`, which starts at offset
    /// `data_start` of `raw`. A value that `data` contains only in part is
    /// written in part, and data that shows the values as received already
    /// stays as it is.
    pub(crate) fn restore(&self, data: &mut [u8], data_start: usize) {
        let data_end = data_start.saturating_add(data.len());
        let first = self.values.partition_point(|(offset, _)| offset + BASE64.len() <= data_start);
        for (offset, original) in self.values.iter().skip(first).take_while(|(offset, _)| *offset < data_end) {
            write_at(data, data_start, *offset, original);
        }
    }
}

/// Copies `bytes`, which belong at offset `offset` of `raw`, into `data`,
/// which starts at offset `data_start` of `raw`. Bytes outside `data` are
/// left out.
fn write_at(data: &mut [u8], data_start: usize, offset: usize, bytes: &[u8]) {
    for (index, byte) in bytes.iter().enumerate() {
        let position = (offset + index).checked_sub(data_start);
        if let Some(target) = position.and_then(|position| data.get_mut(position)) {
            *target = *byte;
        }
    }
}

/// Media type that the parse view shows in place of `message/rfc822` and
/// `message/global`; `message` and `x-whole` have the same length.
const OPAQUE_MESSAGE_TYPE: &[u8] = b"x-whole";

/// The transfer encoding that `mail-parser` decodes and the gateway hides
/// from it.
const BASE64: &[u8; 6] = b"base64";

/// Transfer encoding that the parse view shows in place of [`BASE64`]: it
/// has the same length, and `mail-parser` returns a `binary` body as it is.
const UNDECODED_ENCODING: &[u8; 6] = b"binary";

/// Repairs `raw` as the module documentation describes.
pub(crate) fn prepare(raw: Vec<u8>) -> Prepared {
    let mut defects = Vec::new();

    let raw = match to_crlf(&raw) {
        Some(converted) => {
            defects.push(Defect::BareLineFeed);
            converted
        }
        None => raw,
    };
    let mut raw = match insert_blank_line(&raw) {
        Some(repaired) => {
            defects.push(Defect::MissingBlankLine);
            repaired
        }
        None => raw,
    };
    let mut fields = repair_content_fields(&raw);

    // The base64 values go into the copy when there is one, so that no copy
    // of the whole message is made only for them.
    match &mut fields.view {
        Some(view) => fields.hidden_base64.hide(view),
        None => fields.hidden_base64.hide(&mut raw),
    }

    Prepared {
        raw,
        parse_view: fields.view,
        defects,
        missing_separators: fields.missing_separators,
        opaque_messages: fields.opaque_messages,
        hidden_base64: fields.hidden_base64,
    }
}

fn is_bare_line_feed(data: &[u8], index: usize) -> bool {
    data[index] == b'\n' && (index == 0 || data[index - 1] != b'\r')
}

/// Returns `raw` with every bare LF turned into CR LF, or `None` when it has
/// none.
fn to_crlf(raw: &[u8]) -> Option<Vec<u8>> {
    let bare = memchr::memchr_iter(b'\n', raw).filter(|index| is_bare_line_feed(raw, *index)).count();
    if bare == 0 {
        return None;
    }

    let mut converted = Vec::with_capacity(raw.len() + bare);
    for (index, byte) in raw.iter().enumerate() {
        if is_bare_line_feed(raw, index) {
            converted.push(b'\r');
        }
        converted.push(*byte);
    }
    Some(converted)
}

/// One line of CR LF data: `start..end` without the line end, and `next`,
/// the start of the following line.
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

/// Returns the line that starts at `start`, or `None` at the end of `data`.
fn line_at(data: &[u8], start: usize) -> Option<Line> {
    if start >= data.len() {
        return None;
    }

    let next = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |offset| start + offset + 1);
    let mut end = next;
    if end > start && data[end - 1] == b'\n' {
        end -= 1;
    }
    if end > start && data[end - 1] == b'\r' {
        end -= 1;
    }
    Some(Line { start, end, next })
}

fn lines(data: &[u8]) -> impl Iterator<Item = Line> + '_ {
    let mut position = 0;
    std::iter::from_fn(move || {
        let line = line_at(data, position)?;
        position = line.next;
        Some(line)
    })
}

/// Returns the start of the next line at or after `position` that starts
/// with `--`, or `None` when there is none.
fn next_dash_line(data: &[u8], position: usize) -> Option<usize> {
    let rest = data.get(position..)?;
    if rest.starts_with(b"--") {
        return Some(position);
    }
    memchr::memmem::find(rest, b"\n--").map(|offset| position + offset + 1)
}

/// Returns whether `line` starts a header field: a name of printable ASCII
/// followed by a colon (white space before the colon is obsolete syntax,
/// still accepted).
pub(crate) fn is_field_start(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|byte| *byte == b':') else { return false };
    let name = line[..colon].trim_ascii_end();
    !name.is_empty() && name.iter().all(|byte| (33..=126).contains(byte))
}

/// Returns `raw` with a blank line inserted before a boundary delimiter that
/// appears inside the top-level header block, or `None` when the header
/// block ends properly.
///
/// Only the delimiter of the top-level `Content-Type` boundary counts; any
/// other stray line is left for `mail-parser`, which skips it.
/// NOTE: header blocks of nested parts are not checked for this damage.
fn insert_blank_line(raw: &[u8]) -> Option<Vec<u8>> {
    for line in lines(raw) {
        let content = &raw[line.start..line.end];
        if content.is_empty() {
            return None;
        }
        let is_continuation = matches!(content[0], b' ' | b'\t');
        if is_continuation || is_field_start(content) || !content.starts_with(b"--") {
            continue;
        }

        let Some(boundary) = raw_parameter(&raw[..line.start], "Content-Type", "boundary") else { continue };
        if content[2..].starts_with(boundary.as_bytes()) {
            let mut repaired = Vec::with_capacity(raw.len() + 2);
            repaired.extend_from_slice(&raw[..line.start]);
            repaired.extend_from_slice(b"\r\n");
            repaired.extend_from_slice(&raw[line.start..]);
            return Some(repaired);
        }
    }
    None
}

/// The parse view and what its repairs found.
#[derive(Debug, Default)]
struct FieldRepairs {
    /// The repaired copy; `None` when nothing changed.
    view: Option<Vec<u8>>,
    missing_separators: Vec<usize>,
    opaque_messages: Vec<(usize, String)>,
    /// The `base64` values to hide, not yet written into `view`.
    hidden_base64: HiddenBase64,
}

/// Repairs `Content-Type` and `Content-Disposition` fields in a copy of
/// `raw`, and finds the `Content-Transfer-Encoding` values to hide.
///
/// Header blocks are found by their position: the start of the data, and
/// the lines after a line that starts with `--`, up to the next blank line.
/// A body line after `--` can pass for a header line here. Changing it in
/// the parse view changes no content, because part content is always taken
/// from `raw` after `raw` is restored, and the parser ties findings only to
/// real header blocks.
fn repair_content_fields(raw: &[u8]) -> FieldRepairs {
    let mut repairs = FieldRepairs::default();
    let mut position = 0;

    while let Some(line) = line_at(raw, position) {
        position = line.next;
        let content = &raw[line.start..line.end];
        if content.is_empty() {
            // A body follows. Only a line that starts with `--` ends it, and
            // a header block starts after that line.
            let Some(dashes) = next_dash_line(raw, position) else { break };
            position = line_at(raw, dashes).map_or(raw.len(), |delimiter| delimiter.next);
            continue;
        }

        let is_content_type = starts_with_ignore_case(content, b"content-type:");
        let is_disposition = starts_with_ignore_case(content, b"content-disposition:");
        let is_transfer_encoding = starts_with_ignore_case(content, b"content-transfer-encoding:");
        if !is_content_type && !is_disposition && !is_transfer_encoding {
            continue;
        }
        let mut field_end = line.end;
        let mut continuation = line.next;
        while let Some(next) = line_at(raw, continuation)
            && matches!(raw.get(next.start), Some(b' ' | b'\t'))
            && next.end > next.start
        {
            field_end = next.end;
            continuation = next.next;
        }
        let value_start = line.start + content.iter().position(|byte| *byte == b':').unwrap_or(0) + 1;

        if is_transfer_encoding {
            if let Some(offset) = sole_base64_value(raw, value_start..field_end) {
                let original = raw.get(offset..offset + BASE64.len()).and_then(|bytes| bytes.try_into().ok());
                repairs.hidden_base64.values.extend(original.map(|original| (offset, original)));
            }
            continue;
        }

        unfold_around_equals(raw, value_start..field_end, &mut repairs.view);
        if is_content_type {
            if repair_missing_separator(raw, value_start..field_end, &mut repairs.view) {
                repairs.missing_separators.push(line.start);
            }
            if let Some(media_type) = hide_message_type(raw, value_start..field_end, &mut repairs.view) {
                repairs.opaque_messages.push((line.start, media_type));
            }
        }
    }

    repairs
}

/// Replaces the type `message` of a `message/rfc822` or `message/global`
/// value in the parse view with [`OPAQUE_MESSAGE_TYPE`]; returns the hidden
/// media type in lower case.
fn hide_message_type(raw: &[u8], value: std::ops::Range<usize>, view: &mut Option<Vec<u8>>) -> Option<String> {
    let start = skip_white_space(raw, value.start, value.end);
    let end = raw[start..value.end]
        .iter()
        .position(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'('))
        .map_or(value.end, |offset| start + offset);
    let media_type = String::from_utf8_lossy(&raw[start..end]).to_ascii_lowercase();
    if media_type != "message/rfc822" && media_type != "message/global" {
        return None;
    }

    let copy = view.get_or_insert_with(|| raw.to_vec());
    copy[start..start + OPAQUE_MESSAGE_TYPE.len()].copy_from_slice(OPAQUE_MESSAGE_TYPE);
    Some(media_type)
}

/// Returns the offset of the value [`BASE64`] (any case) when it is the only
/// word in the field value at `value` and a line end follows the field.
/// `mail-parser` reads exactly such a value as `base64`: it reads a field
/// that the end of the data cuts off as empty.
fn sole_base64_value(raw: &[u8], value: Range<usize>) -> Option<usize> {
    let start = skip_white_space(raw, value.start, value.end);
    let end = start + BASE64.len();
    let word = raw.get(start..end)?;
    let alone = end <= value.end && skip_white_space(raw, end, value.end) == value.end;
    let line_end_follows = raw.get(value.end..)?.iter().find(|byte| **byte != b'\r') == Some(&b'\n');
    (alone && line_end_follows && word.eq_ignore_ascii_case(BASE64)).then_some(start)
}

fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Returns the index after the spaces, tabs and line folds at `position`.
fn skip_white_space(raw: &[u8], mut position: usize, end: usize) -> usize {
    while position < end {
        match raw[position] {
            b' ' | b'\t' | b'\r' | b'\n' => position += 1,
            _ => break,
        }
    }
    position
}

/// Replaces each line fold (CR LF) that comes right before or right after
/// the `=` of a parameter, outside quoted strings, with two spaces.
fn unfold_around_equals(raw: &[u8], value: std::ops::Range<usize>, view: &mut Option<Vec<u8>>) {
    let mut in_quotes = false;
    let mut position = value.start;
    while position < value.end {
        match raw[position] {
            b'\\' if in_quotes => position += 1,
            b'"' => in_quotes = !in_quotes,
            b'\r' if !in_quotes => {
                let before = raw[value.start..position].iter().rev().find(|byte| !matches!(byte, b' ' | b'\t'));
                let after_fold = skip_white_space(raw, position, value.end);
                let touches_equals = before == Some(&b'=') || raw.get(after_fold) == Some(&b'=');
                if touches_equals && raw.get(position + 1) == Some(&b'\n') {
                    let copy = view.get_or_insert_with(|| raw.to_vec());
                    copy[position] = b' ';
                    copy[position + 1] = b' ';
                }
            }
            _ => {}
        }
        position += 1;
    }
}

/// Checks the `Content-Type` value in `value` for a parameter right after
/// the media type without a `;`. Writes the `;` over the separating space
/// in the parse view when that space is on the same line. Returns whether
/// the `;` was missing.
fn repair_missing_separator(raw: &[u8], value: std::ops::Range<usize>, view: &mut Option<Vec<u8>>) -> bool {
    let start = skip_white_space(raw, value.start, value.end);
    let media_type_end = raw[start..value.end]
        .iter()
        .position(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'('))
        .map_or(value.end, |offset| start + offset);
    if media_type_end == start || !raw[start..media_type_end].contains(&b'/') {
        return false;
    }

    let next = skip_white_space(raw, media_type_end, value.end);
    if next >= value.end || matches!(raw[next], b';' | b'(') {
        return false;
    }

    if matches!(raw[media_type_end], b' ' | b'\t') {
        let copy = view.get_or_insert_with(|| raw.to_vec());
        copy[media_type_end] = b';';
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_kept_and_bare_lf_converted() {
        assert_eq!(to_crlf(b"a\r\nb\r\n"), None);
        assert_eq!(to_crlf(b"a\nb\r\nc\n").unwrap(), b"a\r\nb\r\nc\r\n");
        assert_eq!(to_crlf(b"\n").unwrap(), b"\r\n");
    }

    #[test]
    fn blank_line_inserted_before_delimiter() {
        let raw = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\nX-A: 1\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n";
        let repaired = insert_blank_line(raw).unwrap();
        assert!(repaired.starts_with(b"Subject: s\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\nX-A: 1\r\n\r\n--b\r\n"));
    }

    #[test]
    fn blank_line_not_inserted_for_proper_block() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\r\nhi\r\n--b--\r\n";
        assert_eq!(insert_blank_line(raw), None);
    }

    #[test]
    fn blank_line_not_inserted_for_other_dashes() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"b\"\r\n--other\r\n\r\n--b\r\n\r\nhi\r\n--b--\r\n";
        assert_eq!(insert_blank_line(raw), None);
    }

    #[test]
    fn fold_after_equals_becomes_spaces() {
        let raw = b"Content-Type: multipart/mixed;\r\n boundary=\r\n \"x\"\r\n\r\n";
        let repairs = repair_content_fields(raw);
        assert_eq!(repairs.view.unwrap(), b"Content-Type: multipart/mixed;\r\n boundary=   \"x\"\r\n\r\n");
        assert!(repairs.missing_separators.is_empty());
    }

    #[test]
    fn fold_before_equals_becomes_spaces() {
        let raw = b"Content-Disposition: attachment; filename\r\n =\"a.pdf\"\r\n\r\n";
        let repairs = repair_content_fields(raw);
        assert_eq!(repairs.view.unwrap(), b"Content-Disposition: attachment; filename   =\"a.pdf\"\r\n\r\n");
    }

    #[test]
    fn fold_inside_quotes_kept() {
        let raw = b"Content-Type: text/plain; name=\"a=\r\n b.txt\"\r\n\r\n";
        assert_eq!(repair_content_fields(raw).view, None);
    }

    #[test]
    fn fold_in_body_ignored() {
        let raw = b"Subject: s\r\n\r\nContent-Type: a/b; x=\r\n y\r\n";
        assert_eq!(repair_content_fields(raw).view, None);
    }

    #[test]
    fn missing_separator_on_same_line_repaired() {
        let raw = b"Content-Type: multipart/mixed boundary=\"x\"\r\n\r\n";
        let repairs = repair_content_fields(raw);
        assert_eq!(repairs.view.unwrap(), b"Content-Type: multipart/mixed;boundary=\"x\"\r\n\r\n");
        assert_eq!(repairs.missing_separators, [0]);
    }

    #[test]
    fn missing_separator_before_fold_reported_only() {
        let raw = b"Subject: s\r\nContent-Type: multipart/mixed\r\n\tboundary=\"x\"\r\n\r\n";
        let repairs = repair_content_fields(raw);
        assert_eq!(repairs.view, None);
        assert_eq!(repairs.missing_separators, [12]);
    }

    #[test]
    fn separator_present_not_reported() {
        let raw = b"Content-Type: text/plain ; charset=utf-8\r\nContent-Type: text/plain (comment)\r\n\r\n";
        let repairs = repair_content_fields(raw);
        assert_eq!(repairs.view, None);
        assert!(repairs.missing_separators.is_empty());
    }

    #[test]
    fn message_type_hidden_in_view() {
        let raw = b"Subject: s\r\nContent-Type:  Message/RFC822; x=1\r\n\r\nbody\r\n";
        let repairs = repair_content_fields(raw);
        assert_eq!(repairs.view.unwrap(), b"Subject: s\r\nContent-Type:  x-whole/RFC822; x=1\r\n\r\nbody\r\n");
        assert_eq!(repairs.opaque_messages, [(12, "message/rfc822".to_string())]);

        let other = b"Content-Type: message/delivery-status\r\n\r\n";
        assert_eq!(repair_content_fields(other).view, None);
    }

    #[test]
    fn base64_hidden_in_raw_without_copy() {
        let raw = b"Content-Type: text/plain\r\nContent-Transfer-Encoding: Base64\r\n\r\nSGk=\r\n"
            .to_vec();

        let mut prepared = prepare(raw.clone());

        assert!(prepared.parse_view.is_none());
        assert_eq!(
            prepared.raw,
            b"Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nSGk=\r\n"
        );
        assert_eq!(
            prepared.hidden_base64.original_within(26..60),
            Some("Base64")
        );
        assert!(prepared.restore_base64());
        assert_eq!(prepared.raw, raw);
        assert_eq!(prepared.hidden_base64.original_within(0..raw.len()), None);
        assert!(!prepared.restore_base64());
    }

    #[test]
    fn base64_hidden_in_existing_copy() {
        let raw = b"Content-Type: text/plain; name=\r\n a\r\nContent-Transfer-Encoding: BASE64\r\n\r\nSGk=\r\n".to_vec();

        let mut prepared = prepare(raw.clone());

        assert_eq!(prepared.raw, raw);
        let view = prepared.parse_view.clone().unwrap();
        assert_eq!(view, b"Content-Type: text/plain; name=   a\r\nContent-Transfer-Encoding: binary\r\n\r\nSGk=\r\n");
        assert!(prepared.restore_base64());
        assert_eq!(prepared.raw, raw);
        assert_eq!(prepared.parse_view.unwrap(), b"Content-Type: text/plain; name=   a\r\nContent-Transfer-Encoding: BASE64\r\n\r\nSGk=\r\n");
    }

    #[test]
    fn only_sole_base64_value_hidden() {
        let hidden = [
            ("Content-Transfer-Encoding: base64\r\n", 27),
            ("content-transfer-encoding:bAsE64 \t\r\n", 26),
            ("Content-Transfer-Encoding:\r\n \tbase64\r\n \r\n", 30),
            ("Content-Transfer-Encoding: base64\r\r\n", 27),
        ];
        for (field, offset) in hidden {
            let raw = format!("Subject: s\r\n{field}\r\nbody\r\n");
            let values = repair_content_fields(raw.as_bytes()).hidden_base64.values;
            assert_eq!(values.len(), 1, "{field:?}");
            assert_eq!(values[0].0, 12 + offset, "{field:?}");
            assert!(values[0].1.eq_ignore_ascii_case(b"base64"), "{field:?}");
        }

        let not_hidden = [
            "Content-Transfer-Encoding: base64 (comment)\r\n\r\n",
            "Content-Transfer-Encoding: x-base64\r\n\r\n",
            "Content-Transfer-Encoding: base64x\r\n\r\n",
            "Content-Transfer-Encoding: base\r\n 64\r\n\r\n",
            "Content-Transfer-Encoding: =?us-ascii?q?base64?=\r\n\r\n",
            "X-Content-Transfer-Encoding: base64\r\n\r\n",
            "Subject: s\r\n\r\nContent-Transfer-Encoding: base64\r\n",
            "Content-Transfer-Encoding: base64",
        ];
        for raw in not_hidden {
            assert!(
                repair_content_fields(raw.as_bytes())
                    .hidden_base64
                    .values
                    .is_empty(),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn base64_restored_in_part_of_data() {
        let hidden = HiddenBase64 {
            values: vec![(4, *b"BASE64"), (20, *b"base64")],
        };

        let mut data = *b"xxxxxxxxxx";
        hidden.restore(&mut data, 6);
        assert_eq!(&data, b"SE64xxxxxx");

        let mut data = *b"xxxxxxxx";
        hidden.restore(&mut data, 19);
        assert_eq!(&data, b"xbase64x");
    }
}
