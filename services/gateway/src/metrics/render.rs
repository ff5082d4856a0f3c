//! What a scrape shows, one metric family after another.

use std::collections::HashMap;

use netpulse_shared::device::DeviceId;
use netpulse_shared::health::Health;
use netpulse_shared::messages::Reachability;

use super::exposition::{label, Column, Family};
use super::scrape::JetStreamFigures;
use super::{InterfaceSeries, Metrics, Polled, State, SERVICE_SILENT};

/// The same from a heartbeat, given now and how long a service may stay silent.
type ServiceColumn = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Health, u64, u64) -> f64,
);

impl Metrics {
    /// The text of a scrape.
    pub(super) fn render(
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
        let state = &*state;
        let mut out = String::with_capacity(256 + state.polled.len() * 2048);
        let mut ids: Vec<&DeviceId> = state.names.keys().collect();
        ids.sort();
        let devices = Devices { state, ids };
        devices.reachability(&mut out);
        devices.engines(&mut out);
        devices.polls(&mut out);
        devices.interfaces(&mut out);
        totals(&mut out, state, devices.ids.len(), websocket_clients);
        services(&mut out, state, now_ms);
        jetstream_families(&mut out, jetstream);
        out
    }
}

/// The devices of a scrape, sorted by id.
struct Devices<'s> {
    state: &'s State,
    ids: Vec<&'s DeviceId>,
}

impl Devices<'_> {
    /// A device's labels: its id and name.
    fn labels(&self, id: &DeviceId) -> String {
        let name = self.state.names.get(id).map_or("", String::as_str);
        format!("device=\"{}\",name=\"{}\"", label(id.as_str()), label(name))
    }

    fn reachability(&self, out: &mut String) {
        let name = "netpulse_device_up";
        let mut family = Family::new(
            out,
            name,
            "gauge",
            "1 when the device answers its polls, 0 when it is down (absent while unknown).",
        );
        for id in &self.ids {
            let up = match self.state.reachability.get(*id) {
                Some(Reachability::Up) => 1,
                Some(Reachability::Down) => 0,
                Some(Reachability::Unknown) | None => continue,
            };
            family.series(name, &self.labels(id), up);
        }
    }

    /// SNMPv3 engine IDs shared between devices, and replies thrown away.
    fn engines(&self, out: &mut String) {
        let name = "netpulse_device_engine_id_shared";
        let mut family = Family::new(
            out,
            name,
            "gauge",
            "How many other devices report the device's SNMPv3 engine ID (should be 0).",
        );
        let mut engines: HashMap<&str, usize> = HashMap::new();
        for polled in self.state.polled.values() {
            if let Some(engine) = &polled.engine_id {
                *engines.entry(engine.as_str()).or_default() += 1;
            }
        }
        for id in &self.ids {
            let engine = self
                .state
                .polled
                .get(*id)
                .and_then(|p| p.engine_id.as_deref());
            if let Some(count) = engine.and_then(|e| engines.get(e)) {
                family.series(name, &self.labels(id), count - 1);
            }
        }
        let name = "netpulse_device_bad_replies_total";
        let mut family = Family::new(
            out,
            name,
            "counter",
            "Replies from the device thrown away, by kind (malformed, wrong_request_id, ...).",
        );
        for id in &self.ids {
            if let Some(polled) = self.state.polled.get(*id) {
                for (kind, n) in &polled.bad_replies {
                    family.series(name, &format!("{},kind=\"{kind}\"", self.labels(id)), n);
                }
            }
        }
    }

    fn polls(&self, out: &mut String) {
        for (name, kind, help, pick) in PER_DEVICE {
            let mut family = Family::new(out, name, kind, help);
            for id in &self.ids {
                if let Some(value) = self.state.polled.get(*id).and_then(pick) {
                    family.series(name, &self.labels(id), value);
                }
            }
        }
    }

    fn interfaces(&self, out: &mut String) {
        let no_labels = HashMap::new();
        for (name, kind, help, pick) in PER_INTERFACE {
            let mut family = Family::new(out, name, kind, help);
            for id in &self.ids {
                let Some(polled) = self.state.polled.get(*id) else {
                    continue;
                };
                let names = self.state.labels.get(*id).unwrap_or(&no_labels);
                for interface in &polled.interfaces {
                    let Some(value) = pick(interface) else {
                        continue;
                    };
                    let (if_name, if_alias) = names
                        .get(&interface.index)
                        .map_or(("", ""), |(n, a)| (n.as_str(), a.as_str()));
                    let labels = format!(
                        "{},if_index=\"{}\",if_name=\"{}\",if_alias=\"{}\"",
                        self.labels(id),
                        interface.index,
                        label(if_name),
                        label(if_alias)
                    );
                    family.series(name, &labels, value);
                }
            }
        }
    }
}

/// Totals of the registry and of this gateway's polls and clients.
fn totals(out: &mut String, state: &State, devices: usize, websocket_clients: usize) {
    let mut family = Family::new(out, "netpulse_devices", "gauge", "Devices in the registry.");
    family.series("netpulse_devices", "", devices);
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
        (
            "netpulse_websocket_slow_closed_total",
            "Dashboards closed by this gateway for not taking their messages (code 4008).",
            state.slow_clients_closed,
        ),
    ];
    for (name, help, value) in totals {
        Family::new(out, name, "counter", help).series(name, "", value);
    }
    let name = "netpulse_websocket_clients";
    Family::new(
        out,
        name,
        "gauge",
        "Dashboards connected to this gateway's /ws.",
    )
    .series(name, "", websocket_clients);
}

/// Every service's heartbeat.
fn services(out: &mut String, state: &State, now_ms: u64) {
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
    for (name, kind, help, pick) in PER_SERVICE {
        let mut family = Family::new(out, name, kind, help);
        for beat in &services {
            family.series(name, &service_labels(beat), pick(beat, now_ms, silent));
        }
    }
}

/// What JetStream said of the streams and the recorder's backlog.
fn jetstream_families(out: &mut String, jetstream: &JetStreamFigures) {
    let name = "netpulse_jetstream_up";
    Family::new(out, name, "gauge", "1 when JetStream answered this scrape.").series(
        name,
        "",
        u8::from(jetstream.up),
    );
    let name = "netpulse_stream_messages";
    let mut family = Family::new(out, name, "gauge", "Messages kept in each stream.");
    for (stream, messages) in &jetstream.messages {
        family.series(name, &format!("stream=\"{stream}\""), messages);
    }
    let name = "netpulse_consumer_pending_messages";
    let mut family = Family::new(
        out,
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
            out,
            name,
            "gauge",
            "Age of the oldest sample the recorder has not stored yet (0 when caught up).",
        )
        .series(name, "", lag);
    }
}

const PER_DEVICE: [Column<Polled>; 8] = [
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

/// The families drawn from each interface's latest reading.
const PER_INTERFACE: [Column<InterfaceSeries>; 6] = [
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

/// The families drawn from each service's heartbeat.
const PER_SERVICE: [ServiceColumn; 3] = [
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
