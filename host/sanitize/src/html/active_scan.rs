//! A lexical count of active content in HTML text, used to decide whether a
//! document needs sanitizing and to report what the sanitizer took out.
//!
//! The scan reads tags the way a browser's tokenizer roughly does (a tag name
//! after `<`, attributes with quoted or unquoted values). It errs towards
//! counting: markup inside comments or scripts is counted too, which at worst
//! sanitizes a harmless document.

use std::collections::BTreeMap;

/// Attributes whose value is a URL that a browser loads or follows.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "lowsrc",
    "dynsrc",
    "data",
    "poster",
    "xlink:href",
    "codebase",
    "cite",
    "longdesc",
    "usemap",
    "srcset",
];

/// URL schemes that run script or embed content of any type.
const ACTIVE_SCHEMES: &[&str] = &["javascript:", "vbscript:", "livescript:", "data:"];

/// Counts of active constructs by description, such as `"script element"`.
pub(crate) type ActiveCounts = BTreeMap<&'static str, usize>;

/// Counts the active constructs in `html`.
pub(crate) fn count_active(html: &str) -> ActiveCounts {
    let lower = html.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut counts = ActiveCounts::new();
    let mut index = 0;

    while let Some(offset) = bytes[index..].iter().position(|byte| *byte == b'<') {
        index += offset + 1;
        let name_end = index
            + bytes[index..]
                .iter()
                .take_while(|byte| is_name_byte(**byte))
                .count();
        if name_end == index || !bytes[index].is_ascii_alphabetic() {
            continue;
        }
        let name = &lower[index..name_end];
        let (attributes, tag_end) = read_attributes(&lower, name_end);
        index = tag_end;

        if let Some(description) = describe_element(name, &attributes) {
            *counts.entry(description).or_default() += 1;
        }
        for (attribute, value) in &attributes {
            if let Some(description) = describe_attribute(attribute, value) {
                *counts.entry(description).or_default() += 1;
            }
        }
    }

    counts
}

fn describe_element(name: &str, attributes: &[(String, String)]) -> Option<&'static str> {
    let refresh = || {
        attributes
            .iter()
            .any(|(attribute, value)| attribute == "http-equiv" && value.trim() == "refresh")
    };
    match name {
        "script" => Some("script element"),
        "iframe" | "frame" | "frameset" => Some("frame"),
        "object" | "embed" | "applet" => Some("embedded object"),
        "form" | "input" | "button" | "select" | "textarea" => Some("form element"),
        "style" | "link" => Some("style sheet or linked resource"),
        "base" => Some("base URL"),
        "svg" | "math" => Some("SVG or MathML element"),
        "meta" if refresh() => Some("meta refresh"),
        _ => None,
    }
}

fn describe_attribute(attribute: &str, value: &str) -> Option<&'static str> {
    if attribute.starts_with("on") && attribute.len() > 2 {
        return Some("event handler attribute");
    }
    if !URL_ATTRIBUTES.contains(&attribute) {
        return None;
    }

    let url: String = decode_references(value)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    match ACTIVE_SCHEMES
        .iter()
        .find(|scheme| url.starts_with(*scheme))
    {
        Some(&"data:") => Some("data: URL"),
        Some(_) => Some("script URL"),
        None => None,
    }
}

/// Reads the attributes of a tag from `start` (just after its name) and
/// returns them with the index after the tag's `>`.
fn read_attributes(lower: &str, start: usize) -> (Vec<(String, String)>, usize) {
    let bytes = lower.as_bytes();
    let mut attributes = Vec::new();
    let mut index = start;

    loop {
        while index < bytes.len() && (bytes[index].is_ascii_whitespace() || bytes[index] == b'/') {
            index += 1;
        }
        if index >= bytes.len() {
            return (attributes, index);
        }
        if bytes[index] == b'>' {
            return (attributes, index + 1);
        }

        let name_start = index;
        while index < bytes.len() && !b" \t\r\n\x0c/>=".contains(&bytes[index]) {
            index += 1;
        }
        let name = lower[name_start..index].to_string();
        while index < bytes.len() && bytes[index].is_ascii_whitespace() {
            index += 1;
        }

        let mut value = String::new();
        if index < bytes.len() && bytes[index] == b'=' {
            index += 1;
            while index < bytes.len() && bytes[index].is_ascii_whitespace() {
                index += 1;
            }
            let (value_start, value_end, next) = match bytes.get(index) {
                Some(quote @ (b'"' | b'\'')) => {
                    let end = bytes[index + 1..]
                        .iter()
                        .position(|byte| byte == quote)
                        .map_or(bytes.len(), |p| index + 1 + p);
                    (index + 1, end, (end + 1).min(bytes.len()))
                }
                _ => {
                    let end = index
                        + bytes[index..]
                            .iter()
                            .take_while(|byte| !byte.is_ascii_whitespace() && **byte != b'>')
                            .count();
                    (index, end, end)
                }
            };
            value = lower[value_start..value_end].to_string();
            index = next;
        }

        attributes.push((name, value));
    }
}

/// Decodes numeric character references and the named ones that browsers
/// accept inside a URL scheme (`&colon;`, `&tab;`, `&newline;`).
fn decode_references(value: &str) -> String {
    let mut decoded = String::with_capacity(value.len());
    let mut rest = value;

    while let Some(position) = rest.find('&') {
        decoded.push_str(&rest[..position]);
        rest = &rest[position + 1..];

        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '#')
            .unwrap_or(rest.len());
        let reference = &rest[..end];
        let character = match reference {
            "colon" => Some(':'),
            "tab" => Some('\t'),
            "newline" => Some('\n'),
            _ => reference.strip_prefix('#').and_then(|number| {
                let code = match number.strip_prefix('x') {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => number.parse().ok(),
                };
                code.and_then(char::from_u32)
            }),
        };

        match character {
            Some(character) => {
                decoded.push(character);
                rest = rest[end..].strip_prefix(';').unwrap_or(&rest[end..]);
            }
            None => decoded.push('&'),
        }
    }
    decoded.push_str(rest);

    decoded
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_scripts_handlers_urls() {
        let html = r#"<p onclick="x()">a</p><SCRIPT>alert(1)</script><a href=" jav&#x61;script:alert(1)">x</a><img src=data:image/png;base64,AA>"#;
        let counts = count_active(html);
        assert_eq!(counts.get("event handler attribute"), Some(&1));
        assert_eq!(counts.get("script element"), Some(&1));
        assert_eq!(counts.get("script URL"), Some(&1));
        assert_eq!(counts.get("data: URL"), Some(&1));
    }

    #[test]
    fn entity_colon_counts() {
        let counts = count_active(r#"<a href="javascript&colon;x">y</a>"#);
        assert_eq!(counts.get("script URL"), Some(&1));
    }

    #[test]
    fn ordinary_markup_not_counted() {
        let html = r#"<table border=1><tr><td><a href="https://example.com/">x</a><img src="a.png" alt="on"></td></tr></table> a < b"#;
        assert!(count_active(html).is_empty());
    }

    #[test]
    fn meta_refresh_counted() {
        let counts =
            count_active(r#"<meta http-equiv="Refresh" content="0;url=https://example.com">"#);
        assert_eq!(counts.get("meta refresh"), Some(&1));
    }
}
