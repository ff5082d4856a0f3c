//! The live stream: NATS samples, failures and registry changes, turned into `/ws` messages
//! and fanned out to every connected browser.
//!
//! One task reads NATS and computes bit rates (it alone holds the previous sample of each
//! device, so no lock is needed); it sends ready-made JSON text to a bounded broadcast
//! channel. Each WebSocket reads from that channel: a client too slow to keep up misses
//! messages (and is told how many) instead of slowing anyone else down. When the gateway
//! stops, [`ClientShutdown`] closes every WebSocket, so browsers see it and reconnect.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_nats::jetstream::kv;
use futures::{SinkExt, StreamExt};
use netpulse_shared::device::{Device, DeviceId, DeviceView};
use netpulse_shared::history::ErrorCounters;
use netpulse_shared::messages::{
    PollFailure, Reachability, ReachabilityChanged, Sample, SnmpValue, VarBind,
};
use netpulse_shared::rate::Gap;
use netpulse_shared::subjects;
use netpulse_shared::tracker::RateTracker;
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use warp::filters::ws::{Message, WebSocket, Ws};
use warp::{Filter, Rejection, Reply};

/// Messages queued per client before it starts missing some.
pub const CLIENT_BACKLOG: usize = 1024;

/// A message on `/ws`. Every one is a JSON object with a `type` and, where it concerns one
/// device, a `device`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage<'a> {
    /// A new sample, with rates per interface.
    Sample {
        /// Device id.
        device: &'a DeviceId,
        /// Sample time, Unix milliseconds.
        time_ms: u64,
        /// sysUpTime, hundredths of a second.
        uptime_ticks: Option<u32>,
        /// Per-interface counters and rates.
        interfaces: Vec<InterfaceRate>,
        /// Every value read, with its type (64-bit counters as strings).
        values: Vec<serde_json::Value>,
        /// True for a sample of the one-second live view (not stored; sent only to clients
        /// subscribed to the device).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        live: bool,
    },
    /// A poll that failed.
    Failure {
        /// Device id.
        device: &'a DeviceId,
        /// When, Unix milliseconds.
        time_ms: u64,
        /// Why.
        reason: &'a str,
    },
    /// A device's reachability changed.
    Status {
        /// Device id.
        device: &'a DeviceId,
        /// `up`, `down` or `unknown`.
        state: Reachability,
        /// The state before.
        previous: Reachability,
        /// When, Unix milliseconds.
        time_ms: u64,
        /// Why.
        reason: &'a str,
    },
    /// A timeline entry of a device: syslog, trap (device text: show it as text).
    Log {
        /// The entry as [`browser_entry`] gives it (its `device` says whose).
        #[serde(flatten)]
        entry: serde_json::Value,
    },
    /// A device was added or changed.
    DeviceAdded {
        /// The device, without secrets.
        device: DeviceView<'a>,
    },
    /// A device was deleted.
    DeviceRemoved {
        /// Its id.
        device: &'a str,
    },
    /// An alert's transition (every client gets them, whichever devices it follows: the
    /// header counts firing alerts on every page).
    Alert {
        /// The transition, as on `netpulse.alert.<device>` (without its outbox).
        #[serde(flatten)]
        event: Box<netpulse_shared::alert::AlertEvent>,
    },
    /// This client fell behind and missed messages.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// A message from the client was refused.
    Error {
        /// Why.
        error: String,
    },
}

/// A `/ws` message ready to send, with what clients filter it by.
#[derive(Debug)]
pub struct Outgoing {
    /// The device it concerns, if one.
    pub device: Option<DeviceId>,
    /// Its `type`.
    pub kind: &'static str,
    /// True for live-view samples: only for clients subscribed to the device by id.
    pub live: bool,
    /// The JSON text.
    pub text: String,
}

/// The kinds a client may subscribe to.
pub const KINDS: [&str; 8] = [
    "sample",
    "failure",
    "status",
    "log",
    "device_added",
    "device_removed",
    "alert",
    "lagged",
];

/// What one client asked to receive: `{"type": "subscribe", "devices": [ids] | "*",
/// "kinds": [...], "live": [ids]}`. A client that never subscribes receives everything but
/// live-view samples. `live` names the devices whose one-second live view the client shows;
/// without it, the devices listed by id are the ones shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// The devices, or `None` for all.
    pub devices: Option<HashSet<DeviceId>>,
    /// The kinds, or `None` for all.
    pub kinds: Option<HashSet<String>>,
    /// The devices shown in the live view, when given apart from `devices`.
    pub live: Option<HashSet<DeviceId>>,
}

/// At most this many devices in a subscription's `devices` or `live`.
const MAX_SUBSCRIBED: usize = 1000;

/// A list of device ids from a subscribe message; the error names `field`.
fn device_ids(field: &str, items: &[serde_json::Value]) -> Result<HashSet<DeviceId>, String> {
    if items.len() > MAX_SUBSCRIBED {
        return Err(format!("{field}: at most {MAX_SUBSCRIBED} device ids"));
    }
    items
        .iter()
        .map(|i| {
            i.as_str()
                .and_then(|s| DeviceId::parse(s).ok())
                .ok_or_else(|| format!("{field}: {i} is not a device id"))
        })
        .collect()
}

impl Subscription {
    /// Parses a client's subscribe message; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if value["type"] != "subscribe" {
            return Err("the only message a client sends is {\"type\": \"subscribe\", ...}".into());
        }
        if let Some(unknown) = value.as_object().and_then(|m| {
            m.keys()
                .find(|k| !["type", "devices", "kinds", "live"].contains(&k.as_str()))
        }) {
            return Err(format!("{unknown}: unknown field"));
        }
        let devices = match &value["devices"] {
            serde_json::Value::Null => None,
            serde_json::Value::String(all) if all == "*" => None,
            serde_json::Value::Array(items) => Some(device_ids("devices", items)?),
            _ => return Err("devices must be \"*\" or a list of device ids".into()),
        };
        let live = match &value["live"] {
            serde_json::Value::Null => None,
            serde_json::Value::Array(items) => Some(device_ids("live", items)?),
            _ => return Err("live must be a list of device ids".into()),
        };
        let kinds = match &value["kinds"] {
            serde_json::Value::Null => None,
            serde_json::Value::Array(items) => Some(
                items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .filter(|k| KINDS.contains(k))
                            .map(str::to_owned)
                            .ok_or_else(|| format!("kinds: {i} is not one of {}", KINDS.join(", ")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err("kinds must be a list".into()),
        };
        Ok(Self {
            devices,
            kinds,
            live,
        })
    }

    /// The devices whose live view this client shows: `live` when given, else the devices
    /// listed by id.
    pub fn shown(&self) -> Option<&HashSet<DeviceId>> {
        self.live.as_ref().or(self.devices.as_ref())
    }

    /// True when the client should get `message`.
    pub fn wants(&self, message: &Outgoing, subscribed: bool) -> bool {
        if message.live {
            // Live-view samples go only to clients showing that device.
            let shown = subscribed
                && message
                    .device
                    .as_ref()
                    .is_some_and(|d| self.shown().is_some_and(|set| set.contains(d)));
            return shown && self.kinds.as_ref().is_none_or(|k| k.contains("sample"));
        }
        let device_ok = match (&self.devices, &message.device) {
            (Some(set), Some(device)) => set.contains(device),
            _ => true,
        };
        device_ok && self.kinds.as_ref().is_none_or(|k| k.contains(message.kind))
    }
}

/// Tells every `/ws` connection to close when the gateway stops, and lets the gateway wait
/// until they have: each connection holds a receiver, and the sender sees when none is left.
#[derive(Debug, Clone)]
pub struct ClientShutdown {
    stopping: watch::Sender<bool>,
}

impl Default for ClientShutdown {
    fn default() -> Self {
        Self {
            stopping: watch::Sender::new(false),
        }
    }
}

impl ClientShutdown {
    /// Tells every connection to close and waits until all have, or `limit` has passed;
    /// whether all have.
    pub async fn close_all(&self, limit: std::time::Duration) -> bool {
        self.stopping.send_replace(true);
        tokio::time::timeout(limit, self.stopping.closed())
            .await
            .is_ok()
    }
}

/// Resolves when the gateway stops (at once if it already has).
async fn gateway_stopped(mut stopping: watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// How many clients show each device, for the live view; published to the scheduler.
#[derive(Debug, Clone, Default)]
pub struct Viewers {
    counts: Arc<std::sync::Mutex<HashMap<DeviceId, usize>>>,
    changed: Arc<tokio::sync::Notify>,
}

impl Viewers {
    fn add(&self, devices: &HashSet<DeviceId>) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for device in devices {
            *counts.entry(device.clone()).or_default() += 1;
        }
        drop(counts);
        self.changed.notify_one();
    }

    fn remove(&self, devices: &HashSet<DeviceId>) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for device in devices {
            if let Some(n) = counts.get_mut(device) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(device);
                }
            }
        }
    }

    /// The devices shown now.
    pub fn shown(&self) -> Vec<DeviceId> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}

/// How long a published watch holds; it is renewed every [`WATCH_EVERY`].
pub const WATCH_TTL_MS: u64 = 6_000;
/// How often the shown devices are published.
pub const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Tells the scheduler which devices are shown, every [`WATCH_EVERY`] and at once when a
/// client starts showing one; stops saying it when no client shows it (the scheduler lets
/// the live polling lapse after [`WATCH_TTL_MS`]).
pub async fn publish_viewers(client: async_nats::Client, viewers: Viewers) {
    loop {
        let _ = tokio::time::timeout(WATCH_EVERY, viewers.changed.notified()).await;
        let devices = viewers.shown();
        if devices.is_empty() {
            continue;
        }
        let watch = netpulse_shared::messages::Watch {
            schema: netpulse_shared::messages::SCHEMA_VERSION,
            devices,
            ttl_ms: WATCH_TTL_MS,
        };
        if let Ok(payload) = serde_json::to_vec(&watch) {
            if let Err(error) = client.publish(subjects::WATCH, payload.into()).await {
                tracing::warn!(%error, "cannot publish the shown devices");
            }
        }
    }
}

/// Counters and rates of one interface in a sample.
///
/// Counters travel as decimal strings: a 64-bit counter does not fit a JavaScript number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceRate {
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
    pub fn seen(&self, cached: bool) -> crate::metrics::CacheSeen {
        crate::metrics::CacheSeen {
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
    pub fn step(&mut self, sample: &Sample) -> (Vec<InterfaceRate>, bool) {
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
            .map(|i| InterfaceRate {
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
) -> Vec<InterfaceRate> {
    let mut rates: Vec<InterfaceRate> = current
        .interfaces
        .iter()
        .filter_map(|known| {
            let (in_octets, out_octets) = (known.in_octets?, known.out_octets?);
            let (in_bps, out_bps, gap) = rate_of(known.index);
            Some(InterfaceRate {
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

/// The latest normal sample of each device as the overview shows it: when, sysUpTime, the
/// rates of each interface and their totals. Filled by [`fan_out`]; empty after a restart
/// until each device's next poll.
#[derive(Debug, Clone, Default)]
pub struct Latest(Arc<std::sync::Mutex<HashMap<DeviceId, LatestSample>>>);

/// A device's latest sample as the overview shows it. Kept typed (a few hundred bytes a
/// device), turned into JSON only when asked for.
#[derive(Debug, Clone, Serialize)]
struct LatestSample {
    time_ms: u64,
    uptime_ticks: Option<u32>,
    /// Totals over the interfaces that have a rate; `None` when none has one.
    in_bps: Option<f64>,
    out_bps: Option<f64>,
    interfaces: Vec<LatestInterface>,
}

/// One interface of a [`LatestSample`].
#[derive(Debug, Clone, Serialize)]
struct LatestInterface {
    index: u32,
    name: Option<String>,
    speed_bps: Option<u64>,
    in_bps: Option<f64>,
    out_bps: Option<f64>,
    #[serde(flatten)]
    errors: ErrorCounters<f64>,
}

impl Latest {
    /// The device's latest sample summary, if one came since the gateway started.
    pub fn get(&self, device: &DeviceId) -> Option<serde_json::Value> {
        let found = self.lock().get(device).cloned()?;
        serde_json::to_value(found).ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DeviceId, LatestSample>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(
        &self,
        device: &DeviceId,
        time_ms: u64,
        uptime: Option<u32>,
        rates: &[InterfaceRate],
    ) {
        let total = |pick: fn(&InterfaceRate) -> Option<f64>| {
            rates.iter().filter_map(pick).reduce(|a, b| a + b)
        };
        let summary = LatestSample {
            time_ms,
            uptime_ticks: uptime,
            in_bps: total(|r| r.in_bps),
            out_bps: total(|r| r.out_bps),
            interfaces: rates
                .iter()
                .map(|r| LatestInterface {
                    index: r.index,
                    name: r.name.clone(),
                    speed_bps: r.speed_bps,
                    in_bps: r.in_bps,
                    out_bps: r.out_bps,
                    errors: r.errors,
                })
                .collect(),
        };
        self.lock().insert(device.clone(), summary);
    }

    fn forget(&self, device: &DeviceId) {
        self.lock().remove(device);
    }
}

/// Sender side of the fan-out: JSON text, ready to send.
pub type LiveSender = broadcast::Sender<Arc<Outgoing>>;

/// Reads NATS and the registry, and broadcasts `/ws` messages until the subscriptions end.
pub async fn fan_out(
    client: async_nats::Client,
    registry: kv::Store,
    live: LiveSender,
    latest: Latest,
    metrics: crate::metrics::Metrics,
) -> anyhow::Result<()> {
    let mut samples = client.subscribe(subjects::SAMPLE_ALL).await?;
    let mut failures = client.subscribe(subjects::FAILURE_ALL).await?;
    let mut statuses = client.subscribe(subjects::STATUS_ALL).await?;
    let mut logs = client.subscribe(subjects::LOG_ALL).await?;
    let mut live_samples = client.subscribe(subjects::LIVE_ALL).await?;
    let mut alerts = client.subscribe(subjects::ALERT_ALL).await?;
    let mut live_rates: HashMap<DeviceId, DeviceRates> = HashMap::new();
    let mut changes = registry.watch_all().await?;
    let mut rates: HashMap<DeviceId, DeviceRates> = HashMap::new();
    loop {
        let (device, kind, live_view, text) = tokio::select! {
            Some(message) = samples.next() => {
                let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) else {
                    tracing::debug!(subject = %message.subject, "ignoring malformed sample");
                    continue;
                };
                if subjects::device_of(&message.subject).as_ref() != Some(&sample.device) {
                    continue;
                }
                // Samples can arrive out of order when several pollers run: rate only forward.
                let device_rates = rates.entry(sample.device.clone()).or_default();
                let in_order = device_rates.in_order(&sample);
                let (interfaces, cached) = device_rates.step(&sample);
                metrics.sample(&sample, &interfaces, &device_rates.seen(cached));
                if in_order {
                    latest.record(&sample.device, sample.time_ms, sample.uptime_ticks, &interfaces);
                }
                let text = serde_json::to_string(&LiveMessage::Sample {
                    device: &sample.device,
                    time_ms: sample.time_ms,
                    uptime_ticks: sample.uptime_ticks,
                    interfaces,
                    values: browser_values(&sample.values),
                    live: false,
                });
                (Some(sample.device), "sample", false, text)
            }
            Some(message) = live_samples.next() => {
                let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) else {
                    continue;
                };
                if subjects::device_of(&message.subject).as_ref() != Some(&sample.device) {
                    continue;
                }
                let device_rates = live_rates.entry(sample.device.clone()).or_default();
                let (interfaces, cached) = device_rates.step(&sample);
                metrics.live_sample(&sample.device, &device_rates.seen(cached));
                let text = serde_json::to_string(&LiveMessage::Sample {
                    device: &sample.device,
                    time_ms: sample.time_ms,
                    uptime_ticks: sample.uptime_ticks,
                    interfaces,
                    values: browser_values(&sample.values),
                    live: true,
                });
                (Some(sample.device), "sample", true, text)
            }
            Some(message) = failures.next() => {
                let Ok(failure) = serde_json::from_slice::<PollFailure>(&message.payload) else {
                    continue;
                };
                metrics.failure(&failure);
                let text = serde_json::to_string(&LiveMessage::Failure {
                    device: &failure.device,
                    time_ms: failure.time_ms,
                    reason: &failure.reason,
                });
                (Some(failure.device), "failure", false, text)
            }
            Some(message) = statuses.next() => {
                let Ok(change) = serde_json::from_slice::<ReachabilityChanged>(&message.payload) else {
                    continue;
                };
                let text = serde_json::to_string(&LiveMessage::Status {
                    device: &change.device,
                    state: change.state,
                    previous: change.previous,
                    time_ms: change.time_ms,
                    reason: &change.reason,
                });
                (Some(change.device), "status", false, text)
            }
            Some(message) = logs.next() => {
                let Ok(entry) = serde_json::from_slice::<netpulse_shared::logs::LogEntry>(&message.payload) else {
                    continue;
                };
                if subjects::device_of(&message.subject).as_ref() != Some(&entry.device) {
                    continue;
                }
                let text = serde_json::to_string(&LiveMessage::Log { entry: browser_entry(&entry) });
                (Some(entry.device), "log", false, text)
            }
            Some(message) = alerts.next() => {
                let Ok(mut event) = serde_json::from_slice::<netpulse_shared::alert::AlertEvent>(&message.payload) else {
                    continue;
                };
                event.alert.outbox.clear();
                (None, "alert", false, serde_json::to_string(&LiveMessage::Alert { event: Box::new(event) }))
            }
            Some(change) = changes.next() => {
                let Ok(entry) = change else { continue };
                match entry.operation {
                    kv::Operation::Put => {
                        let Ok(device) = serde_json::from_slice::<Device>(&entry.value) else { continue };
                        let text = serde_json::to_string(&LiveMessage::DeviceAdded { device: device.view() });
                        (Some(device.id), "device_added", false, text)
                    }
                    kv::Operation::Delete | kv::Operation::Purge => {
                        if let Ok(id) = DeviceId::parse(&entry.key) {
                            rates.remove(&id);
                            live_rates.remove(&id);
                            latest.forget(&id);
                        }
                        let text = serde_json::to_string(&LiveMessage::DeviceRemoved { device: &entry.key });
                        (DeviceId::parse(&entry.key).ok(), "device_removed", false, text)
                    }
                }
            }
            else => break,
        };
        match text {
            // No receivers is fine: nobody is watching.
            Ok(text) => drop(live.send(Arc::new(Outgoing {
                device,
                kind,
                live: live_view,
                text,
            }))),
            Err(error) => tracing::error!(%error, "cannot encode live message"),
        }
    }
    Ok(())
}

/// `GET /ws`: the live stream, for any signed-in user.
pub fn route(
    live: LiveSender,
    viewers: Viewers,
    auth: &crate::auth::Auth,
    shutdown: ClientShutdown,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let auth = auth.clone();
    warp::path!("ws")
        .and(auth.require(crate::auth::Role::Viewer))
        .and(warp::header::headers_cloned())
        .and(warp::ws())
        .map(move |_, headers: warp::http::HeaderMap, ws: Ws| {
            let receiver = live.subscribe();
            let viewers = viewers.clone();
            let stopping = shutdown.stopping.subscribe();
            // The session was just checked, so the request has a token.
            let token = crate::auth::token_of(&headers)
                .map(|(t, _)| t)
                .unwrap_or_default();
            let ended = session_ended(auth.clone(), token);
            ws.max_message_size(64 * 1024)
                .on_upgrade(move |socket| serve_client(socket, receiver, viewers, stopping, ended))
        })
}

/// How often an open /ws checks that its session still holds.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves once the session of `token` has ended (signed out, password changed, user
/// deleted, expired). While the session store is unreachable the session is taken to hold.
/// Each check counts as a use: a page left open keeps its session until its absolute limit.
async fn session_ended(auth: crate::auth::Auth, token: String) {
    loop {
        tokio::time::sleep(SESSION_CHECK).await;
        if let Ok(None) = auth.sessions.touch(&token).await {
            return;
        }
    }
}

async fn serve_client(
    socket: WebSocket,
    mut receiver: broadcast::Receiver<Arc<Outgoing>>,
    viewers: Viewers,
    stopping: watch::Receiver<bool>,
    session_ended: impl std::future::Future<Output = ()>,
) {
    let (mut to_client, mut from_client) = socket.split();
    let stopped = gateway_stopped(stopping);
    tokio::pin!(stopped);
    tokio::pin!(session_ended);
    let mut subscription = Subscription::default();
    let mut subscribed = false;
    loop {
        let text = tokio::select! {
            () = &mut stopped => break,
            () = &mut session_ended => {
                tracing::info!("session over: closing its live stream");
                break;
            }
            incoming = from_client.next() => match incoming {
                Some(Ok(message)) if message.is_text() => {
                    match Subscription::parse(message.to_str().unwrap_or_default()) {
                        Ok(next) => {
                            // Devices shown count as viewed: the live view polls them.
                            if let Some(devices) = subscription.shown() {
                                viewers.remove(devices);
                            }
                            if let Some(devices) = next.shown() {
                                viewers.add(devices);
                            }
                            subscription = next;
                            subscribed = true;
                            continue;
                        }
                        Err(error) => serde_json::to_string(&LiveMessage::Error { error }).unwrap_or_default(),
                    }
                }
                Some(Ok(message)) if !message.is_close() => continue,
                _ => break,
            },
            outgoing = receiver.recv() => match outgoing {
                Ok(message) if subscription.wants(&message, subscribed) => message.text.clone(),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "live client lagging");
                    serde_json::to_string(&LiveMessage::Lagged { missed }).unwrap_or_default()
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        let sent = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            to_client.send(Message::text(text)),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
    }
    if let Some(devices) = subscription.shown() {
        viewers.remove(devices);
    }
    // A close frame; a client too slow to take it has its connection dropped.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), to_client.close()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::snmp::Oid;

    fn sample(time_ms: u64, uptime: u32, in_octets: u64, out_octets: u64) -> Sample {
        let vb = |oid: &str, value| VarBind {
            oid: Oid::parse(oid).expect("oid"),
            value,
        };
        Sample::from_answers(
            format!("d-{time_ms}"),
            DeviceId::parse("d").expect("id"),
            time_ms,
            Some(uptime),
            vec![
                vb("1.3.6.1.2.1.1.3.0", SnmpValue::Timeticks(uptime)),
                vb("1.3.6.1.2.1.31.1.1.1.6.3", SnmpValue::Counter64(in_octets)),
                vb(
                    "1.3.6.1.2.1.31.1.1.1.10.3",
                    SnmpValue::Counter64(out_octets),
                ),
            ],
            &[],
        )
    }

    #[test]
    fn rates_come_from_the_previous_sample() {
        let mut rates = DeviceRates::default();
        let first = sample(0, 100, 500, 2_000);
        let (interfaces, _) = rates.step(&first);
        assert_eq!(interfaces[0].in_bps, None);
        // Rates start at a reading known fresh (the counters had just moved), or at one long
        // enough ago that no cache lasts that long.
        let (interfaces, _) = rates.step(&sample(10_000, 1100, 1_000, 2_000));
        assert_eq!(interfaces[0].in_bps, None);
        let second = sample(20_000, 2100, 13_500, 2_000);
        let (interfaces, _) = rates.step(&second);
        assert_eq!(interfaces[0].index, 3);
        assert_eq!(interfaces[0].in_bps, Some(10_000.0));
        assert_eq!(interfaces[0].out_bps, Some(0.0));
        // An older sample delivered late: counters, no rate.
        let (interfaces, _) = rates.step(&sample(15_000, 600, 5_000, 2_000));
        assert_eq!(
            (interfaces[0].in_octets.as_str(), interfaces[0].in_bps),
            ("5000", None)
        );
        // A reboot between the two: no rate rather than a spike.
        let rebooted = sample(30_000, 50, 10, 10);
        let (interfaces, _) = rates.step(&rebooted);
        assert_eq!(interfaces[0].in_bps, None);
        assert_eq!(interfaces[0].gap, Some("restart"));
    }

    #[test]
    fn a_cached_reading_shows_the_last_real_rate() {
        let mut rates = DeviceRates::default();
        // Polled every second; the agent refreshes its counters every three.
        let counters = [0, 3_000, 3_000, 3_000, 6_000, 6_000, 6_000, 9_000, 9_000];
        let mut shown = Vec::new();
        for (n, value) in counters.into_iter().enumerate() {
            let time = 10_000 + 1000 * n as u64;
            let (interfaces, cached) = rates.step(&sample(time, time as u32 / 10, value, value));
            shown.push((interfaces[0].in_bps, cached, interfaces[0].cached));
        }
        let bps = Some(8_000.0);
        assert_eq!(
            shown,
            vec![
                (None, false, false),
                // The first reading may have been an old cached one: no rate from it.
                (None, false, false),
                (None, true, false),
                (None, true, false),
                (bps, false, false),
                (bps, true, true),
                (bps, true, true),
                (bps, false, false),
                (bps, true, true),
            ],
            "no zero, no saw-tooth"
        );
        assert_eq!(rates.cache_period_ms(), Some(3000));
    }

    #[test]
    fn errors_and_discards_per_second_go_with_the_rates() {
        let mut rates = DeviceRates::default();
        let with_errors = |time_ms: u64, octets: u64, in_errors: u32| {
            let mut s = sample(
                time_ms,
                u32::try_from(time_ms / 10).expect("ticks"),
                octets,
                0,
            );
            let interface = &mut s.interfaces[0];
            assert_eq!(interface.index, 3);
            interface.in_errors = Some(u64::from(in_errors));
            interface.out_errors = Some(0);
            interface.in_discards = Some(0);
            interface.out_discards = Some(0);
            s
        };
        rates.step(&with_errors(0, 0, 0));
        rates.step(&with_errors(1000, 100, 1));
        rates.step(&with_errors(2000, 100, 1));
        let (interfaces, _) = rates.step(&with_errors(3000, 200, 4));
        assert_eq!(interfaces[0].errors.in_errors, Some(1.5));
        // A cached reading repeats the last real rates, errors too.
        let (interfaces, cached) = rates.step(&with_errors(4000, 200, 4));
        assert!(cached);
        assert_eq!(interfaces[0].errors.in_errors, Some(1.5));
        let json = serde_json::to_value(&interfaces[0]).expect("json");
        assert_eq!(json["in_errors_ps"], 1.5);
        assert_eq!(json["out_discards_ps"], 0.0);
        // Without the counters: absent.
        let (interfaces, _) = rates.step(&sample(10_000, 1000, 900, 0));
        let json = serde_json::to_value(&interfaces[0]).expect("json");
        assert!(json.get("in_errors_ps").is_none(), "{json}");
    }

    #[test]
    fn subscriptions_choose_what_a_client_gets() {
        let out = |device: &str, kind, live| Outgoing {
            device: DeviceId::parse(device).ok(),
            kind,
            live,
            text: String::new(),
        };
        let everything = Subscription::default();
        assert!(everything.wants(&out("a", "sample", false), false));
        assert!(
            !everything.wants(&out("a", "sample", true), false),
            "no live view unasked"
        );
        let one =
            Subscription::parse(r#"{"type": "subscribe", "devices": ["a"], "kinds": ["sample"]}"#)
                .expect("subscription");
        assert!(one.wants(&out("a", "sample", true), true));
        assert!(one.wants(&out("a", "sample", false), true));
        assert!(!one.wants(&out("b", "sample", false), true));
        assert!(!one.wants(&out("a", "status", false), true));
        let all = Subscription::parse(r#"{"type": "subscribe", "devices": "*"}"#).expect("all");
        assert!(all.wants(&out("b", "log", false), true));
        assert!(
            !all.wants(&out("b", "sample", true), true),
            "live samples need the device by id"
        );
        // A page showing every device's status and one device's live view.
        let page = Subscription::parse(
            r#"{"type": "subscribe", "devices": "*", "kinds": ["sample", "status"], "live": ["a"]}"#,
        )
        .expect("page");
        assert!(page.wants(&out("a", "sample", true), true));
        assert!(!page.wants(&out("b", "sample", true), true));
        assert!(page.wants(&out("b", "sample", false), true));
        assert!(page.wants(&out("b", "status", false), true));
        let none = Subscription::parse(r#"{"type": "subscribe", "devices": ["a"], "live": []}"#)
            .expect("no live view");
        assert!(!none.wants(&out("a", "sample", true), true));
        assert_eq!(none.shown().map(HashSet::len), Some(0));
        for (bad, says) in [
            (r#"{"type": "subscribe", "live": "a"}"#, "live"),
            (r#"{"type": "subscribe", "live": ["A B"]}"#, "live"),
            ("nonsense", "not JSON"),
            (r#"{"type": "hello"}"#, "subscribe"),
            (r#"{"type": "subscribe", "devices": ["A B"]}"#, "devices"),
            (r#"{"type": "subscribe", "kinds": ["everything"]}"#, "kinds"),
            (r#"{"type": "subscribe", "colour": 1}"#, "colour"),
        ] {
            let error = Subscription::parse(bad).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn trap_counters_reach_the_browser_exactly() {
        use netpulse_shared::logs::{LogEntry, LogKind, Severity, TrapInfo};
        let mut entry = LogEntry::new(
            "e1".into(),
            DeviceId::parse("d").expect("id"),
            1,
            1,
            LogKind::Trap,
            Severity::Notice,
            "linkUp".into(),
        );
        let big = u64::MAX - 1;
        entry.trap = Some(TrapInfo {
            version: "2c".into(),
            pdu: "trap".into(),
            trap_oid: "1.3.6.1.6.3.1.1.5.4".into(),
            uptime_ticks: Some(5),
            varbinds: vec![VarBind {
                oid: Oid::parse("1.3.6.1.2.1.31.1.1.1.6.1").expect("oid"),
                value: SnmpValue::Counter64(big),
            }],
        });
        let text = serde_json::to_value(LiveMessage::Log {
            entry: browser_entry(&entry),
        })
        .expect("json");
        assert_eq!(text["type"], "log");
        assert_eq!(text["device"], "d");
        assert_eq!(text["trap"]["varbinds"][0]["value"], big.to_string());
        assert_eq!(text["trap"]["trap_oid"], "1.3.6.1.6.3.1.1.5.4");
    }

    #[test]
    fn messages_carry_type_and_device() {
        let mut s = sample(10_000, 100, 1, 2);
        // An extra OID that is a 64-bit counter.
        s.values.push(VarBind {
            oid: Oid::parse("1.3.6.1.4.1.9.9.1.0").expect("oid"),
            value: SnmpValue::Counter64(u64::MAX),
        });
        let text = serde_json::to_value(LiveMessage::Sample {
            device: &s.device,
            time_ms: s.time_ms,
            uptime_ticks: s.uptime_ticks,
            interfaces: interface_rates(&s, |_| (None, None, None)),
            values: browser_values(&s.values),
            live: false,
        })
        .expect("json");
        assert_eq!(text["type"], "sample");
        assert_eq!(text["device"], "d");
        assert_eq!(text["interfaces"][0]["in_octets"], "1");
        assert_eq!(
            text["values"][1]["value"],
            u64::MAX.to_string(),
            "Counter64 values reach the browser exactly"
        );
        assert!(text["interfaces"][0]["in_bps"].is_null());
    }
}
