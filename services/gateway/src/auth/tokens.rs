//! API tokens: named, long-lived bearer tokens for scripts, netpulsectl and Prometheus.
//!
//! A token reads `np_<id>_<secret>`: the id (16 hex characters) names its entry in the
//! `netpulse_tokens` bucket, the secret (64 hex characters, 256 random bits) is shown once,
//! at creation, and stored only as its SHA-256. Each token has a role no higher than its
//! owner's when it was made; it acts with the lower of that role and the owner's current one,
//! and dies with its owner. It may expire.
//!
//! Every gateway holds every token in memory, following the bucket: a revocation on one
//! gateway is refused at once there and within moments on the others, and tokens keep
//! working while NATS is briefly away. A token not yet seen (made on another gateway a moment
//! ago) is read from the bucket. A token's last use is written back at most once a minute.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::role::Role;

/// How every token starts.
pub const PREFIX: &str = "np_";

/// Longest time between two write-backs of a used token's `last_used_ms`.
const WRITE_BACK_MS: u64 = 60_000;

/// Longest token name.
pub const MAX_NAME_CHARS: usize = 64;

/// Longest expiry, days.
pub const MAX_EXPIRY_DAYS: u64 = 3650;

/// What there is to know of a token, its secret aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AboutToken {
    /// The token's id (its bucket key).
    pub id: String,
    /// What it is for, as its owner named it.
    pub name: String,
    /// Who made it; the token acts as this user.
    pub owner: String,
    /// The most the token may do.
    pub role: Role,
    /// When it was made, Unix milliseconds.
    pub created_ms: u64,
    /// When it stops working, Unix milliseconds; never when absent (null).
    pub expires_ms: Option<u64>,
    /// Its last use known to the bucket, Unix milliseconds (null: never used); to about a
    /// minute.
    pub last_used_ms: Option<u64>,
}

/// What the bucket holds of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Everything but the secret.
    #[serde(flatten)]
    pub about: AboutToken,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
}

/// What the API shows of a token: everything but the secret's hash.
#[derive(Debug, Clone, Serialize)]
pub struct ShownToken {
    /// The token.
    #[serde(flatten)]
    pub about: AboutToken,
    /// Whether it has expired.
    pub expired: bool,
}

impl TokenRecord {
    /// What the API shows at `now_ms`.
    pub fn shown(&self, now_ms: u64) -> ShownToken {
        ShownToken {
            about: self.about.clone(),
            expired: self.expired(now_ms),
        }
    }

    /// Whether the token has expired at `now_ms`.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.about.expires_ms.is_some_and(|end| now_ms >= end)
    }
}

/// Why a token was not accepted, or a token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a token this netpulse issued, or revoked.
    #[error("unknown or revoked token")]
    Unknown,
    /// Past its expiry.
    #[error("token '{0}' has expired")]
    Expired(String),
    /// The store failed.
    #[error("token store unavailable: {0}")]
    Store(String),
}

/// A token as this gateway holds it.
#[derive(Debug, Clone)]
struct Held {
    record: TokenRecord,
    /// The bucket's revision of the entry.
    revision: u64,
    /// The latest use seen here (written back once a minute).
    used_ms: Option<u64>,
}

/// The API tokens.
#[derive(Clone)]
pub struct Tokens {
    store: kv::Store,
    held: Arc<RwLock<HashMap<String, Held>>>,
}

/// The parts of a presented token: id and secret.
pub fn parts(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 16) && hex(secret, 64)).then_some((id, secret))
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).unwrap_or_else(|e| panic!("no OS random source: {e}"));
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two strings are equal, in a time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Tokens {
    /// Tokens kept in `store`; [`Tokens::follow`] keeps this gateway's copy current.
    pub fn new(store: kv::Store) -> Self {
        Self {
            store,
            held: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    fn read_held(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Held>> {
        self.held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_held(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Held>> {
        self.held
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Follows the bucket for as long as it runs, so every gateway sees new, changed and
    /// revoked tokens within moments.
    pub async fn follow(self) {
        let mut following = netpulse_shared::bus::Following::new(self.store.clone());
        loop {
            let entry = following.next().await;
            self.learn(&entry.key, entry.operation, &entry.value, entry.revision);
        }
    }

    fn learn(&self, id: &str, operation: kv::Operation, value: &[u8], revision: u64) {
        let mut held = self.write_held();
        if operation != kv::Operation::Put {
            held.remove(id);
            return;
        }
        let Ok(record) = serde_json::from_slice::<TokenRecord>(value) else {
            tracing::warn!(id, "unreadable token entry ignored");
            return;
        };
        match held.get_mut(id) {
            Some(known) if known.revision >= revision => {}
            Some(known) => {
                known.record = record;
                known.revision = revision;
            }
            None => {
                held.insert(
                    id.to_owned(),
                    Held {
                        record,
                        revision,
                        used_ms: None,
                    },
                );
            }
        }
    }

    /// Makes a token; returns it with the token text, which is never shown again.
    pub async fn create(
        &self,
        name: &str,
        owner: &str,
        role: Role,
        expires_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(TokenRecord, String), TokenError> {
        let id = random_hex(8);
        let secret = random_hex(32);
        let record = TokenRecord {
            about: AboutToken {
                id: id.clone(),
                name: name.to_owned(),
                owner: owner.to_owned(),
                role,
                created_ms: now_ms,
                expires_ms,
                last_used_ms: None,
            },
            secret_sha256: sha256_hex(&secret),
        };
        let value = serde_json::to_vec(&record).map_err(|e| TokenError::Store(e.to_string()))?;
        let revision = self
            .store
            .create(&id, value.into())
            .await
            .map_err(|e| TokenError::Store(e.to_string()))?;
        self.learn(
            &id,
            kv::Operation::Put,
            &serde_json::to_vec(&record).unwrap_or_default(),
            revision,
        );
        Ok((record, format!("{PREFIX}{id}_{secret}")))
    }

    /// Every token, or only `owner`'s, by owner and name.
    pub fn list(&self, owner: Option<&str>) -> Vec<TokenRecord> {
        let mut tokens: Vec<TokenRecord> = self
            .read_held()
            .values()
            .filter(|h| owner.is_none_or(|o| h.record.about.owner == o))
            .map(|h| {
                let mut record = h.record.clone();
                record.about.last_used_ms = record.about.last_used_ms.max(h.used_ms);
                record
            })
            .collect();
        tokens.sort_by(|a, b| {
            let (a, b) = (&a.about, &b.about);
            (&a.owner, &a.name, &a.id).cmp(&(&b.owner, &b.name, &b.id))
        });
        tokens
    }

    /// The token `id`, when it exists.
    pub fn get(&self, id: &str) -> Option<TokenRecord> {
        self.read_held().get(id).map(|h| h.record.clone())
    }

    /// Revokes a token, on every gateway.
    pub async fn revoke(&self, id: &str) -> Result<(), TokenError> {
        self.write_held().remove(id);
        self.store
            .delete(id)
            .await
            .map_err(|e| TokenError::Store(e.to_string()))
    }

    /// Revokes every token of `owner` (a user deleted), reading the bucket itself: it works
    /// without [`Tokens::follow`] (the command line's `user del`).
    pub async fn revoke_owned_by(&self, owner: &str) -> Result<(), TokenError> {
        let store_error = |e: &dyn std::fmt::Display| TokenError::Store(e.to_string());
        let ids: Vec<String> = self
            .store
            .keys()
            .await
            .map_err(|e| store_error(&e))?
            .try_collect()
            .await
            .map_err(|e| store_error(&e))?;
        for id in ids {
            let value = self.store.get(&id).await.map_err(|e| store_error(&e))?;
            let owned = value
                .and_then(|v| serde_json::from_slice::<TokenRecord>(&v).ok())
                .is_some_and(|t| t.about.owner == owner);
            if owned {
                self.revoke(&id).await?;
            }
        }
        Ok(())
    }

    /// The token a request presents, checked and marked used.
    pub async fn verify(&self, token: &str, now_ms: u64) -> Result<TokenRecord, TokenError> {
        let (id, secret) = parts(token).ok_or(TokenError::Unknown)?;
        if !self.read_held().contains_key(id) {
            // Made on another gateway a moment ago, or this gateway has just started.
            let entry = self
                .store
                .entry(id)
                .await
                .map_err(|e| TokenError::Store(e.to_string()))?
                .ok_or(TokenError::Unknown)?;
            self.learn(id, entry.operation, &entry.value, entry.revision);
        }
        let (record, write_back) = {
            let mut held = self.write_held();
            let known = held.get_mut(id).ok_or(TokenError::Unknown)?;
            if !same(&known.record.secret_sha256, &sha256_hex(secret)) {
                return Err(TokenError::Unknown);
            }
            if known.record.expired(now_ms) {
                return Err(TokenError::Expired(known.record.about.name.clone()));
            }
            known.used_ms = known.used_ms.max(Some(now_ms));
            let stored = known.record.about.last_used_ms.unwrap_or(0);
            let due = now_ms.saturating_sub(stored) >= WRITE_BACK_MS;
            let mut record = known.record.clone();
            record.about.last_used_ms = known.used_ms;
            (record, due.then_some(known.revision))
        };
        if let Some(revision) = write_back {
            // Apart from the request: it must not wait for NATS.
            let (tokens, stored) = (self.clone(), record.clone());
            tokio::spawn(async move { tokens.write_back(&stored, revision).await });
        }
        Ok(record)
    }

    /// Stores a token's last use, unless it changed (or was revoked) since `revision`.
    async fn write_back(&self, record: &TokenRecord, revision: u64) {
        let Ok(value) = serde_json::to_vec(record) else {
            return;
        };
        match self
            .store
            .update(&record.about.id, value.clone().into(), revision)
            .await
        {
            Ok(new_revision) => {
                self.learn(&record.about.id, kv::Operation::Put, &value, new_revision)
            }
            Err(error) => {
                tracing::debug!(%error, id = record.about.id, "token's last use not stored")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_prefix_id_and_secret() {
        let token = format!("np_{}_{}", "0123456789abcdef", "ab".repeat(32));
        assert_eq!(
            parts(&token),
            Some(("0123456789abcdef", "ab".repeat(32).as_str()))
        );
        assert_eq!(parts("np_0123_abcd"), None, "too short");
        assert_eq!(parts(&token.replace("np_", "xx_")), None, "prefix");
        assert_eq!(parts(&token.replace('a', "g")), None, "not hex");
        assert_eq!(parts(&"ab".repeat(32)), None, "a session token");
    }

    #[test]
    fn expiry_and_what_is_shown() {
        let record = TokenRecord {
            about: AboutToken {
                id: "0123456789abcdef".into(),
                name: "ci".into(),
                owner: "ann".into(),
                role: Role::Viewer,
                created_ms: 1,
                expires_ms: Some(1_000),
                last_used_ms: None,
            },
            secret_sha256: sha256_hex("s"),
        };
        assert!(!record.expired(999));
        assert!(record.expired(1_000));
        let shown = serde_json::to_value(record.shown(2_000)).expect("json");
        assert_eq!(shown["expired"], true);
        assert!(
            !shown.to_string().contains(&record.secret_sha256),
            "the hash is never shown"
        );
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
