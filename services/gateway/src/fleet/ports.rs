//! Every interface of the fleet, searched and ranked from what the gateway holds: the
//! registry watch's devices, the discoveries of [`super::found`], each device's latest
//! traffic and its reachability. No NATS request: an answer at 100,000 interfaces takes
//! milliseconds (`make bench-fleet`).
//!
//! - [`PortQuery`] / [`search`]: `GET /api/interfaces?q=&device=&tag=&oper=&sort=&limit=`.
//! - [`TopQuery`] / [`top`]: `GET /api/top?by=&direction=&limit=`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::history::ErrorCounters;
use netpulse_shared::interfaces::{IfStatus, Interface};
use netpulse_shared::messages::Reachability;
use serde::Serialize;

use crate::error::ApiError;
use crate::fleet::found::{Found, IndexedInterface};
use crate::live::rates::{ShownInterface, Traffic};
use crate::observed::Observed;

/// Most interfaces one answer lists.
pub const MAX_LIMIT: usize = 1000;
/// Interfaces an answer lists when the query does not say.
pub const DEFAULT_LIMIT: usize = 50;
/// Longest search text accepted, in characters.
const MAX_QUERY_CHARS: usize = 200;

/// The device an interface belongs to, as a row shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RowDevice {
    /// Device id.
    pub id: DeviceId,
    /// Its name.
    pub name: String,
    /// Its reachability.
    pub state: Reachability,
}

/// An interface's rates at its device's latest sample.
#[derive(Debug, Clone, Serialize)]
pub struct RowRates {
    /// The sample's time, Unix milliseconds.
    pub time_ms: u64,
    /// Received bits per second; null without a rate.
    pub in_bps: Option<f64>,
    /// Sent bits per second; null without a rate.
    pub out_bps: Option<f64>,
    /// Received bits per second over the speed, 0 to 1 (more when a device reports a speed
    /// below its traffic); null without a rate or a speed.
    pub in_utilisation: Option<f64>,
    /// Sent bits per second over the speed; as `in_utilisation`.
    pub out_utilisation: Option<f64>,
    /// Errors and discards per second, each when polled.
    #[serde(flatten)]
    pub errors: ErrorCounters<f64>,
}

/// One interface of the fleet as `/api/interfaces` and `/api/top` list it. Texts are the
/// device's: show them as text.
#[derive(Debug, Clone, Serialize)]
pub struct PortRow {
    /// Its device.
    pub device: RowDevice,
    /// ifIndex.
    pub index: u32,
    /// The stable key (ifName, else ifDescr): what the device page names it by.
    pub key: String,
    /// ifName, ifDescr and ifAlias, speed, type and statuses, once discovery has found it.
    #[serde(flatten)]
    pub interface: Option<Interface>,
    /// ifOperStatus at the latest sample, else as discovery found it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oper_now: Option<IfStatus>,
    /// Its rates at the latest sample; null until one with a rate.
    pub rates: Option<RowRates>,
    /// The figure it was ranked by (`/api/top`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// An answer: how many interfaces matched, and the first `limit` of them.
#[derive(Debug, Clone, Serialize)]
pub struct PortAnswer {
    /// Interfaces that matched.
    pub total: usize,
    /// The first of them, in the order asked.
    pub interfaces: Vec<PortRow>,
}

/// The order of a search's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSort {
    /// Best match first: an interface named exactly as asked, then one whose name starts so,
    /// one whose alias or description is exactly it, names containing it, aliases or
    /// descriptions containing it, and matches of the device alone; then by device and ifIndex.
    Relevance,
    /// By device name, then ifIndex.
    Device,
    /// Busiest first: the higher of in and out over the speed.
    Utilisation,
    /// Busiest first: the higher of in and out, bits per second.
    Bps,
}

/// `GET /api/interfaces`' parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PortQuery {
    /// The search text in lower case, trimmed (empty: every interface).
    pub text: String,
    /// Only this device's interfaces.
    pub device: Option<DeviceId>,
    /// Only interfaces of devices with this tag (any case).
    pub tag: Option<String>,
    /// Only interfaces in this operational state.
    pub oper: Option<IfStatus>,
    /// The order.
    pub sort: PortSort,
    /// At most this many rows.
    pub limit: usize,
}

fn limit_of(params: &HashMap<String, String>, default: usize) -> Result<usize, ApiError> {
    match params.get("limit") {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_field(
                "limit",
                format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
            )),
        },
    }
}

fn oper_of(raw: &str) -> Result<IfStatus, ApiError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
        ApiError::bad_field(
            "oper",
            "oper must be one of up, down, testing, unknown, dormant, not_present, \
             lower_layer_down",
        )
    })
}

impl PortQuery {
    /// Reads the query string's parameters; the error names the one at fault.
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, ApiError> {
        ApiError::unknown_parameter(
            params.keys(),
            &["q", "device", "tag", "oper", "sort", "limit"],
        )?;
        let text = params.get("q").map_or("", String::as_str).trim();
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::bad_field(
                "q",
                format!("q must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let device = match params.get("device").filter(|d| !d.is_empty()) {
            None => None,
            Some(raw) => Some(
                DeviceId::parse(raw)
                    .map_err(|_| ApiError::bad_field("device", "device is not a device id"))?,
            ),
        };
        let sort = match params.get("sort").map_or("relevance", String::as_str) {
            "relevance" | "" => PortSort::Relevance,
            "device" => PortSort::Device,
            "utilisation" => PortSort::Utilisation,
            "bps" => PortSort::Bps,
            _ => {
                return Err(ApiError::bad_field(
                    "sort",
                    "sort must be relevance, device, utilisation or bps",
                ))
            }
        };
        Ok(Self {
            text: text.to_lowercase(),
            device,
            tag: params
                .get("tag")
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty()),
            oper: params
                .get("oper")
                .filter(|o| !o.is_empty())
                .map(|o| oper_of(o))
                .transpose()?,
            sort,
            limit: limit_of(params, DEFAULT_LIMIT)?,
        })
    }
}

/// One device as the searches see it: what the registry, discovery and the latest sample
/// say, borrowed for the length of one answer.
pub(crate) struct Seen<'a> {
    pub(crate) device: &'a Device,
    pub(crate) name_lower: String,
    pub(crate) found: Option<&'a Found>,
    pub(crate) traffic: Option<Arc<Traffic>>,
}

impl Seen<'_> {
    pub(crate) fn rates_of(&self, index: u32) -> Option<&ShownInterface> {
        let traffic = self.traffic.as_deref()?;
        traffic
            .interfaces
            .binary_search_by_key(&index, |i| i.index)
            .ok()
            .map(|at| &traffic.interfaces[at])
    }
}

/// `f` of every device held, each with its discovery and its latest traffic (the registry
/// and discovery copies are read-locked meanwhile).
pub(crate) fn with_fleet<R>(observed: &Observed, f: impl FnOnce(&[Seen<'_>]) -> R) -> R {
    observed.devices.read(|devices| {
        observed.found.read(|found| {
            let seen: Vec<Seen<'_>> = devices
                .values()
                .map(|device| Seen {
                    device,
                    name_lower: device.name.as_str().to_lowercase(),
                    found: found.get(&device.id).map(Arc::as_ref),
                    traffic: observed.latest.get(&device.id),
                })
                .collect();
            f(&seen)
        })
    })
}

/// bits per second over speed.
fn utilisation(bps: Option<f64>, speed_bps: Option<u64>) -> Option<f64> {
    let speed = speed_bps.filter(|s| *s > 0)? as f64;
    bps.map(|b| b / speed)
}

/// The row of `seen`'s interface `index`.
fn row(observed: &Observed, seen: &Seen<'_>, index: u32, value: Option<f64>) -> PortRow {
    let indexed = seen.found.and_then(|f| f.interface(index));
    let shown = seen.rates_of(index);
    let speed = shown
        .and_then(|s| s.speed_bps)
        .or_else(|| indexed.map(|i| i.interface.speed_bps));
    let key = indexed
        .map(|i| i.key.clone())
        .or_else(|| shown.and_then(|s| s.name.clone()))
        .unwrap_or_else(|| format!("ifIndex {index}"));
    PortRow {
        device: RowDevice {
            id: seen.device.id.clone(),
            name: seen.device.name.as_str().to_owned(),
            state: observed.metrics.reachability(&seen.device.id),
        },
        index,
        key,
        oper_now: shown
            .and_then(|s| s.oper_status)
            .or_else(|| indexed.map(|i| i.interface.oper_status)),
        interface: indexed.map(|i| i.interface.clone()),
        rates: shown.and_then(|s| {
            let time_ms = seen.traffic.as_ref()?.time_ms;
            Some(RowRates {
                time_ms,
                in_bps: s.in_bps,
                out_bps: s.out_bps,
                in_utilisation: utilisation(s.in_bps, speed),
                out_utilisation: utilisation(s.out_bps, speed),
                errors: s.errors,
            })
        }),
        value,
    }
}

/// How well an interface matches the whole search text (lower is better), see
/// [`PortSort::Relevance`].
fn relevance(text: &str, interface: &IndexedInterface) -> u8 {
    if text.is_empty() {
        5
    } else if interface.key_lower == text {
        0
    } else if interface.key_lower.starts_with(text) {
        1
    } else if interface.alias_lower == text || interface.descr_lower == text {
        2
    } else if interface.key_lower.contains(text) {
        3
    } else if interface.alias_lower.contains(text) || interface.descr_lower.contains(text) {
        4
    } else {
        5
    }
}

/// A match before it becomes a row.
struct Hit {
    device: usize,
    index: u32,
    relevance: u8,
    /// The figure sorted by (busiest first); NaN-free, `-1` without one.
    busy: f64,
}

/// Descending by `busy`, then by device name and ifIndex.
fn by_busy(a: &Hit, b: &Hit) -> Ordering {
    b.busy.partial_cmp(&a.busy).unwrap_or(Ordering::Equal)
}

/// Ranks `hits` by `order` and keeps the first `limit`, sorting only those.
fn first_n(hits: &mut Vec<Hit>, limit: usize, order: impl Fn(&Hit, &Hit) -> Ordering) {
    if hits.len() > limit {
        hits.select_nth_unstable_by(limit, &order);
        hits.truncate(limit);
    }
    hits.sort_by(order);
}

/// The interfaces matching `query`: each word of the search text must be found in the
/// interface's name, alias or description, its device's name or sysName, or one of the
/// device's tags.
pub fn search(observed: &Observed, query: &PortQuery) -> PortAnswer {
    with_fleet(observed, |devices| search_in(observed, devices, query))
}

fn search_in(observed: &Observed, devices: &[Seen<'_>], query: &PortQuery) -> PortAnswer {
    let words: Vec<&str> = query.text.split_whitespace().collect();
    let mut hits: Vec<Hit> = Vec::new();
    for (at, seen) in devices.iter().enumerate() {
        if query.device.as_ref().is_some_and(|d| *d != seen.device.id) {
            continue;
        }
        let tags_lower: Vec<String> = seen.device.tags.iter().map(|t| t.to_lowercase()).collect();
        if query.tag.as_ref().is_some_and(|t| !tags_lower.contains(t)) {
            continue;
        }
        let Some(found) = seen.found else { continue };
        let system = found.system_name_lower.as_str();
        // Which words the device itself matches.
        let device_has: Vec<bool> = words
            .iter()
            .map(|w| {
                seen.name_lower.contains(w)
                    || system.contains(w)
                    || tags_lower.iter().any(|t| t.contains(w))
            })
            .collect();
        for interface in &found.interfaces {
            let matches = words.iter().zip(&device_has).all(|(w, by_device)| {
                *by_device
                    || interface.key_lower.contains(w)
                    || interface.alias_lower.contains(w)
                    || interface.descr_lower.contains(w)
            });
            if !matches {
                continue;
            }
            let index = interface.interface.index;
            let shown = seen.rates_of(index);
            if let Some(oper) = query.oper {
                let now = shown
                    .and_then(|s| s.oper_status)
                    .unwrap_or(interface.interface.oper_status);
                if now != oper {
                    continue;
                }
            }
            let busy = match query.sort {
                PortSort::Utilisation => {
                    let speed = shown
                        .and_then(|s| s.speed_bps)
                        .or(Some(interface.interface.speed_bps));
                    shown.and_then(|s| {
                        let i = utilisation(s.in_bps, speed);
                        let o = utilisation(s.out_bps, speed);
                        i.into_iter().chain(o).reduce(f64::max)
                    })
                }
                PortSort::Bps => {
                    shown.and_then(|s| s.in_bps.into_iter().chain(s.out_bps).reduce(f64::max))
                }
                _ => None,
            };
            hits.push(Hit {
                device: at,
                index,
                relevance: relevance(&query.text, interface),
                busy: busy.filter(|b| b.is_finite()).unwrap_or(-1.0),
            });
        }
    }
    let total = hits.len();
    let by_place = |a: &Hit, b: &Hit| {
        let (da, db) = (&devices[a.device], &devices[b.device]);
        da.name_lower
            .cmp(&db.name_lower)
            .then_with(|| da.device.id.cmp(&db.device.id))
            .then(a.index.cmp(&b.index))
    };
    match query.sort {
        PortSort::Relevance => first_n(&mut hits, query.limit, |a, b| {
            a.relevance.cmp(&b.relevance).then_with(|| by_place(a, b))
        }),
        PortSort::Device => first_n(&mut hits, query.limit, by_place),
        PortSort::Utilisation | PortSort::Bps => first_n(&mut hits, query.limit, |a, b| {
            by_busy(a, b).then_with(|| by_place(a, b))
        }),
    }
    PortAnswer {
        total,
        interfaces: hits
            .iter()
            .map(|hit| row(observed, &devices[hit.device], hit.index, None))
            .collect(),
    }
}

/// What `/api/top` ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopBy {
    /// Bits per second over the speed.
    Utilisation,
    /// Bits per second.
    Bps,
    /// Errors per second (ifInErrors / ifOutErrors).
    Errors,
}

/// Which way of the traffic `/api/top` ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Received.
    In,
    /// Sent.
    Out,
    /// The higher of the two.
    Either,
}

/// `GET /api/top`'s parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TopQuery {
    /// The figure.
    pub by: TopBy,
    /// The direction.
    pub direction: Direction,
    /// How many.
    pub limit: usize,
}

impl TopQuery {
    /// Reads the query string's parameters; the error names the one at fault.
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, ApiError> {
        ApiError::unknown_parameter(params.keys(), &["by", "direction", "limit"])?;
        let by = match params.get("by").map_or("utilisation", String::as_str) {
            "utilisation" => TopBy::Utilisation,
            "bps" => TopBy::Bps,
            "errors" => TopBy::Errors,
            _ => {
                return Err(ApiError::bad_field(
                    "by",
                    "by must be utilisation, bps or errors",
                ))
            }
        };
        let direction = match params.get("direction").map_or("either", String::as_str) {
            "in" => Direction::In,
            "out" => Direction::Out,
            "either" => Direction::Either,
            _ => {
                return Err(ApiError::bad_field(
                    "direction",
                    "direction must be in, out or either",
                ))
            }
        };
        Ok(Self {
            by,
            direction,
            limit: limit_of(params, 10)?,
        })
    }

    /// The figure of `shown` this query ranks by, if it has one.
    fn value(&self, shown: &ShownInterface, speed_bps: Option<u64>) -> Option<f64> {
        let (inbound, outbound) = match self.by {
            TopBy::Bps => (shown.in_bps, shown.out_bps),
            TopBy::Utilisation => (
                utilisation(shown.in_bps, speed_bps),
                utilisation(shown.out_bps, speed_bps),
            ),
            TopBy::Errors => (shown.errors.in_errors, shown.errors.out_errors),
        };
        let value = match self.direction {
            Direction::In => inbound,
            Direction::Out => outbound,
            Direction::Either => inbound.into_iter().chain(outbound).reduce(f64::max),
        };
        value.filter(|v| v.is_finite())
    }
}

/// The busiest interfaces of the fleet at their devices' latest samples, by `query`.
pub fn top(observed: &Observed, query: &TopQuery) -> PortAnswer {
    with_fleet(observed, |devices| {
        let mut hits: Vec<Hit> = Vec::new();
        for (at, seen) in devices.iter().enumerate() {
            let Some(traffic) = seen.traffic.as_deref() else {
                continue;
            };
            for shown in &traffic.interfaces {
                let speed = shown.speed_bps.or_else(|| {
                    seen.found
                        .and_then(|f| f.interface(shown.index))
                        .map(|i| i.interface.speed_bps)
                });
                if let Some(value) = query.value(shown, speed) {
                    hits.push(Hit {
                        device: at,
                        index: shown.index,
                        relevance: 0,
                        busy: value,
                    });
                }
            }
        }
        let total = hits.len();
        first_n(&mut hits, query.limit, |a, b| {
            by_busy(a, b)
                .then_with(|| {
                    devices[a.device]
                        .name_lower
                        .cmp(&devices[b.device].name_lower)
                })
                .then(a.index.cmp(&b.index))
        });
        PortAnswer {
            total,
            interfaces: hits
                .iter()
                .map(|hit| row(observed, &devices[hit.device], hit.index, Some(hit.busy)))
                .collect(),
        }
    })
}
