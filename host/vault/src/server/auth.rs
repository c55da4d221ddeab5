//! Bearer-token check for the authenticated vault endpoints.
//!
//! A bearer token is either a configured API key, which may carry an expiry
//! time, or a session token issued by `GET /vault_rest/authenticate`. The check
//! attaches the [`Principal`] that the token stands for to the request, so
//! handlers can record and filter by owner.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};

use super::config::{VaultServerConfig, VaultUser};
use super::routes::AppState;
use super::{ApiError, rfc3339};

/// Owner id of everything done with an API key. It cannot clash with a user's
/// id, which is a UUID.
pub(crate) const API_KEY_OWNER: &str = "api-key";

/// Sender of a request: a user's id, or [`API_KEY_OWNER`] for an API key.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub(crate) user_id: String,
}

/// The accepted API keys and users, and the sessions opened by log-in.
pub(crate) struct Credentials {
    /// Each key with its expiry time, `None` for keys that never expire.
    api_keys: Vec<(String, Option<SystemTime>)>,
    users: Vec<VaultUser>,
    session_lifetime: Duration,

    /// Open sessions by token.
    sessions: Mutex<HashMap<String, Session>>,
}

struct Session {
    user_id: String,
    expires: SystemTime,
}

/// A session token with its expiry, as log-in returns it.
pub(crate) struct IssuedSession {
    pub(crate) token: String,
    pub(crate) expires: SystemTime,
    pub(crate) user_id: String,
}

impl Credentials {
    pub(crate) fn from_config(config: &VaultServerConfig) -> Credentials {
        let never_expiring = config.api_keys.iter().map(|key| (key.clone(), None));
        let expiring = config
            .expiring_api_keys
            .iter()
            .map(|key| (key.key.clone(), Some(key.expires)));

        Credentials {
            api_keys: never_expiring.chain(expiring).collect(),
            users: config.users.clone(),
            session_lifetime: config.session_lifetime,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Checks a user name and password and opens a session, or returns `None`
    /// when no configured user has both.
    pub(crate) fn log_in(&self, name: &str, password: &str) -> Option<IssuedSession> {
        // Every user is compared, so the time taken does not reveal which names exist.
        let matched = self.users.iter().fold(false, |matched, user| {
            let name_matches = constant_time_eq(user.name.as_bytes(), name.as_bytes());
            let password_matches = constant_time_eq(user.password.as_bytes(), password.as_bytes());
            matched | (name_matches & password_matches)
        });
        if !matched {
            return None;
        }

        let token = hex(&rand::random::<[u8; 32]>());
        let expires = SystemTime::now() + self.session_lifetime;
        let user_id = user_id(name);

        self.sessions
            .lock()
            .expect("no code panics while holding this lock")
            .insert(
                token.clone(),
                Session {
                    user_id: user_id.clone(),
                    expires,
                },
            );

        Some(IssuedSession {
            token,
            expires,
            user_id,
        })
    }

    /// Removes the sessions that expired before `now` and returns how many.
    pub(crate) fn forget_expired_sessions(&self, now: SystemTime) -> usize {
        let mut sessions = self
            .sessions
            .lock()
            .expect("no code panics while holding this lock");
        let before = sessions.len();

        sessions.retain(|_, session| session.expires > now);

        before - sessions.len()
    }

    /// Returns the principal of a bearer token, or the message of the 401 response.
    fn authenticate(&self, token: &[u8], now: SystemTime) -> Result<Principal, String> {
        let key = self
            .api_keys
            .iter()
            .find(|(key, _)| constant_time_eq(key.as_bytes(), token));
        if let Some((_, expires)) = key {
            return match expires {
                Some(expires) if *expires <= now => Err(format!(
                    "the API key expired at {}; ask the vault administrator for a new key",
                    rfc3339(*expires)
                )),
                _ => Ok(Principal {
                    user_id: API_KEY_OWNER.to_owned(),
                }),
            };
        }

        let token = std::str::from_utf8(token).map_err(|_| invalid_token())?;
        let mut sessions = self
            .sessions
            .lock()
            .expect("no code panics while holding this lock");
        let Some(session) = sessions.get(token) else {
            return Err(invalid_token());
        };

        if session.expires <= now {
            let expired = rfc3339(session.expires);
            sessions.remove(token);
            return Err(format!(
                "the session token expired at {expired}; log in again with GET /vault_rest/authenticate"
            ));
        }

        Ok(Principal {
            user_id: session.user_id.clone(),
        })
    }
}

fn invalid_token() -> String {
    "the bearer token is neither a valid API key nor an open session token".to_owned()
}

/// Passes the request on, with its [`Principal`] as an extension, when its
/// `Authorization: Bearer <token>` header is accepted, and returns 401 otherwise.
pub(crate) async fn require_token(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(HeaderValue::as_bytes);

    let outcome = match header.map(bearer_token) {
        None => Err(
            "the Authorization header is missing; send Authorization: Bearer <API key>".to_owned(),
        ),
        Some(None) => {
            Err("the Authorization header is not of the form Bearer <API key>".to_owned())
        }
        Some(Some(token)) => state.credentials.authenticate(token, SystemTime::now()),
    };

    match outcome {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(message) => unauthorized("UNAUTHORIZED", message),
    }
}

/// Builds a 401 response with the API's JSON error body.
pub(crate) fn unauthorized(ui_message_key: &'static str, message: String) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, ui_message_key, message).into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Returns the id of a configured user: a UUID derived from the MD5 digest of
/// the name, so the same user keeps the same id across restarts.
pub(crate) fn user_id(name: &str) -> String {
    let digest: [u8; 16] = Md5::new()
        .chain_update(b"mailgate-vault user\0")
        .chain_update(name.as_bytes())
        .finalize()
        .into();

    uuid::Builder::from_md5_bytes(digest)
        .into_uuid()
        .to_string()
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
pub(crate) fn constant_time_eq(expected: &[u8], actual: &[u8]) -> bool {
    if expected.len() != actual.len() {
        return false;
    }

    let difference = expected
        .iter()
        .zip(actual)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    difference == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::config::ExpiringApiKey;
    use super::*;

    fn credentials() -> Credentials {
        Credentials::from_config(&VaultServerConfig {
            api_keys: vec!["forever".to_owned()],
            expiring_api_keys: vec![ExpiringApiKey {
                key: "until-1000".to_owned(),
                expires: SystemTime::UNIX_EPOCH + Duration::from_secs(1000),
            }],
            users: vec![VaultUser {
                name: "alice".to_owned(),
                password: "pw".to_owned(),
            }],
            session_lifetime: Duration::from_secs(60),
            ..VaultServerConfig::default()
        })
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

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

    #[test]
    fn api_key_expiry() {
        let credentials = credentials();

        assert!(credentials.authenticate(b"forever", at(5000)).is_ok());
        assert!(credentials.authenticate(b"until-1000", at(999)).is_ok());

        let message = credentials
            .authenticate(b"until-1000", at(1000))
            .unwrap_err();
        assert!(message.contains("expired"), "{message}");

        let message = credentials.authenticate(b"unknown", at(0)).unwrap_err();
        assert!(!message.contains("expired"), "{message}");
    }

    #[test]
    fn session_token_accepted_until_expiry() {
        let credentials = credentials();
        let session = credentials.log_in("alice", "pw").expect("right password");
        let now = SystemTime::now();

        let principal = credentials
            .authenticate(session.token.as_bytes(), now)
            .unwrap();
        assert_eq!(principal.user_id, user_id("alice"));

        let late = now + Duration::from_secs(61);
        let message = credentials
            .authenticate(session.token.as_bytes(), late)
            .unwrap_err();
        assert!(message.contains("expired"), "{message}");
    }

    #[test]
    fn wrong_password_rejected() {
        let credentials = credentials();

        assert!(credentials.log_in("alice", "wrong").is_none());
        assert!(credentials.log_in("bob", "pw").is_none());
    }

    #[test]
    fn expired_sessions_forgotten() {
        let credentials = credentials();
        credentials.log_in("alice", "pw").unwrap();

        assert_eq!(credentials.forget_expired_sessions(SystemTime::now()), 0);

        let late = SystemTime::now() + Duration::from_secs(61);
        assert_eq!(credentials.forget_expired_sessions(late), 1);
    }
}
