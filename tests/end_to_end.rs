//! The whole path over real SMTP: a client sends sample mail to the gateway,
//! the shipped rule moves attachments into the built-in vault, and the
//! rewritten message arrives at an SMTP sink acting as the next hop.

use mail_parser::{MessageParser, MimeHeaders};
use mailgate_tests::{SmtpSink, config, file_rule, sample, send_message, shipped_rule, start_gateway, test_rule, vault_client};
use mailgate_vault::FileId;

/// Download links found in a text.
fn links_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .filter(|word| word.contains("/vault_rest/file/"))
        .map(str::to_string)
        .collect()
}

fn file_id_of(link: &str) -> FileId {
    FileId::from(link.rsplit('/').next().unwrap().to_string())
}

/// Content of the first part of `raw` with this media type, decoded.
fn part_content(raw: &[u8], media_type: &str) -> Option<Vec<u8>> {
    let message = MessageParser::default().parse(raw)?;
    message
        .parts
        .iter()
        .find(|part| {
            part.content_type()
                .is_some_and(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()) == media_type)
        })
        .map(|part| part.contents().to_vec())
}

#[tokio::test]
async fn attachment_moved_to_vault_and_linked() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;
    let original = sample("pdf-with-inline-logo.eml");

    let reply = send_message(gateway.smtp_address(), &original).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let delivered = sink.next_message().await;
    assert_eq!(delivered.mail_from, "alice@example.com");
    assert_eq!(delivered.rcpt_to, vec!["bob@example.org".to_string()]);
    let parsed = MessageParser::default().parse(&delivered.data).unwrap();

    assert!(part_content(&delivered.data, "application/pdf").is_none(), "PDF still attached");
    let logo = part_content(&delivered.data, "image/png").expect("inline logo kept");
    assert_eq!(logo, part_content(&original, "image/png").unwrap(), "inline logo changed");

    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();
    let text_links = links_in(&text);
    let html_links = links_in(&html);
    assert_eq!(text_links.len(), 1, "text body: {text}");
    assert_eq!(html_links.len(), 1, "HTML body: {html}");
    assert_eq!(text_links, html_links);
    assert!(html.contains("cid:logo.7f3a@example.com"), "HTML lost the logo reference");

    let downloaded = reqwest::get(&text_links[0]).await.unwrap();
    assert_eq!(downloaded.status(), 200);
    let bytes = downloaded.bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), part_content(&original, "application/pdf").unwrap().as_slice());

    let status = vault_client(&gateway).file_status(&file_id_of(&text_links[0])).await.unwrap();
    assert_eq!(status.name, "Q3 report.pdf");
    assert_eq!(
        status.path,
        "Email Gateway/2026-09-28/Quarterly report_<alice@example.com>_<3f9c2d1e-7a41-4b8e-9c1d-5e2f8a6b7c90@mail.example.com>"
    );

    gateway.shutdown().await;
}

#[tokio::test]
async fn missing_message_id_same_folder_twice() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;
    let vault = vault_client(&gateway);
    let original = sample("no-message-id.eml");

    let mut folders = Vec::new();
    for _ in 0..2 {
        let reply = send_message(gateway.smtp_address(), &original).await;
        assert_eq!(reply.code, 250, "{reply:?}");

        let delivered = sink.next_message().await;
        let text = MessageParser::default().parse(&delivered.data).unwrap().body_text(0).unwrap().to_string();
        let links = links_in(&text);
        assert_eq!(links.len(), 1, "{text}");
        assert!(text.contains("Caf\u{e9} at 10?"), "original text lost: {text}");

        let status = vault.file_status(&file_id_of(&links[0])).await.unwrap();
        assert_eq!(status.name, "notes.txt");
        folders.push(status.path);
    }

    assert_eq!(folders[0], folders[1]);
    assert!(
        folders[0].starts_with("Email Gateway/2026-09-29/Notes from today_<carol@example.net>_<No Message Id ("),
        "{}",
        folders[0]
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn message_without_attachment_unchanged() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;
    let original = sample("plain-text.eml");

    let reply = send_message(gateway.smtp_address(), &original).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let delivered = sink.next_message().await;
    assert!(delivered.data.starts_with(b"Received: from client.test ([127.0.0.1])\r\n"));
    assert!(delivered.data.ends_with(&original), "message body or headers changed");
    gateway.shutdown().await;
}

#[tokio::test]
async fn no_attachment_rule_uploads_without_link() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("no-attachment")])).await;
    let original = sample("pdf-with-inline-logo.eml");

    let reply = send_message(gateway.smtp_address(), &original).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let delivered = sink.next_message().await;
    assert!(part_content(&delivered.data, "application/pdf").is_none(), "PDF still attached");
    assert!(part_content(&delivered.data, "image/png").is_some(), "inline logo removed");
    let text = MessageParser::default().parse(&delivered.data).unwrap().body_text(0).unwrap().to_string();
    assert!(links_in(&text).is_empty(), "no-attachment must not link: {text}");

    let pdf = part_content(&original, "application/pdf").unwrap();
    let stored: Vec<Vec<u8>> = std::fs::read_dir(data_dir.path().join("vault/files"))
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "bin"))
        .map(|entry| std::fs::read(entry.path()).unwrap())
        .collect();
    assert_eq!(stored, vec![pdf], "the vault holds exactly the removed PDF");
    gateway.shutdown().await;
}

#[tokio::test]
async fn dot_lines_survive_the_round_trip() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;
    let original = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: dots\r\nMessage-ID: <dots@example.com>\r\n\r\n\
.leading dot\r\n..two dots\r\n.\r\nlast\r\n"
        .to_vec();

    let reply = send_message(gateway.smtp_address(), &original).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let delivered = sink.next_message().await;
    assert!(delivered.data.ends_with(&original), "{}", String::from_utf8_lossy(&delivered.data));
    gateway.shutdown().await;
}

#[tokio::test]
async fn long_lines_rewrapped_for_next_hop() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let gateway = start_gateway(config(data_dir.path(), sink.address, vec![shipped_rule("secure-storage")])).await;
    let original = std::fs::read(mailgate_tests::workspace().join("tests/corpus/26-long-lines-and-huge-headers.eml")).unwrap();
    let longest_before = original.split(|byte| *byte == b'\n').map(<[u8]>::len).max().unwrap();
    assert!(longest_before > 1000, "the case must contain a long line");

    let reply = send_message(gateway.smtp_address(), &original).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let delivered = sink.next_message().await;
    let longest_after = delivered.data.split(|byte| *byte == b'\n').map(<[u8]>::len).max().unwrap();
    assert!(longest_after <= 1000, "a line of {longest_after} octets reached the next hop");
    let html = MessageParser::default().parse(&delivered.data).unwrap().body_html(0).unwrap().to_string();
    let original_html = MessageParser::default().parse(&original).unwrap().body_html(0).unwrap().to_string();
    let before_body_end = &original_html[..original_html.find("</body>").expect("the case has a </body>")];
    assert!(html.starts_with(before_body_end), "HTML content changed");
    assert!(html.contains("mailgate-notice"), "notice for the removed PDF missing");
    gateway.shutdown().await;
}

#[tokio::test]
async fn notice_follows_template_and_rule_notices() {
    let data_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let rules = vec![shipped_rule("secure-storage"), file_rule("notices", test_rule("notice"), 1000)];
    let mut settings = config(data_dir.path(), sink.address, rules);
    settings.notice = toml::from_str("position = \"top\"\nlinks_heading = \"Files in the vault:\"").unwrap();
    let gateway = start_gateway(settings).await;

    let reply = send_message(gateway.smtp_address(), &sample("pdf-with-inline-logo.eml")).await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let delivered = sink.next_message().await;
    let parsed = MessageParser::default().parse(&delivered.data).unwrap();
    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();

    let first_lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).take(3).collect();
    assert!(first_lines.contains(&"Files in the vault:"), "links heading not at the top: {text}");
    assert!(first_lines.iter().any(|line| line.contains("Notice from the rule before the scan <b>")), "top notice: {text}");
    let last_line = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap();
    assert!(last_line.contains("Notice from the rule after the scan"), "bottom notice: {text}");

    assert!(html.contains("Notice from the rule before the scan &lt;b&gt;"), "rule text not escaped in HTML: {html}");
    let top = html.find("Files in the vault:").expect("heading in HTML");
    let body_start = html.find("Hi Bob").expect("original HTML body kept");
    assert!(top < body_start, "HTML notice not at the top: {html}");
    gateway.shutdown().await;
}
