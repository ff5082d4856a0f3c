//! Interface discovery: walk ifTable and ifXTable and describe each interface.
//!
//! Walks use GETBULK (GETNEXT on SNMPv1). A walk stops at endOfMibView, at the end of the
//! column, at an OID that does not increase (a buggy agent would loop forever), or after
//! [`MAX_REQUESTS_PER_WALK`] requests. max-repetitions starts where the last discovery of the
//! device left it, halves on tooBig or a timeout, and the value that worked is returned so the
//! next discovery starts there. A small GET of the system group comes first, so an agent that
//! does not answer fails the discovery after one request's timeout and retries.

use std::collections::BTreeMap;

use netpulse_shared::discovery::{DeviceInterfaces, SystemInfo};
use netpulse_shared::interfaces::{IfStatus, Interface};
use netpulse_shared::messages::SnmpValue;
use netpulse_shared::snmp::Oid;

use crate::snmp::{Agent, SnmpError};

/// Most requests one column walk may make (a device with 10,000 interfaces at 20 per request
/// needs 500).
pub const MAX_REQUESTS_PER_WALK: usize = 2_000;

/// Longest text kept from a device (names, descriptions, aliases).
const MAX_TEXT_CHARS: usize = 255;

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

/// Walks one column; returns `index -> value` for rows indexed by a single arc.
pub async fn walk_column<A: Agent>(
    agent: &mut A,
    column: &Oid,
    v1: bool,
    max_repetitions: &mut u32,
) -> Result<BTreeMap<u32, SnmpValue>, SnmpError> {
    let mut rows = BTreeMap::new();
    let mut cursor = column.clone();
    for _ in 0..MAX_REQUESTS_PER_WALK {
        let reply = if v1 {
            agent.get_next(&cursor).await
        } else {
            agent.get_bulk(&cursor, *max_repetitions).await
        };
        let varbinds = match reply {
            Ok(v) => v,
            Err(SnmpError::Status { name: "tooBig", .. } | SnmpError::Timeout)
                if !v1 && *max_repetitions > 1 =>
            {
                *max_repetitions = (*max_repetitions / 2).max(1);
                continue;
            }
            // SNMPv1 says "past the end" this way.
            Err(SnmpError::Status {
                name: "noSuchName", ..
            }) if v1 => return Ok(rows),
            Err(e) => return Err(e),
        };
        if varbinds.is_empty() {
            return Ok(rows);
        }
        for vb in varbinds {
            let in_column = vb.oid.arcs().starts_with(column.arcs());
            if vb.value == SnmpValue::EndOfMibView || !in_column || vb.oid <= cursor {
                return Ok(rows);
            }
            if let Some(index) = vb.oid.index_under(column) {
                rows.insert(index, vb.value);
            }
            cursor = vb.oid;
        }
    }
    tracing::warn!(column = %column, "walk stopped at its request cap");
    Ok(rows)
}

fn text(value: Option<&SnmpValue>) -> String {
    match value {
        Some(SnmpValue::OctetString(s)) => s
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_TEXT_CHARS)
            .collect::<String>()
            .trim()
            .to_owned(),
        _ => String::new(),
    }
}

fn number(value: Option<&SnmpValue>) -> Option<u64> {
    match value? {
        SnmpValue::Integer(n) => u64::try_from(*n).ok(),
        SnmpValue::Unsigned32(n) | SnmpValue::Counter32(n) | SnmpValue::Timeticks(n) => {
            Some(u64::from(*n))
        }
        SnmpValue::Counter64(n) => Some(*n),
        _ => None,
    }
}

/// Discovers every interface of the agent.
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
        .collect();
    Ok(DeviceInterfaces {
        schema: netpulse_shared::messages::SCHEMA_VERSION,
        device,
        time_ms: netpulse_shared::time::now_ms(),
        max_repetitions: if v1 { 0 } else { max_rep },
        system,
        interfaces,
        chassis_id: String::new(),
        neighbours: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::device::DeviceId;
    use netpulse_shared::messages::VarBind;

    /// An agent serving a sorted table, with optional bugs.
    struct FakeAgent {
        mib: Vec<(Oid, SnmpValue)>,
        /// Refuse GETBULK above this many repetitions with tooBig.
        max_bulk: u32,
        /// After this OID, answer with an earlier one (an agent that loops).
        loop_after: Option<Oid>,
        requests: usize,
    }

    impl FakeAgent {
        fn next_after(&self, oid: &Oid) -> Option<(Oid, SnmpValue)> {
            if self.loop_after.as_ref() == Some(oid) {
                return self.mib.first().cloned();
            }
            self.mib.iter().find(|(o, _)| o > oid).cloned()
        }
    }

    impl Agent for FakeAgent {
        async fn get(&mut self, oids: &[Oid]) -> Result<Vec<VarBind>, SnmpError> {
            Ok(oids
                .iter()
                .map(|o| VarBind {
                    oid: o.clone(),
                    value: self
                        .mib
                        .iter()
                        .find(|(m, _)| m == o)
                        .map_or(SnmpValue::NoSuchObject, |(_, v)| v.clone()),
                })
                .collect())
        }
        async fn get_next(&mut self, oid: &Oid) -> Result<Vec<VarBind>, SnmpError> {
            self.requests += 1;
            match self.next_after(oid) {
                Some((oid, value)) => Ok(vec![VarBind { oid, value }]),
                None => Err(SnmpError::Status {
                    name: "noSuchName",
                    status: 2,
                    index: 1,
                }),
            }
        }
        async fn get_bulk(&mut self, oid: &Oid, max: u32) -> Result<Vec<VarBind>, SnmpError> {
            self.requests += 1;
            if max > self.max_bulk {
                return Err(SnmpError::Status {
                    name: "tooBig",
                    status: 1,
                    index: 0,
                });
            }
            let mut out = Vec::new();
            let mut cursor = oid.clone();
            for _ in 0..max {
                match self.next_after(&cursor) {
                    Some((o, v)) => {
                        cursor = o.clone();
                        out.push(VarBind { oid: o, value: v });
                    }
                    None => {
                        out.push(VarBind {
                            oid: cursor.clone(),
                            value: SnmpValue::EndOfMibView,
                        });
                        break;
                    }
                }
            }
            Ok(out)
        }
    }

    fn mib(interfaces: u32) -> Vec<(Oid, SnmpValue)> {
        let mut rows = Vec::new();
        let s = |t: &str| SnmpValue::OctetString(t.into());
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
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }

    #[tokio::test]
    async fn discovers_every_interface_with_bulk_and_halves_on_too_big() {
        let mut agent = FakeAgent {
            mib: mib(30),
            max_bulk: 7,
            loop_after: None,
            requests: 0,
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
            mib: mib(3),
            max_bulk: 0,
            loop_after: None,
            requests: 0,
        };
        let found = discover(&mut agent, DeviceId::parse("d").expect("id"), true, 20)
            .await
            .expect("discover");
        assert_eq!(found.interfaces.len(), 3);
        assert_eq!(found.max_repetitions, 0);
    }

    #[tokio::test]
    async fn a_looping_agent_does_not_loop_the_walk() {
        let descr_2 = column(false, 2).child(2);
        let mut agent = FakeAgent {
            mib: mib(5),
            max_bulk: 50,
            loop_after: Some(descr_2),
            requests: 0,
        };
        let mut max_rep = 1;
        let rows = walk_column(&mut agent, &column(false, 2), false, &mut max_rep)
            .await
            .expect("walk");
        assert_eq!(rows.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert!(agent.requests < 10);
    }
}
