//! Builders of small Office Open XML packages, for the tests of this crate
//! and of its callers. Enabled by the `testing` feature.
//!
//! Each package has only the parts the sanitizer reads or edits, so a test
//! can state exactly which entries the sanitized copy must keep.
//!
//! The builders panic when the ZIP writer rejects an entry, for example a
//! repeated name, which fails the calling test.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Namespace of relationships parts.
pub const RELS_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
/// Namespace of `[Content_Types].xml`.
pub const TYPES_NS: &str = "http://schemas.openxmlformats.org/package/2006/content-types";
/// Relationship type of a package's main part.
pub const OFFICE_DOCUMENT: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";
/// Relationship type of a VBA project.
pub const VBA_PROJECT: &str = "http://schemas.microsoft.com/office/2006/relationships/vbaProject";
/// Content type of the main part of a macro-enabled Word document.
pub const WORD_MAIN_MACRO: &str = "application/vnd.ms-word.document.macroEnabled.main+xml";
/// Content type of the main part of a Word document without macros.
pub const WORD_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
/// Content type of the main part of a macro-enabled Excel workbook.
pub const EXCEL_MAIN_MACRO: &str = "application/vnd.ms-excel.sheet.macroEnabled.main+xml";
/// Content type of the main part of an Excel workbook without macros.
pub const EXCEL_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";

/// One entry of a test archive: name, content and compression method.
pub type TestEntry = (String, Vec<u8>, CompressionMethod);

/// Writes a ZIP archive with the given entries in order.
pub fn build_zip(entries: &[TestEntry]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content, method) in entries {
        let options = SimpleFileOptions::default().compression_method(*method);
        writer
            .start_file(name.as_str(), options)
            .expect("start a ZIP entry in memory");
        writer
            .write_all(content)
            .expect("write a ZIP entry in memory");
    }
    writer
        .finish()
        .expect("finish a ZIP archive in memory")
        .into_inner()
}

/// Returns a `[Content_Types].xml` with the given `Default` entries
/// (extension, type) and `Override` entries (part name, type).
fn content_types(defaults: &[(&str, &str)], overrides: &[(&str, &str)]) -> String {
    let defaults: String = defaults
        .iter()
        .map(|(extension, content_type)| {
            format!(r#"<Default Extension="{extension}" ContentType="{content_type}"/>"#)
        })
        .collect();
    let overrides: String = overrides
        .iter()
        .map(|(part, content_type)| {
            format!(r#"<Override PartName="{part}" ContentType="{content_type}"/>"#)
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Types xmlns=\"{TYPES_NS}\">{defaults}{overrides}</Types>"
    )
}

const RELS_TYPE: (&str, &str) = (
    "rels",
    "application/vnd.openxmlformats-package.relationships+xml",
);
const XML_TYPE: (&str, &str) = ("xml", "application/xml");
const CORE_TYPE: (&str, &str) = (
    "/docProps/core.xml",
    "application/vnd.openxmlformats-package.core-properties+xml",
);

fn deflated(name: &str, content: &str) -> TestEntry {
    (
        name.to_string(),
        content.as_bytes().to_vec(),
        CompressionMethod::Deflated,
    )
}

fn stored(name: &str, content: &[u8]) -> TestEntry {
    (
        name.to_string(),
        content.to_vec(),
        CompressionMethod::Stored,
    )
}

fn relationship(id: &str, relationship_type: &str, target: &str) -> String {
    format!(r#"<Relationship Id="{id}" Type="{relationship_type}" Target="{target}"/>"#)
}

fn relationships(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Relationships xmlns=\"{RELS_NS}\">{}</Relationships>",
        items.concat()
    )
}

fn root_relationships(main: &str) -> TestEntry {
    deflated(
        "_rels/.rels",
        &relationships(&[
            relationship("rId1", OFFICE_DOCUMENT, main),
            relationship(
                "rId2",
                "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
                "docProps/core.xml",
            ),
        ]),
    )
}

fn core_properties() -> TestEntry {
    deflated(
        "docProps/core.xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Quarterly report</dc:title></cp:coreProperties>"#,
    )
}

const WORD_BODY_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:v="urn:schemas-microsoft-com:vml"><w:body><w:p><w:r><w:t>Quarterly figures are attached.</w:t></w:r></w:p>"#;
const WORD_BODY_END: &str =
    r#"<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>"#;

const WORD_STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style></w:styles>"#;

/// Builds a Word document with a VBA project, its data and its signature,
/// like a `.docm` from Word reduced to the parts the sanitizer edits.
pub fn docm() -> Vec<u8> {
    let types = content_types(
        &[
            ("bin", "application/vnd.ms-office.vbaProject"),
            RELS_TYPE,
            XML_TYPE,
        ],
        &[
            ("/word/document.xml", WORD_MAIN_MACRO),
            ("/word/vbaData.xml", "application/vnd.ms-word.vbaData+xml"),
            (
                "/word/vbaProjectSignature.bin",
                "application/vnd.ms-office.vbaProjectSignature",
            ),
            (
                "/word/styles.xml",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml",
            ),
            CORE_TYPE,
        ],
    );

    build_zip(&[
        deflated("[Content_Types].xml", &types),
        root_relationships("word/document.xml"),
        deflated(
            "word/document.xml",
            &format!("{WORD_BODY_START}{WORD_BODY_END}"),
        ),
        deflated(
            "word/_rels/document.xml.rels",
            &relationships(&[
                relationship("rId1", VBA_PROJECT, "vbaProject.bin"),
                relationship(
                    "rId2",
                    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles",
                    "styles.xml",
                ),
                relationship(
                    "rId3",
                    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink",
                    "https://example.com/report",
                ),
            ])
            .replace("report\"/>", "report\" TargetMode=\"External\"/>"),
        ),
        deflated("word/styles.xml", WORD_STYLES),
        stored(
            "word/vbaProject.bin",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not a real VBA project",
        ),
        deflated(
            "word/_rels/vbaProject.bin.rels",
            &relationships(&[
                relationship(
                    "rId1",
                    "http://schemas.microsoft.com/office/2006/relationships/wordVbaData",
                    "vbaData.xml",
                ),
                relationship(
                    "rId2",
                    "http://schemas.microsoft.com/office/2006/relationships/vbaProjectSignature",
                    "vbaProjectSignature.bin",
                ),
            ]),
        ),
        deflated(
            "word/vbaData.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><wne:vbaSuppData xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"><wne:mcds/></wne:vbaSuppData>"#,
        ),
        stored("word/vbaProjectSignature.bin", b"signature bytes"),
        core_properties(),
    ])
}

/// Builds a Word document without macros but with an ActiveX check box.
pub fn docx_with_activex() -> Vec<u8> {
    let types = content_types(
        &[RELS_TYPE, XML_TYPE],
        &[
            ("/word/document.xml", WORD_MAIN),
            (
                "/word/activeX/activeX1.xml",
                "application/vnd.ms-office.activeX+xml",
            ),
            (
                "/word/activeX/activeX1.bin",
                "application/vnd.ms-office.activeX",
            ),
            CORE_TYPE,
        ],
    );
    let control = r#"<w:p><w:r><w:object><v:shape id="_x0000_i1025" style="width:100pt;height:20pt"/><w:control r:id="rId5" w:name="CheckBox1" w:shapeid="_x0000_i1025"/></w:object></w:r></w:p>"#;

    build_zip(&[
        deflated("[Content_Types].xml", &types),
        root_relationships("word/document.xml"),
        deflated(
            "word/document.xml",
            &format!("{WORD_BODY_START}{control}{WORD_BODY_END}"),
        ),
        deflated(
            "word/_rels/document.xml.rels",
            &relationships(&[relationship(
                "rId5",
                "http://schemas.openxmlformats.org/officeDocument/2006/relationships/control",
                "activeX/activeX1.xml",
            )]),
        ),
        deflated(
            "word/activeX/activeX1.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><ax:ocx ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}" ax:persistence="persistStorage" r:id="rId1" xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>"#,
        ),
        deflated(
            "word/activeX/_rels/activeX1.xml.rels",
            &relationships(&[relationship(
                "rId1",
                "http://schemas.microsoft.com/office/2006/relationships/activeXControlBinary",
                "activeX1.bin",
            )]),
        ),
        stored("word/activeX/activeX1.bin", b"control binary"),
        core_properties(),
    ])
}

/// Builds an Excel workbook with a VBA project typed by an `Override`.
pub fn xlsm() -> Vec<u8> {
    let types = content_types(
        &[RELS_TYPE, XML_TYPE],
        &[
            ("/xl/workbook.xml", EXCEL_MAIN_MACRO),
            (
                "/xl/worksheets/sheet1.xml",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
            ),
            ("/xl/vbaProject.bin", "application/vnd.ms-office.vbaProject"),
            CORE_TYPE,
        ],
    );

    build_zip(&[
        deflated("[Content_Types].xml", &types),
        root_relationships("xl/workbook.xml"),
        deflated(
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        deflated(
            "xl/_rels/workbook.xml.rels",
            &relationships(&[
                relationship(
                    "rId1",
                    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet",
                    "worksheets/sheet1.xml",
                ),
                relationship("rId2", VBA_PROJECT, "/xl/vbaProject.bin"),
            ]),
        ),
        deflated(
            "xl/worksheets/sheet1.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>42</v></c></row></sheetData></worksheet>"#,
        ),
        stored("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 workbook macros"),
        core_properties(),
    ])
}

/// Builds a Word document without macros or controls.
pub fn plain_docx() -> Vec<u8> {
    let types = content_types(&[RELS_TYPE, XML_TYPE], &[("/word/document.xml", WORD_MAIN)]);
    build_zip(&[
        deflated("[Content_Types].xml", &types),
        deflated(
            "_rels/.rels",
            &relationships(&[relationship("rId1", OFFICE_DOCUMENT, "word/document.xml")]),
        ),
        deflated(
            "word/document.xml",
            &format!("{WORD_BODY_START}{WORD_BODY_END}"),
        ),
    ])
}

/// Reads the entry names of an archive with their decompressed content.
///
/// # Panics
///
/// When `archive` is not a readable ZIP archive, which fails the calling test.
pub fn read_entries(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = ZipArchive::new(Cursor::new(archive)).unwrap();
    (0..zip.len())
        .map(|index| {
            let mut file = zip.by_index(index).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().unwrap().to_string(), content)
        })
        .collect()
}
