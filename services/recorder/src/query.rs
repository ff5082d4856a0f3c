//! Answering history queries from the files: choose the resolution, plan the steps, read
//! what covers the range, aggregate, page.

use netpulse_shared::device::DeviceId;
use netpulse_shared::history::{
    self, choose_resolution, typical_spacing, Entry, HistoryAnswer, HistoryQuery, Kept, Plan,
    PAGE_POINTS,
};
use netpulse_shared::interfaces::InterfaceRef;
use netpulse_shared::messages::SCHEMA_VERSION;
use netpulse_shared::rollup::Resolution;

use crate::store::SampleStore;

/// How far before a range raw samples are read, so its first step has a rate.
const LOOKBACK_MS: u64 = 3_600_000;
/// How far after a range raw samples are read, so readings an agent answered from its cache
/// at the end of the range get the rate the next fresh reading gives them.
const LOOKAHEAD_MS: u64 = 2 * netpulse_shared::rollup::MAX_CACHE_MS;

/// The answer to one query (one page of it). Blocking.
pub fn answer(
    store: &SampleStore,
    kept: &Kept,
    query: &HistoryQuery,
    now_ms: u64,
) -> std::io::Result<HistoryAnswer> {
    let resolution = query.resolution.unwrap_or_else(|| {
        choose_resolution(query.from_ms, query.to_ms, query.max_points, kept, now_ms)
    });
    let period = resolution.period_ms();
    let start = query.from_ms - query.from_ms % period;
    let read = |from, to| entries(store, &query.device, &query.interface, resolution, from, to);
    let (plan, entries, whole) = match query.step_ms {
        Some(step) if query.page > 0 => {
            let plan = Plan::with_step(start, query.to_ms, step.div_ceil(period).max(1) * period);
            let (from, to) = plan.page_span(query.page);
            (plan, read(from, to)?, false)
        }
        _ => {
            let entries = read(start, query.to_ms)?;
            // Steps no finer than the data: polls are not exactly regular, so raw steps get
            // half an interval more, lest a late poll leave a step empty and draw a gap.
            let spacing = typical_spacing(&entries).unwrap_or(1);
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
            (plan, entries, true)
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
            .then(|| history::percentile95(&entries.iter().map(side).collect::<Vec<_>>()))
            .flatten()
    };
    Ok(HistoryAnswer::Series {
        schema: SCHEMA_VERSION,
        resolution,
        step_ms: plan.step_ms,
        pages,
        points: plan.points(&entries, query.page * PAGE_POINTS, PAGE_POINTS),
        p95_in_bps: percentile(|e| e.in_bps.avg),
        p95_out_bps: percentile(|e| e.out_bps.avg),
    })
}

/// What one interface's history holds in `[from_ms, to_ms)` at `resolution`: rollup periods,
/// then the raw rates after the last period written (the periods still open), merged per
/// period as their rollups will be; at raw resolution, the rates.
pub fn entries(
    store: &SampleStore,
    device: &DeviceId,
    interface: &InterfaceRef,
    resolution: Resolution,
    from_ms: u64,
    to_ms: u64,
) -> std::io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut raw_from = from_ms;
    if resolution != Resolution::Raw {
        let lines = store.read_rollups(device, resolution, from_ms, to_ms)?;
        if let Some(last) = lines.last() {
            raw_from = raw_from.max(last.time_ms + last.step_ms);
        }
        out.extend(lines.iter().flat_map(|line| {
            line.interfaces
                .iter()
                .filter(|i| history::matches(interface, i.index, &i.key))
                .map(|i| Entry {
                    time_ms: line.time_ms,
                    count: i.count,
                    in_bps: i.in_bps,
                    out_bps: i.out_bps,
                })
        }));
    }
    if raw_from < to_ms {
        let samples = store.read_range(
            device,
            raw_from.saturating_sub(LOOKBACK_MS),
            to_ms.saturating_add(LOOKAHEAD_MS),
        )?;
        let rates: Vec<Entry> = history::rates(&samples, interface)
            .iter()
            .filter(|r| r.time_ms >= raw_from && r.time_ms < to_ms)
            .map(Entry::from)
            .collect();
        if resolution == Resolution::Raw {
            out.extend(rates);
        } else {
            // Aggregated as the rollup will be once its period closes.
            out.extend(history::merge_periods(&rates, resolution.period_ms()));
        }
    }
    Ok(out)
}
