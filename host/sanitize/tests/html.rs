//! Sanitizing HTML attachments: active content goes, text, formatting,
//! links and images stay, and the charset is decoded correctly.

use mailgate_sanitize::{Limits, SanitizeError, SanitizeOutcome, SanitizedFile, Sanitizer};

fn sanitized(declared_type: &str, content: &[u8]) -> SanitizedFile {
    match Sanitizer::default().sanitize("page.html", declared_type, content) {
        SanitizeOutcome::Sanitized(file) => file,
        other => panic!("expected Sanitized, got {other:?}"),
    }
}

fn text(file: &SanitizedFile) -> String {
    String::from_utf8(file.content.clone()).expect("output is not UTF-8")
}

const ACTIVE_PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>Invoice</title><script src="https://example.com/x.js"></script></head>
<body onload="steal()">
<h1>Invoice 42</h1>
<p style="color: red; background-image: url(https://example.com/t.png)">Amount <b>due</b>: 100 EUR</p>
<table border="1"><tr><td>Item</td><td>Price</td></tr></table>
<a href="https://example.com/pay">Pay online</a>
<a href="javascript:alert(document.cookie)">Click</a>
<img src="https://example.com/logo.png" alt="Logo" onerror="steal()">
<script>steal();</script>
<iframe src="https://example.com/frame"></iframe>
<object data="x.swf"></object><embed src="y.swf">
<form action="https://example.com/login"><input name="password"><button>Log in</button></form>
</body></html>"#;

#[test]
fn scripts_removed() {
    let output = text(&sanitized("text/html", ACTIVE_PAGE.as_bytes()));
    assert!(!output.to_ascii_lowercase().contains("<script"), "{output}");
    assert!(!output.contains("steal()"), "{output}");
}

#[test]
fn event_handlers_removed() {
    let output = text(&sanitized("text/html", ACTIVE_PAGE.as_bytes()));
    assert!(!output.contains("onload"), "{output}");
    assert!(!output.contains("onerror"), "{output}");
}

#[test]
fn javascript_url_removed() {
    let output = text(&sanitized("text/html", ACTIVE_PAGE.as_bytes()));
    assert!(!output.contains("javascript:"), "{output}");
    assert!(output.contains(">Click</a>"), "{output}");
}

#[test]
fn embedded_content_and_forms_removed() {
    let output = text(&sanitized("text/html", ACTIVE_PAGE.as_bytes()));
    for tag in ["<iframe", "<object", "<embed", "<form", "<input", "<button"] {
        assert!(!output.contains(tag), "{tag} kept: {output}");
    }
    assert!(!output.contains("example.com/login"), "{output}");
}

#[test]
fn text_links_images_kept() {
    let output = text(&sanitized("text/html", ACTIVE_PAGE.as_bytes()));
    assert!(output.contains("Invoice 42"), "{output}");
    assert!(output.contains("<b>due</b>"), "{output}");
    assert!(
        output.contains(r#"href="https://example.com/pay""#),
        "{output}"
    );
    assert!(
        output.contains(r#"src="https://example.com/logo.png""#),
        "{output}"
    );
    assert!(output.contains(r#"alt="Logo""#), "{output}");
    assert!(output.contains("<table"), "{output}");
    assert!(output.contains("<td>Price</td>"), "{output}");
}

#[test]
fn style_limited_to_safe_properties() {
    let output = text(&sanitized("text/html", ACTIVE_PAGE.as_bytes()));
    assert!(output.contains("color"), "{output}");
    assert!(!output.contains("background-image"), "{output}");
}

#[test]
fn output_declares_utf8() {
    let file = sanitized("text/html", ACTIVE_PAGE.as_bytes());
    assert!(text(&file).contains(r#"<meta charset="utf-8">"#));
    assert_eq!(file.content_type, "text/html; charset=utf-8");
    assert_eq!(file.file_name, "page.html");
}

#[test]
fn removed_constructs_reported() {
    let file = sanitized("text/html", ACTIVE_PAGE.as_bytes());
    for expected in [
        "2 script elements",
        "2 event handler attributes",
        "1 script URL",
        "1 frame",
        "2 embedded objects",
        "3 form elements",
    ] {
        assert!(
            file.removed.contains(&expected.to_string()),
            "{expected} missing from {:?}",
            file.removed
        );
    }
}

#[test]
fn windows_1252_meta_decoded() {
    let page = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\"></head>\
<body><p>\x93Caf\xe9\x94 costs 5 \x80</p><script>x()</script></body></html>";

    let output = text(&sanitized("text/html", page));

    assert!(
        output.contains("\u{201c}Caf\u{e9}\u{201d} costs 5 \u{20ac}"),
        "{output}"
    );
}

#[test]
fn declared_charset_decoded() {
    let page = b"<p>Gr\xfc\xdfe</p><a href=\"javascript:x()\">a</a>";
    let output = text(&sanitized("text/html; charset=iso-8859-1", page));
    assert!(output.contains("Gr\u{fc}\u{df}e"), "{output}");
}

#[test]
fn harmless_page_unchanged() {
    let page = br#"<html><body><h1>Hello</h1><p>See <a href="https://example.com/">this</a>.</p><img src="cid:logo"></body></html>"#;
    let outcome = Sanitizer::default().sanitize("hello.html", "text/html", page);
    assert_eq!(outcome, SanitizeOutcome::Unchanged);
}

#[test]
fn html_detected_without_name_or_type() {
    let page = b"<!doctype html><body><script>x()</script><p>Hi</p>";
    let outcome = Sanitizer::default().sanitize("download", "application/octet-stream", page);
    assert!(
        matches!(outcome, SanitizeOutcome::Sanitized(_)),
        "{outcome:?}"
    );
}

#[test]
fn plain_text_not_applicable() {
    let outcome = Sanitizer::default().sanitize("notes.txt", "text/plain", b"<script> is a tag");
    assert_eq!(outcome, SanitizeOutcome::NotApplicable);
}

#[test]
fn pdf_not_applicable() {
    let outcome =
        Sanitizer::default().sanitize("a.pdf", "application/pdf", b"%PDF-1.7\n/JavaScript");
    assert_eq!(outcome, SanitizeOutcome::NotApplicable);
}

#[test]
fn oversized_html_fails() {
    let limits = Limits {
        max_html_size: 100,
        ..Limits::default()
    };
    let page = "<p>x</p>".repeat(20);
    let outcome = Sanitizer::new(limits).sanitize("big.html", "text/html", page.as_bytes());
    assert_eq!(
        outcome,
        SanitizeOutcome::Failed {
            reason: SanitizeError::HtmlTooLarge {
                size: 160,
                limit: 100
            }
        }
    );
}
