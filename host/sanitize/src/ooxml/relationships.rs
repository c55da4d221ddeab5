//! Relationships parts (`_rels/*.rels`): parsing and removal of single
//! `Relationship` elements.

use std::ops::Range;

use quick_xml::NsReader;

use super::xml_edit::{attribute, element_span, invalid_xml, next_element};
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
    let mut reader = NsReader::from_str(xml);
    let mut relationships = Vec::new();

    while let Some(start) = next_element(part, &mut reader)? {
        if start.element.local_name().as_ref() != "Relationship" {
            continue;
        }
        let span = element_span(part, &mut reader, &start)?;
        let element = &start.element;

        let required = |name: &str, value: Option<String>| {
            value
                .ok_or_else(|| invalid_xml(part, format!("a Relationship has no {name} attribute")))
        };
        let target_mode = attribute(part, element, "TargetMode")?;
        relationships.push(Relationship {
            id: required("Id", attribute(part, element, "Id")?)?,
            relationship_type: required("Type", attribute(part, element, "Type")?)?,
            target: required("Target", attribute(part, element, "Target")?)?,
            external: target_mode.is_some_and(|mode| mode.eq_ignore_ascii_case("External")),
            span,
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
