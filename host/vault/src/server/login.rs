//! Session log-in, `GET /vault_rest/authenticate`.
//!
//! The request carries `Authorization: Basic base64(user + "\r\n" + password)`.
//! Unlike RFC 7617, the user name and password are separated by CR LF, not by a
//! colon, so a colon may appear in either. The response is
//! `{"token", "expires", "user_id"}`, where `token` is sent as a bearer token
//! afterwards and `expires` is an RFC 3339 time in UTC.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::auth::unauthorized;
use super::rfc3339;
use super::routes::AppState;

/// `GET /authenticate`: checks the user's credentials and opens a session.
pub(crate) async fn authenticate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let (name, password) = match basic_credentials(&headers) {
        Ok(credentials) => credentials,
        Err(message) => return unauthorized("AUTHENTICATION_FAILED", message.to_owned()),
    };

    let Some(session) = state.credentials.log_in(&name, &password) else {
        tracing::info!(user = name, "vault log-in failed");
        return unauthorized(
            "AUTHENTICATION_FAILED",
            "the user name or password is wrong".to_owned(),
        );
    };

    tracing::info!(
        user = name,
        user_id = session.user_id,
        "vault log-in succeeded"
    );
    Json(json!({
        "token": session.token,
        "expires": rfc3339(session.expires),
        "user_id": session.user_id,
    }))
    .into_response()
}

/// Reads the user name and password from the `Authorization: Basic` header, or
/// returns the message of the 401 response.
fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), &'static str> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or("the Authorization header is missing; send Authorization: Basic base64(user CR LF password)")?
        .as_bytes();

    let encoded = value
        .split_at_checked(6)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"Basic "))
        .map(|(_, encoded)| encoded)
        .ok_or("the Authorization header is not of the form Basic base64(user CR LF password)")?;

    let decoded = STANDARD
        .decode(encoded.trim_ascii())
        .map_err(|_| "the Basic credentials are not valid base64")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;

    let Some((name, password)) = decoded.split_once("\r\n") else {
        return Err(
            "the Basic credentials have no CR LF between user name and password; \
             separate them with CR LF, not a colon",
        );
    };

    Ok((name.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.parse().unwrap());
        headers
    }

    fn basic(credentials: &str) -> HeaderMap {
        headers(&format!("Basic {}", STANDARD.encode(credentials)))
    }

    #[test]
    fn crlf_separator_parsed() {
        let (name, password) = basic_credentials(&basic("alice\r\npass:word")).unwrap();

        assert_eq!(name, "alice");
        assert_eq!(password, "pass:word");
    }

    #[test]
    fn colon_separator_rejected() {
        let message = basic_credentials(&basic("alice:password")).unwrap_err();

        assert!(message.contains("not a colon"), "{message}");
    }

    #[test]
    fn malformed_headers_rejected() {
        assert!(basic_credentials(&HeaderMap::new()).is_err());
        assert!(basic_credentials(&headers("Bearer abc")).is_err());
        assert!(basic_credentials(&headers("Basic !!!")).is_err());
    }
}
