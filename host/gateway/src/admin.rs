//! The administration endpoint: HTTP with a bearer token.
//!
//! - `POST /admin/reload`: loads the rules again; `200` with the new rule
//!   set id, or `422` with the reason when the new set does not load (the
//!   running set stays).
//! - `GET /admin/rules`: the rule set in use, with each rule's digest,
//!   limits, failure policy, settings and its last failures
//!   (`recent_errors`, at most ten, oldest first).
//! - `GET /admin/history`: message summaries, newest first; query parameters
//!   `from`, `to` (RFC 3339), `sender`, `recipient`, `subject`,
//!   `message_id`, `outcome`, `limit`, `offset`. The reply carries the total
//!   count for paging.
//! - `GET /admin/history/{id}`: one message's full record, by queue id or
//!   record number.
//! - `GET /metrics`: the gateway's metrics in the Prometheus text exposition
//!   format, see [`crate::metrics`].
//!
//! Every request must carry `Authorization: Bearer <admin token>`; others get
//! `401`. The endpoint listens on loopback by default.
//!
//! The same listener serves the web UI under `/admin/ui` (see
//! [`crate::admin_ui`]), where a browser logs in with the admin token once
//! and then holds a session cookie.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use mailgate_history::{AsyncHistoryStore, HistoryQuery, OutcomeKind, RecordId, RecordKey};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::reload::Reloader;
use crate::rule_set::SharedRuleSet;

#[derive(Clone)]
pub(crate) struct AdminState {
    pub(crate) token: Arc<String>,
    pub(crate) reloader: Arc<Reloader>,
    pub(crate) rule_set: SharedRuleSet,
    pub(crate) history: Option<AsyncHistoryStore>,
}

/// A running admin endpoint.
pub struct AdminServer {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl AdminServer {
    /// Starts the endpoint on `listen`.
    pub async fn start(
        listen: SocketAddr,
        token: String,
        reloader: Arc<Reloader>,
        rule_set: SharedRuleSet,
        history: Option<AsyncHistoryStore>,
    ) -> std::io::Result<AdminServer> {
        crate::metrics::install();
        let state = AdminState { token: Arc::new(token), reloader, rule_set, history };
        let router = Router::new()
            .route("/admin/reload", post(reload))
            .route("/admin/rules", get(rules))
            .route("/admin/history", get(history_list))
            .route("/admin/history/{id}", get(history_show))
            .route("/metrics", get(metrics))
            .with_state(state.clone())
            .merge(crate::admin_ui::routes(state));

        let listener = tokio::net::TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "admin endpoint stopped");
            }
        });
        tracing::info!(%address, "admin endpoint listening");
        Ok(AdminServer { address, task })
    }

    /// Address the endpoint listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops the endpoint.
    pub fn stop(self) {
        self.task.abort();
    }
}

fn authorized(state: &AdminState, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    constant_time_equal(presented.as_bytes(), state.token.as_bytes())
}

/// Compares without an early exit on the first differing byte.
pub(crate) fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter().zip(right).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"error": "missing or wrong admin token; send Authorization: Bearer <token>"})))
        .into_response()
}

async fn reload(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    match state.reloader.reload().await {
        Ok(id) => (StatusCode::OK, Json(json!({"rule_set": id.as_str()}))).into_response(),
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": error.to_string(), "rule_set": state.reloader.current_id().as_str()})),
        )
            .into_response(),
    }
}

async fn rules(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let rule_set = state.rule_set.load();
    let rules: Vec<_> = rule_set
        .rules()
        .iter()
        .map(|configured| {
            let rule = &configured.rule;
            let limits = rule.limits();
            let definition = rule.definition();
            let source = match &definition.source {
                mailgate_rules::RuleSource::Shipped(name) => json!({"shipped": name}),
                mailgate_rules::RuleSource::File(path) => json!({"path": path.display().to_string()}),
            };
            let on_failure = match definition.on_failure {
                mailgate_rules::FailurePolicy::TemporaryFailure => "temporary-failure",
                mailgate_rules::FailurePolicy::Skip => "skip",
                mailgate_rules::FailurePolicy::Block => "block",
            };
            let settings: serde_json::Map<String, serde_json::Value> =
                definition.settings.iter().map(|(name, value)| (name.clone(), json!(value))).collect();
            let recent_errors: Vec<_> = configured
                .recent_errors
                .list()
                .into_iter()
                .map(|recent| json!({"at": recent.at.to_rfc3339(), "error": recent.error}))
                .collect();
            json!({
                "name": rule.name(),
                "source": source,
                "sha256": rule.digest(),
                "recent_errors": recent_errors,
                "timeout_ms": limits.timeout.as_millis() as u64,
                "max_memory_bytes": limits.max_memory_bytes,
                "on_failure": on_failure,
                "settings": settings,
            })
        })
        .collect();
    (StatusCode::OK, Json(json!({"rule_set": rule_set.id().as_str(), "rules": rules}))).into_response()
}

/// Content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    ([(axum::http::header::CONTENT_TYPE, PROMETHEUS_TEXT)], crate::metrics::render()).into_response()
}

/// Query parameters of `GET /admin/history`.
#[derive(Debug, Default, serde::Deserialize)]
struct HistoryParameters {
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    sender: Option<String>,
    recipient: Option<String>,
    subject: Option<String>,
    message_id: Option<String>,
    outcome: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

fn error_reply(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn history_list(State(state): State<AdminState>, headers: HeaderMap, Query(parameters): Query<HistoryParameters>) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let Some(history) = &state.history else {
        return error_reply(StatusCode::NOT_FOUND, "the history is disabled (history.enabled = false)");
    };
    let outcome = match parameters.outcome.as_deref().map(OutcomeKind::from_name) {
        Some(None) => {
            let known: Vec<&str> = OutcomeKind::ALL.iter().map(|kind| kind.as_str()).collect();
            return error_reply(StatusCode::BAD_REQUEST, format!("unknown outcome; use one of: {}", known.join(", ")));
        }
        Some(Some(kind)) => Some(kind),
        None => None,
    };
    let query = HistoryQuery {
        from: parameters.from,
        to: parameters.to,
        sender: parameters.sender,
        recipient: parameters.recipient,
        subject: parameters.subject,
        message_id: parameters.message_id,
        outcome,
        limit: parameters.limit,
        offset: parameters.offset.unwrap_or(0),
    };

    let total = history.count(query.clone()).await;
    let messages = history.query(query).await;
    match (total, messages) {
        (Ok(total), Ok(messages)) => (StatusCode::OK, Json(json!({"total": total, "messages": messages}))).into_response(),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "history query failed");
            error_reply(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
        }
    }
}

async fn history_show(State(state): State<AdminState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let Some(history) = &state.history else {
        return error_reply(StatusCode::NOT_FOUND, "the history is disabled (history.enabled = false)");
    };
    match find_record(history, &id).await {
        Ok(Some(record)) => (StatusCode::OK, Json(record)).into_response(),
        Ok(None) => error_reply(StatusCode::NOT_FOUND, format!("no message with id `{id}` in the history")),
        Err(error) => {
            tracing::error!(%error, "history lookup failed");
            error_reply(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
        }
    }
}

/// Looks a message up by queue id and, when none matches and `id` is a
/// number, by record number. Queue ids are hex and may consist of digits
/// only, so the queue id is tried first.
pub async fn find_record(
    history: &AsyncHistoryStore,
    id: &str,
) -> Result<Option<mailgate_history::MessageRecord>, mailgate_history::HistoryError> {
    let id = id.trim();
    if let Some(record) = history.get(RecordKey::QueueId(id.to_uppercase())).await? {
        return Ok(Some(record));
    }
    match id.parse::<i64>() {
        Ok(number) => history.get(RecordKey::Id(RecordId(number))).await,
        Err(_) => Ok(None),
    }
}
