//! The relationship types, content types and part names of active content
//! (VBA macros and ActiveX controls), and the macro-free equivalents of the
//! macro-enabled main document types.

/// Relationship types whose target is removed, together with the
/// relationship itself.
pub(crate) const ACTIVE_RELATIONSHIP_TYPES: &[&str] = &[
    "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
    "http://schemas.microsoft.com/office/2006/relationships/vbaProjectSignature",
    "http://schemas.microsoft.com/office/2006/relationships/vbaProjectSignatureAgile",
    "http://schemas.microsoft.com/office/2014/relationships/vbaProjectSignatureV3",
    "http://schemas.microsoft.com/office/2006/relationships/wordVbaData",
    "http://schemas.microsoft.com/office/2006/relationships/keyMapCustomizations",
    "http://schemas.microsoft.com/office/2006/relationships/activeXControlBinary",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/control",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/control",
];

/// Content types of parts that are removed.
pub(crate) const ACTIVE_CONTENT_TYPES: &[&str] = &[
    "application/vnd.ms-office.vbaproject",
    "application/vnd.ms-office.vbaprojectsignature",
    "application/vnd.ms-office.vbaprojectsignatureagile",
    "application/vnd.ms-office.vbaprojectsignaturev3",
    "application/vnd.ms-word.vbadata+xml",
    "application/vnd.ms-word.keymapcustomizations+xml",
    "application/vnd.ms-office.activex+xml",
    "application/vnd.ms-office.activex",
];

/// Namespaces of the attributes (`r:id` and others) that refer to a
/// relationship by its id.
pub(crate) const RELATIONSHIP_NAMESPACES: &[&str] = &[
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
];

/// A macro-enabled main part type and its macro-free counterpart, with the
/// file extension and media type of the macro-free file.
#[derive(Debug)]
pub(crate) struct MainType {
    pub macro_enabled: &'static str,
    pub regular: &'static str,
    pub macro_extension: &'static str,
    pub regular_extension: &'static str,
    pub regular_media_type: &'static str,
}

/// The macro-enabled main part types of Word, Excel and PowerPoint.
///
/// NOTE: an Excel add-in (`.xlam`) has no macro-free counterpart; it becomes
/// an ordinary workbook, which keeps its sheets but no longer works as an
/// add-in.
pub(crate) const MAIN_TYPES: &[MainType] = &[
    MainType {
        macro_enabled: "application/vnd.ms-word.document.macroenabled.main+xml",
        regular: "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        macro_extension: "docm",
        regular_extension: "docx",
        regular_media_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    },
    MainType {
        macro_enabled: "application/vnd.ms-word.template.macroenabledtemplate.main+xml",
        regular: "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
        macro_extension: "dotm",
        regular_extension: "dotx",
        regular_media_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    },
    MainType {
        macro_enabled: "application/vnd.ms-excel.sheet.macroenabled.main+xml",
        regular: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        macro_extension: "xlsm",
        regular_extension: "xlsx",
        regular_media_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    },
    MainType {
        macro_enabled: "application/vnd.ms-excel.template.macroenabled.main+xml",
        regular: "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
        macro_extension: "xltm",
        regular_extension: "xltx",
        regular_media_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    },
    MainType {
        macro_enabled: "application/vnd.ms-excel.addin.macroenabled.main+xml",
        regular: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        macro_extension: "xlam",
        regular_extension: "xlsx",
        regular_media_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    },
    MainType {
        macro_enabled: "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml",
        regular: "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        macro_extension: "pptm",
        regular_extension: "pptx",
        regular_media_type: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    },
    MainType {
        macro_enabled: "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml",
        regular: "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
        macro_extension: "ppsm",
        regular_extension: "ppsx",
        regular_media_type: "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    },
    MainType {
        macro_enabled: "application/vnd.ms-powerpoint.template.macroenabled.main+xml",
        regular: "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
        macro_extension: "potm",
        regular_extension: "potx",
        regular_media_type: "application/vnd.openxmlformats-officedocument.presentationml.template",
    },
];

/// Returns the entry of [`MAIN_TYPES`] whose macro-enabled or regular type is
/// `content_type` (compared without regard to ASCII case).
pub(crate) fn main_type(content_type: &str) -> Option<&'static MainType> {
    let lower = content_type.trim().to_ascii_lowercase();
    MAIN_TYPES
        .iter()
        .find(|main| main.macro_enabled == lower || main.regular == lower)
}

/// Returns true for a relationship type listed in [`ACTIVE_RELATIONSHIP_TYPES`].
pub(crate) fn is_active_relationship(relationship_type: &str) -> bool {
    ACTIVE_RELATIONSHIP_TYPES
        .iter()
        .any(|active| active.eq_ignore_ascii_case(relationship_type.trim()))
}

/// Returns true for a content type listed in [`ACTIVE_CONTENT_TYPES`].
pub(crate) fn is_active_content_type(content_type: &str) -> bool {
    let lower = content_type.trim().to_ascii_lowercase();
    ACTIVE_CONTENT_TYPES.contains(&lower.as_str())
}

/// Describes an active part by its name, or returns `None` for a name that
/// does not identify active content on its own.
pub(crate) fn describe_by_name(part_key: &str) -> Option<&'static str> {
    let file = part_key.rsplit('/').next().unwrap_or(part_key);
    let in_activex_folder = part_key.split('/').any(|segment| segment == "activex");

    if file == "vbaproject.bin" {
        Some("VBA macro project")
    } else if file.starts_with("vbaprojectsignature") {
        Some("VBA project signature")
    } else if file == "vbadata.xml" {
        Some("VBA project data")
    } else if in_activex_folder {
        Some("ActiveX control")
    } else {
        None
    }
}

/// Describes an active part by its content type.
pub(crate) fn describe_by_content_type(content_type: &str) -> &'static str {
    let lower = content_type.to_ascii_lowercase();
    if lower.contains("activex") {
        "ActiveX control"
    } else if lower.contains("signature") {
        "VBA project signature"
    } else if lower.contains("keymap") {
        "macro key assignments"
    } else if lower.contains("vbadata") {
        "VBA project data"
    } else {
        "VBA macro project"
    }
}
