//! The gateway's own decision of what each MIME part is.
//!
//! The rules, in order of precedence:
//! 1. `multipart/*` is a container.
//! 2. Every part inside a `multipart/signed` or `multipart/encrypted`
//!    subtree, calendar data, signatures and encrypted payloads are
//!    protected: changing them would break a signature, an encryption or an
//!    invitation, so the gateway leaves them byte for byte as they are.
//! 3. An image whose `Content-ID` an HTML body references with `cid:`
//!    (scheme matched case-insensitively) is an inline image.
//! 4. A text/plain or text/html part that `mail-parser` lists as a body and
//!    that is not marked `Content-Disposition: attachment` is a body.
//! 5. Every other leaf part, a forwarded `message/rfc822` included, is an
//!    attachment.

use std::collections::HashSet;

use crate::part::{Disposition, PartId, PartInfo, PartKind};

/// Media types that are never stripped: calendar data, detached signatures
/// and encrypted or enveloped payloads.
const PROTECTED_TYPES: &[&str] = &[
    "text/calendar",
    "application/ics",
    "application/pgp-signature",
    "application/pgp-encrypted",
    "application/pgp-keys",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
];

/// Container types whose whole subtree is protected.
const PROTECTED_CONTAINERS: &[&str] = &["multipart/signed", "multipart/encrypted"];

/// Returns the ids of the parts that `mail-parser` lists as text or HTML
/// bodies.
pub(crate) fn body_part_ids(message: &mail_parser::Message<'_>) -> HashSet<u32> {
    message
        .text_body
        .iter()
        .chain(message.html_body.iter())
        .copied()
        .collect()
}

/// Sets the kind of every part. `body_ids` comes from [`body_part_ids`], and
/// the contents of the HTML bodies must be decoded already.
pub(crate) fn classify_parts(body_ids: &HashSet<u32>, parts: &mut [PartInfo]) {
    let referenced_cids = referenced_content_ids(parts, body_ids);

    for index in 0..parts.len() {
        let kind = classify_one(parts, index, body_ids, &referenced_cids);
        parts[index].kind = kind;
    }
}

fn classify_one(
    parts: &[PartInfo],
    index: usize,
    body_ids: &HashSet<u32>,
    referenced_cids: &HashSet<String>,
) -> PartKind {
    let part = &parts[index];
    let content_type = part.content_type.as_str();

    if content_type.starts_with("multipart/") {
        return PartKind::Container;
    }

    if PROTECTED_TYPES.contains(&content_type) || inside_protected_container(parts, part.id) {
        return PartKind::Protected;
    }

    let is_referenced = part
        .content_id
        .as_ref()
        .is_some_and(|cid| referenced_cids.contains(&cid.to_ascii_lowercase()));
    if content_type.starts_with("image/") && is_referenced {
        return PartKind::InlineImage;
    }

    let is_text_body_type = content_type == "text/plain" || content_type == "text/html";
    if is_text_body_type && body_ids.contains(&part.id.0) && part.disposition != Disposition::Attachment {
        return PartKind::Body;
    }

    PartKind::Attachment
}

fn inside_protected_container(parts: &[PartInfo], id: PartId) -> bool {
    let mut current = parts.get(id.0 as usize).and_then(|part| part.parent);
    while let Some(parent_id) = current {
        let Some(parent) = parts.get(parent_id.0 as usize) else {
            return false;
        };
        if PROTECTED_CONTAINERS.contains(&parent.content_type.as_str()) {
            return true;
        }
        current = parent.parent;
    }
    false
}

/// Content-IDs referenced as `cid:` URLs from the HTML bodies, lower-cased
/// and percent-decoded (RFC 2392).
fn referenced_content_ids(parts: &[PartInfo], body_ids: &HashSet<u32>) -> HashSet<String> {
    let mut referenced = HashSet::new();

    for part in parts {
        if part.content_type != "text/html" || !body_ids.contains(&part.id.0) {
            continue;
        }
        let html = String::from_utf8_lossy(&part.content).to_ascii_lowercase();
        let mut rest = html.as_str();
        while let Some(position) = rest.find("cid:") {
            rest = &rest[position + 4..];
            let end = rest
                .find(|c: char| c == '"' || c == '\'' || c == ')' || c == '>' || c.is_whitespace())
                .unwrap_or(rest.len());
            referenced.insert(percent_decode(&rest[..end]));
            rest = &rest[end..];
        }
    }

    referenced
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|pair| std::str::from_utf8(pair).ok());
        match (bytes[index], hex.and_then(|pair| u8::from_str_radix(pair, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
