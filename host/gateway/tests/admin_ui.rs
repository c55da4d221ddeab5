//! The administrators' web interface, tested as a browser uses it: a real
//! gateway on loopback ports, messages sent over SMTP, and an HTTP client
//! with a cookie store that does not follow redirects.

mod support;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use support::{TOKEN, sample, send, start};

const SCRIPT_SUBJECT: &str = "<script>alert('x')</script> & \"friends\"";

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn script_message() -> Vec<u8> {
    format!(
        "From: Mallory <mallory@example.net>\r\nTo: bob@example.org\r\nSubject: {SCRIPT_SUBJECT}\r\n\
         Message-ID: <script-test@example.net>\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
    )
    .into_bytes()
}

/// Logs `client` in and returns the response to the login form.
async fn log_in(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client.post(format!("{base}/admin/ui/login")).form(&[("token", TOKEN), ("next", "/admin/ui/history")]).send().await.unwrap()
}

async fn text(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// Extracts the value of the hidden `csrf_token` field from a page.
fn csrf_token(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("page has a CSRF field") + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_string()
}

/// Returns the link of the first history row whose subject contains `subject`.
fn message_link(page: &str, subject: &str) -> String {
    let position = page.find(subject).expect("subject is on the page");
    let start = page[..position].rfind("href=\"/admin/ui/history/").expect("row has a link") + "href=\"".len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_require_login() {
    let fixture = start().await;
    let base = &fixture.base;
    let client = browser();

    for path in ["/admin/ui/history", "/admin/ui/history/1", "/admin/ui/rules"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path} without a session");
        let location = response.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(location.starts_with("/admin/ui/login?next="), "{path} redirects to {location}");
    }

    let reload = client.post(format!("{base}/admin/ui/rules/reload")).form(&[("csrf_token", "x")]).send().await.unwrap();
    assert_eq!(reload.status(), StatusCode::SEE_OTHER);

    let (status, login) = text(&client, &format!("{base}/admin/ui/login")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(login.contains("type=\"password\" name=\"token\""));

    fixture.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_checks_token_and_sets_cookie() {
    let fixture = start().await;
    let base = &fixture.base;
    let client = browser();

    let wrong = client.post(format!("{base}/admin/ui/login")).form(&[("token", "not-the-token")]).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert!(wrong.text().await.unwrap().contains("The admin token is wrong"));
    let (status, _) = text(&client, &format!("{base}/admin/ui/history")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a wrong token gives no session");

    let response = log_in(&client, base).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/admin/ui/history");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.starts_with("mailgate_admin_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/admin/ui"), "{cookie}");
    assert!(!cookie.contains(TOKEN), "the cookie must not carry the token");

    let response = client.get(format!("{base}/admin/ui/history")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("default-src 'none'"), "{policy}");

    let json_with_cookie = client.get(format!("{base}/admin/history")).send().await.unwrap();
    assert_eq!(json_with_cookie.status(), StatusCode::UNAUTHORIZED, "the JSON API needs the bearer token");
    let json_with_token = client.get(format!("{base}/admin/history")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(json_with_token.status(), StatusCode::OK);

    let (_, page) = text(&client, &format!("{base}/admin/ui/rules")).await;
    let logout_without_token = client.post(format!("{base}/admin/ui/logout")).send().await.unwrap();
    assert_eq!(logout_without_token.status(), StatusCode::FORBIDDEN);
    let logout = client.post(format!("{base}/admin/ui/logout")).form(&[("csrf_token", csrf_token(&page))]).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    let (status, _) = text(&client, &format!("{base}/admin/ui/history")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "logout ends the session");

    fixture.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_to_requested_page() {
    let fixture = start().await;
    let base = &fixture.base;
    let client = browser();

    let response = client
        .post(format!("{base}/admin/ui/login"))
        .form(&[("token", TOKEN), ("next", "/admin/ui/rules")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[LOCATION], "/admin/ui/rules");

    let response = client
        .post(format!("{base}/admin/ui/login"))
        .form(&[("token", TOKEN), ("next", "https://example.com/")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[LOCATION], "/admin/ui/history", "an outside target is replaced");

    fixture.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_filters_and_escapes() {
    let fixture = start().await;
    let base = &fixture.base;
    send(&fixture.gateway, "alice@example.com", "bob@example.org", &sample()).await;
    send(&fixture.gateway, "mallory@example.net", "bob@example.org", &script_message()).await;
    let client = browser();
    assert_eq!(log_in(&client, base).await.status(), StatusCode::SEE_OTHER);

    let (status, page) = text(&client, &format!("{base}/admin/ui/history")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Quarterly report"));
    assert!(page.contains("alice@example.com"));
    assert!(page.contains("mallory@example.net"));
    assert!(page.contains("1–2 of 2"));
    assert!(!page.contains("<script>"), "the subject must be escaped");
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;friends&quot;"));

    let (_, by_sender) = text(&client, &format!("{base}/admin/ui/history?sender=alice%40example.com&subject=&outcome=&page=")).await;
    assert!(by_sender.contains("Quarterly report"));
    assert!(!by_sender.contains("mallory@example.net"));
    assert!(by_sender.contains("value=\"alice@example.com\""), "the form keeps the filter");

    let (_, by_subject) = text(&client, &format!("{base}/admin/ui/history?subject=script")).await;
    assert!(by_subject.contains("mallory@example.net"));
    assert!(!by_subject.contains("Quarterly report"));

    let (_, no_match) = text(&client, &format!("{base}/admin/ui/history?sender=nobody%40example.com")).await;
    assert!(no_match.contains("No messages match these filters."));

    let (status, bad_outcome) = text(&client, &format!("{base}/admin/ui/history?outcome=lost")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad_outcome.contains("Unknown outcome"));

    let (_, escaped_filter) = text(&client, &format!("{base}/admin/ui/history?subject=%22%3E%3Cscript%3E")).await;
    assert!(!escaped_filter.contains("\"><script>"), "the filter value must be escaped in the form");

    fixture.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_page_shows_processing() {
    let fixture = start().await;
    let base = &fixture.base;
    send(&fixture.gateway, "alice@example.com", "bob@example.org", &sample()).await;
    send(&fixture.gateway, "mallory@example.net", "bob@example.org", &script_message()).await;
    let client = browser();
    log_in(&client, base).await;
    let (_, list) = text(&client, &format!("{base}/admin/ui/history")).await;

    let (status, page) = text(&client, &format!("{base}{}", message_link(&list, "Quarterly report"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Delivered"));
    assert!(page.contains("secure-storage"), "the rule is listed");
    assert!(page.contains("Q3 report.pdf"));
    assert!(page.contains("Uploaded"));
    assert!(page.contains("/vault_rest/file/"), "the vault link is shown");
    assert!(page.contains("<a href=\"http://127.0.0.1:"), "the vault link is a link");
    assert!(page.contains("3f9c2d1e-7a41-4b8e-9c1d-5e2f8a6b7c90@mail.example.com"));

    let record = fixture.gateway.history().unwrap().query(Default::default()).await.unwrap();
    let quarterly = record.iter().find(|summary| summary.subject.as_deref() == Some("Quarterly report")).unwrap();
    let full = fixture.gateway.history().unwrap().get(mailgate_history::RecordKey::Id(quarterly.id)).await.unwrap().unwrap();
    let mailgate_history::RuleStatus::Ran { actions } = &full.rule_results[0].status else {
        panic!("secure-storage ran: {:?}", full.rule_results);
    };
    assert!(!actions.is_empty());
    for action in actions {
        assert!(page.contains(&action.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")), "action {action} is shown");
    }
    let mailgate_history::UploadStatus::Uploaded { file_id, .. } = &full.attachments[0].upload else {
        panic!("the attachment was uploaded: {:?}", full.attachments);
    };
    assert!(page.contains(file_id.as_str()), "the vault file id is shown");

    let (_, by_queue_id) = text(&client, &format!("{base}/admin/ui/history/{}", quarterly.queue_id.to_lowercase())).await;
    assert!(by_queue_id.contains("Q3 report.pdf"), "a queue id finds the message too");

    let (status, script_page) = text(&client, &format!("{base}{}", message_link(&list, "&lt;script&gt;"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!script_page.contains("<script>"));
    assert!(script_page.contains("&lt;script&gt;"));

    let (status, missing) = text(&client, &format!("{base}/admin/ui/history/999999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing.contains("No message with id"));

    fixture.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_page_reloads_with_csrf_token() {
    let fixture = start().await;
    let base = &fixture.base;
    let client = browser();
    log_in(&client, base).await;

    let (status, page) = text(&client, &format!("{base}/admin/ui/rules")).await;
    assert_eq!(status, StatusCode::OK);
    let rule_set_id = fixture.gateway.reloader().current_id();
    assert!(page.contains(rule_set_id.as_str()));
    assert!(page.contains("secure-storage"));
    assert!(page.contains("SHA-256"));
    assert!(page.contains("temporary-failure"));
    assert!(page.contains("action=\"/admin/ui/rules/reload\""));
    let token = csrf_token(&page);
    assert_eq!(token.len(), 64);
    let attempts_before = fixture.gateway.reloader().attempts();

    let forged = client.post(format!("{base}/admin/ui/rules/reload")).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let wrong = client.post(format!("{base}/admin/ui/rules/reload")).form(&[("csrf_token", "0".repeat(64))]).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(fixture.gateway.reloader().attempts(), attempts_before, "a rejected form does not reload");

    let reload = client.post(format!("{base}/admin/ui/rules/reload")).form(&[("csrf_token", token.as_str())]).send().await.unwrap();
    assert_eq!(reload.status(), StatusCode::SEE_OTHER);
    assert_eq!(reload.headers()[LOCATION], "/admin/ui/rules");
    assert_eq!(fixture.gateway.reloader().attempts(), attempts_before + 1);

    let (_, after) = text(&client, &format!("{base}/admin/ui/rules")).await;
    assert!(after.contains("Rules reloaded."), "the result is shown once");
    let (_, again) = text(&client, &format!("{base}/admin/ui/rules")).await;
    assert!(!again.contains("Rules reloaded."));

    fixture.gateway.shutdown().await;
}
