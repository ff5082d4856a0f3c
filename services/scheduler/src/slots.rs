//! The slot table: when each device is next due, for the whole fleet in one ordered map, so
//! an idle device costs one entry and no task or timer. The scheduler looks at it every
//! [`TICK`], takes what is due and sends the jobs of those devices in batches.
//!
//! An entry names a device and the generation of its schedule; when a device is
//! rescheduled (changed, removed) its generation moves on, so entries left from before are
//! dropped when they come due instead of being searched for.

use std::collections::BTreeMap;
use std::time::Duration;

use netpulse_shared::device::DeviceId;

/// How often the scheduler takes the devices due: a job goes out at most this long after
/// its slot, and the jobs of one tick travel together.
pub const TICK: Duration = Duration::from_millis(25);

/// A device due at a slot, under the generation of its schedule it was entered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The slot, Unix milliseconds.
    pub slot_ms: u64,
    /// The device.
    pub device: DeviceId,
    /// Its schedule's generation when entered.
    pub generation: u64,
}

/// Devices by the slot they are next due at.
#[derive(Debug, Default)]
pub struct SlotTable {
    due: BTreeMap<u64, Vec<(DeviceId, u64)>>,
    len: usize,
}

impl SlotTable {
    /// Enters `device` as due at `slot_ms` under `generation`.
    pub fn insert(&mut self, slot_ms: u64, device: DeviceId, generation: u64) {
        self.due
            .entry(slot_ms)
            .or_default()
            .push((device, generation));
        self.len += 1;
    }

    /// Takes every entry due at or before `now_ms`, oldest slot first.
    pub fn take_due(&mut self, now_ms: u64) -> Vec<Due> {
        let mut taken = Vec::new();
        while let Some(entry) = self.due.first_entry() {
            if *entry.key() > now_ms {
                break;
            }
            let slot_ms = *entry.key();
            for (device, generation) in entry.remove() {
                taken.push(Due {
                    slot_ms,
                    device,
                    generation,
                });
            }
        }
        self.len -= taken.len();
        taken
    }

    /// Entries held (stale ones included until they come due).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.due.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> DeviceId {
        DeviceId::parse(s).expect("id")
    }

    #[test]
    fn entries_come_out_once_in_slot_order_when_due() {
        let mut table = SlotTable::default();
        table.insert(2_000, id("b"), 1);
        table.insert(1_000, id("a"), 1);
        table.insert(1_000, id("c"), 4);
        table.insert(3_000, id("d"), 1);
        assert_eq!(table.len(), 4);
        assert!(table.take_due(999).is_empty());
        let due = table.take_due(2_000);
        let order: Vec<(u64, &str, u64)> = due
            .iter()
            .map(|d| (d.slot_ms, d.device.as_str(), d.generation))
            .collect();
        assert_eq!(
            order,
            vec![(1_000, "a", 1), (1_000, "c", 4), (2_000, "b", 1)]
        );
        assert!(table.take_due(2_999).is_empty(), "taken only once");
        assert_eq!(table.len(), 1);
        table.clear();
        assert!(table.is_empty());
        assert!(table.take_due(u64::MAX).is_empty());
    }
}
