//! What to poll and when: the OID list of a device and the slots of its poll schedule.
//!
//! Each device polls on a fixed grid `phase + k * interval` of wall-clock time, where the
//! phase comes from a hash of its id. Devices therefore spread evenly over the interval
//! instead of all firing at once, and a restarted scheduler keeps the same slots, so the job
//! ids (device plus slot) stay the same and JetStream drops a sample polled twice.

use netpulse_shared::device::{Device, Oid, SnmpVersion};
use netpulse_shared::messages::{oids, PollJob, SCHEMA_VERSION};

/// Every OID a poll of `device` GETs: sysUpTime.0, the octet counters of each listed
/// interface (64-bit for v2c, 32-bit for v1, which has no Counter64), then the extra OIDs.
pub fn oids_for(device: &Device) -> Vec<Oid> {
    let (in_col, out_col) = match device.version {
        SnmpVersion::V1 => (oids::if_in_octets(), oids::if_out_octets()),
        SnmpVersion::V2c | SnmpVersion::V3 => (oids::if_hc_in_octets(), oids::if_hc_out_octets()),
    };
    let mut list = vec![oids::sys_uptime()];
    for &index in &device.interfaces {
        list.push(in_col.child(index));
        list.push(out_col.child(index));
    }
    for extra in &device.oids {
        if !list.contains(extra) {
            list.push(extra.clone());
        }
    }
    list
}

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
pub fn job(device: &Device, slot_ms: u64) -> PollJob {
    PollJob {
        schema: SCHEMA_VERSION,
        job_id: format!("{}-{slot_ms}", device.id),
        device: device.id.clone(),
        address: device.address.clone(),
        version: device.version,
        community: device.community.clone(),
        v3: device.v3.clone(),
        timeout_ms: device.timeout_ms,
        retries: device.retries,
        oids: oids_for(device),
        deadline_ms: slot_ms + interval_ms(device),
    }
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
    fn oids_cover_uptime_counters_and_extras_once() {
        let list: Vec<String> = oids_for(&device("a", 10))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            list,
            [
                "1.3.6.1.2.1.1.3.0",
                "1.3.6.1.2.1.31.1.1.1.6.1",
                "1.3.6.1.2.1.31.1.1.1.10.1",
                "1.3.6.1.2.1.31.1.1.1.6.2",
                "1.3.6.1.2.1.31.1.1.1.10.2",
                "1.3.6.1.2.1.1.5.0",
            ]
        );
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
        let j = job(&d, 50_000);
        assert_eq!(j.job_id, "core-1-50000");
        assert_eq!(j.deadline_ms, 60_000);
    }
}
