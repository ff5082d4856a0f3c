//! One poll: GET every OID of a job from an [`Agent`], in requests of bounded size.
//!
//! A request the agent finds too big is split in two; an SNMPv1 `noSuchName` marks the OID
//! it blames as missing and the rest is asked again, so one absent object does not hide the
//! others (v2c agents answer per varbind instead).

use std::collections::VecDeque;

use netpulse_shared::messages::{oids, PollJob, Sample, SnmpValue, VarBind};
use netpulse_shared::snmp::Oid;

use crate::snmp::{Agent, SnmpError};

/// GETs every OID in `wanted`, at most `per_request` per request; the answer keeps the order.
pub async fn get_all<A: Agent>(
    agent: &mut A,
    wanted: &[Oid],
    per_request: usize,
) -> Result<Vec<VarBind>, SnmpError> {
    let per_request = per_request.max(1);
    let mut found: Vec<Option<SnmpValue>> = vec![None; wanted.len()];
    let mut pending: VecDeque<Vec<usize>> = (0..wanted.len())
        .collect::<Vec<_>>()
        .chunks(per_request)
        .map(<[usize]>::to_vec)
        .collect();
    // Every retry removes an OID or halves a request, so this ends; the cap is a backstop.
    let mut budget = 4 * wanted.len() + 8;
    while let Some(batch) = pending.pop_front() {
        budget = budget
            .checked_sub(1)
            .ok_or(SnmpError::BadReply("agent keeps refusing".into()))?;
        let asked: Vec<Oid> = batch.iter().map(|&i| wanted[i].clone()).collect();
        match agent.get(&asked).await {
            Ok(values) => {
                for (&i, vb) in batch.iter().zip(values) {
                    found[i] = Some(vb.value);
                }
            }
            Err(SnmpError::Status {
                name: "noSuchName",
                index,
                ..
            }) if index >= 1 && (index as usize) <= batch.len() => {
                let blamed = batch[index as usize - 1];
                found[blamed] = Some(SnmpValue::NoSuchObject);
                let rest: Vec<usize> = batch.into_iter().filter(|&i| i != blamed).collect();
                if !rest.is_empty() {
                    pending.push_front(rest);
                }
            }
            Err(SnmpError::Status { name: "tooBig", .. }) if batch.len() > 1 => {
                let (a, b) = batch.split_at(batch.len() / 2);
                pending.push_front(b.to_vec());
                pending.push_front(a.to_vec());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(wanted
        .iter()
        .zip(found)
        .map(|(oid, value)| VarBind {
            oid: oid.clone(),
            value: value.unwrap_or(SnmpValue::NoSuchObject),
        })
        .collect())
}

/// Runs a poll job against `agent` and builds the sample, stamped now.
pub async fn run_job<A: Agent>(
    agent: &mut A,
    job: &PollJob,
    per_request: usize,
) -> Result<Sample, SnmpError> {
    let started = std::time::Instant::now();
    let values = get_all(agent, &job.oids, per_request).await?;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let uptime_oid = oids::sys_uptime();
    let uptime_ticks = values.iter().find_map(|vb| match vb.value {
        SnmpValue::Timeticks(t) if vb.oid == uptime_oid => Some(t),
        _ => None,
    });
    let mut sample = Sample::from_answers(
        job.job_id.clone(),
        job.device.clone(),
        netpulse_shared::time::now_ms(),
        uptime_ticks,
        values,
        &job.interfaces,
    );
    sample.duration_ms = Some(duration_ms);
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An agent that answers from a table, like a v1 agent (noSuchName for unknown OIDs),
    /// and refuses requests larger than `max_varbinds` with tooBig.
    struct TableAgent {
        table: Vec<(Oid, SnmpValue)>,
        max_varbinds: usize,
        requests: usize,
    }

    impl Agent for TableAgent {
        async fn get(&mut self, oids: &[Oid]) -> Result<Vec<VarBind>, SnmpError> {
            self.requests += 1;
            if oids.len() > self.max_varbinds {
                return Err(SnmpError::Status {
                    name: "tooBig",
                    status: 1,
                    index: 0,
                });
            }
            let mut out = Vec::new();
            for (i, oid) in oids.iter().enumerate() {
                match self.table.iter().find(|(o, _)| o == oid) {
                    Some((_, v)) => out.push(VarBind {
                        oid: oid.clone(),
                        value: v.clone(),
                    }),
                    None => {
                        return Err(SnmpError::Status {
                            name: "noSuchName",
                            status: 2,
                            index: u32::try_from(i + 1).expect("small"),
                        })
                    }
                }
            }
            Ok(out)
        }
        async fn get_next(&mut self, _: &Oid) -> Result<Vec<VarBind>, SnmpError> {
            Err(SnmpError::Timeout)
        }
        async fn get_bulk(&mut self, _: &Oid, _: u32) -> Result<Vec<VarBind>, SnmpError> {
            Err(SnmpError::Timeout)
        }
        fn set_octet_decoding(&mut self, _: crate::snmp::OctetDecoding) {}
    }

    fn oid(s: &str) -> Oid {
        Oid::parse(s).expect("oid")
    }

    #[tokio::test]
    async fn splits_too_big_requests_and_skips_missing_objects() {
        let table: Vec<(Oid, SnmpValue)> = (1..=10)
            .map(|i| (oid(&format!("1.3.6.1.{i}")), SnmpValue::Counter32(i)))
            .collect();
        let mut agent = TableAgent {
            table,
            max_varbinds: 3,
            requests: 0,
        };
        let mut wanted: Vec<Oid> = (1..=10).map(|i| oid(&format!("1.3.6.1.{i}"))).collect();
        wanted.insert(4, oid("1.3.6.1.99"));
        let got = get_all(&mut agent, &wanted, 8).await.expect("poll");
        assert_eq!(got.len(), 11);
        assert_eq!(got[4].value, SnmpValue::NoSuchObject);
        assert_eq!(got[5].value, SnmpValue::Counter32(5));
        assert_eq!(got[10].value, SnmpValue::Counter32(10));
        assert!(agent.requests < 20, "{} requests", agent.requests);
    }

    #[tokio::test]
    async fn other_errors_fail_the_poll() {
        struct Silent;
        impl Agent for Silent {
            async fn get(&mut self, _: &[Oid]) -> Result<Vec<VarBind>, SnmpError> {
                Err(SnmpError::Timeout)
            }
            async fn get_next(&mut self, _: &Oid) -> Result<Vec<VarBind>, SnmpError> {
                Err(SnmpError::Timeout)
            }
            async fn get_bulk(&mut self, _: &Oid, _: u32) -> Result<Vec<VarBind>, SnmpError> {
                Err(SnmpError::Timeout)
            }
            fn set_octet_decoding(&mut self, _: crate::snmp::OctetDecoding) {}
        }
        let err = get_all(&mut Silent, &[oid("1.3.6.1")], 8)
            .await
            .expect_err("timeout");
        assert_eq!(err.to_string(), "timeout");
    }
}
