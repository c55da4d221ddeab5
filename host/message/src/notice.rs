//! The notice added to a rewritten message: links to uploaded attachments,
//! and the attachments that were withheld, with the reason.

/// One uploaded attachment as shown in the notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// File name as stored in the vault.
    pub file_name: String,
    /// Download URL exactly as the vault returned it.
    pub url: String,
    /// Size of the file in bytes.
    pub size: u64,
}

/// One attachment that was removed and not uploaded, such as a file that a
/// scan blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withheld {
    /// File name from the message.
    pub file_name: String,
    /// Reason for the removal, for the recipient to read.
    pub reason: String,
}

/// Entries of the notice. The notice is added only when a list is not
/// empty.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoticeContent<'a> {
    pub(crate) links: &'a [Link],
    pub(crate) withheld: &'a [Withheld],
}

impl NoticeContent<'_> {
    /// A notice without entries.
    pub(crate) const EMPTY: NoticeContent<'static> = NoticeContent { links: &[], withheld: &[] };

    pub(crate) fn is_empty(&self) -> bool {
        self.links.is_empty() && self.withheld.is_empty()
    }
}

/// Heading line of the list of links.
const HEADING: &str = "Attachments of this message were moved to secure storage:";

/// Heading line of the list of withheld attachments.
const WITHHELD_HEADING: &str = "Attachments of this message were removed:";

/// Renders the notice for a text/plain body, with CR LF line ends.
pub(crate) fn render_text(notice: &NoticeContent<'_>) -> String {
    // A blank line, not the "-- " signature delimiter: mail clients hide or
    // drop text after that delimiter when replying.
    let mut text = String::new();
    if !notice.links.is_empty() {
        text.push_str(&format!("\r\n\r\n{HEADING}\r\n"));
        for link in notice.links {
            text.push_str(&format!("- {} ({}): {}\r\n", one_line(&link.file_name), human_size(link.size), one_line(&link.url)));
        }
    }
    if !notice.withheld.is_empty() {
        text.push_str(&format!("\r\n\r\n{WITHHELD_HEADING}\r\n"));
        for withheld in notice.withheld {
            text.push_str(&format!("- {}: {}\r\n", one_line(&withheld.file_name), one_line(&withheld.reason)));
        }
    }
    text
}

/// Renders the notice for a text/html body: one `<div>` with a list of
/// links and a list of withheld attachments.
pub(crate) fn render_html(notice: &NoticeContent<'_>) -> String {
    let mut html = String::from(
        "\r\n<div class=\"mailgate-notice\" style=\"margin-top:1em;padding:0.5em 0.75em;border:1px solid #c8ccd0;\
         background:#f6f8fa;font-family:sans-serif;font-size:90%\">\r\n",
    );
    if !notice.links.is_empty() {
        html.push_str(&list_start(HEADING));
        for link in notice.links {
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a> ({})</li>\r\n",
                escape_html(&one_line(&link.url)),
                escape_html(&one_line(&link.file_name)),
                human_size(link.size)
            ));
        }
        html.push_str("</ul>\r\n");
    }
    if !notice.withheld.is_empty() {
        html.push_str(&list_start(WITHHELD_HEADING));
        for withheld in notice.withheld {
            html.push_str(&format!(
                "<li>{}: {}</li>\r\n",
                escape_html(&one_line(&withheld.file_name)),
                escape_html(&one_line(&withheld.reason))
            ));
        }
        html.push_str("</ul>\r\n");
    }
    html.push_str("</div>\r\n");
    html
}

fn list_start(heading: &str) -> String {
    format!("<p style=\"margin:0 0 0.25em 0\">{}</p>\r\n<ul style=\"margin:0 0 0.25em 0\">\r\n", escape_html(heading))
}

/// Renders the text of a part added when a message has no body to carry the notice.
pub(crate) fn render_placeholder(notice: &NoticeContent<'_>) -> String {
    if notice.is_empty() {
        "The attachments of this message were removed by the mail gateway.\r\n".to_string()
    } else {
        render_text(notice).trim_start().to_string()
    }
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
        Link { file_name: name.to_string(), url: "http://vault.example/vault_rest/file/1?a=1&b=2".to_string(), size: 1536 }
    }

    #[test]
    fn notice_html_escapes_name_and_url() {
        let html = render_html(&NoticeContent { links: &[link("<script>.pdf")], withheld: &[] });
        assert!(html.contains("&lt;script&gt;.pdf"));
        assert!(html.contains("href=\"http://vault.example/vault_rest/file/1?a=1&amp;b=2\""));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn notice_text_lists_every_link() {
        let text = render_text(&NoticeContent { links: &[link("a.pdf"), link("b.pdf")], withheld: &[] });
        assert!(text.contains("- a.pdf (1.5 KiB): http://vault.example/"));
        assert!(text.contains("- b.pdf (1.5 KiB): http://vault.example/"));
    }

    #[test]
    fn notice_text_strips_line_breaks_from_names() {
        let text = render_text(&NoticeContent { links: &[link("a\r\nBcc: x.pdf")], withheld: &[] });
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
        let withheld = [Withheld { file_name: "<invoice>.exe".to_string(), reason: "blocked by builtin: executable".to_string() }];
        let notice = NoticeContent { links: &[], withheld: &withheld };

        let text = render_text(&notice);
        let html = render_html(&notice);

        assert!(text.contains("Attachments of this message were removed:\r\n- <invoice>.exe: blocked by builtin: executable"), "{text}");
        assert!(!text.contains("secure storage"), "{text}");
        assert!(html.contains("<li>&lt;invoice&gt;.exe: blocked by builtin: executable</li>"), "{html}");
    }
}
