//! netpulse-logs: receives the devices' syslog (UDP and TCP, RFC 3164 and RFC 5424, framed
//! per RFC 6587 on TCP) and SNMP notifications (v1 and v2c traps, v2c informs, which are
//! acknowledged), matches each to a device by its source address, and publishes it on
//! `netpulse.log.<device>` into the JetStream stream the recorder stores from.
//!
//! Nothing a device sends stops the receiver: messages that do not parse are kept raw with
//! the reason; a flood from one source is cut to a rate and what was dropped is counted and
//! reported, without holding other sources back. Sources that match no device are listed in
//! the `netpulse_unknown_sources` bucket.

pub mod limit;
pub mod sources;
pub mod syslog;
pub mod trap;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use netpulse_shared::config::NatsSettings;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::logs::{LogEntry, LogKind, Severity};
use netpulse_shared::snmp::Host;
use netpulse_shared::time::now_ms;
use netpulse_shared::{bus, subjects};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use crate::limit::Limiter;
use crate::sources::{key_of, SourceMap, Unknown};
use crate::syslog::{parse_syslog, Framer};

/// `[logs]` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LogsSettings {
    /// Where syslog is received, on UDP and TCP. Default `0.0.0.0:5514`.
    pub syslog_listen: SocketAddr,
    /// Where SNMP notifications are received (UDP). Default `0.0.0.0:1162`.
    pub trap_listen: SocketAddr,
    /// Messages per second taken from one source address. Default 500.
    pub per_source_rate: u32,
    /// Burst taken from one source address. Default 2000.
    pub per_source_burst: u32,
    /// Most TCP syslog connections at once. Default 1024.
    pub max_connections: usize,
    /// Copies of each JetStream stream and bucket this service opens: `nats.replicas`,
    /// copied here by the binary (not read from this section). Default 1.
    #[serde(skip)]
    pub replicas: usize,
}

impl Default for LogsSettings {
    fn default() -> Self {
        Self {
            syslog_listen: SocketAddr::from(([0, 0, 0, 0], 5514)),
            trap_listen: SocketAddr::from(([0, 0, 0, 0], 1162)),
            per_source_rate: 500,
            per_source_burst: 2000,
            max_connections: 1024,
            replicas: 1,
        }
    }
}

/// Everything the logs binary reads from configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// `[nats]`.
    pub nats: NatsSettings,
    /// `[logs]`.
    pub logs: LogsSettings,
}

/// The bound sockets.
pub struct Receivers {
    syslog_udp: Arc<UdpSocket>,
    syslog_tcp: TcpListener,
    traps: Arc<UdpSocket>,
}

/// What the receiving tasks share.
struct Intake {
    sources: RwLock<SourceMap>,
    unknown: Mutex<Unknown>,
    limiter: Mutex<Limiter>,
    out: mpsc::Sender<Pending>,
    sequence: AtomicU64,
    started_ns: u128,
    rate: u32,
}

/// An entry on its way to the logs stream, with the answer an inform is owed once the entry
/// is stored (not before: an acknowledged inform must not be lost).
struct Pending {
    entry: LogEntry,
    inform: Option<InformAnswer>,
}

impl From<LogEntry> for Pending {
    fn from(entry: LogEntry) -> Self {
        Self {
            entry,
            inform: None,
        }
    }
}

/// The response to an inform, and where to send it.
struct InformAnswer {
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    response: Vec<u8>,
}

impl InformAnswer {
    async fn send(self) {
        if let Err(error) = self.socket.send_to(&self.response, self.to).await {
            tracing::debug!(%error, source = %self.to, "cannot acknowledge an inform");
        }
    }
}

/// A device-given time further than this from the reception time is not believed.
const CLOCK_TRUST_MS: u64 = 24 * 3_600_000;

impl Receivers {
    /// Binds the syslog (UDP and TCP) and trap addresses; the error names the one that failed.
    pub async fn bind(settings: &LogsSettings) -> anyhow::Result<Self> {
        let bind_error = |what: &str, address: SocketAddr, e: std::io::Error| {
            anyhow::anyhow!("cannot listen for {what} on {address}: {e}")
        };
        let syslog_udp = UdpSocket::bind(settings.syslog_listen)
            .await
            .map_err(|e| bind_error("syslog (UDP)", settings.syslog_listen, e))?;
        // TCP on the same port as UDP (the port the system chose, when 0 was asked).
        let tcp_address = syslog_udp.local_addr()?;
        let syslog_tcp = TcpListener::bind(tcp_address)
            .await
            .map_err(|e| bind_error("syslog (TCP)", tcp_address, e))?;
        let traps = UdpSocket::bind(settings.trap_listen)
            .await
            .map_err(|e| bind_error("SNMP notifications", settings.trap_listen, e))?;
        Ok(Self {
            syslog_udp: Arc::new(syslog_udp),
            syslog_tcp,
            traps: Arc::new(traps),
        })
    }

    /// The syslog address (UDP and TCP).
    pub fn syslog_address(&self) -> SocketAddr {
        self.syslog_udp
            .local_addr()
            .unwrap_or(([0, 0, 0, 0], 0).into())
    }

    /// The SNMP notification address.
    pub fn trap_address(&self) -> SocketAddr {
        self.traps.local_addr().unwrap_or(([0, 0, 0, 0], 0).into())
    }

    /// Receives until `shutdown` resolves.
    pub async fn run(
        self,
        client: async_nats::Client,
        settings: LogsSettings,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let js = jetstream::new(client.clone());
        // On a cluster that is starting or just lost a node, JetStream may not answer yet.
        let replicas = settings.replicas;
        bus::until_set_up(|| bus::logs_stream(&js, replicas)).await?;
        let registry = bus::Bucket::DEVICES.open_when_ready(&js, replicas).await?;
        let unknown_bucket = bus::Bucket::UNKNOWN_SOURCES
            .open_when_ready(&js, replicas)
            .await?;
        let (out, entries) = mpsc::channel(10_000);
        let intake = Arc::new(Intake {
            sources: RwLock::new(SourceMap::default()),
            unknown: Mutex::new(Unknown::default()),
            limiter: Mutex::new(Limiter::new(
                settings.per_source_rate,
                settings.per_source_burst,
            )),
            out,
            sequence: AtomicU64::new(0),
            started_ns: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            rate: settings.per_source_rate,
        });
        tracing::info!(
            syslog = %self.syslog_address(),
            traps = %self.trap_address(),
            "logs receiver ready"
        );
        let tasks = vec![
            tokio::spawn(publish(js.clone(), entries)),
            tokio::spawn(follow_registry(registry, intake.clone())),
            tokio::spawn(receive_datagrams(
                self.syslog_udp,
                intake.clone(),
                syslog_datagram,
            )),
            tokio::spawn(accept_syslog_tcp(
                self.syslog_tcp,
                intake.clone(),
                settings.max_connections,
            )),
            tokio::spawn(receive_datagrams(self.traps, intake.clone(), trap_datagram)),
            tokio::spawn(report(intake.clone(), unknown_bucket)),
        ];
        shutdown.await;
        for task in tasks {
            task.abort();
        }
        client.flush().await.ok();
        Ok(())
    }
}

impl Intake {
    fn next_id(&self) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        // Fixed width, so ids sort in the order they were given.
        format!("log-{:032x}-{n:016}", self.started_ns)
    }

    /// The device of a source, or `None` after noting the source as unknown.
    fn device_of(&self, source: IpAddr, now: u64, kind: &str, text: &str) -> Option<DeviceId> {
        let device = self
            .sources
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .device(source)
            .cloned();
        if device.is_none() {
            self.unknown
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .record(source, now, kind, text);
        }
        device
    }

    fn allowed(&self, source: IpAddr, now: u64) -> bool {
        self.limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allow(source, now)
    }

    /// A syslog message from `source`, as an entry for its device.
    fn syslog(&self, source: SocketAddr, bytes: &[u8], cut: bool) -> Option<LogEntry> {
        let now = now_ms();
        if !self.allowed(source.ip(), now) {
            return None;
        }
        let parsed = parse_syslog(bytes, now);
        let device = self.device_of(source.ip(), now, "syslog", &parsed.message)?;
        let mut error = parsed.error;
        if cut {
            error = Some(format!(
                "message longer than {} bytes, cut",
                netpulse_shared::logs::MAX_MESSAGE_BYTES
            ));
        }
        let time_ms = parsed
            .time_ms
            .filter(|t| t.abs_diff(now) <= CLOCK_TRUST_MS)
            .unwrap_or(now);
        Some(LogEntry {
            facility: parsed.facility,
            source: Some(source.to_string()),
            host: parsed.host,
            app: parsed.app,
            procid: parsed.procid,
            msgid: parsed.msgid,
            structured_data: parsed.structured_data,
            raw: Some(String::from_utf8_lossy(bytes).into_owned()),
            parse_error: error,
            ..LogEntry::new(
                self.next_id(),
                device,
                time_ms,
                now,
                LogKind::Syslog,
                Severity::from_code(parsed.severity),
                parsed.message,
            )
        })
    }

    /// A notification from `source`: the entry for its device, and the answer an inform
    /// needs (sent whether or not the source is known, so the sender stops resending).
    fn notification(
        &self,
        source: SocketAddr,
        bytes: &[u8],
    ) -> (Option<LogEntry>, Option<Vec<u8>>) {
        let now = now_ms();
        if !self.allowed(source.ip(), now) {
            return (None, None);
        }
        let decoded = trap::decode(bytes);
        let text = match &decoded {
            Ok(n) => n.message.clone(),
            Err(reason) => format!("undecodable notification: {reason}"),
        };
        let response = decoded.as_ref().ok().and_then(|n| n.response.clone());
        let Some(device) = self.device_of(source.ip(), now, "trap", &text) else {
            return (None, response);
        };
        let mut entry = LogEntry {
            source: Some(source.to_string()),
            ..LogEntry::new(
                self.next_id(),
                device,
                now,
                now,
                LogKind::Trap,
                Severity::Notice,
                text,
            )
        };
        match decoded {
            Ok(n) => {
                entry.severity = n.severity;
                entry.trap = Some(n.info);
            }
            Err(reason) => {
                entry.raw = Some(
                    bytes
                        .iter()
                        .take(2048)
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                );
                entry.parse_error = Some(reason);
            }
        }
        (Some(entry), response)
    }
}

/// Publishes entries into the logs stream, many in flight, each with its id for dedupe.
/// An entry JetStream does not confirm (NATS away, a timeout) is sent again until it is
/// stored; only then is an inform acknowledged. While 1,024 wait, intake waits too.
async fn publish(js: jetstream::Context, mut entries: mpsc::Receiver<Pending>) {
    let mut in_flight = futures::stream::FuturesUnordered::new();
    loop {
        tokio::select! {
            pending = entries.recv(), if in_flight.len() < 1024 => {
                let Some(pending) = pending else { break };
                in_flight.push(store(js.clone(), pending));
            }
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
    }
    // Intake has ended: finish what is under way.
    while in_flight.next().await.is_some() {}
}

/// Stores one entry, retrying (the same id, so JetStream keeps one copy) until it is
/// confirmed; then answers its inform, if it came from one.
async fn store(js: jetstream::Context, pending: Pending) {
    let Ok(payload) = serde_json::to_vec(&pending.entry) else {
        return;
    };
    let subject = subjects::log(&pending.entry.device);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", pending.entry.id.as_str());
    let mut wait = Duration::from_millis(100);
    loop {
        let stored = async {
            js.publish_with_headers(subject.clone(), headers.clone(), payload.clone().into())
                .await?
                .await
        };
        match tokio::time::timeout(Duration::from_secs(10), stored).await {
            Ok(Ok(_)) => break,
            Ok(Err(error)) => tracing::warn!(%error, "a log entry was not stored, retrying"),
            Err(_) => tracing::warn!("storing a log entry timed out, retrying"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(2));
    }
    if let Some(inform) = pending.inform {
        inform.send().await;
    }
}

/// Keeps the source map in step with the registry.
async fn follow_registry(registry: kv::Store, intake: Arc<Intake>) {
    let mut changes = bus::Following::new(registry);
    loop {
        let entry = changes.next().await;
        let Ok(id) = DeviceId::parse(&entry.key) else {
            continue;
        };
        match entry.operation {
            kv::Operation::Put => {
                let Ok(device) = serde_json::from_slice::<Device>(&entry.value) else {
                    continue;
                };
                let resolved = match &device.address.host {
                    Host::Name(name) => tokio::net::lookup_host((name.as_str(), 0))
                        .await
                        .map(|found| found.map(|a| a.ip()).collect())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                intake
                    .sources
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .put(&device, &resolved);
            }
            kv::Operation::Delete | kv::Operation::Purge => intake
                .sources
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&id),
        }
    }
}

async fn accept_syslog_tcp(listener: TcpListener, intake: Arc<Intake>, max_connections: usize) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (mut stream, source) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::debug!(%error, "syslog accept error");
                continue;
            }
        };
        let intake = intake.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut framer = Framer::default();
            let mut buffer = vec![0u8; 16 * 1024];
            loop {
                let read = match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for frame in framer.push(&buffer[..read]) {
                    if let Some(entry) = intake.syslog(source, &frame.bytes, frame.cut) {
                        let _ = intake.out.send(entry.into()).await;
                    }
                }
            }
            if let Some(frame) = framer.finish() {
                if let Some(entry) = intake.syslog(source, &frame.bytes, frame.cut) {
                    let _ = intake.out.send(entry.into()).await;
                }
            }
        });
    }
}

/// What one datagram gave: an entry to keep, and an inform to acknowledge.
type Datagram = (Option<LogEntry>, Option<InformAnswer>);

/// Receives datagrams on `socket` for ever, each read by `read`: an entry is kept (its
/// inform acknowledged once it is stored); an inform with nothing to keep (an unknown source,
/// counted) is acknowledged at once.
async fn receive_datagrams(
    socket: Arc<UdpSocket>,
    intake: Arc<Intake>,
    read: fn(&Intake, &Arc<UdpSocket>, SocketAddr, &[u8]) -> Datagram,
) {
    let mut buffer = vec![0u8; 65_536];
    loop {
        let (len, source) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                tracing::debug!(%error, port = ?socket.local_addr().ok(), "receive error");
                continue;
            }
        };
        match read(&intake, &socket, source, &buffer[..len]) {
            (Some(entry), inform) => {
                let _ = intake.out.send(Pending { entry, inform }).await;
            }
            (None, Some(inform)) => inform.send().await,
            (None, None) => {}
        }
    }
}

/// A syslog datagram: one message.
fn syslog_datagram(
    intake: &Intake,
    _socket: &Arc<UdpSocket>,
    source: SocketAddr,
    bytes: &[u8],
) -> Datagram {
    (intake.syslog(source, bytes, false), None)
}

/// A notification datagram: a trap, or an inform to acknowledge.
fn trap_datagram(
    intake: &Intake,
    socket: &Arc<UdpSocket>,
    source: SocketAddr,
    bytes: &[u8],
) -> Datagram {
    let (entry, response) = intake.notification(source, bytes);
    let inform = response.map(|response| InformAnswer {
        socket: socket.clone(),
        to: source,
        response,
    });
    (entry, inform)
}

/// Every few seconds: reports what the flood control dropped, and saves the unknown sources
/// that changed.
async fn report(intake: Arc<Intake>, unknown_bucket: kv::Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        let now = now_ms();
        let dropped = intake
            .limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take_dropped(now);
        for (source, count) in dropped {
            let text = format!(
                "{count} messages from {source} dropped: more than {} per second",
                intake.rate
            );
            tracing::warn!(%source, count, "log flood cut");
            let Some(device) = intake.device_of(source, now, "syslog", &text) else {
                continue;
            };
            let entry = LogEntry {
                source: Some(source.to_string()),
                app: Some("netpulse-logs".into()),
                msgid: Some("DROPPED".into()),
                ..LogEntry::new(
                    intake.next_id(),
                    device,
                    now,
                    now,
                    LogKind::Syslog,
                    Severity::Warning,
                    text,
                )
            };
            let _ = intake.out.send(entry.into()).await;
        }
        let changed = intake
            .unknown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take_changed();
        for source in changed {
            let Ok(value) = serde_json::to_vec(&source) else {
                continue;
            };
            if let Err(error) = unknown_bucket
                .put(key_of(source.address), value.into())
                .await
            {
                tracing::warn!(%error, "cannot save an unknown source");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn intake() -> (Intake, mpsc::Receiver<Pending>) {
        let (out, entries) = mpsc::channel(16);
        let mut sources = SourceMap::default();
        let device =
            Device::from_json_body(br#"{"name": "edge", "address": "192.0.2.1"}"#).expect("device");
        sources.put(&device, &[]);
        let intake = Intake {
            sources: RwLock::new(sources),
            unknown: Mutex::new(Unknown::default()),
            limiter: Mutex::new(Limiter::new(1_000_000, 1_000_000)),
            out,
            sequence: AtomicU64::new(0),
            started_ns: 1,
            rate: 1_000_000,
        };
        (intake, entries)
    }

    proptest! {
        /// Whatever bytes a known device sends, as syslog or as a notification, an entry is
        /// kept: parsed, or raw with the reason. From an unknown source, it is counted.
        #[test]
        fn every_message_is_kept_or_counted(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
            let (intake, _entries) = intake();
            let known: SocketAddr = "192.0.2.1:514".parse().expect("addr");
            let entry = intake.syslog(known, &bytes, false).expect("kept");
            prop_assert!(entry.raw.is_some());
            let (trap, _) = intake.notification(known, &bytes);
            let trap = trap.expect("kept");
            prop_assert!(trap.trap.is_some() || trap.parse_error.is_some());
            let stranger: SocketAddr = "198.51.100.1:514".parse().expect("addr");
            prop_assert!(intake.syslog(stranger, &bytes, false).is_none());
            prop_assert!(intake.notification(stranger, &bytes).0.is_none());
            let counted = intake.unknown.lock().expect("lock").take_changed();
            prop_assert_eq!(counted.len(), 1);
            prop_assert_eq!(counted[0].count, 2);
        }
    }
}
