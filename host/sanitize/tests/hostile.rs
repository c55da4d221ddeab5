//! Corrupt and hostile archives: each gives `Failed` with a reason naming
//! the cause, and none panics.

mod common;

use common::*;
use mailgate_sanitize::{Limits, SanitizeError, SanitizeOutcome, Sanitizer};
use zip::CompressionMethod;

const TYPES: &str = r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;

fn failure(sanitizer: &Sanitizer, content: &[u8]) -> SanitizeError {
    match sanitizer.sanitize("hostile.docm", "", content) {
        SanitizeOutcome::Failed { reason } => reason,
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn entry(name: &str, content: &[u8]) -> TestEntry {
    (
        name.to_string(),
        content.to_vec(),
        CompressionMethod::Deflated,
    )
}

#[test]
fn truncated_archive_fails() {
    let original = docm();
    for length in [4, 30, original.len() / 2, original.len() - 10] {
        let reason = failure(&Sanitizer::default(), &original[..length]);
        assert!(
            matches!(reason, SanitizeError::InvalidArchive(_)),
            "length {length}: {reason:?}"
        );
    }
}

#[test]
fn garbage_after_magic_fails() {
    let mut content = b"PK\x03\x04".to_vec();
    content.extend((0..2000u32).map(|value| (value * 7919 % 251) as u8));
    assert!(matches!(
        failure(&Sanitizer::default(), &content),
        SanitizeError::InvalidArchive(_)
    ));
}

#[test]
fn parent_segment_name_fails() {
    let archive = build_zip(&[
        entry("[Content_Types].xml", TYPES.as_bytes()),
        entry("../../evil.xml", b"<x/>"),
    ]);
    let reason = failure(&Sanitizer::default(), &archive);
    assert_eq!(
        reason,
        SanitizeError::UnsafeEntryName("../../evil.xml".to_string())
    );
}

#[test]
fn absolute_name_fails() {
    let archive = build_zip(&[
        entry("[Content_Types].xml", TYPES.as_bytes()),
        entry("/etc/evil.xml", b"<x/>"),
    ]);
    assert!(matches!(
        failure(&Sanitizer::default(), &archive),
        SanitizeError::UnsafeEntryName(_)
    ));
}

#[test]
fn default_entry_limit_enforced() {
    let mut entries = vec![entry("[Content_Types].xml", TYPES.as_bytes())];
    entries.extend((0..10_000).map(|index| {
        (
            format!("p/{index}.xml"),
            Vec::new(),
            CompressionMethod::Stored,
        )
    }));
    let archive = build_zip(&entries);

    let reason = failure(&Sanitizer::default(), &archive);
    assert_eq!(
        reason,
        SanitizeError::TooManyEntries {
            count: 10_001,
            limit: 10_000
        }
    );
}

#[test]
fn total_size_limit_enforced() {
    let limits = Limits {
        max_total_uncompressed: 1024 * 1024,
        ..Limits::default()
    };
    let archive = build_zip(&[
        entry("[Content_Types].xml", TYPES.as_bytes()),
        entry("word/zeros.xml", &vec![0; 2 * 1024 * 1024]),
    ]);
    assert!(
        archive.len() < 64 * 1024,
        "the test archive should compress well"
    );

    let reason = failure(&Sanitizer::new(limits), &archive);
    assert_eq!(reason, SanitizeError::TooLarge { limit: 1024 * 1024 });
}

#[test]
fn case_duplicate_names_fail() {
    let archive = build_zip(&[
        entry("[Content_Types].xml", TYPES.as_bytes()),
        entry("word/document.xml", b"<a/>"),
        entry("WORD/Document.xml", b"<b/>"),
    ]);
    assert_eq!(
        failure(&Sanitizer::default(), &archive),
        SanitizeError::DuplicateEntryName("WORD/Document.xml".to_string())
    );
}

#[test]
fn exact_duplicate_names_fail() {
    let archive = build_zip(&[
        entry("[Content_Types].xml", TYPES.as_bytes()),
        entry("word/dupA.xml", b"<a/>"),
        entry("word/dupB.xml", b"<b/>"),
    ]);
    let renamed = replace_all(&archive, b"word/dupB.xml", b"word/dupA.xml");

    assert!(matches!(
        failure(&Sanitizer::default(), &renamed),
        SanitizeError::DuplicateEntryName(_)
    ));
}

#[test]
fn doctype_in_relationships_fails() {
    let archive = build_zip(&[
        entry("[Content_Types].xml", TYPES.as_bytes()),
        entry(
            "_rels/.rels",
            br#"<!DOCTYPE r [<!ENTITY e "x">]><Relationships/>"#,
        ),
    ]);
    assert!(matches!(
        failure(&Sanitizer::default(), &archive),
        SanitizeError::InvalidXml { .. }
    ));
}

#[test]
fn malformed_content_types_fails() {
    let archive = build_zip(&[entry(
        "[Content_Types].xml",
        b"<Types><Override PartName=\"/a.xml\"",
    )]);
    assert!(matches!(
        failure(&Sanitizer::default(), &archive),
        SanitizeError::InvalidXml { .. }
    ));
}

#[test]
fn utf16_relationships_fail() {
    let archive = build_zip(&[
        entry("[Content_Types].xml", TYPES.as_bytes()),
        entry("_rels/.rels", b"\xff\xfe<\x00R\x00/\x00>\x00"),
    ]);
    assert!(matches!(
        failure(&Sanitizer::default(), &archive),
        SanitizeError::InvalidXml { .. }
    ));
}

fn replace_all(haystack: &[u8], needle: &[u8], replacement: &[u8]) -> Vec<u8> {
    let mut output = haystack.to_vec();
    let mut index = 0;
    while let Some(position) = output[index..]
        .windows(needle.len())
        .position(|window| window == needle)
    {
        let start = index + position;
        output[start..start + needle.len()].copy_from_slice(replacement);
        index = start + needle.len();
    }
    output
}
