//! Interface discovery: walk ifTable and ifXTable and describe each interface, then the
//! device's LLDP and CDP neighbours (see [`crate::neighbours`]).
//!
//! Columns are walked as [`crate::walk`] does. max-repetitions starts where the last
//! discovery of the device left it, halves on tooBig or a timeout, and the value that worked
//! is returned so the next discovery starts there. A small GET of the system group comes
//! first, so an agent that does not answer fails the discovery after one request's timeout
//! and retries. Neighbours come last and never fail a discovery: a timeout while walking
//! them keeps the interfaces and the neighbours found so far.

use std::collections::BTreeMap;

use netpulse_shared::discovery::{DeviceInterfaces, SystemInfo};
use netpulse_shared::interfaces::{IfStatus, Interface};
use netpulse_shared::messages::SnmpValue;
use netpulse_shared::snmp::Oid;

use crate::device_values::{number, text};
use crate::snmp::{Agent, SnmpError};
use crate::walk::walk_column;

/// A column of ifTable (1.3.6.1.2.1.2.2.1.c) or ifXTable (1.3.6.1.2.1.31.1.1.1.c).
fn column(table_x: bool, column: u32) -> Oid {
    let base: &[u32] = if table_x {
        &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1]
    } else {
        &[1, 3, 6, 1, 2, 1, 2, 2, 1]
    };
    let mut arcs = base.to_vec();
    arcs.push(column);
    Oid::from_arcs(arcs).unwrap_or_else(|_| unreachable!("well-known OID"))
}

/// Discovers every interface of the agent, then its neighbours.
pub async fn discover<A: Agent>(
    agent: &mut A,
    device: netpulse_shared::device::DeviceId,
    v1: bool,
    max_repetitions: u32,
) -> Result<DeviceInterfaces, SnmpError> {
    // The system group first, in one small GET (a missing object is not an error): a silent
    // agent fails here after one request's timeout and retries, before any GETBULK, which
    // would halve its size on every timeout and so keep a dead device's discovery going.
    let system_oids: Vec<Oid> = [1u32, 5, 6, 4]
        .iter()
        .map(|leaf| {
            Oid::from_arcs(vec![1, 3, 6, 1, 2, 1, 1, *leaf, 0])
                .unwrap_or_else(|_| unreachable!("well-known OID"))
        })
        .collect();
    let system = match crate::poll::get_all(agent, &system_oids, 4).await {
        Ok(values) => {
            let at = |i: usize| text(values.get(i).map(|vb| &vb.value));
            SystemInfo {
                descr: at(0),
                name: at(1),
                location: at(2),
                contact: at(3),
            }
        }
        Err(SnmpError::Status { .. }) => SystemInfo::default(),
        Err(e) => return Err(e),
    };
    let mut max_rep = max_repetitions.max(1);
    let walk = |table_x: bool, col: u32| (column(table_x, col), table_x);
    let mut columns = BTreeMap::new();
    // ifDescr first: every interface has one.
    for (name, (oid, optional)) in [
        ("descr", walk(false, 2)),
        ("type", walk(false, 3)),
        ("speed", walk(false, 5)),
        ("admin", walk(false, 7)),
        ("oper", walk(false, 8)),
        ("name", walk(true, 1)),
        ("hc_in", walk(true, 6)),
        ("high_speed", walk(true, 15)),
        ("alias", walk(true, 18)),
    ] {
        match Box::pin(walk_column(agent, &oid, v1, &mut max_rep)).await {
            Ok(rows) => {
                columns.insert(name, rows);
            }
            // ifXTable is optional (old agents): its absence is not a failure.
            Err(SnmpError::Status { .. }) if optional => {
                columns.insert(name, BTreeMap::new());
            }
            Err(e) => return Err(e),
        }
    }
    let empty = BTreeMap::new();
    let col = |name: &str| columns.get(name).unwrap_or(&empty);
    let interfaces = col("descr")
        .keys()
        .map(|&index| {
            let high = number(col("high_speed").get(&index)).filter(|&mbps| mbps > 0);
            Interface {
                index,
                name: text(col("name").get(&index)),
                descr: text(col("descr").get(&index)),
                alias: text(col("alias").get(&index)),
                if_type: number(col("type").get(&index))
                    .and_then(|n| i64::try_from(n).ok())
                    .unwrap_or(1),
                speed_bps: high.map_or_else(
                    || number(col("speed").get(&index)).unwrap_or(0),
                    |m| m * 1_000_000,
                ),
                admin_status: IfStatus::from_code(
                    number(col("admin").get(&index)).map_or(4, |n| n as i64),
                ),
                oper_status: IfStatus::from_code(
                    number(col("oper").get(&index)).map_or(4, |n| n as i64),
                ),
                hc_counters: matches!(col("hc_in").get(&index), Some(SnmpValue::Counter64(_))),
            }
        })
        .collect::<Vec<Interface>>();
    let walked = max_rep;
    let neighbourhood = Box::pin(crate::neighbours::discover(
        agent,
        v1,
        &mut max_rep,
        &interfaces,
    ))
    .await;
    if let Some(error) = &neighbourhood.stopped {
        tracing::warn!(
            %error,
            neighbours = neighbourhood.neighbours.len(),
            "neighbour discovery stopped early; keeping the interfaces and the neighbours found"
        );
        // What a failing walk halved to says nothing of what works.
        max_rep = walked;
    }
    Ok(DeviceInterfaces {
        schema: netpulse_shared::messages::SCHEMA_VERSION,
        device,
        time_ms: netpulse_shared::time::now_ms(),
        max_repetitions: if v1 { 0 } else { max_rep },
        system,
        interfaces,
        chassis_id: neighbourhood.chassis_id,
        neighbours: neighbourhood.neighbours,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_agent::{octets, text as s, FakeAgent};
    use netpulse_shared::device::DeviceId;
    use netpulse_shared::discovery::{Neighbour, NeighbourProtocol};
    use netpulse_shared::messages::VarBind;

    fn mib(interfaces: u32) -> Vec<(Oid, SnmpValue)> {
        let mut rows = Vec::new();
        for i in 1..=interfaces {
            rows.push((
                column(false, 2).child(i),
                s(&format!("Ethernet port {i}\u{7}")),
            ));
            rows.push((column(false, 3).child(i), SnmpValue::Integer(6)));
            rows.push((column(false, 5).child(i), SnmpValue::Unsigned32(u32::MAX)));
            rows.push((
                column(false, 7).child(i),
                SnmpValue::Integer(if i == 2 { 2 } else { 1 }),
            ));
            rows.push((column(false, 8).child(i), SnmpValue::Integer(1)));
            rows.push((column(true, 1).child(i), s(&format!("eth{i}"))));
            rows.push((column(true, 6).child(i), SnmpValue::Counter64(u64::from(i))));
            rows.push((column(true, 15).child(i), SnmpValue::Unsigned32(10_000)));
            rows.push((column(true, 18).child(i), s("<b>uplink</b>")));
        }
        rows.push((
            Oid::parse("1.3.6.1.2.1.31.1.2.0").expect("oid"),
            SnmpValue::Integer(0),
        ));
        rows.push((
            Oid::parse("1.3.6.1.2.1.1.1.0").expect("oid"),
            s("<script>alert(1)</script>"),
        ));
        rows
    }

    #[tokio::test]
    async fn discovers_every_interface_with_bulk_and_halves_on_too_big() {
        let mut agent = FakeAgent {
            max_bulk: 7,
            ..FakeAgent::new(mib(30))
        };
        let found = discover(&mut agent, DeviceId::parse("d").expect("id"), false, 20)
            .await
            .expect("discover");
        assert_eq!(found.interfaces.len(), 30);
        assert_eq!(found.max_repetitions, 5, "20 -> 10 -> 5 fits under 7");
        let second = &found.interfaces[1];
        assert_eq!(second.index, 2);
        assert_eq!(second.name, "eth2");
        assert_eq!(
            second.descr, "Ethernet port 2",
            "control characters are dropped"
        );
        assert_eq!(second.alias, "<b>uplink</b>", "kept as text; drawn as text");
        assert_eq!(
            second.speed_bps, 10_000_000_000,
            "ifHighSpeed wins over a saturated ifSpeed"
        );
        assert_eq!(second.admin_status, IfStatus::Down);
        assert!(second.hc_counters);
        assert_eq!(
            found.system.descr, "<script>alert(1)</script>",
            "kept as text"
        );
    }

    #[tokio::test]
    async fn a_silent_agent_fails_after_one_request() {
        /// Times out every request, counting them.
        struct Silent(usize);
        impl Agent for Silent {
            async fn get(&mut self, _: &[Oid]) -> Result<Vec<VarBind>, SnmpError> {
                self.0 += 1;
                Err(SnmpError::Timeout)
            }
            async fn get_next(&mut self, _: &Oid) -> Result<Vec<VarBind>, SnmpError> {
                self.0 += 1;
                Err(SnmpError::Timeout)
            }
            async fn get_bulk(&mut self, _: &Oid, _: u32) -> Result<Vec<VarBind>, SnmpError> {
                self.0 += 1;
                Err(SnmpError::Timeout)
            }
            fn set_octet_decoding(&mut self, _: crate::snmp::OctetDecoding) {}
        }
        let mut agent = Silent(0);
        let error = discover(&mut agent, DeviceId::parse("d").expect("id"), false, 20)
            .await
            .expect_err("nothing answers");
        assert_eq!(error, SnmpError::Timeout);
        assert_eq!(agent.0, 1, "no GETBULK halving against a silent agent");
    }

    #[tokio::test]
    async fn v1_walks_with_getnext() {
        let mut agent = FakeAgent {
            max_bulk: 0,
            ..FakeAgent::new(mib(3))
        };
        let found = discover(&mut agent, DeviceId::parse("d").expect("id"), true, 20)
            .await
            .expect("discover");
        assert_eq!(found.interfaces.len(), 3);
        assert_eq!(found.max_repetitions, 0);
    }

    /// An OID from a dotted prefix and index arcs.
    fn at(prefix: &str, index: &[u32]) -> Oid {
        let mut arcs = Oid::parse(prefix).expect("oid").arcs().to_vec();
        arcs.extend_from_slice(index);
        Oid::from_arcs(arcs).expect("oid")
    }

    const LOC: &str = "1.0.8802.1.1.2.1.3";
    const LOC_PORT: &str = "1.0.8802.1.1.2.1.3.7.1";
    const REM: &str = "1.0.8802.1.1.2.1.4.1.1";
    const REM_MAN: &str = "1.0.8802.1.1.2.1.4.2.1";
    const CDP: &str = "1.3.6.1.4.1.9.9.23.1.2.1.1";

    /// One lldpRemTable row: (TimeMark, LocalPortNum, RemIndex), then chassis subtype and
    /// ID, port subtype and ID, port description, system name and description.
    #[allow(clippy::too_many_arguments)]
    fn lldp_row(
        mib: &mut Vec<(Oid, SnmpValue)>,
        index: [u32; 3],
        chassis: (i64, &[u8]),
        port: (i64, &[u8]),
        port_descr: &str,
        name: &str,
        descr: &str,
    ) {
        let cell = |column: u32| at(&format!("{REM}.{column}"), &index);
        mib.push((cell(4), SnmpValue::Integer(chassis.0)));
        mib.push((cell(5), octets(chassis.1)));
        mib.push((cell(6), SnmpValue::Integer(port.0)));
        mib.push((cell(7), octets(port.1)));
        mib.push((cell(8), s(port_descr)));
        mib.push((cell(9), s(name)));
        mib.push((cell(10), s(descr)));
    }

    /// A device with interfaces 1..=4 (eth1..eth4), LLDP-MIB (local ports numbered 1..4 as
    /// the interfaces, but port 9 has no row) and CISCO-CDP-MIB.
    fn neighbour_mib() -> Vec<(Oid, SnmpValue)> {
        let mut mib = mib(4);
        mib.push((at(&format!("{LOC}.1"), &[0]), SnmpValue::Integer(4)));
        mib.push((
            at(&format!("{LOC}.2"), &[0]),
            octets(&[0, 0x1b, 0x2c, 0xaa, 0xfe, 0]),
        ));
        for port in 1..=4 {
            mib.push((at(&format!("{LOC_PORT}.2"), &[port]), SnmpValue::Integer(5)));
            // NUL-padded, as recorded agents send them.
            mib.push((
                at(&format!("{LOC_PORT}.3"), &[port]),
                s(&format!("eth{port}\0\0\0")),
            ));
            mib.push((at(&format!("{LOC_PORT}.4"), &[port]), s("")));
        }
        lldp_row(
            &mut mib,
            [0, 2, 1],
            (4, &[0x8c, 0x60, 0x4f, 0x19, 0x1b, 0xc1]),
            (5, b"Gi1/0/49\0\0\0\0\0\0\0\0"),
            "uplink",
            "core-1",
            "Cisco IOS",
        );
        lldp_row(
            &mut mib,
            [7, 3, 4],
            (5, &[1, 192, 0, 2, 9]),
            (3, &[0x00, 0x23, 0x89, 0x91, 0x23, 0x03]),
            "<b>port</b>",
            "<img src=x onerror=alert(1)>",
            "bad\u{7}\r\nstring",
        );
        lldp_row(&mut mib, [7, 9, 1], (7, b"host-9"), (7, b"17"), "", "", "");
        // Management addresses: IPv4 for the first, IPv6 for the second, an 802 address
        // (not IP) for the third.
        mib.push((
            at(&format!("{REM_MAN}.3"), &[0, 2, 1, 1, 4, 10, 40, 1, 20]),
            SnmpValue::Integer(2),
        ));
        let mut v6 = vec![7, 3, 4, 2, 16, 0x20, 1, 0x0d, 0xb8];
        v6.extend([0; 11]);
        v6.push(1);
        mib.push((at(&format!("{REM_MAN}.3"), &v6), SnmpValue::Integer(2)));
        mib.push((
            at(&format!("{REM_MAN}.3"), &[7, 9, 1, 6, 6, 1, 2, 3, 4, 5, 6]),
            SnmpValue::Integer(2),
        ));
        // CDP: one neighbour on eth1, one on an ifIndex that is no interface.
        for (index, name, port, ip) in [
            (
                [1, 5],
                "sw-2(SSI1822049X)",
                "Ethernet1/25",
                [10, 1, 100, 181],
            ),
            ([77, 1], "<script>x</script>", "Gi0/1", [10, 1, 100, 182]),
        ] {
            mib.push((at(&format!("{CDP}.3"), &index), SnmpValue::Integer(1)));
            mib.push((at(&format!("{CDP}.4"), &index), octets(&ip)));
            mib.push((at(&format!("{CDP}.6"), &index), s(name)));
            mib.push((at(&format!("{CDP}.7"), &index), s(port)));
            mib.push((at(&format!("{CDP}.8"), &index), s("cisco WS-C3560-24PS")));
        }
        mib
    }

    #[tokio::test]
    async fn lldp_and_cdp_neighbours_are_read_with_their_ids_formatted() {
        let mut agent = FakeAgent::new(neighbour_mib());
        let found = discover(&mut agent, DeviceId::parse("d").expect("id"), false, 20)
            .await
            .expect("discover");
        assert_eq!(found.chassis_id, "00:1b:2c:aa:fe:00");
        assert_eq!(found.interfaces.len(), 4);
        let lldp =
            |local_if_index, local_port: &str, chassis_id: &str, system_name: &str| Neighbour {
                protocol: NeighbourProtocol::Lldp,
                local_if_index,
                local_port: local_port.into(),
                chassis_id: chassis_id.into(),
                system_name: system_name.into(),
                port_id: String::new(),
                port_descr: String::new(),
                platform: String::new(),
                address: None,
            };
        let want = vec![
            Neighbour {
                port_id: "Gi1/0/49".into(),
                port_descr: "uplink".into(),
                platform: "Cisco IOS".into(),
                address: Some("10.40.1.20".parse().expect("ip")),
                ..lldp(Some(2), "eth2", "8c:60:4f:19:1b:c1", "core-1")
            },
            Neighbour {
                port_id: "00:23:89:91:23:03".into(),
                port_descr: "<b>port</b>".into(),
                platform: "badstring".into(),
                address: Some("2001:db8::1".parse().expect("ip")),
                ..lldp(Some(3), "eth3", "192.0.2.9", "<img src=x onerror=alert(1)>")
            },
            // Local port 9 has no lldpLocPortTable row and is no interface.
            Neighbour {
                port_id: "17".into(),
                ..lldp(None, "9", "host-9", "")
            },
            Neighbour {
                protocol: NeighbourProtocol::Cdp,
                local_if_index: Some(1),
                local_port: "eth1".into(),
                chassis_id: String::new(),
                system_name: "sw-2(SSI1822049X)".into(),
                port_id: "Ethernet1/25".into(),
                port_descr: String::new(),
                platform: "cisco WS-C3560-24PS".into(),
                address: Some("10.1.100.181".parse().expect("ip")),
            },
            Neighbour {
                protocol: NeighbourProtocol::Cdp,
                local_if_index: None,
                local_port: "77".into(),
                chassis_id: String::new(),
                system_name: "<script>x</script>".into(),
                port_id: "Gi0/1".into(),
                port_descr: String::new(),
                platform: "cisco WS-C3560-24PS".into(),
                address: Some("10.1.100.182".parse().expect("ip")),
            },
        ];
        assert_eq!(found.neighbours, want);
        // Later requests decode text as usual again.
        let mut max_rep = 20;
        let names = walk_column(&mut agent, &column(true, 1), false, &mut max_rep)
            .await
            .expect("walk");
        assert_eq!(names[&1], s("eth1"));
    }

    #[tokio::test]
    async fn local_ports_are_found_by_name_when_numbered_apart_from_if_indexes() {
        let mut mib = mib(3);
        // Port 1 is eth3 (its description says so), port 2 is named by an alias shared by
        // every interface (so none), port 3 is Junos-style: its ID is the ifIndex.
        for (port, subtype, id, descr) in [
            (1, 3, &b"\x00\x01\x02\x03\x04\x05"[..], "eth3"),
            (2, 7, b"<b>uplink</b>", ""),
            (3, 7, b"3", "-"),
        ] {
            mib.push((
                at(&format!("{LOC_PORT}.2"), &[port]),
                SnmpValue::Integer(subtype),
            ));
            mib.push((at(&format!("{LOC_PORT}.3"), &[port]), octets(id)));
            mib.push((at(&format!("{LOC_PORT}.4"), &[port]), s(descr)));
        }
        for port in 1..=3 {
            lldp_row(&mut mib, [0, port, 1], (7, b"n"), (7, b"p"), "", "", "");
        }
        let mut agent = FakeAgent::new(mib);
        let found = discover(&mut agent, DeviceId::parse("d").expect("id"), true, 20)
            .await
            .expect("discover");
        let local: Vec<(Option<u32>, &str)> = found
            .neighbours
            .iter()
            .map(|n| (n.local_if_index, n.local_port.as_str()))
            .collect();
        assert_eq!(
            local,
            [(Some(3), "eth3"), (None, "<b>uplink</b>"), (Some(3), "3")]
        );
        assert_eq!(found.chassis_id, "", "no lldpLocChassisId");
    }

    #[tokio::test]
    async fn an_agent_without_neighbour_mibs_costs_three_requests() {
        for v1 in [false, true] {
            let mut agent = FakeAgent::new(mib(4));
            let found = discover(&mut agent, DeviceId::parse("d").expect("id"), v1, 20)
                .await
                .expect("discover");
            assert!(found.neighbours.is_empty());
            assert_eq!(found.chassis_id, "");
            // What the system group and the interfaces cost alone.
            let mut alone = FakeAgent::new(mib(4));
            let mut max_rep = 20;
            let interface_columns = [
                (false, 2),
                (false, 3),
                (false, 5),
                (false, 7),
                (false, 8),
                (true, 1),
                (true, 6),
                (true, 15),
                (true, 18),
            ];
            for (table_x, col) in interface_columns {
                walk_column(&mut alone, &column(table_x, col), v1, &mut max_rep)
                    .await
                    .expect("walk");
            }
            let system = 1;
            assert_eq!(
                agent.requests,
                system + alone.requests + 3,
                "v1: {v1}: lldpLocChassisId, then one request for each neighbour table"
            );
        }
    }

    #[tokio::test]
    async fn a_timeout_among_the_neighbour_tables_keeps_the_interfaces() {
        let mut agent = FakeAgent {
            silent_under: Some(Oid::parse(REM_MAN).expect("oid")),
            ..FakeAgent::new(neighbour_mib())
        };
        let found = discover(&mut agent, DeviceId::parse("d").expect("id"), false, 20)
            .await
            .expect("the interfaces are kept");
        assert_eq!(found.interfaces.len(), 4);
        assert_eq!(
            found.max_repetitions, 20,
            "the failed walk's halving is forgotten"
        );
        let names: Vec<&str> = found
            .neighbours
            .iter()
            .map(|n| n.system_name.as_str())
            .collect();
        assert_eq!(
            names,
            ["core-1", "<img src=x onerror=alert(1)>", ""],
            "the LLDP rows found, without addresses; CDP not reached"
        );
        assert!(found.neighbours.iter().all(|n| n.address.is_none()));
    }

    #[tokio::test]
    async fn neighbours_are_capped() {
        let mut mib = mib(1);
        for i in 0..1_100 {
            lldp_row(&mut mib, [0, 1, i], (7, b"n"), (7, b"p"), "", "", "");
        }
        mib.push((at(&format!("{CDP}.6"), &[1, 1]), s("cdp")));
        let mut agent = FakeAgent::new(mib);
        let found = discover(&mut agent, DeviceId::parse("d").expect("id"), false, 50)
            .await
            .expect("discover");
        assert_eq!(found.neighbours.len(), crate::neighbours::MAX_NEIGHBOURS);
        assert!(found
            .neighbours
            .iter()
            .all(|n| n.protocol == NeighbourProtocol::Lldp));
    }
}
