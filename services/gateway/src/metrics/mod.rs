//! `GET /metrics`: Prometheus' text exposition format.
//!
//! Per device and interface: the octet counters as the agent reports them, the rates since
//! the previous poll, speed and oper status (labels `device`, `name`, `if_index`, `if_name`,
//! `if_alias`: snake case, as Prometheus names labels, and rates in bytes, its base unit); per device: up or down, the last poll's
//! duration and time, polls and failures. And netpulse's own health: every service's
//! heartbeat (up, start time, NATS reconnections), the recorder's backlog in JetStream and
//! how far behind it is, and the WebSocket clients of this gateway.
//!
//! Everything per device is kept in memory from what this gateway sees on NATS: counters and
//! rates appear with each device's first poll after the gateway starts.

pub mod exposition;
mod render;
pub mod scrape;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_nats::jetstream::kv;
use futures::StreamExt;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::discovery::DeviceInterfaces;
use netpulse_shared::health::{self, Health};
use netpulse_shared::messages::{PollFailure, PollStats, Reachability, Sample};
use netpulse_shared::{bus, subjects};
use serde::Deserialize;
use serde::Serialize;

use crate::live::rates::{CacheSeen, ShownInterface};

/// The content type of the text format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A service that has not reported for this long counts as down; after ten times as long,
/// it is forgotten (a process that went away for good).
const SERVICE_SILENT: Duration = Duration::from_secs(3 * health::EVERY.as_secs());

/// What `/metrics` reports, filled from NATS.
#[derive(Debug, Clone, Default)]
pub struct Metrics(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    /// Device names, from the registry.
    names: HashMap<DeviceId, String>,
    /// Reachability, from the status bucket.
    reachability: HashMap<DeviceId, Reachability>,
    /// (ifName, ifAlias) by ifIndex, from discovery.
    labels: HashMap<DeviceId, HashMap<u32, (String, String)>>,
    /// What the polls of each device gave.
    polled: HashMap<DeviceId, Polled>,
    /// The latest heartbeat of each (service, instance).
    services: HashMap<(String, String), Health>,
    /// Polls and failures seen since this gateway started.
    polls: u64,
    failures: u64,
    /// `/ws` clients closed for being too slow since this gateway started.
    slow_clients_closed: u64,
}

/// How a device's polls went since this gateway started, as `GET /api/devices/{id}` shows
/// them (`poll_stats`).
#[derive(Debug, Clone, Serialize)]
pub struct DevicePollStats {
    /// The latest sample's time, Unix milliseconds; null before the first.
    pub last_poll_ms: Option<u64>,
    /// How long the latest poll took.
    pub last_duration_ms: Option<u64>,
    /// Samples seen.
    pub polls: u64,
    /// Failed polls seen.
    pub failures: u64,
    /// Requests sent again after a timeout or a bad reply.
    pub retries: u64,
    /// Requests that got no usable reply in time.
    pub timeouts: u64,
    /// Replies thrown away, by kind (`malformed`, `wrong_request_id`, ...).
    pub bad_replies: std::collections::BTreeMap<String, u64>,
    /// SNMPv3: times the agent's engine was discovered again (it rebooted, its clock moved).
    pub resyncs: u64,
    /// SNMPv3: the agent's engine ID (hex), from its latest sample.
    pub engine_id: Option<String>,
    /// Other devices answering with the same engine ID.
    pub engine_id_shared_with: Vec<DeviceId>,
    /// Samples the agent answered from its counter cache (counters not moved yet).
    pub cached_readings: u64,
    /// The agent's cache period as learned.
    pub cache_period_ms: Option<u64>,
    /// The latest failed poll.
    pub last_failure: Option<LastFailure>,
    /// The GETBULK size discovery settled on; null before discovery ran.
    pub max_repetitions: Option<u32>,
}

/// When and why a poll last failed.
#[derive(Debug, Clone, Serialize)]
pub struct LastFailure {
    /// When, Unix milliseconds.
    pub time_ms: u64,
    /// Why.
    pub reason: String,
}

#[derive(Debug, Default)]
struct Polled {
    time_ms: u64,
    duration_ms: Option<u64>,
    polls: u64,
    failures: u64,
    retries: u64,
    timeouts: u64,
    bad_replies: std::collections::BTreeMap<String, u64>,
    last_failure: Option<(u64, String)>,
    interfaces: Vec<InterfaceSeries>,
    resyncs: u64,
    /// SNMPv3: the agent's engine ID (hex), from its latest sample.
    engine_id: Option<String>,
    /// Readings the agent answered from its cache.
    cached_readings: u64,
    /// The agent's cache period learned from normal polls and from the live view's.
    cache_period_ms: [Option<u64>; 2],
}

impl Polled {
    /// Counts what a sample (`live`: of the live view) showed of the agent's cache.
    fn cache_seen(&mut self, live: bool, cache: &CacheSeen) {
        self.cached_readings += u64::from(cache.cached);
        self.cache_period_ms[usize::from(live)] = cache.period_ms;
    }

    fn add(&mut self, stats: &PollStats) {
        self.retries += u64::from(stats.retries);
        self.timeouts += u64::from(stats.timeouts);
        self.resyncs += u64::from(stats.resyncs);
        for (kind, n) in &stats.bad_replies {
            // Kinds come from pollers; a kind name goes into a label: keep it plain.
            if kind.len() <= 32 && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                *self.bad_replies.entry(kind.clone()).or_default() += u64::from(*n);
            }
        }
    }
}

#[derive(Debug)]
struct InterfaceSeries {
    index: u32,
    in_octets: Option<u64>,
    out_octets: Option<u64>,
    in_bps: Option<f64>,
    out_bps: Option<f64>,
    speed_bps: Option<u64>,
    oper_status: Option<i64>,
}

impl Metrics {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A sample arrived, with the rates the live stream computed from it.
    pub fn sample(&self, sample: &Sample, rates: &[ShownInterface], cache: &CacheSeen) {
        let interfaces = rates
            .iter()
            .map(|rate| {
                let polled = sample.interfaces.iter().find(|i| i.index == rate.index);
                InterfaceSeries {
                    index: rate.index,
                    in_octets: polled.and_then(|i| i.in_octets),
                    out_octets: polled.and_then(|i| i.out_octets),
                    in_bps: rate.in_bps,
                    out_bps: rate.out_bps,
                    speed_bps: rate.speed_bps,
                    oper_status: polled.and_then(|i| i.oper_status),
                }
            })
            .collect();
        let mut state = self.lock();
        state.polls += 1;
        let polled = state.polled.entry(sample.device.clone()).or_default();
        polled.polls += 1;
        polled.add(&sample.stats);
        polled.cache_seen(false, cache);
        // Samples may come out of order from several pollers: keep the newest reading.
        if sample.time_ms >= polled.time_ms {
            polled.time_ms = sample.time_ms;
            polled.duration_ms = sample.duration_ms;
            polled.interfaces = interfaces;
            polled.engine_id.clone_from(&sample.engine_id);
        }
    }

    /// A sample of the live view arrived: what its rates showed of the agent's cache.
    pub fn live_sample(&self, device: &DeviceId, cache: &CacheSeen) {
        let mut state = self.lock();
        let polled = state.polled.entry(device.clone()).or_default();
        polled.cache_seen(true, cache);
    }

    /// A `/ws` client was closed for being too slow.
    pub fn slow_client_closed(&self) {
        self.lock().slow_clients_closed += 1;
    }

    /// A poll failed.
    pub fn failure(&self, failure: &PollFailure) {
        let mut state = self.lock();
        state.failures += 1;
        let polled = state.polled.entry(failure.device.clone()).or_default();
        polled.failures += 1;
        polled.add(&failure.stats);
        polled.last_failure = Some((failure.time_ms, failure.reason.clone()));
    }

    /// A device's reachability as the status watch last told (unknown before).
    pub fn reachability(&self, device: &DeviceId) -> Reachability {
        self.lock()
            .reachability
            .get(device)
            .copied()
            .unwrap_or(Reachability::Unknown)
    }

    /// A device's poll statistics since this gateway started, for the API (zeros before its
    /// first poll).
    pub fn poll_stats(&self, device: &DeviceId) -> DevicePollStats {
        let state = self.lock();
        let none = Polled::default();
        let polled = state.polled.get(device).unwrap_or(&none);
        // Two agents with one engine ID confuse any SNMPv3 manager or trap receiver that
        // keeps state per engine: show each the others.
        let mut shared_with: Vec<DeviceId> = match &polled.engine_id {
            Some(engine) => state
                .polled
                .iter()
                .filter(|(id, p)| *id != device && p.engine_id.as_ref() == Some(engine))
                .map(|(id, _)| id.clone())
                .collect(),
            None => Vec::new(),
        };
        shared_with.sort_unstable();
        DevicePollStats {
            last_poll_ms: (polled.time_ms > 0).then_some(polled.time_ms),
            last_duration_ms: polled.duration_ms,
            polls: polled.polls,
            failures: polled.failures,
            retries: polled.retries,
            timeouts: polled.timeouts,
            bad_replies: polled.bad_replies.clone(),
            resyncs: polled.resyncs,
            engine_id: polled.engine_id.clone(),
            engine_id_shared_with: shared_with,
            cached_readings: polled.cached_readings,
            cache_period_ms: polled.cache_period_ms[0].or(polled.cache_period_ms[1]),
            last_failure: polled
                .last_failure
                .as_ref()
                .map(|(time_ms, reason)| LastFailure {
                    time_ms: *time_ms,
                    reason: reason.clone(),
                }),
            max_repetitions: None,
        }
    }

    fn heartbeat(&self, beat: Health) {
        self.lock()
            .services
            .insert((beat.service.clone(), beat.instance.clone()), beat);
    }

    /// A device was added or changed: its name labels its series.
    pub(crate) fn device_changed(&self, device: &Device) {
        self.lock()
            .names
            .insert(device.id.clone(), device.name.as_str().to_owned());
    }

    /// A device was deleted: its series go.
    pub(crate) fn device_removed(&self, id: &DeviceId) {
        let mut state = self.lock();
        state.names.remove(id);
        state.reachability.remove(id);
        state.labels.remove(id);
        state.polled.remove(id);
    }

    fn status_changed(&self, entry: &kv::Entry) {
        #[derive(Deserialize)]
        struct Stored {
            state: Reachability,
        }
        let Ok(id) = DeviceId::parse(&entry.key) else {
            return;
        };
        let mut state = self.lock();
        match serde_json::from_slice::<Stored>(&entry.value) {
            Ok(stored) if entry.operation == kv::Operation::Put => {
                state.reachability.insert(id, stored.state);
            }
            _ => {
                state.reachability.remove(&id);
            }
        }
    }

    fn interfaces_changed(&self, entry: &kv::Entry) {
        let Ok(id) = DeviceId::parse(&entry.key) else {
            return;
        };
        let mut state = self.lock();
        match serde_json::from_slice::<DeviceInterfaces>(&entry.value) {
            Ok(found) if entry.operation == kv::Operation::Put => {
                let labels = found
                    .interfaces
                    .into_iter()
                    .map(|i| (i.index, (i.key(), i.alias)))
                    .collect();
                state.labels.insert(id, labels);
            }
            _ => {
                state.labels.remove(&id);
            }
        }
    }
}

/// Follows the status and interfaces buckets and the heartbeats into `metrics` until the
/// connection closes (the live reader follows the registry: see `Observer::apply`).
pub async fn follow(
    client: async_nats::Client,
    metrics: Metrics,
    status: kv::Store,
    interfaces: kv::Store,
    found: crate::fleet::found::HeldInterfaces,
) {
    let statuses = async {
        let mut changes = bus::Following::new(status);
        loop {
            metrics.status_changed(&changes.next().await);
        }
    };
    // One watch of the discoveries for the metrics' labels and the fleet views.
    let discoveries = async {
        let mut changes = bus::Following::new(interfaces);
        loop {
            let entry = changes.next().await;
            metrics.interfaces_changed(&entry);
            found.apply(&entry);
        }
    };
    let heartbeats = async {
        let Ok(mut beats) = client.subscribe(subjects::HEALTH_ALL).await else {
            return;
        };
        while let Some(message) = beats.next().await {
            if let Ok(beat) = serde_json::from_slice::<Health>(&message.payload) {
                metrics.heartbeat(beat);
            }
        }
    };
    tokio::join!(statuses, discoveries, heartbeats);
}
