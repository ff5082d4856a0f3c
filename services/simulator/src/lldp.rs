//! LLDP-MIB (IEEE 802.1AB, `lldpObjects` 1.0.8802.1.1.2.1): what a device tells of itself
//! and of the devices at the far end of its links.
//!
//! The local group (chassis ID, system name and description, lldpLocPortTable) depends only
//! on the interface count and the ifIndex offset, so it is part of the shared MIB table. The
//! neighbour rows (lldpRemTable, lldpRemManAddrTable) differ per device: a linked device keeps
//! its own small table of them, an unlinked one none. Every OID here sorts before mib-2 (1.0 <
//! 1.3), and the remote rows form one subtree (`lldpRemoteSystemsData`, .4) that no shared
//! entry falls into. This module places the objects ([`local_objects`], [`remote_objects`]);
//! `crate::mib` makes the tables of them.

use std::net::IpAddr;

use crate::value::Value;

/// An LLDP object at its OID: the OID, how many of its arcs name the object type (the rest
/// is the instance), and the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The instance's OID.
    pub oid: Vec<u32>,
    /// Arcs naming the object type.
    pub type_arcs: usize,
    /// What it is.
    pub object: LldpObject,
}

/// `lldpLocalSystemData` (lldpObjects.3).
const LOCAL_DATA: [u32; 8] = [1, 0, 8802, 1, 1, 2, 1, 3];
/// `lldpLocPortEntry` (lldpLocalSystemData.7.1).
const LOC_PORT_ENTRY: [u32; 10] = [1, 0, 8802, 1, 1, 2, 1, 3, 7, 1];
/// `lldpRemEntry` (lldpRemoteSystemsData.1.1).
const REM_ENTRY: [u32; 10] = [1, 0, 8802, 1, 1, 2, 1, 4, 1, 1];
/// `lldpRemManAddrEntry` (lldpRemoteSystemsData.2.1).
const REM_MAN_ADDR_ENTRY: [u32; 10] = [1, 0, 8802, 1, 1, 2, 1, 4, 2, 1];

/// LldpChassisIdSubtype macAddress(4).
pub const CHASSIS_ID_MAC_ADDRESS: i64 = 4;
/// LldpPortIdSubtype interfaceName(5).
pub const PORT_ID_INTERFACE_NAME: i64 = 5;
/// lldpRemManAddrIfSubtype ifIndex(2).
const MAN_ADDR_IF_INDEX: i64 = 2;
/// lldpRemTimeMark of every row: the rows are as old as the agent's last table change, 0.
const TIME_MARK: u32 = 0;
/// lldpRemIndex: a port has at most one neighbour here.
const REM_INDEX: u32 = 1;
/// IANA AddressFamilyNumbers ipV4(1), ipV6(2), lldpRemManAddrSubtype.
const ADDRESS_FAMILY_IPV4: u32 = 1;
const ADDRESS_FAMILY_IPV6: u32 = 2;

/// An LLDP-MIB object; [`Object::Lldp`] wraps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LldpObject {
    /// lldpLocChassisIdSubtype.0: macAddress(4).
    LocChassisIdSubtype,
    /// lldpLocChassisId.0: [`chassis_id`].
    LocChassisId,
    /// lldpLocSysName.0: sysName.
    LocSysName,
    /// lldpLocSysDesc.0: sysDescr.
    LocSysDesc,
    /// A cell of lldpLocPortTable, indexed by lldpLocPortNum = ifIndex.
    LocPort {
        /// Which column.
        column: LocPortColumn,
        /// The interface's position.
        position: usize,
    },
    /// A cell of lldpRemTable.
    Remote {
        /// Which column.
        column: RemColumn,
        /// Index into the device's neighbour list.
        neighbour: usize,
    },
    /// A cell of lldpRemManAddrTable.
    RemoteManAddr {
        /// Which column.
        column: ManAddrColumn,
        /// Index into the device's neighbour list.
        neighbour: usize,
    },
}

/// lldpLocPortTable columns served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocPortColumn {
    /// lldpLocPortIdSubtype (2): interfaceName(5).
    IdSubtype = 2,
    /// lldpLocPortId (3): ifName.
    Id = 3,
    /// lldpLocPortDesc (4): ifDescr.
    Desc = 4,
}

/// lldpRemTable columns served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemColumn {
    /// lldpRemChassisIdSubtype (4): macAddress(4).
    ChassisIdSubtype = 4,
    /// lldpRemChassisId (5): the remote's chassis MAC, 6 bytes.
    ChassisId = 5,
    /// lldpRemPortIdSubtype (6): interfaceName(5).
    PortIdSubtype = 6,
    /// lldpRemPortId (7): the remote port's ifName.
    PortId = 7,
    /// lldpRemPortDesc (8): the remote port's ifDescr.
    PortDesc = 8,
    /// lldpRemSysName (9): the remote's sysName.
    SysName = 9,
    /// lldpRemSysDesc (10): the remote's sysDescr.
    SysDesc = 10,
}

/// lldpRemManAddrTable columns served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManAddrColumn {
    /// lldpRemManAddrIfSubtype (3): ifIndex(2).
    IfSubtype = 3,
    /// lldpRemManAddrIfId (4): the remote port's ifIndex.
    IfId = 4,
}

const LOC_PORT_COLUMNS: [LocPortColumn; 3] = [
    LocPortColumn::IdSubtype,
    LocPortColumn::Id,
    LocPortColumn::Desc,
];
const REM_COLUMNS: [RemColumn; 7] = [
    RemColumn::ChassisIdSubtype,
    RemColumn::ChassisId,
    RemColumn::PortIdSubtype,
    RemColumn::PortId,
    RemColumn::PortDesc,
    RemColumn::SysName,
    RemColumn::SysDesc,
];
const MAN_ADDR_COLUMNS: [ManAddrColumn; 2] = [ManAddrColumn::IfSubtype, ManAddrColumn::IfId];

/// The chassis ID (a MAC address) of device `number`: `06:00` and the number as 4 bytes,
/// locally administered and unicast, apart from every ifPhysAddress (which start `02`).
pub fn chassis_id(number: usize) -> [u8; 6] {
    let number = u32::try_from(number).unwrap_or(u32::MAX).to_be_bytes();
    [0x06, 0x00, number[0], number[1], number[2], number[3]]
}

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    let hex: Vec<String> = mac.iter().map(|byte| format!("{byte:02x}")).collect();
    hex.join(":")
}

/// What a device tells its neighbours about one of its ports: a copy, refreshed when the
/// device's names or numbering change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortIdentity {
    /// The device's chassis ID.
    pub chassis_id: [u8; 6],
    /// sysName.
    pub sys_name: String,
    /// sysDescr.
    pub sys_descr: String,
    /// The port's ifName.
    pub port_name: String,
    /// The port's ifDescr.
    pub port_descr: String,
    /// The port's ifIndex.
    pub if_index: u32,
    /// The device's management address (the address it answers SNMP on).
    pub address: IpAddr,
}

impl PortIdentity {
    /// The value of a lldpRemTable cell describing this port.
    pub fn remote_value(&self, column: RemColumn) -> Value {
        match column {
            RemColumn::ChassisIdSubtype => Value::Integer(CHASSIS_ID_MAC_ADDRESS),
            RemColumn::ChassisId => Value::OctetString(self.chassis_id.to_vec()),
            RemColumn::PortIdSubtype => Value::Integer(PORT_ID_INTERFACE_NAME),
            RemColumn::PortId => text(&self.port_name),
            RemColumn::PortDesc => text(&self.port_descr),
            RemColumn::SysName => text(&self.sys_name),
            RemColumn::SysDesc => text(&self.sys_descr),
        }
    }

    /// The value of a lldpRemManAddrTable cell describing this port's device.
    pub fn man_addr_value(&self, column: ManAddrColumn) -> Value {
        match column {
            ManAddrColumn::IfSubtype => Value::Integer(MAN_ADDR_IF_INDEX),
            ManAddrColumn::IfId => Value::Integer(i64::from(self.if_index)),
        }
    }
}

/// One of a device's links as the device sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// The local interface's position.
    pub local_position: usize,
    /// The far end.
    pub remote: PortIdentity,
}

/// The local group's objects for `interfaces` interfaces, the one at `position` having
/// ifIndex `if_index(position)` (unsorted).
pub fn local_objects(interfaces: usize, if_index: impl Fn(usize) -> u32) -> Vec<Placed> {
    let scalar = |item: u32, object: LldpObject| {
        let mut oid = LOCAL_DATA.to_vec();
        oid.extend_from_slice(&[item, 0]);
        Placed {
            oid,
            type_arcs: LOCAL_DATA.len() + 1,
            object,
        }
    };
    let mut entries = vec![
        scalar(1, LldpObject::LocChassisIdSubtype),
        scalar(2, LldpObject::LocChassisId),
        scalar(3, LldpObject::LocSysName),
        scalar(4, LldpObject::LocSysDesc),
    ];
    for column in LOC_PORT_COLUMNS {
        for position in 0..interfaces {
            let mut oid = LOC_PORT_ENTRY.to_vec();
            oid.extend_from_slice(&[column as u32, if_index(position)]);
            entries.push(Placed {
                oid,
                type_arcs: LOC_PORT_ENTRY.len() + 1,
                object: LldpObject::LocPort { column, position },
            });
        }
    }
    entries
}

/// The objects of the neighbour rows of a device whose interface at `position` has ifIndex
/// `if_index(position)` (unsorted).
pub fn remote_objects(neighbours: &[Neighbour], if_index: impl Fn(usize) -> u32) -> Vec<Placed> {
    let mut entries = Vec::with_capacity(neighbours.len() * 9);
    for (neighbour, seen) in neighbours.iter().enumerate() {
        let row = [TIME_MARK, if_index(seen.local_position), REM_INDEX];
        for column in REM_COLUMNS {
            let mut oid = REM_ENTRY.to_vec();
            oid.push(column as u32);
            oid.extend_from_slice(&row);
            entries.push(Placed {
                oid,
                type_arcs: REM_ENTRY.len() + 1,
                object: LldpObject::Remote { column, neighbour },
            });
        }
        let address = address_index(seen.remote.address);
        for column in MAN_ADDR_COLUMNS {
            let mut oid = REM_MAN_ADDR_ENTRY.to_vec();
            oid.push(column as u32);
            oid.extend_from_slice(&row);
            oid.extend_from_slice(&address);
            entries.push(Placed {
                oid,
                type_arcs: REM_MAN_ADDR_ENTRY.len() + 1,
                object: LldpObject::RemoteManAddr { column, neighbour },
            });
        }
    }
    entries
}

/// lldpRemManAddrSubtype.lldpRemManAddr as index arcs: the family, then the address as a
/// length-prefixed OCTET STRING.
fn address_index(address: IpAddr) -> Vec<u32> {
    let (family, octets) = match address {
        IpAddr::V4(v4) => (ADDRESS_FAMILY_IPV4, v4.octets().to_vec()),
        IpAddr::V6(v6) => (ADDRESS_FAMILY_IPV6, v6.octets().to_vec()),
    };
    let mut arcs = vec![family, octets.len() as u32];
    arcs.extend(octets.into_iter().map(u32::from));
    arcs
}

fn text(value: &str) -> Value {
    Value::OctetString(value.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chassis_ids_are_local_unicast_macs_apart_per_device() {
        assert_eq!(chassis_id(0), [6, 0, 0, 0, 0, 0]);
        assert_eq!(chassis_id(0x0102_0304), [6, 0, 1, 2, 3, 4]);
        assert_eq!(format_mac(&chassis_id(258)), "06:00:00:00:01:02");
        assert_eq!(chassis_id(5)[0] & 0b11, 0b10);
    }
}
