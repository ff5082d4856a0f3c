//! A device's samples in, its rates out: the [`RateTracker`] gives each interface's bits per
//! second between consecutive samples, with its errors and discards per second and the values
//! (or rates) of the device's numeric extra OIDs, minding agents that cache their counters.
//! The recorder rolls these rates up; the gateway and the alerter show and judge them.

use std::collections::{HashMap, VecDeque};

use crate::history::ErrorCounters;
use crate::messages::Sample;
use crate::rate::{bits_per_second, packets_per_second, per_second, Gap, Reading};
use crate::snmp::Oid;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_samples::{sample, with_errors, with_extra_oids, COUNTER_OID, GAUGE_OID};

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
        let (gauge, counter, at) = (GAUGE_OID, COUNTER_OID, with_extra_oids);
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
    }
}
