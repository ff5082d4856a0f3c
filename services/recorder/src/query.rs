//! Answering history queries from the files: choose the resolution, plan the steps, read
//! what covers the range (one interface's rates with their errors and discards, and the
//! extra OIDs asked for), aggregate, page.

use std::collections::BTreeMap;

use netpulse_shared::device::DeviceId;

use netpulse_shared::history::{
    ErrorCounters, HistoryAnswer, HistoryPoint, HistoryQuery, OidSeries, Resolution, Spread,
    PAGE_POINTS,
};
use netpulse_shared::interfaces::InterfaceRef;
use netpulse_shared::messages::SCHEMA_VERSION;
use netpulse_shared::snmp::Oid;

use crate::roller::Aggregate;
use crate::series::{
    self, choose_resolution, is_counter_type, typical_gap, Entry, Kept, OidEntry, Plan,
};
use crate::store::SampleStore;

/// How far before a range raw samples are read, so its first step has a rate.
const LOOKBACK_MS: u64 = 3_600_000;
/// How far after a range raw samples are read, so readings an agent answered from its cache
/// at the end of the range get the rate the next fresh reading gives them.
const LOOKAHEAD_MS: u64 = 2 * netpulse_shared::tracker::MAX_CACHE_MS;

/// One extra OID's history in a range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OidHistory {
    /// The SNMP type of its latest value read, if any was.
    pub kind: Option<String>,
    /// Its values (raw) or period aggregates, in time order.
    pub entries: Vec<OidEntry>,
}

/// What a device's history holds in a range for one query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// The interface's rates or periods (none when the query names no interface).
    pub entries: Vec<Entry>,
    /// The series of each extra OID asked for that has any.
    pub oids: BTreeMap<Oid, OidHistory>,
}

impl Found {
    /// The typical time between entries: the interface's, else the OIDs'.
    fn spacing(&self) -> Option<u64> {
        series::typical_spacing(&self.entries).or_else(|| {
            let mut times: Vec<u64> = self
                .oids
                .values()
                .flat_map(|o| o.entries.iter().map(|e| e.time_ms))
                .collect();
            times.sort_unstable();
            times.dedup();
            typical_gap(&times)
        })
    }

    fn add_oid(&mut self, oid: &Oid, kind: &str, entry: OidEntry) {
        let series = self.oids.entry(oid.clone()).or_default();
        if series.kind.as_deref() != Some(kind) {
            series.kind = Some(kind.to_owned());
        }
        series.entries.push(entry);
    }
}

/// The answer to one query (one page of it). Blocking.
pub fn answer(
    store: &SampleStore,
    kept: &Kept,
    query: &HistoryQuery,
    now_ms: u64,
) -> std::io::Result<HistoryAnswer> {
    if !query.summed.is_empty() {
        return summed(store, kept, query, now_ms);
    }
    let resolution = query.resolution.unwrap_or_else(|| {
        choose_resolution(query.from_ms, query.to_ms, query.max_points, kept, now_ms)
    });
    let period = resolution.period_ms();
    let start = query.from_ms - query.from_ms % period;
    let read = |from, to| {
        read(
            store,
            &query.device,
            query.interface.as_ref(),
            &query.oids,
            resolution,
            from,
            to,
        )
    };
    let (plan, found, whole) = match query.step_ms {
        Some(step) if query.page > 0 => {
            let plan = Plan::with_step(start, query.to_ms, step.div_ceil(period).max(1) * period);
            let (from, to) = plan.page_span(query.page);
            (plan, read(from, to)?, false)
        }
        _ => {
            let found = read(start, query.to_ms)?;
            // Steps no finer than the data: polls are not exactly regular, so raw steps get
            // half an interval more, lest a late poll leave a step empty and draw a gap.
            let spacing = found.spacing().unwrap_or(1);
            let min_step = match resolution {
                Resolution::Raw => spacing + spacing / 2,
                _ => spacing,
            };
            let plan = Plan::new(
                query.from_ms,
                query.to_ms,
                query.max_points,
                period,
                min_step,
            );
            (plan, found, true)
        }
    };
    let pages = plan.pages();
    if query.page >= pages {
        return Ok(HistoryAnswer::Failed {
            reason: format!("page {} of {pages} does not exist", query.page),
        });
    }
    let percentile = |side: fn(&Entry) -> f64| {
        whole
            .then(|| series::percentile95(&found.entries.iter().map(side).collect::<Vec<_>>()))
            .flatten()
    };
    let first = query.page * PAGE_POINTS;
    let points = match query.interface {
        Some(_) => plan.points(&found.entries, first, PAGE_POINTS),
        None => Vec::new(),
    };
    let none = OidHistory::default();
    let oids = query
        .oids
        .iter()
        .map(|oid| {
            let series = found.oids.get(oid).unwrap_or(&none);
            let answer = OidSeries {
                kind: series.kind.clone(),
                per_second: series.kind.as_deref().is_some_and(is_counter_type),
                points: plan.oid_points(&series.entries, first, PAGE_POINTS),
            };
            (oid.to_string(), answer)
        })
        .collect();
    let p95 = [percentile(|e| e.in_bps.avg), percentile(|e| e.out_bps.avg)];
    Ok(series_answer(resolution, &plan, points, p95, oids))
}

/// The answer to a query for the sum of several interfaces: each interface's points on the
/// same steps (`step_ms` when given), added up step by step. Blocking.
fn summed(
    store: &SampleStore,
    kept: &Kept,
    query: &HistoryQuery,
    now_ms: u64,
) -> std::io::Result<HistoryAnswer> {
    let resolution = query.resolution.unwrap_or_else(|| {
        choose_resolution(query.from_ms, query.to_ms, query.max_points, kept, now_ms)
    });
    let period = resolution.period_ms();
    let step = query.step_ms.unwrap_or_else(|| {
        Plan::new(query.from_ms, query.to_ms, query.max_points, period, period).step_ms
    });
    let start = query.from_ms - query.from_ms % period;
    let plan = Plan::with_step(start, query.to_ms, step.div_ceil(period).max(1) * period);
    let pages = plan.pages();
    if query.page >= pages {
        return Ok(HistoryAnswer::Failed {
            reason: format!("page {} of {pages} does not exist", query.page),
        });
    }
    let (from, to) = plan.page_span(query.page);
    let first = query.page * PAGE_POINTS;
    let mut points: Vec<HistoryPoint> = Vec::new();
    for interface in &query.summed {
        let found = read(
            store,
            &query.device,
            Some(interface),
            &[],
            resolution,
            from,
            to,
        )?;
        let page = plan.points(&found.entries, first, PAGE_POINTS);
        if points.is_empty() {
            points = page;
            continue;
        }
        for (sum, point) in points.iter_mut().zip(page) {
            sum.in_bps = add_spreads(sum.in_bps, point.in_bps);
            sum.out_bps = add_spreads(sum.out_bps, point.out_bps);
            let (a, b) = (sum.errors.to_array(), point.errors.to_array());
            sum.errors =
                ErrorCounters::from_array(std::array::from_fn(|k| add_spreads(a[k], b[k])));
        }
    }
    Ok(series_answer(
        resolution,
        &plan,
        points,
        [None, None],
        BTreeMap::new(),
    ))
}

/// A page of series on `plan`'s steps, with the 95th percentiles `[in, out]` (page 0).
fn series_answer(
    resolution: Resolution,
    plan: &Plan,
    points: Vec<HistoryPoint>,
    [p95_in_bps, p95_out_bps]: [Option<f64>; 2],
    oids: BTreeMap<String, OidSeries>,
) -> HistoryAnswer {
    HistoryAnswer::Series {
        schema: SCHEMA_VERSION,
        resolution,
        step_ms: plan.step_ms,
        pages: plan.pages(),
        points,
        p95_in_bps,
        p95_out_bps,
        oids,
    }
}

/// Two interfaces' spreads in one step added up; either alone when the other has none.
fn add_spreads(a: Option<Spread>, b: Option<Spread>) -> Option<Spread> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Spread {
            min: a.min + b.min,
            avg: a.avg + b.avg,
            max: a.max + b.max,
        }),
        (one, None) | (None, one) => one,
    }
}

/// What the history holds in `[from_ms, to_ms)` at `resolution` for one interface (if one
/// is named) and the extra OIDs in `oids`: rollup periods, then what the raw samples give
/// after the last period written (the periods still open), merged per period as their
/// rollups will be; at raw resolution, the rates and values themselves.
pub fn read(
    store: &SampleStore,
    device: &DeviceId,
    interface: Option<&InterfaceRef>,
    oids: &[Oid],
    resolution: Resolution,
    from_ms: u64,
    to_ms: u64,
) -> std::io::Result<Found> {
    let mut found = Found::default();
    let mut raw_from = from_ms;
    if resolution != Resolution::Raw {
        let lines = store.read_rollups(device, resolution, from_ms, to_ms)?;
        if let Some(last) = lines.last() {
            raw_from = raw_from.max(last.time_ms + last.step_ms);
        }
        let names: Vec<String> = oids.iter().map(ToString::to_string).collect();
        for line in &lines {
            if let Some(interface) = interface {
                found.entries.extend(
                    line.interfaces
                        .iter()
                        .filter(|i| series::matches(interface, i.index, &i.key))
                        .map(|i| Entry {
                            time_ms: line.time_ms,
                            count: i.count,
                            in_bps: i.in_bps,
                            out_bps: i.out_bps,
                            errors: i.errors,
                        }),
                );
            }
            for (oid, name) in oids.iter().zip(&names) {
                if let Some(rolled) = line.oids.get(name) {
                    let entry = OidEntry {
                        time_ms: line.time_ms,
                        value: rolled.value,
                    };
                    found.add_oid(oid, &rolled.kind, entry);
                }
            }
        }
    }
    if raw_from < to_ms {
        let samples = store.read_range(
            device,
            raw_from.saturating_sub(LOOKBACK_MS),
            to_ms.saturating_add(LOOKAHEAD_MS),
        )?;
        let inside = |time_ms: u64| time_ms >= raw_from && time_ms < to_ms;
        let (rates, values) = series::series(&samples, interface, oids);
        let rates: Vec<Entry> = rates
            .iter()
            .filter(|r| inside(r.time_ms))
            .map(Entry::from)
            .collect();
        let mut raw: BTreeMap<&Oid, (&str, Vec<OidEntry>)> = BTreeMap::new();
        for value in values.iter().filter(|v| inside(v.time_ms)) {
            let (kind, entries) = raw.entry(&value.oid).or_default();
            *kind = value.kind;
            entries.push(OidEntry {
                time_ms: value.time_ms,
                value: Aggregate::one(value.value),
            });
        }
        if resolution == Resolution::Raw {
            found.entries.extend(rates);
        } else {
            // Aggregated as the rollup will be once its period closes.
            found
                .entries
                .extend(series::merge_periods(&rates, resolution.period_ms()));
        }
        for (oid, (kind, entries)) in raw {
            let entries = match resolution {
                Resolution::Raw => entries,
                _ => series::merge_oid_periods(&entries, resolution.period_ms()),
            };
            for entry in entries {
                found.add_oid(oid, kind, entry);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::history::{OidPoint, Spread};
    use netpulse_shared::messages::{PolledInterface, Sample, SnmpValue, VarBind};

    const START: u64 = 1_764_288_000_000; // 2025-11-28T00:00:00Z
    const LOAD: &str = "1.3.6.1.4.1.2021.10.1.5.1";
    const PACKETS: &str = "1.3.6.1.2.1.4.3.0";

    /// A sample every 10 s: 10 kbit/s in, 2 errors and 1 out discard a second, a load
    /// gauge going up and down, a packet counter at 5 a second.
    fn sample(n: u64, with_errors: bool) -> Sample {
        let vb = |oid: &str, value| VarBind {
            oid: Oid::parse(oid).expect("oid"),
            value,
        };
        let c32 = |v: u64| SnmpValue::Counter32(u32::try_from(v).expect("fits"));
        let mut values = vec![
            vb("1.3.6.1.2.1.1.3.0", SnmpValue::Timeticks(c(n * 1000))),
            vb("1.3.6.1.2.1.31.1.1.1.6.1", SnmpValue::Counter64(n * 12_500)),
            vb("1.3.6.1.2.1.31.1.1.1.10.1", SnmpValue::Counter64(n * 1250)),
            vb(LOAD, SnmpValue::Integer(i64::try_from(n % 4).expect("n"))),
            vb(PACKETS, SnmpValue::Counter64(n * 50)),
        ];
        if with_errors {
            values.extend([
                vb("1.3.6.1.2.1.2.2.1.14.1", c32(n * 20)),
                vb("1.3.6.1.2.1.2.2.1.20.1", c32(0)),
                vb("1.3.6.1.2.1.2.2.1.13.1", c32(0)),
                vb("1.3.6.1.2.1.2.2.1.19.1", c32(n * 10)),
            ]);
        }
        Sample::from_answers(
            format!("q-{n}"),
            DeviceId::parse("q").expect("id"),
            START + n * 10_000,
            Some(c(n * 1000)),
            values,
            &[PolledInterface {
                index: 1,
                key: "eth0".into(),
                speed_bps: 0,
            }],
        )
    }

    /// Every resolution kept (nearly) for ever.
    fn keep_all() -> Kept {
        Kept {
            raw_ms: u64::MAX / 4,
            minute_ms: u64::MAX / 4,
            five_minutes_ms: u64::MAX / 4,
            hour_ms: u64::MAX / 4,
        }
    }

    fn c(v: u64) -> u32 {
        u32::try_from(v).expect("fits")
    }

    fn query(resolution: Resolution, interface: Option<InterfaceRef>) -> HistoryQuery {
        HistoryQuery {
            schema: SCHEMA_VERSION,
            device: DeviceId::parse("q").expect("id"),
            interface,
            oids: vec![
                Oid::parse(LOAD).expect("oid"),
                Oid::parse(PACKETS).expect("oid"),
                Oid::parse("1.3.6.1.2.1.1.5.0").expect("oid"),
            ],
            summed: Vec::new(),
            from_ms: START,
            to_ms: START + 3_600_000,
            max_points: 6,
            resolution: Some(resolution),
            step_ms: None,
            page: 0,
        }
    }

    fn series(
        answer: HistoryAnswer,
    ) -> (
        Vec<netpulse_shared::history::HistoryPoint>,
        BTreeMap<String, OidSeries>,
    ) {
        match answer {
            HistoryAnswer::Series { points, oids, .. } => (points, oids),
            HistoryAnswer::Failed { reason } => panic!("{reason}"),
        }
    }

    fn close(a: Option<Spread>, b: Option<Spread>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                (a.min, a.max) == (b.min, b.max)
                    && (a.avg - b.avg).abs() < 1e-9 * b.avg.abs() + 1e-9
            }
            _ => false,
        }
    }

    #[test]
    fn errors_and_oids_answer_alike_from_raw_samples_and_rollups() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SampleStore::new(dir.path());
        // An hour; errors polled in the first half only.
        let samples: Vec<Sample> = (0..360).map(|n| sample(n, n < 180)).collect();
        store.append(&samples).expect("append");
        store.close_idle(u64::MAX / 2).expect("close");
        let kept = keep_all();
        let now = START + 7_200_000;
        let eth0 = Some(InterfaceRef::Name("eth0".into()));
        let (raw_points, raw_oids) =
            series(answer(&store, &kept, &query(Resolution::Raw, eth0.clone()), now).expect("raw"));
        let (rolled_points, rolled_oids) =
            series(answer(&store, &kept, &query(Resolution::FiveMinutes, eth0), now).expect("5m"));
        assert_eq!(raw_points.len(), 6);
        let first = &raw_points[0];
        assert!(
            close(first.errors.in_errors, Some(Spread::one(2.0))),
            "{first:?}"
        );
        assert!(
            close(first.errors.out_discards, Some(Spread::one(1.0))),
            "{first:?}"
        );
        assert!(
            close(first.errors.out_errors, Some(Spread::one(0.0))),
            "{first:?}"
        );
        assert!(raw_points[5].errors.is_empty(), "not polled then");
        for (a, b) in raw_points.iter().zip(&rolled_points) {
            assert_eq!(a.time_ms, b.time_ms);
            for (x, y) in a.errors.to_array().into_iter().zip(b.errors.to_array()) {
                assert!(close(x, y), "{a:?} against {b:?}");
            }
        }
        // The OIDs: a gauge as its values, a counter as its rate; a string has no series.
        assert_eq!(raw_oids.len(), 3);
        let load = &raw_oids[LOAD];
        assert_eq!(
            (load.kind.as_deref(), load.per_second),
            (Some("integer"), false)
        );
        let value = load.points[1].value.expect("a value");
        assert_eq!((value.min, value.max), (0.0, 3.0));
        assert!((value.avg - 1.5).abs() < 1e-9);
        let packets = &raw_oids[PACKETS];
        assert_eq!(
            (packets.kind.as_deref(), packets.per_second),
            (Some("counter64"), true)
        );
        assert_eq!(packets.points[3].value, Some(Spread::one(5.0)));
        let name = &raw_oids["1.3.6.1.2.1.1.5.0"];
        assert_eq!(name.kind, None);
        assert!(name.points.iter().all(|p| p.value.is_none()));
        for (oid, series) in &raw_oids {
            let rolled = &rolled_oids[oid];
            assert_eq!(
                (&rolled.kind, rolled.per_second),
                (&series.kind, series.per_second)
            );
            for (a, b) in series.points.iter().zip(&rolled.points) {
                assert_eq!(a.time_ms, b.time_ms);
                assert!(close(a.value, b.value), "{oid}: {a:?} against {b:?}");
            }
        }
        // OIDs alone: no interface points, the same series.
        let (points, oids) =
            series(answer(&store, &kept, &query(Resolution::Minute, None), now).expect("1m"));
        assert!(points.is_empty());
        assert_eq!(
            oids[LOAD]
                .points
                .iter()
                .filter(|p| p.value.is_some())
                .count(),
            6
        );
    }

    #[test]
    fn rollup_files_from_before_errors_and_oids_still_answer() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SampleStore::new(dir.path());
        let folder = store.device_dir(&DeviceId::parse("q").expect("id"));
        std::fs::create_dir_all(&folder).expect("folder");
        let line = |minute: u64| {
            format!(
                r#"{{"time_ms":{},"step_ms":60000,"interfaces":[{{"index":1,"key":"eth0","count":6,"in":{{"min":1.0,"avg":2.0,"max":3.0}},"out":{{"min":0.0,"avg":1.0,"max":2.0}}}}]}}"#,
                START + minute * 60_000
            )
        };
        let text: String = (0..60).map(|m| line(m) + "\n").collect();
        std::fs::write(folder.join("rollup-1m-2025-11-28.jsonl"), text).expect("write");
        let kept = Kept {
            raw_ms: 0,
            minute_ms: u64::MAX / 4,
            five_minutes_ms: 0,
            hour_ms: 0,
        };
        let eth0 = Some(InterfaceRef::Index(1));
        let (points, oids) = series(
            answer(
                &store,
                &kept,
                &query(Resolution::Minute, eth0),
                START + 3_600_000,
            )
            .expect("answer"),
        );
        assert_eq!(points.len(), 6);
        assert!(points
            .iter()
            .all(|p| p.in_bps.is_some() && p.errors.is_empty()));
        assert!(oids[LOAD].points.iter().all(|p| *p
            == OidPoint {
                time_ms: p.time_ms,
                value: None
            }));
    }

    #[test]
    fn summed_interfaces_add_up_step_by_step_on_the_steps_asked_for() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SampleStore::new(dir.path());
        let samples: Vec<Sample> = (0..360).map(|n| sample(n, false)).collect();
        store.append(&samples).expect("append");
        let kept = keep_all();
        let now = START + 7_200_000;
        let step = 60_000;
        let one = HistoryQuery {
            oids: Vec::new(),
            max_points: 60,
            step_ms: Some(step),
            ..query(Resolution::Raw, None)
        };
        let summed = |interfaces: Vec<InterfaceRef>| {
            let answer = answer(
                &store,
                &kept,
                &HistoryQuery {
                    summed: interfaces,
                    ..one.clone()
                },
                now,
            )
            .expect("answer");
            match answer {
                HistoryAnswer::Series {
                    step_ms, points, ..
                } => (step_ms, points),
                HistoryAnswer::Failed { reason } => panic!("{reason}"),
            }
        };
        let (single_step, single) = summed(vec![InterfaceRef::Name("eth0".into())]);
        assert_eq!(single_step, step, "the step asked for");
        assert_eq!(single.len(), 60);
        assert!(single[1].in_bps.is_some(), "{:?}", single[1]);
        // The same interface named twice counts twice; one the device does not have adds
        // nothing.
        let (_, twice) = summed(vec![
            InterfaceRef::Name("eth0".into()),
            InterfaceRef::Index(1),
        ]);
        let (_, with_unknown) = summed(vec![
            InterfaceRef::Name("eth0".into()),
            InterfaceRef::Name("eth9".into()),
        ]);
        for ((one, two), unknown) in single.iter().zip(&twice).zip(&with_unknown) {
            assert_eq!(one.time_ms, two.time_ms);
            let doubled = one.in_bps.map(|s| Spread {
                min: 2.0 * s.min,
                avg: 2.0 * s.avg,
                max: 2.0 * s.max,
            });
            assert!(close(two.in_bps, doubled), "{one:?} {two:?}");
            assert_eq!(unknown, one);
        }
    }
}
