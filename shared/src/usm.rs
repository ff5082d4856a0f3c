//! SNMPv3 user-based security (USM) settings of a device.
//!
//! The security level follows from what is set: a user alone is noAuthNoPriv, a user with an
//! authentication protocol and password is authNoPriv, and adding a privacy protocol and
//! password makes it authPriv. Passwords are secrets: hidden from `Debug` and API answers.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validation::ValidationError;

/// Shortest password SNMPv3 accepts (RFC 3414 asks for at least 8 characters).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Authentication (HMAC) protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthProtocol {
    /// HMAC-MD5-96.
    Md5,
    /// HMAC-SHA-96 (SHA-1).
    Sha,
    /// HMAC-SHA-224 (RFC 7860).
    Sha224,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-384.
    Sha384,
    /// HMAC-SHA-512.
    Sha512,
}

impl AuthProtocol {
    fn parse(raw: &str) -> Result<Self, String> {
        Ok(match raw.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => Self::Md5,
            "sha" | "sha1" => Self::Sha,
            "sha224" => Self::Sha224,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            _ => {
                return Err(format!(
                    "unknown authentication protocol '{raw}': expected md5, sha, sha224, sha256, sha384 or sha512"
                ))
            }
        })
    }
}

/// Privacy (encryption) protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivProtocol {
    /// CBC-DES.
    Des,
    /// CFB-AES-128 (RFC 3826).
    Aes,
    /// AES-192, key extended as draft-blumenthal (net-snmp's AES-192).
    Aes192,
    /// AES-256, key extended as draft-blumenthal (net-snmp's AES-256).
    Aes256,
    /// AES-192 with the key extended as Cisco does (draft-reeder).
    Aes192c,
    /// AES-256 with the key extended as Cisco does (draft-reeder).
    Aes256c,
}

impl PrivProtocol {
    fn parse(raw: &str) -> Result<Self, String> {
        Ok(match raw.to_ascii_lowercase().replace('-', "").as_str() {
            "des" => Self::Des,
            "aes" | "aes128" => Self::Aes,
            "aes192" => Self::Aes192,
            "aes256" => Self::Aes256,
            "aes192c" => Self::Aes192c,
            "aes256c" => Self::Aes256c,
            _ => {
                return Err(format!(
                    "unknown privacy protocol '{raw}': expected des, aes, aes192, aes256, aes192c or aes256c"
                ))
            }
        })
    }
}

/// A secret string (a v3 password): never shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret from text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret itself, for key derivation or authentication only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Authentication protocol and password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// The HMAC.
    pub protocol: AuthProtocol,
    /// The password the key is derived from.
    pub password: Secret,
}

/// Privacy protocol and password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privacy {
    /// The cipher.
    pub protocol: PrivProtocol,
    /// The password the key is derived from.
    pub password: Secret,
}

/// The fields of a device's `v3` input object.
pub const V3_FIELDS: [&str; 5] = [
    "user",
    "auth_protocol",
    "auth_password",
    "priv_protocol",
    "priv_password",
];

/// A device's SNMPv3 user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsmUser {
    /// securityName.
    pub user: String,
    /// Authentication, for authNoPriv and authPriv.
    pub auth: Option<Authentication>,
    /// Privacy, for authPriv (requires `auth`).
    pub privacy: Option<Privacy>,
}

/// What the API shows of a v3 user: no passwords.
#[derive(Debug, Clone, Serialize)]
pub struct UsmUserView<'a> {
    /// securityName.
    pub user: &'a str,
    /// `noAuthNoPriv`, `authNoPriv` or `authPriv`.
    pub level: &'static str,
    /// Authentication protocol, if any.
    pub auth_protocol: Option<AuthProtocol>,
    /// Whether an authentication password is set (never the password).
    pub auth_password_set: bool,
    /// Privacy protocol, if any.
    pub priv_protocol: Option<PrivProtocol>,
    /// Whether a privacy password is set (never the password).
    pub priv_password_set: bool,
}

impl UsmUser {
    /// The RFC 3411 security level name.
    pub fn level(&self) -> &'static str {
        match (&self.auth, &self.privacy) {
            (None, _) => "noAuthNoPriv",
            (Some(_), None) => "authNoPriv",
            (Some(_), Some(_)) => "authPriv",
        }
    }

    /// What the API shows.
    pub fn view(&self) -> UsmUserView<'_> {
        UsmUserView {
            user: &self.user,
            level: self.level(),
            auth_protocol: self.auth.as_ref().map(|a| a.protocol),
            auth_password_set: self.auth.is_some(),
            priv_protocol: self.privacy.as_ref().map(|p| p.protocol),
            priv_password_set: self.privacy.is_some(),
        }
    }

    /// Parses the `v3` object of a device: `user`, `auth_protocol`, `auth_password`,
    /// `priv_protocol`, `priv_password`. Errors name the field as `v3.<key>`.
    pub fn from_json(value: &Value) -> Result<Self, ValidationError> {
        let Value::Object(map) = value else {
            return Err(ValidationError::new(
                "v3",
                "must be an object with user and optional auth/priv settings",
            ));
        };
        if let Some(unknown) = map.keys().find(|k| !V3_FIELDS.contains(&k.as_str())) {
            return Err(ValidationError::new(
                format!("v3.{unknown}"),
                "unknown field",
            ));
        }
        let user =
            text(map, "user")?.ok_or_else(|| ValidationError::new("v3.user", "is required"))?;
        if user.is_empty() || user.len() > 32 || !user.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(ValidationError::new(
                "v3.user",
                "must be 1 to 32 printable ASCII characters without spaces",
            ));
        }
        let auth = match (text(map, "auth_protocol")?, text(map, "auth_password")?) {
            (None, None) => None,
            (Some(p), Some(pw)) => Some(Authentication {
                protocol: AuthProtocol::parse(p)
                    .map_err(|m| ValidationError::new("v3.auth_protocol", m))?,
                password: password(pw, "v3.auth_password")?,
            }),
            (Some(_), None) => {
                return Err(ValidationError::new(
                    "v3.auth_password",
                    "is required with auth_protocol",
                ))
            }
            (None, Some(_)) => {
                return Err(ValidationError::new(
                    "v3.auth_protocol",
                    "is required with auth_password",
                ))
            }
        };
        let privacy = match (text(map, "priv_protocol")?, text(map, "priv_password")?) {
            (None, None) => None,
            (Some(p), Some(pw)) => Some(Privacy {
                protocol: PrivProtocol::parse(p)
                    .map_err(|m| ValidationError::new("v3.priv_protocol", m))?,
                password: password(pw, "v3.priv_password")?,
            }),
            (Some(_), None) => {
                return Err(ValidationError::new(
                    "v3.priv_password",
                    "is required with priv_protocol",
                ))
            }
            (None, Some(_)) => {
                return Err(ValidationError::new(
                    "v3.priv_protocol",
                    "is required with priv_password",
                ))
            }
        };
        if privacy.is_some() && auth.is_none() {
            return Err(ValidationError::new(
                "v3.priv_protocol",
                "privacy needs authentication too (authPriv)",
            ));
        }
        Ok(Self {
            user: user.to_owned(),
            auth,
            privacy,
        })
    }
}

fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ValidationError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ValidationError::new(
            format!("v3.{key}"),
            "must be a string",
        )),
    }
}

fn password(raw: &str, field: &str) -> Result<Secret, ValidationError> {
    if raw.chars().count() < MIN_PASSWORD_CHARS || raw.len() > 256 {
        return Err(ValidationError::new(
            field,
            format!("must be {MIN_PASSWORD_CHARS} to 256 characters"),
        ));
    }
    Ok(Secret(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_follow_from_what_is_set() {
        let none = UsmUser::from_json(&json!({"user": "mon"})).expect("valid");
        assert_eq!(none.level(), "noAuthNoPriv");
        let auth = UsmUser::from_json(
            &json!({"user": "mon", "auth_protocol": "SHA-256", "auth_password": "authpass1"}),
        )
        .expect("valid");
        assert_eq!(auth.level(), "authNoPriv");
        assert_eq!(
            auth.auth.as_ref().map(|a| a.protocol),
            Some(AuthProtocol::Sha256)
        );
        let full = UsmUser::from_json(&json!({"user": "mon", "auth_protocol": "sha", "auth_password": "authpass1",
                                               "priv_protocol": "AES", "priv_password": "privpass1"}))
        .expect("valid");
        assert_eq!(full.level(), "authPriv");
        let shown = serde_json::to_string(&full.view()).expect("json");
        assert!(!shown.contains("pass1"), "{shown}");
        assert!(!format!("{full:?}").contains("pass1"));
    }

    #[test]
    fn bad_v3_settings_name_their_field() {
        let cases = [
            (json!("mon"), "v3"),
            (json!({}), "v3.user"),
            (json!({"user": "a b"}), "v3.user"),
            (
                json!({"user": "mon", "auth_protocol": "sha"}),
                "v3.auth_password",
            ),
            (
                json!({"user": "mon", "auth_protocol": "sha3", "auth_password": "authpass1"}),
                "v3.auth_protocol",
            ),
            (
                json!({"user": "mon", "auth_protocol": "sha", "auth_password": "short"}),
                "v3.auth_password",
            ),
            (
                json!({"user": "mon", "priv_protocol": "aes", "priv_password": "privpass1"}),
                "v3.priv_protocol",
            ),
            (
                json!({"user": "mon", "auth_protocol": "md5", "auth_password": "authpass1", "priv_protocol": "3des",
                    "priv_password": "privpass1"}),
                "v3.priv_protocol",
            ),
            (json!({"user": "mon", "context": "x"}), "v3.context"),
        ];
        for (value, field) in cases {
            let err = UsmUser::from_json(&value).expect_err(&value.to_string());
            assert_eq!(err.field, field, "{value}: {err}");
        }
    }
}
