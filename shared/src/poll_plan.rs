//! What one poll of a device GETs, and the poll job that asks for it. The scheduler builds
//! the job of every slot with it and the gateway the job of a test poll, so a test polls
//! exactly what the schedule would.

use crate::device::Device;

use crate::discovery::DeviceInterfaces;
use crate::interfaces::{selected, InterfaceRef};
use crate::messages::{oids, AgentTarget, PollJob, PolledInterface, SCHEMA_VERSION};
use crate::snmp::{Oid, SnmpVersion};

/// What one poll of `device` GETs, and the interfaces it covers.
///
/// sysUpTime.0 first; then for each selected interface its octet counters (64-bit where the
/// device has them and speaks v2c/v3, else 32-bit), ifOperStatus and, unless the device's
/// `poll_errors` is off, its error and discard counters (ifInDiscards, ifInErrors,
/// ifOutDiscards, ifOutErrors: Counter32 only in IF-MIB); then the extra OIDs.
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
        if device.poll_errors {
            for column in [
                oids::if_in_discards(),
                oids::if_in_errors(),
                oids::if_out_discards(),
                oids::if_out_errors(),
            ] {
                list.push(column.child(index));
            }
        }
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

/// The normal poll job of `device` (stored, counted for reachability), named `job_id` and
/// stale after `deadline_ms`.
pub fn poll_job(
    device: &Device,
    discovered: Option<&DeviceInterfaces>,
    job_id: String,
    deadline_ms: u64,
) -> PollJob {
    let (oids, interfaces) = plan(device, discovered);
    PollJob {
        schema: SCHEMA_VERSION,
        job_id,
        device: device.id.clone(),
        target: AgentTarget::of(device),
        oids,
        interfaces,
        deadline_ms,
        live: false,
        record: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(body: &str) -> Device {
        Device::from_json_body(body.as_bytes()).expect("device")
    }

    #[test]
    fn before_discovery_only_numbered_interfaces_are_polled() {
        let d = device(
            r#"{"name": "a", "address": "192.0.2.1", "interfaces": [1, 2, "eth0"],
                "oids": ["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.3.0"]}"#,
        );
        let (oids, _) = plan(&d, None);
        let list: Vec<String> = oids.iter().map(ToString::to_string).collect();
        assert_eq!(
            list,
            [
                "1.3.6.1.2.1.1.3.0",
                "1.3.6.1.2.1.31.1.1.1.6.1",
                "1.3.6.1.2.1.31.1.1.1.10.1",
                "1.3.6.1.2.1.2.2.1.8.1",
                "1.3.6.1.2.1.2.2.1.13.1",
                "1.3.6.1.2.1.2.2.1.14.1",
                "1.3.6.1.2.1.2.2.1.19.1",
                "1.3.6.1.2.1.2.2.1.20.1",
                "1.3.6.1.2.1.31.1.1.1.6.2",
                "1.3.6.1.2.1.31.1.1.1.10.2",
                "1.3.6.1.2.1.2.2.1.8.2",
                "1.3.6.1.2.1.2.2.1.13.2",
                "1.3.6.1.2.1.2.2.1.14.2",
                "1.3.6.1.2.1.2.2.1.19.2",
                "1.3.6.1.2.1.2.2.1.20.2",
                "1.3.6.1.2.1.1.5.0",
            ]
        );
    }

    #[test]
    fn error_counters_are_left_out_when_the_device_turns_them_off() {
        let d = device(
            r#"{"name": "a", "address": "192.0.2.1", "version": "1", "interfaces": [3],
                "poll_errors": false}"#,
        );
        let (oids, covered) = plan(&d, None);
        let list: Vec<String> = oids.iter().map(ToString::to_string).collect();
        assert_eq!(
            list,
            [
                "1.3.6.1.2.1.1.3.0",
                "1.3.6.1.2.1.2.2.1.10.3",
                "1.3.6.1.2.1.2.2.1.16.3",
                "1.3.6.1.2.1.2.2.1.8.3",
            ]
        );
        assert_eq!(covered.len(), 1);
    }

    #[test]
    fn after_discovery_selection_follows_names_and_counter_width() {
        use crate::interfaces::{IfStatus, Interface};
        let d = device(r#"{"name": "r", "address": "192.0.2.1", "interfaces": ["eth1", "ser0"]}"#);
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
            chassis_id: String::new(),
            neighbours: Vec::new(),
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
        let job = poll_job(&d, Some(&found), "r-test-1".into(), 9);
        assert_eq!((job.oids, job.interfaces), (oids, covered));
        assert_eq!((job.job_id.as_str(), job.deadline_ms), ("r-test-1", 9));
        assert!(!job.live);
    }
}
