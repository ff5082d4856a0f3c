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

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::discovery::DeviceInterfaces;
use netpulse_shared::health::{self, Health};
use netpulse_shared::messages::{PollFailure, PollStats, Reachability, Sample};
use netpulse_shared::{subjects, time};
use serde::Deserialize;
use warp::http::{HeaderMap, Method};
use warp::{Filter, Rejection, Reply};

use crate::auth::{Auth, Role};
use crate::live::protocol::LiveSender;
use crate::live::rates::{CacheSeen, InterfaceRate};
use netpulse_shared::usm::Secret;

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
    pub fn sample(&self, sample: &Sample, rates: &[InterfaceRate], cache: &CacheSeen) {
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

    /// A poll failed.
    pub fn failure(&self, failure: &PollFailure) {
        let mut state = self.lock();
        state.failures += 1;
        let polled = state.polled.entry(failure.device.clone()).or_default();
        polled.failures += 1;
        polled.add(&failure.stats);
        polled.last_failure = Some((failure.time_ms, failure.reason.clone()));
    }

    /// A device's poll statistics since this gateway started, for the API (zeros before its
    /// first poll).
    pub fn poll_stats(&self, device: &DeviceId) -> serde_json::Value {
        let state = self.lock();
        let none = Polled::default();
        let polled = state.polled.get(device).unwrap_or(&none);
        // Two agents with one engine ID confuse any SNMPv3 manager or trap receiver that
        // keeps state per engine: show each the others.
        let mut shared_with: Vec<&str> = match &polled.engine_id {
            Some(engine) => state
                .polled
                .iter()
                .filter(|(id, p)| *id != device && p.engine_id.as_ref() == Some(engine))
                .map(|(id, _)| id.as_str())
                .collect(),
            None => Vec::new(),
        };
        shared_with.sort_unstable();
        serde_json::json!({
            "last_poll_ms": (polled.time_ms > 0).then_some(polled.time_ms),
            "last_duration_ms": polled.duration_ms,
            "polls": polled.polls,
            "failures": polled.failures,
            "retries": polled.retries,
            "timeouts": polled.timeouts,
            "bad_replies": polled.bad_replies,
            "resyncs": polled.resyncs,
            "engine_id": polled.engine_id,
            "engine_id_shared_with": shared_with,
            "cached_readings": polled.cached_readings,
            "cache_period_ms": polled.cache_period_ms[0].or(polled.cache_period_ms[1]),
            "last_failure": polled.last_failure.as_ref().map(|(time_ms, reason)| {
                serde_json::json!({"time_ms": time_ms, "reason": reason})
            }),
        })
    }

    fn heartbeat(&self, beat: Health) {
        self.lock()
            .services
            .insert((beat.service.clone(), beat.instance.clone()), beat);
    }

    fn device_changed(&self, entry: &kv::Entry) {
        let Ok(id) = DeviceId::parse(&entry.key) else {
            return;
        };
        let mut state = self.lock();
        match entry.operation {
            kv::Operation::Put => {
                if let Ok(device) = serde_json::from_slice::<Device>(&entry.value) {
                    state.names.insert(id, device.name.as_str().to_owned());
                }
            }
            kv::Operation::Delete | kv::Operation::Purge => {
                state.names.remove(&id);
                state.reachability.remove(&id);
                state.labels.remove(&id);
                state.polled.remove(&id);
            }
        }
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

/// Follows the registry, the status and interfaces buckets and the heartbeats into `metrics`
/// until the connection closes.
pub async fn follow(
    client: async_nats::Client,
    metrics: Metrics,
    registry: kv::Store,
    status: kv::Store,
    interfaces: kv::Store,
) {
    let watch = |store: kv::Store, apply: fn(&Metrics, &kv::Entry)| {
        let metrics = metrics.clone();
        async move {
            loop {
                match store.watch_with_history(">").await {
                    Ok(mut changes) => {
                        while let Some(Ok(entry)) = changes.next().await {
                            apply(&metrics, &entry);
                        }
                    }
                    Err(error) => tracing::debug!(%error, "cannot watch a bucket for metrics"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
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
    tokio::join!(
        watch(registry, Metrics::device_changed),
        watch(status, Metrics::status_changed),
        watch(interfaces, Metrics::interfaces_changed),
        heartbeats,
    );
}

/// Who may read `/metrics`: a signed-in user of at least `role`, or whoever presents
/// `token` (a scrape token for Prometheus, which cannot sign in).
#[derive(Clone)]
pub struct Access {
    /// The least role that may read.
    pub role: Role,
    /// The scrape token, when configured.
    pub token: Option<Secret>,
}

/// `GET /metrics`.
pub fn route(
    metrics: Metrics,
    live: LiveSender,
    js: jetstream::Context,
    auth: Auth,
    access: Access,
    alerting: crate::alerts::Alerting,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and_then(move |method: Method, headers: HeaderMap| {
            let (metrics, live, js, auth, access, alerting) = (
                metrics.clone(),
                live.clone(),
                js.clone(),
                auth.clone(),
                access.clone(),
                alerting.clone(),
            );
            async move {
                let scrape_token = access.token.as_ref().is_some_and(|token| {
                    bearer(&headers).is_some_and(|given| same_secret(given, token.expose()))
                });
                if !scrape_token {
                    Box::pin(auth.check(&method, &headers, access.role))
                        .await
                        .map_err(warp::reject::custom)?;
                }
                let jetstream = Box::pin(jetstream_figures(&js)).await;
                let mut body = metrics.render(live.receiver_count(), &jetstream, time::now_ms());
                body.push_str(&Box::pin(alerting.metrics_text()).await);
                Ok::<_, Rejection>(
                    warp::reply::with_header(body, "content-type", CONTENT_TYPE).into_response(),
                )
            }
        })
}

/// The bearer token of an `Authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(warp::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The recorder's backlog, read from JetStream at each scrape.
#[derive(Debug, Default)]
struct JetStreamFigures {
    /// Whether JetStream answered.
    up: bool,
    /// (stream, consumer, messages not yet acknowledged by it).
    pending: Vec<(&'static str, &'static str, u64)>,
    /// Messages in each stream.
    messages: Vec<(&'static str, u64)>,
    /// Age of the oldest sample the recorder has not stored, seconds.
    recorder_lag_secs: Option<f64>,
}

async fn jetstream_figures(js: &jetstream::Context) -> JetStreamFigures {
    let consumers = [
        (subjects::SAMPLES_STREAM, subjects::RECORDER_CONSUMER),
        (subjects::LOGS_STREAM, subjects::RECORDER_LOGS_CONSUMER),
        (subjects::EVENTS_STREAM, subjects::RECORDER_EVENTS_CONSUMER),
        (subjects::ALERTS_STREAM, subjects::RECORDER_ALERTS_CONSUMER),
    ];
    let read = async {
        let mut figures = JetStreamFigures {
            up: true,
            ..Default::default()
        };
        for (stream_name, consumer_name) in consumers {
            let Ok(mut stream) = js.get_stream(stream_name).await else {
                continue;
            };
            if let Ok(info) = stream.info().await {
                figures.messages.push((stream_name, info.state.messages));
            }
            let Ok(info) = stream.consumer_info(consumer_name).await.map(|i| {
                (
                    i.num_pending,
                    i.num_ack_pending,
                    i.ack_floor.stream_sequence,
                )
            }) else {
                continue;
            };
            let (waiting, unacked, floor) = info;
            let pending = waiting + u64::try_from(unacked).unwrap_or(0);
            figures.pending.push((stream_name, consumer_name, pending));
            if stream_name == subjects::SAMPLES_STREAM {
                let lag = if pending == 0 {
                    Some(0.0)
                } else {
                    // The first message not yet acknowledged (it may have expired: then none).
                    stream.get_raw_message(floor + 1).await.ok().map(|m| {
                        let at = m.time.unix_timestamp_nanos() / 1_000_000;
                        let now = i128::from(time::now_ms());
                        (now - at).max(0) as f64 / 1000.0
                    })
                };
                figures.recorder_lag_secs = lag;
            }
        }
        figures
    };
    tokio::time::timeout(Duration::from_secs(3), read)
        .await
        .unwrap_or_default()
}

/// Escapes a label value: backslash, double quote and line feed.
pub(crate) fn label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A metric family drawn from one kind of record: name, type, help, and its value.
type Column<T> = (
    &'static str,
    &'static str,
    &'static str,
    fn(&T) -> Option<f64>,
);
/// The same from a heartbeat, given now and how long a service may stay silent.
type ServiceColumn = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Health, u64, u64) -> f64,
);

/// One metric family being written: its header once, then its series.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Self { out }
    }

    fn series(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
        }
    }
}

impl Metrics {
    fn render(
        &self,
        websocket_clients: usize,
        jetstream: &JetStreamFigures,
        now_ms: u64,
    ) -> String {
        let mut state = self.lock();
        let forget_after = SERVICE_SILENT.as_millis() as u64 * 10;
        state
            .services
            .retain(|_, beat| now_ms.saturating_sub(beat.time_ms) < forget_after);
        let mut out = String::with_capacity(256 + state.polled.len() * 2048);
        let mut ids: Vec<&DeviceId> = state.names.keys().collect();
        ids.sort();
        let device_labels = |id: &DeviceId| {
            let name = state.names.get(id).map_or("", String::as_str);
            format!("device=\"{}\",name=\"{}\"", label(id.as_str()), label(name))
        };

        let name = "netpulse_device_up";
        let mut family = Family::new(
            &mut out,
            name,
            "gauge",
            "1 when the device answers its polls, 0 when it is down (absent while unknown).",
        );
        for id in &ids {
            let up = match state.reachability.get(*id) {
                Some(Reachability::Up) => 1,
                Some(Reachability::Down) => 0,
                Some(Reachability::Unknown) | None => continue,
            };
            family.series(name, &device_labels(id), up);
        }

        let per_device: [Column<Polled>; 8] = [
            (
                "netpulse_device_poll_duration_seconds",
                "gauge",
                "How long the device's last poll took, from its first request to its last answer.",
                |p| p.duration_ms.map(|ms| ms as f64 / 1000.0),
            ),
            (
                "netpulse_device_last_poll_timestamp_seconds",
                "gauge",
                "When the device last answered a poll, Unix time.",
                |p| (p.time_ms > 0).then(|| p.time_ms as f64 / 1000.0),
            ),
            (
                "netpulse_device_polls_total",
                "counter",
                "Polls of the device answered since this gateway started.",
                |p| Some(p.polls as f64),
            ),
            (
                "netpulse_device_poll_failures_total",
                "counter",
                "Polls of the device that failed since this gateway started.",
                |p| Some(p.failures as f64),
            ),
            (
                "netpulse_device_poll_retries_total",
                "counter",
                "SNMP requests to the device sent again after a timeout or a bad reply.",
                |p| Some(p.retries as f64),
            ),
            (
                "netpulse_device_poll_timeouts_total",
                "counter",
                "SNMP requests to the device that got no usable reply in time.",
                |p| Some(p.timeouts as f64),
            ),
            (
                "netpulse_device_snmpv3_resyncs_total",
                "counter",
                "SNMPv3 engine discoveries repeated because the agent rebooted, its clock moved or its engine ID changed.",
                |p| Some(p.resyncs as f64),
            ),
            (
                "netpulse_device_cached_readings_total",
                "counter",
                "Readings the agent answered from its counter cache (unchanged, sooner than its cache period).",
                |p| Some(p.cached_readings as f64),
            ),
        ];
        let name = "netpulse_device_engine_id_shared";
        let mut family = Family::new(
            &mut out,
            name,
            "gauge",
            "How many other devices report the device's SNMPv3 engine ID (should be 0).",
        );
        let mut engines: HashMap<&str, usize> = HashMap::new();
        for polled in state.polled.values() {
            if let Some(engine) = &polled.engine_id {
                *engines.entry(engine.as_str()).or_default() += 1;
            }
        }
        for id in &ids {
            let engine = state.polled.get(*id).and_then(|p| p.engine_id.as_deref());
            if let Some(count) = engine.and_then(|e| engines.get(e)) {
                family.series(name, &device_labels(id), count - 1);
            }
        }
        let name = "netpulse_device_bad_replies_total";
        let mut family = Family::new(
            &mut out,
            name,
            "counter",
            "Replies from the device thrown away, by kind (malformed, wrong_request_id, ...).",
        );
        for id in &ids {
            if let Some(polled) = state.polled.get(*id) {
                for (kind, n) in &polled.bad_replies {
                    family.series(name, &format!("{},kind=\"{kind}\"", device_labels(id)), n);
                }
            }
        }
        for (name, kind, help, pick) in per_device {
            let mut family = Family::new(&mut out, name, kind, help);
            for id in &ids {
                if let Some(value) = state.polled.get(*id).and_then(pick) {
                    family.series(name, &device_labels(id), value);
                }
            }
        }

        let per_interface: [Column<InterfaceSeries>; 6] = [
            (
                "netpulse_interface_in_octets_total",
                "counter",
                "Octets received, as the agent counts them (ifHCInOctets, else ifInOctets).",
                |i| i.in_octets.map(|v| v as f64),
            ),
            (
                "netpulse_interface_out_octets_total",
                "counter",
                "Octets sent, as the agent counts them (ifHCOutOctets, else ifOutOctets).",
                |i| i.out_octets.map(|v| v as f64),
            ),
            (
                "netpulse_interface_in_bytes_per_second",
                "gauge",
                "Received rate at the last poll (bits per second / 8); while the agent answers from its counter cache, its last real rate.",
                |i| i.in_bps.map(|bps| bps / 8.0),
            ),
            (
                "netpulse_interface_out_bytes_per_second",
                "gauge",
                "Sent rate at the last poll (bits per second / 8); while the agent answers from its counter cache, its last real rate.",
                |i| i.out_bps.map(|bps| bps / 8.0),
            ),
            (
                "netpulse_interface_speed_bytes",
                "gauge",
                "The interface's speed in bytes per second (ifHighSpeed, else ifSpeed, / 8).",
                |i| i.speed_bps.map(|v| v as f64 / 8.0),
            ),
            (
                "netpulse_interface_oper_status",
                "gauge",
                "ifOperStatus: 1 up, 2 down, 3 testing, 4 unknown, 5 dormant, 6 notPresent, 7 lowerLayerDown.",
                |i| i.oper_status.map(|v| v as f64),
            ),
        ];
        let no_labels = HashMap::new();
        for (name, kind, help, pick) in per_interface {
            let mut family = Family::new(&mut out, name, kind, help);
            for id in &ids {
                let Some(polled) = state.polled.get(*id) else {
                    continue;
                };
                let names = state.labels.get(*id).unwrap_or(&no_labels);
                for interface in &polled.interfaces {
                    let Some(value) = pick(interface) else {
                        continue;
                    };
                    let (if_name, if_alias) = names
                        .get(&interface.index)
                        .map_or(("", ""), |(n, a)| (n.as_str(), a.as_str()));
                    let labels = format!(
                        "{},if_index=\"{}\",if_name=\"{}\",if_alias=\"{}\"",
                        device_labels(id),
                        interface.index,
                        label(if_name),
                        label(if_alias)
                    );
                    family.series(name, &labels, value);
                }
            }
        }

        let mut family = Family::new(
            &mut out,
            "netpulse_devices",
            "gauge",
            "Devices in the registry.",
        );
        family.series("netpulse_devices", "", ids.len());
        let totals = [
            (
                "netpulse_polls_total",
                "Polls answered since this gateway started.",
                state.polls,
            ),
            (
                "netpulse_poll_failures_total",
                "Polls failed since this gateway started.",
                state.failures,
            ),
        ];
        for (name, help, value) in totals {
            Family::new(&mut out, name, "counter", help).series(name, "", value);
        }
        let name = "netpulse_websocket_clients";
        Family::new(
            &mut out,
            name,
            "gauge",
            "Dashboards connected to this gateway's /ws.",
        )
        .series(name, "", websocket_clients);

        let mut services: Vec<&Health> = state.services.values().collect();
        services.sort_by(|a, b| (&a.service, &a.instance).cmp(&(&b.service, &b.instance)));
        let service_labels = |beat: &Health| {
            format!(
                "service=\"{}\",instance=\"{}\"",
                label(&beat.service),
                label(&beat.instance)
            )
        };
        let silent = SERVICE_SILENT.as_millis() as u64;
        let per_service: [ServiceColumn; 3] = [
            (
                "netpulse_service_up",
                "gauge",
                "1 while the process sends its heartbeat (every 10 s), 0 once 30 s have passed without.",
                |b, now, silent| f64::from(u8::from(now.saturating_sub(b.time_ms) < silent)),
            ),
            (
                "netpulse_service_start_time_seconds",
                "gauge",
                "When the process started, Unix time.",
                |b, _, _| b.started_ms as f64 / 1000.0,
            ),
            (
                "netpulse_service_nats_reconnects_total",
                "counter",
                "Times the process's NATS connection was made again after being lost.",
                |b, _, _| b.nats_connects.saturating_sub(1) as f64,
            ),
        ];
        for (name, kind, help, pick) in per_service {
            let mut family = Family::new(&mut out, name, kind, help);
            for beat in &services {
                family.series(name, &service_labels(beat), pick(beat, now_ms, silent));
            }
        }

        let name = "netpulse_jetstream_up";
        Family::new(
            &mut out,
            name,
            "gauge",
            "1 when JetStream answered this scrape.",
        )
        .series(name, "", u8::from(jetstream.up));
        let name = "netpulse_stream_messages";
        let mut family = Family::new(&mut out, name, "gauge", "Messages kept in each stream.");
        for (stream, messages) in &jetstream.messages {
            family.series(name, &format!("stream=\"{stream}\""), messages);
        }
        let name = "netpulse_consumer_pending_messages";
        let mut family = Family::new(
            &mut out,
            name,
            "gauge",
            "Messages the recorder has not yet stored, per stream: its queue.",
        );
        for (stream, consumer, pending) in &jetstream.pending {
            family.series(
                name,
                &format!("stream=\"{stream}\",consumer=\"{consumer}\""),
                pending,
            );
        }
        if let Some(lag) = jetstream.recorder_lag_secs {
            let name = "netpulse_recorder_lag_seconds";
            Family::new(
                &mut out,
                name,
                "gauge",
                "Age of the oldest sample the recorder has not stored yet (0 when caught up).",
            )
            .series(name, "", lag);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn scrape_tokens_compare_whole() {
        assert!(same_secret("s3cret-token", "s3cret-token"));
        assert!(!same_secret("s3cret-toke", "s3cret-token"));
        assert!(!same_secret("", "s3cret-token"));
    }
}
