//! Users: names, roles and argon2 password hashes, kept in the `netpulse_users` bucket.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use async_nats::jetstream::kv;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::role::Role;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A stored user. The hash never leaves the gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredUser {
    /// Login name.
    pub username: String,
    /// What the user may do.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// When the user was created, Unix milliseconds.
    pub created_ms: u64,
}

/// What the API shows of a user.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// When the user was created, Unix milliseconds.
    pub created_ms: u64,
}

impl StoredUser {
    /// What the API shows.
    pub fn view(&self) -> UserView {
        UserView {
            username: self.username.clone(),
            role: self.role,
            created_ms: self.created_ms,
        }
    }
}

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Input refused; the field and why.
    #[error("{field}: {message}")]
    Invalid {
        /// `username`, `password` or `role`.
        field: &'static str,
        /// For a human.
        message: String,
    },
    /// The name is taken.
    #[error("user '{0}' already exists")]
    Exists(String),
    /// No such user.
    #[error("no user '{0}'")]
    Missing(String),
    /// The change would leave no admin.
    #[error("netpulse needs at least one admin")]
    LastAdmin,
    /// The store failed.
    #[error("user store unavailable: {0}")]
    Store(String),
}

/// Checks a user name: 1 to 32 of a-z, 0-9, `.`, `_`, `-`.
pub fn check_username(name: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(UserError::Invalid {
            field: "username",
            message: "must be 1 to 32 of a-z, 0-9, '.', '_' and '-'".into(),
        })
    }
}

/// Checks a password's length.
pub fn check_password(password: &str) -> Result<(), UserError> {
    let chars = password.chars().count();
    if (MIN_PASSWORD_CHARS..=256).contains(&chars) {
        Ok(())
    } else {
        Err(UserError::Invalid {
            field: "password",
            message: format!("must be {MIN_PASSWORD_CHARS} to 256 characters"),
        })
    }
}

/// argon2id hash of a password, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| UserError::Store(format!("cannot hash password: {e}")))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password for the first admin: 20 characters from an unambiguous alphabet.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    // Without an OS random source nothing safe can be made: stop rather than guess.
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no OS random source: {e}"));
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// How long a read may wait for the bucket before the user as last read is used.
const READ_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// The users bucket, and each user as last read from it (used while the bucket does not
/// answer).
#[derive(Clone)]
pub struct UserStore {
    store: kv::Store,
    known: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, StoredUser>>>,
}

impl UserStore {
    /// Wraps the bucket.
    pub fn new(store: kv::Store) -> Self {
        Self {
            store,
            known: std::sync::Arc::default(),
        }
    }

    /// One user; while the bucket does not answer, the user as last read here.
    pub async fn get(&self, username: &str) -> Result<Option<StoredUser>, UserError> {
        if check_username(username).is_err() {
            return Ok(None);
        }
        let read = tokio::time::timeout(READ_PATIENCE, self.store.get(username)).await;
        let value = match read {
            Ok(Ok(value)) => value,
            failed => {
                let error = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "no answer in time".to_owned(),
                };
                // The bucket does not answer (a cluster electing a leader): the user as last
                // read here, if ever.
                return match self.known().get(username) {
                    Some(user) => {
                        tracing::warn!(
                            error,
                            "user store unavailable: using the user as last read"
                        );
                        Ok(Some(user.clone()))
                    }
                    None => Err(UserError::Store(error)),
                };
            }
        };
        let user: Option<StoredUser> = value.and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let mut known = self.known();
        match &user {
            Some(user) => known.insert(username.to_owned(), user.clone()),
            None => known.remove(username),
        };
        Ok(user)
    }

    fn known(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, StoredUser>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every user, by name.
    pub async fn list(&self) -> Result<Vec<StoredUser>, UserError> {
        let keys: Vec<String> = self
            .store
            .keys()
            .await
            .map_err(|e| UserError::Store(e.to_string()))?
            .try_collect()
            .await
            .map_err(|e| UserError::Store(e.to_string()))?;
        let mut users = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(user) = self.get(&key).await? {
                users.push(user);
            }
        }
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    /// Adds a user; refuses a taken name.
    pub async fn add(
        &self,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<StoredUser, UserError> {
        check_username(username)?;
        check_password(password)?;
        let user = StoredUser {
            username: username.to_owned(),
            role,
            password_hash: hash_password(password)?,
            created_ms: netpulse_shared::time::now_ms(),
        };
        let bytes = serde_json::to_vec(&user).map_err(|e| UserError::Store(e.to_string()))?;
        match self.store.create(username, bytes.into()).await {
            Ok(_) => Ok(user),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                Err(UserError::Exists(username.to_owned()))
            }
            Err(e) => Err(UserError::Store(e.to_string())),
        }
    }

    /// Changes a user's password and/or role; keeps at least one admin.
    pub async fn update(
        &self,
        username: &str,
        password: Option<&str>,
        role: Option<Role>,
    ) -> Result<StoredUser, UserError> {
        let mut user = self
            .get(username)
            .await?
            .ok_or_else(|| UserError::Missing(username.to_owned()))?;
        if let Some(password) = password {
            check_password(password)?;
            user.password_hash = hash_password(password)?;
        }
        if let Some(role) = role {
            if user.role == Role::Admin && role != Role::Admin && self.admins().await? <= 1 {
                return Err(UserError::LastAdmin);
            }
            user.role = role;
        }
        let bytes = serde_json::to_vec(&user).map_err(|e| UserError::Store(e.to_string()))?;
        self.store
            .put(username, bytes.into())
            .await
            .map_err(|e| UserError::Store(e.to_string()))?;
        Ok(user)
    }

    /// Removes a user; keeps at least one admin.
    pub async fn remove(&self, username: &str) -> Result<(), UserError> {
        let user = self
            .get(username)
            .await?
            .ok_or_else(|| UserError::Missing(username.to_owned()))?;
        if user.role == Role::Admin && self.admins().await? <= 1 {
            return Err(UserError::LastAdmin);
        }
        self.store
            .purge(username)
            .await
            .map_err(|e| UserError::Store(e.to_string()))
    }

    async fn admins(&self) -> Result<usize, UserError> {
        Ok(self
            .list()
            .await?
            .iter()
            .filter(|u| u.role == Role::Admin)
            .count())
    }

    /// Creates `admin` when there are no users at all. Returns the password when it was
    /// generated (to be shown once).
    pub async fn ensure_admin(
        &self,
        configured: Option<&str>,
    ) -> Result<Option<String>, UserError> {
        if !self.list().await?.is_empty() {
            return Ok(None);
        }
        let (password, generated) = match configured {
            Some(p) if !p.is_empty() => (p.to_owned(), false),
            _ => (random_password(), true),
        };
        match self.add("admin", &password, Role::Admin).await {
            Ok(_) | Err(UserError::Exists(_)) => Ok(generated.then_some(password)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse battery").expect("hash");
        let b = hash_password("correct horse battery").expect("hash");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("wrong horse battery", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn names_and_passwords() {
        assert!(check_username("ops.team-1").is_ok());
        for bad in ["", "Admin", "a b", "<x>", &"a".repeat(33)] {
            assert!(check_username(bad).is_err(), "{bad:?}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password("long enough!").is_ok());
        assert_eq!(random_password().len(), 20);
        assert_ne!(random_password(), random_password());
    }
}
