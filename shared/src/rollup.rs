//! Rates per interface and their rollups, as RRD-based tools keep them: per period (one
//! minute, five minutes, one hour) and interface, the min, average and max of the rates whose
//! step ended in the period and how many there were. The recorder writes them; history queries
//! over long ranges read them instead of the raw samples.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::history::Spread;
use crate::messages::Sample;
use crate::rate::{bits_per_second, Gap, Reading};

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

    /// Everything this sample gives: its rates, its gaps, and whether it was a cached
    /// reading. A sample not later than the previous one is ignored.
    pub fn step_all(&mut self, sample: &Sample) -> Stepped {
        let counters = sample.interface_counters();
        let state = &mut self.device;
        let mut out = Stepped::default();
        let (previous_ms, unchanged) = match &state.previous {
            Some((time, _)) if *time >= sample.time_ms => return out,
            Some((time, before)) => (Some(*time), *before == counters),
            None => (None, false),
        };
        if counters.is_empty() {
            // No counters: nothing to rate, nothing cached.
            state.previous = Some((sample.time_ms, counters));
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
        state.anchor_ms = sample.time_ms;
        state.anchor_fresh = previous_ms.is_some();
        for now in &counters {
            let polled = sample.interfaces.iter().find(|p| p.index == now.index);
            let key = polled.map_or_else(|| format!("#{}", now.index), |p| p.key.clone());
            let speed = polled.map_or(0, |p| p.speed_bps);
            let reading = LastReading {
                time_ms: sample.time_ms,
                uptime_ticks: sample.uptime_ticks,
                in_octets: now.in_octets,
                out_octets: now.out_octets,
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
                    let times = pending.iter().filter(|&&t| t > before.time_ms);
                    for &time_ms in times.chain([&sample.time_ms]) {
                        out.rates.push(InterfaceRate {
                            index: now.index,
                            key: key.clone(),
                            time_ms,
                            in_bps,
                            out_bps,
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
            engine_id: Default::default(),
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
