//! Interfaces: what discovery finds on a device, how users pick which to poll, and the
//! discovery job and result carried over NATS.
//!
//! An interface is known by a stable key, its ifName (else its ifDescr), not by its ifIndex:
//! when a device renumbers its interfaces, the next discovery maps the new index to the same
//! key, a selection by name follows it, and its history continues under the same key.

use serde::{Deserialize, Serialize};

use crate::device::{Device, DeviceId};
use crate::messages::AgentTarget;

fn schema_version() -> u32 {
    crate::messages::SCHEMA_VERSION
}

/// How a device names an interface to poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InterfaceRef {
    /// By ifIndex.
    Index(u32),
    /// By name (ifName, else ifDescr), case-sensitive, as the device reports it.
    Name(String),
}

/// ifAdminStatus / ifOperStatus values (RFC 2863).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfStatus {
    /// 1.
    Up,
    /// 2.
    Down,
    /// 3.
    Testing,
    /// 4 (operational only).
    Unknown,
    /// 5.
    Dormant,
    /// 6.
    NotPresent,
    /// 7.
    LowerLayerDown,
}

impl IfStatus {
    /// From the INTEGER an agent returns.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Up,
            2 => Self::Down,
            3 => Self::Testing,
            5 => Self::Dormant,
            6 => Self::NotPresent,
            7 => Self::LowerLayerDown,
            _ => Self::Unknown,
        }
    }
}

/// One interface as discovery found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// ifIndex now.
    pub index: u32,
    /// ifName (ifXTable), empty when the agent has none.
    pub name: String,
    /// ifDescr.
    pub descr: String,
    /// ifAlias: the operator's description, empty when none.
    pub alias: String,
    /// ifType (IANAifType number; 6 is ethernetCsmacd).
    #[serde(rename = "type")]
    pub if_type: i64,
    /// Speed in bits per second: ifHighSpeed (Mb/s) when present, else ifSpeed.
    pub speed_bps: u64,
    /// ifAdminStatus.
    pub admin_status: IfStatus,
    /// ifOperStatus.
    pub oper_status: IfStatus,
    /// Whether 64-bit counters (ifHCInOctets) exist.
    pub hc_counters: bool,
}

impl Interface {
    /// The stable key: ifName, else ifDescr, else `ifIndex <n>`.
    pub fn key(&self) -> String {
        if !self.name.is_empty() {
            self.name.clone()
        } else if !self.descr.is_empty() {
            self.descr.clone()
        } else {
            format!("ifIndex {}", self.index)
        }
    }

    /// Whether `chosen` names this interface.
    pub fn matches(&self, chosen: &InterfaceRef) -> bool {
        match chosen {
            InterfaceRef::Index(i) => *i == self.index,
            InterfaceRef::Name(n) => *n == self.name || (self.name.is_empty() && *n == self.descr),
        }
    }
}

/// The interfaces of `discovered` that a device's selection picks: those named or numbered,
/// or, when the selection is empty, every interface that is administratively up.
pub fn selected<'a>(selection: &[InterfaceRef], discovered: &'a [Interface]) -> Vec<&'a Interface> {
    discovered
        .iter()
        .filter(|i| {
            if selection.is_empty() {
                i.admin_status == IfStatus::Up
            } else {
                selection.iter().any(|s| i.matches(s))
            }
        })
        .collect()
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

    fn iface(index: u32, name: &str, descr: &str, admin: IfStatus) -> Interface {
        Interface {
            index,
            name: name.into(),
            descr: descr.into(),
            alias: String::new(),
            if_type: 6,
            speed_bps: 1_000_000_000,
            admin_status: admin,
            oper_status: IfStatus::Up,
            hc_counters: true,
        }
    }

    #[test]
    fn selection_by_name_index_or_admin_status() {
        let found = vec![
            iface(1, "lo", "lo", IfStatus::Up),
            iface(2, "eth0", "Intel", IfStatus::Up),
            iface(3, "eth1", "Intel", IfStatus::Down),
            iface(4, "", "Serial0", IfStatus::Up),
        ];
        let pick = |sel: Vec<InterfaceRef>| -> Vec<u32> {
            selected(&sel, &found).iter().map(|i| i.index).collect()
        };
        assert_eq!(pick(vec![]), [1, 2, 4]);
        assert_eq!(
            pick(vec![
                InterfaceRef::Name("eth1".into()),
                InterfaceRef::Index(1)
            ]),
            [1, 3]
        );
        assert_eq!(pick(vec![InterfaceRef::Name("Serial0".into())]), [4]);
        assert_eq!(
            pick(vec![InterfaceRef::Name("Intel".into())]),
            Vec::<u32>::new()
        );
        assert_eq!(found[3].key(), "Serial0");
        assert_eq!(found[1].key(), "eth0");
    }

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
    fn references_read_as_numbers_or_names() {
        let refs: Vec<InterfaceRef> = serde_json::from_str(r#"[1, "eth0"]"#).expect("json");
        assert_eq!(
            refs,
            [InterfaceRef::Index(1), InterfaceRef::Name("eth0".into())]
        );
        let round: DeviceInterfaces = serde_json::from_value(serde_json::json!({
            "schema": 1, "device": "d", "time_ms": 1, "max_repetitions": 20,
            "system": {"descr": "<b>", "name": "r1", "location": "", "contact": ""},
            "interfaces": [{"index": 1, "name": "eth0", "descr": "x", "alias": "", "type": 6,
                            "speed_bps": 10, "admin_status": "up", "oper_status": "lower_layer_down",
                            "hc_counters": true}]
        }))
        .expect("json");
        assert_eq!(round.interfaces[0].oper_status, IfStatus::LowerLayerDown);
    }
}
