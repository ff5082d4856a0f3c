//! What this gateway has seen on NATS since it started: each device's latest sample and its
//! poll statistics. The live reader fills it; `/api/devices`, `/metrics` and the overview read
//! it. It starts empty, and fills with each device's next poll.

use netpulse_shared::device::Device;

use crate::live::latest::Latest;
use crate::metrics::Metrics;
use crate::registry::Registry;

/// The runtime state observed on NATS, shared by the reader and the routes.
#[derive(Clone, Default)]
pub struct Observed {
    /// Each device's latest normal sample.
    pub latest: Latest,
    /// What `/metrics` reports, also each device's poll statistics.
    pub metrics: Metrics,
}

impl Observed {
    /// A device as the API shows it: as the registry shows it (no secrets, its reachability,
    /// what it says about itself), with its latest sample's rates (`null` until one comes).
    pub async fn shown(&self, registry: &Registry, device: &Device) -> serde_json::Value {
        let mut shown = registry.shown(device).await;
        shown["latest"] = self.latest.get(&device.id).unwrap_or_default();
        shown
    }
}
