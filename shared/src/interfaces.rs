//! Interfaces: what discovery finds on a device and how users pick which to poll (the
//! discovery job and its result are in [`crate::discovery`]).
//!
//! An interface is known by a stable key, its ifName (else its ifDescr), not by its ifIndex:
//! when a device renumbers its interfaces, the next discovery maps the new index to the same
//! key, a selection by name follows it, and its history continues under the same key.

use serde::{Deserialize, Serialize};

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
    fn references_read_as_numbers_or_names() {
        let refs: Vec<InterfaceRef> = serde_json::from_str(r#"[1, "eth0"]"#).expect("json");
        assert_eq!(
            refs,
            [InterfaceRef::Index(1), InterfaceRef::Name("eth0".into())]
        );
    }
}
