//! The look of the notice: where it goes in a body, its headings and the
//! style of its HTML box.

/// Position of a notice or a note in a body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoticePosition {
    /// At the start of the text body, and right after the `<body>` tag of
    /// the HTML body (at its start when it has no `<body>` tag).
    Top,
    /// At the end of the text body, and before the last `</body>` tag of the
    /// HTML body (at its end when it has none).
    #[default]
    Bottom,
}

/// Heading of the list of links, by default.
pub const DEFAULT_LINKS_HEADING: &str = "Attachments of this message were moved to secure storage:";

/// Heading of the list of withheld attachments, by default.
pub const DEFAULT_WITHHELD_HEADING: &str = "Attachments of this message were removed:";

/// Text in front of the link of a withheld attachment that the vault keeps,
/// by default.
pub const DEFAULT_WITHHELD_LINK_TEXT: &str = "kept in secure storage; available once a new scan finds it clean";

/// CSS of the HTML notice box and of each note's box, by default.
pub const DEFAULT_HTML_STYLE: &str = "margin-top:1em;padding:0.5em 0.75em;border:1px solid #c8ccd0;\
                                      background:#f6f8fa;font-family:sans-serif;font-size:90%";

/// Texts, position and style of the notice that lists links and withheld
/// attachments.
///
/// The default renders the notice at the bottom of both bodies with the
/// `DEFAULT_*` texts and style of this module. Every text is written into
/// the message with control characters replaced by spaces, and HTML-escaped
/// in the HTML body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeTemplate {
    /// Position of the notice. Default [`NoticePosition::Bottom`]. Notes have
    /// positions of their own.
    pub position: NoticePosition,
    /// Heading line of the list of links.
    pub links_heading: String,
    /// Heading line of the list of withheld attachments.
    pub withheld_heading: String,
    /// Text between a withheld attachment's reason and its vault URL, for a
    /// file that the vault keeps until a rescan finds it clean.
    pub withheld_link_text: String,
    /// CSS for the `style` attribute of the HTML boxes.
    pub html_style: String,
}

impl Default for NoticeTemplate {
    fn default() -> Self {
        NoticeTemplate {
            position: NoticePosition::Bottom,
            links_heading: DEFAULT_LINKS_HEADING.to_string(),
            withheld_heading: DEFAULT_WITHHELD_HEADING.to_string(),
            withheld_link_text: DEFAULT_WITHHELD_LINK_TEXT.to_string(),
            html_style: DEFAULT_HTML_STYLE.to_string(),
        }
    }
}
