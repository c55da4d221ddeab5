//! The notice that lists links to uploaded attachments.

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

/// Heading line of the notice.
const HEADING: &str = "Attachments of this message were moved to secure storage:";

/// Renders the notice for a text/plain body, with CR LF line ends.
pub(crate) fn render_text(links: &[Link]) -> String {
    // A blank line, not the "-- " signature delimiter: mail clients hide or
    // drop text after that delimiter when replying.
    let mut text = format!("\r\n\r\n{HEADING}\r\n");
    for link in links {
        text.push_str(&format!("- {} ({}): {}\r\n", one_line(&link.file_name), human_size(link.size), one_line(&link.url)));
    }
    text
}

/// Renders the notice for a text/html body: one `<div>` with a list of links.
pub(crate) fn render_html(links: &[Link]) -> String {
    let mut html = String::from(
        "\r\n<div class=\"mailgate-notice\" style=\"margin-top:1em;padding:0.5em 0.75em;border:1px solid #c8ccd0;\
         background:#f6f8fa;font-family:sans-serif;font-size:90%\">\r\n",
    );
    html.push_str(&format!("<p style=\"margin:0 0 0.25em 0\">{}</p>\r\n<ul style=\"margin:0\">\r\n", escape_html(HEADING)));
    for link in links {
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({})</li>\r\n",
            escape_html(&one_line(&link.url)),
            escape_html(&one_line(&link.file_name)),
            human_size(link.size)
        ));
    }
    html.push_str("</ul>\r\n</div>\r\n");
    html
}

/// Renders the text of a part added when a message has no body to carry the notice.
pub(crate) fn render_placeholder(links: &[Link]) -> String {
    if links.is_empty() {
        "The attachments of this message were removed by the mail gateway.\r\n".to_string()
    } else {
        render_text(links).trim_start().to_string()
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
        let html = render_html(&[link("<script>.pdf")]);
        assert!(html.contains("&lt;script&gt;.pdf"));
        assert!(html.contains("href=\"http://vault.example/vault_rest/file/1?a=1&amp;b=2\""));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn notice_text_lists_every_link() {
        let text = render_text(&[link("a.pdf"), link("b.pdf")]);
        assert!(text.contains("- a.pdf (1.5 KiB): http://vault.example/"));
        assert!(text.contains("- b.pdf (1.5 KiB): http://vault.example/"));
    }

    #[test]
    fn notice_text_strips_line_breaks_from_names() {
        let text = render_text(&[link("a\r\nBcc: x.pdf")]);
        assert!(text.contains("- a  Bcc: x.pdf"));
    }

    #[test]
    fn human_size_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(10 * 1024 * 1024), "10.0 MiB");
    }
}
