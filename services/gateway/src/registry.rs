//! The device registry as the gateway uses it: the JetStream key-value bucket, one key per
//! device id, the value a [`Device`] as JSON.
//!
//! Reads go to the bucket. When it does not answer (a cluster electing a new leader for the
//! registry's stream after losing a node takes about 10 s), they are answered from
//! [`HeldDevices`], the copy the live reader keeps from its watch of the registry: the
//! dashboard goes on listing devices while writes wait for the cluster.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_nats::jetstream::kv;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::discovery::DeviceInterfaces;
use netpulse_shared::history::RemovedDevice;
use netpulse_shared::messages::{DeviceStatus, Reachability};
use serde::Serialize;
use warp::http::StatusCode;

use crate::error::ApiError;

/// A device's reachability as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ShownStatus {
    /// `up`, `down` or `unknown`.
    pub state: Reachability,
    /// The rest, once the scheduler has an outcome.
    #[serde(flatten)]
    pub known: Option<StatusDetail>,
}

/// What the scheduler stored about a device's reachability besides its state.
#[derive(Debug, Clone, Serialize)]
pub struct StatusDetail {
    /// Since when, Unix milliseconds.
    pub since_ms: u64,
    /// Why it entered that state.
    pub reason: String,
    /// Failed polls in a row.
    pub consecutive_failures: u32,
    /// The latest failed poll's reason while failures continue.
    pub last_error: Option<String>,
}

/// How long a registry read may wait for the bucket before it is answered from the held copy.
const READ_PATIENCE: Duration = Duration::from_secs(2);

/// Every device as the registry watch last told this gateway.
#[derive(Clone, Default)]
pub struct HeldDevices(Arc<RwLock<HashMap<DeviceId, Device>>>);

impl HeldDevices {
    /// A device added or changed.
    pub fn put(&self, device: &Device) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(device.id.clone(), device.clone());
    }

    /// A device deleted.
    pub fn remove(&self, id: &DeviceId) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// `f` of every device held (a read lock is held meanwhile: keep `f` short).
    pub fn read<R>(&self, f: impl FnOnce(&HashMap<DeviceId, Device>) -> R) -> R {
        f(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn all(&self) -> Vec<Device> {
        let held = self.0.read().unwrap_or_else(PoisonError::into_inner);
        held.values().cloned().collect()
    }

    fn get(&self, id: &DeviceId) -> Option<Device> {
        let held = self.0.read().unwrap_or_else(PoisonError::into_inner);
        held.get(id).cloned()
    }

    fn is_empty(&self) -> bool {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

/// Handle on the registry bucket and the reachability bucket.
#[derive(Clone)]
pub struct Registry {
    store: kv::Store,
    status: kv::Store,
    interfaces: kv::Store,
    removed: kv::Store,
    held: HeldDevices,
}

impl Registry {
    /// Wraps the buckets; `held` is the copy reads fall back on.
    pub fn new(
        store: kv::Store,
        status: kv::Store,
        interfaces: kv::Store,
        removed: kv::Store,
        held: HeldDevices,
    ) -> Self {
        Self {
            store,
            status,
            interfaces,
            removed,
            held,
        }
    }

    /// The id a URL path segment names, for a device or a deleted device whose history is
    /// kept; 404 otherwise.
    pub async fn require_with_history(&self, raw_id: &str) -> Result<DeviceId, ApiError> {
        let id = DeviceId::parse(raw_id).map_err(|_| ApiError::no_such_device(raw_id))?;
        if self.get(&id).await?.is_none() && self.removed(&id).await?.is_none() {
            return Err(ApiError::no_such_device(id.as_str()));
        }
        Ok(id)
    }

    /// The label of a deleted device's kept history, if there is one.
    pub async fn removed(&self, id: &DeviceId) -> Result<Option<RemovedDevice>, ApiError> {
        let value = self
            .removed
            .get(id.as_str())
            .await
            .map_err(|e| ApiError::unavailable("removed-device store", &e))?;
        Ok(value.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Every deleted device whose history is kept, latest first.
    pub async fn removed_list(&self) -> Result<Vec<RemovedDevice>, ApiError> {
        let fail = |e: &dyn std::fmt::Display| ApiError::unavailable("removed-device store", e);
        let keys = netpulse_shared::bus::bucket_keys(&self.removed)
            .await
            .map_err(|e| fail(&e))?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Ok(id) = DeviceId::parse(&key) {
                out.extend(self.removed(&id).await?);
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.removed_ms));
        Ok(out)
    }

    /// Labels a deleted device's kept history.
    pub async fn label_removed(&self, removed: &RemovedDevice) -> Result<(), ApiError> {
        let value =
            serde_json::to_vec(removed).map_err(|e| ApiError::unavailable("encoder", &e))?;
        self.removed
            .put(removed.id.as_str(), value.into())
            .await
            .map(|_| ())
            .map_err(|e| ApiError::unavailable("removed-device store", &e))
    }

    /// Drops the label of a deleted device's history.
    pub async fn unlabel_removed(&self, id: &DeviceId) -> Result<(), ApiError> {
        self.removed
            .purge(id.as_str())
            .await
            .map_err(|e| ApiError::unavailable("removed-device store", &e))
    }

    /// What the last discovery found on a device, if it ran.
    pub async fn interfaces(&self, id: &DeviceId) -> Result<Option<DeviceInterfaces>, ApiError> {
        let value = tokio::time::timeout(READ_PATIENCE, self.interfaces.get(id.as_str()))
            .await
            .map_err(|_| ApiError::unavailable("interface store", &"no answer in time"))?
            .map_err(|e| ApiError::unavailable("interface store", &e))?;
        Ok(value.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// A device's reachability as the scheduler last stored it (`{"state": "unknown"}`
    /// until it has an outcome); `None` when the bucket does not answer.
    pub async fn status(&self, id: &DeviceId) -> Option<ShownStatus> {
        let stored = match tokio::time::timeout(READ_PATIENCE, self.status.get(id.as_str())).await {
            Ok(Ok(Some(bytes))) => serde_json::from_slice::<DeviceStatus>(&bytes).ok(),
            Ok(Ok(None)) => None,
            _ => return None,
        };
        Some(match stored {
            Some(s) => ShownStatus {
                state: s.state,
                known: Some(StatusDetail {
                    since_ms: s.since_ms,
                    reason: s.reason,
                    consecutive_failures: s.consecutive_failures,
                    last_error: s.last_error,
                }),
            },
            None => ShownStatus {
                state: Reachability::Unknown,
                known: None,
            },
        })
    }

    /// Every device, sorted by name: from the bucket, or from the held copy while the bucket
    /// does not answer.
    pub async fn list(&self) -> Result<Vec<Device>, ApiError> {
        let keys = tokio::time::timeout(
            READ_PATIENCE,
            netpulse_shared::bus::bucket_keys(&self.store),
        )
        .await
        .map_err(|_| "no answer in time".to_owned())
        .and_then(|listed| listed.map_err(|e| e.to_string()));
        let mut devices = match keys {
            Ok(keys) => self.stored(keys).await?,
            Err(error) if !self.held.is_empty() => {
                tracing::warn!(error, "registry unavailable: listing the held copy");
                self.held.all()
            }
            Err(error) => return Err(ApiError::unavailable("device registry", &error)),
        };
        devices.sort_by(|a, b| {
            a.name
                .as_str()
                .to_lowercase()
                .cmp(&b.name.as_str().to_lowercase())
        });
        Ok(devices)
    }

    /// The devices under `keys`.
    async fn stored(&self, keys: Vec<String>) -> Result<Vec<Device>, ApiError> {
        let mut devices = Vec::with_capacity(keys.len());
        for key in keys {
            if let Ok(id) = DeviceId::parse(&key) {
                if let Some(device) = self.get(&id).await? {
                    devices.push(device);
                }
            }
        }
        Ok(devices)
    }

    /// The device a URL path segment names; 404 when the id is malformed or unknown.
    pub async fn require(&self, raw_id: &str) -> Result<Device, ApiError> {
        let id = DeviceId::parse(raw_id).map_err(|_| ApiError::no_such_device(raw_id))?;
        self.get(&id)
            .await?
            .ok_or_else(|| ApiError::no_such_device(id.as_str()))
    }

    /// One device, if it exists: from the bucket, or from the held copy while the bucket does
    /// not answer.
    pub async fn get(&self, id: &DeviceId) -> Result<Option<Device>, ApiError> {
        let value = match tokio::time::timeout(READ_PATIENCE, self.store.get(id.as_str())).await {
            Ok(Ok(value)) => value,
            failed => {
                let error = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "no answer in time".to_owned(),
                };
                if self.held.is_empty() {
                    return Err(ApiError::unavailable("device registry", &error));
                }
                tracing::warn!(device = %id, error, "registry unavailable: reading the held copy");
                return Ok(self.held.get(id));
            }
        };
        Ok(
            value.and_then(|bytes| match serde_json::from_slice::<Device>(&bytes) {
                Ok(device) => Some(device),
                Err(error) => {
                    tracing::warn!(device = %id, %error, "unreadable registry entry skipped");
                    None
                }
            }),
        )
    }

    /// Adds a device; 409 if one with the same id (the same name, up to case and
    /// punctuation) exists. Atomic: two concurrent adds cannot both succeed.
    pub async fn create(&self, device: &Device) -> Result<(), ApiError> {
        let value = serde_json::to_vec(device).map_err(|e| ApiError::unavailable("encoder", &e))?;
        match self.store.create(device.id.as_str(), value.into()).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "a device named '{}' already exists (id '{}')",
                    device.name.as_str(),
                    device.id
                ),
            )
            .with_field("name")),
            Err(e) => Err(ApiError::unavailable("device registry", &e)),
        }
    }

    /// Replaces a device's definition.
    pub async fn replace(&self, device: &Device) -> Result<(), ApiError> {
        let value = serde_json::to_vec(device).map_err(|e| ApiError::unavailable("encoder", &e))?;
        self.store
            .put(device.id.as_str(), value.into())
            .await
            .map(|_| ())
            .map_err(|e| ApiError::unavailable("device registry", &e))
    }

    /// Removes a device; 404 if there is none.
    pub async fn delete(&self, id: &DeviceId) -> Result<(), ApiError> {
        if self.get(id).await?.is_none() {
            return Err(ApiError::no_such_device(id.as_str()));
        }
        self.store
            .delete(id.as_str())
            .await
            .map_err(|e| ApiError::unavailable("device registry", &e))
    }

    /// The underlying bucket (for watching changes).
    pub fn store(&self) -> &kv::Store {
        &self.store
    }
}
