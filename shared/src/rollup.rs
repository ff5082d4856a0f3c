//! Rates per interface and their rollups, as RRD-based tools keep them: per period (one
//! minute, five minutes, one hour) and interface, the min, average and max of the rates whose
//! step ended in the period and how many there were; likewise for the interface's errors and
//! discards per second and for the device's numeric extra OIDs. The recorder writes them;
//! history queries over long ranges read them instead of the raw samples.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::device::Oid;
use crate::history::{Aggregate, ErrorCounters, Spread, Tally};
use crate::messages::Sample;
use crate::rate::{bits_per_second, packets_per_second, per_second, Gap, Reading};

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
    /// Errors and discards per second over the same step, where both of its samples hold
    /// the counter and it gives a rate (see [`packets_per_second`]).
    pub errors: ErrorCounters<f64>,
}

/// One value of a numeric extra OID (see [`Sample::numeric_values`]): gauges, integers and
/// timeticks as read; counters as their rate per second since the OID's previous reading
/// (none for the first, or across an agent restart or a width change).
#[derive(Debug, Clone, PartialEq)]
pub struct OidValue {
    /// The OID.
    pub oid: Oid,
    /// When it was read, Unix milliseconds.
    pub time_ms: u64,
    /// Its SNMP type (`timeticks`, `counter64`, ...).
    pub kind: &'static str,
    /// The value, or the rate per second for a counter.
    pub value: f64,
}

#[derive(Debug, Clone, Copy)]
struct LastReading {
    time_ms: u64,
    uptime_ticks: Option<u32>,
    in_octets: (u64, u32),
    out_octets: (u64, u32),
    /// In [`crate::messages::InterfaceErrors::readings`] order.
    errors: [Option<(u64, u32)>; 4],
}

/// Unchanged counters are taken for an agent's cached answer, while its cache period is not
/// learned yet, for at most this long.
pub const UNLEARNED_HOLD_MS: u64 = 30_000;
/// An interval between two changes this long or longer is idleness, not a cache.
pub const MAX_CACHE_MS: u64 = 60_000;
/// How many intervals between changes the cache period is learned from.
const CACHE_WINDOW: usize = 8;

/// Learns how long an agent caches its interface counters.
///
/// Agents answer from a cache refreshed every few seconds (net-snmp's interface tables, about
/// 3 to 15 s depending on the version; Junos, 5 s): polled faster than that, the counters
/// repeat, then jump. Each time a device's counters change, the time since their previous
/// change is an upper bound of the cache period (at most one polling interval short of it);
/// the period is the shortest of the latest [`CACHE_WINDOW`] such intervals, counted only
/// when unchanged readings were seen in one of them (otherwise no cache has shown).
#[derive(Debug, Clone, Default)]
pub struct CacheLearner {
    last_change_ms: Option<u64>,
    unchanged_since: bool,
    intervals: VecDeque<(u64, bool)>,
    /// The latest interval between polls.
    gap_ms: u64,
}

impl CacheLearner {
    /// The cache period learned, milliseconds; `None` until the device has shown one.
    pub fn period_ms(&self) -> Option<u64> {
        if !self.intervals.iter().any(|&(_, cached)| cached) {
            return None;
        }
        // Counters that changed on consecutive polls show no cache longer than a poll.
        self.intervals
            .iter()
            .map(|&(ms, _)| ms)
            .min()
            .filter(|&ms| ms > self.gap_ms + self.gap_ms / 2)
    }

    /// For how long after the last change unchanged counters may still be a cached answer.
    fn hold_ms(&self) -> u64 {
        if self.intervals.is_empty() {
            return UNLEARNED_HOLD_MS;
        }
        self.period_ms().map_or(0, |period| period + self.gap_ms)
    }

    fn polled(&mut self, gap_ms: u64) {
        self.gap_ms = gap_ms;
    }

    fn changed(&mut self, time_ms: u64) {
        if let Some(last) = self.last_change_ms {
            let interval = time_ms.saturating_sub(last);
            if self.intervals.len() == CACHE_WINDOW {
                self.intervals.pop_front();
            }
            self.intervals
                .push_back((interval, self.unchanged_since && interval < MAX_CACHE_MS));
        }
        self.last_change_ms = Some(time_ms);
        self.unchanged_since = false;
    }

    fn unchanged(&mut self) {
        self.unchanged_since = true;
    }
}

/// What one sample gave, per [`RateTracker::step_all`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stepped {
    /// Rates in time order: first those of earlier cached readings this sample settles
    /// (each at its own sample's time), then this sample's own.
    pub rates: Vec<InterfaceRate>,
    /// Interfaces of this sample whose counters give no rate, by ifIndex, and why.
    pub gaps: Vec<(u32, Gap)>,
    /// The counters had not moved since the previous sample, sooner than the agent's cache
    /// period: a cached answer, whose rate is known once the counters move.
    pub cached: bool,
    /// Values of the numeric extra OIDs, in time order. Those of cached readings wait with
    /// their rates and come with them, so that everything a step gives is later than what
    /// the steps before gave.
    pub oids: Vec<OidValue>,
}

/// The device-wide state of a [`RateTracker`].
#[derive(Debug, Clone, Default)]
struct DeviceState {
    /// Time and counters of the latest sample.
    previous: Option<(u64, Vec<crate::messages::InterfaceCounters>)>,
    /// Time of the sample rates are counted from (the anchors of the interfaces).
    anchor_ms: u64,
    /// Whether that sample's counters were fresh (they had just changed, or had been still
    /// for longer than the agent's cache), so a rate may start there: not so for the first.
    anchor_fresh: bool,
    /// Times of the cached readings since the anchor, waiting for their rate.
    pending: Vec<u64>,
    /// OID values of those cached readings, waiting with them.
    pending_oids: Vec<OidValue>,
    cache: CacheLearner,
}

/// Turns one device's samples, in time order, into rates per interface. Interfaces are
/// followed by key, so a renumbered interface keeps its series.
///
/// A reading the agent answered from its cache (counters unchanged, sooner than its cache
/// period) gives no rate of its own, neither a zero nor, later, a double: once the counters
/// move, the rate since the last fresh reading is given to every cached reading in between,
/// and to the new one.
#[derive(Debug, Clone, Default)]
pub struct RateTracker {
    last: HashMap<String, LastReading>,
    /// The latest reading of each counter among the extra OIDs.
    oid_counters: HashMap<Oid, Reading>,
    device: DeviceState,
}

impl RateTracker {
    /// The rates this sample gives (see [`Stepped::rates`]).
    pub fn step(&mut self, sample: &Sample) -> Vec<InterfaceRate> {
        self.step_all(sample).rates
    }

    /// Time of the latest sample taken; older ones are ignored.
    pub fn latest_ms(&self) -> Option<u64> {
        self.device.previous.as_ref().map(|(time, _)| *time)
    }

    /// The agent's cache period as learned from the samples so far.
    pub fn cache_period_ms(&self) -> Option<u64> {
        self.device.cache.period_ms()
    }

    /// The values of a sample's numeric extra OIDs, counters as rates per second.
    fn oid_values(&mut self, sample: &Sample) -> Vec<OidValue> {
        let mut values = Vec::new();
        for vb in sample.numeric_values() {
            let value = match (vb.value.as_gauge(), vb.value.as_counter()) {
                (Some(value), _) => Some(value),
                (None, Some((value, bits))) => {
                    let now = Reading {
                        time_ms: sample.time_ms,
                        uptime_ticks: sample.uptime_ticks,
                        value,
                        bits,
                    };
                    self.oid_counters
                        .insert(vb.oid.clone(), now)
                        .and_then(|before| per_second(&before, &now).ok())
                }
                (None, None) => None,
            };
            if let Some(value) = value {
                values.push(OidValue {
                    oid: vb.oid.clone(),
                    time_ms: sample.time_ms,
                    kind: vb.value.type_name(),
                    value,
                });
            }
        }
        values
    }

    /// Everything this sample gives: its rates, its gaps, whether it was a cached reading,
    /// and its extra OIDs' values. A sample not later than the previous one is ignored.
    pub fn step_all(&mut self, sample: &Sample) -> Stepped {
        let counters = sample.interface_counters();
        let mut out = Stepped::default();
        let (previous_ms, unchanged) = match &self.device.previous {
            Some((time, _)) if *time >= sample.time_ms => return out,
            Some((time, before)) => (Some(*time), *before == counters),
            None => (None, false),
        };
        let oids = self.oid_values(sample);
        let state = &mut self.device;
        if counters.is_empty() {
            // No counters: nothing to rate, nothing cached.
            state.previous = Some((sample.time_ms, counters));
            out.oids = std::mem::take(&mut state.pending_oids);
            out.oids.extend(oids);
            return out;
        }
        let gap_ms = previous_ms.map_or(0, |p| sample.time_ms - p);
        let age_ms = sample.time_ms.saturating_sub(state.anchor_ms);
        state.previous = Some((sample.time_ms, counters.clone()));
        state.cache.polled(gap_ms);
        if previous_ms.is_some() && unchanged {
            state.cache.unchanged();
            if age_ms < state.cache.hold_ms() {
                state.pending.push(sample.time_ms);
                state.pending_oids.extend(oids);
                out.cached = true;
                return out;
            }
        } else if previous_ms.is_some() {
            state.cache.changed(sample.time_ms);
        }
        // A rate may start at the anchor only if its counters were fresh. The first reading
        // of a device may have come from a cache filled up to a cache period before: counted
        // from over a shorter time than any cache, its rate could be several times too high.
        let trusted = state.anchor_fresh || age_ms >= UNLEARNED_HOLD_MS;
        let pending = std::mem::take(&mut state.pending);
        out.oids = std::mem::take(&mut state.pending_oids);
        out.oids.extend(oids);
        state.anchor_ms = sample.time_ms;
        state.anchor_fresh = previous_ms.is_some();
        let errors = sample.interface_errors();
        for now in &counters {
            let polled = sample.interfaces.iter().find(|p| p.index == now.index);
            let key = polled.map_or_else(|| format!("#{}", now.index), |p| p.key.clone());
            let speed = polled.map_or(0, |p| p.speed_bps);
            let reading = LastReading {
                time_ms: sample.time_ms,
                uptime_ticks: sample.uptime_ticks,
                in_octets: now.in_octets,
                out_octets: now.out_octets,
                errors: errors
                    .binary_search_by_key(&now.index, |e| e.index)
                    .map_or([None; 4], |at| errors[at].readings()),
            };
            let Some(before) = self.last.insert(key.clone(), reading) else {
                continue;
            };
            if !trusted {
                continue;
            }
            let at = |r: &LastReading, (value, bits): (u64, u32)| Reading {
                time_ms: r.time_ms,
                uptime_ticks: r.uptime_ticks,
                value,
                bits,
            };
            let inbound = bits_per_second(
                &at(&before, before.in_octets),
                &at(&reading, reading.in_octets),
                speed,
            );
            let outbound = bits_per_second(
                &at(&before, before.out_octets),
                &at(&reading, reading.out_octets),
                speed,
            );
            match (inbound, outbound) {
                (Ok(in_bps), Ok(out_bps)) => {
                    let mut rates = [None; 4];
                    for (rate, (earlier, later)) in rates
                        .iter_mut()
                        .zip(before.errors.iter().zip(reading.errors))
                    {
                        if let (Some(earlier), Some(later)) = (earlier, later) {
                            *rate = packets_per_second(
                                &at(&before, *earlier),
                                &at(&reading, later),
                                speed,
                            )
                            .ok();
                        }
                    }
                    let errors = ErrorCounters::from_array(rates);
                    let times = pending.iter().filter(|&&t| t > before.time_ms);
                    for &time_ms in times.chain([&sample.time_ms]) {
                        out.rates.push(InterfaceRate {
                            index: now.index,
                            key: key.clone(),
                            time_ms,
                            in_bps,
                            out_bps,
                            errors,
                        });
                    }
                }
                (Err(gap), _) | (_, Err(gap)) => out.gaps.push((now.index, gap)),
            }
        }
        out.rates.sort_by_key(|r| r.time_ms);
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
            avg: crate::history::mean_within(sum, n, min, max),
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
    use crate::device::{DeviceId, Oid};
    use crate::messages::{PolledInterface, SampledInterface, SnmpValue, VarBind};
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
    fn with_answers(sample: Sample, more: Vec<VarBind>) -> Sample {
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

    #[test]
    fn a_renumbered_interface_keeps_its_series() {
        let mut tracker = RateTracker::default();
        assert!(tracker.step(&sample(0, &[(1, "eth0", 0, 0)])).is_empty());
        // The first reading may be an old one from the agent's cache: no rate from it.
        assert!(tracker
            .step(&sample(1000, &[(1, "eth0", 100, 100)]))
            .is_empty());
        let rates = tracker.step(&sample(2000, &[(7, "eth0", 225, 350)]));
        assert_eq!(rates.len(), 1);
        assert_eq!(
            (rates[0].index, rates[0].in_bps, rates[0].out_bps),
            (7, 1000.0, 2000.0)
        );
        // An older sample delivered late changes nothing.
        assert!(tracker.step(&sample(1500, &[(7, "eth0", 1, 1)])).is_empty());
    }

    /// An agent that caches its counters for `cache_ms`, refreshing them when asked after
    /// the cache expired (as net-snmp does), with traffic at `bytes_per_s(second)`.
    struct CachingAgent {
        cache_ms: u64,
        filled_ms: Option<u64>,
        value: u64,
        total: f64,
        clock_ms: u64,
    }

    impl CachingAgent {
        fn new(cache_ms: u64) -> Self {
            Self {
                cache_ms,
                filled_ms: None,
                value: 0,
                total: 0.0,
                clock_ms: 0,
            }
        }

        /// Traffic flows until `time_ms` at `bytes_per_s`, then the agent is polled.
        fn poll(&mut self, time_ms: u64, bytes_per_s: f64) -> Sample {
            self.total += bytes_per_s * (time_ms - self.clock_ms) as f64 / 1000.0;
            self.clock_ms = time_ms;
            if self.filled_ms.is_none_or(|f| time_ms >= f + self.cache_ms) {
                self.filled_ms = Some(time_ms);
                self.value = self.total as u64;
            }
            sample(time_ms, &[(1, "eth0", self.value, self.value / 2)])
        }
    }

    #[test]
    fn cached_counters_give_neither_a_zero_nor_a_double() {
        for cache_ms in [3_000, 5_000, 15_000] {
            let mut agent = CachingAgent::new(cache_ms);
            let mut tracker = RateTracker::default();
            let mut rates = Vec::new();
            let mut cached = 0;
            // Polled every second (with some jitter) for two minutes at 1 MB/s.
            for n in 0..120u64 {
                let time = 1_000_000 + n * 1000 + (n * 37) % 90;
                let step = tracker.step_all(&agent.poll(time, 1e6));
                cached += usize::from(step.cached);
                rates.extend(step.rates);
            }
            assert!(cached > 60, "{cache_ms}: {cached} cached readings seen");
            // The readings before the first change are cached ones with no fresh start: the
            // first rate comes from the second change.
            let lost = 2 * cache_ms as usize / 1000 + 2;
            assert!(
                rates.len() >= 120 - lost,
                "{cache_ms}: {} rates",
                rates.len()
            );
            for r in &rates {
                assert!(
                    (r.in_bps - 8e6).abs() < 8e6 * 0.01,
                    "{cache_ms}: {} bit/s at {}",
                    r.in_bps,
                    r.time_ms
                );
            }
            // Every reading from the first rate on has its rate, in order.
            let times: Vec<u64> = rates.iter().map(|r| r.time_ms).collect();
            assert!(times.windows(2).all(|w| w[0] < w[1]));
            let learned = tracker.cache_period_ms().expect("a cache period");
            assert!(
                learned >= cache_ms && learned <= cache_ms + 1000,
                "{cache_ms}: learned {learned}"
            );
        }
    }

    #[test]
    fn traffic_that_stops_shows_zero_within_a_cache_period() {
        let mut agent = CachingAgent::new(3_000);
        let mut tracker = RateTracker::default();
        let mut last = Vec::new();
        for n in 0..60u64 {
            let traffic = if n < 30 { 1e6 } else { 0.0 };
            for r in tracker.step(&agent.poll(n * 1000, traffic)) {
                last.push((r.time_ms, r.in_bps));
            }
        }
        // Traffic stopped at 29 s: by 40 s the rates are zero, and before 28 s they are not.
        assert!(last
            .iter()
            .filter(|(t, _)| *t < 28_000)
            .all(|(_, r)| *r > 7e6));
        assert!(last
            .iter()
            .filter(|(t, _)| *t >= 40_000)
            .all(|(_, r)| *r == 0.0));
        assert!(last.iter().any(|(t, _)| *t >= 55_000), "zeros keep coming");
    }

    #[test]
    fn an_agent_without_a_cache_gives_every_zero_at_once() {
        let mut tracker = RateTracker::default();
        let mut value = 0;
        let mut zeros = 0;
        for n in 0..40u64 {
            // Busy, except every fifth second.
            if n % 5 != 0 {
                value += 1000;
            }
            let rates = tracker.step(&sample(n * 1000, &[(1, "eth0", value, value)]));
            zeros += rates.iter().filter(|r| r.in_bps == 0.0).count();
        }
        // Counters that move from one second to the next show there is no cache to wait for.
        assert_eq!(zeros, 7, "zero rates");
        assert_eq!(tracker.cache_period_ms(), None);
    }

    /// `sample` with interface `index`'s error and discard counters (in errors, out errors,
    /// in discards, out discards) as Counter32 values.
    fn with_errors(sample: Sample, index: u32, counters: [u32; 4]) -> Sample {
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

    fn with_value(sample: Sample, oid: &str, value: SnmpValue) -> Sample {
        let more = vec![VarBind {
            oid: Oid::parse(oid).expect("oid"),
            value,
        }];
        with_answers(sample, more)
    }

    #[test]
    fn errors_and_discards_get_rates_per_second_like_the_octets() {
        let mut tracker = RateTracker::default();
        let at = |t: u64, octets: u64, errors: [u32; 4]| {
            with_errors(sample(t, &[(1, "eth0", octets, octets)]), 1, errors)
        };
        let top = u32::MAX - 4;
        assert!(tracker.step(&at(0, 0, [0, 0, 0, 0])).is_empty());
        assert!(tracker.step(&at(10_000, 1000, [0, 0, 0, top])).is_empty());
        // 10 s later: 50 errors in (5/s), none out, 20 discards in (2/s), and ifOutDiscards
        // wrapped past 2^32 by 15 (1.5/s).
        let rates = tracker.step(&at(20_000, 2000, [50, 0, 20, 10]));
        assert_eq!(rates.len(), 1);
        assert_eq!(
            rates[0].errors.to_array(),
            [Some(5.0), Some(0.0), Some(2.0), Some(1.5)]
        );
        // Polled without them (the device's poll_errors turned off): no error rates, the
        // octet rates as before.
        let rates = tracker.step(&sample(30_000, &[(1, "eth0", 3000, 3000)]));
        assert_eq!(rates[0].in_bps, 800.0);
        assert!(rates[0].errors.is_empty());
        // Back on: the first step has no earlier reading to count from.
        assert!(tracker.step(&at(40_000, 4000, [60, 0, 20, 10]))[0]
            .errors
            .is_empty());
        let rates = tracker.step(&at(50_000, 5000, [70, 0, 20, 10]));
        assert_eq!(rates[0].errors.in_errors, Some(1.0));
        // Counters cleared on the device without a reboot: octets that went back look like a
        // wrap of a 64-bit counter, impossible, so the whole step is a gap...
        let step = tracker.step_all(&at(60_000, 10, [1, 0, 0, 0]));
        assert!(step.rates.is_empty());
        assert_eq!(step.gaps, [(1, Gap::Impossible)]);
        // ...and an agent that rebooted gives no rate either, errors included.
        let mut rebooted = at(70_000, 20, [0, 0, 0, 0]);
        rebooted.uptime_ticks = Some(5);
        let step = tracker.step_all(&rebooted);
        assert_eq!(step.gaps, [(1, Gap::Restart)]);
        // Only the error counters jumped (cleared, on a 100 Mb/s link): those are dropped
        // as discontinuities, the rest stay.
        let on_fast_ethernet = |t: u64, octets: u64, errors: u32| {
            let mut s = at(t, octets, [errors, 0, 0, 0]);
            s.uptime_ticks = Some(u32::try_from(t / 10 - 6995).expect("ticks"));
            s.interfaces[0].speed_bps = 100_000_000;
            s
        };
        assert_eq!(
            tracker.step(&on_fast_ethernet(80_000, 1020, 0))[0].in_bps,
            800.0
        );
        assert_eq!(
            tracker.step(&on_fast_ethernet(90_000, 2020, 3))[0]
                .errors
                .in_errors,
            Some(0.3)
        );
        let rates = tracker.step(&on_fast_ethernet(100_000, 3020, 1));
        assert_eq!(rates[0].in_bps, 800.0);
        assert_eq!(rates[0].errors.in_errors, None, "cleared: no rate");
        assert_eq!(rates[0].errors.out_errors, Some(0.0));
    }

    #[test]
    fn cached_readings_give_their_errors_the_rate_the_next_fresh_one_gives() {
        let mut tracker = RateTracker::default();
        let at = |t: u64, octets: u64, errors: u32| {
            with_errors(
                sample(t, &[(1, "eth0", octets, octets)]),
                1,
                [errors, 0, 0, 0],
            )
        };
        tracker.step(&at(0, 0, 0));
        tracker.step(&at(1000, 100, 4));
        // Cached for two readings, then 6 s of movement at once.
        assert!(tracker.step_all(&at(2000, 100, 4)).cached);
        assert!(tracker.step_all(&at(3000, 100, 4)).cached);
        let rates = tracker.step(&at(4000, 400, 10));
        assert_eq!(
            rates
                .iter()
                .map(|r| (r.time_ms, r.errors.in_errors))
                .collect::<Vec<_>>(),
            [(2000, Some(2.0)), (3000, Some(2.0)), (4000, Some(2.0))]
        );
    }

    #[test]
    fn extra_oids_give_values_and_counter_rates_in_time_order() {
        let mut tracker = RateTracker::default();
        let gauge = "1.3.6.1.4.1.2021.10.1.5.1";
        let counter = "1.3.6.1.2.1.4.3.0";
        let at = |t: u64, octets: u64, load: i64, packets: u64| {
            let s = sample(t, &[(1, "eth0", octets, octets)]);
            let s = with_value(s, gauge, SnmpValue::Integer(load));
            let s = with_value(s, counter, SnmpValue::Counter64(packets));
            with_value(s, "1.3.6.1.2.1.1.5.0", SnmpValue::OctetString("r1".into()))
        };
        let values = |step: &Stepped| -> Vec<(u64, String, f64)> {
            step.oids
                .iter()
                .map(|v| (v.time_ms, v.oid.to_string(), v.value))
                .collect()
        };
        // The first reading: the gauge; no counter rate yet, and no string.
        let first = tracker.step_all(&at(0, 0, 7, 100));
        assert_eq!(values(&first), [(0, gauge.to_owned(), 7.0)]);
        assert_eq!(first.oids[0].kind, "integer");
        let second = tracker.step_all(&at(1000, 100, 8, 150));
        assert_eq!(values(&second)[1], (1000, counter.to_owned(), 50.0));
        assert_eq!(second.oids[1].kind, "counter64");
        // A cached reading holds its values back until the counters move again.
        let cached = tracker.step_all(&at(2000, 100, 9, 250));
        assert!(cached.cached && cached.oids.is_empty());
        let fresh = tracker.step_all(&at(3000, 400, 10, 270));
        assert_eq!(
            values(&fresh),
            [
                (2000, gauge.to_owned(), 9.0),
                (2000, counter.to_owned(), 100.0),
                (3000, gauge.to_owned(), 10.0),
                (3000, counter.to_owned(), 20.0),
            ]
        );
        // The agent rebooted: no counter rate across it; the gauge still has its value.
        let mut rebooted = at(4000, 5, 11, 3);
        rebooted.uptime_ticks = Some(1);
        let after = values(&tracker.step_all(&rebooted));
        assert!(after.iter().all(|v| v.1 != counter), "{after:?}");
        assert!(after.contains(&(4000, gauge.to_owned(), 11.0)));

        // Rolled up, in time order, with the rates: every value lands in its period.
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
