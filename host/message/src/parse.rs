//! Parsing raw message data into the gateway's message model.

use std::collections::HashSet;
use std::ops::Range;

use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};

use crate::classify::{body_part_ids, classify_parts};
use crate::date::header_date;
use crate::defect::Defect;
use crate::early_decode::{self, EarlyBodies};
use crate::error::ParseError;
use crate::params::raw_parameter;
use crate::part::{Disposition, PartId, PartInfo, PartKind, TransferEncoding};
use crate::repair::{self, HiddenBase64};
use crate::short_view::ShortView;
use crate::transfer;

/// The SMTP envelope a message arrived with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// IP address of the SMTP client, as text.
    pub client_address: String,
    /// Name given in EHLO or HELO.
    pub helo: String,
    /// Reverse path without angle brackets; empty for the null sender.
    pub mail_from: String,
    /// Forward paths without angle brackets.
    pub rcpt_to: Vec<String>,
}

/// One top-level header field with its value decoded to text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderField {
    /// Field name as it appears in the message.
    pub name: String,
    /// Value with encoded words decoded and folding removed.
    pub value: String,
}

/// A parsed message: the raw bytes, the decoded top-level headers and one
/// [`PartInfo`] per MIME part in message order.
///
/// When a header occurs more than once, `subject`, `message_id`, `from` and
/// `date` come from the first instance.
#[derive(Clone, Debug)]
pub struct ParsedMessage {
    /// The message as received, after SMTP dot-unstuffing, with the repairs
    /// that `defects` lists: bare LF line ends become CR LF, and a missing
    /// blank line after the top-level header block is inserted. Part offsets
    /// refer to these bytes.
    pub raw: Vec<u8>,
    /// Top-level header fields in message order.
    pub headers: Vec<HeaderField>,
    /// Decoded `Subject`.
    pub subject: Option<String>,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// Address of the first `From` mailbox.
    pub from: Option<String>,
    /// `Date` as a valid UTC time; `None` when missing or invalid.
    pub date: Option<chrono::DateTime<chrono::Utc>>,
    /// Every MIME part, part 0 first.
    pub parts: Vec<PartInfo>,
    /// Oddities found while parsing, in the order found.
    pub defects: Vec<Defect>,
}

impl ParsedMessage {
    /// Parses `raw` and classifies its parts.
    ///
    /// `mail-parser` reads only the structure: offsets, header fields, media
    /// types and which parts are text or HTML bodies. The parse view hides
    /// base64 from it (see the `repair` module), and the gateway decodes
    /// every leaf body itself, from `raw`. Large base64 bodies are decoded on
    /// a second thread while `mail-parser` runs (see the `early_decode`
    /// module), the others after `mail-parser`'s message is dropped.
    ///
    /// # Errors
    ///
    /// [`ParseError::Empty`] for empty data, [`ParseError::NoHeaders`] when
    /// `mail-parser` finds no message at all, [`ParseError::ParserPanicked`]
    /// when `mail-parser` panics on the input, and
    /// [`ParseError::InvalidOffsets`] when a part's offsets do not fit the
    /// data (which would make a byte-preserving rewrite impossible).
    pub fn parse(raw: Vec<u8>) -> Result<ParsedMessage, ParseError> {
        if raw.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut prepared = repair::prepare(raw);

        // Large base64 bodies are decoded on a second thread meanwhile (see
        // the `early_decode` module).
        let (mut structure, mut early) = read_structure_and_decode(&prepared);

        // `mail-parser` (0.11.9) reads a nested message in place instead of
        // decoding it first when its transfer encoding is not base64, so a
        // hidden `base64` can change how it reads the rest of the message.
        // Such a message, and one that fails to parse, is parsed again with
        // every field as received.
        let had_hidden_base64 = prepared.restore_base64();
        let read_differently = match &structure {
            Ok(structure) => structure.has_nested_message,
            Err(_) => true,
        };
        if had_hidden_base64 && read_differently {
            structure = read_structure(&prepared, None);
        }
        let structure = structure?;

        let raw = prepared.raw;
        let mut parts = structure.parts;
        let mut defects = prepared.defects;
        defects.extend(structure.duplicate_headers);
        for offset in prepared.missing_separators {
            let owner = parts.iter().find(|part| part.header_range.contains(&offset));
            defects.extend(owner.map(|part| Defect::MissingParameterSeparator { part: part.id }));
        }

        // `mail-parser`'s message is gone here, with the bodies it decoded
        // itself (quoted-printable, and base64 in a message parsed again), so
        // a large body is never in memory decoded twice.
        let mut valid_base64 = HashSet::new();
        for index in structure.leaves {
            let Some(part) = parts.get_mut(index) else { continue };
            let early_body = match part.transfer_encoding {
                TransferEncoding::Base64 => early.take(&raw, &part.body_range),
                _ => None,
            };
            match early_body {
                Some((content, valid)) => {
                    part.content = content;
                    if valid {
                        valid_base64.insert(part.id);
                    }
                }
                None => part.content = decode_body(&raw[part.body_range.clone()], part.transfer_encoding),
            }
        }
        classify_parts(&structure.body_ids, &mut parts);
        defects.extend(parts.iter().flat_map(|part| part_defects(&raw, part, valid_base64.contains(&part.id))));

        Ok(ParsedMessage {
            raw,
            headers: structure.headers,
            subject: structure.subject,
            message_id: structure.message_id,
            from: structure.from,
            date: structure.date,
            parts,
            defects,
        })
    }

    /// Returns the part with `id`, if it exists.
    pub fn part(&self, id: PartId) -> Option<&PartInfo> {
        self.parts.get(id.0 as usize)
    }

    /// Parts the gateway classifies as regular attachments.
    pub fn attachments(&self) -> impl Iterator<Item = &PartInfo> {
        self.parts.iter().filter(|part| part.kind == PartKind::Attachment)
    }
}

/// The message structure that `mail-parser` reads from the parse view:
/// everything but the contents of the leaf parts.
struct Structure {
    headers: Vec<HeaderField>,
    subject: Option<String>,
    message_id: Option<String>,
    from: Option<String>,
    date: Option<chrono::DateTime<chrono::Utc>>,
    /// Every part, with empty content.
    parts: Vec<PartInfo>,
    /// Indexes in `parts` of the parts that are no multipart.
    leaves: Vec<usize>,
    /// From [`body_part_ids`].
    body_ids: HashSet<u32>,
    /// Top-level fields that occur more than once.
    duplicate_headers: Vec<Defect>,
    /// Whether `mail-parser` read some part as a `message/rfc822` or
    /// `message/global` part, which it parses as a nested message.
    has_nested_message: bool,
}

/// Runs [`read_structure`] and, on a second thread at the same time,
/// decodes the large base64 bodies guessed from the hidden fields. Without
/// such a body, or when no thread can be started, nothing is decoded early.
///
/// `mail-parser` reads a view without those bodies where it can (see the
/// `short_view` module). When that view gives an error, or parts that do
/// not match its cuts, it reads the full view instead.
fn read_structure_and_decode(prepared: &repair::Prepared) -> (Result<Structure, ParseError>, EarlyBodies) {
    let raw = prepared.raw.as_slice();
    let guesses = early_decode::guess_bodies(raw, prepared.hidden_base64.offsets());
    if guesses.is_empty() {
        return (read_structure(prepared, None), EarlyBodies::default());
    }

    std::thread::scope(|scope| {
        let decoder = std::thread::Builder::new()
            .name("early-decode".to_string())
            .spawn_scoped(scope, || early_decode::decode(raw, &guesses));
        let structure = match ShortView::build(prepared.parser_input(), &guesses) {
            Some(short) => read_structure(prepared, Some(&short)).or_else(|_| read_structure(prepared, None)),
            None => read_structure(prepared, None),
        };
        let early = decoder.ok().and_then(|decoder| decoder.join().ok()).unwrap_or_default();
        (structure, early)
    })
}

/// Maps offsets in the data that `mail-parser` read to offsets in `raw`:
/// the same without a short view.
#[derive(Clone, Copy)]
struct ViewOffsets<'a>(Option<&'a ShortView>);

impl ViewOffsets<'_> {
    fn at(self, offset: u32) -> usize {
        let offset = offset as usize;
        self.0.map_or(offset, |short| short.offset(offset))
    }

    fn body(self, part: &mail_parser::MessagePart<'_>) -> Option<Range<usize>> {
        let (start, end) = (part.offset_body as usize, part.offset_end as usize);
        match self.0 {
            Some(short) => short.body(start, end),
            None => Some(start..end),
        }
    }

    /// Checks that each cut of the short view is the body of exactly one
    /// part, and not of a text, message or multipart part, whose content
    /// `mail-parser` interprets. Returns the error that makes the caller
    /// read the full view.
    fn check_cuts(self, message: &mail_parser::Message<'_>, parts: &[PartInfo]) -> Result<(), ParseError> {
        let Some(short) = self.0 else { return Ok(()) };

        let mut claimed = 0;
        for (index, part) in message.parts.iter().enumerate() {
            if !short.starts_at_cut(part.offset_body as usize) {
                continue;
            }
            claimed += 1;
            let content_type = parts.get(index).map_or("", |info| info.content_type.as_str());
            if ["text/", "message/", "multipart/"].iter().any(|kind| content_type.starts_with(kind)) {
                return Err(ParseError::InvalidOffsets { part: index as u32 });
            }
        }
        if claimed == short.cut_count() { Ok(()) } else { Err(ParseError::InvalidOffsets { part: 0 }) }
    }
}

/// Runs `mail-parser` on the parse view of `prepared` and collects the
/// structure.
///
/// While `mail-parser`'s message is alive, `prepared.raw` may be the parse
/// view itself and show hidden `base64` values as `binary`. Only header
/// fields are read from it here: `Content-Type` and `Content-Disposition`,
/// which never contain a hidden value, and received and empty fields, which
/// are read with the hidden values restored.
fn read_structure(prepared: &repair::Prepared, short: Option<&ShortView>) -> Result<Structure, ParseError> {
    let raw = prepared.raw.as_slice();
    let hidden = &prepared.hidden_base64;
    let offsets = ViewOffsets(short);
    let input = short.map_or(prepared.parser_input(), |short| short.bytes.as_slice());

    // A panic inside the parser must not take the SMTP session down
    // with it: it becomes an error for this message only.
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse(input));
    let message = parsed.map_err(|_| ParseError::ParserPanicked)?.ok_or(ParseError::NoHeaders)?;

    let headers = message
        .root_part()
        .headers
        .iter()
        .map(|header| HeaderField { name: header.name().to_string(), value: field_value(raw, hidden, offsets, header) })
        .collect();

    let subject = first_text(&message, "Subject");
    let message_id = first_text(&message, "Message-ID")
        .map(|id| trim_angle_brackets(&id))
        .filter(|id| !id.is_empty());
    let from = first_address(&message);
    let date = header_date(&message);

    let mut parts = Vec::with_capacity(message.parts.len());
    let mut leaves = Vec::new();
    let mut has_nested_message = false;
    for (index, part) in message.parts.iter().enumerate() {
        let mut info = part_info(raw, hidden, offsets, &message, index as u32, part)?;

        // `part_info` gives a part without `Content-Type` the type
        // `message/rfc822` only where `mail-parser` reads it as a message too.
        // The opaque message types are restored only below, because
        // `mail-parser` reads those parts as opaque data.
        let is_message = matches!(info.content_type.as_str(), "message/rfc822" | "message/global");
        has_nested_message |= is_message || matches!(part.body, PartType::Message(_));

        let hidden_type = prepared.opaque_messages.iter().find(|(offset, _)| info.header_range.contains(offset));
        if let Some((_, media_type)) = hidden_type {
            info.content_type.clone_from(media_type);
        }
        parts.push(info);
        if !matches!(part.body, PartType::Multipart(_)) {
            leaves.push(index);
        }
    }
    offsets.check_cuts(&message, &parts)?;
    assign_parents(&message, &mut parts);

    Ok(Structure {
        headers,
        subject,
        message_id,
        from,
        date,
        parts,
        leaves,
        body_ids: body_part_ids(&message),
        duplicate_headers: duplicate_headers(&message),
        has_nested_message,
    })
}

/// Returns the value of a top-level header field as text, with a hidden
/// `base64` as received.
fn field_value(raw: &[u8], hidden: &HiddenBase64, offsets: ViewOffsets<'_>, header: &mail_parser::Header<'_>) -> String {
    let range = offsets.at(header.offset_start)..offsets.at(header.offset_end);
    match header.value() {
        HeaderValue::Received(_) | HeaderValue::Empty => {
            let mut bytes = raw.get(range.clone()).unwrap_or_default().to_vec();
            hidden.restore(&mut bytes, range.start);
            unfold_raw_value(&bytes)
        }
        value => match hidden.original_within(range) {
            // The field value is this word alone, which the parse view shows
            // as `binary`.
            Some(original) if is_transfer_encoding_field(header) => original.to_string(),
            _ => header_text(value),
        },
    }
}

fn is_transfer_encoding_field(header: &mail_parser::Header<'_>) -> bool {
    header.name().eq_ignore_ascii_case("Content-Transfer-Encoding")
}

fn part_info(
    raw: &[u8],
    hidden: &HiddenBase64,
    offsets: ViewOffsets<'_>,
    message: &mail_parser::Message<'_>,
    index: u32,
    part: &mail_parser::MessagePart<'_>,
) -> Result<PartInfo, ParseError> {
    let header_start = offsets.at(part.offset_header);
    let Some(Range { start: body_start, end: body_end }) = offsets.body(part) else {
        return Err(ParseError::InvalidOffsets { part: index });
    };
    if header_start > body_start || body_start > body_end || body_end > raw.len() {
        return Err(ParseError::InvalidOffsets { part: index });
    }

    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| default_content_type(message, index).to_string())
        .to_ascii_lowercase();
    let charset = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(|charset| charset.trim().to_ascii_lowercase());
    let boundary = part
        .content_type()
        .and_then(|ct| ct.attribute("boundary"))
        .map(str::to_string);
    let disposition = match part.content_disposition().map(|cd| cd.ctype().to_ascii_lowercase()) {
        Some(kind) if kind == "attachment" => Disposition::Attachment,
        Some(kind) if kind == "inline" => Disposition::Inline,
        _ => Disposition::None,
    };
    let parsed_name = part
        .content_disposition()
        .and_then(|cd| cd.attribute("filename"))
        .or_else(|| part.content_type().and_then(|ct| ct.attribute("name")))
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());
    let file_name = match parsed_name {
        Some(name) if !name.contains('\u{fffd}') => Some(name),
        lost_or_garbled => raw_file_name(&raw[header_start..body_start]).or(lost_or_garbled),
    };
    let content_id = part
        .content_id()
        .map(trim_angle_brackets)
        .filter(|id| !id.is_empty());
    let transfer_encoding = transfer_encoding(part, hidden, offsets);

    // Leaf bodies stay empty here: `ParsedMessage::parse` decodes them from
    // `raw` once `mail-parser`'s message is gone. Content never comes from
    // `mail-parser`, whose input is the parse view, with repaired fields and
    // base64 bodies it did not decode.
    let content = Vec::new();

    Ok(PartInfo {
        id: PartId(index),
        parent: None,
        content_type,
        charset,
        boundary,
        file_name,
        disposition,
        content_id,
        transfer_encoding,
        kind: PartKind::Attachment,
        content,
        header_range: header_start..body_start,
        body_range: body_start..body_end,
    })
}

/// Decodes the encoded body of a leaf part by its transfer encoding.
fn decode_body(body: &[u8], encoding: TransferEncoding) -> Vec<u8> {
    match encoding {
        TransferEncoding::Base64 => transfer::decode_base64(body),
        TransferEncoding::QuotedPrintable => transfer::decode_quoted_printable(body),
        _ => body.to_vec(),
    }
}

/// The file name read from the raw header block, for the cases where
/// `mail-parser` lost or garbled it (see [`crate::params`]).
fn raw_file_name(header_block: &[u8]) -> Option<String> {
    raw_parameter(header_block, "Content-Disposition", "filename")
        .or_else(|| raw_parameter(header_block, "Content-Type", "name"))
        .map(|name| name.trim().to_string())
}

/// Media type of a part without `Content-Type`: `message/rfc822` inside
/// `multipart/digest`, `text/plain` everywhere else (RFC 2046, 5.1.5).
fn default_content_type(message: &mail_parser::Message<'_>, index: u32) -> &'static str {
    let in_digest = message.parts.iter().any(|parent| {
        parent.sub_parts().is_some_and(|children| children.contains(&index))
            && parent
                .content_type()
                .is_some_and(|ct| ct.subtype().is_some_and(|sub| sub.eq_ignore_ascii_case("digest")))
    });
    if in_digest { "message/rfc822" } else { "text/plain" }
}

/// Reads the encoding from the first `Content-Transfer-Encoding` field of
/// `part`. A value that the parse view hides counts as `base64`.
fn transfer_encoding(part: &mail_parser::MessagePart<'_>, hidden: &HiddenBase64, offsets: ViewOffsets<'_>) -> TransferEncoding {
    let Some(header) = part.headers.iter().find(|header| is_transfer_encoding_field(header)) else {
        return TransferEncoding::SevenBit;
    };
    if hidden.original_within(offsets.at(header.offset_start)..offsets.at(header.offset_end)).is_some() {
        return TransferEncoding::Base64;
    }

    let value = header_text(header.value()).trim().to_ascii_lowercase();

    match value.as_str() {
        "base64" => TransferEncoding::Base64,
        "quoted-printable" => TransferEncoding::QuotedPrintable,
        "8bit" => TransferEncoding::EightBit,
        "binary" => TransferEncoding::Binary,
        _ => TransferEncoding::SevenBit,
    }
}

/// Top-level header fields that RFC 5322 and RFC 2045 allow once.
const SINGLE_FIELDS: &[&str] = &[
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
];

fn duplicate_headers(message: &mail_parser::Message<'_>) -> Vec<Defect> {
    let headers = &message.root_part().headers;
    SINGLE_FIELDS
        .iter()
        .filter_map(|name| {
            let mut instances = headers.iter().filter(|header| header.name().eq_ignore_ascii_case(name));
            let first = instances.next()?;
            instances.next().map(|_| Defect::DuplicateHeader { name: first.name().to_string() })
        })
        .collect()
}

/// Returns the defects of one part's content. `valid_base64` is true when
/// its base64 text was checked and found valid already.
fn part_defects(raw: &[u8], part: &PartInfo, valid_base64: bool) -> Vec<Defect> {
    let mut defects = Vec::new();
    if part.kind == PartKind::Container {
        return defects;
    }

    let is_message = part.content_type == "message/rfc822" || part.content_type == "message/global";
    if is_message && !looks_like_message(&part.content) {
        defects.push(Defect::NotAMessage { part: part.id });
    }
    if part.transfer_encoding == TransferEncoding::Base64 && !valid_base64 && !transfer::is_valid_base64(&raw[part.body_range.clone()]) {
        defects.push(Defect::InvalidBase64 { part: part.id });
    }
    defects
}

/// Returns whether `content` starts with a header field, as every message
/// does.
fn looks_like_message(content: &[u8]) -> bool {
    let first_line = content.split(|byte| *byte == b'\n').next().unwrap_or_default();
    repair::is_field_start(first_line)
}

fn assign_parents(message: &mail_parser::Message<'_>, parts: &mut [PartInfo]) {
    for (parent_index, part) in message.parts.iter().enumerate() {
        let Some(children) = part.sub_parts() else { continue };
        for &child in children {
            if let Some(child) = parts.get_mut(child as usize) {
                child.parent = Some(PartId(parent_index as u32));
            }
        }
    }
}

/// Text of the first instance of a header field, decoded.
fn first_text(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    message
        .root_part()
        .headers
        .iter()
        .find(|header| header.name().eq_ignore_ascii_case(name))
        .map(|header| header_text(header.value()))
        .map(|text| text.trim().to_string())
}

fn first_address(message: &mail_parser::Message<'_>) -> Option<String> {
    message
        .root_part()
        .headers
        .iter()
        .find(|header| header.name().eq_ignore_ascii_case("From"))
        .and_then(|header| header.value().as_address())
        .and_then(|address| address.first())
        .and_then(|addr| addr.address())
        .map(str::to_string)
}

/// Renders any decoded header value as one line of text.
fn header_text(value: &HeaderValue<'_>) -> String {
    match value {
        HeaderValue::Text(text) => unfold(text),
        HeaderValue::TextList(list) => unfold(&list.join(", ")),
        HeaderValue::Address(address) => address
            .iter()
            .map(|addr| match (addr.name(), addr.address()) {
                (Some(name), Some(email)) => format!("{name} <{email}>"),
                (None, Some(email)) => email.to_string(),
                (Some(name), None) => name.to_string(),
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        HeaderValue::DateTime(date) => date.to_rfc822(),
        HeaderValue::ContentType(ct) => match ct.subtype() {
            Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
            None => ct.ctype().to_string(),
        },
        HeaderValue::Received(_) | HeaderValue::Empty => String::new(),
    }
}

/// Removes the line breaks of folded lines (RFC 5322, 2.2.3); `mail-parser`
/// keeps them in the values of fields it does not know.
fn unfold(text: &str) -> String {
    text.replace(['\r', '\n'], "")
}

fn unfold_raw_value(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn trim_angle_brackets(value: &str) -> String {
    value.trim().trim_start_matches('<').trim_end_matches('>').trim().to_string()
}

#[cfg(test)]
mod tests;
