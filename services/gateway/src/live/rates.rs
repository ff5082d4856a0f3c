//! Rates as the browser gets them: a device's traffic per sample (each interface's counters as
//! decimal strings, rates and their totals), values with 64-bit counters as strings, and
//! timeline entries likewise.

use std::collections::HashMap;

use netpulse_shared::history::ErrorCounters;
use netpulse_shared::interfaces::IfStatus;
use netpulse_shared::logs::{LogEntry, TrapInfo};
use netpulse_shared::messages::{Sample, SnmpValue, VarBind};
use netpulse_shared::rate::Gap;
use netpulse_shared::snmp::Oid;
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
    /// ifOperStatus as the agent gave it in this sample, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oper_status: Option<IfStatus>,
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

/// A device's traffic at one sample: the one shape of a `/ws` sample and of a device's
/// `latest` in the API, totals included, so the browser reads it one way and adds nothing up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Traffic {
    /// Sample time, Unix milliseconds.
    pub time_ms: u64,
    /// sysUpTime, hundredths of a second.
    pub uptime_ticks: Option<u32>,
    /// Received bits per second over the interfaces that have a rate; null when none has.
    pub in_bps: Option<f64>,
    /// Sent bits per second over the interfaces that have a rate; null when none has.
    pub out_bps: Option<f64>,
    /// Per-interface counters and rates, by ifIndex.
    pub interfaces: Vec<ShownInterface>,
}

impl Traffic {
    /// The traffic of `sample` with its interfaces' rates, totals added up once here.
    pub fn new(sample: &Sample, interfaces: Vec<ShownInterface>) -> Self {
        let total = |pick: fn(&ShownInterface) -> Option<f64>| {
            interfaces.iter().filter_map(pick).reduce(|a, b| a + b)
        };
        Self {
            time_ms: sample.time_ms,
            uptime_ticks: sample.uptime_ticks,
            in_bps: total(|i| i.in_bps),
            out_bps: total(|i| i.out_bps),
            interfaces,
        }
    }
}

fn gap_name(gap: Gap) -> &'static str {
    match gap {
        Gap::Restart => "restart",
        Gap::WidthChange => "width_change",
        Gap::OutOfOrder => "out_of_order",
        Gap::Impossible => "impossible",
    }
}

/// A value read, as the browser gets it: as in the sample, but a Counter64 as a decimal
/// string (it does not fit a JavaScript number).
#[derive(Debug, Clone, Serialize)]
pub struct ShownValue<'a> {
    /// The object instance.
    pub oid: &'a Oid,
    /// Its type and value.
    #[serde(flatten)]
    pub value: ShownSnmpValue<'a>,
}

/// The type and value of a [`ShownValue`].
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ShownSnmpValue<'a> {
    /// Any value but a Counter64: as read.
    AsRead(&'a SnmpValue),
    /// A Counter64, exact, as a string.
    Counter64 {
        /// Always `counter64`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The counter in decimal.
        value: String,
    },
}

/// A sample's values as the browser gets them: 64-bit counters as decimal strings.
pub fn browser_values(values: &[VarBind]) -> Vec<ShownValue<'_>> {
    values
        .iter()
        .map(|vb| ShownValue {
            oid: &vb.oid,
            value: match &vb.value {
                SnmpValue::Counter64(n) => ShownSnmpValue::Counter64 {
                    kind: "counter64",
                    value: n.to_string(),
                },
                other => ShownSnmpValue::AsRead(other),
            },
        })
        .collect()
}

/// A timeline entry as the browser gets it: as stored, but a trap's Counter64 values as
/// decimal strings, like [`browser_values`].
#[derive(Debug, Clone, Serialize)]
pub struct ShownEntry<'a> {
    /// The entry without its trap.
    #[serde(flatten)]
    entry: &'a LogEntry,
    /// The trap, its values shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    trap: Option<ShownTrap<'a>>,
}

/// A trap of a [`ShownEntry`]: the fields of [`TrapInfo`], its values as [`ShownValue`]s.
#[derive(Debug, Clone, Serialize)]
struct ShownTrap<'a> {
    version: &'a str,
    pdu: &'a str,
    trap_oid: &'a str,
    uptime_ticks: Option<u32>,
    varbinds: Vec<ShownValue<'a>>,
}

impl<'a> ShownEntry<'a> {
    /// `entry` (whose trap has been taken out) with `trap`.
    pub fn new(entry: &'a LogEntry, trap: Option<&'a TrapInfo>) -> Self {
        debug_assert!(entry.trap.is_none(), "the trap is shown apart");
        Self {
            entry,
            trap: trap.map(|trap| ShownTrap {
                version: &trap.version,
                pdu: &trap.pdu,
                trap_oid: &trap.trap_oid,
                uptime_ticks: trap.uptime_ticks,
                varbinds: browser_values(&trap.varbinds),
            }),
        }
    }
}

/// Timeline entries as the browser gets them: the traps taken out of `entries`, to show
/// with [`ShownEntry::new`].
pub fn traps_apart(entries: &mut [LogEntry]) -> Vec<Option<TrapInfo>> {
    entries.iter_mut().map(|e| e.trap.take()).collect()
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
                oper_status: known.oper_status.map(IfStatus::from_code),
                cached: false,
                errors: ErrorCounters::default(),
            })
        })
        .collect();
    rates.sort_by_key(|r| r.index);
    rates
}
