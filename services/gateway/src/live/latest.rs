//! The latest normal sample of each device, as the overview and `/api/devices` show it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::live::rates::Traffic;
use netpulse_shared::device::DeviceId;

/// Each device's traffic at its latest normal sample, the shape a `/ws` sample has. Filled by
/// [`crate::live::reader::fan_out`]; empty after a restart until each device's next poll.
#[derive(Debug, Clone, Default)]
pub struct Latest(Arc<std::sync::Mutex<HashMap<DeviceId, Arc<Traffic>>>>);

impl Latest {
    /// The device's latest traffic, if a sample came since the gateway started.
    pub fn get(&self, device: &DeviceId) -> Option<Arc<Traffic>> {
        self.lock().get(device).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DeviceId, Arc<Traffic>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records `traffic` as `device`'s latest (the live reader does; a benchmark may).
    pub fn record(&self, device: &DeviceId, traffic: Arc<Traffic>) {
        self.lock().insert(device.clone(), traffic);
    }

    pub(crate) fn forget(&self, device: &DeviceId) {
        self.lock().remove(device);
    }
}
