//! What to poll and when: the slots of a device's poll schedule and the job of each (its OID
//! list is [`netpulse_shared::poll_plan`]'s, which test polls share).
//!
//! Each device polls on a fixed grid `phase + k * interval` of wall-clock time, where the
//! phase comes from a hash of its id. Devices therefore spread evenly over the interval
//! instead of all firing at once, and a restarted scheduler keeps the same slots, so the job
//! ids (device plus slot) stay the same and JetStream drops a sample polled twice.

use netpulse_shared::device::Device;
use netpulse_shared::interfaces::DeviceInterfaces;
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
    fn jobs_are_named_by_slot() {
        let d = device("core-1", 10);
        let j = job(&d, None, 50_000);
        assert_eq!(j.job_id, "core-1-50000");
        assert_eq!(j.deadline_ms, 60_000);
    }
}
