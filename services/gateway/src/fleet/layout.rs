//! Where each user placed the map's nodes, kept in the `netpulse_map_layouts` bucket, one key
//! per user name. A node the layout does not name is placed by the automatic layout.

use std::collections::BTreeMap;

use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Largest layout accepted, in bytes.
pub const MAX_LAYOUT_BYTES: usize = 1024 * 1024;
/// Most nodes a layout may place.
pub const MAX_NODES: usize = 20_000;
/// Longest node id a layout may name, in characters.
const MAX_ID_CHARS: usize = 300;
/// How far from the origin a node may be placed.
const MAX_COORDINATE: f64 = 1.0e7;

/// A node's place on the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Horizontal, in the map's units.
    pub x: f64,
    /// Vertical.
    pub y: f64,
}

/// A user's placements: node id to place.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Each placed node by id.
    pub positions: BTreeMap<String, Position>,
}

impl Layout {
    /// Reads and checks a request body; the error names what is wrong.
    pub fn from_json_body(body: &[u8]) -> Result<Self, ApiError> {
        let layout: Self = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_field(
                "positions",
                format!(
                    "expected {{\"positions\": {{\"<node id>\": {{\"x\": 0, \"y\": 0}}}}}}: {e}"
                ),
            )
        })?;
        if layout.positions.len() > MAX_NODES {
            return Err(ApiError::bad_field(
                "positions",
                format!("at most {MAX_NODES} nodes"),
            ));
        }
        for (id, at) in &layout.positions {
            if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
                return Err(ApiError::bad_field(
                    "positions",
                    format!("a node id must be 1 to {MAX_ID_CHARS} characters"),
                ));
            }
            let fine = |v: f64| v.is_finite() && v.abs() <= MAX_COORDINATE;
            if !fine(at.x) || !fine(at.y) {
                return Err(ApiError::bad_field(
                    "positions",
                    format!("{id}: x and y must be numbers within ±{MAX_COORDINATE}"),
                ));
            }
        }
        Ok(layout)
    }
}

/// The layouts bucket.
#[derive(Clone)]
pub struct Layouts(kv::Store);

impl Layouts {
    /// Wraps the bucket.
    pub fn new(store: kv::Store) -> Self {
        Self(store)
    }

    /// `user`'s layout; empty when none is saved.
    pub async fn get(&self, user: &str) -> Result<Layout, ApiError> {
        let saved = self
            .0
            .get(user)
            .await
            .map_err(|e| ApiError::unavailable("the layout store", &e))?;
        Ok(saved
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default())
    }

    /// Saves `user`'s layout.
    pub async fn put(&self, user: &str, layout: &Layout) -> Result<(), ApiError> {
        let bytes =
            serde_json::to_vec(layout).map_err(|e| ApiError::unavailable("the encoder", &e))?;
        self.0
            .put(user, bytes.into())
            .await
            .map_err(|e| ApiError::unavailable("the layout store", &e))?;
        Ok(())
    }

    /// Forgets `user`'s layout.
    pub async fn delete(&self, user: &str) -> Result<(), ApiError> {
        self.0
            .delete(user)
            .await
            .map_err(|e| ApiError::unavailable("the layout store", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_is_checked_and_the_error_names_the_fault() {
        let ok =
            Layout::from_json_body(br#"{"positions": {"r1": {"x": 1.5, "y": -2}}}"#).expect("fine");
        assert_eq!(ok.positions["r1"], Position { x: 1.5, y: -2.0 });
        for bad in [
            &br#"{"positions": {"r1": {"x": 1}}}"#[..],
            br#"{"positions": {"r1": {"x": 1, "y": 2, "z": 3}}}"#,
            br#"{"positions": {"r1": {"x": 1e300, "y": 2}}}"#,
            br#"{"positions": {"": {"x": 1, "y": 2}}}"#,
            br#"{"places": {}}"#,
            b"not json",
        ] {
            let error = Layout::from_json_body(bad).expect_err("refused");
            assert_eq!(error.field.as_deref(), Some("positions"), "{error:?}");
        }
    }
}
