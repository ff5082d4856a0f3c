//! Who is watching: the devices shown in the one-second live view (announced to the
//! scheduler on NATS), and the signal that closes every connection when the gateway stops.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use netpulse_shared::device::DeviceId;
use netpulse_shared::subjects;
use tokio::sync::watch;

/// Tells every `/ws` connection to close when the gateway stops, and lets the gateway wait
/// until they have: each connection holds a receiver, and the sender sees when none is left.
#[derive(Debug, Clone)]
pub struct ClientShutdown {
    pub(crate) stopping: watch::Sender<bool>,
}

impl Default for ClientShutdown {
    fn default() -> Self {
        Self {
            stopping: watch::Sender::new(false),
        }
    }
}

impl ClientShutdown {
    /// Tells every connection to close and waits until all have, or `limit` has passed;
    /// whether all have.
    pub async fn close_all(&self, limit: std::time::Duration) -> bool {
        self.stopping.send_replace(true);
        tokio::time::timeout(limit, self.stopping.closed())
            .await
            .is_ok()
    }
}

/// Resolves when the gateway stops (at once if it already has).
pub(crate) async fn gateway_stopped(mut stopping: watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// How many clients show each device, for the live view; published to the scheduler.
#[derive(Debug, Clone, Default)]
pub struct Viewers {
    counts: Arc<std::sync::Mutex<HashMap<DeviceId, usize>>>,
    changed: Arc<tokio::sync::Notify>,
}

impl Viewers {
    pub(crate) fn add(&self, devices: &HashSet<DeviceId>) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for device in devices {
            *counts.entry(device.clone()).or_default() += 1;
        }
        drop(counts);
        self.changed.notify_one();
    }

    pub(crate) fn remove(&self, devices: &HashSet<DeviceId>) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for device in devices {
            if let Some(n) = counts.get_mut(device) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(device);
                }
            }
        }
    }

    /// The devices shown now.
    pub fn shown(&self) -> Vec<DeviceId> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}

/// How long a published watch holds; it is renewed every [`WATCH_EVERY`].
pub const WATCH_TTL_MS: u64 = 6_000;
/// How often the shown devices are published.
pub const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Tells the scheduler which devices are shown, every [`WATCH_EVERY`] and at once when a
/// client starts showing one; stops saying it when no client shows it (the scheduler lets
/// the live polling lapse after [`WATCH_TTL_MS`]).
pub async fn publish_viewers(client: async_nats::Client, viewers: Viewers) {
    loop {
        let _ = tokio::time::timeout(WATCH_EVERY, viewers.changed.notified()).await;
        let devices = viewers.shown();
        if devices.is_empty() {
            continue;
        }
        let watch = netpulse_shared::messages::Watch {
            schema: netpulse_shared::messages::SCHEMA_VERSION,
            devices,
            ttl_ms: WATCH_TTL_MS,
        };
        if let Ok(payload) = serde_json::to_vec(&watch) {
            if let Err(error) = client.publish(subjects::WATCH, payload.into()).await {
                tracing::warn!(%error, "cannot publish the shown devices");
            }
        }
    }
}
