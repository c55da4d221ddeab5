//! Sanitizing Office Open XML packages built in the test: what goes, what
//! stays byte for byte, and whether the result is still a consistent package.

mod common;

use common::*;
use mailgate_sanitize::{SanitizeOutcome, SanitizedFile, Sanitizer};

fn sanitized(file_name: &str, declared_type: &str, content: &[u8]) -> SanitizedFile {
    match Sanitizer::default().sanitize(file_name, declared_type, content) {
        SanitizeOutcome::Sanitized(file) => file,
        other => panic!("expected Sanitized, got {other:?}"),
    }
}

fn names(archive: &[u8]) -> Vec<String> {
    read_entries(archive)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn docm_loses_vba_parts() {
    let file = sanitized(
        "report.docm",
        "application/vnd.ms-word.document.macroEnabled.12",
        &docm(),
    );

    let names = names(&file.content);
    for removed in [
        "word/vbaProject.bin",
        "word/_rels/vbaProject.bin.rels",
        "word/vbaData.xml",
        "word/vbaProjectSignature.bin",
    ] {
        assert!(
            !names.contains(&removed.to_string()),
            "{removed} still present"
        );
    }
    assert!(
        names
            .iter()
            .all(|name| !name.to_ascii_lowercase().contains("vba")),
        "{names:?}"
    );
    assert_eq!(names.len(), 6, "{names:?}");
}

#[test]
fn docm_stays_consistent() {
    let file = sanitized("report.docm", "", &docm());
    assert_eq!(check_consistent(&file.content), WORD_MAIN);
}

#[test]
fn docm_renamed_to_docx() {
    let file = sanitized("Q3 report.DOCM", "application/octet-stream", &docm());
    assert_eq!(file.file_name, "Q3 report.docx");
    assert_eq!(
        file.content_type,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
}

#[test]
fn docm_reports_removed_parts() {
    let file = sanitized("report.docm", "", &docm());
    assert!(
        file.removed
            .contains(&"VBA macro project (word/vbaProject.bin)".to_string()),
        "{:?}",
        file.removed
    );
    assert!(
        file.removed
            .contains(&"VBA project data (word/vbaData.xml)".to_string()),
        "{:?}",
        file.removed
    );
    assert!(
        file.removed
            .contains(&"VBA project signature (word/vbaProjectSignature.bin)".to_string()),
        "{:?}",
        file.removed
    );
    assert_eq!(file.removed.len(), 3, "{:?}", file.removed);
}

#[test]
fn docm_untouched_entries_identical() {
    let original = docm();
    let file = sanitized("report.docm", "", &original);

    let before = read_raw_entries(&original);
    let after = read_raw_entries(&file.content);
    for name in [
        "_rels/.rels",
        "word/document.xml",
        "word/styles.xml",
        "docProps/core.xml",
    ] {
        assert_eq!(after[name], before[name], "{name} changed");
    }
}

#[test]
fn docm_edits_only_affected_elements() {
    let original = read_entries(&docm());
    let file = sanitized("report.docm", "", &docm());
    let after = read_entries(&file.content);
    let text = |entries: &[(String, Vec<u8>)], name: &str| {
        let (_, content) = entries.iter().find(|(entry, _)| entry == name).unwrap();
        String::from_utf8(content.clone()).unwrap()
    };

    let relationships_before = text(&original, "word/_rels/document.xml.rels");
    let relationships_after = text(&after, "word/_rels/document.xml.rels");
    let vba_relationship =
        format!(r#"<Relationship Id="rId1" Type="{VBA_PROJECT}" Target="vbaProject.bin"/>"#);
    assert_eq!(
        relationships_before.replace(&vba_relationship, ""),
        relationships_after
    );

    let types_before = text(&original, "[Content_Types].xml");
    let types_after = text(&after, "[Content_Types].xml");
    let expected = types_before
        .replace(r#"<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>"#, "")
        .replace(r#"<Override PartName="/word/vbaData.xml" ContentType="application/vnd.ms-word.vbaData+xml"/>"#, "")
        .replace(r#"<Override PartName="/word/vbaProjectSignature.bin" ContentType="application/vnd.ms-office.vbaProjectSignature"/>"#, "")
        .replace(WORD_MAIN_MACRO, WORD_MAIN);
    assert_eq!(types_after, expected);
}

#[test]
fn docm_external_hyperlink_kept() {
    let file = sanitized("report.docm", "", &docm());
    let entries = read_entries(&file.content);
    let (_, relationships) = entries
        .iter()
        .find(|(name, _)| name == "word/_rels/document.xml.rels")
        .unwrap();
    let ids: Vec<String> = elements(relationships, "Relationship")
        .into_iter()
        .map(|r| r["Id"].clone())
        .collect();
    assert_eq!(ids, ["rId2", "rId3"]);
}

#[test]
fn xlsm_loses_vba_project() {
    let file = sanitized("budget.xlsm", "", &xlsm());

    assert!(!names(&file.content).contains(&"xl/vbaProject.bin".to_string()));
    assert_eq!(check_consistent(&file.content), EXCEL_MAIN);
    assert_eq!(file.file_name, "budget.xlsx");
    assert_eq!(
        file.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
}

#[test]
fn activex_control_removed() {
    let file = sanitized("form.docx", "", &docx_with_activex());

    let entries = read_entries(&file.content);
    assert!(
        entries.iter().all(|(name, _)| !name.contains("activeX")),
        "{:?}",
        names(&file.content)
    );
    assert_eq!(check_consistent(&file.content), WORD_MAIN);

    let (_, document) = entries
        .iter()
        .find(|(name, _)| name == "word/document.xml")
        .unwrap();
    let document = String::from_utf8(document.clone()).unwrap();
    assert!(!document.contains("w:control"), "{document}");
    assert!(document.contains("Quarterly figures are attached."));
    assert!(document.contains(
        r#"<w:object><v:shape id="_x0000_i1025" style="width:100pt;height:20pt"/></w:object>"#
    ));
}

#[test]
fn docx_with_vba_keeps_name() {
    let file = sanitized("plain.docx", "", &docm());
    assert_eq!(file.file_name, "plain.docx");
}

#[test]
fn docx_without_macros_unchanged() {
    let outcome = Sanitizer::default().sanitize("letter.docx", "", &plain_docx());
    assert_eq!(outcome, SanitizeOutcome::Unchanged);
}

#[test]
fn zip_without_content_types_not_applicable() {
    let archive = build_zip(&[(
        "notes/readme.txt".to_string(),
        b"hello".to_vec(),
        zip::CompressionMethod::Deflated,
    )]);
    let outcome = Sanitizer::default().sanitize("notes.zip", "application/zip", &archive);
    assert_eq!(outcome, SanitizeOutcome::NotApplicable);
}

#[test]
fn detection_ignores_misleading_name() {
    let file = sanitized("invoice.txt", "text/plain", &docm());
    assert!(!names(&file.content).contains(&"word/vbaProject.bin".to_string()));
}

#[test]
fn sanitized_output_is_stable() {
    let once = sanitized("report.docm", "", &docm());
    let twice = Sanitizer::default().sanitize("report.docx", "", &once.content);
    assert_eq!(twice, SanitizeOutcome::Unchanged);
}

#[test]
fn byte_order_mark_parts_edited() {
    let entries: Vec<TestEntry> = read_entries(&docm())
        .into_iter()
        .map(|(name, content)| {
            let content = if name.ends_with(".rels") || name.ends_with(".xml") {
                [b"\xef\xbb\xbf".as_slice(), &content].concat()
            } else {
                content
            };
            (name, content, zip::CompressionMethod::Deflated)
        })
        .collect();

    let file = sanitized("report.docm", "", &build_zip(&entries));

    assert_eq!(check_consistent(&file.content), WORD_MAIN);
    let after = read_entries(&file.content);
    let (_, relationships) = after
        .iter()
        .find(|(name, _)| name == "word/_rels/document.xml.rels")
        .unwrap();
    let ids: Vec<String> = elements(relationships, "Relationship")
        .into_iter()
        .map(|r| r["Id"].clone())
        .collect();
    assert_eq!(ids, ["rId2", "rId3"]);
}
