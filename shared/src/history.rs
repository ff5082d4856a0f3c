//! History queries: the request the gateway sends the recorder on `netpulse.history.<device>`,
//! the answer, and the pure math behind it (rates per step, downsampling with min/avg/max,
//! the 95th percentile).

use serde::{Deserialize, Serialize};

use crate::device::DeviceId;
use crate::interfaces::InterfaceRef;
use crate::messages::Sample;
use crate::rollup::{RateTracker, Resolution};

fn schema_version() -> u32 {
    crate::messages::SCHEMA_VERSION
}

/// Most points one query may ask for.
pub const MAX_POINTS: usize = 50_000;
/// Most points one NATS answer carries; longer answers come in pages.
pub const PAGE_POINTS: usize = 2_000;

/// A history request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The device.
    pub device: DeviceId,
    /// The interface, by stable key (name) or ifIndex.
    pub interface: InterfaceRef,
    /// Start of the range, Unix milliseconds (inclusive).
    pub from_ms: u64,
    /// End of the range, Unix milliseconds (exclusive).
    pub to_ms: u64,
    /// Most points wanted.
    pub max_points: usize,
    /// The resolution to read; `None` lets the recorder choose (see [`choose_resolution`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// The step to use, milliseconds; `None` lets the recorder choose. Later pages repeat
    /// the resolution and step of the first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_ms: Option<u64>,
    /// Which page of [`PAGE_POINTS`] points to answer, from 0.
    #[serde(default)]
    pub page: usize,
}

/// Min, average and max of the rates in one step, bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Lowest rate.
    pub min: f64,
    /// Mean rate.
    pub avg: f64,
    /// Highest rate.
    pub max: f64,
}

impl Spread {
    /// A single value.
    pub fn one(value: f64) -> Self {
        Self {
            min: value,
            avg: value,
            max: value,
        }
    }
}

/// One step of the answer; `None` where there is no data (a gap stays a gap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// Start of the step, Unix milliseconds.
    pub time_ms: u64,
    /// Received bits per second.
    pub in_bps: Option<Spread>,
    /// Sent bits per second.
    pub out_bps: Option<Spread>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HistoryAnswer {
    /// The series (one page of it).
    Series {
        /// Schema version.
        schema: u32,
        /// The resolution read.
        resolution: Resolution,
        /// Width of each step, milliseconds.
        step_ms: u64,
        /// How many pages the whole series takes.
        pages: usize,
        /// The points of this page, oldest first.
        points: Vec<HistoryPoint>,
        /// 95th percentile of the received rates over the range, bits per second (first
        /// page only).
        p95_in_bps: Option<f64>,
        /// 95th percentile of the sent rates over the range, bits per second (first page
        /// only).
        p95_out_bps: Option<f64>,
    },
    /// The query could not be answered.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A device deleted with its history kept: the gateway's label for that history, in the
/// key-value bucket `netpulse_removed` under the device id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedDevice {
    /// The device id its history is filed under.
    pub id: DeviceId,
    /// Its name.
    pub name: String,
    /// Its SNMP address.
    pub address: String,
    /// When it was deleted, Unix milliseconds.
    pub removed_ms: u64,
    /// The interfaces it was polling, to choose from in its history.
    pub interfaces: Vec<RemovedInterface>,
}

/// One interface of a removed device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedInterface {
    /// ifIndex when it was last discovered.
    pub index: u32,
    /// Stable key (ifName, else ifDescr).
    pub key: String,
}

/// The recorder's answer to a purge request on `netpulse.purge.<device>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PurgeAnswer {
    /// Every file of the device's history is deleted.
    Done,
    /// Not done.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One measured rate: when the step ended and its in/out bits per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// End of the step (the later sample), Unix milliseconds.
    pub time_ms: u64,
    /// Received bits per second.
    pub in_bps: f64,
    /// Sent bits per second.
    pub out_bps: f64,
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
    let mut tracker = RateTracker::default();
    samples
        .iter()
        .flat_map(|s| tracker.step(s))
        .filter(|r| matches(interface, r.index, &r.key))
        .map(|r| Rate {
            time_ms: r.time_ms,
            in_bps: r.in_bps,
            out_bps: r.out_bps,
        })
        .collect()
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
}

impl From<&Rate> for Entry {
    fn from(rate: &Rate) -> Self {
        Self {
            time_ms: rate.time_ms,
            count: 1,
            in_bps: Spread::one(rate.in_bps),
            out_bps: Spread::one(rate.out_bps),
        }
    }
}

/// Entries merged per period of `period_ms` (each at its period's start), as a rollup of
/// that period would hold them: min of the mins, max of the maxes, average weighted by count.
/// Entries must be in time order.
pub fn merge_periods(entries: &[Entry], period_ms: u64) -> Vec<Entry> {
    let period = period_ms.max(1);
    let mut out: Vec<(Entry, f64, f64)> = Vec::new();
    for e in entries {
        let start = e.time_ms - e.time_ms % period;
        let weight = f64::from(e.count);
        match out.last_mut() {
            Some((m, in_sum, out_sum)) if m.time_ms == start => {
                m.count += e.count;
                m.in_bps.min = m.in_bps.min.min(e.in_bps.min);
                m.in_bps.max = m.in_bps.max.max(e.in_bps.max);
                m.out_bps.min = m.out_bps.min.min(e.out_bps.min);
                m.out_bps.max = m.out_bps.max.max(e.out_bps.max);
                *in_sum += e.in_bps.avg * weight;
                *out_sum += e.out_bps.avg * weight;
            }
            _ => out.push((
                Entry {
                    time_ms: start,
                    ..*e
                },
                e.in_bps.avg * weight,
                e.out_bps.avg * weight,
            )),
        }
    }
    out.into_iter()
        .map(|(mut m, in_sum, out_sum)| {
            let n = f64::from(m.count.max(1));
            m.in_bps.avg = in_sum / n;
            m.out_bps.avg = out_sum / n;
            m
        })
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

    /// The points of steps `first..first + len`, each aggregating the entries in it:
    /// min of the mins, max of the maxes, the average weighted by count. Steps without
    /// entries are gaps.
    pub fn points(&self, entries: &[Entry], first: usize, len: usize) -> Vec<HistoryPoint> {
        let len = len.min(self.count.saturating_sub(first));
        let mut acc: Vec<Option<(Spread, Spread, u64)>> = vec![None; len];
        for entry in entries
            .iter()
            .filter(|e| e.time_ms >= self.start_ms && e.time_ms < self.to_ms)
        {
            let slot = usize::try_from((entry.time_ms - self.start_ms) / self.step_ms)
                .unwrap_or(usize::MAX)
                .wrapping_sub(first);
            let Some(cell) = acc.get_mut(slot) else {
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
                    ));
                }
                Some((i, o, n)) => {
                    for (spread, e) in [(&mut *i, entry.in_bps), (&mut *o, entry.out_bps)] {
                        spread.min = spread.min.min(e.min);
                        spread.max = spread.max.max(e.max);
                        spread.avg += e.avg * weight; // a weighted sum until the end
                    }
                    *n += u64::from(entry.count);
                }
            }
        }
        acc.into_iter()
            .enumerate()
            .map(|(k, cell)| {
                let time_ms = self.start_ms + (first + k) as u64 * self.step_ms;
                match cell {
                    None => HistoryPoint {
                        time_ms,
                        in_bps: None,
                        out_bps: None,
                    },
                    Some((mut i, mut o, n)) => {
                        let n = n.max(1) as f64;
                        i.avg /= n;
                        o.avg /= n;
                        HistoryPoint {
                            time_ms,
                            in_bps: Some(i),
                            out_bps: Some(o),
                        }
                    }
                }
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
    let mut gaps: Vec<u64> = entries
        .windows(2)
        .map(|w| w[1].time_ms.saturating_sub(w[0].time_ms))
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
    fn downsampling_keeps_spikes_and_gaps() {
        let rate = |t: u64, v: f64| Rate {
            time_ms: t,
            in_bps: v,
            out_bps: v / 2.0,
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
            let mut rates: Vec<Rate> = values.iter().map(|&(t, v)| Rate { time_ms: t, in_bps: v, out_bps: v }).collect();
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
            values in prop::collection::vec((1u64..40_000, 0.0f64..1e9), 1..400),
            resolution in prop::sample::select(Resolution::ROLLUPS.to_vec()),
            max_points in 1usize..40,
        ) {
            let mut time = 1_764_288_000_000u64;
            let rates: Vec<crate::rollup::InterfaceRate> = values
                .iter()
                .map(|&(gap, v)| {
                    time += gap;
                    crate::rollup::InterfaceRate { index: 1, key: "eth0".into(), time_ms: time, in_bps: v, out_bps: v / 3.0 }
                })
                .collect();
            let mut roller = crate::rollup::Roller::new(resolution, 0);
            let mut lines: Vec<crate::rollup::RollupLine> = rates.iter().filter_map(|r| roller.push(r)).collect();
            lines.extend(roller.close());
            let rolled: Vec<Entry> = lines
                .iter()
                .flat_map(|l| l.interfaces.iter().map(|i| Entry { time_ms: l.time_ms, count: i.count, in_bps: i.in_bps, out_bps: i.out_bps }))
                .collect();
            let raw: Vec<Entry> = rates.iter().map(|r| Entry::from(&Rate { time_ms: r.time_ms, in_bps: r.in_bps, out_bps: r.out_bps })).collect();
            let from = rates[0].time_ms;
            let plan = Plan::new(from, time + 1, max_points, resolution.period_ms(), 1);
            prop_assert!(plan.count <= max_points);
            let (a, b) = (plan.points(&rolled, 0, plan.count), plan.points(&raw, 0, plan.count));
            prop_assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                prop_assert_eq!(x.time_ms, y.time_ms);
                match (x.in_bps, y.in_bps) {
                    (None, None) => {}
                    (Some(p), Some(q)) => {
                        prop_assert_eq!((p.min, p.max), (q.min, q.max));
                        prop_assert!((p.avg - q.avg).abs() <= q.avg.abs() * 1e-9 + 1e-6);
                    }
                    _ => prop_assert!(false, "a gap in one answer only"),
                }
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
