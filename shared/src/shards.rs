//! Recorder shards: devices split among `recorder.shards` recorders by a stable hash of their
//! id, for installations beyond one disk.
//!
//! JetStream does the split: when there are shards, the samples and logs streams rewrite each
//! subject as they store it (a subject transform with nats-server's `partition` function),
//! `netpulse.sample.<device>` becoming `netpulse.sample.<shard>.<device>`, and each shard's
//! consumers read only their own shard's subjects. Core NATS subscribers see the subjects
//! unchanged. [`shard_of`] is the same hash as nats-server's (FNV-1a, 32 bits, of the device
//! id, modulo the number of shards), so a shard knows its devices without asking.

use crate::subjects;

/// Most shards.
pub const MAX_SHARDS: u32 = 64;

/// The shard that owns `device` among `shards`.
pub fn shard_of(device: &str, shards: u32) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let hash = device
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u32::from(b)).wrapping_mul(PRIME));
    hash % shards.max(1)
}

/// Which shard of how many a recorder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// How many shards there are; 1: no sharding.
    pub count: u32,
}

impl Shard {
    /// The shard `index` of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if !(1..=MAX_SHARDS).contains(&count) {
            return Err(format!(
                "recorder.shards must be 1 to {MAX_SHARDS}, not {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "recorder.shard must be below recorder.shards ({count}), not {index}"
            ));
        }
        Ok(Self { index, count })
    }

    /// Whether there is more than one shard.
    pub fn split(self) -> bool {
        self.count > 1
    }

    /// Whether this shard owns `device`.
    pub fn owns(self, device: &str) -> bool {
        shard_of(device, self.count) == self.index
    }

    /// What this shard reads of the samples stream.
    pub fn samples_filter(self) -> String {
        if self.split() {
            format!("netpulse.sample.{}.*", self.index)
        } else {
            subjects::SAMPLE_ALL.to_owned()
        }
    }

    /// What this shard reads of the logs stream (timeline entries and status changes).
    pub fn logs_filter(self) -> String {
        if self.split() {
            format!("netpulse.*.{}.*", self.index)
        } else {
            String::new()
        }
    }
}

/// The samples stream's subject transform for `shards` shards (`None` for one).
pub fn samples_transform(shards: u32) -> Option<(String, String)> {
    (shards > 1).then(|| {
        (
            subjects::SAMPLE_ALL.to_owned(),
            format!("netpulse.sample.{{{{partition({shards},1)}}}}.{{{{wildcard(1)}}}}"),
        )
    })
}

/// The logs stream's subject transform for `shards` shards (`None` for one): its two kinds
/// of subject, `netpulse.log.<device>` and `netpulse.status.<device>`, keep their kind.
pub fn logs_transform(shards: u32) -> Option<(String, String)> {
    (shards > 1).then(|| {
        (
            "netpulse.*.*".to_owned(),
            format!(
                "netpulse.{{{{wildcard(1)}}}}.{{{{partition({shards},2)}}}}.{{{{wildcard(2)}}}}"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a_and_stable() {
        // FNV-1a 32 of "" is the offset, of "a" 0xe40c292c.
        assert_eq!(shard_of("", u32::MAX), 0x811c_9dc5);
        assert_eq!(shard_of("a", u32::MAX), 0xe40c_292c);
        assert_eq!(shard_of("core-1", 2), shard_of("core-1", 2));
        let ones = (0..1000)
            .filter(|i| shard_of(&format!("d{i}"), 2) == 1)
            .count();
        assert!((400..600).contains(&ones), "{ones} of 1000 on shard 1");
    }

    #[test]
    fn shards_are_checked_and_filter_their_subjects() {
        assert!(Shard::new(0, 0).is_err() && Shard::new(2, 2).is_err());
        assert!(Shard::new(0, 65).is_err());
        let one = Shard::new(0, 1).expect("one");
        assert_eq!(one.samples_filter(), "netpulse.sample.*");
        assert!(one.owns("anything"));
        let second = Shard::new(1, 2).expect("second of two");
        assert_eq!(second.samples_filter(), "netpulse.sample.1.*");
        assert_eq!(second.logs_filter(), "netpulse.*.1.*");
        assert_eq!(
            samples_transform(2).map(|t| t.1).as_deref(),
            Some("netpulse.sample.{{partition(2,1)}}.{{wildcard(1)}}")
        );
        assert_eq!(samples_transform(1), None);
    }
}
