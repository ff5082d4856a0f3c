//! Column walks. Walks use GETBULK (GETNEXT on SNMPv1). A walk stops at endOfMibView, at the
//! end of the column, at an OID that does not increase (a buggy agent would loop forever), or
//! after [`MAX_REQUESTS_PER_WALK`] requests. max-repetitions halves on tooBig or a timeout;
//! the caller keeps the value that worked.

use std::collections::BTreeMap;

use netpulse_shared::messages::SnmpValue;
use netpulse_shared::snmp::Oid;

use crate::snmp::{Agent, SnmpError};

/// Most requests one column walk may make (a device with 10,000 interfaces at 20 per request
/// needs 500).
pub const MAX_REQUESTS_PER_WALK: usize = 2_000;

/// Walks one column; returns `index -> value` for rows indexed by a single arc (others are
/// skipped: see [`walk_rows`]).
pub async fn walk_column<A: Agent>(
    agent: &mut A,
    column: &Oid,
    v1: bool,
    max_repetitions: &mut u32,
) -> Result<BTreeMap<u32, SnmpValue>, SnmpError> {
    let rows = walk_rows(agent, column, v1, max_repetitions, usize::MAX).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(index, value)| match index.as_slice() {
            [single] => Some((*single, value)),
            _ => None,
        })
        .collect())
}

/// Walks one column; returns `index -> value`, the index being every arc after the column
/// (tables indexed by several values, or by strings). Stops once it holds `max_rows` rows.
pub async fn walk_rows<A: Agent>(
    agent: &mut A,
    column: &Oid,
    v1: bool,
    max_repetitions: &mut u32,
    max_rows: usize,
) -> Result<BTreeMap<Vec<u32>, SnmpValue>, SnmpError> {
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
            let index = vb.oid.arcs().strip_prefix(column.arcs());
            let Some(index) =
                index.filter(|_| vb.value != SnmpValue::EndOfMibView && vb.oid > cursor)
            else {
                return Ok(rows);
            };
            if !index.is_empty() {
                rows.insert(index.to_vec(), vb.value);
                if rows.len() >= max_rows {
                    return Ok(rows);
                }
            }
            cursor = vb.oid;
        }
    }
    tracing::warn!(column = %column, "walk stopped at its request cap");
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_agent::{text, FakeAgent};

    #[tokio::test]
    async fn a_looping_agent_does_not_loop_the_walk() {
        let descr = Oid::parse("1.3.6.1.2.1.2.2.1.2").expect("oid");
        let mib = (1..=5).map(|i| (descr.child(i), text("eth"))).collect();
        let mut agent = FakeAgent {
            loop_after: Some(descr.child(2)),
            ..FakeAgent::new(mib)
        };
        let mut max_rep = 1;
        let rows = walk_column(&mut agent, &descr, false, &mut max_rep)
            .await
            .expect("walk");
        assert_eq!(rows.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert!(agent.requests < 10);
    }

    #[tokio::test]
    async fn rows_keep_every_index_arc() {
        let column = Oid::parse("1.3.6.1.4.1.9.9.23.1.2.1.1.6").expect("oid");
        let mut cell = column.arcs().to_vec();
        cell.extend([10150, 4]);
        let mut agent = FakeAgent::new(vec![
            (Oid::from_arcs(cell).expect("oid"), text("sw")),
            (column.child(7), text("single")),
        ]);
        let mut max_rep = 20;
        let rows = walk_rows(&mut agent, &column, false, &mut max_rep, 10)
            .await
            .expect("walk");
        assert_eq!(
            rows.keys().cloned().collect::<Vec<_>>(),
            [vec![7], vec![10150, 4]]
        );
        let first = walk_rows(&mut agent, &column, false, &mut max_rep, 1)
            .await
            .expect("walk");
        assert_eq!(first.len(), 1, "stops at its row cap");
        let single = walk_column(&mut agent, &column, false, &mut max_rep)
            .await
            .expect("walk");
        assert_eq!(single.keys().copied().collect::<Vec<_>>(), [7]);
    }
}
