//! What to poll and when: the slots of a device's poll schedule and the job of each (its OID
//! list is [`netpulse_shared::poll_plan`]'s, which test polls share).
//!
//! Each device polls on a fixed grid `phase + k * interval` of wall-clock time, where the
//! phase comes from a hash of its id. Devices therefore spread evenly over the interval
//! instead of all firing at once, and a restarted scheduler keeps the same slots, so the job
//! ids (device plus slot) stay the same and JetStream drops a sample polled twice.

use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::discovery::DeviceInterfaces;
use netpulse_shared::messages::PollJob;

pub use netpulse_shared::poll_plan::plan;

/// The device's phase within its interval, in milliseconds (FNV-1a of the id).
pub fn phase_ms(device: &Device) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in device.id.as_str().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash % interval_ms(device)
}

/// The device's interval in milliseconds.
pub fn interval_ms(device: &Device) -> u64 {
    u64::from(device.interval) * 1000
}

/// The first slot of `device` at or after `now_ms`.
pub fn next_slot(device: &Device, now_ms: u64) -> u64 {
    let interval = interval_ms(device);
    let phase = phase_ms(device);
    if now_ms <= phase {
        return phase;
    }
    let periods = (now_ms - phase).div_ceil(interval);
    phase + periods * interval
}

/// The poll job for `device` at `slot_ms`; stale once the next slot comes.
pub fn job(device: &Device, discovered: Option<&DeviceInterfaces>, slot_ms: u64) -> PollJob {
    netpulse_shared::poll_plan::poll_job(
        device,
        discovered,
        format!("{}-{slot_ms}", device.id),
        slot_ms + interval_ms(device),
    )
}

/// A device's poll job encoded once per plan: each slot's job is these bytes with its id and
/// deadline put in, so a poll costs a copy, not an encoding of every OID.
#[derive(Debug, Clone)]
pub struct PreparedJob(Prepared);

#[derive(Debug, Clone)]
enum Prepared {
    /// The JSON before the id's value, between the id and the deadline's value, and after it.
    Spliced {
        head: Vec<u8>,
        middle: Vec<u8>,
        tail: Vec<u8>,
    },
    /// The job, encoded for each slot (should the encoding not have the expected shape).
    Whole(Box<PollJob>),
}

/// The id and deadline in a template's encoding (serde writes the fields in their order, and
/// a quote inside a string value is always escaped, so these occur once).
const ID_FIELD: &[u8] = b"\"job_id\":\"\"";
const DEADLINE_FIELD: &[u8] = b"\"deadline_ms\":0";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl PreparedJob {
    /// Prepares `device`'s job as planned with `discovered`.
    pub fn new(device: &Device, discovered: Option<&DeviceInterfaces>) -> Self {
        let mut template = job(device, discovered, 0);
        template.job_id = String::new();
        template.deadline_ms = 0;
        let spliced = serde_json::to_vec(&template).ok().and_then(|bytes| {
            let id = find(&bytes, ID_FIELD)?;
            let after_id = id + ID_FIELD.len() - 1;
            let deadline = after_id + find(&bytes[after_id..], DEADLINE_FIELD)?;
            let after_deadline = deadline + DEADLINE_FIELD.len() - 1;
            Some(Prepared::Spliced {
                head: bytes[..after_id].to_vec(),
                middle: bytes[after_id..after_deadline].to_vec(),
                tail: bytes[after_deadline + 1..].to_vec(),
            })
        });
        Self(spliced.unwrap_or_else(|| Prepared::Whole(Box::new(template))))
    }

    /// Appends the JSON of the job for `slot_ms` to `out`: id `<device>-<slot>`, deadline
    /// `deadline_ms`.
    pub fn write(&self, out: &mut Vec<u8>, device: &DeviceId, slot_ms: u64, deadline_ms: u64) {
        use std::io::Write as _;
        match &self.0 {
            Prepared::Spliced { head, middle, tail } => {
                out.extend_from_slice(head);
                // Device ids are [a-z0-9_-]: nothing to escape.
                let _ = write!(out, "{device}-{slot_ms}");
                out.extend_from_slice(middle);
                let _ = write!(out, "{deadline_ms}");
                out.extend_from_slice(tail);
            }
            Prepared::Whole(template) => {
                let mut job = (**template).clone();
                job.job_id = format!("{device}-{slot_ms}");
                job.deadline_ms = deadline_ms;
                let _ = serde_json::to_writer(out, &job);
            }
        }
    }
}

/// How often the live view polls `device`: every `live_interval_ms` (at least 200), or the
/// device's own `live_interval_ms` when that is slower; `None` when its normal interval is
/// no longer than that.
pub fn live_every_ms(live_interval_ms: u64, device: &Device) -> Option<u64> {
    let every = live_interval_ms
        .max(u64::from(netpulse_shared::device::MIN_LIVE_INTERVAL_MS))
        .max(u64::from(device.live_interval_ms));
    (interval_ms(device) > every).then_some(every)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(name: &str, interval: u32) -> Device {
        let body = format!(
            r#"{{"name": "{name}", "address": "192.0.2.1", "interval": {interval}, "interfaces": [1, 2],
                 "oids": ["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.3.0"]}}"#
        );
        Device::from_json_body(body.as_bytes()).expect("device")
    }

    #[test]
    fn the_live_view_polls_no_faster_than_the_device_allows() {
        let mut d = device("a", 10);
        assert_eq!(live_every_ms(1000, &d), Some(1000));
        assert_eq!(live_every_ms(50, &d), Some(200), "never below 200 ms");
        d.live_interval_ms = 2500;
        assert_eq!(live_every_ms(1000, &d), Some(2500), "the device's floor");
        d.live_interval_ms = 10_000;
        assert_eq!(live_every_ms(1000, &d), None, "as slow as its own polls");
        assert_eq!(live_every_ms(1000, &device("b", 1)), None);
    }

    #[test]
    fn slots_are_on_the_grid_and_spread() {
        let d = device("core-1", 10);
        let now = 1_764_323_456_789;
        let slot = next_slot(&d, now);
        assert!(slot >= now && slot < now + 10_000);
        assert_eq!((slot - phase_ms(&d)) % 10_000, 0);
        assert_eq!(next_slot(&d, slot), slot);
        assert_eq!(next_slot(&d, slot + 1), slot + 10_000);
        // A hundred devices land in many different tenths of the interval.
        let mut tenths = std::collections::HashSet::new();
        for i in 0..100 {
            tenths.insert(phase_ms(&device(&format!("dev-{i}"), 10)) / 1000);
        }
        assert!(tenths.len() >= 8, "phases bunch up: {tenths:?}");
    }

    #[test]
    fn a_prepared_job_is_the_job_of_its_slot() {
        let d = device("core-1", 10);
        let prepared = PreparedJob::new(&d, None);
        assert!(matches!(prepared.0, Prepared::Spliced { .. }));
        let mut out = Vec::new();
        prepared.write(&mut out, &d.id, 50_000, 60_000);
        let decoded: PollJob = serde_json::from_slice(&out).expect("a poll job");
        assert_eq!(decoded, job(&d, None, 50_000));
    }

    #[test]
    fn jobs_are_named_by_slot() {
        let d = device("core-1", 10);
        let j = job(&d, None, 50_000);
        assert_eq!(j.job_id, "core-1-50000");
        assert_eq!(j.deadline_ms, 60_000);
    }
}
