//! Rates as the browser gets them: each interface's counters (as decimal strings) and rates
//! per sample, values with 64-bit counters as strings, and timeline entries likewise.

use std::collections::HashMap;

use netpulse_shared::history::ErrorCounters;
use netpulse_shared::messages::{Sample, SnmpValue, VarBind};
use netpulse_shared::rate::Gap;
use netpulse_shared::tracker::RateTracker;
use serde::Serialize;

/// What the rates of one sample showed of the agent's counter cache.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheSeen {
    /// The sample was a cached reading.
    pub cached: bool,
    /// The cache period learned so far.
    pub period_ms: Option<u64>,
}

/// Counters and rates of one interface in a sample.
///
/// Counters travel as decimal strings: a 64-bit counter does not fit a JavaScript number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShownInterface {
    /// ifIndex.
    pub index: u32,
    /// Stable key (ifName, else ifDescr) when discovery knows the interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Speed in bits per second when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_bps: Option<u64>,
    /// Received octets counter, exact, as a string.
    pub in_octets: String,
    /// Sent octets counter, exact, as a string.
    pub out_octets: String,
    /// Received bits per second since the previous sample; null when there is no rate.
    pub in_bps: Option<f64>,
    /// Sent bits per second since the previous sample; null when there is no rate.
    pub out_bps: Option<f64>,
    /// Why there is no rate, when there is a previous sample but no rate: `restart`,
    /// `width_change`, `out_of_order` or `impossible` (a counter discontinuity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<&'static str>,
    /// The agent answered from its cache (the counters had not moved, sooner than its cache
    /// period): the rates are the last real ones, not a zero.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// Errors and discards per second since the previous sample (`in_errors_ps`,
    /// `out_errors_ps`, `in_discards_ps`, `out_discards_ps`), each absent when there is no
    /// rate: not polled, or no bit rate either.
    #[serde(flatten)]
    pub errors: ErrorCounters<f64>,
}

fn gap_name(gap: Gap) -> &'static str {
    match gap {
        Gap::Restart => "restart",
        Gap::WidthChange => "width_change",
        Gap::OutOfOrder => "out_of_order",
        Gap::Impossible => "impossible",
    }
}

/// A sample's values as the browser gets them: 64-bit counters as decimal strings.
pub fn browser_values(values: &[VarBind]) -> Vec<serde_json::Value> {
    values
        .iter()
        .map(|vb| {
            let mut item = serde_json::to_value(vb).unwrap_or_default();
            if let SnmpValue::Counter64(n) = vb.value {
                item["value"] = serde_json::Value::String(n.to_string());
            }
            item
        })
        .collect()
}

/// A timeline entry as the browser gets it: as stored, but a trap's Counter64 values as
/// decimal strings, like [`browser_values`].
pub fn browser_entry(entry: &netpulse_shared::logs::LogEntry) -> serde_json::Value {
    let mut value = serde_json::to_value(entry).unwrap_or_default();
    if let Some(trap) = &entry.trap {
        value["trap"]["varbinds"] = serde_json::Value::Array(browser_values(&trap.varbinds));
    }
    value
}

/// The rates of one device's samples as the live stream shows them: each interface's rate
/// since the previous fresh reading, and while the agent answers from its cache, the last
/// real rate again (marked `cached`) rather than a zero followed by a double.
#[derive(Debug, Clone, Default)]
pub struct DeviceRates {
    tracker: RateTracker,
    /// The last real rate of each interface, by ifIndex.
    last: HashMap<u32, (f64, f64, ErrorCounters<f64>)>,
}

impl DeviceRates {
    /// True when `sample` is later than every sample taken so far.
    pub fn in_order(&self, sample: &Sample) -> bool {
        self.tracker.latest_ms().is_none_or(|t| t < sample.time_ms)
    }

    /// What a sample just taken showed of the agent's cache, for the metrics.
    pub fn seen(&self, cached: bool) -> CacheSeen {
        CacheSeen {
            cached,
            period_ms: self.tracker.cache_period_ms(),
        }
    }

    /// The agent's cache period as learned so far.
    pub fn cache_period_ms(&self) -> Option<u64> {
        self.tracker.cache_period_ms()
    }

    /// Takes a sample; its interfaces with their rates, and whether it was a cached reading.
    /// An older sample than the latest gives counters without rates.
    pub fn step(&mut self, sample: &Sample) -> (Vec<ShownInterface>, bool) {
        if !self.in_order(sample) {
            return (interface_rates(sample, |_| (None, None, None)), false);
        }
        let step = self.tracker.step_all(sample);
        for rate in step.rates.iter().filter(|r| r.time_ms == sample.time_ms) {
            self.last
                .insert(rate.index, (rate.in_bps, rate.out_bps, rate.errors));
        }
        for (index, _) in &step.gaps {
            self.last.remove(index);
        }
        let rate_of = |index: u32| {
            if step.cached {
                self.last.get(&index).copied()
            } else {
                step.rates
                    .iter()
                    .find(|r| r.index == index && r.time_ms == sample.time_ms)
                    .map(|r| (r.in_bps, r.out_bps, r.errors))
            }
        };
        let interfaces = interface_rates(sample, |index| {
            let gap = step.gaps.iter().find(|(i, _)| *i == index);
            let rate = rate_of(index);
            (
                rate.map(|r| r.0),
                rate.map(|r| r.1),
                gap.map(|(_, g)| gap_name(*g)),
            )
        });
        let interfaces = interfaces
            .into_iter()
            .map(|i| ShownInterface {
                cached: step.cached && i.in_bps.is_some(),
                errors: rate_of(i.index).map(|r| r.2).unwrap_or_default(),
                ..i
            })
            .collect();
        (interfaces, step.cached)
    }
}

/// The counters of every interface of `current`, with the rates and gap `rate_of` gives for
/// each ifIndex.
pub fn interface_rates(
    current: &Sample,
    rate_of: impl Fn(u32) -> (Option<f64>, Option<f64>, Option<&'static str>),
) -> Vec<ShownInterface> {
    let mut rates: Vec<ShownInterface> = current
        .interfaces
        .iter()
        .filter_map(|known| {
            let (in_octets, out_octets) = (known.in_octets?, known.out_octets?);
            let (in_bps, out_bps, gap) = rate_of(known.index);
            Some(ShownInterface {
                index: known.index,
                name: Some(known.key.clone()),
                speed_bps: Some(known.speed_bps).filter(|s| *s > 0),
                in_octets: in_octets.to_string(),
                out_octets: out_octets.to_string(),
                in_bps,
                out_bps,
                gap,
                cached: false,
                errors: ErrorCounters::default(),
            })
        })
        .collect();
    rates.sort_by_key(|r| r.index);
    rates
}
