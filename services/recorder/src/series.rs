//! The math behind a history answer: an interface's rates per step from raw samples, steps
//! merged into periods, the plan of an answer's steps and pages, downsampling with min, average
//! and max, the resolution to read, and the 95th percentile.

use netpulse_shared::history::{
    ErrorCounters, HistoryPoint, OidPoint, Resolution, Spread, MAX_POINTS, PAGE_POINTS,
};
use netpulse_shared::interfaces::InterfaceRef;
use netpulse_shared::messages::Sample;
use netpulse_shared::snmp::Oid;
use netpulse_shared::tracker::{OidValue, RateTracker};

use crate::roller::{mean_within, Aggregate, Tally};

fn finish_errors(tallies: &[Tally; 4]) -> ErrorCounters<Aggregate> {
    ErrorCounters::from_array(tallies.map(|t| t.finish()))
}

fn tallies(errors: &ErrorCounters<Aggregate>) -> [Tally; 4] {
    errors.to_array().map(|value| {
        let mut tally = Tally::default();
        if let Some(value) = value {
            tally.add(&value);
        }
        tally
    })
}

fn add_errors(tallies: &mut [Tally; 4], errors: &ErrorCounters<Aggregate>) {
    for (tally, value) in tallies.iter_mut().zip(errors.to_array()) {
        if let Some(value) = value {
            tally.add(&value);
        }
    }
}

/// True for the SNMP types whose series is a rate per second.
pub fn is_counter_type(kind: &str) -> bool {
    matches!(kind, "counter32" | "counter64")
}

/// One measured rate: when the step ended, its in/out bits per second, and its errors and
/// discards per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// End of the step (the later sample), Unix milliseconds.
    pub time_ms: u64,
    /// Received bits per second.
    pub in_bps: f64,
    /// Sent bits per second.
    pub out_bps: f64,
    /// Errors and discards per second.
    pub errors: ErrorCounters<f64>,
}

/// True when `rate` belongs to the interface a query names.
pub fn matches(interface: &InterfaceRef, index: u32, key: &str) -> bool {
    match interface {
        InterfaceRef::Index(n) => index == *n,
        InterfaceRef::Name(name) => key == name,
    }
}

/// The rates of one interface between consecutive samples (in time order). A step whose
/// counters cannot give a rate (restart, reset) is left out: a gap.
pub fn rates(samples: &[Sample], interface: &InterfaceRef) -> Vec<Rate> {
    series(samples, Some(interface), &[]).0
}

/// From samples in time order, as the rollups see them: the rates of `interface` (none
/// without one) and the values of the extra OIDs in `oids` (see [`OidValue`]), in time order.
pub fn series(
    samples: &[Sample],
    interface: Option<&InterfaceRef>,
    oids: &[Oid],
) -> (Vec<Rate>, Vec<OidValue>) {
    let mut tracker = RateTracker::default();
    let (mut rates, mut values) = (Vec::new(), Vec::new());
    for sample in samples {
        let step = tracker.step_all(sample);
        if let Some(interface) = interface {
            rates.extend(
                step.rates
                    .iter()
                    .filter(|r| matches(interface, r.index, &r.key))
                    .map(|r| Rate {
                        time_ms: r.time_ms,
                        in_bps: r.in_bps,
                        out_bps: r.out_bps,
                        errors: r.errors,
                    }),
            );
        }
        values.extend(step.oids.into_iter().filter(|v| oids.contains(&v.oid)));
    }
    (rates, values)
}

/// What a history answer is built from: one raw rate (count 1) or one rollup period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// When: the rate's time, or the period's start. Unix milliseconds.
    pub time_ms: u64,
    /// How many rates it stands for.
    pub count: u32,
    /// Received bits per second.
    pub in_bps: Spread,
    /// Sent bits per second.
    pub out_bps: Spread,
    /// Errors and discards per second, each with its own count.
    pub errors: ErrorCounters<Aggregate>,
}

impl From<&Rate> for Entry {
    fn from(rate: &Rate) -> Self {
        Self {
            time_ms: rate.time_ms,
            count: 1,
            in_bps: Spread::one(rate.in_bps),
            out_bps: Spread::one(rate.out_bps),
            errors: rate.errors.map(Aggregate::one),
        }
    }
}

/// One value of an extra OID's series (count 1), or its aggregate over one rollup period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OidEntry {
    /// When: the value's time, or the period's start. Unix milliseconds.
    pub time_ms: u64,
    /// The values it stands for.
    pub value: Aggregate,
}

/// Entries merged per period of `period_ms` (each at its period's start), as a rollup of
/// that period would hold them: min of the mins, max of the maxes, average weighted by count.
/// Entries must be in time order.
pub fn merge_periods(entries: &[Entry], period_ms: u64) -> Vec<Entry> {
    let period = period_ms.max(1);
    let mut out: Vec<(Entry, f64, f64, [Tally; 4])> = Vec::new();
    for e in entries {
        let start = e.time_ms - e.time_ms % period;
        let weight = f64::from(e.count);
        match out.last_mut() {
            Some((m, in_sum, out_sum, errors)) if m.time_ms == start => {
                m.count += e.count;
                m.in_bps.min = m.in_bps.min.min(e.in_bps.min);
                m.in_bps.max = m.in_bps.max.max(e.in_bps.max);
                m.out_bps.min = m.out_bps.min.min(e.out_bps.min);
                m.out_bps.max = m.out_bps.max.max(e.out_bps.max);
                *in_sum += e.in_bps.avg * weight;
                *out_sum += e.out_bps.avg * weight;
                add_errors(errors, &e.errors);
            }
            _ => out.push((
                Entry {
                    time_ms: start,
                    ..*e
                },
                e.in_bps.avg * weight,
                e.out_bps.avg * weight,
                tallies(&e.errors),
            )),
        }
    }
    out.into_iter()
        .map(|(mut m, in_sum, out_sum, errors)| {
            let n = f64::from(m.count.max(1));
            m.in_bps.avg = mean_within(in_sum, n, m.in_bps.min, m.in_bps.max);
            m.out_bps.avg = mean_within(out_sum, n, m.out_bps.min, m.out_bps.max);
            m.errors = finish_errors(&errors);
            m
        })
        .collect()
}

/// OID entries merged per period of `period_ms`, as [`merge_periods`] merges rates.
pub fn merge_oid_periods(entries: &[OidEntry], period_ms: u64) -> Vec<OidEntry> {
    let period = period_ms.max(1);
    let mut out: Vec<(u64, Tally)> = Vec::new();
    for e in entries {
        let start = e.time_ms - e.time_ms % period;
        match out.last_mut() {
            Some((time, tally)) if *time == start => tally.add(&e.value),
            _ => {
                let mut tally = Tally::default();
                tally.add(&e.value);
                out.push((start, tally));
            }
        }
    }
    out.into_iter()
        .filter_map(|(time_ms, tally)| tally.finish().map(|value| OidEntry { time_ms, value }))
        .collect()
}

/// The steps of an answer: `count` steps of `step_ms` from `start_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Start of the first step (the range's start, aligned down to the resolution).
    pub start_ms: u64,
    /// End of the range.
    pub to_ms: u64,
    /// Width of a step: a multiple of the resolution's period.
    pub step_ms: u64,
    /// How many steps.
    pub count: usize,
}

impl Plan {
    /// At most `max_points` steps over `[from_ms, to_ms)`, each a multiple of `align_ms` and
    /// at least `min_step_ms` wide.
    pub fn new(
        from_ms: u64,
        to_ms: u64,
        max_points: usize,
        align_ms: u64,
        min_step_ms: u64,
    ) -> Self {
        let align = align_ms.max(1);
        let start_ms = from_ms - from_ms % align;
        let span = to_ms.saturating_sub(start_ms).max(1);
        let points = max_points.clamp(1, MAX_POINTS) as u64;
        let step_ms = span
            .div_ceil(points)
            .max(min_step_ms)
            .max(1)
            .div_ceil(align)
            * align;
        Self::with_step(start_ms, to_ms, step_ms)
    }

    /// Steps of a given width from `start_ms`.
    pub fn with_step(start_ms: u64, to_ms: u64, step_ms: u64) -> Self {
        let step_ms = step_ms.max(1);
        let count = usize::try_from(to_ms.saturating_sub(start_ms).max(1).div_ceil(step_ms))
            .unwrap_or(usize::MAX);
        Self {
            start_ms,
            to_ms,
            step_ms,
            count,
        }
    }

    /// How many pages of [`PAGE_POINTS`] the steps take.
    pub fn pages(&self) -> usize {
        self.count.div_ceil(PAGE_POINTS).max(1)
    }

    /// The time span of one page: `[from, to)`.
    pub fn page_span(&self, page: usize) -> (u64, u64) {
        let first = (page * PAGE_POINTS) as u64;
        let from = self
            .start_ms
            .saturating_add(first.saturating_mul(self.step_ms));
        let to = from
            .saturating_add(PAGE_POINTS as u64 * self.step_ms)
            .min(self.to_ms);
        (from, to.max(from))
    }

    /// The slot among steps `first..` of an entry at `time_ms`, if it falls in the plan.
    fn slot(&self, time_ms: u64, first: usize) -> Option<usize> {
        if time_ms < self.start_ms || time_ms >= self.to_ms {
            return None;
        }
        usize::try_from((time_ms - self.start_ms) / self.step_ms)
            .ok()?
            .checked_sub(first)
    }

    /// The start of step `first + k`.
    fn step_start(&self, first: usize, k: usize) -> u64 {
        self.start_ms + (first + k) as u64 * self.step_ms
    }

    /// The points of steps `first..first + len`, each aggregating the entries in it:
    /// min of the mins, max of the maxes, the average weighted by count. Steps without
    /// entries are gaps.
    pub fn points(&self, entries: &[Entry], first: usize, len: usize) -> Vec<HistoryPoint> {
        let len = len.min(self.count.saturating_sub(first));
        type Cell = (Spread, Spread, u64, [Tally; 4]);
        let mut acc: Vec<Option<Cell>> = vec![None; len];
        for entry in entries {
            let Some(cell) = self.slot(entry.time_ms, first).and_then(|k| acc.get_mut(k)) else {
                continue;
            };
            let weight = f64::from(entry.count);
            match cell {
                None => {
                    let sum = |s: Spread| Spread {
                        avg: s.avg * weight,
                        ..s
                    };
                    *cell = Some((
                        sum(entry.in_bps),
                        sum(entry.out_bps),
                        u64::from(entry.count),
                        tallies(&entry.errors),
                    ));
                }
                Some((i, o, n, errors)) => {
                    for (spread, e) in [(&mut *i, entry.in_bps), (&mut *o, entry.out_bps)] {
                        spread.min = spread.min.min(e.min);
                        spread.max = spread.max.max(e.max);
                        spread.avg += e.avg * weight; // a weighted sum until the end
                    }
                    *n += u64::from(entry.count);
                    add_errors(errors, &entry.errors);
                }
            }
        }
        acc.into_iter()
            .enumerate()
            .map(|(k, cell)| {
                let time_ms = self.step_start(first, k);
                match cell {
                    None => HistoryPoint {
                        time_ms,
                        in_bps: None,
                        out_bps: None,
                        errors: ErrorCounters::default(),
                    },
                    Some((mut i, mut o, n, errors)) => {
                        let n = n.max(1) as f64;
                        i.avg = mean_within(i.avg, n, i.min, i.max);
                        o.avg = mean_within(o.avg, n, o.min, o.max);
                        HistoryPoint {
                            time_ms,
                            in_bps: Some(i),
                            out_bps: Some(o),
                            errors: finish_errors(&errors).map(|a| a.spread()),
                        }
                    }
                }
            })
            .collect()
    }

    /// One OID's points of steps `first..first + len`, aggregated as [`Plan::points`].
    pub fn oid_points(&self, entries: &[OidEntry], first: usize, len: usize) -> Vec<OidPoint> {
        let len = len.min(self.count.saturating_sub(first));
        let mut acc = vec![Tally::default(); len];
        for entry in entries {
            if let Some(tally) = self.slot(entry.time_ms, first).and_then(|k| acc.get_mut(k)) {
                tally.add(&entry.value);
            }
        }
        acc.iter()
            .enumerate()
            .map(|(k, tally)| OidPoint {
                time_ms: self.step_start(first, k),
                value: tally.finish().map(|a| a.spread()),
            })
            .collect()
    }
}

/// Groups rates into at most `max_points` equal steps over `[from_ms, to_ms)`, each with
/// min/avg/max; steps without rates are gaps. Returns the step width and the points.
pub fn downsample(
    rates: &[Rate],
    from_ms: u64,
    to_ms: u64,
    max_points: usize,
) -> (u64, Vec<HistoryPoint>) {
    let plan = Plan::new(from_ms, to_ms, max_points, 1, 1);
    let entries: Vec<Entry> = rates.iter().map(Entry::from).collect();
    (plan.step_ms, plan.points(&entries, 0, plan.count))
}

/// The typical time between entries: the median gap between consecutive distinct times
/// (`None` with fewer than two).
pub fn typical_spacing(entries: &[Entry]) -> Option<u64> {
    typical_gap(&entries.iter().map(|e| e.time_ms).collect::<Vec<_>>())
}

/// The median gap between consecutive distinct times, in time order (`None` with fewer than
/// two).
pub fn typical_gap(times: &[u64]) -> Option<u64> {
    let mut gaps: Vec<u64> = times
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|g| *g > 0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    Some(gaps[gaps.len() / 2])
}

/// How long each resolution is kept, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// Raw samples.
    pub raw_ms: u64,
    /// One-minute rollups.
    pub minute_ms: u64,
    /// Five-minute rollups.
    pub five_minutes_ms: u64,
    /// One-hour rollups.
    pub hour_ms: u64,
}

impl Kept {
    /// How long `resolution` is kept.
    pub fn of(&self, resolution: Resolution) -> u64 {
        match resolution {
            Resolution::Raw => self.raw_ms,
            Resolution::Minute => self.minute_ms,
            Resolution::FiveMinutes => self.five_minutes_ms,
            Resolution::Hour => self.hour_ms,
        }
    }
}

/// The resolution to answer a query from: of those still kept back to `from_ms`, the
/// coarsest whose period fits in one step of the answer (so reading it loses nothing the
/// chart could show), else the finest kept; when none reaches back that far, the one kept
/// longest.
pub fn choose_resolution(
    from_ms: u64,
    to_ms: u64,
    max_points: usize,
    kept: &Kept,
    now_ms: u64,
) -> Resolution {
    let step = to_ms
        .saturating_sub(from_ms)
        .div_ceil(max_points.clamp(1, MAX_POINTS) as u64);
    let covering: Vec<Resolution> = Resolution::ALL
        .into_iter()
        .filter(|r| from_ms >= now_ms.saturating_sub(kept.of(*r)))
        .collect();
    if covering.is_empty() {
        return Resolution::ALL
            .into_iter()
            .max_by_key(|r| kept.of(*r))
            .unwrap_or(Resolution::Hour);
    }
    covering
        .iter()
        .rev()
        .find(|r| r.period_ms() <= step)
        .copied()
        .unwrap_or(covering[0])
}

/// The 95th percentile as transit billing computes it: sort the rates, drop the top 5%,
/// take the highest left (`None` without data).
pub fn percentile95(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (sorted.len() as f64 * 0.95).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentile_of_known_series() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile95(&hundred), Some(95.0));
        assert_eq!(percentile95(&[7.0]), Some(7.0));
        assert_eq!(percentile95(&[]), None);
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(
            percentile95(&twenty),
            Some(19.0),
            "the top 5% (one value) is dropped"
        );
    }

    #[test]
    fn the_coarsest_resolution_that_loses_nothing_is_read() {
        let kept = Kept {
            raw_ms: 2 * DAY,
            minute_ms: 7 * DAY,
            five_minutes_ms: 90 * DAY,
            hour_ms: 730 * DAY,
        };
        let now = 1_764_288_000_000;
        let choose = |span: u64, points| choose_resolution(now - span, now, points, &kept, now);
        assert_eq!(choose(900_000, 1000), Resolution::Raw, "live 15 min");
        assert_eq!(
            choose(6 * 3_600_000, 1000),
            Resolution::Raw,
            "6 h: 21.6 s steps"
        );
        assert_eq!(choose(DAY, 1000), Resolution::Minute, "24 h: 86 s steps");
        assert_eq!(choose(7 * DAY, 1000), Resolution::FiveMinutes);
        assert_eq!(choose(30 * DAY, 1000), Resolution::FiveMinutes);
        assert_eq!(choose(30 * DAY, 500), Resolution::Hour, "86 min steps");
        assert_eq!(choose(365 * DAY, 1000), Resolution::Hour);
        assert_eq!(
            choose(3 * DAY, 50_000),
            Resolution::Minute,
            "raw is gone by then"
        );
        assert_eq!(
            choose(1000 * DAY, 10),
            Resolution::Hour,
            "older than anything kept"
        );
        let plan = Plan::new(now - 30 * DAY, now, 43_200, 60_000, 1);
        assert_eq!(
            (plan.step_ms, plan.count, plan.pages()),
            (60_000, 43_200, 22)
        );
        assert_eq!(plan.page_span(21).1, now);
    }

    const DAY: u64 = 86_400_000;

    #[test]
    fn series_gives_the_interfaces_rates_with_errors_and_the_oids_asked_for() {
        use netpulse_shared::device::DeviceId;
        use netpulse_shared::messages::{PolledInterface, SnmpValue, VarBind};
        let oid = |text: &str| Oid::parse(text).expect("oid");
        let sample = |n: u64| {
            let vb = |text: &str, value| VarBind {
                oid: oid(text),
                value,
            };
            let c32 = |v: u64| SnmpValue::Counter32(u32::try_from(v).expect("fits"));
            let ticks = u32::try_from(n * 1000).expect("ticks");
            Sample::from_answers(
                n.to_string(),
                DeviceId::parse("d").expect("id"),
                n * 10_000,
                Some(ticks),
                vec![
                    vb("1.3.6.1.2.1.1.3.0", SnmpValue::Timeticks(ticks)),
                    vb("1.3.6.1.2.1.31.1.1.1.6.1", SnmpValue::Counter64(n * 12_500)),
                    vb("1.3.6.1.2.1.31.1.1.1.10.1", SnmpValue::Counter64(n * 1250)),
                    vb("1.3.6.1.2.1.2.2.1.14.1", c32(n * 20)),
                    vb("1.3.6.1.2.1.2.2.1.20.1", c32(0)),
                    vb("1.3.6.1.2.1.2.2.1.13.1", c32(0)),
                    vb("1.3.6.1.2.1.2.2.1.19.1", c32(n)),
                    vb(
                        "1.3.6.1.4.1.2021.4.6.0",
                        SnmpValue::Integer(n as i64 * 1000),
                    ),
                ],
                &[PolledInterface {
                    index: 1,
                    key: "eth0".into(),
                    speed_bps: 0,
                }],
            )
        };
        let samples: Vec<Sample> = (0..5).map(sample).collect();
        let memory = oid("1.3.6.1.4.1.2021.4.6.0");
        let eth0 = InterfaceRef::Index(1);
        let (rates, values) = series(&samples, Some(&eth0), std::slice::from_ref(&memory));
        assert_eq!(rates.len(), 3, "none from the first reading");
        for rate in &rates {
            assert_eq!((rate.in_bps, rate.out_bps), (10_000.0, 1000.0));
            assert_eq!(
                rate.errors.to_array(),
                [Some(2.0), Some(0.0), Some(0.0), Some(0.1)]
            );
        }
        assert_eq!(
            values
                .iter()
                .map(|v| (v.time_ms, v.value))
                .collect::<Vec<_>>(),
            (0..5)
                .map(|n| (n * 10_000, (n * 1000) as f64))
                .collect::<Vec<_>>()
        );
        assert!(values
            .iter()
            .all(|v| v.oid == memory && v.kind == "integer"));
        // OIDs only; nothing asked, nothing given.
        let (rates, values) = series(&samples, None, &[]);
        assert!(rates.is_empty() && values.is_empty());
        // Raw values merged per period as their rollup holds them.
        let entries: Vec<OidEntry> = [(0, 1.0), (30_000, 3.0), (61_000, 5.0)]
            .iter()
            .map(|&(time_ms, v)| OidEntry {
                time_ms,
                value: Aggregate::one(v),
            })
            .collect();
        let merged = merge_oid_periods(&entries, 60_000);
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[0].value,
            Aggregate {
                count: 2,
                min: 1.0,
                avg: 2.0,
                max: 3.0
            }
        );
        assert_eq!((merged[1].time_ms, merged[1].value.count), (60_000, 1));
    }

    #[test]
    fn downsampling_keeps_spikes_and_gaps() {
        let rate = |t: u64, v: f64| Rate {
            time_ms: t,
            in_bps: v,
            out_bps: v / 2.0,
            errors: ErrorCounters::default(),
        };
        let rates = [
            rate(0, 10.0),
            rate(500, 1000.0),
            rate(999, 20.0),
            rate(3000, 5.0),
        ];
        let (step, points) = downsample(&rates, 0, 4000, 4);
        assert_eq!(step, 1000);
        assert_eq!(points.len(), 4);
        let first = points[0].in_bps.expect("data");
        assert_eq!((first.min, first.max), (10.0, 1000.0));
        assert!((first.avg - 343.333).abs() < 0.01);
        assert_eq!(points[1].in_bps, None, "a gap stays a gap");
        assert_eq!(points[3].out_bps.map(|s| s.max), Some(2.5));
    }

    proptest! {
        /// Downsampled points agree with a brute-force pass over the raw rates.
        #[test]
        fn downsampling_matches_brute_force(values in prop::collection::vec((0u64..100_000, 0.0f64..1e9), 0..300), max_points in 1usize..50) {
            let mut rates: Vec<Rate> = values.iter().map(|&(t, v)| Rate { time_ms: t, in_bps: v, out_bps: v, errors: ErrorCounters::default() }).collect();
            rates.sort_by_key(|r| r.time_ms);
            let (step, points) = downsample(&rates, 0, 100_000, max_points);
            prop_assert!(points.len() <= max_points);
            for point in &points {
                let inside: Vec<f64> = rates.iter().filter(|r| r.time_ms >= point.time_ms && r.time_ms < point.time_ms + step).map(|r| r.in_bps).collect();
                match point.in_bps {
                    None => prop_assert!(inside.is_empty()),
                    Some(s) => {
                        let min = inside.iter().copied().fold(f64::INFINITY, f64::min);
                        let max = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let avg = inside.iter().sum::<f64>() / inside.len() as f64;
                        prop_assert_eq!((s.min, s.max), (min, max));
                        prop_assert!((s.avg - avg).abs() <= avg.abs() * 1e-9 + 1e-6);
                    }
                }
            }
        }

        /// Answering from rollups gives what the raw rates give for the same steps: the
        /// recorder may read either.
        #[test]
        fn rollup_answers_match_raw_answers(
            values in prop::collection::vec((1u64..40_000, 0.0f64..1e9, prop::option::of(0.0f64..1e4)), 1..400),
            resolution in prop::sample::select(Resolution::ROLLUPS.to_vec()),
            max_points in 1usize..40,
        ) {
            use crate::roller::{Roller, RollupLine};
            use netpulse_shared::tracker::InterfaceRate;
            let uptime = Oid::parse("1.3.6.1.2.1.1.3.0").expect("oid");
            let mut time = 1_764_288_000_000u64;
            let mut oid_values = Vec::new();
            let rates: Vec<InterfaceRate> = values
                .iter()
                .map(|&(gap, v, errors)| {
                    time += gap;
                    oid_values.push(OidValue { oid: uptime.clone(), time_ms: time, kind: "timeticks", value: v / 7.0 });
                    InterfaceRate {
                        index: 1,
                        key: "eth0".into(),
                        time_ms: time,
                        in_bps: v,
                        out_bps: v / 3.0,
                        // Errors read in some steps only (a device whose setting changed).
                        errors: ErrorCounters { in_errors: errors, out_discards: errors.map(|e| e / 2.0), ..Default::default() },
                    }
                })
                .collect();
            let mut roller = Roller::new(resolution, 0);
            let mut lines: Vec<RollupLine> = Vec::new();
            for (rate, value) in rates.iter().zip(&oid_values) {
                lines.extend(roller.push(rate));
                lines.extend(roller.push_oid(value));
            }
            lines.extend(roller.close());
            // Stored and read back as a rollup file would be.
            let lines: Vec<RollupLine> = lines
                .iter()
                .map(|l| serde_json::from_str(&serde_json::to_string(l).expect("json")).expect("line"))
                .collect();
            let rolled: Vec<Entry> = lines
                .iter()
                .flat_map(|l| l.interfaces.iter().map(|i| Entry { time_ms: l.time_ms, count: i.count, in_bps: i.in_bps, out_bps: i.out_bps, errors: i.errors }))
                .collect();
            let raw: Vec<Entry> = rates.iter().map(|r| Entry::from(&Rate { time_ms: r.time_ms, in_bps: r.in_bps, out_bps: r.out_bps, errors: r.errors })).collect();
            let key = uptime.to_string();
            let rolled_oid: Vec<OidEntry> = lines
                .iter()
                .filter_map(|l| l.oids.get(&key).map(|o| OidEntry { time_ms: l.time_ms, value: o.value }))
                .collect();
            let raw_oid: Vec<OidEntry> = oid_values.iter().map(|v| OidEntry { time_ms: v.time_ms, value: Aggregate::one(v.value) }).collect();
            let from = rates[0].time_ms;
            let plan = Plan::new(from, time + 1, max_points, resolution.period_ms(), 1);
            prop_assert!(plan.count <= max_points);
            let (a, b) = (plan.points(&rolled, 0, plan.count), plan.points(&raw, 0, plan.count));
            let (c, d) = (plan.oid_points(&rolled_oid, 0, plan.count), plan.oid_points(&raw_oid, 0, plan.count));
            prop_assert_eq!(a.len(), b.len());
            prop_assert_eq!(c.len(), a.len());
            prop_assert_eq!(d.len(), a.len());
            let same = |x: Option<Spread>, y: Option<Spread>| match (x, y) {
                (None, None) => Ok(()),
                (Some(p), Some(q)) if (p.min, p.max) == (q.min, q.max)
                    && (p.avg - q.avg).abs() <= q.avg.abs() * 1e-9 + 1e-6 => Ok(()),
                _ => Err(format!("{x:?} against {y:?}")),
            };
            for (((x, y), z), w) in a.iter().zip(&b).zip(&c).zip(&d) {
                prop_assert_eq!(x.time_ms, y.time_ms);
                prop_assert_eq!((z.time_ms, w.time_ms), (x.time_ms, x.time_ms));
                for (p, q) in [(x.in_bps, y.in_bps), (x.out_bps, y.out_bps), (z.value, w.value)]
                    .into_iter()
                    .chain(x.errors.to_array().into_iter().zip(y.errors.to_array()))
                {
                    if let Err(why) = same(p, q) {
                        prop_assert!(false, "{} at {}", why, x.time_ms);
                    }
                }
                prop_assert_eq!(x.errors.out_errors, None);
            }
        }

        /// The percentile equals the brute-force definition.
        #[test]
        fn percentile_matches_brute_force(values in prop::collection::vec(0.0f64..1e9, 1..500)) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let dropped = values.len() - (values.len() as f64 * 0.95).ceil() as usize;
            let kept = &sorted[..sorted.len() - dropped];
            prop_assert_eq!(percentile95(&values), kept.last().copied());
        }
    }
}
