//! Relationships parts (`_rels/*.rels`): parsing and removal of single
//! `Relationship` elements.

use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::xml_edit::{attribute, invalid_xml, position, reject_doctype};
use crate::SanitizeError;

/// One `Relationship` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relationship {
    pub id: String,
    pub relationship_type: String,
    pub target: String,
    /// True for `TargetMode="External"`, a target outside the package.
    pub external: bool,
    /// Byte range of the whole element in the part's text.
    pub span: Range<usize>,
}

/// Parses the `Relationship` elements of the relationships part `part`.
pub(crate) fn parse(part: &str, xml: &str) -> Result<Vec<Relationship>, SanitizeError> {
    let mut reader = Reader::from_str(xml);
    let mut relationships = Vec::new();

    loop {
        let start = position(reader.buffer_position());
        let event = reader
            .read_event()
            .map_err(|error| invalid_xml(part, error))?;
        reject_doctype(part, &event)?;

        let (element, has_content) = match &event {
            Event::Eof => break,
            Event::Start(element) => (element.clone(), true),
            Event::Empty(element) => (element.clone(), false),
            _ => continue,
        };
        if element.local_name().as_ref() != "Relationship" {
            continue;
        }
        if has_content {
            reader
                .read_to_end(element.name())
                .map_err(|error| invalid_xml(part, error))?;
        }
        let end = position(reader.buffer_position());

        let required = |name: &str, value: Option<String>| {
            value
                .ok_or_else(|| invalid_xml(part, format!("a Relationship has no {name} attribute")))
        };
        let target_mode = attribute(part, &element, "TargetMode")?;
        relationships.push(Relationship {
            id: required("Id", attribute(part, &element, "Id")?)?,
            relationship_type: required("Type", attribute(part, &element, "Type")?)?,
            target: required("Target", attribute(part, &element, "Target")?)?,
            external: target_mode.is_some_and(|mode| mode.eq_ignore_ascii_case("External")),
            span: start..end,
        });
    }

    Ok(relationships)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELS: &str = concat!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
        r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        r#"<Relationship Id="rId1" Type="t/one" Target="a.xml"/>"#,
        r#"<Relationship Id="rId2" Type="t/two" Target="http://example.com/" TargetMode="External"></Relationship>"#,
        r#"</Relationships>"#,
    );

    #[test]
    fn parse_spans_cover_elements() {
        let relationships = parse("_rels/.rels", RELS).unwrap();
        assert_eq!(relationships.len(), 2);
        assert_eq!(
            &RELS[relationships[0].span.clone()],
            r#"<Relationship Id="rId1" Type="t/one" Target="a.xml"/>"#
        );
        assert!(RELS[relationships[1].span.clone()].ends_with("</Relationship>"));
        assert!(!relationships[0].external);
        assert!(relationships[1].external);
    }

    #[test]
    fn parse_rejects_doctype() {
        let xml = r#"<!DOCTYPE x [<!ENTITY a "b">]><Relationships/>"#;
        assert!(parse("_rels/.rels", xml).is_err());
    }

    #[test]
    fn parse_rejects_missing_target() {
        let xml = r#"<Relationships><Relationship Id="a" Type="b"/></Relationships>"#;
        assert!(parse("_rels/.rels", xml).is_err());
    }
}
