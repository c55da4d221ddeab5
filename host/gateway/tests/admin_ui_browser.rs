//! The administrators' web interface in a real browser: headless Chromium,
//! driven through chromedriver's WebDriver API, logs in, reads the history
//! page, searches, opens a message and the rules page, and saves a
//! screenshot of each page.
//!
//! The test needs a running chromedriver, named by `MAILGATE_CHROMEDRIVER`
//! (`http://127.0.0.1:PORT`); `scripts/chromium-for-tests.sh` starts one.
//! Without it the test prints a line and passes, unless `CI` is set, where
//! it fails. Screenshots go to `MAILGATE_SCREENSHOT_DIR`, by default
//! `target/screenshots` of the workspace.

mod support;
mod webdriver;

use std::path::PathBuf;

use support::{TOKEN, sample, send, start};
use webdriver::Session;

const WINDOW_WIDTH: u32 = 1280;
const WINDOW_HEIGHT: u32 = 900;

/// Returns chromedriver's URL, or `None` when the test should be skipped.
fn chromedriver() -> Option<String> {
    match std::env::var("MAILGATE_CHROMEDRIVER") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("MAILGATE_CHROMEDRIVER is not set; run the tests through scripts/chromium-for-tests.sh")
        }
        _ => {
            println!("skipped: MAILGATE_CHROMEDRIVER is not set; run through scripts/chromium-for-tests.sh for the browser test");
            None
        }
    }
}

fn screenshot_path(name: &str) -> PathBuf {
    let directory = match std::env::var_os("MAILGATE_SCREENSHOT_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"),
    };
    directory.join(name)
}

async fn save_screenshot(browser: &Session, name: &str) {
    let path = screenshot_path(name);
    browser.fit_window_to_page(WINDOW_WIDTH, WINDOW_HEIGHT).await;
    browser.save_screenshot(&path).await;
    println!("screenshot: {}", path.display());
}

fn other_message() -> Vec<u8> {
    b"From: Carol <carol@example.net>\r\nTo: bob@example.org\r\nSubject: Lunch on Friday\r\n\
      Message-ID: <lunch@example.net>\r\nContent-Type: text/plain\r\n\r\nNoon?\r\n"
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_shows_history_and_message() {
    let Some(driver) = chromedriver() else { return };
    let fixture = start().await;
    let base = &fixture.base;
    send(&fixture.gateway, "carol@example.net", "bob@example.org", &other_message()).await;
    send(&fixture.gateway, "alice@example.com", "bob@example.org", &sample()).await;
    let browser = Session::start(&driver, WINDOW_WIDTH, WINDOW_HEIGHT).await;

    browser.navigate(&format!("{base}/admin/ui/history")).await;
    assert!(browser.current_url().await.contains("/admin/ui/login"), "without a session the browser lands on the login form");
    let token_field = browser.find("input[name=token]").await;
    assert_eq!(browser.attribute(&token_field, "type").await.as_deref(), Some("password"));
    assert!(browser.body_text().await.contains("Log in with the gateway's admin token."));
    save_screenshot(&browser, "admin-ui-login.png").await;
    browser.send_keys(&token_field, TOKEN).await;
    let submit = browser.find("form button[type=submit]").await;
    browser.click(&submit).await;

    assert_eq!(browser.wait_for_url("/admin/ui/history").await, format!("{base}/admin/ui/history"), "login leads to the history");
    assert_eq!(browser.title().await, "History · mailgate");
    let history = browser.body_text().await;
    for expected in ["Quarterly report", "alice@example.com", "Lunch on Friday", "carol@example.net", "Delivered", "1–2 of 2", "Newer", "Older"] {
        assert!(history.contains(expected), "history page shows `{expected}`:\n{history}");
    }
    for field in ["sender", "recipient", "subject", "message_id", "from", "to"] {
        assert_eq!(browser.find_all(&format!("form.filters input[name={field}]")).await.len(), 1, "search field {field}");
    }
    assert_eq!(browser.find_all("form.filters select[name=outcome]").await.len(), 1, "outcome filter");
    assert_eq!(browser.find_all(".pager").await.len(), 1, "pager");
    save_screenshot(&browser, "admin-ui-history.png").await;

    let sender_field = browser.find("form.filters input[name=sender]").await;
    browser.send_keys(&sender_field, "alice@example.com").await;
    let search = browser.find("form.filters button[type=submit]").await;
    browser.click(&search).await;
    browser.wait_for_url("sender=alice%40example.com").await;
    let filtered = browser.body_text().await;
    assert!(filtered.contains("Quarterly report"), "{filtered}");
    assert!(!filtered.contains("Lunch on Friday"), "the search hides other senders:\n{filtered}");
    assert!(filtered.contains("1–1 of 1"), "{filtered}");

    let row_links = browser.find_all("table.list tbody a").await;
    let mut subject_link = None;
    for link in row_links {
        if browser.text(&link).await == "Quarterly report" {
            subject_link = Some(link);
        }
    }
    browser.click(&subject_link.expect("the row links its subject")).await;

    browser.wait_for_url("/admin/ui/history/").await;
    let heading = browser.find("h1").await;
    assert_eq!(browser.text(&heading).await, "Quarterly report");
    let message = browser.body_text().await;
    for expected in ["alice@example.com", "bob@example.org", "Delivered", "secure-storage", "Q3 report.pdf", "Uploaded"] {
        assert!(message.contains(expected), "message page shows `{expected}`:\n{message}");
    }
    let vault_links = browser.find_all("a[href*='/vault_rest/file/']").await;
    assert_eq!(vault_links.len(), 1, "one vault link for the uploaded PDF");
    let href = browser.attribute(&vault_links[0], "href").await.unwrap();
    assert!(href.starts_with("http://127.0.0.1:"), "the vault link points to the built-in vault: {href}");
    assert_eq!(browser.text(&vault_links[0]).await, href, "the link shows its address");
    save_screenshot(&browser, "admin-ui-message.png").await;

    let rules_link = browser.find("header.top nav a[href='/admin/ui/rules']").await;
    browser.click(&rules_link).await;
    browser.wait_for_url("/admin/ui/rules").await;
    let rules = browser.body_text().await;
    let rule_set_id = fixture.gateway.reloader().current_id();
    for expected in ["secure-storage", rule_set_id.as_str(), "SHA-256", "Reload rules"] {
        assert!(rules.contains(expected), "rules page shows `{expected}`:\n{rules}");
    }
    save_screenshot(&browser, "admin-ui-rules.png").await;

    browser.quit().await;
    fixture.gateway.shutdown().await;
}
