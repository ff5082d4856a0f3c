//! Samples made by hand for tests of rate and rollup math: counters given per interface,
//! error counters and extra OIDs added as if the poll had asked for them. Enabled in tests and
//! by the `test-util` feature.

use crate::device::DeviceId;

use crate::messages::{PolledInterface, Sample, SampledInterface, SnmpValue, VarBind};
use crate::snmp::Oid;

/// A sample of device `d` at `time_ms` with ifHCInOctets and ifHCOutOctets for each
/// `(index, key, in, out)`, and an uptime of a tenth of `time_ms` in ticks.
pub fn sample(time_ms: u64, counters: &[(u32, &str, u64, u64)]) -> Sample {
    let mut values = Vec::new();
    for &(index, _, inbound, outbound) in counters {
        for (column, value) in [(6, inbound), (10, outbound)] {
            values.push(VarBind {
                oid: Oid::parse(&format!("1.3.6.1.2.1.31.1.1.1.{column}.{index}")).expect("oid"),
                value: SnmpValue::Counter64(value),
            });
        }
    }
    let polled: Vec<PolledInterface> = counters
        .iter()
        .map(|&(index, key, _, _)| PolledInterface {
            index,
            key: key.into(),
            speed_bps: 0,
        })
        .collect();
    Sample::from_answers(
        format!("s{time_ms}"),
        DeviceId::parse("d").expect("id"),
        time_ms,
        Some(u32::try_from(time_ms / 10).unwrap_or(u32::MAX)),
        values,
        &polled,
    )
}

/// `sample` as if its poll had also asked for `more`.
pub fn with_answers(sample: Sample, more: Vec<VarBind>) -> Sample {
    let polled: Vec<PolledInterface> = sample
        .interfaces
        .iter()
        .map(SampledInterface::polled)
        .collect();
    let mut answers = sample.varbinds();
    answers.extend(more);
    Sample::from_answers(
        sample.id,
        sample.device,
        sample.time_ms,
        sample.uptime_ticks,
        answers,
        &polled,
    )
}

/// `sample` with interface `index`'s error and discard counters (in errors, out errors,
/// in discards, out discards) as Counter32 values.
pub fn with_errors(sample: Sample, index: u32, counters: [u32; 4]) -> Sample {
    let more = [14, 20, 13, 19]
        .into_iter()
        .zip(counters)
        .map(|(column, value)| VarBind {
            oid: Oid::parse(&format!("1.3.6.1.2.1.2.2.1.{column}.{index}")).expect("oid"),
            value: SnmpValue::Counter32(value),
        })
        .collect();
    with_answers(sample, more)
}

/// `sample` with `oid` answered as `value`.
pub fn with_value(sample: Sample, oid: &str, value: SnmpValue) -> Sample {
    let more = vec![VarBind {
        oid: Oid::parse(oid).expect("oid"),
        value,
    }];
    with_answers(sample, more)
}

/// The gauge (UCD-SNMP laLoadInt.1) [`with_extra_oids`] adds.
pub const GAUGE_OID: &str = "1.3.6.1.4.1.2021.10.1.5.1";
/// The counter (IP-MIB ipInReceives.0) [`with_extra_oids`] adds.
pub const COUNTER_OID: &str = "1.3.6.1.2.1.4.3.0";

/// A sample of `eth0` at `time_ms` with `octets` each way and three extra OIDs: the gauge
/// [`GAUGE_OID`] at `load`, the Counter64 [`COUNTER_OID`] at `packets`, and sysName (text).
pub fn with_extra_oids(time_ms: u64, octets: u64, load: i64, packets: u64) -> Sample {
    let s = sample(time_ms, &[(1, "eth0", octets, octets)]);
    let s = with_value(s, GAUGE_OID, SnmpValue::Integer(load));
    let s = with_value(s, COUNTER_OID, SnmpValue::Counter64(packets));
    with_value(s, "1.3.6.1.2.1.1.5.0", SnmpValue::OctetString("r1".into()))
}
