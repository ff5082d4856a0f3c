//! What the alerter knows of each device: its registry entry, its reachability, and what its
//! latest sample says, decoded once per sample into a [`Reading`] that every rule reads.

use std::collections::{HashMap, HashSet};

use netpulse_shared::device::Device;

use netpulse_shared::messages::{Reachability, Sample, SnmpValue};
use netpulse_shared::rate::{counter_delta, restarted};
use netpulse_shared::snmp::Oid;
use netpulse_shared::tracker::RateTracker;

/// One sample as rules see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// Each interface's oper status: key, and whether it is up (`ifOperStatus` 1), down (2,
    /// or 7 lowerLayerDown), or neither (testing, dormant, ...: counted as neither).
    pub oper: Vec<(String, OperState)>,
    /// Each interface's rate as a percentage of its speed, in and out (interfaces of known
    /// speed with a rate in this sample).
    pub utilisation: Vec<(String, f64, f64)>,
    /// Each interface's errors and discards per second: in errors, out errors, in discards,
    /// out discards (a counter not polled, or without a rate yet, is absent).
    pub errors: Vec<(String, [Option<f64>; 4])>,
    /// Each numeric extra OID's value: a gauge as read, a counter as its rate per second.
    pub oids: HashMap<Oid, f64>,
}

/// An interface's operational state, as alerting sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    /// ifOperStatus up(1).
    Up,
    /// down(2) or lowerLayerDown(7).
    Down,
    /// Anything else.
    Other,
}

/// An interface's error and discard counters at one sample: time, sysUpTime, and each
/// counter with its width.
type ErrorReading = (u64, Option<u32>, [Option<(u64, u32)>; 4]);

/// The alerter's view of one device.
#[derive(Debug, Clone)]
pub struct DeviceFacts {
    /// As in the registry.
    pub device: Device,
    /// As the scheduler last said.
    pub reach: Reachability,
    /// Interfaces seen up at least once (an interface never up does not alert when down).
    pub seen_up: HashSet<String>,
    rates: RateTracker,
    /// Error counters of each interface at the previous sample.
    errors: HashMap<String, ErrorReading>,
    /// Counter extra OIDs at the previous sample: time, sysUpTime, value and width.
    counters: HashMap<Oid, (u64, Option<u32>, u64, u32)>,
}

impl DeviceFacts {
    /// A device not heard of yet.
    pub fn new(device: Device) -> Self {
        Self {
            device,
            reach: Reachability::Unknown,
            seen_up: HashSet::new(),
            rates: RateTracker::default(),
            errors: HashMap::new(),
            counters: HashMap::new(),
        }
    }

    /// Reads one sample (in time order; an older one gives an empty reading).
    pub fn read(&mut self, sample: &Sample) -> Reading {
        let mut reading = Reading::default();
        if self.rates.latest_ms().is_some_and(|t| t >= sample.time_ms) {
            return reading;
        }
        let key_of = |index: u32| {
            sample
                .interfaces
                .iter()
                .find(|p| p.index == index)
                .map_or_else(|| format!("#{index}"), |p| p.key.clone())
        };
        for interface in &sample.interfaces {
            let Some(code) = interface.oper_status else {
                continue;
            };
            let state = match code {
                1 => OperState::Up,
                2 | 7 => OperState::Down,
                _ => OperState::Other,
            };
            if state == OperState::Up {
                self.seen_up.insert(interface.key.clone());
            }
            reading.oper.push((interface.key.clone(), state));
        }
        for vb in &sample.values {
            if self.device.oids.contains(&vb.oid) {
                if let Some(value) = self.oid_value(&vb.oid, &vb.value, sample) {
                    reading.oids.insert(vb.oid.clone(), value);
                }
            }
        }
        for counters in sample.interface_errors() {
            let now = counters.readings();
            let key = key_of(counters.index);
            let before = self
                .errors
                .insert(key.clone(), (sample.time_ms, sample.uptime_ticks, now));
            if let Some((then_ms, then_up, then)) = before {
                if let Some(rates) = per_second(then_ms, then_up, &then, sample, &now) {
                    reading.errors.push((key, rates));
                }
            }
        }
        let stepped = self.rates.step_all(sample);
        for rate in stepped.rates.iter().filter(|r| r.time_ms == sample.time_ms) {
            let speed = sample
                .interfaces
                .iter()
                .find(|p| p.index == rate.index)
                .map_or(0, |p| p.speed_bps);
            if speed > 0 {
                let pct = |bps: f64| bps * 100.0 / speed as f64;
                reading
                    .utilisation
                    .push((rate.key.clone(), pct(rate.in_bps), pct(rate.out_bps)));
            }
        }
        reading
    }

    /// An extra OID's value: a gauge as read, a counter as its rate since the last sample.
    fn oid_value(&mut self, oid: &Oid, value: &SnmpValue, sample: &Sample) -> Option<f64> {
        match value.as_counter() {
            None => value.as_gauge(),
            Some((now, bits)) => {
                let before = self.counters.insert(
                    oid.clone(),
                    (sample.time_ms, sample.uptime_ticks, now, bits),
                )?;
                let (then_ms, then_up, then, then_bits) = before;
                let rebooted =
                    matches!((then_up, sample.uptime_ticks), (Some(a), Some(b)) if restarted(a, b));
                if rebooted || then_bits != bits || sample.time_ms <= then_ms {
                    return None;
                }
                let seconds = (sample.time_ms - then_ms) as f64 / 1000.0;
                Some(counter_delta(then, now, bits) as f64 / seconds)
            }
        }
    }
}

/// Rates per second of up to four counters between two readings; none across a reboot.
fn per_second(
    then_ms: u64,
    then_up: Option<u32>,
    then: &[Option<(u64, u32)>; 4],
    sample: &Sample,
    now: &[Option<(u64, u32)>; 4],
) -> Option<[Option<f64>; 4]> {
    let rebooted = matches!((then_up, sample.uptime_ticks), (Some(a), Some(b)) if restarted(a, b));
    if rebooted || sample.time_ms <= then_ms {
        return None;
    }
    let seconds = (sample.time_ms - then_ms) as f64 / 1000.0;
    let mut out = [None; 4];
    for (slot, (a, b)) in out.iter_mut().zip(then.iter().zip(now)) {
        if let (Some((a, bits_a)), Some((b, bits_b))) = (a, b) {
            if bits_a == bits_b {
                *slot = Some(counter_delta(*a, *b, *bits_b) as f64 / seconds);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::device::DeviceId;
    use netpulse_shared::messages::{PolledInterface, VarBind};

    pub(crate) fn device(extra: &[&str]) -> Device {
        let mut device = Device::from_json_body(br#"{"name": "core-1", "address": "192.0.2.1"}"#)
            .expect("device");
        device.oids = extra.iter().map(|o| Oid::parse(o).expect("oid")).collect();
        device
    }

    fn sample(time_ms: u64, octets: u64, oper: i64, errors: u32, temp: i64) -> Sample {
        let vb = |oid: &str, value| VarBind {
            oid: Oid::parse(oid).expect("oid"),
            value,
        };
        Sample::from_answers(
            format!("s{time_ms}"),
            DeviceId::parse("core-1").expect("id"),
            time_ms,
            Some((time_ms / 10) as u32),
            vec![
                vb("1.3.6.1.2.1.31.1.1.1.6.3", SnmpValue::Counter64(octets)),
                vb(
                    "1.3.6.1.2.1.31.1.1.1.10.3",
                    SnmpValue::Counter64(octets / 2),
                ),
                vb("1.3.6.1.2.1.2.2.1.8.3", SnmpValue::Integer(oper)),
                vb("1.3.6.1.2.1.2.2.1.14.3", SnmpValue::Counter32(errors)),
                vb("1.3.6.1.4.1.9.9.13.1.3.1.3.1", SnmpValue::Integer(temp)),
            ],
            &[PolledInterface {
                index: 3,
                key: "eth0".into(),
                speed_bps: 1_000_000,
            }],
        )
    }

    #[test]
    fn a_sample_is_read_into_what_rules_compare() {
        let mut facts = DeviceFacts::new(device(&["1.3.6.1.4.1.9.9.13.1.3.1.3.1"]));
        let first = facts.read(&sample(60_000, 0, 2, 0, 41));
        assert_eq!(first.oper, vec![("eth0".into(), OperState::Down)]);
        assert!(!facts.seen_up.contains("eth0"), "never up yet");
        assert!(first.errors.is_empty() && first.utilisation.is_empty());
        assert_eq!(first.oids.values().copied().collect::<Vec<_>>(), vec![41.0]);
        // 60 s later: 4.5 MB in = 600 kbit/s of 1 Mbit/s; 120 errors = 2/s.
        let second = facts.read(&sample(120_000, 4_500_000, 1, 120, 43));
        assert!(facts.seen_up.contains("eth0"));
        assert_eq!(second.errors[0].1[0], Some(2.0));
        assert_eq!(second.errors[0].1[1], None, "not polled");
        let (key, in_pct, out_pct) = second.utilisation[0].clone();
        assert_eq!(key, "eth0");
        assert!((in_pct - 60.0).abs() < 0.01, "{in_pct}");
        assert!((out_pct - 30.0).abs() < 0.01, "{out_pct}");
        // An older sample reads as nothing.
        assert_eq!(facts.read(&sample(90_000, 0, 1, 0, 1)), Reading::default());
    }
}
