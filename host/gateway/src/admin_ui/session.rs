//! Login sessions of the web interface, kept in memory.
//!
//! A session id and a CSRF token are each 32 bytes from the thread-local
//! generator of `rand` (a cryptographically secure generator), written as 64
//! hex digits. Sessions expire [`SESSION_LIFETIME`] after login, whatever
//! the activity; the store deletes expired ones when it meets them and
//! before it creates a session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the cookie that carries the session id.
pub(super) const COOKIE_NAME: &str = "mailgate_admin_session";

/// Time from login to the end of a session: 8 hours.
pub(super) const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// Maximum number of live sessions. When a login finds the store full, the
/// session closest to its expiry ends.
const MAX_SESSIONS: usize = 1024;

/// A message for the next page the session shows, set by a form that
/// redirects afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Flash {
    /// The action succeeded.
    Success(String),
    /// The action failed.
    Error(String),
}

/// One logged-in browser.
#[derive(Clone, Debug)]
pub(super) struct Session {
    /// Value that every state-changing form of this session must carry.
    pub csrf_token: String,
    /// Message for the next page, see [`Flash`].
    pub flash: Option<Flash>,
    expires_at: Instant,
}

/// The live sessions, by session id.
pub(super) struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
}

impl SessionStore {
    /// Creates an empty store.
    pub fn new() -> SessionStore {
        SessionStore { sessions: Mutex::new(HashMap::new()) }
    }

    /// Starts a session and returns its id.
    pub fn create(&self) -> String {
        let now = Instant::now();
        let id = random_token();
        let session = Session { csrf_token: random_token(), flash: None, expires_at: now + SESSION_LIFETIME };

        let mut sessions = self.lock();
        sessions.retain(|_, session| session.expires_at > now);
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions.iter().min_by_key(|(_, session)| session.expires_at).map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
                tracing::warn!(max_sessions = MAX_SESSIONS, "admin UI session limit reached; the oldest session ended");
            }
        }
        sessions.insert(id.clone(), session);
        id
    }

    /// Returns the session with `id` when it exists and has not expired.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut sessions = self.lock();
        let session = sessions.get(id)?;
        if session.expires_at <= Instant::now() {
            sessions.remove(id);
            return None;
        }
        Some(session.clone())
    }

    /// Sets the message that the session's next page shows.
    pub fn set_flash(&self, id: &str, flash: Flash) {
        if let Some(session) = self.lock().get_mut(id) {
            session.flash = Some(flash);
        }
    }

    /// Removes and returns the session's pending message.
    pub fn take_flash(&self, id: &str) -> Option<Flash> {
        self.lock().get_mut(id).and_then(|session| session.flash.take())
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while the lock was held leaves a map that is still
        // consistent, because every change above is a single map operation.
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_session_is_found() {
        let store = SessionStore::new();
        let id = store.create();

        let session = store.get(&id).expect("session exists");
        assert_eq!(session.csrf_token.len(), 64);
        assert_ne!(session.csrf_token, id);
        assert!(store.get("unknown").is_none());
    }

    #[test]
    fn removed_session_is_gone() {
        let store = SessionStore::new();
        let id = store.create();

        store.remove(&id);
        assert!(store.get(&id).is_none());
    }

    #[test]
    fn expired_session_is_rejected() {
        let store = SessionStore::new();
        let id = store.create();
        store.lock().get_mut(&id).unwrap().expires_at = Instant::now();

        assert!(store.get(&id).is_none());
        assert!(store.lock().is_empty());
    }

    #[test]
    fn flash_is_shown_once() {
        let store = SessionStore::new();
        let id = store.create();

        store.set_flash(&id, Flash::Success("done".to_string()));
        assert_eq!(store.take_flash(&id), Some(Flash::Success("done".to_string())));
        assert_eq!(store.take_flash(&id), None);
    }

    #[test]
    fn full_store_ends_oldest_session() {
        let store = SessionStore::new();
        let first = store.create();
        store.lock().get_mut(&first).unwrap().expires_at -= Duration::from_secs(60);
        for _ in 1..MAX_SESSIONS {
            store.create();
        }

        let newest = store.create();
        assert!(store.get(&first).is_none());
        assert!(store.get(&newest).is_some());
        assert_eq!(store.lock().len(), MAX_SESSIONS);
    }
}
