//! What this gateway has seen on NATS since it started: each device's latest sample and its
//! poll statistics. The live reader fills it; `/api/devices`, `/metrics` and the overview read
//! it. It starts empty, and fills with each device's next poll.

use std::sync::Arc;

use netpulse_shared::device::{Device, DeviceView};
use netpulse_shared::discovery::SystemInfo;
use serde::{Serialize, Serializer};

use crate::live::latest::Latest;
use crate::live::rates::Traffic;
use crate::metrics::{DevicePollStats, Metrics};
use crate::registry::{Registry, ShownStatus};

/// The runtime state observed on NATS, shared by the reader and the routes.
#[derive(Clone, Default)]
pub struct Observed {
    /// Every device, as the registry watch told (what registry reads fall back on).
    pub devices: crate::registry::HeldDevices,
    /// Each device's discovery, as the interfaces watch told (what fleet searches read).
    pub found: crate::fleet::found::HeldInterfaces,
    /// Each device's latest normal sample.
    pub latest: Latest,
    /// What `/metrics` reports, also each device's poll statistics.
    pub metrics: Metrics,
}

/// A device as the API shows it: no secrets, its reachability, what it says about itself
/// (untrusted text, once discovery has run), its latest traffic (`null` until a sample comes)
/// and, for one device, how its polls go.
#[derive(Debug, Serialize)]
pub struct ShownDevice<'a> {
    /// The device as configured, without secrets.
    #[serde(flatten)]
    pub device: DeviceView<'a>,
    /// Its reachability.
    pub status: ShownStatus,
    /// Its system group, once discovery has run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemInfo>,
    /// Its traffic at the latest sample, the shape of a `/ws` sample.
    #[serde(serialize_with = "shared_traffic")]
    pub latest: Option<Arc<Traffic>>,
    /// How polling goes since this gateway started (`GET /api/devices/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_stats: Option<DevicePollStats>,
}

fn shared_traffic<S: Serializer>(traffic: &Option<Arc<Traffic>>, to: S) -> Result<S::Ok, S::Error> {
    traffic.as_deref().serialize(to)
}

impl Observed {
    /// A device as the API lists it (without its poll statistics).
    pub async fn shown<'a>(&self, registry: &Registry, device: &'a Device) -> ShownDevice<'a> {
        self.show(registry, device, false).await
    }

    /// A device as the API shows it alone: with how its polls go since this gateway started
    /// and the request size discovery settled on.
    pub async fn detailed<'a>(&self, registry: &Registry, device: &'a Device) -> ShownDevice<'a> {
        self.show(registry, device, true).await
    }

    async fn show<'a>(
        &self,
        registry: &Registry,
        device: &'a Device,
        with_stats: bool,
    ) -> ShownDevice<'a> {
        let found = registry.interfaces(&device.id).await.ok().flatten();
        let poll_stats = with_stats.then(|| DevicePollStats {
            max_repetitions: found.as_ref().map(|found| found.max_repetitions),
            ..self.metrics.poll_stats(&device.id)
        });
        // While the bucket does not answer, the state the status watch last told.
        let status = registry
            .status(&device.id)
            .await
            .unwrap_or_else(|| ShownStatus {
                state: self.metrics.reachability(&device.id),
                known: None,
            });
        ShownDevice {
            device: device.view(),
            status,
            system: found.map(|found| found.system),
            latest: self.latest.get(&device.id),
            poll_stats,
        }
    }
}
