//! The login form, which exchanges the admin token for a session cookie, and
//! logout.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::{self, FormFields};
use super::html::{self, escape};
use super::session::{COOKIE_NAME, SESSION_LIFETIME};
use super::{UI_PREFIX, UiState};

/// Page that a login without a valid `next` target leads to.
const DEFAULT_TARGET: &str = "/admin/ui/history";

/// Delay before the reply to a wrong token, which slows down guessing.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(500);

/// Query parameters of `GET /admin/ui/login`.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct LoginParameters {
    /// Page to return to after login, see [`safe_target`].
    next: Option<String>,
}

/// `GET /admin/ui/login`: the form, or a redirect when the session is
/// already valid.
pub(super) async fn show(State(state): State<UiState>, headers: HeaderMap, Query(parameters): Query<LoginParameters>) -> Response {
    let target = safe_target(parameters.next.as_deref());
    let logged_in = form::cookie(&headers, COOKIE_NAME).is_some_and(|id| state.sessions.get(&id).is_some());
    if logged_in {
        return Redirect::to(target).into_response();
    }
    login_page(StatusCode::OK, target, None)
}

/// `POST /admin/ui/login`: starts a session when the `token` field equals
/// the admin token; `401` with the form again otherwise.
pub(super) async fn submit(State(state): State<UiState>, body: Bytes) -> Response {
    let fields = FormFields::parse(&body);
    let target = safe_target(fields.get("next"));
    let token = fields.get("token").unwrap_or_default();

    if !crate::admin::constant_time_equal(token.as_bytes(), state.admin.token.as_bytes()) {
        tracing::warn!("admin UI login failed: wrong admin token");
        tokio::time::sleep(FAILED_LOGIN_DELAY).await;
        return login_page(StatusCode::UNAUTHORIZED, target, Some("The admin token is wrong. Enter the value of admin.token or MAILGATE_ADMIN_TOKEN."));
    }

    let id = state.sessions.create();
    tracing::info!("admin UI login");
    let cookie = format!(
        "{COOKIE_NAME}={id}; Path={UI_PREFIX}; Max-Age={}; HttpOnly; SameSite=Strict",
        SESSION_LIFETIME.as_secs()
    );
    with_cookie(Redirect::to(target).into_response(), &cookie)
}

/// `POST /admin/ui/logout`: ends the session when the form carries its CSRF
/// token, and clears the cookie.
pub(super) async fn logout(State(state): State<UiState>, headers: HeaderMap, body: Bytes) -> Response {
    let (id, session) = match super::require_session(&state, &headers, DEFAULT_TARGET) {
        Ok(found) => found,
        Err(redirect) => return redirect.into_response(),
    };
    let fields = FormFields::parse(&body);
    if !super::csrf_token_matches(&session, &fields) {
        return html::error_page(
            StatusCode::FORBIDDEN,
            "Logout rejected",
            html::Section::History,
            &session.csrf_token,
            "The form did not carry this session's CSRF token. Use the Log out button of a page of this interface.",
        );
    }

    state.sessions.remove(&id);
    let cookie = format!("{COOKIE_NAME}=; Path={UI_PREFIX}; Max-Age=0; HttpOnly; SameSite=Strict");
    with_cookie(Redirect::to("/admin/ui/login").into_response(), &cookie)
}

/// Returns `next` when it is a path inside the interface that is safe to put
/// in a `Location` header, else the history page. Only visible ASCII is
/// accepted, and the prefix keeps the redirect on this origin.
fn safe_target(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with("/admin/ui/")
                && !next.starts_with("/admin/ui/login")
                && next.bytes().all(|byte| byte.is_ascii_graphic() && byte != b'\\') =>
        {
            next
        }
        _ => DEFAULT_TARGET,
    }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        Err(error) => tracing::error!(%error, "admin UI cookie is not a valid header value"),
    }
    response
}

fn login_page(status: StatusCode, target: &str, error: Option<&str>) -> Response {
    let notice = error.map(|text| format!("<div class=\"notice bad\">{}</div>", escape(text))).unwrap_or_default();
    let body = format!(
        "<main><div class=\"login\"><div class=\"card\"><h1>mailgate admin</h1>\
         <p class=\"muted\">Log in with the gateway's admin token.</p>{notice}\
         <form method=\"post\" action=\"/admin/ui/login\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label>Admin token<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus></label>\
         <button type=\"submit\">Log in</button></form></div></div></main>",
        escape(target)
    );
    html::page(status, html::document("Log in", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_stays_inside_interface() {
        assert_eq!(safe_target(Some("/admin/ui/rules")), "/admin/ui/rules");
        assert_eq!(safe_target(Some("/admin/ui/history?sender=a%40b")), "/admin/ui/history?sender=a%40b");
        assert_eq!(safe_target(Some("https://example.com/")), DEFAULT_TARGET);
        assert_eq!(safe_target(Some("//example.com/admin/ui/")), DEFAULT_TARGET);
        assert_eq!(safe_target(Some("/admin/ui/\\example.com")), DEFAULT_TARGET);
        assert_eq!(safe_target(Some("/admin/ui/x\r\nSet-Cookie: a=b")), DEFAULT_TARGET);
        assert_eq!(safe_target(Some("/admin/ui/login")), DEFAULT_TARGET);
        assert_eq!(safe_target(None), DEFAULT_TARGET);
    }
}
