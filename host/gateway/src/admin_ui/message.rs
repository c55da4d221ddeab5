//! The message page: one history record with its envelope, rule results,
//! scan verdicts, attachment uploads and outcome.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mailgate_history::{AsyncHistoryStore, AttachmentRecord, HistoryError, MessageRecord, Outcome, RecordId, RecordKey, RuleStatus, UploadStatus};

use super::UiState;
use super::html::{self, Section, escape};

/// `GET /admin/ui/history/{id}`. The history page links by record number.
/// An id that is not a number, or a number without a record, is looked up
/// as a queue id.
pub(super) async fn show(State(state): State<UiState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let return_to = format!("/admin/ui/history/{}", super::form::percent_encode(&id));
    let (_, session) = match super::require_session(&state, &headers, &return_to) {
        Ok(found) => found,
        Err(redirect) => return redirect.into_response(),
    };
    let csrf_token = &session.csrf_token;
    let Some(history) = &state.admin.history else {
        return html::error_page(StatusCode::NOT_FOUND, "Message", Section::History, csrf_token, "The history is disabled (history.enabled = false).");
    };

    match find(history, &id).await {
        Ok(Some(record)) => {
            let title = record.subject.clone().unwrap_or_else(|| format!("Message {}", record.queue_id));
            html::page(StatusCode::OK, html::frame(&title, Section::History, csrf_token, &render(&record)))
        }
        Ok(None) => html::error_page(StatusCode::NOT_FOUND, "Message not found", Section::History, csrf_token, &format!("No message with id `{id}` in the history.")),
        Err(error) => {
            tracing::error!(%error, id, "admin UI history lookup failed");
            html::error_page(StatusCode::INTERNAL_SERVER_ERROR, "Message", Section::History, csrf_token, &format!("The history lookup failed: {error}"))
        }
    }
}

async fn find(history: &AsyncHistoryStore, id: &str) -> Result<Option<MessageRecord>, HistoryError> {
    let id = id.trim();
    if let Ok(number) = id.parse::<i64>()
        && let Some(record) = history.get(RecordKey::Id(RecordId(number))).await?
    {
        return Ok(Some(record));
    }
    history.get(RecordKey::QueueId(id.to_uppercase())).await
}

fn render(record: &MessageRecord) -> String {
    let subject = match record.subject.as_deref() {
        Some(subject) if !subject.trim().is_empty() => escape(subject),
        _ => "<span class=\"muted\">(no subject)</span>".to_string(),
    };
    let mut body = format!(
        "<div class=\"headline\"><h1>{subject}</h1><a class=\"button secondary\" href=\"/admin/ui/history\">← History</a></div>"
    );
    body.push_str(&outcome_card(&record.outcome));
    body.push_str(&facts_card(record));
    body.push_str(&rules_card(record));
    body.push_str(&attachments_card(&record.attachments));
    if !record.part_verdicts.is_empty() {
        body.push_str(&verdicts_card(record));
    }
    if !record.defects.is_empty() {
        let items: String = record.defects.iter().map(|defect| format!("<li>{}</li>", escape(defect))).collect();
        body.push_str(&format!("<div class=\"card\"><h2>Parser defects</h2><ul class=\"actions\">{items}</ul></div>"));
    }
    body
}

fn outcome_card(outcome: &Outcome) -> String {
    let (_, class) = html::outcome_badge(outcome);
    let detail = match outcome {
        Outcome::Delivered { reply } => format!("Next hop's reply: <span class=\"mono\">{}</span>", escape(reply)),
        Outcome::TemporaryFailure { reason } => format!("The client got 451 and keeps the message to retry. Cause: {}", escape(reason)),
        Outcome::Rejected { reason } => format!("The client got a permanent failure. Reason: {}", escape(reason)),
        Outcome::Bounced { reason } => format!("The message was accepted and then failed for good. Reason: {}", escape(reason)),
        Outcome::Blocked { rule, reason } => format!("Rule <strong>{}</strong> blocked the message: {}", escape(rule), escape(reason)),
    };
    format!("<div class=\"card outcome {class}\"><h2>Outcome {}</h2><div class=\"wrap\">{detail}</div></div>", html::outcome_html(outcome))
}

fn facts_card(record: &MessageRecord) -> String {
    let optional = |value: &Option<String>| match value.as_deref() {
        Some(value) => format!("<span class=\"mono\">{}</span>", escape(value)),
        None => "<span class=\"muted\">none</span>".to_string(),
    };
    let sender = if record.mail_from.is_empty() { "&lt;&gt; (null sender)".to_string() } else { escape(&record.mail_from) };
    let recipients: Vec<String> = record.rcpt_to.iter().map(|recipient| escape(recipient)).collect();

    format!(
        "<div class=\"card\"><h2>Message</h2><dl class=\"facts\">\
         <dt>Queue id</dt><dd class=\"mono\">{}</dd>\
         <dt>Received</dt><dd>{}</dd>\
         <dt>Client address</dt><dd class=\"mono\">{}</dd>\
         <dt>Sender</dt><dd>{sender}</dd>\
         <dt>Recipients</dt><dd>{}</dd>\
         <dt>Message-ID</dt><dd>{}</dd>\
         <dt>Size</dt><dd>{} <span class=\"muted\">({} bytes)</span></dd>\
         <dt>Rule set</dt><dd>{}</dd></dl></div>",
        escape(&record.queue_id),
        html::time(&record.received_at),
        escape(&record.client_address),
        recipients.join("<br>"),
        optional(&record.message_id),
        html::size(record.size),
        record.size,
        optional(&record.rule_set_id),
    )
}

fn rules_card(record: &MessageRecord) -> String {
    if record.rule_results.is_empty() {
        return "<div class=\"card\"><h2>Rules</h2><p class=\"muted\">No rule ran: processing stopped before the rules.</p></div>".to_string();
    }

    let mut rows = String::new();
    for result in &record.rule_results {
        let (status, detail) = match &result.status {
            RuleStatus::NotMatched => {
                ("<span class=\"badge neutral\">Not matched</span>", "<span class=\"muted\">The rule's match conditions excluded the message.</span>".to_string())
            }
            RuleStatus::Ran { actions } if actions.is_empty() => ("<span class=\"badge good\">Ran</span>", "<span class=\"muted\">No actions</span>".to_string()),
            RuleStatus::Ran { actions } => {
                let items: String = actions.iter().map(|action| format!("<li class=\"mono\">{}</li>", escape(action))).collect();
                ("<span class=\"badge good\">Ran</span>", format!("<ul class=\"actions\">{items}</ul>"))
            }
            RuleStatus::Failed { error } => ("<span class=\"badge bad\">Failed</span>", format!("<span class=\"wrap\">{}</span>", escape(error))),
        };
        rows.push_str(&format!("<tr><td><strong>{}</strong></td><td>{status}</td><td>{detail}</td></tr>", escape(&result.rule)));
    }
    format!(
        "<div class=\"card flush\"><h2>Rules</h2><table class=\"rules\"><thead><tr><th>Rule</th><th>Status</th><th>Actions</th></tr></thead>\
         <tbody>{rows}</tbody></table></div>"
    )
}

fn attachments_card(attachments: &[AttachmentRecord]) -> String {
    if attachments.is_empty() {
        return "<div class=\"card\"><h2>Attachments</h2><p class=\"muted\">The rules removed or uploaded no attachment.</p></div>".to_string();
    }

    let mut rows = String::new();
    for attachment in attachments {
        rows.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td class=\"wrap\"><strong>{}</strong><div class=\"muted wrap\">{}</div></td><td class=\"num\">{}</td><td>{}</td></tr>",
            attachment.part_id,
            escape(&attachment.file_name),
            escape(&attachment.folder),
            html::size(attachment.size),
            upload_html(&attachment.upload)
        ));
    }
    format!(
        "<div class=\"card flush\"><h2>Attachments</h2><table><thead><tr><th class=\"num\">Part</th><th>File and vault folder</th>\
         <th class=\"num\">Size</th><th>Upload</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
}

fn upload_html(upload: &UploadStatus) -> String {
    match upload {
        UploadStatus::Uploaded { file_id, file_url } => {
            // Only web links become anchors, so a stored URL cannot run a
            // `javascript:` or similar scheme when clicked.
            let link = if file_url.starts_with("http://") || file_url.starts_with("https://") {
                format!("<a href=\"{0}\" class=\"wrap\">{0}</a>", escape(file_url))
            } else {
                format!("<span class=\"mono wrap\">{}</span>", escape(file_url))
            };
            format!(
                "<span class=\"badge good\">Uploaded</span><div>File id <span class=\"mono wrap\">{}</span></div><div>{link}</div>",
                escape(file_id)
            )
        }
        UploadStatus::Failed { error, cause } => {
            let cause = match cause {
                Some(cause) => format!("<div class=\"muted wrap\">Cause: {}</div>", escape(cause)),
                None => String::new(),
            };
            format!("<span class=\"badge bad\">Upload failed</span><div class=\"wrap\">{}</div>{cause}", escape(error))
        }
        UploadStatus::NotUploaded => {
            "<span class=\"badge neutral\">Not uploaded</span><div class=\"muted\">Removed only, or processing stopped before the upload.</div>".to_string()
        }
    }
}

fn verdicts_card(record: &MessageRecord) -> String {
    let mut rows = String::new();
    for verdict in &record.part_verdicts {
        let name = verdict.file_name.as_deref().map(escape).unwrap_or_else(|| "<span class=\"muted\">(no name)</span>".to_string());
        let sanitized = if verdict.sanitized { "yes" } else { "no" };
        rows.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td class=\"wrap\">{name}</td><td class=\"mono\">{}</td><td class=\"wrap\">{}</td><td>{sanitized}</td></tr>",
            verdict.part_id,
            escape(&verdict.content_type),
            escape(&verdict.verdict)
        ));
    }
    format!(
        "<div class=\"card flush\"><h2>Scan verdicts</h2><table><thead><tr><th class=\"num\">Part</th><th>File</th><th>Type</th>\
         <th>Verdict</th><th>Sanitized</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
}
