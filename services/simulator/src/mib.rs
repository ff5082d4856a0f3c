//! The objects a simulated device serves, as sorted tables of OIDs.
//!
//! A [`MibTable`] depends only on the number of interfaces and the ifIndex offset, so devices
//! that share both share one table. A linked device adds a small table of its own, its LLDP
//! neighbour rows; a [`MibView`] reads the two as one. Entries name *what* to answer
//! ([`Object`]); the values themselves come from the device's state at the moment of the
//! request.

use crate::ber::encode_oid;
use crate::lldp::{self, LldpObject, Neighbour};

/// `mib-2` (1.3.6.1.2.1).
const MIB_2: [u32; 6] = [1, 3, 6, 1, 2, 1];
/// `ifEntry` (1.3.6.1.2.1.2.2.1), RFC 1213 / RFC 2863.
const IF_ENTRY: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 2, 1];
/// `ifXEntry` (1.3.6.1.2.1.31.1.1.1), RFC 2863.
const IF_X_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1];
/// Largest ifIndex RFC 2863 allows (`InterfaceIndex ::= Integer32 (1..2147483647)`).
pub const MAX_IF_INDEX: u32 = i32::MAX as u32;

/// A scalar or a column of the ifTable / ifXTable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// sysDescr.0
    SysDescr,
    /// sysObjectID.0
    SysObjectId,
    /// sysUpTime.0
    SysUpTime,
    /// sysContact.0
    SysContact,
    /// sysName.0
    SysName,
    /// sysLocation.0
    SysLocation,
    /// sysServices.0
    SysServices,
    /// ifNumber.0
    IfNumber,
    /// One cell of the interface tables.
    Interface {
        /// Which column.
        column: IfColumn,
        /// The interface's position on the device (0-based; its ifIndex is position + 1 +
        /// offset).
        position: usize,
    },
    /// An LLDP-MIB object.
    Lldp(LldpObject),
}

/// The interface columns served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfColumn {
    /// ifIndex
    Index,
    /// ifDescr
    Descr,
    /// ifType
    Type,
    /// ifMtu
    Mtu,
    /// ifSpeed
    Speed,
    /// ifPhysAddress
    PhysAddress,
    /// ifAdminStatus
    AdminStatus,
    /// ifOperStatus
    OperStatus,
    /// ifLastChange
    LastChange,
    /// ifInOctets
    InOctets,
    /// ifOutOctets
    OutOctets,
    /// ifName
    Name,
    /// ifHCInOctets
    HcInOctets,
    /// ifHCOutOctets
    HcOutOctets,
    /// ifHighSpeed
    HighSpeed,
    /// ifAlias
    Alias,
}

impl IfColumn {
    /// Every column served.
    pub const ALL: [IfColumn; 16] = [
        IfColumn::Index,
        IfColumn::Descr,
        IfColumn::Type,
        IfColumn::Mtu,
        IfColumn::Speed,
        IfColumn::PhysAddress,
        IfColumn::AdminStatus,
        IfColumn::OperStatus,
        IfColumn::LastChange,
        IfColumn::InOctets,
        IfColumn::OutOctets,
        IfColumn::Name,
        IfColumn::HcInOctets,
        IfColumn::HcOutOctets,
        IfColumn::HighSpeed,
        IfColumn::Alias,
    ];

    /// The column's OID, without the ifIndex.
    pub fn oid(self) -> Vec<u32> {
        let (entry, column): (&[u32], u32) = match self {
            IfColumn::Index => (&IF_ENTRY, 1),
            IfColumn::Descr => (&IF_ENTRY, 2),
            IfColumn::Type => (&IF_ENTRY, 3),
            IfColumn::Mtu => (&IF_ENTRY, 4),
            IfColumn::Speed => (&IF_ENTRY, 5),
            IfColumn::PhysAddress => (&IF_ENTRY, 6),
            IfColumn::AdminStatus => (&IF_ENTRY, 7),
            IfColumn::OperStatus => (&IF_ENTRY, 8),
            IfColumn::LastChange => (&IF_ENTRY, 9),
            IfColumn::InOctets => (&IF_ENTRY, 10),
            IfColumn::OutOctets => (&IF_ENTRY, 16),
            IfColumn::Name => (&IF_X_ENTRY, 1),
            IfColumn::HcInOctets => (&IF_X_ENTRY, 6),
            IfColumn::HcOutOctets => (&IF_X_ENTRY, 10),
            IfColumn::HighSpeed => (&IF_X_ENTRY, 15),
            IfColumn::Alias => (&IF_X_ENTRY, 18),
        };
        let mut oid = entry.to_vec();
        oid.push(column);
        oid
    }
}

impl Object {
    /// Whether the value is a Counter64, which SNMPv1 cannot carry.
    pub fn is_counter64(self) -> bool {
        matches!(
            self,
            Object::Interface {
                column: IfColumn::HcInOctets | IfColumn::HcOutOctets,
                ..
            }
        )
    }
}

/// One served OID.
#[derive(Debug)]
pub struct Entry {
    /// The full OID, instance included.
    pub oid: Box<[u32]>,
    /// The OID's BER content bytes, encoded once.
    pub encoded: Box<[u8]>,
    /// How many leading arcs name the object type (the OID without its instance).
    type_arcs: usize,
    /// What to answer.
    pub object: Object,
}

impl Entry {
    /// The entry for `oid`, whose first `type_arcs` arcs name the object type.
    pub(crate) fn new(oid: Vec<u32>, type_arcs: usize, object: Object) -> Self {
        let mut encoded = Vec::with_capacity(oid.len() + 4);
        encode_oid(&oid, &mut encoded);
        Self {
            oid: oid.into_boxed_slice(),
            encoded: encoded.into_boxed_slice(),
            type_arcs,
            object,
        }
    }

    /// Whether `oid` names an instance (possibly missing) of this entry's object type.
    fn covers(&self, oid: &[u32]) -> bool {
        oid.len() > self.type_arcs && oid.starts_with(&self.oid[..self.type_arcs])
    }
}

/// What a GET finds.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// The OID is served.
    Found(&'a Entry),
    /// The object type exists, this instance does not.
    NoSuchInstance,
    /// Nothing of that type is served.
    NoSuchObject,
}

/// Every OID a device serves, sorted.
#[derive(Debug)]
pub struct MibTable {
    entries: Vec<Entry>,
}

/// The entry of an LLDP object.
fn lldp_entry(placed: lldp::Placed) -> Entry {
    Entry::new(placed.oid, placed.type_arcs, Object::Lldp(placed.object))
}

impl MibTable {
    /// The table of a device with `interfaces` interfaces whose ifIndex values are shifted
    /// by `offset` (position 0 has ifIndex `1 + offset`). The offset is clamped so every
    /// ifIndex stays within [`MAX_IF_INDEX`].
    pub fn build(interfaces: usize, offset: u32) -> Self {
        let offset = clamp_offset(interfaces, offset);
        let scalar = |group: u32, item: u32, object| {
            let mut oid = MIB_2.to_vec();
            oid.extend_from_slice(&[group, item, 0]);
            let type_arcs = oid.len() - 1;
            Entry::new(oid, type_arcs, object)
        };
        let mut entries = vec![
            scalar(1, 1, Object::SysDescr),
            scalar(1, 2, Object::SysObjectId),
            scalar(1, 3, Object::SysUpTime),
            scalar(1, 4, Object::SysContact),
            scalar(1, 5, Object::SysName),
            scalar(1, 6, Object::SysLocation),
            scalar(1, 7, Object::SysServices),
            scalar(2, 1, Object::IfNumber),
        ];
        entries.extend(
            lldp::local_objects(interfaces, |position| if_index(position, offset))
                .into_iter()
                .map(lldp_entry),
        );
        entries.reserve(interfaces * IfColumn::ALL.len());
        for column in IfColumn::ALL {
            let prefix = column.oid();
            for position in 0..interfaces {
                let mut oid = prefix.clone();
                oid.push(if_index(position, offset));
                entries.push(Entry::new(
                    oid,
                    prefix.len(),
                    Object::Interface { column, position },
                ));
            }
        }
        Self::from_entries(entries)
    }

    /// The LLDP neighbour rows of a device whose interfaces are under `offset`: the device's
    /// own table, seen through a [`MibView`] with the shared one.
    pub fn neighbour_rows(neighbours: &[Neighbour], offset: u32) -> Self {
        Self::from_entries(
            lldp::remote_objects(neighbours, |position| if_index(position, offset))
                .into_iter()
                .map(lldp_entry)
                .collect(),
        )
    }

    /// A table of `entries`, in any order.
    pub(crate) fn from_entries(mut entries: Vec<Entry>) -> Self {
        entries.sort_unstable_by(|a, b| a.oid.cmp(&b.oid));
        Self { entries }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry at `index` in OID order.
    pub fn entry(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index)
    }

    /// Looks `oid` up exactly.
    pub fn get(&self, oid: &[u32]) -> Lookup<'_> {
        match self.entries.binary_search_by(|entry| (*entry.oid).cmp(oid)) {
            Ok(index) => Lookup::Found(&self.entries[index]),
            Err(index) => {
                // Instances of one object type are contiguous and `oid` would sort among
                // them, so a neighbour of the insertion point tells whether the type exists.
                let before = index.checked_sub(1).and_then(|i| self.entries.get(i));
                let after = self.entries.get(index);
                if before
                    .into_iter()
                    .chain(after)
                    .any(|entry| entry.covers(oid))
                {
                    Lookup::NoSuchInstance
                } else {
                    Lookup::NoSuchObject
                }
            }
        }
    }

    /// Index of the first entry strictly after `oid` in OID order (the table's length when
    /// there is none).
    pub fn index_after(&self, oid: &[u32]) -> usize {
        self.entries.partition_point(|entry| *entry.oid <= *oid)
    }
}

/// What one device serves: the shared table, with the device's own entries (its LLDP
/// neighbour rows, when it has links) in their place in OID order. The own entries lie in
/// one subtree the shared table has nothing in, so the two interleave at a single point.
#[derive(Debug, Clone, Copy)]
pub struct MibView<'a> {
    shared: &'a MibTable,
    own: Option<&'a MibTable>,
    /// Index in `shared` of the first entry after every own entry.
    split: usize,
}

impl<'a> MibView<'a> {
    /// `shared` with `own` slotted in.
    pub fn new(shared: &'a MibTable, own: Option<&'a MibTable>) -> Self {
        let own = own.filter(|own| !own.is_empty());
        let split = own
            .and_then(|own| own.entries.first())
            .map_or(0, |first| shared.index_after(&first.oid));
        debug_assert!(own.is_none_or(|own| own
            .entries
            .iter()
            .all(|entry| shared.index_after(&entry.oid) == split)));
        Self { shared, own, split }
    }

    /// The entry at `index` in OID order.
    pub fn entry(&self, index: usize) -> Option<&'a Entry> {
        let Some(own) = self.own else {
            return self.shared.entry(index);
        };
        if index < self.split {
            self.shared.entry(index)
        } else if index < self.split + own.len() {
            own.entry(index - self.split)
        } else {
            self.shared.entry(index - own.len())
        }
    }

    /// Looks `oid` up exactly.
    pub fn get(&self, oid: &[u32]) -> Lookup<'a> {
        match self.own.map(|own| own.get(oid)) {
            Some(found @ (Lookup::Found(_) | Lookup::NoSuchInstance)) => found,
            _ => self.shared.get(oid),
        }
    }

    /// Index of the first entry strictly after `oid` in OID order: as both tables are
    /// sorted and interleave in order, the count of entries not after `oid` in each.
    pub fn index_after(&self, oid: &[u32]) -> usize {
        self.shared.index_after(oid) + self.own.map_or(0, |own| own.index_after(oid))
    }
}

/// The ifIndex of the interface at `position` under `offset`.
pub fn if_index(position: usize, offset: u32) -> u32 {
    u32::try_from(position)
        .ok()
        .and_then(|p| p.checked_add(1))
        .and_then(|p| p.checked_add(offset))
        .map_or(MAX_IF_INDEX, |index| index.min(MAX_IF_INDEX))
}

/// The largest offset not above `offset` that keeps every ifIndex valid.
pub fn clamp_offset(interfaces: usize, offset: u32) -> u32 {
    let count = u32::try_from(interfaces).unwrap_or(MAX_IF_INDEX);
    offset.min(MAX_IF_INDEX.saturating_sub(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(text: &str) -> Vec<u32> {
        text.split('.')
            .map(|arc| arc.parse().expect("numeric arc"))
            .collect()
    }

    #[test]
    fn entries_are_sorted_and_unique() {
        let table = MibTable::build(12, 0);
        assert_eq!(table.entries.len(), 8 + 4 + 12 * (IfColumn::ALL.len() + 3));
        assert!(table
            .entries
            .windows(2)
            .all(|pair| pair[0].oid < pair[1].oid));
        // ifIndex 10 sorts after ifIndex 9 numerically, not textually.
        let descr: Vec<u32> = table
            .entries
            .iter()
            .filter(|entry| entry.oid.starts_with(&IfColumn::Descr.oid()))
            .map(|entry| entry.oid[entry.oid.len() - 1])
            .collect();
        assert_eq!(descr, (1..=12).collect::<Vec<_>>());
    }

    #[test]
    fn get_tells_missing_instances_from_missing_objects() {
        let table = MibTable::build(3, 0);
        assert!(matches!(
            table.get(&oid("1.3.6.1.2.1.1.5.0")),
            Lookup::Found(Entry {
                object: Object::SysName,
                ..
            })
        ));
        assert!(matches!(
            table.get(&oid("1.3.6.1.2.1.2.2.1.2.3")),
            Lookup::Found(Entry {
                object: Object::Interface {
                    column: IfColumn::Descr,
                    position: 2
                },
                ..
            })
        ));
        for missing in [
            "1.3.6.1.2.1.1.5.1",
            "1.3.6.1.2.1.2.2.1.2.4",
            "1.3.6.1.2.1.2.2.1.2.0",
        ] {
            assert!(
                matches!(table.get(&oid(missing)), Lookup::NoSuchInstance),
                "{missing}"
            );
        }
        for missing in [
            "1.3.6.1.2.1.1.9.0",
            "1.3.6.1.2.1.2.2.1.11.1",
            "1.3.6.1.2.1.1.5",
            "1.3",
        ] {
            assert!(
                matches!(table.get(&oid(missing)), Lookup::NoSuchObject),
                "{missing}"
            );
        }
    }

    #[test]
    fn index_after_walks_in_oid_order() {
        let table = MibTable::build(2, 0);
        let first = table.entry(table.index_after(&[])).expect("an entry");
        assert_eq!(&*first.oid, oid("1.0.8802.1.1.2.1.3.1.0").as_slice());
        let system = table
            .entry(table.index_after(&oid("1.3")))
            .expect("an entry");
        assert_eq!(&*system.oid, oid("1.3.6.1.2.1.1.1.0").as_slice());
        let after_name = table.index_after(&oid("1.3.6.1.2.1.1.5.0"));
        assert_eq!(
            table.entry(after_name).expect("sysLocation").object,
            Object::SysLocation
        );
        let after_descr = table.index_after(&oid("1.3.6.1.2.1.2.2.1.2"));
        assert_eq!(
            &*table.entry(after_descr).expect("ifDescr.1").oid,
            oid("1.3.6.1.2.1.2.2.1.2.1").as_slice()
        );
        let last = table.index_after(&oid("1.3.6.1.2.1.31.1.1.1.18.2"));
        assert!(table.entry(last).is_none());
    }

    #[test]
    fn offsets_shift_every_if_index_and_stay_valid() {
        let table = MibTable::build(2, 100);
        assert!(matches!(
            table.get(&oid("1.3.6.1.2.1.31.1.1.1.1.101")),
            Lookup::Found(Entry {
                object: Object::Interface {
                    column: IfColumn::Name,
                    position: 0
                },
                ..
            })
        ));
        assert_eq!(clamp_offset(2, u32::MAX), MAX_IF_INDEX - 2);
        assert_eq!(if_index(1, clamp_offset(2, u32::MAX)), MAX_IF_INDEX);
    }

    #[test]
    fn a_view_slots_a_device_s_own_rows_in_oid_order() {
        let shared = MibTable::build(2, 0);
        let neighbour = |local_position| lldp::Neighbour {
            local_position,
            remote: lldp::PortIdentity {
                chassis_id: lldp::chassis_id(1),
                sys_name: "sim-1".to_owned(),
                sys_descr: "d".to_owned(),
                port_name: "eth0".to_owned(),
                port_descr: "p".to_owned(),
                if_index: 1,
                address: std::net::IpAddr::from([127, 0, 0, 1]),
            },
        };
        let own = MibTable::neighbour_rows(&[neighbour(0), neighbour(1)], 0);
        let view = MibView::new(&shared, Some(&own));
        let walked: Vec<&[u32]> = (0..)
            .map_while(|index| view.entry(index))
            .map(|entry| &*entry.oid)
            .collect();
        assert_eq!(walked.len(), shared.len() + own.len());
        assert!(walked.windows(2).all(|pair| pair[0] < pair[1]));
        let rem_sys_name = oid("1.0.8802.1.1.2.1.4.1.1.9.0.2.1");
        let index = view.index_after(&oid("1.0.8802.1.1.2.1.4.1.1.9"));
        assert_eq!(&*view.entry(index + 1).expect("a row").oid, rem_sys_name);
        assert!(matches!(view.get(&rem_sys_name), Lookup::Found(_)));
        assert!(matches!(
            view.get(&oid("1.0.8802.1.1.2.1.4.1.1.9.0.3.1")),
            Lookup::NoSuchInstance
        ));
        assert!(matches!(
            view.get(&oid("1.3.6.1.2.1.1.5.0")),
            Lookup::Found(_)
        ));
        let after_rows = view.index_after(&oid("1.0.8802.1.1.2.1.4.9"));
        assert_eq!(
            &*view.entry(after_rows).expect("sysDescr").oid,
            oid("1.3.6.1.2.1.1.1.0").as_slice()
        );
        let alone = MibView::new(&shared, None);
        assert!(matches!(alone.get(&rem_sys_name), Lookup::NoSuchObject));
    }

    fn lldp_neighbour(local_position: usize) -> Neighbour {
        Neighbour {
            local_position,
            remote: lldp::PortIdentity {
                chassis_id: lldp::chassis_id(7),
                sys_name: "sim-7".to_owned(),
                sys_descr: "netpulse simulated device 7".to_owned(),
                port_name: "eth0".to_owned(),
                port_descr: "sim-7 port 0".to_owned(),
                if_index: 1,
                address: std::net::IpAddr::from([127, 0, 0, 1]),
            },
        }
    }

    #[test]
    fn remote_rows_are_indexed_by_time_mark_local_port_and_rem_index() {
        let table = MibTable::neighbour_rows(&[lldp_neighbour(3), lldp_neighbour(0)], 100);
        let name = table.get(&oid("1.0.8802.1.1.2.1.4.1.1.9.0.104.1"));
        assert!(matches!(
            name,
            Lookup::Found(Entry {
                object: Object::Lldp(LldpObject::Remote {
                    column: lldp::RemColumn::SysName,
                    neighbour: 0
                }),
                ..
            })
        ));
        let address = table.get(&oid("1.0.8802.1.1.2.1.4.2.1.4.0.101.1.1.4.127.0.0.1"));
        assert!(matches!(
            address,
            Lookup::Found(Entry {
                object: Object::Lldp(LldpObject::RemoteManAddr {
                    column: lldp::ManAddrColumn::IfId,
                    neighbour: 1
                }),
                ..
            })
        ));
        // Sorted: the row of local port 101 comes before that of 104 in each column.
        let first = table.entry(0).expect("an entry");
        assert_eq!(
            &*first.oid,
            oid("1.0.8802.1.1.2.1.4.1.1.4.0.101.1").as_slice()
        );
        assert_eq!(
            lldp_neighbour(0)
                .remote
                .remote_value(lldp::RemColumn::ChassisId),
            crate::value::Value::OctetString(vec![6, 0, 0, 0, 0, 7])
        );
    }
}
