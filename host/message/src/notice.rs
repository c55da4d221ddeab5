//! The notice added to a rewritten message: links to uploaded attachments,
//! the attachments that were withheld with the reason, and the notes that
//! rules add, rendered for text/plain and text/html bodies.

use crate::template::{NoticePosition, NoticeTemplate};

/// One uploaded attachment as shown in the notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// File name as stored in the vault.
    pub file_name: String,
    /// Download URL exactly as the vault returned it.
    pub url: String,
    /// Size of the file in bytes.
    pub size: u64,
    /// A short remark shown after the size, such as `original before
    /// sanitization`; `None` for none.
    pub remark: Option<String>,
}

impl Link {
    /// Returns the size and the remark as shown in brackets after the name.
    fn details(&self) -> String {
        match &self.remark {
            Some(remark) => format!("{}, {}", human_size(self.size), one_line(remark)),
            None => human_size(self.size),
        }
    }
}

/// One attachment that was removed and not delivered, such as a file that
/// a scan blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withheld {
    /// File name from the message.
    pub file_name: String,
    /// Reason for the removal, for the recipient to read.
    pub reason: String,
    /// The file in the vault, for a file that was uploaded anyway and becomes
    /// available once a new scan finds it clean. The notice shows its URL
    /// after the reason. `None` when the file was not uploaded.
    pub link: Option<Link>,
}

/// A text that a rule adds to the message, such as a warning about the
/// sender.
///
/// The text/plain body gets it as a paragraph and the text/html body as
/// HTML-escaped text in a box of its own, each at `position`. Line breaks
/// are kept; other control characters become spaces. A note with only
/// white space is left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The plain text.
    pub text: String,
    /// Position of the note in each body.
    pub position: NoticePosition,
}

/// Everything the notice shows. Nothing is added when the lists are empty.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoticeContent<'a> {
    pub(crate) links: &'a [Link],
    pub(crate) withheld: &'a [Withheld],
    pub(crate) notes: &'a [Note],
    pub(crate) template: &'a NoticeTemplate,
}

impl NoticeContent<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        self.links.is_empty() && self.withheld.is_empty() && self.visible_notes(None).next().is_none()
    }

    /// Notes with text, at `position` or at every position for `None`.
    fn visible_notes(&self, position: Option<NoticePosition>) -> impl Iterator<Item = &Note> {
        self.notes
            .iter()
            .filter(move |note| position.is_none_or(|position| note.position == position))
            .filter(|note| !note.text.trim().is_empty())
    }

    fn has_lists_at(&self, position: NoticePosition) -> bool {
        self.template.position == position && !(self.links.is_empty() && self.withheld.is_empty())
    }
}

/// Renders the text blocks at `position`, in order: the list of links and
/// the list of withheld attachments when the notice goes there, then the
/// notes. Each block ends with CR LF and has no blank line around it.
fn text_blocks(notice: &NoticeContent<'_>, position: NoticePosition) -> Vec<String> {
    let template = notice.template;
    let mut blocks = Vec::new();

    if notice.template.position == position {
        if !notice.links.is_empty() {
            let mut block = format!("{}\r\n", one_line(&template.links_heading));
            for link in notice.links {
                block.push_str(&format!("- {} ({}): {}\r\n", one_line(&link.file_name), link.details(), one_line(&link.url)));
            }
            blocks.push(block);
        }
        if !notice.withheld.is_empty() {
            let mut block = format!("{}\r\n", one_line(&template.withheld_heading));
            for withheld in notice.withheld {
                block.push_str(&format!("- {}: {}", one_line(&withheld.file_name), one_line(&withheld.reason)));
                if let Some(link) = &withheld.link {
                    block.push_str(&format!("; {}: {}", one_line(&template.withheld_link_text), one_line(&link.url)));
                }
                block.push_str("\r\n");
            }
            blocks.push(block);
        }
    }
    for note in notice.visible_notes(Some(position)) {
        blocks.push(note_lines(&note.text).iter().map(|line| format!("{line}\r\n")).collect());
    }
    blocks
}

/// Renders what goes at `position` of a text/plain body, with CR LF line
/// ends: at the top each block is followed by a blank line, at the bottom
/// each is preceded by one. Empty when nothing goes there.
pub(crate) fn render_text(notice: &NoticeContent<'_>, position: NoticePosition) -> String {
    // A blank line, not the "-- " signature delimiter: mail clients hide or
    // drop text after that delimiter when replying.
    let blocks = text_blocks(notice, position);
    match position {
        NoticePosition::Top => blocks.iter().map(|block| format!("{block}\r\n")).collect(),
        NoticePosition::Bottom => blocks.iter().map(|block| format!("\r\n\r\n{block}")).collect(),
    }
}

/// Renders what goes at `position` of a text/html body: the notice as one
/// `<div>` with a list of links and a list of withheld attachments, and
/// each note in a `<div>` of its own. Empty when nothing goes there.
pub(crate) fn render_html(notice: &NoticeContent<'_>, position: NoticePosition) -> String {
    let style = escape_html(&one_line(&notice.template.html_style));
    let mut html = String::new();

    if notice.has_lists_at(position) {
        html.push_str(&format!("\r\n<div class=\"mailgate-notice\" style=\"{style}\">\r\n"));
        html.push_str(&html_lists(notice));
        html.push_str("</div>\r\n");
    }
    for note in notice.visible_notes(Some(position)) {
        let lines: Vec<String> = note_lines(&note.text).iter().map(|line| escape_html(line)).collect();
        html.push_str(&format!(
            "\r\n<div class=\"mailgate-note\" style=\"{style}\">\r\n<p style=\"margin:0\">{}</p>\r\n</div>\r\n",
            lines.join("<br>\r\n")
        ));
    }
    html
}

fn html_lists(notice: &NoticeContent<'_>) -> String {
    let template = notice.template;
    let mut html = String::new();

    if !notice.links.is_empty() {
        html.push_str(&list_start(&template.links_heading));
        for link in notice.links {
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a> ({})</li>\r\n",
                escape_html(&one_line(&link.url)),
                escape_html(&one_line(&link.file_name)),
                escape_html(&link.details())
            ));
        }
        html.push_str("</ul>\r\n");
    }
    if !notice.withheld.is_empty() {
        html.push_str(&list_start(&template.withheld_heading));
        for withheld in notice.withheld {
            html.push_str(&format!(
                "<li>{}: {}",
                escape_html(&one_line(&withheld.file_name)),
                escape_html(&one_line(&withheld.reason))
            ));
            if let Some(link) = &withheld.link {
                let url = escape_html(&one_line(&link.url));
                html.push_str(&format!("; {}: <a href=\"{url}\">{url}</a>", escape_html(&one_line(&template.withheld_link_text))));
            }
            html.push_str("</li>\r\n");
        }
        html.push_str("</ul>\r\n");
    }
    html
}

fn list_start(heading: &str) -> String {
    format!("<p style=\"margin:0 0 0.25em 0\">{}</p>\r\n<ul style=\"margin:0 0 0.25em 0\">\r\n", escape_html(&one_line(heading)))
}

/// Renders the text of a part added when a message has no body to carry the
/// notice: every block, top ones first, separated by blank lines.
pub(crate) fn render_placeholder(notice: &NoticeContent<'_>) -> String {
    if notice.is_empty() {
        return removed_sentence();
    }
    let mut blocks = text_blocks(notice, NoticePosition::Top);
    blocks.extend(text_blocks(notice, NoticePosition::Bottom));
    blocks.join("\r\n")
}

/// Renders the text of a part that replaces removed attachments when the
/// notice is already elsewhere.
pub(crate) fn removed_sentence() -> String {
    "The attachments of this message were removed by the mail gateway.\r\n".to_string()
}

/// Splits a note into lines with control characters replaced by spaces and
/// trailing white space removed; leading and trailing empty lines go.
fn note_lines(text: &str) -> Vec<String> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<String> = normalized.split('\n').map(|line| one_line(line).trim_end().to_string()).collect();
    let first = lines.iter().position(|line| !line.is_empty()).unwrap_or(lines.len());
    let last = lines.iter().rposition(|line| !line.is_empty()).map_or(first, |index| index + 1);
    lines[first..last].to_vec()
}

fn one_line(value: &str) -> String {
    value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn escape_html(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Size with a binary unit, e.g. `512 B`, `1.5 KiB`, `12.0 MiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str) -> Link {
        Link { file_name: name.to_string(), url: "http://vault.example/vault_rest/file/1?a=1&b=2".to_string(), size: 1536, remark: None }
    }

    fn content<'a>(links: &'a [Link], withheld: &'a [Withheld], notes: &'a [Note], template: &'a NoticeTemplate) -> NoticeContent<'a> {
        NoticeContent { links, withheld, notes, template }
    }

    fn note(text: &str, position: NoticePosition) -> Note {
        Note { text: text.to_string(), position }
    }

    #[test]
    fn notice_html_escapes_name_and_url() {
        let template = NoticeTemplate::default();
        let html = render_html(&content(&[link("<script>.pdf")], &[], &[], &template), NoticePosition::Bottom);
        assert!(html.contains("&lt;script&gt;.pdf"));
        assert!(html.contains("href=\"http://vault.example/vault_rest/file/1?a=1&amp;b=2\""));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn notice_text_lists_every_link() {
        let template = NoticeTemplate::default();
        let text = render_text(&content(&[link("a.pdf"), link("b.pdf")], &[], &[], &template), NoticePosition::Bottom);
        assert!(text.contains("- a.pdf (1.5 KiB): http://vault.example/"));
        assert!(text.contains("- b.pdf (1.5 KiB): http://vault.example/"));
    }

    #[test]
    fn notice_text_strips_line_breaks_from_names() {
        let template = NoticeTemplate::default();
        let text = render_text(&content(&[link("a\r\nBcc: x.pdf")], &[], &[], &template), NoticePosition::Bottom);
        assert!(text.contains("- a  Bcc: x.pdf"));
    }

    #[test]
    fn human_size_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(10 * 1024 * 1024), "10.0 MiB");
    }

    #[test]
    fn notice_lists_withheld_files_with_reason() {
        let template = NoticeTemplate::default();
        let withheld =
            [Withheld { file_name: "<invoice>.exe".to_string(), reason: "blocked by builtin: executable".to_string(), link: None }];
        let notice = content(&[], &withheld, &[], &template);

        let text = render_text(&notice, NoticePosition::Bottom);
        let html = render_html(&notice, NoticePosition::Bottom);

        assert!(text.contains("Attachments of this message were removed:\r\n- <invoice>.exe: blocked by builtin: executable"), "{text}");
        assert!(!text.contains("secure storage"), "{text}");
        assert!(html.contains("<li>&lt;invoice&gt;.exe: blocked by builtin: executable</li>"), "{html}");
    }

    #[test]
    fn notice_default_output_unchanged() {
        let template = NoticeTemplate::default();
        let withheld = [Withheld { file_name: "x.exe".to_string(), reason: "blocked".to_string(), link: None }];
        let links = [link("a.pdf")];
        let notice = content(&links, &withheld, &[], &template);

        assert_eq!(
            render_text(&notice, NoticePosition::Bottom),
            "\r\n\r\nAttachments of this message were moved to secure storage:\r\n\
             - a.pdf (1.5 KiB): http://vault.example/vault_rest/file/1?a=1&b=2\r\n\
             \r\n\r\nAttachments of this message were removed:\r\n- x.exe: blocked\r\n"
        );
        assert_eq!(
            render_html(&notice, NoticePosition::Bottom),
            "\r\n<div class=\"mailgate-notice\" style=\"margin-top:1em;padding:0.5em 0.75em;border:1px solid #c8ccd0;\
             background:#f6f8fa;font-family:sans-serif;font-size:90%\">\r\n\
             <p style=\"margin:0 0 0.25em 0\">Attachments of this message were moved to secure storage:</p>\r\n\
             <ul style=\"margin:0 0 0.25em 0\">\r\n\
             <li><a href=\"http://vault.example/vault_rest/file/1?a=1&amp;b=2\">a.pdf</a> (1.5 KiB)</li>\r\n</ul>\r\n\
             <p style=\"margin:0 0 0.25em 0\">Attachments of this message were removed:</p>\r\n\
             <ul style=\"margin:0 0 0.25em 0\">\r\n<li>x.exe: blocked</li>\r\n</ul>\r\n</div>\r\n"
        );
        assert_eq!(render_text(&notice, NoticePosition::Top), "");
        assert_eq!(render_html(&notice, NoticePosition::Top), "");
    }

    #[test]
    fn notice_template_texts_and_position() {
        let template = NoticeTemplate {
            position: NoticePosition::Top,
            links_heading: "Files <here>:".to_string(),
            withheld_heading: "Blocked\r\nfiles:".to_string(),
            withheld_link_text: "held".to_string(),
            html_style: "color:red\" onclick=\"x".to_string(),
        };
        let withheld = [Withheld { file_name: "a.docm".to_string(), reason: "macro".to_string(), link: None }];
        let links = [link("a.pdf")];
        let notice = content(&links, &withheld, &[], &template);

        let text = render_text(&notice, NoticePosition::Top);
        let html = render_html(&notice, NoticePosition::Top);

        assert!(text.starts_with("Files <here>:\r\n- a.pdf"), "{text}");
        assert!(text.contains("\r\n\r\nBlocked  files:\r\n- a.docm: macro\r\n\r\n"), "{text}");
        assert!(html.contains("style=\"color:red&quot; onclick=&quot;x\""), "{html}");
        assert!(html.contains(">Files &lt;here&gt;:</p>"), "{html}");
        assert_eq!(render_text(&notice, NoticePosition::Bottom), "");
        assert_eq!(render_html(&notice, NoticePosition::Bottom), "");
    }

    #[test]
    fn notice_withheld_with_vault_link() {
        let template = NoticeTemplate::default();
        let withheld = [Withheld {
            file_name: "report.docm".to_string(),
            reason: "blocked by the virus scan (macro)".to_string(),
            link: Some(link("report.docm")),
        }];
        let notice = content(&[], &withheld, &[], &template);

        let text = render_text(&notice, NoticePosition::Bottom);
        let html = render_html(&notice, NoticePosition::Bottom);

        assert!(
            text.contains(
                "- report.docm: blocked by the virus scan (macro); kept in secure storage; \
                 available once a new scan finds it clean: http://vault.example/vault_rest/file/1?a=1&b=2\r\n"
            ),
            "{text}"
        );
        assert!(
            html.contains("finds it clean: <a href=\"http://vault.example/vault_rest/file/1?a=1&amp;b=2\">"),
            "{html}"
        );
    }

    #[test]
    fn notes_rendered_at_their_position() {
        let template = NoticeTemplate::default();
        let notes = [
            note("External sender.\nBe careful.", NoticePosition::Top),
            note("Footer <b>text</b>\u{7}", NoticePosition::Bottom),
            note("  \r\n", NoticePosition::Bottom),
        ];
        let notice = content(&[], &[], &notes, &template);

        assert_eq!(render_text(&notice, NoticePosition::Top), "External sender.\r\nBe careful.\r\n\r\n");
        assert_eq!(render_text(&notice, NoticePosition::Bottom), "\r\n\r\nFooter <b>text</b>\r\n");
        let top_html = render_html(&notice, NoticePosition::Top);
        assert!(top_html.contains("<div class=\"mailgate-note\""), "{top_html}");
        assert!(top_html.contains(">External sender.<br>\r\nBe careful.</p>"), "{top_html}");
        let bottom_html = render_html(&notice, NoticePosition::Bottom);
        assert!(bottom_html.contains("Footer &lt;b&gt;text&lt;/b&gt;</p>"), "{bottom_html}");
        assert_eq!(bottom_html.matches("mailgate-note").count(), 1, "the blank note is left out");
    }

    #[test]
    fn notes_only_is_not_empty() {
        let template = NoticeTemplate::default();
        let notes = [note("hi", NoticePosition::Bottom)];
        assert!(!content(&[], &[], &notes, &template).is_empty());
        let blank = [note(" \n ", NoticePosition::Bottom)];
        assert!(content(&[], &[], &blank, &template).is_empty());
    }

    #[test]
    fn placeholder_has_every_block() {
        let template = NoticeTemplate::default();
        let notes = [note("top note", NoticePosition::Top), note("bottom note", NoticePosition::Bottom)];
        let text = render_placeholder(&content(&[link("a.pdf")], &[], &notes, &template));
        assert!(text.starts_with("top note\r\n\r\nAttachments of this message were moved"), "{text}");
        assert!(text.ends_with("\r\n\r\nbottom note\r\n"), "{text}");
    }
}
