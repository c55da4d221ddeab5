//! A small client of the W3C WebDriver protocol over HTTP, enough to drive
//! headless Chromium through chromedriver: open a page, find elements, type,
//! click, read text and take screenshots.
//!
//! Every call panics with the driver's error message, because it runs in
//! tests only.
#![allow(dead_code)]

use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};

/// Key of an element reference in WebDriver replies, fixed by the W3C
/// WebDriver specification.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Path of Debian's Chromium binary, from the `chromium` package.
const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser session of chromedriver.
pub struct Session {
    client: reqwest::Client,
    url: String,
    /// Chromium's profile directory, removed with the session.
    _profile: tempfile::TempDir,
}

/// A reference to one element of the current page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Session {
    /// Starts headless Chromium through the chromedriver at `driver`
    /// (`http://127.0.0.1:PORT`), with a new profile and a window of
    /// `width` × `height` CSS pixels.
    ///
    /// The flags turn off Chromium's own network traffic (background
    /// requests, component updates, sync), which a closed network refuses.
    pub async fn start(driver: &str, width: u32, height: u32) -> Session {
        let profile = tempfile::tempdir().unwrap();
        let arguments = [
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--hide-scrollbars".to_string(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": CHROMIUM, "args": arguments},
                }
            }
        });

        let client = reqwest::Client::new();
        let driver = driver.trim_end_matches('/');
        let reply = call(&client, reqwest::Method::POST, &format!("{driver}/session"), Some(capabilities)).await;
        let id = reply["sessionId"].as_str().unwrap_or_else(|| panic!("new session reply without sessionId: {reply}"));
        Session { client, url: format!("{driver}/session/{id}"), _profile: profile }
    }

    async fn get(&self, path: &str) -> Value {
        call(&self.client, reqwest::Method::GET, &format!("{}{path}", self.url), None).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        call(&self.client, reqwest::Method::POST, &format!("{}{path}", self.url), Some(body)).await
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn navigate(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    /// Returns the URL of the current page.
    pub async fn current_url(&self) -> String {
        self.get("/url").await.as_str().unwrap().to_string()
    }

    /// Waits up to 10 seconds until the current URL contains `fragment`,
    /// since a click that submits a form may start the navigation after
    /// the click returns; returns the URL, or panics with the last one seen.
    pub async fn wait_for_url(&self, fragment: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let url = self.current_url().await;
            if url.contains(fragment) {
                return url;
            }
            assert!(std::time::Instant::now() < deadline, "the URL still is {url}, expected it to contain {fragment}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Returns the title of the current page.
    pub async fn title(&self) -> String {
        self.get("/title").await.as_str().unwrap().to_string()
    }

    /// Returns every element that matches the CSS `selector`, in document
    /// order; empty when none matches.
    pub async fn find_all(&self, selector: &str) -> Vec<Element> {
        let reply = self.post("/elements", json!({"using": "css selector", "value": selector})).await;
        reply.as_array().unwrap().iter().map(element_of).collect()
    }

    /// Returns the first element that matches the CSS `selector`, and panics
    /// when none does.
    pub async fn find(&self, selector: &str) -> Element {
        let found = self.find_all(selector).await;
        found.into_iter().next().unwrap_or_else(|| panic!("no element matches `{selector}`"))
    }

    /// Returns the rendered text of the page's body: what a person reads.
    pub async fn body_text(&self) -> String {
        let body = self.find("body").await;
        self.text(&body).await
    }

    /// Returns the rendered text of `element`.
    pub async fn text(&self, element: &Element) -> String {
        self.get(&format!("/element/{}/text", element.0)).await.as_str().unwrap().to_string()
    }

    /// Returns the value of the attribute `name` of `element`, or `None`
    /// when it has none.
    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.get(&format!("/element/{}/attribute/{name}", element.0)).await.as_str().map(str::to_string)
    }

    /// Types `text` into `element`.
    pub async fn send_keys(&self, element: &Element, text: &str) {
        self.post(&format!("/element/{}/value", element.0), json!({"text": text})).await;
    }

    /// Clicks `element` and, when that starts a navigation, waits for the new
    /// page to load.
    pub async fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.0), json!({})).await;
    }

    /// Resizes the window so that the whole current page fits, at least
    /// `min_height` pixels high, for a screenshot of the full page.
    ///
    /// The window first gets `min_height`, because a page never reports a
    /// height below the viewport's. The window's height includes the
    /// browser's own frame, so the script adds the difference between the
    /// window and the viewport.
    pub async fn fit_window_to_page(&self, width: u32, min_height: u32) {
        self.post("/window/rect", json!({"width": width, "height": min_height})).await;

        let script = "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;";
        let height = self.post("/execute/sync", json!({"script": script, "args": []})).await;
        let height = height.as_u64().map_or(min_height, |height| (height as u32).max(min_height));
        self.post("/window/rect", json!({"width": width, "height": height})).await;
    }

    /// Takes a screenshot of the window and writes it as PNG to `path`.
    pub async fn save_screenshot(&self, path: &Path) {
        let encoded = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().unwrap()).expect("screenshot is base64");
        assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");
        if let Some(directory) = path.parent() {
            std::fs::create_dir_all(directory).unwrap_or_else(|error| panic!("cannot create {}: {error}", directory.display()));
        }
        std::fs::write(path, png).unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }

    /// Closes the browser.
    pub async fn quit(self) {
        call(&self.client, reqwest::Method::DELETE, &self.url, None).await;
    }
}

fn element_of(value: &Value) -> Element {
    Element(value[ELEMENT_KEY].as_str().unwrap_or_else(|| panic!("not an element reference: {value}")).to_string())
}

/// Sends one WebDriver command and returns the `value` of the reply.
async fn call(client: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
    let mut request = client.request(method.clone(), url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap_or_else(|error| panic!("WebDriver {method} {url} failed: {error}"));
    let status = response.status();
    let reply: Value = response.json().await.unwrap_or_else(|error| panic!("WebDriver {method} {url}: reply is not JSON: {error}"));
    assert!(status.is_success(), "WebDriver {method} {url} returned {status}: {}", reply["value"]);
    reply["value"].clone()
}
