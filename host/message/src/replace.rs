//! Replacement of an attachment's content, such as a sanitized copy of an
//! Office document.
//!
//! The replaced part gets the new content in base64 (76-character lines, CR
//! LF) and `Content-Transfer-Encoding: base64`. With a new file name, the
//! `Content-Disposition` field's `filename` and the `Content-Type` field's
//! `name` change; with a new media type, the `Content-Type` field's type
//! changes. Those two fields are rebuilt with their other parameters kept
//! as written, one parameter per folded line. A part without a
//! `Content-Type` field gets one when the name or type changes; a part
//! without a `Content-Disposition` field does not get one. Every other
//! header field is copied byte for byte. Names are written as RFC 2231
//! describes (see [`crate::rfc2231`]).
//!
//! NOTE: RFC 2046 allows only 7bit, 8bit and binary for `message/rfc822`.
//! A replaced forwarded message that keeps that type still gets base64;
//! `mail-parser` decodes it, stricter readers may not.

use crate::fields::{field_name, header_fields};
use crate::part::{PartInfo, TransferEncoding};
use crate::rfc2231::encode_parameter;
use crate::transfer;

/// The new content of an attachment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replacement {
    /// The new content, decoded.
    pub content: Vec<u8>,
    /// The new file name, when it changes (e.g. `report.docx` for a
    /// sanitized `report.docm`). Control characters are removed.
    pub file_name: Option<String>,
    /// The new media type as `type/subtype`, when it changes. A value that
    /// is not a valid media type is ignored and the part keeps its type.
    pub content_type: Option<String>,
}

/// Builds the header block of `part` for `replacement` from the part's
/// current header block `block`.
pub(crate) fn replaced_header_block(block: &[u8], part: &PartInfo, replacement: &Replacement) -> Vec<u8> {
    let file_name = replacement
        .file_name
        .as_deref()
        .map(|name| name.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|name| !name.trim().is_empty());
    let media_type = replacement.content_type.as_deref().map(str::trim).filter(|value| is_media_type(value));
    let retype = file_name.is_some() || media_type.is_some();

    let fields = header_fields(block);
    let fields_end = fields.last().map_or(0, |field| field.as_ptr() as usize - block.as_ptr() as usize + field.len());

    let mut output = Vec::with_capacity(block.len() + 128);
    let mut wrote_type = false;
    let mut wrote_disposition = false;
    let mut wrote_encoding = false;
    for field in fields {
        match field_name(field).as_str() {
            "content-type" if retype => {
                if !wrote_type {
                    let head = media_type.map(str::to_string);
                    output.extend_from_slice(&rebuild_field(field, head, "name", file_name.as_deref(), &part.content_type));
                }
                wrote_type = true;
            }
            "content-disposition" if file_name.is_some() => {
                if !wrote_disposition {
                    output.extend_from_slice(&rebuild_field(field, None, "filename", file_name.as_deref(), "attachment"));
                }
                wrote_disposition = true;
            }
            "content-transfer-encoding" => {
                if !wrote_encoding {
                    output.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
                }
                wrote_encoding = true;
            }
            _ => output.extend_from_slice(field),
        }
    }

    if retype && !wrote_type {
        let media_type = media_type.unwrap_or(&part.content_type);
        output.extend_from_slice(&write_field("Content-Type", media_type, &[], "name", file_name.as_deref()));
    }
    if !wrote_encoding {
        output.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
    }
    output.extend_from_slice(&block[fields_end..]);
    output
}

/// Encodes `content` as the new body that replaces `original_body`. The
/// body ends with a line break when the original one did, so the delimiter
/// that follows keeps its place.
pub(crate) fn replaced_body(original_body: &[u8], content: &[u8]) -> Vec<u8> {
    let mut body = transfer::encode(content, TransferEncoding::Base64);
    if !original_body.ends_with(b"\n") && body.ends_with(b"\r\n") {
        body.truncate(body.len() - 2);
    }
    body
}

/// Rebuilds a `Content-Type` or `Content-Disposition` field: `head` (or the
/// field's own type, or `fallback_head` when that is empty), the field's
/// parameters except `attribute` in any form, then `attribute` with `value`.
/// Without `value`, the field's own `attribute` parameters stay.
fn rebuild_field(field: &[u8], head: Option<String>, attribute: &str, value: Option<&str>, fallback_head: &str) -> Vec<u8> {
    // One char per byte, so that raw 8-bit bytes in the kept parameters
    // come out unchanged.
    let text: String = field.iter().map(|byte| char::from(*byte)).collect();
    let (name, field_value) = text.split_once(':').unwrap_or((text.as_str(), ""));
    let unfolded: String = field_value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let mut pieces = split_parameters(&unfolded);

    let own_head = if pieces.is_empty() { String::new() } else { pieces.remove(0) };
    let head = head.unwrap_or(own_head);
    let head = if head.is_empty() { fallback_head.to_string() } else { head };
    if value.is_some() {
        pieces.retain(|parameter| parameter_base_name(parameter) != attribute);
    }

    write_field(name.trim(), &head, &pieces, attribute, value)
}

/// Writes `name: head` with each parameter on a folded line of its own,
/// then `attribute` with `value` when there is one.
fn write_field(name: &str, head: &str, parameters: &[String], attribute: &str, value: Option<&str>) -> Vec<u8> {
    let mut field = format!("{name}: {head}");
    let encoded = value.map(|value| encode_parameter(attribute, value)).unwrap_or_default();
    for parameter in parameters.iter().chain(encoded.iter()) {
        field.push_str(";\r\n ");
        field.push_str(parameter);
    }
    field.push_str("\r\n");
    field.chars().map(|c| u8::try_from(c).unwrap_or(b'?')).collect()
}

/// Splits an unfolded field value at the `;` outside quoted strings and
/// comments. Returns the trimmed pieces without empty ones, except the first
/// (the type), which is kept even when empty.
fn split_parameters(value: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut comment_depth = 0usize;
    let mut escaped = false;

    for character in value.chars() {
        if escaped {
            escaped = false;
            current.push(character);
            continue;
        }
        match character {
            '\\' if in_quotes || comment_depth > 0 => escaped = true,
            '"' if comment_depth == 0 => in_quotes = !in_quotes,
            '(' if !in_quotes => comment_depth += 1,
            ')' if !in_quotes => comment_depth = comment_depth.saturating_sub(1),
            ';' if !in_quotes && comment_depth == 0 => {
                pieces.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    pieces.push(current.trim().to_string());

    let mut kept = vec![pieces.remove(0)];
    kept.extend(pieces.into_iter().filter(|piece| !piece.is_empty()));
    kept
}

/// Returns the parameter's attribute in lower case without an RFC 2231
/// section or encoding mark: `filename` for `filename*0*=…`.
fn parameter_base_name(parameter: &str) -> String {
    let attribute = parameter.split('=').next().unwrap_or_default();
    attribute.split('*').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Returns whether `value` is `type/subtype` made of RFC 2045 token
/// characters.
fn is_media_type(value: &str) -> bool {
    let Some((kind, subtype)) = value.split_once('/') else { return false };
    let is_token = |text: &str| {
        !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&byte))
    };
    is_token(kind) && is_token(subtype)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::part::{Disposition, PartId, PartKind};

    fn part() -> PartInfo {
        PartInfo {
            id: PartId(2),
            parent: Some(PartId(0)),
            content_type: "application/vnd.ms-word.document.macroenabled.12".to_string(),
            charset: None,
            boundary: None,
            file_name: Some("report.docm".to_string()),
            disposition: Disposition::Attachment,
            content_id: None,
            transfer_encoding: TransferEncoding::Base64,
            kind: PartKind::Attachment,
            content: Vec::new(),
            header_range: 0..0,
            body_range: 0..0,
        }
    }

    fn docx(name: Option<&str>) -> Replacement {
        Replacement {
            content: b"PK".to_vec(),
            file_name: name.map(str::to_string),
            content_type: Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document".to_string()),
        }
    }

    #[test]
    fn replaced_fields_keep_other_parameters_and_fields() {
        let block = b"Content-Type: application/vnd.ms-word.document.macroEnabled.12;\r\n\tname=\"report.docm\"; x-mac-type=\"WDBN\"\r\n\
X-Attachment-Id: f_123\r\nContent-Disposition: attachment; filename=\"report.docm\";\r\n size=1234\r\n\
Content-Transfer-Encoding: base64\r\n\r\n";

        let rebuilt = replaced_header_block(block, &part(), &docx(Some("report.docx")));

        assert_eq!(
            String::from_utf8(rebuilt).unwrap(),
            "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;\r\n \
             x-mac-type=\"WDBN\";\r\n name=\"report.docx\"\r\n\
             X-Attachment-Id: f_123\r\n\
             Content-Disposition: attachment;\r\n size=1234;\r\n filename=\"report.docx\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        );
    }

    #[test]
    fn replaced_fields_keep_raw_bytes() {
        let block = b"Content-Type: application/pdf; x-note=\"caf\xe9\"; name=\"r\xe9.pdf\"\r\n\r\n";
        let replacement = Replacement { content: Vec::new(), file_name: Some("a.pdf".to_string()), content_type: None };

        let rebuilt = replaced_header_block(block, &part(), &replacement);

        assert_eq!(rebuilt, b"Content-Type: application/pdf;\r\n x-note=\"caf\xe9\";\r\n name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    }

    #[test]
    fn replaced_fields_without_new_name() {
        let block = b"Content-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\n";
        let replacement = Replacement { content: Vec::new(), file_name: None, content_type: None };

        let rebuilt = replaced_header_block(block, &part(), &replacement);

        assert_eq!(
            String::from_utf8(rebuilt).unwrap(),
            "Content-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        );
    }

    #[test]
    fn replaced_fields_drop_extended_names() {
        let block = b"Content-Type: application/pdf; name*0*=utf-8''r%C3%A9; name*1*=sum%C3%A9.pdf\r\n\
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n\r\n";
        let replacement = Replacement { content: Vec::new(), file_name: Some("\u{e9}t\u{e9}\r\n.pdf".to_string()), content_type: None };

        let rebuilt = String::from_utf8(replaced_header_block(block, &part(), &replacement)).unwrap();

        assert!(!rebuilt.contains("r%C3%A9"), "{rebuilt}");
        assert!(rebuilt.starts_with("Content-Type: application/pdf;\r\n name*=utf-8''%C3%A9t%C3%A9.pdf\r\n"), "{rebuilt}");
        assert!(rebuilt.contains("Content-Disposition: attachment;\r\n filename*=utf-8''%C3%A9t%C3%A9.pdf\r\n"), "{rebuilt}");
    }

    #[test]
    fn replaced_fields_added_when_missing() {
        let block = b"Content-ID: <x@y>\r\n\r\n";

        let rebuilt = String::from_utf8(replaced_header_block(block, &part(), &docx(None))).unwrap();

        assert_eq!(
            rebuilt,
            "Content-ID: <x@y>\r\n\
             Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        );
    }

    #[test]
    fn replaced_type_invalid_ignored() {
        let block = b"Content-Type: application/pdf\r\n\r\n";
        let replacement = Replacement { content: Vec::new(), file_name: None, content_type: Some("text/html\r\nX-Evil: 1".to_string()) };

        let rebuilt = String::from_utf8(replaced_header_block(block, &part(), &replacement)).unwrap();

        assert_eq!(rebuilt, "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    }

    #[test]
    fn replaced_body_follows_original_line_end() {
        assert_eq!(replaced_body(b"QUJD\r\n", b"ABC"), b"QUJD\r\n");
        assert_eq!(replaced_body(b"QUJD", b"ABC"), b"QUJD");
        assert_eq!(replaced_body(b"", b""), b"");
    }

    #[test]
    fn split_keeps_quoted_semicolons() {
        assert_eq!(
            split_parameters(" text/plain; name=\"a;b\" (c;d); ; charset=utf-8"),
            ["text/plain", "name=\"a;b\" (c;d)", "charset=utf-8"]
        );
        assert_eq!(split_parameters(" ; filename=x"), ["", "filename=x"]);
    }
}
