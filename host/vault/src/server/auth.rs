//! Bearer-token check for the authenticated vault endpoints.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use super::routes::AppState;

/// Passes the request on when its `Authorization: Bearer <token>` header contains
/// one of the configured API keys, and returns 401 otherwise.
pub(crate) async fn require_api_key(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(HeaderValue::as_bytes);

    let rejection = match header.map(bearer_token) {
        None => Some("the Authorization header is missing; send Authorization: Bearer <API key>"),
        Some(None) => Some("the Authorization header is not of the form Bearer <API key>"),
        Some(Some(token))
            if !state
                .api_keys
                .iter()
                .any(|key| constant_time_eq(key.as_bytes(), token)) =>
        {
            Some("the API key is invalid or expired")
        }
        Some(Some(_)) => None,
    };

    match rejection {
        None => next.run(request).await,
        Some(message) => {
            let mut response =
                ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message).into_response();
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// Returns the token of a `Bearer <token>` header value. The scheme name is
/// case-insensitive, as RFC 9110 defines.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;

    if scheme.eq_ignore_ascii_case(b"Bearer ") && !token.is_empty() {
        Some(token)
    } else {
        None
    }
}

/// Compares two byte strings in time that depends only on their lengths, so
/// response times do not reveal how much of a key was guessed right.
fn constant_time_eq(expected: &[u8], actual: &[u8]) -> bool {
    if expected.len() != actual.len() {
        return false;
    }

    let difference = expected
        .iter()
        .zip(actual)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_parsed() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bear"), None);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"key", b"key"));
        assert!(!constant_time_eq(b"key", b"kez"));
        assert!(!constant_time_eq(b"key", b"keys"));
    }
}
