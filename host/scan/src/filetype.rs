//! File types recognised from magic bytes, and the check of a declared media
//! type against them.
//!
//! Only a few well-known signatures are recognised, and only a clear
//! contradiction counts as a mismatch: content of one recognised kind declared
//! as a type that implies another recognised kind. Content without a
//! recognised signature, text types, and types without a well-known signature
//! never mismatch. Images declared as another image format are not flagged
//! either, because mail clients often mislabel them and the content is harmless.

/// A file type recognised from the first bytes of the content.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    Pdf,
    Png,
    Jpeg,
    Gif,
    /// A ZIP archive, which includes Office Open XML, OpenDocument, JAR and EPUB files.
    Zip,
    /// A Windows PE executable or DLL (an `MZ` header that points to a `PE` header).
    WindowsExecutable,
    /// An ELF executable, shared object or core file.
    Elf,
    /// A Mach-O executable or library, including universal (fat) binaries.
    MachO,
}

/// Groups of kinds within which a declared type and the content may differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Pdf,
    Image,
    Zip,
    Executable,
}

impl ContentKind {
    /// Recognises the kind of `content` from its magic bytes.
    ///
    /// Returns `None` for content without one of the recognised signatures.
    pub fn detect(content: &[u8]) -> Option<Self> {
        let starts = |magic: &[u8]| content.starts_with(magic);

        if starts(b"%PDF-") {
            Some(ContentKind::Pdf)
        } else if starts(b"\x89PNG\r\n\x1a\n") {
            Some(ContentKind::Png)
        } else if starts(b"\xff\xd8\xff") {
            Some(ContentKind::Jpeg)
        } else if starts(b"GIF87a") || starts(b"GIF89a") {
            Some(ContentKind::Gif)
        } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
            Some(ContentKind::Zip)
        } else if is_windows_executable(content) {
            Some(ContentKind::WindowsExecutable)
        } else if starts(b"\x7fELF") {
            Some(ContentKind::Elf)
        } else if is_mach_o(content) {
            Some(ContentKind::MachO)
        } else {
            None
        }
    }

    /// Returns true for native executables and libraries.
    pub fn is_executable(self) -> bool {
        self.family() == Family::Executable
    }

    /// Returns a noun phrase with its article, such as "a PDF document", for
    /// verdict reasons.
    pub fn description(self) -> &'static str {
        match self {
            ContentKind::Pdf => "a PDF document",
            ContentKind::Png => "a PNG image",
            ContentKind::Jpeg => "a JPEG image",
            ContentKind::Gif => "a GIF image",
            ContentKind::Zip => "a ZIP archive",
            ContentKind::WindowsExecutable => "an executable (Windows PE)",
            ContentKind::Elf => "an executable (ELF)",
            ContentKind::MachO => "an executable (Mach-O)",
        }
    }

    fn family(self) -> Family {
        match self {
            ContentKind::Pdf => Family::Pdf,
            ContentKind::Png | ContentKind::Jpeg | ContentKind::Gif => Family::Image,
            ContentKind::Zip => Family::Zip,
            ContentKind::WindowsExecutable | ContentKind::Elf | ContentKind::MachO => {
                Family::Executable
            }
        }
    }
}

/// Returns true when the content's kind contradicts the declared media type.
///
/// `declared_type` may carry parameters (`application/pdf; name=x.pdf`) and
/// is compared without regard to case.
pub(crate) fn contradicts(declared_type: &str, kind: ContentKind) -> bool {
    match declared_family(declared_type) {
        Some(expected) => expected != kind.family(),
        None => false,
    }
}

/// Returns the family that a declared media type implies, for the types with
/// a well-known signature.
fn declared_family(declared_type: &str) -> Option<Family> {
    let essence = declared_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();

    match essence.as_str() {
        "application/pdf" | "application/x-pdf" => Some(Family::Pdf),
        "image/png" | "image/jpeg" | "image/jpg" | "image/pjpeg" | "image/gif" => {
            Some(Family::Image)
        }
        "application/zip"
        | "application/x-zip-compressed"
        | "application/java-archive"
        | "application/epub+zip" => Some(Family::Zip),
        _ if essence.starts_with("application/vnd.openxmlformats-officedocument.")
            || essence.starts_with("application/vnd.oasis.opendocument.") =>
        {
            Some(Family::Zip)
        }
        _ => None,
    }
}

/// Checks for an `MZ` header whose `e_lfanew` field (offset 0x3C, little
/// endian) points to the `PE\0\0` signature. A bare `MZ` prefix is not enough,
/// because text can start with those two letters.
fn is_windows_executable(content: &[u8]) -> bool {
    if !content.starts_with(b"MZ") || content.len() < 0x40 {
        return false;
    }

    let offset_bytes: [u8; 4] = content[0x3c..0x40].try_into().unwrap_or_default();
    let Ok(pe_offset) = usize::try_from(u32::from_le_bytes(offset_bytes)) else {
        return false;
    };

    content
        .get(pe_offset..)
        .is_some_and(|rest| rest.starts_with(b"PE\0\0"))
}

/// Checks for the 32- and 64-bit Mach-O magic numbers in either byte order,
/// and for universal binaries.
///
/// Universal binaries share the magic `CAFEBABE` with Java class files. They
/// are distinguished by the next big-endian 32-bit field: a universal binary's
/// architecture count is small, while a class file has its major version
/// there, which is 45 or more.
fn is_mach_o(content: &[u8]) -> bool {
    const THIN_MAGICS: [&[u8]; 4] = [
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
    ];
    if THIN_MAGICS.iter().any(|magic| content.starts_with(magic)) {
        return true;
    }

    let is_universal =
        content.starts_with(b"\xca\xfe\xba\xbe") || content.starts_with(b"\xca\xfe\xba\xbf");
    if !is_universal || content.len() < 8 {
        return false;
    }
    let architecture_count = u32::from_be_bytes([content[4], content[5], content[6], content[7]]);
    (1..45).contains(&architecture_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a minimal PE file: an `MZ` header whose `e_lfanew` points at offset 0x40.
    fn pe_file() -> Vec<u8> {
        let mut content = vec![0u8; 0x48];
        content[..2].copy_from_slice(b"MZ");
        content[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        content[0x40..0x44].copy_from_slice(b"PE\0\0");
        content
    }

    #[test]
    fn detect_cases() {
        let mut bad_pe_offset = pe_file();
        bad_pe_offset[0x3c..0x40].copy_from_slice(&0xffff_fff0u32.to_le_bytes());

        let cases: Vec<(&str, Vec<u8>, Option<ContentKind>)> = vec![
            ("pdf", b"%PDF-1.7\n...".to_vec(), Some(ContentKind::Pdf)),
            (
                "png",
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
                Some(ContentKind::Png),
            ),
            (
                "jpeg",
                b"\xff\xd8\xff\xe0\0\x10JFIF".to_vec(),
                Some(ContentKind::Jpeg),
            ),
            ("gif87a", b"GIF87a..".to_vec(), Some(ContentKind::Gif)),
            ("gif89a", b"GIF89a..".to_vec(), Some(ContentKind::Gif)),
            ("zip", b"PK\x03\x04\x14\0".to_vec(), Some(ContentKind::Zip)),
            (
                "empty zip",
                b"PK\x05\x06\0\0".to_vec(),
                Some(ContentKind::Zip),
            ),
            ("pe", pe_file(), Some(ContentKind::WindowsExecutable)),
            (
                "elf",
                b"\x7fELF\x02\x01\x01".to_vec(),
                Some(ContentKind::Elf),
            ),
            (
                "mach-o 64 le",
                b"\xcf\xfa\xed\xfe\x07\0\0\x01".to_vec(),
                Some(ContentKind::MachO),
            ),
            (
                "mach-o 32 be",
                b"\xfe\xed\xfa\xce\0\0\0\x07".to_vec(),
                Some(ContentKind::MachO),
            ),
            (
                "universal",
                b"\xca\xfe\xba\xbe\0\0\0\x02".to_vec(),
                Some(ContentKind::MachO),
            ),
            ("java class", b"\xca\xfe\xba\xbe\0\0\0\x34".to_vec(), None),
            (
                "text starting with MZ",
                b"MZ is a text file, not a program".to_vec(),
                None,
            ),
            ("MZ with bad PE offset", bad_pe_offset, None),
            ("plain text", b"Hello".to_vec(), None),
            ("pdf marker later", b"junk %PDF-1.4".to_vec(), None),
            ("empty", Vec::new(), None),
        ];

        for (name, content, expected) in cases {
            assert_eq!(ContentKind::detect(&content), expected, "case {name}");
        }
    }

    #[test]
    fn contradicts_cases() {
        use ContentKind::*;

        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        let cases = [
            ("application/pdf", Pdf, false),
            ("Application/PDF; name=\"a.pdf\"", Pdf, false),
            ("application/pdf", Zip, true),
            ("application/pdf", WindowsExecutable, true),
            ("application/pdf", Png, true),
            ("image/png", Jpeg, false),
            ("image/jpeg", Gif, false),
            ("image/png", Pdf, true),
            ("image/gif", Elf, true),
            (docx, Zip, false),
            (docx, Pdf, true),
            ("application/vnd.oasis.opendocument.text", Zip, false),
            ("application/zip", MachO, true),
            ("application/octet-stream", WindowsExecutable, false),
            ("application/msword", Pdf, false),
            ("text/plain", Pdf, false),
            ("text/html", WindowsExecutable, false),
            ("", Pdf, false),
        ];

        for (declared, kind, expected) in cases {
            assert_eq!(
                contradicts(declared, kind),
                expected,
                "declared {declared}, content {kind:?}"
            );
        }
    }
}
