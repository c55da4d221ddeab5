//! The byte-preserving rewrite of a message.
//!
//! The rewrite works on the raw bytes. It cuts removed parts out together
//! with the delimiter line in front of them. It replaces the content of
//! replaced attachments as [`crate::replace`] describes. It replaces the
//! encoded body of the first text/plain and the first text/html body with the
//! same body plus the notice and the notes, at the top or the bottom as
//! [`crate::body_notice`] describes. Every other byte is copied unchanged.
//! Bodies keep their charset and transfer encoding; a base64 or
//! quoted-printable body is decoded, extended and encoded again, so its line
//! wrapping may change while its content stays.
//!
//! Two cases need new structure:
//! - A multipart whose children are all removed would become invalid, so its
//!   first removed child is replaced by a text/plain part that carries the
//!   notice (or a sentence saying that attachments were removed).
//! - A message that is itself one attachment keeps its header fields except
//!   the `Content-*` ones and gets a text/plain body with the notice.
//!
//! When the message has no text/plain or text/html body, the notice goes into
//! a new text/plain part at the start of the top-level multipart.
//!
//! Lines longer than 998 octets break RFC 5322, and strict servers reject
//! them. A kept leaf part in 7bit, 8bit or binary with such a line is
//! encoded again as quoted-printable, which keeps its content and wraps its
//! lines; its `Content-Transfer-Encoding` field changes accordingly. Parts
//! inside signed or encrypted content are left alone, since re-encoding
//! them would break the signature. Over-long top-level header lines are
//! refolded as [`crate::fold`] describes.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::body_notice::{html_with_notice, text_with_notice};
use crate::fields::{field_name, header_fields};
use crate::fold::refold_header_block;
use crate::notice::{Link, Note, NoticeContent, Withheld, removed_sentence, render_placeholder};
use crate::parse::ParsedMessage;
use crate::part::{PartId, PartInfo, PartKind, TransferEncoding};
use crate::replace::{Replacement, replaced_body, replaced_header_block};
use crate::template::NoticeTemplate;
use crate::transfer;

/// The changes to make to a message. The default changes nothing.
#[derive(Clone, Debug, Default)]
pub struct Rewrite {
    /// Parts to remove. Parts that are not attachments are ignored.
    pub remove: BTreeSet<PartId>,
    /// Attachments whose content to replace. Parts that are not attachments
    /// (bodies, inline images, and every part inside signed or encrypted
    /// content) are ignored, and so are parts in `remove`.
    pub replace: BTreeMap<PartId, Replacement>,
    /// Links to list in the notice.
    pub links: Vec<Link>,
    /// Removed attachments to name in the notice with the reason.
    pub withheld: Vec<Withheld>,
    /// Texts that rules add to the bodies. No notice is added when this,
    /// `links` and `withheld` are empty.
    pub notes: Vec<Note>,
    /// Texts, position and style of the notice.
    pub template: NoticeTemplate,
}

/// One replacement of a byte range of the raw message.
struct Edit {
    range: Range<usize>,
    replacement: Vec<u8>,
}

/// Rewrites `message` as `plan` specifies and returns the new raw message.
///
/// With an empty plan the result is `message.raw`: the original bytes, with
/// CR LF line ends and the other repairs that `message.defects` lists.
pub fn rewrite(message: &ParsedMessage, plan: &Rewrite) -> Vec<u8> {
    let remove: BTreeSet<PartId> = plan
        .remove
        .iter()
        .copied()
        .filter(|id| message.part(*id).is_some_and(PartInfo::is_attachment))
        .collect();
    let replace: BTreeMap<PartId, &Replacement> = plan
        .replace
        .iter()
        .filter(|(id, _)| !remove.contains(id) && message.part(**id).is_some_and(PartInfo::is_attachment))
        .map(|(id, replacement)| (*id, replacement))
        .collect();
    let long_line_edits = long_line_edits(message, &remove, &replace);
    let header_edit = root_header_edit(message, &replace);
    let notice = NoticeContent { links: &plan.links, withheld: &plan.withheld, notes: &plan.notes, template: &plan.template };
    let unchanged = remove.is_empty() && replace.is_empty() && notice.is_empty();
    if unchanged && long_line_edits.is_empty() && header_edit.is_none() {
        return message.raw.clone();
    }

    if remove.contains(&PartId(0)) {
        return replace_whole_message(message, &notice);
    }

    let mut edits = replacement_edits(message, &replace);

    // The notice goes into the kept text and HTML bodies. Only a message
    // without such a body carries it in the part that replaces the
    // attachments of an emptied multipart, or in a new part.
    let body_edits = if notice.is_empty() { Vec::new() } else { notice_edits(message, &remove, &notice) };
    let mut notice_placed = !body_edits.is_empty();

    for (parent, children) in removed_by_parent(message, &remove) {
        let siblings = message.parts.iter().filter(|part| part.parent == Some(parent)).count();
        let empties_parent = siblings == children.len();

        for (position, child) in children.iter().enumerate() {
            let Some(range) = removal_range(message, parent, *child) else { continue };
            if empties_parent && position == 0 {
                let boundary = boundary_of(message, parent);
                let text = if notice_placed { removed_sentence() } else { render_placeholder(&notice) };
                notice_placed |= !notice.is_empty();
                edits.push(Edit { range, replacement: text_part(&boundary, &text, true) });
            } else {
                edits.push(Edit { range, replacement: Vec::new() });
            }
        }
    }

    let mut edited_bodies = BTreeSet::new();
    for (part, part_edits) in body_edits {
        edited_bodies.insert(part);
        edits.extend(part_edits);
    }
    if !notice.is_empty() && !notice_placed {
        edits.extend(new_notice_part(message, &notice));
    }
    edits.extend(
        long_line_edits.into_iter().filter(|(part, _)| !edited_bodies.contains(part)).flat_map(|(_, part_edits)| part_edits),
    );
    edits.extend(header_edit);

    apply(&message.raw, edits)
}

/// Builds the edit of the top-level header block. The new block has the
/// changes of a replaced part 0 and is refolded where a line is too long.
/// Returns `None` when the block stays as it is.
fn root_header_edit(message: &ParsedMessage, replace: &BTreeMap<PartId, &Replacement>) -> Option<Edit> {
    let root = message.parts.first()?;
    let block = &message.raw[root.header_range.clone()];
    let replacement = match replace.get(&root.id) {
        Some(replacement) => {
            let rebuilt = replaced_header_block(block, root, replacement);
            refold_header_block(&rebuilt).unwrap_or(rebuilt)
        }
        None => refold_header_block(block)?,
    };
    Some(Edit { range: root.header_range.clone(), replacement })
}

/// Edits that give each replaced part its new header block and body. The
/// header block of part 0 is left to [`root_header_edit`].
fn replacement_edits(message: &ParsedMessage, replace: &BTreeMap<PartId, &Replacement>) -> Vec<Edit> {
    let mut edits = Vec::new();
    for (id, replacement) in replace {
        let Some(part) = message.part(*id) else { continue };
        if part.id != PartId(0) {
            let block = &message.raw[part.header_range.clone()];
            edits.push(Edit { range: part.header_range.clone(), replacement: replaced_header_block(block, part, replacement) });
        }
        let body = replaced_body(&message.raw[part.body_range.clone()], &replacement.content);
        edits.push(Edit { range: part.body_range.clone(), replacement: body });
    }
    edits
}

/// Removed parts grouped by their parent, in message order.
fn removed_by_parent(message: &ParsedMessage, remove: &BTreeSet<PartId>) -> Vec<(PartId, Vec<PartId>)> {
    let mut groups: Vec<(PartId, Vec<PartId>)> = Vec::new();
    for id in remove {
        let Some(parent) = message.part(*id).and_then(|part| part.parent) else { continue };
        match groups.iter_mut().find(|(existing, _)| *existing == parent) {
            Some((_, children)) => children.push(*id),
            None => groups.push((parent, vec![*id])),
        }
    }
    groups
}

fn boundary_of(message: &ParsedMessage, container: PartId) -> String {
    message.part(container).and_then(|part| part.boundary.clone()).unwrap_or_default()
}

/// Range that removes `child` with the line break and delimiter line before
/// it, so the next delimiter follows the previous part directly.
fn removal_range(message: &ParsedMessage, parent: PartId, child: PartId) -> Option<Range<usize>> {
    let parent = message.part(parent)?;
    let child = message.part(child)?;
    let delimiter = format!("--{}", parent.boundary.as_deref()?);

    let search_area = &message.raw[parent.body_range.start..child.header_range.start];
    let found = rfind(search_area, delimiter.as_bytes())?;
    let body_start = parent.body_range.start;
    let mut start = body_start + found;

    // The line break before a delimiter belongs to it, except for a first
    // delimiter at the very start of the body, where it ends the header block,
    // and after a part with an empty body, where it ends that part's header
    // block.
    if start >= body_start + 2 && &message.raw[start - 2..start] == b"\r\n" {
        start -= 2;
    } else if start > body_start && message.raw[start - 1] == b'\n' {
        start -= 1;
    }
    let previous_sibling = message.parts[..child.id.0 as usize].iter().rev().find(|part| part.parent == Some(parent.id));
    if let Some(previous) = previous_sibling {
        start = start.max(previous.body_range.end);
    }

    Some(start..child.body_range.end)
}

/// Edits that add the notice to the first text/plain and the first
/// text/html body that are not removed, grouped by part.
fn notice_edits(message: &ParsedMessage, remove: &BTreeSet<PartId>, notice: &NoticeContent<'_>) -> Vec<(PartId, Vec<Edit>)> {
    let mut edits = Vec::new();

    for content_type in ["text/plain", "text/html"] {
        let target = message
            .parts
            .iter()
            .find(|part| part.kind == PartKind::Body && part.content_type == content_type && !remove.contains(&part.id));
        let Some(part) = target else { continue };

        let inserted =
            if content_type == "text/html" { html_with_notice(part, notice) } else { text_with_notice(part, notice) };
        let Some(content) = inserted else { continue };

        edits.push((part.id, body_edits(message, part, &content)));
    }

    edits
}

/// Edits that replace the body of `part` with `content`, encoded in the
/// part's transfer encoding, or in quoted-printable when that encoding would
/// leave a line over [`MAX_LINE_OCTETS`] or 8-bit bytes in a 7bit part.
fn body_edits(message: &ParsedMessage, part: &PartInfo, content: &[u8]) -> Vec<Edit> {
    let keeps_lines = matches!(part.transfer_encoding, TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary);
    let eight_bit_in_7bit = part.transfer_encoding == TransferEncoding::SevenBit && !content.is_ascii();
    let encoding = if (keeps_lines && has_long_line(content)) || eight_bit_in_7bit {
        TransferEncoding::QuotedPrintable
    } else {
        part.transfer_encoding
    };

    let mut encoded = transfer::encode(content, encoding);
    if encoding == TransferEncoding::QuotedPrintable && !encoded.ends_with(b"\r\n") {
        encoded.extend_from_slice(b"\r\n");
    }
    let mut edits = vec![Edit { range: part.body_range.clone(), replacement: encoded }];
    if encoding != part.transfer_encoding {
        edits.push(transfer_encoding_edit(message, part, "quoted-printable"));
    }
    edits
}

/// Maximum line length allowed by RFC 5322, in octets without CR LF.
const MAX_LINE_OCTETS: usize = 998;

fn has_long_line(content: &[u8]) -> bool {
    content.split(|byte| *byte == b'\n').any(|line| line.strip_suffix(b"\r").unwrap_or(line).len() > MAX_LINE_OCTETS)
}

/// Edits that re-encode kept leaf parts whose lines are too long, grouped
/// by part. Replaced parts get base64 anyway.
fn long_line_edits(
    message: &ParsedMessage,
    remove: &BTreeSet<PartId>,
    replace: &BTreeMap<PartId, &Replacement>,
) -> Vec<(PartId, Vec<Edit>)> {
    message
        .parts
        .iter()
        .filter(|part| !matches!(part.kind, PartKind::Container | PartKind::Protected))
        .filter(|part| !remove.contains(&part.id) && !replace.contains_key(&part.id))
        .filter(|part| part.content_type != "message/rfc822")
        .filter(|part| matches!(part.transfer_encoding, TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary))
        .filter(|part| has_long_line(&message.raw[part.body_range.clone()]))
        .map(|part| (part.id, body_edits(message, part, &part.content)))
        .collect()
}

/// An edit that sets the `Content-Transfer-Encoding` of `part` to `value`:
/// it replaces the existing field, or adds one at the end of the header
/// block.
fn transfer_encoding_edit(message: &ParsedMessage, part: &PartInfo, value: &str) -> Edit {
    let block = &message.raw[part.header_range.clone()];
    let field = format!("Content-Transfer-Encoding: {value}\r\n");

    for existing in header_fields(block) {
        // `existing` borrows from `block`, so its address gives its offset.
        let start = part.header_range.start + (existing.as_ptr() as usize - block.as_ptr() as usize);
        let name_end = existing.iter().position(|byte| *byte == b':').unwrap_or(0);
        if existing[..name_end].trim_ascii().eq_ignore_ascii_case(b"Content-Transfer-Encoding") {
            return Edit { range: start..start + existing.len(), replacement: field.into_bytes() };
        }
    }

    // No such field: insert before the blank line that ends the block.
    let end = part.header_range.end;
    let insert_at = if message.raw[..end].ends_with(b"\r\n\r\n") {
        end - 2
    } else if message.raw[..end].ends_with(b"\n\n") {
        end - 1
    } else {
        end
    };
    Edit { range: insert_at..insert_at, replacement: field.into_bytes() }
}

/// Builds an edit that inserts a text/plain part with the notice in front of the
/// first child of the top-level multipart. Empty when part 0 is no multipart.
fn new_notice_part(message: &ParsedMessage, notice: &NoticeContent<'_>) -> Option<Edit> {
    let root = message.part(PartId(0))?;
    let boundary = root.boundary.as_deref()?;
    let delimiter = format!("--{boundary}");

    let area = &message.raw[root.body_range.clone()];
    let position = root.body_range.start + find(area, delimiter.as_bytes())?;

    let mut part = text_part(boundary, &render_placeholder(notice), false);
    part.extend_from_slice(b"\r\n");
    Some(Edit { range: position..position, replacement: part })
}

/// Builds a delimiter line and a UTF-8 quoted-printable text/plain part. With
/// `leading_break` the bytes start with the CR LF that ends the previous
/// part, for use in place of a removed part.
fn text_part(boundary: &str, text: &str, leading_break: bool) -> Vec<u8> {
    let mut part = Vec::new();
    if leading_break {
        part.extend_from_slice(b"\r\n");
    }
    part.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    part.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    part.extend_from_slice(b"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    let mut body = transfer::encode(text.as_bytes(), TransferEncoding::QuotedPrintable);
    if body.ends_with(b"\r\n") {
        body.truncate(body.len() - 2);
    }
    part.extend_from_slice(&body);
    part
}

/// Rebuilds the message around a text/plain body, for a message whose only
/// part is an attachment that is removed.
fn replace_whole_message(message: &ParsedMessage, notice: &NoticeContent<'_>) -> Vec<u8> {
    let root = &message.parts[0];
    let header_block = &message.raw[root.header_range.clone()];

    let mut output = Vec::with_capacity(header_block.len() + 512);
    for field in header_fields(header_block) {
        let name = field_name(field);
        if name.starts_with("content-") || name.is_empty() {
            continue;
        }
        output.extend_from_slice(field);
    }

    output.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    output.extend_from_slice(b"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    output.extend_from_slice(&transfer::encode(render_placeholder(notice).as_bytes(), TransferEncoding::QuotedPrintable));
    output
}

fn apply(raw: &[u8], mut edits: Vec<Edit>) -> Vec<u8> {
    edits.sort_by_key(|edit| (edit.range.start, edit.range.end));

    let mut output = Vec::with_capacity(raw.len());
    let mut cursor = 0;
    for edit in edits {
        if edit.range.start < cursor {
            // Overlapping edits cannot come from one plan; the later one is skipped.
            continue;
        }
        output.extend_from_slice(&raw[cursor..edit.range.start]);
        output.extend_from_slice(&edit.replacement);
        cursor = edit.range.end;
    }
    output.extend_from_slice(&raw[cursor..]);
    output
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|window| window == needle)
}
