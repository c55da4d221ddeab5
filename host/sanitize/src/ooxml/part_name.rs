//! Part names of an Open Packaging Conventions (OPC) package and the ZIP
//! entry names that carry them.
//!
//! OPC compares part names without regard to ASCII case, so every lookup goes
//! through [`key`]. Entry names in the archive have no leading slash, while
//! part names in `[Content_Types].xml` and absolute relationship targets do.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// Returns the comparison key of a part or entry name: no leading slash,
/// ASCII lowercase.
pub(crate) fn key(name: &str) -> String {
    name.trim_start_matches('/').to_ascii_lowercase()
}

/// Returns true when `name` is safe as a ZIP entry name: relative, with no
/// empty, `.` or `..` segment (a trailing `/` of a folder entry excepted), no
/// backslash, no control character and no drive letter.
pub(crate) fn is_safe_entry_name(name: &str) -> bool {
    let trimmed = name.strip_suffix('/').unwrap_or(name);

    let has_bad_character = name.chars().any(|c| c == '\\' || c.is_control());
    let has_drive = name.as_bytes().get(1) == Some(&b':');
    let has_bad_segment = trimmed
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..");

    !name.is_empty() && !has_bad_character && !has_drive && !has_bad_segment
}

/// Returns the name of the part whose relationships a `.rels` entry holds:
/// `word/_rels/document.xml.rels` → `word/document.xml`, and `_rels/.rels` →
/// the empty name of the package itself. Returns `None` for an entry that is
/// not a relationships part.
pub(crate) fn rels_source(rels_name: &str) -> Option<String> {
    let (folder, file) = match rels_name.rsplit_once('/') {
        Some((folder, file)) => (folder, file),
        None => return None,
    };
    let source_file = file
        .strip_suffix(".rels")
        .or_else(|| strip_suffix_ignore_case(file, ".rels"))?;

    let parent = if folder.eq_ignore_ascii_case("_rels") {
        ""
    } else {
        let (parent, rels_folder) = folder.rsplit_once('/')?;
        if !rels_folder.eq_ignore_ascii_case("_rels") {
            return None;
        }
        parent
    };

    Some(join(parent, source_file))
}

/// Returns the relationships entry name of a part:
/// `word/vbaProject.bin` → `word/_rels/vbaProject.bin.rels`.
pub(crate) fn rels_of(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((folder, file)) => format!("{folder}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// Resolves a relationship target against the source part of the
/// relationship and returns the target's key, or `None` when the target
/// leaves the package root.
///
/// A fragment (`#...`) is dropped and `%XX` escapes are decoded; a target
/// whose escapes do not decode to UTF-8 is used as written.
pub(crate) fn resolve_target(source: &str, target: &str) -> Option<String> {
    let target = target.split('#').next().unwrap_or_default();
    let target = percent_decode_str(target)
        .decode_utf8()
        .unwrap_or(Cow::Borrowed(target));

    let mut segments: Vec<&str> = Vec::new();
    if !target.starts_with('/')
        && let Some((folder, _)) = source.rsplit_once('/')
    {
        segments.extend(folder.split('/'));
    }

    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }

    Some(key(&segments.join("/")))
}

/// Returns the lowercased extension of a part name, without the dot.
pub(crate) fn extension(part: &str) -> Option<String> {
    let file = part.rsplit('/').next().unwrap_or(part);
    file.rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
}

fn join(folder: &str, file: &str) -> String {
    if folder.is_empty() {
        file.to_string()
    } else {
        format!("{folder}/{file}")
    }
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split = text.len().checked_sub(suffix.len())?;
    let (head, tail) = (text.get(..split)?, text.get(split..)?);
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rels_source_of_nested_and_root() {
        assert_eq!(
            rels_source("word/_rels/document.xml.rels").as_deref(),
            Some("word/document.xml")
        );
        assert_eq!(rels_source("_rels/.rels").as_deref(), Some(""));
        assert_eq!(rels_source("word/document.xml"), None);
        assert_eq!(rels_source("word/other/x.rels"), None);
    }

    #[test]
    fn rels_of_part() {
        assert_eq!(
            rels_of("word/vbaProject.bin"),
            "word/_rels/vbaProject.bin.rels"
        );
    }

    #[test]
    fn target_resolution() {
        assert_eq!(
            resolve_target("word/document.xml", "vbaProject.bin").as_deref(),
            Some("word/vbaproject.bin")
        );
        assert_eq!(
            resolve_target("", "word/document.xml").as_deref(),
            Some("word/document.xml")
        );
        assert_eq!(
            resolve_target("xl/worksheets/sheet1.xml", "../activeX/a%201.xml").as_deref(),
            Some("xl/activex/a 1.xml")
        );
        assert_eq!(
            resolve_target("word/document.xml", "/word/x.bin#frag").as_deref(),
            Some("word/x.bin")
        );
        assert_eq!(resolve_target("document.xml", "../../x"), None);
    }

    #[test]
    fn unsafe_entry_names() {
        for name in [
            "../x",
            "a/../../x",
            "/abs",
            "a\\b",
            "C:x",
            "a//b",
            "",
            "a/./b",
            "a\u{0}b",
        ] {
            assert!(!is_safe_entry_name(name), "{name:?} accepted");
        }
        for name in [
            "[Content_Types].xml",
            "word/",
            "word/_rels/document.xml.rels",
            "_rels/.rels",
        ] {
            assert!(is_safe_entry_name(name), "{name:?} rejected");
        }
    }
}
