//! The latest normal sample of each device, as the overview and `/api/devices` show it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::live::rates::ShownInterface;
use netpulse_shared::device::DeviceId;
use netpulse_shared::history::ErrorCounters;
use serde::Serialize;

/// The latest normal sample of each device as the overview shows it: when, sysUpTime, the
/// rates of each interface and their totals. Filled by [`crate::live::reader::fan_out`];
/// empty after a restart until each device's next poll.
#[derive(Debug, Clone, Default)]
pub struct Latest(Arc<std::sync::Mutex<HashMap<DeviceId, LatestSample>>>);

/// A device's latest sample as the overview shows it. Kept typed (a few hundred bytes a
/// device), turned into JSON only when asked for.
#[derive(Debug, Clone, Serialize)]
struct LatestSample {
    time_ms: u64,
    uptime_ticks: Option<u32>,
    /// Totals over the interfaces that have a rate; `None` when none has one.
    in_bps: Option<f64>,
    out_bps: Option<f64>,
    interfaces: Vec<LatestInterface>,
}

/// One interface of a [`LatestSample`].
#[derive(Debug, Clone, Serialize)]
struct LatestInterface {
    index: u32,
    name: Option<String>,
    speed_bps: Option<u64>,
    in_bps: Option<f64>,
    out_bps: Option<f64>,
    #[serde(flatten)]
    errors: ErrorCounters<f64>,
}

impl Latest {
    /// The device's latest sample summary, if one came since the gateway started.
    pub fn get(&self, device: &DeviceId) -> Option<serde_json::Value> {
        let found = self.lock().get(device).cloned()?;
        serde_json::to_value(found).ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DeviceId, LatestSample>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn record(
        &self,
        device: &DeviceId,
        time_ms: u64,
        uptime: Option<u32>,
        rates: &[ShownInterface],
    ) {
        let total = |pick: fn(&ShownInterface) -> Option<f64>| {
            rates.iter().filter_map(pick).reduce(|a, b| a + b)
        };
        let summary = LatestSample {
            time_ms,
            uptime_ticks: uptime,
            in_bps: total(|r| r.in_bps),
            out_bps: total(|r| r.out_bps),
            interfaces: rates
                .iter()
                .map(|r| LatestInterface {
                    index: r.index,
                    name: r.name.clone(),
                    speed_bps: r.speed_bps,
                    in_bps: r.in_bps,
                    out_bps: r.out_bps,
                    errors: r.errors,
                })
                .collect(),
        };
        self.lock().insert(device.clone(), summary);
    }

    pub(crate) fn forget(&self, device: &DeviceId) {
        self.lock().remove(device);
    }
}
