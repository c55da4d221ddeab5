//! The rules page: the rule set in use, each rule's source, digest, limits,
//! failure policy and settings, and the reload form.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mailgate_rules::{FailurePolicy, RuleSource};

use super::form::FormFields;
use super::html::{self, Section, escape};
use super::session::Flash;
use super::UiState;
use crate::rule_set::ConfiguredRule;

/// `GET /admin/ui/rules`.
pub(super) async fn show(State(state): State<UiState>, headers: HeaderMap) -> Response {
    let (id, session) = match super::require_session(&state, &headers, "/admin/ui/rules") {
        Ok(found) => found,
        Err(redirect) => return redirect.into_response(),
    };
    let flash = state.sessions.take_flash(&id);

    let rule_set = state.admin.rule_set.load();
    let mut cards = String::new();
    for configured in rule_set.rules() {
        cards.push_str(&rule_card(configured));
    }
    if cards.is_empty() {
        cards = "<div class=\"card muted\">The rule set has no rules: messages pass unchanged.</div>".to_string();
    }

    let body = format!(
        "{}<div class=\"headline\"><h1>Rules</h1>\
         <form method=\"post\" action=\"/admin/ui/rules/reload\"><input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
         <button type=\"submit\">Reload rules</button></form></div>\
         <div class=\"card\"><dl class=\"facts\"><dt>Rule set id</dt><dd class=\"mono\">{}</dd>\
         <dt>Rules</dt><dd>{} <span class=\"muted\">in execution order</span></dd></dl></div>{cards}",
        html::flash(flash),
        escape(&session.csrf_token),
        escape(rule_set.id().as_str()),
        rule_set.rules().len(),
    );
    html::page(StatusCode::OK, html::frame("Rules", Section::Rules, &session.csrf_token, &body))
}

/// `POST /admin/ui/rules/reload`: loads the rules again when the form
/// carries the session's CSRF token, then redirects to the rules page, which
/// shows the result. Without the token: `403` and no reload.
pub(super) async fn reload(State(state): State<UiState>, headers: HeaderMap, body: Bytes) -> Response {
    let (id, session) = match super::require_session(&state, &headers, "/admin/ui/rules") {
        Ok(found) => found,
        Err(redirect) => return redirect.into_response(),
    };
    let fields = FormFields::parse(&body);
    if !super::csrf_token_matches(&session, &fields) {
        tracing::warn!("admin UI reload rejected: missing or wrong CSRF token");
        return html::error_page(
            StatusCode::FORBIDDEN,
            "Reload rejected",
            Section::Rules,
            &session.csrf_token,
            "The form did not carry this session's CSRF token, so the rules were not reloaded. Use the Reload rules button on the rules page.",
        );
    }

    let flash = match state.admin.reloader.reload().await {
        Ok(rule_set) => {
            tracing::info!(rule_set = %rule_set, "rules reloaded from the admin UI");
            Flash::Success(format!("Rules reloaded. Rule set in use: {rule_set}."))
        }
        Err(error) => {
            tracing::warn!(%error, "rule reload from the admin UI failed");
            let running = state.admin.reloader.current_id();
            Flash::Error(format!("The rules did not load, so rule set {running} stays in use: {error}"))
        }
    };
    state.sessions.set_flash(&id, flash);
    Redirect::to("/admin/ui/rules").into_response()
}

fn rule_card(configured: &ConfiguredRule) -> String {
    let rule = &configured.rule;
    let definition = rule.definition();
    let limits = rule.limits();

    let source = match &definition.source {
        RuleSource::Shipped(name) => format!("shipped rule <span class=\"mono\">{}</span>", escape(name)),
        RuleSource::File(path) => format!("file <span class=\"mono wrap\">{}</span>", escape(&path.display().to_string())),
    };
    let on_failure = match definition.on_failure {
        FailurePolicy::TemporaryFailure => {
            "temporary-failure: the message is tried again later (queued and retried in after-queue mode, 451 to the client in before-queue mode)"
        }
        FailurePolicy::Skip => "skip: the message goes on without this rule's actions",
        FailurePolicy::Block => "block: the message is blocked (a bounce in after-queue mode, 550 in before-queue mode)",
    };
    let settings = if definition.settings.is_empty() {
        "<span class=\"muted\">none</span>".to_string()
    } else {
        let rows: String = definition
            .settings
            .iter()
            .map(|(name, value)| format!("<tr><td class=\"mono\">{}</td><td class=\"mono wrap\">{}</td></tr>", escape(name), escape(value)))
            .collect();
        format!("<table><thead><tr><th>Setting</th><th>Value</th></tr></thead><tbody>{rows}</tbody></table>")
    };
    let memory_mib = limits.max_memory_bytes as f64 / (1024.0 * 1024.0);
    let recent_errors = recent_errors_html(configured);

    format!(
        "<div class=\"card\"><h2>{}</h2><dl class=\"facts\">\
         <dt>Source</dt><dd>{source}</dd>\
         <dt>SHA-256</dt><dd class=\"mono\">{}</dd>\
         <dt>Time limit</dt><dd>{} ms</dd>\
         <dt>Memory limit</dt><dd>{memory_mib:.0} MiB <span class=\"muted\">({} bytes)</span></dd>\
         <dt>On failure</dt><dd>{on_failure}</dd>\
         <dt>Settings</dt><dd>{settings}</dd>\
         <dt>Recent errors</dt><dd>{recent_errors}</dd></dl></div>",
        escape(rule.name()),
        escape(rule.digest()),
        limits.timeout.as_millis(),
        limits.max_memory_bytes,
    )
}

/// Renders the rule's last failures, newest first, or a note that there
/// were none.
fn recent_errors_html(configured: &ConfiguredRule) -> String {
    let errors = configured.recent_errors.list();
    if errors.is_empty() {
        return "<span class=\"muted\">none since the rules were loaded</span>".to_string();
    }

    let items: String = errors
        .iter()
        .rev()
        .map(|recent| format!("<li><span class=\"mono\">{}</span> {}</li>", recent.at.format("%Y-%m-%d %H:%M:%S UTC"), escape(&recent.error)))
        .collect();
    format!("<ul class=\"errors\">{items}</ul>")
}
