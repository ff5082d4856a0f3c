//! History queries: the request the gateway sends the recorder on `netpulse.history.<device>`,
//! the answer, and the pure math behind it (rates per step, downsampling with min/avg/max,
//! the 95th percentile).

use serde::{Deserialize, Serialize};

use crate::device::DeviceId;
use crate::interfaces::InterfaceRef;
use crate::messages::Sample;
use crate::rate::{bits_per_second, Reading};

fn schema_version() -> u32 {
    crate::messages::SCHEMA_VERSION
}

/// Most points one answer carries.
pub const MAX_POINTS: usize = 5000;

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
    /// The series.
    Series {
        /// Schema version.
        schema: u32,
        /// Width of each step, milliseconds.
        step_ms: u64,
        /// The points, oldest first.
        points: Vec<HistoryPoint>,
        /// 95th percentile of the received rates over the range, bits per second.
        p95_in_bps: Option<f64>,
        /// 95th percentile of the sent rates over the range, bits per second.
        p95_out_bps: Option<f64>,
    },
    /// The query could not be answered.
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

/// The rates of one interface between consecutive samples (in time order). A step whose
/// counters cannot give a rate (restart, reset) is left out: a gap.
pub fn rates(samples: &[Sample], interface: &InterfaceRef) -> Vec<Rate> {
    let mut out = Vec::new();
    let mut previous: Option<(&Sample, crate::messages::InterfaceCounters, u64)> = None;
    for sample in samples {
        let polled = sample.interfaces.iter().find(|i| match interface {
            InterfaceRef::Index(n) => i.index == *n,
            InterfaceRef::Name(name) => i.key == *name,
        });
        let index = match (interface, polled) {
            (_, Some(p)) => p.index,
            (InterfaceRef::Index(n), None) => *n,
            (InterfaceRef::Name(_), None) => continue,
        };
        let speed = polled.map_or(0, |p| p.speed_bps);
        let Some(counters) = sample
            .interface_counters()
            .into_iter()
            .find(|c| c.index == index)
        else {
            continue;
        };
        if let Some((before, then, _)) = previous {
            let reading = |s: &Sample, (value, bits): (u64, u32)| Reading {
                time_ms: s.time_ms,
                uptime_ticks: s.uptime_ticks,
                value,
                bits,
            };
            let inbound = bits_per_second(
                &reading(before, then.in_octets),
                &reading(sample, counters.in_octets),
                speed,
            );
            let outbound = bits_per_second(
                &reading(before, then.out_octets),
                &reading(sample, counters.out_octets),
                speed,
            );
            if let (Ok(in_bps), Ok(out_bps)) = (inbound, outbound) {
                out.push(Rate {
                    time_ms: sample.time_ms,
                    in_bps,
                    out_bps,
                });
            }
        }
        previous = Some((sample, counters, speed));
    }
    out
}

/// Groups rates into at most `max_points` equal steps over `[from_ms, to_ms)`, each with
/// min/avg/max; steps without rates are gaps. Returns the step width and the points.
pub fn downsample(
    rates: &[Rate],
    from_ms: u64,
    to_ms: u64,
    max_points: usize,
) -> (u64, Vec<HistoryPoint>) {
    let span = to_ms.saturating_sub(from_ms).max(1);
    let points = max_points.clamp(1, MAX_POINTS) as u64;
    let step = span.div_ceil(points).max(1);
    let count = usize::try_from(span.div_ceil(step)).unwrap_or(0);
    let mut acc: Vec<Option<(Spread, Spread, u32)>> = vec![None; count];
    for rate in rates
        .iter()
        .filter(|r| r.time_ms >= from_ms && r.time_ms < to_ms)
    {
        let slot = usize::try_from((rate.time_ms - from_ms) / step).unwrap_or(0);
        let Some(cell) = acc.get_mut(slot) else {
            continue;
        };
        match cell {
            None => {
                let one = |v: f64| Spread {
                    min: v,
                    avg: v,
                    max: v,
                };
                *cell = Some((one(rate.in_bps), one(rate.out_bps), 1));
            }
            Some((i, o, n)) => {
                for (spread, v) in [(&mut *i, rate.in_bps), (&mut *o, rate.out_bps)] {
                    spread.min = spread.min.min(v);
                    spread.max = spread.max.max(v);
                    spread.avg += v; // a sum until the end
                }
                *n += 1;
            }
        }
    }
    let out = acc
        .into_iter()
        .enumerate()
        .map(|(k, cell)| {
            let time_ms = from_ms + k as u64 * step;
            match cell {
                None => HistoryPoint {
                    time_ms,
                    in_bps: None,
                    out_bps: None,
                },
                Some((mut i, mut o, n)) => {
                    if n > 1 {
                        i.avg /= f64::from(n);
                        o.avg /= f64::from(n);
                    }
                    HistoryPoint {
                        time_ms,
                        in_bps: Some(i),
                        out_bps: Some(o),
                    }
                }
            }
        })
        .collect();
    (step, out)
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
