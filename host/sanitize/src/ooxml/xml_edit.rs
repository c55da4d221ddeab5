//! Byte-range edits of XML text, so that everything outside an edited
//! element stays exactly as it was.

use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{NsReader, XmlVersion};

use crate::SanitizeError;

/// A replacement of one byte range of the original text; an empty
/// replacement removes the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub span: Range<usize>,
    pub replacement: String,
}

impl Edit {
    pub(crate) fn remove(span: Range<usize>) -> Self {
        Edit {
            span,
            replacement: String::new(),
        }
    }
}

/// Applies edits with non-overlapping spans, in any order, to `text`.
pub(crate) fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|edit| edit.span.start);

    let mut output = String::with_capacity(text.len());
    let mut position = 0;
    for edit in edits {
        output.push_str(&text[position..edit.span.start]);
        output.push_str(&edit.replacement);
        position = edit.span.end;
    }
    output.push_str(&text[position..]);

    output
}

/// Decodes an XML part as UTF-8 and drops a leading byte order mark.
///
/// The reader does not count a byte order mark in its positions, so spans
/// index the text without it. A rewritten part therefore has no byte order
/// mark, which leaves it valid because UTF-8 is the default XML encoding.
pub(crate) fn decode_utf8<'a>(part: &str, bytes: &'a [u8]) -> Result<&'a str, SanitizeError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| invalid_xml(part, "not UTF-8 (UTF-16 parts are not supported)"))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Returns the error for a part that is not acceptable XML.
pub(crate) fn invalid_xml(part: &str, cause: impl ToString) -> SanitizeError {
    SanitizeError::InvalidXml {
        part: part.to_string(),
        cause: cause.to_string(),
    }
}

/// A start tag or empty element read from a part.
pub(crate) struct ElementStart<'a> {
    pub element: BytesStart<'a>,
    /// False for an empty element (`<a/>`).
    pub has_content: bool,
    /// Byte offset of the element's `<`.
    pub start: usize,
}

/// Reads up to the next start tag or empty element. Returns `None` at the end
/// of the text.
///
/// A document type declaration is an error, because Open Packaging
/// Conventions forbid it in package parts (and it could define entities).
pub(crate) fn next_element<'a>(
    part: &str,
    reader: &mut NsReader<&'a [u8]>,
) -> Result<Option<ElementStart<'a>>, SanitizeError> {
    loop {
        let start = position(reader.buffer_position());
        let event = reader
            .read_event()
            .map_err(|error| invalid_xml(part, error))?;

        match event {
            Event::Eof => return Ok(None),
            Event::DocType(_) => {
                return Err(invalid_xml(
                    part,
                    "document type declarations are not allowed",
                ));
            }
            Event::Start(element) => {
                return Ok(Some(ElementStart {
                    element,
                    has_content: true,
                    start,
                }));
            }
            Event::Empty(element) => {
                return Ok(Some(ElementStart {
                    element,
                    has_content: false,
                    start,
                }));
            }
            _ => {}
        }
    }
}

/// Reads to the end of `element` and returns the byte range of the whole
/// element, end tag included.
pub(crate) fn element_span(
    part: &str,
    reader: &mut NsReader<&[u8]>,
    element: &ElementStart<'_>,
) -> Result<Range<usize>, SanitizeError> {
    if element.has_content {
        reader
            .read_to_end(element.element.name())
            .map_err(|error| invalid_xml(part, error))?;
    }
    Ok(element.start..position(reader.buffer_position()))
}

/// Returns the unescaped value of the attribute with the local name `name`.
pub(crate) fn attribute(
    part: &str,
    element: &BytesStart<'_>,
    name: &str,
) -> Result<Option<String>, SanitizeError> {
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|error| invalid_xml(part, error))?;
        if attribute.key.local_name().as_ref() == name {
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|error| invalid_xml(part, error))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// Converts a reader position to an index into the text.
pub(crate) fn position(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_mark_dropped() {
        let text = decode_utf8("a.xml", "\u{feff}<a/>".as_bytes()).unwrap();
        assert_eq!(text, "<a/>");
    }

    #[test]
    fn apply_edits_out_of_order() {
        let edits = vec![
            Edit {
                span: 6..11,
                replacement: "there".into(),
            },
            Edit::remove(0..1),
        ];
        assert_eq!(apply("hello world", edits), "ello there");
    }
}
