//! Storage names for uploaded attachments.
//!
//! The vault stores each attachment under a name derived from the part's
//! file name: path separators, drive colons and control characters become
//! `_`, surrounding dots and spaces go, and the name is cut to
//! [`MAX_NAME_CHARS`] characters with its extension kept. A part without a
//! usable name gets `attachment-<part number>.<extension>`, the extension
//! chosen from the media type. Names repeated inside one folder get ` (2)`,
//! ` (3)` … before the extension, compared case-insensitively. The result
//! depends only on the message, so every run assigns the same names.

use std::collections::HashSet;

use crate::part::PartInfo;

/// Maximum length of a storage name, in characters.
pub const MAX_NAME_CHARS: usize = 150;

/// The storage names for the attachments of one message folder.
#[derive(Debug, Default)]
pub struct StorageNames {
    used: HashSet<String>,
}

impl StorageNames {
    /// Creates an empty set of names for a new folder.
    pub fn new() -> StorageNames {
        StorageNames::default()
    }

    /// Assigns the storage name for `part`, unique within this folder.
    pub fn assign(&mut self, part: &PartInfo) -> String {
        self.assign_as(part, part.file_name.as_deref())
    }

    /// Assigns a storage name for `part` under `file_name` in place of the
    /// part's own name, for a file the gateway derived from the part (a
    /// sanitized copy with a new extension).
    pub fn assign_as(&mut self, part: &PartInfo, file_name: Option<&str>) -> String {
        let base = file_name
            .map(clean_name)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| format!("attachment-{}.{}", part.id.0, extension_for(&part.content_type)));

        let (stem, extension) = split_extension(&base);
        let mut candidate = base.clone();
        let mut counter = 2;
        while self.used.contains(&candidate.to_lowercase()) {
            candidate = format!("{stem} ({counter}){extension}");
            counter += 1;
        }

        self.used.insert(candidate.to_lowercase());
        candidate
    }
}

fn clean_name(name: &str) -> String {
    let unquoted = name.trim().trim_start_matches("3D").trim_matches(['"', '\'']);

    let mapped: String = unquoted
        .chars()
        .map(|c| match c {
            c if c.is_control() => '_',
            '/' | '\\' | ':' | '<' | '>' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.chars().all(|c| c == '_') {
        return String::new();
    }

    if trimmed.chars().count() <= MAX_NAME_CHARS {
        return trimmed.to_string();
    }
    let (stem, extension) = split_extension(trimmed);
    let extension: String = extension.chars().take(16).collect();
    let keep = MAX_NAME_CHARS.saturating_sub(extension.chars().count());
    let stem: String = stem.chars().take(keep).collect();
    format!("{stem}{extension}")
}

/// Splits `name` into stem and extension (with its dot); a leading dot does
/// not start an extension.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(position) if position > 0 => name.split_at(position),
        _ => (name, ""),
    }
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "application/zip" | "application/x-zip-compressed" => "zip",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/json" => "json",
        "application/xml" | "text/xml" => "xml",
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "message/rfc822" => "eml",
        "audio/mpeg" => "mp3",
        "video/mp4" => "mp4",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::part::{Disposition, PartId, PartKind, TransferEncoding};

    fn part(id: u32, name: Option<&str>, content_type: &str) -> PartInfo {
        PartInfo {
            id: PartId(id),
            parent: Some(PartId(0)),
            content_type: content_type.to_string(),
            charset: None,
            boundary: None,
            file_name: name.map(str::to_string),
            disposition: Disposition::Attachment,
            content_id: None,
            transfer_encoding: TransferEncoding::Base64,
            kind: PartKind::Attachment,
            content: Vec::new(),
            header_range: 0..0,
            body_range: 0..0,
        }
    }

    #[test]
    fn names_generated_when_missing() {
        let mut names = StorageNames::new();
        assert_eq!(names.assign(&part(3, None, "application/pdf")), "attachment-3.pdf");
        assert_eq!(names.assign(&part(4, Some("  "), "image/png")), "attachment-4.png");
        assert_eq!(names.assign(&part(5, Some("..."), "x/unknown")), "attachment-5.bin");
    }

    #[test]
    fn names_duplicates_numbered() {
        let mut names = StorageNames::new();
        assert_eq!(names.assign(&part(1, Some("a.pdf"), "application/pdf")), "a.pdf");
        assert_eq!(names.assign(&part(2, Some("A.PDF"), "application/pdf")), "A (2).PDF");
        assert_eq!(names.assign(&part(3, Some("a.pdf"), "application/pdf")), "a (3).pdf");
    }

    #[test]
    fn names_hostile_paths_flattened() {
        let mut names = StorageNames::new();
        assert_eq!(names.assign(&part(1, Some("../../etc/passwd"), "text/plain")), "_.._etc_passwd");
        assert_eq!(names.assign(&part(2, Some("C:\\x\r\n.exe"), "x/y")), "C__x__.exe");
    }

    #[test]
    fn names_quoted_artefact_removed() {
        let mut names = StorageNames::new();
        assert_eq!(names.assign(&part(1, Some("3D\"report.pdf\""), "application/pdf")), "report.pdf");
    }

    #[test]
    fn names_long_name_keeps_extension() {
        let mut names = StorageNames::new();
        let long = format!("{}.pdf", "n".repeat(400));
        let assigned = names.assign(&part(1, Some(&long), "application/pdf"));
        assert_eq!(assigned.chars().count(), MAX_NAME_CHARS);
        assert!(assigned.ends_with(".pdf"));
    }

    #[test]
    fn names_non_ascii_kept() {
        let mut names = StorageNames::new();
        assert_eq!(names.assign(&part(1, Some("\u{0420}\u{0435}\u{0437}.pdf"), "application/pdf")), "\u{0420}\u{0435}\u{0437}.pdf");
    }
}
