//! The rollups in progress: per device, the rate tracker and the open period of each
//! resolution (interface rates with their errors and discards, and extra OIDs' values). Rebuilt from the files after a restart (see `SampleStore::replay`), so
//! nothing here needs saving.

use std::collections::HashMap;

use netpulse_shared::device::DeviceId;
use netpulse_shared::history::Resolution;
use netpulse_shared::messages::Sample;
use netpulse_shared::tracker::RateTracker;

use crate::roller::{Roller, RollupLine};

/// One device's rollups in progress.
#[derive(Debug, Clone)]
pub struct DeviceRollup {
    tracker: RateTracker,
    rollers: Vec<Roller>,
    /// Wall-clock time of the latest sample fed.
    last_fed_ms: u64,
    /// Time of the latest sample, and the gap before it: how often the device is polled.
    last_sample_ms: u64,
    gap_ms: u64,
}

impl DeviceRollup {
    /// Rollups whose periods before `done_until_ms` (per resolution in
    /// [`Resolution::ROLLUPS`] order) are written already.
    pub fn new(done_until_ms: [u64; 3]) -> Self {
        Self {
            tracker: RateTracker::default(),
            rollers: Resolution::ROLLUPS
                .into_iter()
                .zip(done_until_ms)
                .map(|(res, done)| Roller::new(res, done))
                .collect(),
            last_fed_ms: 0,
            last_sample_ms: 0,
            gap_ms: 0,
        }
    }

    /// Adds a sample; returns the periods it closes.
    pub fn feed(&mut self, sample: &Sample) -> Vec<(Resolution, RollupLine)> {
        if self.last_sample_ms > 0 && sample.time_ms > self.last_sample_ms {
            self.gap_ms = sample.time_ms - self.last_sample_ms;
        }
        self.last_sample_ms = self.last_sample_ms.max(sample.time_ms);
        let step = self.tracker.step_all(sample);
        let mut closed = Vec::new();
        for (res, roller) in Resolution::ROLLUPS.into_iter().zip(&mut self.rollers) {
            closed.extend(roller.push_step(&step).into_iter().map(|line| (res, line)));
        }
        closed
    }

    fn close(&mut self) -> Vec<(Resolution, RollupLine)> {
        Resolution::ROLLUPS
            .into_iter()
            .zip(&mut self.rollers)
            .filter_map(|(res, roller)| roller.close().map(|line| (res, line)))
            .collect()
    }
}

/// The rollups in progress of every device seen since the start (or since it went idle).
#[derive(Debug, Default)]
pub struct Rollups {
    devices: HashMap<DeviceId, DeviceRollup>,
}

impl Rollups {
    /// True when `device` has rollups in progress.
    pub fn knows(&self, device: &DeviceId) -> bool {
        self.devices.contains_key(device)
    }

    /// Starts following a device from a rebuilt state.
    pub fn insert(&mut self, device: DeviceId, state: DeviceRollup) {
        self.devices.insert(device, state);
    }

    /// Adds a sample of a known device; returns the periods it closes.
    pub fn feed(
        &mut self,
        sample: &Sample,
        now_ms: u64,
    ) -> Vec<(DeviceId, Resolution, RollupLine)> {
        let Some(state) = self.devices.get_mut(&sample.device) else {
            return Vec::new();
        };
        state.last_fed_ms = now_ms;
        state
            .feed(sample)
            .into_iter()
            .map(|(res, line)| (sample.device.clone(), res, line))
            .collect()
    }

    /// Closes the open periods of devices fed nothing for `idle_ms`, or for three of their
    /// polling intervals if those are longer, and stops following them; returns the closed
    /// periods.
    pub fn close_idle(
        &mut self,
        now_ms: u64,
        idle_ms: u64,
    ) -> Vec<(DeviceId, Resolution, RollupLine)> {
        let idle: Vec<DeviceId> = self
            .devices
            .iter()
            .filter(|(_, s)| s.last_fed_ms + idle_ms.max(3 * s.gap_ms) <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        let mut closed = Vec::new();
        for id in idle {
            if let Some(mut state) = self.devices.remove(&id) {
                closed.extend(
                    state
                        .close()
                        .into_iter()
                        .map(|(res, line)| (id.clone(), res, line)),
                );
            }
        }
        closed
    }

    /// Drops a device's rollups in progress (its history was deleted).
    pub fn forget(&mut self, device: &DeviceId) {
        self.devices.remove(device);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time_ms: u64) -> Sample {
        Sample::from_answers(
            time_ms.to_string(),
            DeviceId::parse("slow").expect("id"),
            time_ms,
            None,
            vec![],
            &[],
        )
    }

    #[test]
    fn a_device_polled_rarely_is_not_taken_for_idle_between_its_polls() {
        let mut rollups = Rollups::default();
        let id = DeviceId::parse("slow").expect("id");
        rollups.insert(id.clone(), DeviceRollup::new([0; 3]));
        let quarter = 15 * 60_000;
        rollups.feed(&sample(quarter), 0);
        rollups.feed(&sample(2 * quarter), 1);
        // Twenty minutes of quiet between 15-minute polls is not idleness...
        assert!(rollups.close_idle(20 * 60_000, 10 * 60_000).is_empty());
        assert!(rollups.knows(&id));
        // ...three missed polls are.
        rollups.close_idle(3 * quarter + 1, 10 * 60_000);
        assert!(!rollups.knows(&id));
    }
}
