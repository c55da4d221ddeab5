//! The history page: a filter form and one page of message summaries.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use mailgate_history::{HistoryQuery, MessageSummary, OutcomeKind};

use super::form::percent_encode;
use super::html::{self, Section, escape};
use super::UiState;

/// Number of messages on one page.
pub(super) const PAGE_SIZE: u32 = 50;

/// Query parameters of `GET /admin/ui/history`. Browsers send every field of
/// the filter form, so an empty value means "no filter".
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct HistoryParameters {
    sender: Option<String>,
    recipient: Option<String>,
    subject: Option<String>,
    message_id: Option<String>,
    outcome: Option<String>,
    /// Start of the time range, UTC, see [`parse_time`].
    from: Option<String>,
    /// End of the time range (exclusive), UTC, see [`parse_time`].
    to: Option<String>,
    /// Page number, from 1.
    page: Option<String>,
}

impl HistoryParameters {
    /// Returns the set filters as a query string for the pager's links,
    /// each field followed by `&` so that `page=N` can follow.
    fn filter_query(&self) -> String {
        let fields = [
            ("sender", &self.sender),
            ("recipient", &self.recipient),
            ("subject", &self.subject),
            ("message_id", &self.message_id),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ];
        fields
            .iter()
            .filter_map(|(name, value)| non_empty(value).map(|value| format!("{name}={}&", percent_encode(value))))
            .collect()
    }
}

/// `GET /admin/ui/history`.
pub(super) async fn list(
    State(state): State<UiState>,
    headers: HeaderMap,
    uri: Uri,
    Query(parameters): Query<HistoryParameters>,
) -> Response {
    let return_to = uri.path_and_query().map(|value| value.as_str()).unwrap_or("/admin/ui/history");
    let (_, session) = match super::require_session(&state, &headers, return_to) {
        Ok(found) => found,
        Err(redirect) => return redirect.into_response(),
    };
    let csrf_token = &session.csrf_token;
    let Some(history) = &state.admin.history else {
        return html::error_page(StatusCode::NOT_FOUND, "History", Section::History, csrf_token, "The history is disabled (history.enabled = false).");
    };

    let (query, page) = match build_query(&parameters) {
        Ok(built) => built,
        Err(message) => {
            let body = format!("{}<div class=\"notice bad\">{}</div>", filter_form(&parameters), escape(&message));
            return html::page(StatusCode::BAD_REQUEST, html::frame("History", Section::History, csrf_token, &format!("<h1>History</h1>{body}")));
        }
    };

    let total = history.count(query.clone()).await;
    let messages = history.query(query).await;
    let (total, messages) = match (total, messages) {
        (Ok(total), Ok(messages)) => (total, messages),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "admin UI history query failed");
            return html::error_page(StatusCode::INTERNAL_SERVER_ERROR, "History", Section::History, csrf_token, &format!("The history query failed: {error}"));
        }
    };

    let body = format!(
        "<h1>History</h1><div class=\"card\">{}</div>{}",
        filter_form(&parameters),
        results(&parameters, &messages, total, page)
    );
    html::page(StatusCode::OK, html::frame("History", Section::History, csrf_token, &body))
}

/// Turns the page's parameters into a store query and the page number, or
/// returns a message that names the invalid value.
fn build_query(parameters: &HistoryParameters) -> Result<(HistoryQuery, u64), String> {
    let outcome = match non_empty(&parameters.outcome) {
        None => None,
        Some(name) => Some(OutcomeKind::from_name(name).ok_or_else(|| format!("Unknown outcome `{name}`."))?),
    };
    let from = non_empty(&parameters.from).map(|text| parse_time(text).ok_or_else(|| invalid_time("From", text))).transpose()?;
    let to = non_empty(&parameters.to).map(|text| parse_time(text).ok_or_else(|| invalid_time("To", text))).transpose()?;
    let page = match non_empty(&parameters.page) {
        None => 1,
        Some(text) => text.parse::<u64>().ok().filter(|page| *page >= 1).ok_or_else(|| format!("Invalid page number `{text}`; pages start at 1."))?,
    };

    let query = HistoryQuery {
        from,
        to,
        sender: non_empty(&parameters.sender).map(str::to_string),
        recipient: non_empty(&parameters.recipient).map(str::to_string),
        subject: non_empty(&parameters.subject).map(str::to_string),
        message_id: non_empty(&parameters.message_id).map(|id| id.trim_start_matches('<').trim_end_matches('>').to_string()),
        outcome,
        limit: Some(PAGE_SIZE),
        offset: (page - 1).saturating_mul(u64::from(PAGE_SIZE)),
    };
    Ok((query, page))
}

fn invalid_time(field: &str, text: &str) -> String {
    format!("{field}: invalid time `{text}`; use YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or RFC 3339.")
}

/// Parses a time in RFC 3339, as `YYYY-MM-DDTHH:MM[:SS]` (the form of an
/// HTML `datetime-local` value) or as a date alone, which means midnight.
/// Times without a zone are UTC.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|date| date.and_hms_opt(0, 0, 0)).map(|time| time.and_utc())
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|value| !value.is_empty())
}

fn filter_form(parameters: &HistoryParameters) -> String {
    let text_input = |label: &str, name: &str, value: &Option<String>, kind: &str, placeholder: &str| {
        format!(
            "<label>{label}<input type=\"{kind}\" name=\"{name}\" value=\"{}\" placeholder=\"{placeholder}\"></label>",
            escape(value.as_deref().unwrap_or_default())
        )
    };
    let selected_outcome = non_empty(&parameters.outcome).and_then(OutcomeKind::from_name);
    let mut outcome_options = String::from("<option value=\"\">Any</option>");
    for kind in OutcomeKind::ALL {
        let selected = if selected_outcome == Some(kind) { " selected" } else { "" };
        outcome_options.push_str(&format!("<option value=\"{kind}\"{selected}>{}</option>", outcome_label(kind)));
    }

    format!(
        "<form class=\"filters\" method=\"get\" action=\"/admin/ui/history\">{}{}{}{}\
         <label>Outcome<select name=\"outcome\">{outcome_options}</select></label>{}{}\
         <div class=\"actions\"><button type=\"submit\">Search</button>\
         <a class=\"button secondary\" href=\"/admin/ui/history\">Clear</a></div></form>",
        text_input("Sender", "sender", &parameters.sender, "text", "alice@example.com"),
        text_input("Recipient", "recipient", &parameters.recipient, "text", "bob@example.org"),
        text_input("Subject contains", "subject", &parameters.subject, "text", ""),
        text_input("Message-ID", "message_id", &parameters.message_id, "text", ""),
        text_input("From (UTC)", "from", &parameters.from, "text", "2026-09-28 or 2026-09-28T10:00"),
        text_input("To (UTC, exclusive)", "to", &parameters.to, "text", "2026-09-29"),
    )
}

fn outcome_label(kind: OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Delivered => "Delivered",
        OutcomeKind::TemporaryFailure => "Temporary failure",
        OutcomeKind::Rejected => "Rejected",
        OutcomeKind::Bounced => "Bounced",
        OutcomeKind::Blocked => "Blocked",
    }
}

fn results(parameters: &HistoryParameters, messages: &[MessageSummary], total: u64, page: u64) -> String {
    if messages.is_empty() {
        let text = if total == 0 { "No messages match these filters." } else { "This page is past the last message." };
        return format!("<div class=\"card muted\">{text}</div>");
    }

    let mut rows = String::new();
    for message in messages {
        rows.push_str(&row(message));
    }

    let first = (page - 1) * u64::from(PAGE_SIZE) + 1;
    let last = first + messages.len() as u64 - 1;
    let filters = parameters.filter_query();
    let previous = if page > 1 {
        format!("<a class=\"button secondary\" href=\"/admin/ui/history?{filters}page={}\">← Newer</a>", page - 1)
    } else {
        "<span class=\"disabled\">← Newer</span>".to_string()
    };
    let next = if last < total {
        format!("<a class=\"button secondary\" href=\"/admin/ui/history?{filters}page={}\">Older →</a>", page + 1)
    } else {
        "<span class=\"disabled\">Older →</span>".to_string()
    };

    format!(
        "<div class=\"card flush\"><table class=\"list\"><thead><tr><th>Received</th><th>Sender</th><th>Recipients</th>\
         <th>Subject</th><th class=\"num\">Size</th><th class=\"num\">Attachments</th><th>Outcome</th></tr></thead>\
         <tbody>{rows}</tbody></table>\
         <div class=\"pager\"><span class=\"muted\">{first}–{last} of {total}</span><div class=\"links\">{previous}{next}</div></div></div>"
    )
}

fn row(message: &MessageSummary) -> String {
    let link = format!("/admin/ui/history/{}", message.id);
    let sender = if message.mail_from.is_empty() { "<span class=\"muted\">&lt;&gt;</span>".to_string() } else { escape(&message.mail_from) };
    let subject = match message.subject.as_deref() {
        Some(subject) if !subject.trim().is_empty() => escape(subject),
        _ => "<span class=\"muted\">(no subject)</span>".to_string(),
    };
    let recipients = match message.rcpt_to.as_slice() {
        [] => String::new(),
        [only] => escape(only),
        [first, rest @ ..] => format!("{} <span class=\"muted\">+{}</span>", escape(first), rest.len()),
    };
    let attachments = match (message.attachments, message.failed_uploads) {
        (0, _) => "<span class=\"muted\">–</span>".to_string(),
        (count, 0) => count.to_string(),
        (count, failed) => format!("{count} <span class=\"badge bad\">{failed} failed</span>"),
    };

    format!(
        "<tr><td class=\"nowrap\"><a href=\"{link}\">{}</a></td><td class=\"wrap\">{sender}</td><td class=\"wrap\">{recipients}</td>\
         <td class=\"wrap\"><a href=\"{link}\">{subject}</a></td><td class=\"num\">{}</td><td class=\"num\">{attachments}</td><td>{}</td></tr>",
        html::time(&message.received_at),
        html::size(message.size),
        html::outcome_html(&message.outcome)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats_are_utc() {
        let expected = "2026-09-28T10:00:00Z".parse::<DateTime<Utc>>().unwrap();

        assert_eq!(parse_time("2026-09-28T10:00"), Some(expected));
        assert_eq!(parse_time("2026-09-28 10:00:00"), Some(expected));
        assert_eq!(parse_time("2026-09-28T12:00:00+02:00"), Some(expected));
        assert_eq!(parse_time("2026-09-28"), Some("2026-09-28T00:00:00Z".parse().unwrap()));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn empty_fields_are_no_filter() {
        let parameters = HistoryParameters {
            sender: Some(String::new()),
            subject: Some("  ".to_string()),
            outcome: Some(String::new()),
            page: Some(String::new()),
            ..HistoryParameters::default()
        };

        let (query, page) = build_query(&parameters).unwrap();
        assert_eq!(query.sender, None);
        assert_eq!(query.subject, None);
        assert_eq!(query.outcome, None);
        assert_eq!(page, 1);
        assert_eq!(query.offset, 0);
    }

    #[test]
    fn invalid_values_are_reported() {
        let bad_outcome = HistoryParameters { outcome: Some("lost".to_string()), ..HistoryParameters::default() };
        let bad_page = HistoryParameters { page: Some("0".to_string()), ..HistoryParameters::default() };
        let bad_time = HistoryParameters { from: Some("soon".to_string()), ..HistoryParameters::default() };

        assert!(build_query(&bad_outcome).unwrap_err().contains("lost"));
        assert!(build_query(&bad_page).unwrap_err().contains("page"));
        assert!(build_query(&bad_time).unwrap_err().contains("soon"));
    }

    #[test]
    fn page_sets_offset() {
        let parameters = HistoryParameters { page: Some("3".to_string()), ..HistoryParameters::default() };

        let (query, page) = build_query(&parameters).unwrap();
        assert_eq!(page, 3);
        assert_eq!(query.offset, 2 * u64::from(PAGE_SIZE));
        assert_eq!(query.limit, Some(PAGE_SIZE));
    }
}
