//! Discovery over NATS: the job a poller runs on `netpulse.discover.<device>` (queue group
//! `pollers`) to walk a device's system group and interfaces, its answer, and the result kept
//! in the `netpulse_interfaces` bucket.

use serde::{Deserialize, Serialize};

use crate::device::{Device, DeviceId};
use crate::interfaces::Interface;
use crate::messages::AgentTarget;

fn schema_version() -> u32 {
    crate::messages::SCHEMA_VERSION
}

/// The device's system group (RFC 3418), as the device reports it: untrusted text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// sysDescr.
    pub descr: String,
    /// sysName.
    pub name: String,
    /// sysLocation.
    pub location: String,
    /// sysContact.
    pub contact: String,
}

/// Everything discovery learned about a device, kept in the `netpulse_interfaces` bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInterfaces {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The device.
    pub device: DeviceId,
    /// When discovery finished, Unix milliseconds.
    pub time_ms: u64,
    /// The GETBULK max-repetitions that worked (0 for SNMPv1, which has no GETBULK).
    pub max_repetitions: u32,
    /// The system group.
    #[serde(default)]
    pub system: SystemInfo,
    /// Every interface, by ifIndex.
    pub interfaces: Vec<Interface>,
    /// The device's own LLDP chassis ID (lldpLocChassisId), formatted as
    /// [`Neighbour::chassis_id`] is; empty when the agent has no LLDP-MIB.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chassis_id: String,
    /// What the device sees on its links: LLDP and CDP neighbours, in the order the agent's
    /// tables list them (LLDP first; at most 1,024). Empty when the agent has neither MIB.
    #[serde(default)]
    pub neighbours: Vec<Neighbour>,
}

/// The protocol a neighbour was learned by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeighbourProtocol {
    /// LLDP-MIB (IEEE 802.1AB) lldpRemTable.
    Lldp,
    /// CISCO-CDP-MIB cdpCacheTable.
    Cdp,
}

/// One neighbour a device reports on one of its interfaces. Every text is as the device
/// reports it (control characters dropped, at most 255 characters): untrusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbour {
    /// LLDP or CDP.
    pub protocol: NeighbourProtocol,
    /// The local interface's ifIndex, when the agent's tables lead to one of the device's
    /// interfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_if_index: Option<u32>,
    /// The local port as the neighbour table names it: lldpLocPortId (lldpLocPortDesc when
    /// the ID is a MAC or network address), else the interface's name, else the local port
    /// number. For CDP the interface's name, else the cdpCacheIfIndex.
    pub local_port: String,
    /// The remote chassis ID: a MAC address as `aa:bb:cc:dd:ee:ff`, a network address as
    /// text, else the text the device sent, or colon-separated hex when more than half of
    /// it is unreadable (lldpRemChassisId). CDP has none: empty.
    pub chassis_id: String,
    /// The remote system's name (lldpRemSysName; cdpCacheDeviceId for CDP).
    pub system_name: String,
    /// The remote port's ID (lldpRemPortId formatted as `chassis_id` is; cdpCacheDevicePort).
    pub port_id: String,
    /// The remote port's description (lldpRemPortDesc); empty for CDP.
    pub port_descr: String,
    /// The remote system's description (lldpRemSysDesc) or platform (cdpCachePlatform).
    pub platform: String,
    /// The remote management address (lldpRemManAddrTable; cdpCacheAddress), when it is an
    /// IPv4 or IPv6 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<std::net::IpAddr>,
}

/// A request to discover a device's interfaces, on `netpulse.discover.<device>` (queue
/// group `pollers`). Carries credentials, like a poll job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryJob {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The device.
    pub device: DeviceId,
    /// How to reach and speak to the agent (flattened).
    #[serde(flatten)]
    pub target: AgentTarget,
    /// GETBULK max-repetitions to start with (what worked last time, else a moderate 20).
    pub max_repetitions: u32,
    /// A probe of a device not saved yet (the add-device form): the result goes back to the
    /// requester only, not into the `netpulse_interfaces` bucket.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub probe: bool,
}

impl DiscoveryJob {
    /// The discovery job for `device`, starting from what worked last time.
    pub fn for_device(device: &Device, last: Option<&DeviceInterfaces>) -> Self {
        Self {
            schema: schema_version(),
            device: device.id.clone(),
            target: AgentTarget::of(device),
            max_repetitions: last.map_or(20, |l| l.max_repetitions).clamp(1, 50),
            probe: false,
        }
    }

    /// A probe of `device`, which is not saved: under the id [`probe_id`]`(nonce)`, so that
    /// its subject names no real device.
    pub fn probe(device: &Device, nonce: u64) -> Self {
        Self {
            device: probe_id(nonce),
            probe: true,
            ..Self::for_device(device, None)
        }
    }
}

/// The device id of a probe: `probe-<nonce in hex>-`. A valid id (a safe subject token), but
/// never a saved device's: those come from [`DeviceId::from_name`], which never ends one
/// with `-`.
pub fn probe_id(nonce: u64) -> DeviceId {
    DeviceId::parse(&format!("probe-{nonce:016x}-"))
        .unwrap_or_else(|_| unreachable!("a probe id is a valid device id"))
}

/// The answer to a discovery request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum DiscoveryOutcome {
    /// It worked; the result is also in the bucket (unless the job was a probe).
    Discovered(DeviceInterfaces),
    /// It failed, and why.
    Failed {
        /// For a human.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_have_ids_no_device_can_have_and_say_so() {
        let body = br#"{"name": "probe-00000000000000ff-", "address": "192.0.2.1"}"#;
        let device = Device::from_json_body(body).expect("device");
        let job = DiscoveryJob::probe(&device, 255);
        assert_eq!(job.device.as_str(), "probe-00000000000000ff-");
        assert_ne!(job.device, device.id, "a name cannot give a probe's id");
        assert!(job.probe);
        let json = serde_json::to_value(&job).expect("json");
        assert_eq!(json["probe"], true);
        assert_eq!(
            serde_json::from_value::<DiscoveryJob>(json).expect("back"),
            job
        );
        let saved = serde_json::to_value(DiscoveryJob::for_device(&device, None)).expect("json");
        assert!(saved.get("probe").is_none(), "{saved}");
        assert_ne!(probe_id(1), probe_id(2));
    }

    #[test]
    fn a_discovery_result_reads_back_with_its_interfaces() {
        let round: DeviceInterfaces = serde_json::from_value(serde_json::json!({
            "schema": 1, "device": "d", "time_ms": 1, "max_repetitions": 20,
            "system": {"descr": "<b>", "name": "r1", "location": "", "contact": ""},
            "interfaces": [{"index": 1, "name": "eth0", "descr": "x", "alias": "", "type": 6,
                            "speed_bps": 10, "admin_status": "up", "oper_status": "lower_layer_down",
                            "hc_counters": true}]
        }))
        .expect("json");
        assert_eq!(
            round.interfaces[0].oper_status,
            crate::interfaces::IfStatus::LowerLayerDown
        );
    }
}
