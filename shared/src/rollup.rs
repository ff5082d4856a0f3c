//! Rates per interface and their rollups, as RRD-based tools keep them: per period (one
//! minute, five minutes, one hour) and interface, the min, average and max of the rates whose
//! step ended in the period and how many there were. The recorder writes them; history queries
//! over long ranges read them instead of the raw samples.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::history::Spread;
use crate::messages::Sample;
use crate::rate::{bits_per_second, Reading};

/// How finely history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Resolution {
    /// Every sample.
    #[serde(rename = "raw")]
    Raw,
    /// One-minute aggregates.
    #[serde(rename = "1m")]
    Minute,
    /// Five-minute aggregates.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// One-hour aggregates.
    #[serde(rename = "1h")]
    Hour,
}

impl Resolution {
    /// Finest first.
    pub const ALL: [Self; 4] = [Self::Raw, Self::Minute, Self::FiveMinutes, Self::Hour];
    /// The aggregated ones, finest first.
    pub const ROLLUPS: [Self; 3] = [Self::Minute, Self::FiveMinutes, Self::Hour];

    /// The period of one aggregate, milliseconds (1 for raw: samples are not aligned).
    pub fn period_ms(self) -> u64 {
        match self {
            Self::Raw => 1,
            Self::Minute => 60_000,
            Self::FiveMinutes => 300_000,
            Self::Hour => 3_600_000,
        }
    }

    /// The name used in file names, settings and the API.
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Minute => "1m",
            Self::FiveMinutes => "5m",
            Self::Hour => "1h",
        }
    }

    /// The resolution of a name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// One interface's rate over one step between two samples.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceRate {
    /// ifIndex in the later sample.
    pub index: u32,
    /// Stable key (ifName, else ifDescr; `#<ifIndex>` when the sample names none).
    pub key: String,
    /// End of the step (the later sample), Unix milliseconds.
    pub time_ms: u64,
    /// Received bits per second.
    pub in_bps: f64,
    /// Sent bits per second.
    pub out_bps: f64,
}

#[derive(Debug, Clone, Copy)]
struct LastReading {
    time_ms: u64,
    uptime_ticks: Option<u32>,
    in_octets: (u64, u32),
    out_octets: (u64, u32),
}

/// Turns one device's samples, in time order, into rates per interface. Interfaces are
/// followed by key, so a renumbered interface keeps its series.
#[derive(Debug, Clone, Default)]
pub struct RateTracker {
    last: HashMap<String, LastReading>,
}

impl RateTracker {
    /// The rates between the previous sample and this one. A sample not later than the
    /// previous one of an interface is ignored for it; a step whose counters cannot give a
    /// rate (restart, reset) gives none: a gap.
    pub fn step(&mut self, sample: &Sample) -> Vec<InterfaceRate> {
        let mut out = Vec::new();
        for counters in sample.interface_counters() {
            let polled = sample.interfaces.iter().find(|p| p.index == counters.index);
            let key = polled.map_or_else(|| format!("#{}", counters.index), |p| p.key.clone());
            let speed = polled.map_or(0, |p| p.speed_bps);
            let now = LastReading {
                time_ms: sample.time_ms,
                uptime_ticks: sample.uptime_ticks,
                in_octets: counters.in_octets,
                out_octets: counters.out_octets,
            };
            let previous = self.last.get(&key).copied();
            if previous.is_some_and(|p| p.time_ms >= now.time_ms) {
                continue;
            }
            self.last.insert(key.clone(), now);
            let Some(before) = previous else {
                continue;
            };
            let reading = |r: &LastReading, (value, bits): (u64, u32)| Reading {
                time_ms: r.time_ms,
                uptime_ticks: r.uptime_ticks,
                value,
                bits,
            };
            let inbound = bits_per_second(
                &reading(&before, before.in_octets),
                &reading(&now, now.in_octets),
                speed,
            );
            let outbound = bits_per_second(
                &reading(&before, before.out_octets),
                &reading(&now, now.out_octets),
                speed,
            );
            if let (Ok(in_bps), Ok(out_bps)) = (inbound, outbound) {
                out.push(InterfaceRate {
                    index: counters.index,
                    key,
                    time_ms: sample.time_ms,
                    in_bps,
                    out_bps,
                });
            }
        }
        out
    }
}

/// One interface's aggregate over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterfaceRollup {
    /// ifIndex at the end of the period.
    pub index: u32,
    /// Stable key.
    pub key: String,
    /// How many rates were aggregated.
    pub count: u32,
    /// Received bits per second.
    #[serde(rename = "in")]
    pub in_bps: Spread,
    /// Sent bits per second.
    #[serde(rename = "out")]
    pub out_bps: Spread,
}

/// One period of one device: a line of a rollup file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollupLine {
    /// Start of the period, Unix milliseconds.
    pub time_ms: u64,
    /// Length of the period, milliseconds.
    pub step_ms: u64,
    /// Every interface with at least one rate in the period.
    pub interfaces: Vec<InterfaceRollup>,
}

#[derive(Debug, Clone)]
struct Accumulator {
    index: u32,
    count: u32,
    in_bps: (f64, f64, f64),
    out_bps: (f64, f64, f64),
}

impl Accumulator {
    fn new(rate: &InterfaceRate) -> Self {
        Self {
            index: rate.index,
            count: 1,
            in_bps: (rate.in_bps, rate.in_bps, rate.in_bps),
            out_bps: (rate.out_bps, rate.out_bps, rate.out_bps),
        }
    }

    fn add(&mut self, rate: &InterfaceRate) {
        self.index = rate.index;
        self.count += 1;
        for (acc, v) in [
            (&mut self.in_bps, rate.in_bps),
            (&mut self.out_bps, rate.out_bps),
        ] {
            acc.0 = acc.0.min(v);
            acc.1 += v;
            acc.2 = acc.2.max(v);
        }
    }

    fn finish(self, key: String) -> InterfaceRollup {
        let n = f64::from(self.count);
        let spread = |(min, sum, max): (f64, f64, f64)| Spread {
            min,
            avg: sum / n,
            max,
        };
        InterfaceRollup {
            index: self.index,
            key,
            count: self.count,
            in_bps: spread(self.in_bps),
            out_bps: spread(self.out_bps),
        }
    }
}

/// Aggregates one device's rates (in time order) into periods of one resolution.
#[derive(Debug, Clone)]
pub struct Roller {
    resolution: Resolution,
    /// Periods starting before this are written already: their rates are ignored.
    done_until_ms: u64,
    open: Option<(u64, BTreeMap<String, Accumulator>)>,
}

impl Roller {
    /// A roller whose periods before `done_until_ms` are already written.
    pub fn new(resolution: Resolution, done_until_ms: u64) -> Self {
        Self {
            resolution,
            done_until_ms,
            open: None,
        }
    }

    /// End of the last period closed.
    pub fn done_until_ms(&self) -> u64 {
        self.done_until_ms
    }

    /// Adds a rate; returns the previous period when this rate starts a later one.
    pub fn push(&mut self, rate: &InterfaceRate) -> Option<RollupLine> {
        let period = self.resolution.period_ms();
        let start = rate.time_ms - rate.time_ms % period;
        if start < self.done_until_ms {
            return None;
        }
        let mut closed = None;
        match &mut self.open {
            Some((open, _)) if *open > start => return None,
            Some((open, _)) if *open == start => {}
            _ => {
                closed = self.close();
                self.open = Some((start, BTreeMap::new()));
            }
        }
        if let Some((_, interfaces)) = &mut self.open {
            match interfaces.get_mut(&rate.key) {
                Some(acc) => acc.add(rate),
                None => {
                    interfaces.insert(rate.key.clone(), Accumulator::new(rate));
                }
            }
        }
        closed
    }

    /// Closes the open period, if any.
    pub fn close(&mut self) -> Option<RollupLine> {
        let (start, interfaces) = self.open.take()?;
        let step_ms = self.resolution.period_ms();
        self.done_until_ms = start + step_ms;
        Some(RollupLine {
            time_ms: start,
            step_ms,
            interfaces: interfaces
                .into_iter()
                .map(|(key, acc)| acc.finish(key))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{DeviceId, Oid};
    use crate::messages::{PolledInterface, SnmpValue, VarBind, SCHEMA_VERSION};
    use proptest::prelude::*;

    fn sample(time_ms: u64, counters: &[(u32, &str, u64, u64)]) -> Sample {
        let mut values = Vec::new();
        for &(index, _, inbound, outbound) in counters {
            for (column, value) in [(6, inbound), (10, outbound)] {
                values.push(VarBind {
                    oid: Oid::parse(&format!("1.3.6.1.2.1.31.1.1.1.{column}.{index}"))
                        .expect("oid"),
                    value: SnmpValue::Counter64(value),
                });
            }
        }
        Sample {
            schema: SCHEMA_VERSION,
            id: format!("s{time_ms}"),
            device: DeviceId::parse("d").expect("id"),
            time_ms,
            uptime_ticks: Some(u32::try_from(time_ms / 10).unwrap_or(u32::MAX)),
            values,
            interfaces: counters
                .iter()
                .map(|&(index, key, _, _)| PolledInterface {
                    index,
                    key: key.into(),
                    speed_bps: 0,
                })
                .collect(),
            duration_ms: None,
            stats: Default::default(),
        }
    }

    #[test]
    fn a_renumbered_interface_keeps_its_series() {
        let mut tracker = RateTracker::default();
        assert!(tracker.step(&sample(0, &[(1, "eth0", 0, 0)])).is_empty());
        let rates = tracker.step(&sample(1000, &[(7, "eth0", 125, 250)]));
        assert_eq!(rates.len(), 1);
        assert_eq!(
            (rates[0].index, rates[0].in_bps, rates[0].out_bps),
            (7, 1000.0, 2000.0)
        );
        // An older sample delivered late changes nothing.
        assert!(tracker.step(&sample(500, &[(7, "eth0", 1, 1)])).is_empty());
    }

    proptest! {
        /// Every rollup line equals a brute-force aggregation of the raw rates of its period,
        /// and every rate lands in exactly one line.
        #[test]
        fn rollups_match_brute_force(
            steps in prop::collection::vec((1u64..90_000, 0u64..10_000_000, 0u64..10_000_000, any::<bool>()), 1..200),
            resolution in prop::sample::select(Resolution::ROLLUPS.to_vec()),
        ) {
            let mut time = 1_764_288_000_000u64;
            let (mut a_in, mut a_out, mut b_in) = (0u64, 0u64, 0u64);
            let mut samples = Vec::new();
            for (gap, d_in, d_out, with_b) in steps {
                time += gap;
                a_in += d_in;
                a_out += d_out;
                b_in += d_out / 3;
                let mut counters = vec![(1, "a", a_in, a_out)];
                if with_b {
                    counters.push((2, "b", b_in, b_in));
                }
                samples.push(sample(time, &counters));
            }
            let mut tracker = RateTracker::default();
            let rates: Vec<InterfaceRate> = samples.iter().flat_map(|s| tracker.step(s)).collect();
            let mut roller = Roller::new(resolution, 0);
            let mut lines: Vec<RollupLine> = rates.iter().filter_map(|r| roller.push(r)).collect();
            lines.extend(roller.close());
            let period = resolution.period_ms();
            let mut seen = 0;
            for line in &lines {
                prop_assert_eq!(line.time_ms % period, 0);
                for rolled in &line.interfaces {
                    let inside: Vec<&InterfaceRate> = rates
                        .iter()
                        .filter(|r| r.key == rolled.key && r.time_ms >= line.time_ms && r.time_ms < line.time_ms + period)
                        .collect();
                    prop_assert_eq!(inside.len(), rolled.count as usize);
                    seen += inside.len();
                    for (spread, values) in [
                        (rolled.in_bps, inside.iter().map(|r| r.in_bps).collect::<Vec<_>>()),
                        (rolled.out_bps, inside.iter().map(|r| r.out_bps).collect::<Vec<_>>()),
                    ] {
                        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let avg = values.iter().sum::<f64>() / values.len() as f64;
                        prop_assert_eq!((spread.min, spread.max), (min, max));
                        prop_assert!((spread.avg - avg).abs() <= avg.abs() * 1e-9 + 1e-6);
                    }
                }
            }
            prop_assert_eq!(seen, rates.len());
        }
    }
}
