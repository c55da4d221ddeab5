//! The administration endpoint: HTTP with a bearer token.
//!
//! - `POST /admin/reload`: loads the rules again; `200` with the new rule
//!   set id, or `422` with the reason when the new set does not load (the
//!   running set stays).
//! - `GET /admin/rules`: the rule set in use, with each rule's digest and
//!   limits.
//!
//! Every request must carry `Authorization: Bearer <admin token>`; others get
//! `401`. The endpoint listens on loopback by default.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::reload::Reloader;
use crate::rule_set::SharedRuleSet;

#[derive(Clone)]
struct AdminState {
    token: Arc<String>,
    reloader: Arc<Reloader>,
    rule_set: SharedRuleSet,
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
    ) -> std::io::Result<AdminServer> {
        let state = AdminState { token: Arc::new(token), reloader, rule_set };
        let router = Router::new()
            .route("/admin/reload", post(reload))
            .route("/admin/rules", get(rules))
            .with_state(state);

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
fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
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
            json!({
                "name": rule.name(),
                "sha256": rule.digest(),
                "timeout_ms": limits.timeout.as_millis() as u64,
                "max_memory_bytes": limits.max_memory_bytes,
                "on_failure": format!("{:?}", rule.definition().on_failure),
            })
        })
        .collect();
    (StatusCode::OK, Json(json!({"rule_set": rule_set.id().as_str(), "rules": rules}))).into_response()
}
