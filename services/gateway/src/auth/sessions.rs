//! Sessions: random tokens, each for one user, ending after an idle and an absolute limit.
//!
//! The same token works as the session cookie and as a bearer token for scripts. Sessions
//! are kept in the `netpulse_sessions` bucket, so they survive a gateway restart and every
//! gateway honours the sessions any of them opened. The key is the SHA-256 of the token (in
//! hex), never the token: reading the bucket gives no usable session. The value is
//! [`SessionRecord`].
//!
//! Each gateway keeps the sessions it has seen in memory, so most requests cost no round
//! trip to NATS:
//!
//! - a cached session is read again from the bucket when this gateway last confirmed it more
//!   than [`RECHECK`] ago, so a logout or a password change on another gateway takes effect
//!   here within that time (on this gateway, at once);
//! - `last_seen_ms` is written back at most once a minute per session (more often only when
//!   the idle limit is under two minutes), so the idle limit is judged with a granularity of
//!   about a minute;
//! - a write-back names the revision it read: it never brings back a session that was closed
//!   meanwhile.
//!
//! The idle and absolute limits are judged on the stored times. The bucket's `max_age` is the
//! absolute limit, so entries of dead sessions vanish by themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::kv;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::role::Role;

/// How long a cached session is trusted before the bucket is read again.
pub const RECHECK: Duration = Duration::from_secs(5);

/// How long a read may wait for the bucket before a known session is trusted as it was.
const READ_PATIENCE: Duration = Duration::from_secs(2);

/// Longest time between two write-backs of a used session's `last_seen_ms`.
const WRITE_BACK: Duration = Duration::from_secs(60);

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Login name.
    pub username: String,
    /// Role at login (refreshed from the store on each use); for an API token, the lower of
    /// the token's role and its owner's.
    pub role: Role,
    /// The API token's name, when the request came with one rather than a session.
    pub token: Option<String>,
}

/// What the bucket holds of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Whose session it is.
    pub username: String,
    /// Login time, Unix milliseconds.
    pub created_ms: u64,
    /// Last use known to the bucket, Unix milliseconds (written back about once a minute).
    pub last_seen_ms: u64,
}

/// The session store failed.
#[derive(Debug, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct SessionError(String);

impl SessionError {
    fn from_store(error: &dyn std::fmt::Display) -> Self {
        Self(error.to_string())
    }
}

/// A session as this gateway last knew it.
#[derive(Debug, Clone)]
struct Cached {
    /// The record, `last_seen_ms` being the latest use seen here or in the bucket.
    record: SessionRecord,
    /// The bucket's revision of the entry last read or written.
    revision: u64,
    /// `last_seen_ms` as the bucket holds it.
    stored_last_seen_ms: u64,
    /// When the bucket last confirmed that the session is open.
    confirmed: Instant,
}

/// The open sessions.
#[derive(Clone)]
pub struct Sessions {
    store: kv::Store,
    /// Keyed by the bucket key (the token's hash).
    cache: Arc<Mutex<HashMap<String, Cached>>>,
    limits: Limits,
}

/// The idle and absolute limits, and how often a used session is written back.
#[derive(Debug, Clone, Copy)]
struct Limits {
    idle_ms: u64,
    absolute_ms: u64,
    write_back_ms: u64,
}

impl Limits {
    fn new(idle: Duration, absolute: Duration) -> Self {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            idle_ms: ms(idle),
            absolute_ms: ms(absolute),
            // Often enough that another gateway never finds a used session idle.
            write_back_ms: ms(WRITE_BACK.min(idle / 2)),
        }
    }

    fn expired(&self, record: &SessionRecord, now_ms: u64) -> bool {
        now_ms.saturating_sub(record.last_seen_ms) > self.idle_ms
            || now_ms.saturating_sub(record.created_ms) > self.absolute_ms
    }

    fn due_for_write_back(&self, cached: &Cached, now_ms: u64) -> bool {
        now_ms.saturating_sub(cached.stored_last_seen_ms) >= self.write_back_ms
    }
}

/// The bucket key of a token: SHA-256 in hex.
fn key_of(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Sessions {
    /// Sessions kept in `store`, ending after `idle` without use or `absolute` after login.
    pub fn new(store: kv::Store, idle: Duration, absolute: Duration) -> Self {
        Self {
            store,
            cache: Arc::new(Mutex::new(HashMap::new())),
            limits: Limits::new(idle, absolute),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens a session; returns its token (64 hex characters, 256 random bits).
    pub async fn open(&self, username: &str) -> Result<String, SessionError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no OS random source: {e}"));
        let token = hex(&bytes);
        let now = now_ms();
        let record = SessionRecord {
            username: username.to_owned(),
            created_ms: now,
            last_seen_ms: now,
        };
        let key = key_of(&token);
        let revision = self
            .store
            .create(&key, encode(&record)?)
            .await
            .map_err(|e| SessionError::from_store(&e))?;
        let mut cache = self.cache();
        // Forget expired sessions now and then, so the cache stays small.
        cache.retain(|_, c| !self.limits.expired(&c.record, now));
        cache.insert(
            key,
            Cached {
                record,
                revision,
                stored_last_seen_ms: now,
                confirmed: Instant::now(),
            },
        );
        Ok(token)
    }

    /// The user of a live session, marking it used.
    pub async fn touch(&self, token: &str) -> Result<Option<String>, SessionError> {
        let key = key_of(token);
        let cached = self.cache().get(&key).cloned();
        let mut session = match cached {
            Some(c) if c.confirmed.elapsed() < RECHECK => c,
            other => {
                let last_seen = other.as_ref().map(|c| c.record.last_seen_ms);
                match self.read(&key, last_seen).await {
                    Ok(Some(read)) => read,
                    Ok(None) => {
                        self.cache().remove(&key);
                        return Ok(None);
                    }
                    // The bucket does not answer (a cluster electing a leader): a session this
                    // gateway knows stays open meanwhile.
                    Err(error) => match other {
                        Some(known) => {
                            tracing::warn!(%error, "session store unavailable: using the session as last read");
                            known
                        }
                        None => return Err(error),
                    },
                }
            }
        };
        let now = now_ms();
        if self.limits.expired(&session.record, now) {
            self.cache().remove(&key);
            if let Err(error) = self.store.delete(&key).await {
                tracing::warn!(%error, "cannot delete an expired session");
            }
            return Ok(None);
        }
        session.record.last_seen_ms = session.record.last_seen_ms.max(now);
        if self.limits.due_for_write_back(&session, now) {
            let update = self
                .store
                .update(&key, encode(&session.record)?, session.revision);
            match tokio::time::timeout(READ_PATIENCE, update).await {
                Ok(Ok(revision)) => {
                    session.revision = revision;
                    session.stored_last_seen_ms = session.record.last_seen_ms;
                    session.confirmed = Instant::now();
                }
                Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    // Closed, or used on another gateway, since it was read: read it again.
                    let last_seen = Some(session.record.last_seen_ms);
                    let Some(read) = self.read(&key, last_seen).await? else {
                        self.cache().remove(&key);
                        return Ok(None);
                    };
                    session = read;
                }
                // The session was confirmed moments ago: serve, and write back next time.
                Ok(Err(error)) => tracing::warn!(%error, "cannot write a session's last use back"),
                Err(_) => tracing::warn!("cannot write a session's last use back in time"),
            }
        }
        let username = session.record.username.clone();
        self.cache().insert(key, session);
        Ok(Some(username))
    }

    /// The session under `key` as the bucket holds it, with `last_seen_ms` no older than
    /// `local_last_seen` (a use this gateway has not written back yet).
    async fn read(
        &self,
        key: &str,
        local_last_seen: Option<u64>,
    ) -> Result<Option<Cached>, SessionError> {
        let entry = tokio::time::timeout(READ_PATIENCE, self.store.entry(key))
            .await
            .map_err(|_| SessionError::from_store(&"no answer in time"))?
            .map_err(|e| SessionError::from_store(&e))?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            return Ok(None);
        };
        let Ok(mut record) = serde_json::from_slice::<SessionRecord>(&entry.value) else {
            tracing::warn!("unreadable session entry ignored");
            return Ok(None);
        };
        let stored_last_seen_ms = record.last_seen_ms;
        record.last_seen_ms = record.last_seen_ms.max(local_last_seen.unwrap_or(0));
        Ok(Some(Cached {
            record,
            revision: entry.revision,
            stored_last_seen_ms,
            confirmed: Instant::now(),
        }))
    }

    /// Ends a session, on every gateway.
    pub async fn close(&self, token: &str) -> Result<(), SessionError> {
        let key = key_of(token);
        self.cache().remove(&key);
        self.store
            .delete(&key)
            .await
            .map_err(|e| SessionError::from_store(&e))
    }

    /// Ends every session of a user (deleted, or password changed), on every gateway.
    pub async fn close_user(&self, username: &str) -> Result<(), SessionError> {
        self.cache().retain(|_, c| c.record.username != username);
        // The bucket holds only live sessions (max_age): reading it all is cheap.
        let keys: Vec<String> = self
            .store
            .keys()
            .await
            .map_err(|e| SessionError::from_store(&e))?
            .try_collect()
            .await
            .map_err(|e| SessionError::from_store(&e))?;
        for key in keys {
            let value = self
                .store
                .get(&key)
                .await
                .map_err(|e| SessionError::from_store(&e))?;
            let owner = value
                .and_then(|v| serde_json::from_slice::<SessionRecord>(&v).ok())
                .map(|r| r.username);
            if owner.as_deref() == Some(username) {
                self.store
                    .delete(&key)
                    .await
                    .map_err(|e| SessionError::from_store(&e))?;
            }
        }
        Ok(())
    }
}

fn encode(record: &SessionRecord) -> Result<bytes::Bytes, SessionError> {
    serde_json::to_vec(record)
        .map(Into::into)
        .map_err(|e| SessionError::from_store(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(created_ms: u64, last_seen_ms: u64) -> SessionRecord {
        SessionRecord {
            username: "ann".into(),
            created_ms,
            last_seen_ms,
        }
    }

    #[test]
    fn sessions_expire_after_the_idle_and_the_absolute_limit() {
        let limits = Limits::new(Duration::from_secs(60), Duration::from_secs(3600));
        assert!(!limits.expired(&record(0, 0), 60_000));
        assert!(limits.expired(&record(0, 0), 60_001), "idle limit");
        assert!(!limits.expired(&record(0, 3_590_000), 3_600_000));
        assert!(limits.expired(&record(0, 3_590_000), 3_600_001), "absolute");
        // A clock that went back does not end sessions.
        assert!(!limits.expired(&record(10_000, 10_000), 5_000));
    }

    #[test]
    fn last_use_is_written_back_about_once_a_minute() {
        let cached = |stored_last_seen_ms| Cached {
            record: record(0, stored_last_seen_ms),
            revision: 1,
            stored_last_seen_ms,
            confirmed: Instant::now(),
        };
        let limits = Limits::new(Duration::from_secs(1800), Duration::from_secs(43_200));
        assert!(!limits.due_for_write_back(&cached(0), 59_999));
        assert!(limits.due_for_write_back(&cached(0), 60_000));
        // A short idle limit is written back within half of it.
        let short = Limits::new(Duration::from_secs(20), Duration::from_secs(43_200));
        assert!(short.due_for_write_back(&cached(0), 10_000));
    }

    #[test]
    fn the_key_is_a_hash_of_the_token_not_the_token() {
        let token = "ab".repeat(32);
        let key = key_of(&token);
        assert_eq!(key.len(), 64);
        assert_ne!(key, token);
        assert_eq!(key, key_of(&token), "stable");
        assert_eq!(
            key_of("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn records_round_trip_as_json() {
        let stored = record(1, 2);
        let json = serde_json::to_value(&stored).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"username": "ann", "created_ms": 1, "last_seen_ms": 2})
        );
        assert_eq!(
            serde_json::from_value::<SessionRecord>(json).expect("back"),
            stored
        );
    }
}
