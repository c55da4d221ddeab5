//! The administrators' web interface, served by the admin endpoint under
//! `/admin/ui/`: plain server-rendered HTML with embedded CSS, no scripts and
//! no external assets.
//!
//! Pages:
//!
//! - `GET /admin/ui/login` and `POST /admin/ui/login`: the login form, which
//!   takes the admin token;
//! - `POST /admin/ui/logout`: ends the session;
//! - `GET /admin/ui/history`: the message history, newest first, with filters
//!   and pages of [`history::PAGE_SIZE`] messages;
//! - `GET /admin/ui/history/{id}`: one message with its rule results,
//!   attachment uploads and outcome;
//! - `GET /admin/ui/rules` and `POST /admin/ui/rules/reload`: the rule set
//!   in use, and a button that loads the rules again.
//!
//! # Sessions
//!
//! A browser cannot send the bearer token, so the login form exchanges the
//! token for a session. The gateway keeps sessions in memory, see
//! [`session::SessionStore`]: a session id of 256 random bits maps to an
//! expiry [`session::SESSION_LIFETIME`] after login and a CSRF token. The
//! cookie `mailgate_admin_session` carries only the session id, with
//! `HttpOnly`, `SameSite=Strict` and `Path=/admin/ui`. A restart of the
//! gateway ends every session. Every page redirects to the login form
//! without a valid session. The JSON endpoints ignore the cookie and keep
//! requiring the bearer token.
//!
//! # Forms that change state
//!
//! The reload and logout forms carry the session's CSRF token in a hidden
//! `csrf_token` field, and the gateway rejects a POST whose field does not
//! match with `403`. Together with `SameSite=Strict`, which keeps the cookie
//! off requests started by other sites, this stops cross-site requests.
//!
//! Every page is sent with a `Content-Security-Policy` that allows no
//! scripts, as a second line behind the HTML escaping of every value.

mod form;
mod history;
mod html;
mod login;
mod message;
mod rules;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::admin::AdminState;
use session::{Session, SessionStore};

/// Path prefix of every page of the interface.
const UI_PREFIX: &str = "/admin/ui";

/// State shared by the interface's handlers.
#[derive(Clone)]
struct UiState {
    admin: AdminState,
    sessions: Arc<SessionStore>,
}

/// Builds the interface's routes, ready to merge into the admin router.
pub(crate) fn routes(admin: AdminState) -> Router {
    let state = UiState { admin, sessions: Arc::new(SessionStore::new()) };
    Router::new()
        .route("/admin/ui", get(home))
        .route("/admin/ui/", get(home))
        .route("/admin/ui/login", get(login::show).post(login::submit))
        .route("/admin/ui/logout", post(login::logout))
        .route("/admin/ui/history", get(history::list))
        .route("/admin/ui/history/{id}", get(message::show))
        .route("/admin/ui/rules", get(rules::show))
        .route("/admin/ui/rules/reload", post(rules::reload))
        .with_state(state)
}

async fn home() -> Redirect {
    Redirect::to("/admin/ui/history")
}

/// Returns the caller's valid session, or a redirect to the login form that
/// brings the browser back to `return_to` afterwards.
fn require_session(state: &UiState, headers: &HeaderMap, return_to: &str) -> Result<(String, Session), Redirect> {
    let found = form::cookie(headers, session::COOKIE_NAME)
        .and_then(|id| state.sessions.get(&id).map(|session| (id, session)));
    match found {
        Some(found) => Ok(found),
        None => {
            let location = format!("{UI_PREFIX}/login?next={}", form::percent_encode(return_to));
            Err(Redirect::to(&location))
        }
    }
}

/// Checks the `csrf_token` field of a state-changing form against the
/// session's token, without an early exit on the first differing byte.
fn csrf_token_matches(session: &Session, fields: &form::FormFields) -> bool {
    let presented = fields.get("csrf_token").unwrap_or_default();
    crate::admin::constant_time_equal(presented.as_bytes(), session.csrf_token.as_bytes())
}
