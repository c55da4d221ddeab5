//! Removal of the elements of a part that refer to a removed relationship,
//! such as `<w:control r:id="rId7"/>` for an ActiveX control in Word.
//!
//! NOTE: only the referring element itself is removed. A parent that is left
//! empty (Excel's `<controls>` inside `mc:AlternateContent`) stays; Office
//! opens such files, but they do not validate against the strict schema.

use std::collections::HashSet;

use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use super::active_content::RELATIONSHIP_NAMESPACES;
use super::xml_edit::{Edit, apply, element_span, invalid_xml, next_element};
use crate::SanitizeError;

/// Removes every element of `xml` with an attribute in a relationships
/// namespace whose value is one of `removed_ids`. Returns `None` when no
/// element refers to them.
pub(crate) fn remove_referring_elements(
    part: &str,
    xml: &str,
    removed_ids: &HashSet<String>,
) -> Result<Option<String>, SanitizeError> {
    let mut reader = NsReader::from_str(xml);
    let mut edits = Vec::new();

    while let Some(start) = next_element(part, &mut reader)? {
        let mut refers = false;
        for attribute in start.element.attributes() {
            let attribute = attribute.map_err(|error| invalid_xml(part, error))?;
            let in_relationship_namespace =
                match reader.resolver().resolve_attribute(attribute.key).0 {
                    ResolveResult::Bound(namespace) => RELATIONSHIP_NAMESPACES
                        .iter()
                        .any(|known| *known == namespace.as_ref()),
                    _ => false,
                };
            if in_relationship_namespace {
                let value = attribute
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|error| invalid_xml(part, error))?;
                refers |= removed_ids.contains(value.as_ref());
            }
        }

        if refers {
            edits.push(Edit::remove(element_span(part, &mut reader, &start)?));
        }
    }

    Ok((!edits.is_empty()).then(|| apply(xml, edits)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_control_keeps_rest() {
        let xml = concat!(
            r#"<w:document xmlns:w="w" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
            r#"<w:object><v:shape/><w:control r:id="rId7" w:name="CheckBox1"/></w:object>"#,
            r#"<w:p><w:hyperlink r:id="rId8"><w:t>x</w:t></w:hyperlink></w:p></w:document>"#,
        );
        let ids = HashSet::from(["rId7".to_string()]);

        let output = remove_referring_elements("word/document.xml", xml, &ids)
            .unwrap()
            .unwrap();

        assert!(!output.contains("w:control"));
        assert!(output.contains(r#"<w:object><v:shape/></w:object>"#));
        assert!(output.contains(r#"r:id="rId8""#));
    }

    #[test]
    fn other_namespace_ignored() {
        let xml = r#"<a xmlns:x="other"><b x:id="rId7"/></a>"#;
        let ids = HashSet::from(["rId7".to_string()]);
        assert_eq!(remove_referring_elements("p.xml", xml, &ids).unwrap(), None);
    }
}
