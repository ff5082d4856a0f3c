//! Sessions: random tokens, each for one user, ending after an idle and an absolute limit.
//!
//! The same token works as the session cookie and as a bearer token for scripts. Sessions
//! live in this gateway's memory: a restart logs everyone out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Role;

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Login name.
    pub username: String,
    /// Role at login (refreshed from the store on each use).
    pub role: Role,
}

#[derive(Debug)]
struct Session {
    username: String,
    created: Instant,
    last_seen: Instant,
}

/// The open sessions.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
    idle: Duration,
    absolute: Duration,
}

impl Sessions {
    /// Sessions that end after `idle` without use or `absolute` after login.
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self {
            inner: Arc::new(Mutex::new(HashMap::new())),
            idle,
            absolute,
        }
    }

    /// Opens a session; returns its token (64 hex characters, 256 random bits).
    pub fn open(&self, username: &str) -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no OS random source: {e}"));
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut sessions = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget expired sessions now and then, so the map stays small.
        sessions.retain(|_, s| !self.expired(s, now));
        sessions.insert(
            token.clone(),
            Session {
                username: username.to_owned(),
                created: now,
                last_seen: now,
            },
        );
        token
    }

    fn expired(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last_seen) > self.idle
            || now.duration_since(session.created) > self.absolute
    }

    /// The user of a live session, marking it used.
    pub fn touch(&self, token: &str) -> Option<String> {
        let now = Instant::now();
        let mut sessions = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let session = sessions.get_mut(token)?;
        if self.expired(session, now) {
            sessions.remove(token);
            return None;
        }
        session.last_seen = now;
        Some(session.username.clone())
    }

    /// Ends a session.
    pub fn close(&self, token: &str) {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(token);
    }

    /// Ends every session of a user (deleted, or password changed).
    pub fn close_user(&self, username: &str) {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, s| s.username != username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_expire_and_close() {
        let sessions = Sessions::new(Duration::from_millis(50), Duration::from_secs(60));
        let token = sessions.open("ann");
        assert_eq!(token.len(), 64);
        assert_eq!(sessions.touch(&token).as_deref(), Some("ann"));
        assert_eq!(sessions.touch("nope"), None);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(sessions.touch(&token), None, "idle limit");
        let token = sessions.open("bob");
        sessions.close_user("bob");
        assert_eq!(sessions.touch(&token), None);
        let absolute = Sessions::new(Duration::from_secs(60), Duration::from_millis(30));
        let token = absolute.open("cy");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(absolute.touch(&token), None, "absolute limit");
    }
}
