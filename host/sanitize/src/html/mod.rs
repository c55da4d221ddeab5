//! HTML attachments: removal of scripts and other active content with
//! `ammonia`, keeping text, formatting, tables, links and images.
//!
//! The document is decoded by its declared or `<meta>` charset (see
//! [`charset`]), cleaned, and written as a UTF-8 document with a
//! `<meta charset="utf-8">`. Whether anything active is present, and what was
//! removed, comes from a lexical count of active constructs before and after
//! cleaning (see [`active_scan`]).
//!
//! Removed: `<script>` and `<style>` with their content, `<link>`, frames,
//! `<object>`, `<embed>`, `<applet>`, `<base>`, `<meta>`, SVG and MathML.
//! Forms and their controls go too, but their text stays. Every event handler
//! attribute is removed, and so is every URL whose scheme is not one of
//! ammonia's default web, mail and telephone schemes, which drops
//! `javascript:`, `vbscript:` and `data:` URLs. Kept: ammonia's default
//! tags plus `<font>`, presentational attributes (`align`, `bgcolor`,
//! `width`, ...) and `style` attributes limited to [`STYLE_PROPERTIES`].
//!
//! NOTE: the output is a fragment wrapped in a new document, so the
//! original `<head>` (title, style sheets) is lost, and inline `data:` images
//! are removed with the other `data:` URLs.

mod active_scan;
mod charset;

use std::collections::HashSet;

use active_scan::count_active;

/// The CSS properties kept in `style` attributes; ammonia drops the others.
/// None of them can load a URL.
pub const STYLE_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "line-height",
    "letter-spacing",
    "white-space",
    "width",
    "height",
    "max-width",
    "min-width",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "display",
    "list-style-type",
];

/// Presentational attributes allowed on every tag, in addition to ammonia's
/// defaults.
const GENERIC_ATTRIBUTES: &[&str] = &[
    "align",
    "bgcolor",
    "border",
    "cellpadding",
    "cellspacing",
    "color",
    "dir",
    "height",
    "valign",
    "width",
    "style",
];

/// Builds the ammonia configuration used for every HTML attachment.
pub(crate) fn cleaner() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["font"])
        .add_tag_attributes("font", ["color", "face", "size"])
        .add_generic_attributes(GENERIC_ATTRIBUTES.iter().copied())
        .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect::<HashSet<_>>());
    builder
}

/// A sanitized HTML document.
#[derive(Debug)]
pub(crate) struct CleanHtml {
    /// The new document, UTF-8.
    pub content: Vec<u8>,
    /// One line for each kind of removed construct, with its count.
    pub removed: Vec<String>,
}

/// Sanitizes an HTML document. Returns `None` when no active content was
/// found, so the original can be kept.
pub(crate) fn sanitize(
    cleaner: &ammonia::Builder<'static>,
    declared_type: &str,
    content: &[u8],
) -> Option<CleanHtml> {
    let (text, encoding) = charset::decode(declared_type, content);

    let before = count_active(&text);
    if before.is_empty() {
        return None;
    }

    let fragment = cleaner.clean(&text).to_string();
    let after = count_active(&fragment);
    let removed = before
        .iter()
        .map(|(description, count)| {
            (
                description,
                count - after.get(description).copied().unwrap_or(0).min(*count),
            )
        })
        .filter(|(_, count)| *count > 0)
        .map(|(description, count)| {
            format!("{count} {description}{}", if count == 1 { "" } else { "s" })
        })
        .collect();
    if !after.is_empty() {
        tracing::warn!(remaining = ?after, "active HTML constructs counted after cleaning");
    }
    tracing::debug!(encoding = encoding.name(), "sanitized HTML attachment");

    let document = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{fragment}\n</body></html>\n"
    );
    Some(CleanHtml {
        content: document.into_bytes(),
        removed,
    })
}
