//! Neighbour discovery: what a device sees on its links, from LLDP-MIB (IEEE 802.1AB) and
//! CISCO-CDP-MIB, walked after its interfaces.
//!
//! - LLDP: lldpLocChassisId (the device's own chassis ID), lldpRemTable (one row per
//!   neighbour, indexed TimeMark.LocalPortNum.RemIndex), lldpRemManAddrTable (the
//!   neighbour's management addresses, read from the index) and lldpLocPortTable (what the
//!   device calls its local ports, to find the interface a neighbour is on).
//! - CDP: cdpCacheTable, indexed cdpCacheIfIndex.cdpCacheDeviceIndex.
//!
//! An agent without these MIBs costs three requests: one GET and the first column of each
//! neighbour table (a table whose first column is empty is not walked further). A missing
//! table (an error status) is not a failure; any other error (a timeout) ends neighbour
//! discovery with what was found so far, and the caller keeps the interfaces. At most
//! [`MAX_NEIGHBOURS`] neighbours are kept: device data is untrusted.
//!
//! OCTET STRINGs are read as [`OctetDecoding::Latin1`] here, so that binary IDs (MAC
//! addresses) arrive whole; [`identifiers`] turns them into text.

pub mod identifiers;

use std::collections::BTreeMap;

use netpulse_shared::discovery::{Neighbour, NeighbourProtocol};
use netpulse_shared::interfaces::Interface;
use netpulse_shared::messages::SnmpValue;
use netpulse_shared::snmp::Oid;

use crate::device_values::number;
use crate::snmp::{latin1_bytes, Agent, OctetDecoding, SnmpError};
use crate::walk::walk_rows;
use identifiers::{format_id, IdKind};

/// Most neighbours kept for one device (LLDP first, then CDP). Each neighbour table's
/// walk stops at this many rows (the management address table at four times as many).
pub const MAX_NEIGHBOURS: usize = 1_024;

/// Most lldpLocPortTable rows read (a chassis has fewer ports).
const MAX_LOCAL_PORTS: usize = 16_384;

/// lldpLocalSystemData (1.0.8802.1.1.2.1.3).
const LLDP_LOCAL: [u32; 8] = [1, 0, 8802, 1, 1, 2, 1, 3];
/// lldpLocPortEntry.
const LLDP_LOC_PORT: [u32; 10] = [1, 0, 8802, 1, 1, 2, 1, 3, 7, 1];
/// lldpRemEntry.
const LLDP_REM: [u32; 10] = [1, 0, 8802, 1, 1, 2, 1, 4, 1, 1];
/// lldpRemManAddrEntry.
const LLDP_REM_MAN_ADDR: [u32; 10] = [1, 0, 8802, 1, 1, 2, 1, 4, 2, 1];
/// cdpCacheEntry.
const CDP_CACHE: [u32; 13] = [1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1];

/// What neighbour discovery found.
#[derive(Debug, Default)]
pub struct Neighbourhood {
    /// The device's own LLDP chassis ID (empty without LLDP-MIB).
    pub chassis_id: String,
    /// LLDP neighbours, then CDP neighbours, in table order.
    pub neighbours: Vec<Neighbour>,
    /// The error that ended discovery early (a timeout), if one did.
    pub stopped: Option<SnmpError>,
}

/// Walks LLDP-MIB, then CISCO-CDP-MIB. Never fails: an error ends the walk with what was
/// found so far, named in [`Neighbourhood::stopped`].
pub async fn discover<A: Agent>(
    agent: &mut A,
    v1: bool,
    max_repetitions: &mut u32,
    interfaces: &[Interface],
) -> Neighbourhood {
    let mut found = Neighbourhood::default();
    agent.set_octet_decoding(OctetDecoding::Latin1);
    let mut walk = Walk {
        agent: &mut *agent,
        v1,
        max_repetitions,
    };
    let outcome = match lldp(&mut walk, interfaces, &mut found).await {
        Ok(()) => cdp(&mut walk, interfaces, &mut found).await,
        Err(error) => Err(error),
    };
    agent.set_octet_decoding(OctetDecoding::Utf8Lossy);
    found.stopped = outcome.err();
    found
}

/// Rows of one column, by the index arcs after the column.
type Rows = BTreeMap<Vec<u32>, SnmpValue>;

/// The columns of one table that were walked.
#[derive(Default)]
struct Table(BTreeMap<u32, Rows>);

impl Table {
    /// The indexes of the rows of `column`, in table order.
    fn indexes(&self, column: u32) -> impl Iterator<Item = &Vec<u32>> {
        self.0.get(&column).into_iter().flat_map(BTreeMap::keys)
    }

    fn value(&self, column: u32, index: &[u32]) -> Option<&SnmpValue> {
        self.0.get(&column)?.get(index)
    }

    /// An OCTET STRING cell's bytes (empty when there is none).
    fn bytes(&self, column: u32, index: &[u32]) -> Vec<u8> {
        match self.value(column, index) {
            Some(SnmpValue::OctetString(s)) => {
                latin1_bytes(s).unwrap_or_else(|| s.as_bytes().to_vec())
            }
            _ => Vec::new(),
        }
    }

    fn text(&self, column: u32, index: &[u32]) -> String {
        identifiers::text(&self.bytes(column, index))
    }

    fn number(&self, column: u32, index: &[u32]) -> Option<u64> {
        number(self.value(column, index))
    }
}

/// An agent and how to walk it.
struct Walk<'a, A> {
    agent: &'a mut A,
    v1: bool,
    max_repetitions: &'a mut u32,
}

impl<A: Agent> Walk<'_, A> {
    /// Walks column `first` of the table at `entry`, then, when it has rows, the columns of
    /// `rest`, each to at most `max_rows` rows. A table the agent does not have (an error
    /// status: noSuchName, genErr, ...) comes back empty.
    async fn table(
        &mut self,
        entry: &[u32],
        first: u32,
        rest: &[u32],
        max_rows: usize,
    ) -> Result<Table, SnmpError> {
        let mut table = Table::default();
        for &column in std::iter::once(&first).chain(rest) {
            let mut arcs = entry.to_vec();
            arcs.push(column);
            let oid = Oid::from_arcs(arcs).unwrap_or_else(|_| unreachable!("well-known OID"));
            let walk = walk_rows(self.agent, &oid, self.v1, self.max_repetitions, max_rows);
            let rows = match Box::pin(walk).await {
                Ok(rows) => rows,
                Err(SnmpError::Status { .. }) => Rows::new(),
                Err(error) => return Err(error),
            };
            if column == first && rows.is_empty() {
                break;
            }
            table.0.insert(column, rows);
        }
        Ok(table)
    }
}

/// lldpLocChassisIdSubtype.0 and lldpLocChassisId.0, formatted; empty when missing.
async fn local_chassis_id<A: Agent>(agent: &mut A) -> Result<String, SnmpError> {
    let oids: Vec<Oid> = [1, 2]
        .iter()
        .map(|&leaf| {
            let mut arcs = LLDP_LOCAL.to_vec();
            arcs.extend([leaf, 0]);
            Oid::from_arcs(arcs).unwrap_or_else(|_| unreachable!("well-known OID"))
        })
        .collect();
    let values = match crate::poll::get_all(agent, &oids, 2).await {
        Ok(values) => values,
        Err(SnmpError::Status { .. }) => return Ok(String::new()),
        Err(error) => return Err(error),
    };
    let mut table = Table::default();
    for (column, vb) in [1, 2].into_iter().zip(values) {
        table.0.insert(column, Rows::from([(Vec::new(), vb.value)]));
    }
    Ok(format_id(
        &table.bytes(2, &[]),
        IdKind::of_chassis(table.number(1, &[])),
    ))
}

/// The LLDP neighbours, and the device's own chassis ID.
async fn lldp<A: Agent>(
    walk: &mut Walk<'_, A>,
    interfaces: &[Interface],
    found: &mut Neighbourhood,
) -> Result<(), SnmpError> {
    found.chassis_id = local_chassis_id(walk.agent).await?;
    // lldpRemChassisId first: every row has one.
    let remote = walk
        .table(&LLDP_REM, 5, &[4, 6, 7, 8, 9, 10], MAX_NEIGHBOURS)
        .await?;
    if remote.indexes(5).next().is_none() {
        return Ok(());
    }
    // What follows only adds to the rows: a timeout keeps the rows, without it.
    let mut stopped = None;
    let local_ports = match walk
        .table(&LLDP_LOC_PORT, 3, &[2, 4], MAX_LOCAL_PORTS)
        .await
    {
        Ok(table) => table,
        Err(error) => {
            stopped = Some(error);
            Table::default()
        }
    };
    let mut addresses = BTreeMap::new();
    if stopped.is_none() {
        // lldpRemManAddrIfSubtype: its index holds the address.
        match walk
            .table(&LLDP_REM_MAN_ADDR, 3, &[], 4 * MAX_NEIGHBOURS)
            .await
        {
            Ok(table) => {
                for index in table.indexes(3) {
                    if let Some((row, address)) = index.split_at_checked(3) {
                        if let Some(ip) = identifiers::management_address(address) {
                            addresses.entry(row.to_vec()).or_insert(ip);
                        }
                    }
                }
            }
            Err(error) => stopped = Some(error),
        }
    }
    for index in remote.indexes(5) {
        let &[_, port_num, _] = index.as_slice() else {
            continue;
        };
        if found.neighbours.len() >= MAX_NEIGHBOURS {
            break;
        }
        let (local_if_index, local_port) = lldp_local_port(port_num, &local_ports, interfaces);
        found.neighbours.push(Neighbour {
            protocol: NeighbourProtocol::Lldp,
            local_if_index,
            local_port,
            chassis_id: format_id(
                &remote.bytes(5, index),
                IdKind::of_chassis(remote.number(4, index)),
            ),
            system_name: remote.text(9, index),
            port_id: format_id(
                &remote.bytes(7, index),
                IdKind::of_port(remote.number(6, index)),
            ),
            port_descr: remote.text(8, index),
            platform: remote.text(10, index),
            address: addresses.get(index).copied(),
        });
    }
    stopped.map_or(Ok(()), Err)
}

/// The interface an LLDP local port number is, and the local port's name.
///
/// lldpLocPortNum is often the ifIndex, but not always (some agents number their ports
/// 1, 2, ...). It is taken as the ifIndex when the device has no lldpLocPortTable row for
/// it; when that interface's ifName or ifDescr is the port's lldpLocPortId or
/// lldpLocPortDesc; or when the lldpLocPortId is the number itself (Junos sends the ifIndex
/// as a locally assigned port ID). Otherwise the interface is the one whose ifName, ifDescr
/// or ifAlias is the lldpLocPortId (else the lldpLocPortDesc), when exactly one is.
///
/// The name is the lldpLocPortId, unless that is a MAC or network address (then the
/// lldpLocPortDesc), else the interface's name, else the port number.
fn lldp_local_port(
    port_num: u32,
    local_ports: &Table,
    interfaces: &[Interface],
) -> (Option<u32>, String) {
    let by_index = interfaces.iter().find(|i| i.index == port_num);
    let index = [port_num];
    let has_row = local_ports.value(3, &index).is_some();
    let kind = IdKind::of_port(local_ports.number(2, &index));
    let id = format_id(&local_ports.bytes(3, &index), kind);
    let descr = local_ports.text(4, &index);
    let names: Vec<&str> = [id.as_str(), descr.as_str()]
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    let interface = if !has_row
        || id == port_num.to_string()
        || by_index.is_some_and(|i| names.iter().any(|n| i.name == *n || i.descr == *n))
    {
        by_index
    } else {
        names.iter().find_map(|name| {
            let mut matching = interfaces
                .iter()
                .filter(|i| i.name == *name || i.descr == *name || i.alias == *name);
            match (matching.next(), matching.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        })
    };
    let name = if !id.is_empty() && kind == IdKind::Other {
        id
    } else if !descr.is_empty() {
        descr
    } else {
        interface.map_or_else(|| port_num.to_string(), Interface::key)
    };
    (interface.map(|i| i.index), name)
}

/// The CDP neighbours, after the LLDP ones.
async fn cdp<A: Agent>(
    walk: &mut Walk<'_, A>,
    interfaces: &[Interface],
    found: &mut Neighbourhood,
) -> Result<(), SnmpError> {
    // cdpCacheDeviceId first: every row has one.
    let cache = walk
        .table(&CDP_CACHE, 6, &[3, 4, 7, 8], MAX_NEIGHBOURS)
        .await?;
    for index in cache.indexes(6) {
        let &[if_index, _] = index.as_slice() else {
            continue;
        };
        if found.neighbours.len() >= MAX_NEIGHBOURS {
            break;
        }
        let interface = interfaces.iter().find(|i| i.index == if_index);
        // cdpCacheAddressType ip(1) with four bytes, ipv6(20) with sixteen.
        let address = match (cache.number(3, index), cache.bytes(4, index)) {
            (Some(1), bytes) if bytes.len() == 4 => identifiers::ip_of(&bytes),
            (Some(20), bytes) if bytes.len() == 16 => identifiers::ip_of(&bytes),
            _ => None,
        };
        found.neighbours.push(Neighbour {
            protocol: NeighbourProtocol::Cdp,
            local_if_index: interface.map(|i| i.index),
            local_port: interface.map_or_else(|| if_index.to_string(), Interface::key),
            chassis_id: String::new(),
            // Read as an ID: some devices send their MAC address, in binary.
            system_name: identifiers::id_text(&cache.bytes(6, index)),
            port_id: cache.text(7, index),
            port_descr: String::new(),
            platform: cache.text(8, index),
            address,
        });
    }
    Ok(())
}
