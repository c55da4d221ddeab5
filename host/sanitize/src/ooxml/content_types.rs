//! The `[Content_Types].xml` part: parsing of its `Default` and `Override`
//! entries.

use std::ops::Range;

use quick_xml::NsReader;

use super::part_name::{extension, key};
use super::xml_edit::{attribute, element_span, invalid_xml, next_element};
use crate::SanitizeError;

/// The entry name of the content types part.
pub(crate) const CONTENT_TYPES_PART: &str = "[content_types].xml";

/// One `Default` (by extension) or `Override` (by part name) entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentTypeEntry {
    pub kind: EntryKind,
    pub content_type: String,
    /// Byte range of the whole element in the part's text.
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A `Default` entry, with the lowercased extension.
    Default { extension: String },
    /// An `Override` entry, with the part name's key.
    Override { part: String },
}

/// The parsed content types part.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContentTypes {
    pub entries: Vec<ContentTypeEntry>,
}

impl ContentTypes {
    /// Parses the content types part.
    pub(crate) fn parse(part: &str, xml: &str) -> Result<Self, SanitizeError> {
        let mut reader = NsReader::from_str(xml);
        let mut entries = Vec::new();

        while let Some(start) = next_element(part, &mut reader)? {
            let element = &start.element;
            let kind = match element.local_name().as_ref() {
                "Default" => {
                    attribute(part, element, "Extension")?.map(|extension| EntryKind::Default {
                        extension: extension.to_ascii_lowercase(),
                    })
                }
                "Override" => attribute(part, element, "PartName")?
                    .map(|name| EntryKind::Override { part: key(&name) }),
                _ => continue,
            };
            let span = element_span(part, &mut reader, &start)?;

            let missing = || invalid_xml(part, "a Default or Override entry misses an attribute");
            entries.push(ContentTypeEntry {
                kind: kind.ok_or_else(missing)?,
                content_type: attribute(part, element, "ContentType")?.ok_or_else(missing)?,
                span,
            });
        }

        Ok(ContentTypes { entries })
    }

    /// Returns the content type of a part (by its key): its `Override`, else
    /// the `Default` of its extension.
    pub(crate) fn type_of(&self, part_key: &str) -> Option<&str> {
        let overridden = self
            .entries
            .iter()
            .find(|entry| matches!(&entry.kind, EntryKind::Override { part } if part == part_key));
        let by_extension = || {
            let part_extension = extension(part_key)?;
            self.entries.iter().find(|entry| {
                matches!(&entry.kind, EntryKind::Default { extension } if *extension == part_extension)
            })
        };

        overridden
            .or_else(by_extension)
            .map(|entry| entry.content_type.as_str())
    }

    /// Returns true when the part has an `Override` entry.
    pub(crate) fn has_override(&self, part_key: &str) -> bool {
        self.entries
            .iter()
            .any(|entry| matches!(&entry.kind, EntryKind::Override { part } if part == part_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPES: &str = concat!(
        r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
        r#"<Default Extension="BIN" ContentType="application/vnd.ms-office.vbaProject"/>"#,
        r#"<Default Extension="xml" ContentType="application/xml"/>"#,
        r#"<Override PartName="/word/document.xml" ContentType="main"/>"#,
        r#"</Types>"#,
    );

    #[test]
    fn type_lookup_prefers_override() {
        let types = ContentTypes::parse("[Content_Types].xml", TYPES).unwrap();
        assert_eq!(types.type_of("word/document.xml"), Some("main"));
        assert_eq!(types.type_of("word/other.xml"), Some("application/xml"));
        assert_eq!(
            types.type_of("word/vbaproject.bin"),
            Some("application/vnd.ms-office.vbaProject")
        );
        assert_eq!(types.type_of("word/picture.png"), None);
    }

    #[test]
    fn spans_cover_elements() {
        let types = ContentTypes::parse("[Content_Types].xml", TYPES).unwrap();
        assert_eq!(
            &TYPES[types.entries[1].span.clone()],
            r#"<Default Extension="xml" ContentType="application/xml"/>"#
        );
    }
}
