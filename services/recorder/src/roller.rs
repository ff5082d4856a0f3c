//! Rollups as RRD-based tools keep them: per period (one minute, five minutes, one hour) and
//! interface, the min, average and max of the rates whose step ended in the period and how
//! many there were; likewise for the interface's errors and discards per second and for the
//! device's numeric extra OIDs. The recorder writes them as lines of JSON; history queries over
//! long ranges read them instead of the raw samples.

use std::collections::BTreeMap;

use netpulse_shared::history::{ErrorCounters, Resolution, Spread};
use netpulse_shared::snmp::Oid;
use netpulse_shared::tracker::{InterfaceRate, OidValue, Stepped};
use serde::{Deserialize, Serialize};

/// A mean computed as a sum over a count, kept within the values it averages: rounding can
/// otherwise put the mean of equal values one ulp above their maximum.
pub fn mean_within(sum: f64, count: f64, min: f64, max: f64) -> f64 {
    (sum / count).max(min).min(max)
}

/// Min, average and max of `count` values: how rollups keep the series besides the octet
/// rates (errors and discards per second, extra OIDs), whose counts may differ from the
/// interface's (a counter missing from some samples).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// How many values.
    pub count: u32,
    /// Lowest.
    pub min: f64,
    /// Mean.
    pub avg: f64,
    /// Highest.
    pub max: f64,
}

impl Aggregate {
    /// A single value.
    pub fn one(value: f64) -> Self {
        Self {
            count: 1,
            min: value,
            avg: value,
            max: value,
        }
    }

    /// Its min, average and max.
    pub fn spread(&self) -> Spread {
        Spread {
            min: self.min,
            avg: self.avg,
            max: self.max,
        }
    }
}

/// Aggregates being combined: min of the mins, max of the maxes, average weighted by count.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    count: u64,
    min: f64,
    max: f64,
    /// Sum of the averages weighted by their counts.
    sum: f64,
}

impl Tally {
    /// Adds an aggregate.
    pub fn add(&mut self, value: &Aggregate) {
        if value.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = value.min;
            self.max = value.max;
        } else {
            self.min = self.min.min(value.min);
            self.max = self.max.max(value.max);
        }
        self.count += u64::from(value.count);
        self.sum += value.avg * f64::from(value.count);
    }

    /// The combined aggregate; `None` when nothing was added.
    pub fn finish(&self) -> Option<Aggregate> {
        (self.count > 0).then(|| Aggregate {
            count: u32::try_from(self.count).unwrap_or(u32::MAX),
            min: self.min,
            avg: mean_within(self.sum, self.count as f64, self.min, self.max),
            max: self.max,
        })
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
    /// Errors and discards per second, each with its count (`in_errors_ps`, ...; absent
    /// when none was read in the period, and in lines written before they were polled).
    #[serde(flatten)]
    pub errors: ErrorCounters<Aggregate>,
}

/// One extra OID's aggregate over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidRollup {
    /// Its SNMP type, as of its latest value in the period (counters are rates per second).
    #[serde(rename = "type")]
    pub kind: String,
    /// Count, min, average and max of its values.
    #[serde(flatten)]
    pub value: Aggregate,
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
    /// Every numeric extra OID (sysUpTime.0 included) with a value in the period, by dotted
    /// OID (absent in lines written before extra OIDs were rolled up).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub oids: BTreeMap<String, OidRollup>,
}

#[derive(Debug, Clone)]
struct Accumulator {
    index: u32,
    count: u32,
    in_bps: (f64, f64, f64),
    out_bps: (f64, f64, f64),
    errors: [Tally; 4],
}

impl Accumulator {
    fn new(rate: &InterfaceRate) -> Self {
        let mut errors = [Tally::default(); 4];
        Self::add_errors(&mut errors, rate);
        Self {
            index: rate.index,
            count: 1,
            in_bps: (rate.in_bps, rate.in_bps, rate.in_bps),
            out_bps: (rate.out_bps, rate.out_bps, rate.out_bps),
            errors,
        }
    }

    fn add_errors(errors: &mut [Tally; 4], rate: &InterfaceRate) {
        for (tally, value) in errors.iter_mut().zip(rate.errors.to_array()) {
            if let Some(value) = value {
                tally.add(&Aggregate::one(value));
            }
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
        Self::add_errors(&mut self.errors, rate);
    }

    fn finish(self, key: String) -> InterfaceRollup {
        let n = f64::from(self.count);
        let spread = |(min, sum, max): (f64, f64, f64)| Spread {
            min,
            avg: mean_within(sum, n, min, max),
            max,
        };
        InterfaceRollup {
            index: self.index,
            key,
            count: self.count,
            in_bps: spread(self.in_bps),
            out_bps: spread(self.out_bps),
            errors: ErrorCounters::from_array(self.errors.map(|t| t.finish())),
        }
    }
}

/// The period being aggregated.
#[derive(Debug, Clone)]
struct OpenPeriod {
    start: u64,
    interfaces: BTreeMap<String, Accumulator>,
    /// Per OID: the type of its latest value, and its values.
    oids: BTreeMap<Oid, (&'static str, Tally)>,
}

/// Aggregates one device's rates and OID values (in time order) into periods of one
/// resolution.
#[derive(Debug, Clone)]
pub struct Roller {
    resolution: Resolution,
    /// Periods starting before this are written already: their rates are ignored.
    done_until_ms: u64,
    open: Option<OpenPeriod>,
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

    /// The open period for something at `time_ms`, opening it (and closing the previous
    /// one, returned) when it is later; `None` for a time whose period is closed already.
    fn period_for(&mut self, time_ms: u64) -> Option<(&mut OpenPeriod, Option<RollupLine>)> {
        let period = self.resolution.period_ms();
        let start = time_ms - time_ms % period;
        if start < self.done_until_ms {
            return None;
        }
        let mut closed = None;
        match &self.open {
            Some(open) if open.start > start => return None,
            Some(open) if open.start == start => {}
            _ => {
                closed = self.close();
                self.open = Some(OpenPeriod {
                    start,
                    interfaces: BTreeMap::new(),
                    oids: BTreeMap::new(),
                });
            }
        }
        self.open.as_mut().map(|open| (open, closed))
    }

    /// Adds a rate; returns the previous period when this rate starts a later one.
    pub fn push(&mut self, rate: &InterfaceRate) -> Option<RollupLine> {
        let (open, closed) = self.period_for(rate.time_ms)?;
        match open.interfaces.get_mut(&rate.key) {
            Some(acc) => acc.add(rate),
            None => {
                open.interfaces
                    .insert(rate.key.clone(), Accumulator::new(rate));
            }
        }
        closed
    }

    /// Adds an extra OID's value; returns the previous period when it starts a later one.
    pub fn push_oid(&mut self, value: &OidValue) -> Option<RollupLine> {
        let (open, closed) = self.period_for(value.time_ms)?;
        let (kind, tally) = open.oids.entry(value.oid.clone()).or_default();
        *kind = value.kind;
        tally.add(&Aggregate::one(value.value));
        closed
    }

    /// Adds everything a sample gave (see [`RateTracker::step_all`]), in time order;
    /// returns the periods it closes.
    pub fn push_step(&mut self, step: &Stepped) -> Vec<RollupLine> {
        let mut closed = Vec::new();
        let mut oids = step.oids.iter().peekable();
        for rate in &step.rates {
            while let Some(value) = oids.next_if(|v| v.time_ms < rate.time_ms) {
                closed.extend(self.push_oid(value));
            }
            closed.extend(self.push(rate));
        }
        for value in oids {
            closed.extend(self.push_oid(value));
        }
        closed
    }

    /// Closes the open period, if any.
    pub fn close(&mut self) -> Option<RollupLine> {
        let open = self.open.take()?;
        let step_ms = self.resolution.period_ms();
        self.done_until_ms = open.start + step_ms;
        Some(RollupLine {
            time_ms: open.start,
            step_ms,
            interfaces: open
                .interfaces
                .into_iter()
                .map(|(key, acc)| acc.finish(key))
                .collect(),
            oids: open
                .oids
                .into_iter()
                .filter_map(|(oid, (kind, tally))| {
                    let value = tally.finish()?;
                    Some((
                        oid.to_string(),
                        OidRollup {
                            kind: kind.to_owned(),
                            value,
                        },
                    ))
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::messages::SnmpValue;
    use netpulse_shared::test_samples::{
        sample, with_errors, with_extra_oids, with_value, COUNTER_OID, GAUGE_OID,
    };
    use netpulse_shared::tracker::RateTracker;
    use proptest::prelude::*;

    #[test]
    fn a_mean_of_equal_values_is_that_value() {
        // The sum of three equal rates over three is one ulp above the rate.
        let rate = 251_684.945_164_506_5_f64;
        let sum = rate * 3.0;
        assert_eq!(mean_within(sum, 3.0, rate, rate), rate);
        assert_eq!(mean_within(6.0, 3.0, 1.0, 3.0), 2.0);
    }

    #[test]
    fn extra_oids_roll_up_in_time_order_with_the_rates() {
        let (gauge, counter, at) = (GAUGE_OID, COUNTER_OID, with_extra_oids);
        // Every value lands in its period.
        let mut tracker = RateTracker::default();
        let mut roller = Roller::new(Resolution::Minute, 0);
        let mut lines = Vec::new();
        for n in 0..180u64 {
            // Counters cached every other second.
            let octets = (n / 2) * 1000;
            lines.extend(roller.push_step(&tracker.step_all(&at(n * 1000, octets, 5, n * 10))));
        }
        lines.extend(roller.close());
        assert_eq!(
            lines.iter().map(|l| l.time_ms).collect::<Vec<_>>(),
            [0, 60_000, 120_000]
        );
        let load = &lines[1].oids[gauge];
        assert_eq!((load.kind.as_str(), load.value.count), ("integer", 60));
        assert_eq!(
            (load.value.min, load.value.avg, load.value.max),
            (5.0, 5.0, 5.0)
        );
        let rate = &lines[1].oids[counter];
        assert_eq!((rate.kind.as_str(), rate.value.count), ("counter64", 60));
        assert_eq!((rate.value.min, rate.value.max), (10.0, 10.0));
        assert!(
            !lines[1].oids.contains_key("1.3.6.1.2.1.1.5.0"),
            "not numeric"
        );
        assert_eq!(lines[1].interfaces[0].count, 60);
    }

    #[test]
    fn rollup_lines_with_and_without_the_new_fields_read_back() {
        // A line written before errors and OIDs were rolled up.
        let old = r#"{"time_ms":60000,"step_ms":60000,"interfaces":[{"index":1,"key":"eth0","count":6,"in":{"min":1.0,"avg":2.0,"max":3.0},"out":{"min":0.0,"avg":0.5,"max":1.0}}]}"#;
        let line: RollupLine = serde_json::from_str(old).expect("an old line");
        assert!(line.oids.is_empty());
        assert!(line.interfaces[0].errors.is_empty());
        assert_eq!(
            serde_json::to_string(&line).expect("json"),
            old,
            "written alike"
        );
        // A new one.
        let mut tracker = RateTracker::default();
        let mut roller = Roller::new(Resolution::Minute, 0);
        for n in 0..3u64 {
            let s = sample(60_000 + n * 30_000, &[(1, "eth0", n * 1000, n * 1000)]);
            let s = with_errors(s, 1, [n as u32 * 30, 0, 0, 0]);
            let uptime = SnmpValue::Timeticks(s.uptime_ticks.expect("ticks"));
            let s = with_value(s, "1.3.6.1.2.1.1.3.0", uptime);
            roller.push_step(&tracker.step_all(&s));
        }
        let line = roller.close().expect("a period");
        let json = serde_json::to_value(&line).expect("json");
        assert_eq!(
            json["interfaces"][0]["in_errors_ps"],
            serde_json::json!({"count": 1, "min": 1.0, "avg": 1.0, "max": 1.0})
        );
        assert_eq!(json["oids"]["1.3.6.1.2.1.1.3.0"]["type"], "timeticks");
        assert_eq!(json["oids"]["1.3.6.1.2.1.1.3.0"]["count"], 1);
        let back: RollupLine = serde_json::from_value(json).expect("back");
        assert_eq!(back, line);
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
