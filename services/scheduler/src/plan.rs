//! What to poll and when: the OID list of a device and the slots of its poll schedule.
//!
//! Each device polls on a fixed grid `phase + k * interval` of wall-clock time, where the
//! phase comes from a hash of its id. Devices therefore spread evenly over the interval
//! instead of all firing at once, and a restarted scheduler keeps the same slots, so the job
//! ids (device plus slot) stay the same and JetStream drops a sample polled twice.

use netpulse_shared::device::{Device, Oid, SnmpVersion};
use netpulse_shared::interfaces::{selected, DeviceInterfaces, InterfaceRef};
use netpulse_shared::messages::{oids, AgentTarget, PollJob, PolledInterface, SCHEMA_VERSION};

/// What one poll of `device` GETs, and the interfaces it covers.
///
/// sysUpTime.0 first; then for each selected interface its octet counters (64-bit where the
/// device has them and speaks v2c/v3, else 32-bit) and ifOperStatus; then the extra OIDs.
/// Static columns (names, speeds) come from discovery, not from every poll. Before the first
/// discovery only interfaces chosen by ifIndex can be polled.
pub fn plan(
    device: &Device,
    discovered: Option<&DeviceInterfaces>,
) -> (Vec<Oid>, Vec<PolledInterface>) {
    let v1 = device.version == SnmpVersion::V1;
    let mut list = vec![oids::sys_uptime()];
    let mut covered = Vec::new();
    let mut add = |index: u32, hc: bool, key: String, speed_bps: u64, list: &mut Vec<Oid>| {
        let (in_col, out_col) = if hc && !v1 {
            (oids::if_hc_in_octets(), oids::if_hc_out_octets())
        } else {
            (oids::if_in_octets(), oids::if_out_octets())
        };
        list.push(in_col.child(index));
        list.push(out_col.child(index));
        list.push(oids::if_oper_status().child(index));
        covered.push(PolledInterface {
            index,
            key,
            speed_bps,
        });
    };
    match discovered {
        Some(found) => {
            for interface in selected(&device.interfaces, &found.interfaces) {
                add(
                    interface.index,
                    interface.hc_counters,
                    interface.key(),
                    interface.speed_bps,
                    &mut list,
                );
            }
        }
        None => {
            for chosen in &device.interfaces {
                if let InterfaceRef::Index(index) = chosen {
                    add(*index, true, format!("ifIndex {index}"), 0, &mut list);
                }
            }
        }
    }
    for extra in &device.oids {
        if !list.contains(extra) {
            list.push(extra.clone());
        }
    }
    (list, covered)
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
pub fn job(device: &Device, discovered: Option<&DeviceInterfaces>, slot_ms: u64) -> PollJob {
    let (oids, interfaces) = plan(device, discovered);
    PollJob {
        schema: SCHEMA_VERSION,
        job_id: format!("{}-{slot_ms}", device.id),
        device: device.id.clone(),
        target: AgentTarget::of(device),
        oids,
        interfaces,
        deadline_ms: slot_ms + interval_ms(device),
        live: false,
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
    fn before_discovery_only_numbered_interfaces_are_polled() {
        let (oids, _) = plan(&device("a", 10), None);
        let list: Vec<String> = oids.iter().map(ToString::to_string).collect();
        assert_eq!(
            list,
            [
                "1.3.6.1.2.1.1.3.0",
                "1.3.6.1.2.1.31.1.1.1.6.1",
                "1.3.6.1.2.1.31.1.1.1.10.1",
                "1.3.6.1.2.1.2.2.1.8.1",
                "1.3.6.1.2.1.31.1.1.1.6.2",
                "1.3.6.1.2.1.31.1.1.1.10.2",
                "1.3.6.1.2.1.2.2.1.8.2",
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
    fn after_discovery_selection_follows_names_and_counter_width() {
        use netpulse_shared::interfaces::{IfStatus, Interface};
        let body = r#"{"name": "r", "address": "192.0.2.1", "interfaces": ["eth1", "ser0"]}"#;
        let d = Device::from_json_body(body.as_bytes()).expect("device");
        let iface = |index, name: &str, hc| Interface {
            index,
            name: name.into(),
            descr: String::new(),
            alias: String::new(),
            if_type: 6,
            speed_bps: 100,
            admin_status: IfStatus::Up,
            oper_status: IfStatus::Up,
            hc_counters: hc,
        };
        let found = DeviceInterfaces {
            schema: 1,
            device: d.id.clone(),
            time_ms: 0,
            max_repetitions: 20,
            system: Default::default(),
            // Renumbered: eth1 is now ifIndex 7.
            interfaces: vec![
                iface(7, "eth1", true),
                iface(8, "ser0", false),
                iface(9, "eth2", true),
            ],
        };
        let (oids, covered) = plan(&d, Some(&found));
        let list: Vec<String> = oids.iter().map(ToString::to_string).collect();
        assert!(list.contains(&"1.3.6.1.2.1.31.1.1.1.6.7".to_owned()));
        assert!(
            list.contains(&"1.3.6.1.2.1.2.2.1.10.8".to_owned()),
            "32-bit where no HC counters"
        );
        assert!(!list.iter().any(|o| o.ends_with(".9")));
        assert_eq!(
            covered.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
            ["eth1", "ser0"]
        );
    }

    #[test]
    fn jobs_are_named_by_slot() {
        let d = device("core-1", 10);
        let j = job(&d, None, 50_000);
        assert_eq!(j.job_id, "core-1-50000");
        assert_eq!(j.deadline_ms, 60_000);
    }
}
