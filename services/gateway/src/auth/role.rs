//! The roles a user signs in with, ordered: each includes the ones below it.

use serde::{Deserialize, Serialize};

/// What a user may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads dashboards, status, history and logs.
    Viewer,
    /// Also adds, changes, deletes and rediscovers devices.
    Operator,
    /// Also manages users and reads the audit log.
    Admin,
}

impl Role {
    /// Parses `admin`, `operator` or `viewer`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Self::Admin),
            "operator" => Some(Self::Operator),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}
