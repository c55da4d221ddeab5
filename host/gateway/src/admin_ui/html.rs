//! HTML building blocks of the web interface: escaping, the page frame with
//! its embedded style sheet, and the response headers every page carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use mailgate_history::Outcome;

use super::session::Flash;

/// Allows inline styles and nothing else: no scripts, no external loads, no
/// framing, and forms only to this origin.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = r#"
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9dee5; --paper: #ffffff; --ground: #f3f5f8;
  --accent: #1d5fa8; --good: #1e7a46; --good-bg: #e3f4ea; --warn: #8a5a00; --warn-bg: #fff3d6;
  --bad: #a32020; --bad-bg: #fbe4e4; --neutral-bg: #eceff3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--ink); background: var(--ground); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; }
header.top { display: flex; align-items: center; gap: 24px; padding: 0 28px; height: 54px;
  background: #18324f; color: #fff; }
header.top .brand { font-weight: 700; font-size: 18px; letter-spacing: .3px; }
header.top .brand small { font-weight: 400; opacity: .7; margin-left: 6px; font-size: 13px; }
header.top nav { display: flex; gap: 6px; flex: 1; }
header.top nav a { color: #d6e3f3; padding: 6px 12px; border-radius: 6px; }
header.top nav a.active, header.top nav a:hover { background: rgba(255,255,255,.14); color: #fff; text-decoration: none; }
header.top form { margin: 0; }
header.top button { background: transparent; color: #d6e3f3; border: 1px solid rgba(255,255,255,.35); }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 16px; }
h2 { font-size: 16px; margin: 0 0 12px; }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 18px; }
.card.flush { padding: 0; overflow: hidden; }
.card.flush h2 { padding: 16px 20px 0; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .4px; color: var(--muted); background: #f8f9fb; font-weight: 600; }
tr:last-child td { border-bottom: none; }
table.list tbody tr:hover { background: #f4f8fd; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.good { color: var(--good); background: var(--good-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.neutral { color: var(--muted); background: var(--neutral-bg); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 7px 22px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
form.filters { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px 14px; align-items: end; }
form.filters label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); font-weight: 600; }
form.filters .actions { display: flex; gap: 8px; }
input, select { font: inherit; padding: 7px 9px; border: 1px solid #bcc5d0; border-radius: 6px; background: #fff; color: var(--ink); min-width: 0; }
label input, label select { font-size: 14px; font-weight: 400; color: var(--ink); }
input::placeholder { color: #9aa5b1; opacity: 1; }
input:focus, select:focus { outline: 2px solid #9cc2ec; border-color: var(--accent); }
button, .button { font: inherit; font-weight: 600; padding: 7px 16px; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; display: inline-block; }
.button.secondary { background: #fff; color: var(--accent); }
.pager { display: flex; justify-content: space-between; align-items: center; padding: 12px 20px; border-top: 1px solid var(--line); }
.pager .links { display: flex; gap: 8px; }
.pager .disabled { color: #a7b1bc; padding: 7px 16px; border: 1px solid var(--line); border-radius: 6px; }
.notice { padding: 12px 16px; border-radius: 8px; margin-bottom: 18px; border: 1px solid; }
.notice.good { color: var(--good); background: var(--good-bg); border-color: #b5e0c5; }
.notice.bad { color: var(--bad); background: var(--bad-bg); border-color: #f0b8b8; }
.outcome { border-left: 5px solid; }
.outcome.good { border-left-color: var(--good); }
.outcome.warn { border-left-color: #d79a00; }
.outcome.bad { border-left-color: var(--bad); }
ul.actions { margin: 0; padding-left: 18px; }
ul.actions li { margin: 2px 0; }
.headline { display: flex; justify-content: space-between; align-items: center; gap: 16px; margin-bottom: 16px; }
.headline h1 { margin: 0; overflow-wrap: anywhere; }
.wrap { overflow-wrap: anywhere; }
td.wrap { overflow-wrap: break-word; }
table.rules td:first-child { width: 26%; }
dl.facts table { width: auto; min-width: 340px; border: 1px solid var(--line); border-radius: 6px; }
.login { max-width: 380px; margin: 12vh auto 0; }
.login form { display: flex; flex-direction: column; gap: 12px; }
.login label { display: flex; flex-direction: column; gap: 5px; font-weight: 600; font-size: 13px; color: var(--muted); }
"#;

/// Escapes `text` for HTML element content and double-quoted attribute
/// values.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The section of the interface a page belongs to, for the navigation bar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    History,
    Rules,
}

/// Wraps `body` (HTML) in the frame of a logged-in page: navigation and a
/// logout form that carries `csrf_token`.
pub(super) fn frame(title: &str, section: Section, csrf_token: &str, body: &str) -> String {
    let link = |target: Section, href: &str, label: &str| {
        let class = if section == target { " class=\"active\"" } else { "" };
        format!("<a href=\"{href}\"{class}>{label}</a>")
    };
    let navigation = format!(
        "{}{}",
        link(Section::History, "/admin/ui/history", "History"),
        link(Section::Rules, "/admin/ui/rules", "Rules")
    );
    let header = format!(
        "<header class=\"top\"><span class=\"brand\">mailgate<small>admin</small></span><nav>{navigation}</nav>\
         <form method=\"post\" action=\"/admin/ui/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
         <button type=\"submit\">Log out</button></form></header>",
        escape(csrf_token)
    );
    document(title, &format!("{header}<main>{body}</main>"))
}

/// Builds a whole HTML document around `body` (HTML).
pub(super) fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · mailgate</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

/// Builds the response for a page, with headers that forbid scripts,
/// framing, caching and referrers.
pub(super) fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Builds a logged-in page with a single card that states an error.
pub(super) fn error_page(status: StatusCode, title: &str, section: Section, csrf_token: &str, message: &str) -> Response {
    let body = format!("<h1>{}</h1><div class=\"notice bad\">{}</div>", escape(title), escape(message));
    page(status, frame(title, section, csrf_token, &body))
}

/// Renders a pending session message as a notice, or nothing.
pub(super) fn flash(flash: Option<Flash>) -> String {
    match flash {
        Some(Flash::Success(text)) => format!("<div class=\"notice good\">{}</div>", escape(&text)),
        Some(Flash::Error(text)) => format!("<div class=\"notice bad\">{}</div>", escape(&text)),
        None => String::new(),
    }
}

/// Formats a time as `2026-09-28 08:15:42 UTC`.
pub(super) fn time(value: &DateTime<Utc>) -> String {
    value.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Formats a byte count with binary units, for example `583 B` or `1.4 MiB`.
pub(super) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Returns the label and badge class of an outcome.
pub(super) fn outcome_badge(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Delivered { .. } => ("Delivered", "good"),
        Outcome::TemporaryFailure { .. } => ("Temporary failure", "warn"),
        Outcome::Rejected { .. } => ("Rejected", "bad"),
        Outcome::Bounced { .. } => ("Bounced", "bad"),
        Outcome::Blocked { .. } => ("Blocked", "bad"),
    }
}

/// Renders an outcome as a badge.
pub(super) fn outcome_html(outcome: &Outcome) -> String {
    let (label, class) = outcome_badge(outcome);
    format!("<span class=\"badge {class}\">{label}</span>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_replaces_markup() {
        assert_eq!(escape("<script>alert('x')</script> & \"y\""), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;");
        assert_eq!(escape("plain été"), "plain été");
    }

    #[test]
    fn size_uses_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(25 * 1024 * 1024), "25.0 MiB");
    }
}
