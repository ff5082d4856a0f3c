//! `make bench-ws`: one gateway, many browsers on its `/ws`.
//!
//! Starts nats-server and the release netpulse-gateway, signs in, connects the clients (100
//! at a time), waits until their subscriptions are taken, then publishes samples for a while,
//! each device once per interval, device k at k × interval / devices into it. Modes:
//!
//! - `legacy`: 5,000 clients watching one device that publishes every 100 ms.
//! - `one`: 10,000 clients, 1,000 devices (10 clients each) publishing every second; each
//!   client subscribes to exactly one device.
//! - `all`: 1,000 clients subscribed to every device's samples in frames (`"frames": true`:
//!   at most one `frame` a tick, `--tick-ms`), 10,000 devices publishing every 60 s. Samples
//!   of one interface, to keep the bytes down.
//!
//! `--never-read P`: P% of the clients subscribe, then never read, with a 4 KiB receive
//! buffer. The gateway closes such a client when its ping has gone unanswered for `--slow-ms`
//! (or a message has waited that long). The gateway's memory is then printed every 5 s, with
//! how many it has closed and what the kernel holds for its connections (`send queues`, from
//! /proc/net/tcp, which its RSS leaves out).
//!
//! Prints, of the reading clients: the samples delivered of those expected; the delay from a
//! sample's publication (its `time_ms`) to its receipt, p50, p99 and max (the staleness, for
//! frames); the bytes each received per second. Of the gateway: its CPU seconds per second
//! while publishing, its peak RSS, the memory per client (peak RSS less the RSS before any
//! client connected, over the clients), and the clients it closed as slow.
//!
//! Each client is a socket at both ends: raise the open-file limit first (`make bench-ws`
//! does, to the hard limit). A benchmark prints figures; it does not pass or fail on them.
//!
//! Flags: --mode legacy|one|all --clients N --devices D --interval-ms I --seconds S
//! --tick-ms T (1000) --slow-ms S (10000) --never-read P (0). The others' defaults are the
//! mode's (above); --seconds is 30, 60 in mode `all`, 90 with --never-read.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use netpulse_gateway::live::socket::SLOW_CLIENT_CODE;
use netpulse_shared::device::DeviceId;
use netpulse_shared::messages::{PolledInterface, Sample, SnmpValue, VarBind};
use netpulse_shared::snmp::Oid;
use netpulse_shared::test_util::{free_tcp_port, NatsServer};
use netpulse_shared::{bus, subjects, time};
use netpulse_tests::bench::{
    arg, arg_word, check_flags, gateway_metric, rss, send_queues, start, usage, usage_error,
    Delays, Running,
};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const USAGE: &str = "usage: bench-ws [--mode legacy|one|all] [--clients N] [--devices D] \
[--interval-ms I] [--seconds S] [--tick-ms T] [--slow-ms S] [--never-read PERCENT]";

/// Clients connecting at once: well within the gateway's listen backlog.
const CONNECTING: usize = 100;
/// The receive buffer of a client that never reads.
const SILENT_BUFFER: u32 = 4096;
/// The gateway's `/metrics` series of the clients it closed as slow.
const SLOW_CLOSED: &str = "netpulse_websocket_slow_closed_total";

/// What the clients subscribe to, and the run's defaults (see the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Legacy,
    One,
    All,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::One => "one",
            Self::All => "all",
        }
    }
}

/// The run, from the command line.
struct Flags {
    mode: Mode,
    clients: usize,
    devices: usize,
    interval_ms: u64,
    seconds: u64,
    /// The gateway's frame tick (`ws_frame_ms`), in mode `all`.
    tick_ms: u64,
    /// The gateway's `ws_slow_client_ms`.
    slow_ms: u64,
    /// Percent of the clients that never read.
    never_read: usize,
}

fn flags() -> Flags {
    let numbers = [
        "--clients",
        "--devices",
        "--interval-ms",
        "--seconds",
        "--tick-ms",
        "--slow-ms",
        "--never-read",
    ];
    check_flags(&numbers, &[("--mode", &["legacy", "one", "all"])], USAGE);
    let mode = match arg_word("--mode", "legacy").as_str() {
        "one" => Mode::One,
        "all" => Mode::All,
        _ => Mode::Legacy,
    };
    let tick_ms = arg("--tick-ms", 1_000);
    if !(100..=60_000).contains(&tick_ms) {
        usage_error(
            "--tick-ms is from 100 to 60000 (the gateway's ws_frame_ms)",
            USAGE,
        )
    }
    let never_read = arg("--never-read", 0);
    if never_read > 100 {
        usage_error("--never-read is a percentage, 0 to 100", USAGE)
    }
    let (clients, interval_ms, seconds) = match mode {
        Mode::Legacy => (5_000, 100, 30),
        Mode::One => (10_000, 1_000, 30),
        Mode::All => (1_000, 60_000, 60),
    };
    let clients = arg("--clients", clients).max(1);
    let devices = match mode {
        Mode::Legacy => 1,
        Mode::One => clients / 10,
        Mode::All => 10_000,
    };
    let seconds = if never_read > 0 { 90 } else { seconds };
    let interval_ms = arg("--interval-ms", interval_ms).max(1) as u64;
    if mode == Mode::All && interval_ms < tick_ms as u64 {
        // A frame holds only each device's latest sample of the tick.
        usage_error("in mode all, --interval-ms is at least --tick-ms", USAGE)
    }
    Flags {
        mode,
        clients,
        devices: arg("--devices", devices).max(1),
        interval_ms,
        seconds: arg("--seconds", seconds).max(1) as u64,
        tick_ms: tick_ms as u64,
        slow_ms: arg("--slow-ms", 10_000).max(1) as u64,
        never_read,
    }
}

impl Flags {
    /// Whether client `i` never reads: P of every 100, spread evenly.
    fn never_reads(&self, i: usize) -> bool {
        (i + 1) * self.never_read / 100 > i * self.never_read / 100
    }

    /// The device client `i` watches (modes `legacy` and `one`): consecutive clients share a
    /// device, so the clients that never read are spread over the devices.
    fn device_of(&self, i: usize) -> usize {
        i * self.devices / self.clients
    }

    /// Client `i`'s subscribe message.
    fn subscribe(&self, i: usize) -> String {
        match self.mode {
            Mode::All => {
                r#"{"type":"subscribe","devices":"*","kinds":["sample"],"frames":true}"#.to_owned()
            }
            _ => format!(
                r#"{{"type":"subscribe","devices":["dev-{}"],"kinds":["sample"]}}"#,
                self.device_of(i)
            ),
        }
    }

    /// How many reading clients receive each device's samples.
    fn readers_per_device(&self) -> Vec<u64> {
        let mut readers = vec![0; self.devices];
        for i in (0..self.clients).filter(|&i| !self.never_reads(i)) {
            match self.mode {
                Mode::All => readers.iter_mut().for_each(|n| *n += 1),
                _ => readers[self.device_of(i)] += 1,
            }
        }
        readers
    }

    /// Interfaces per sample.
    fn interfaces(&self) -> u32 {
        if self.mode == Mode::All {
            1
        } else {
            4
        }
    }
}

/// What the reading clients received, added up.
#[derive(Default)]
struct Tally {
    /// Samples received (each sample of a frame counts).
    delivered: AtomicU64,
    /// Bytes of text received.
    bytes: AtomicU64,
    /// Messages missed, as `lagged` messages said.
    missed: AtomicU64,
    /// `error` messages, and the first one's text.
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// Connections ended by the gateway, and of those closed as slow (code 4008).
    ended: AtomicU64,
    closed_slow: AtomicU64,
    delays: Delays,
}

impl Tally {
    /// One text message, received at `received_ms`; read without parsing the JSON.
    fn text(&self, text: &str, received_ms: u64) {
        self.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        if text.starts_with(r#"{"type":"lagged""#) {
            let missed = numbers_after(text, r#""missed":"#).next().unwrap_or(0);
            self.missed.fetch_add(missed, Ordering::Relaxed);
        } else if text.starts_with(r#"{"type":"error""#) {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first_error.lock().expect("first error");
            first.get_or_insert_with(|| text.to_owned());
        } else {
            // A sample, or a frame of them: each has a `time_ms` at its top level.
            for sent in numbers_after(text, r#""time_ms":"#) {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                self.delays.record(received_ms.saturating_sub(sent));
            }
        }
    }
}

/// The whole number after each `key` in `text`.
fn numbers_after<'a>(text: &'a str, key: &'a str) -> impl Iterator<Item = u64> + 'a {
    text.match_indices(key).filter_map(move |(at, _)| {
        let rest = &text[at + key.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    })
}

/// Sample `n` of `device`, stamped now, with sysUpTime and the octet counters of
/// `interfaces` interfaces.
fn sample(device: &DeviceId, n: u64, interfaces: u32) -> Sample {
    let time_ms = time::now_ms();
    let mut values = vec![VarBind {
        oid: Oid::parse("1.3.6.1.2.1.1.3.0").expect("oid"),
        value: SnmpValue::Timeticks(u32::try_from(n * 10).unwrap_or(0)),
    }];
    for index in 1..=interfaces {
        for column in [6, 10] {
            values.push(VarBind {
                oid: Oid::parse(&format!("1.3.6.1.2.1.31.1.1.1.{column}.{index}")).expect("oid"),
                value: SnmpValue::Counter64(n * 125_000 * u64::from(index)),
            });
        }
    }
    Sample::from_answers(
        format!("{device}-{time_ms}"),
        device.clone(),
        time_ms,
        Some(u32::try_from(n * 10).unwrap_or(0)),
        values,
        &(1..=interfaces)
            .map(|index| PolledInterface {
                index,
                key: format!("eth{index}"),
                speed_bps: 1_000_000_000,
            })
            .collect::<Vec<_>>(),
    )
}

/// Starts the gateway on a free port and signs in: the process, its address, the token.
async fn start_gateway(flags: &Flags, nats: &NatsServer) -> (Running, SocketAddr, String) {
    let listen = format!("127.0.0.1:{}", free_tcp_port());
    let web = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web");
    let (slow, tick) = (flags.slow_ms.to_string(), flags.tick_ms.to_string());
    let mut env = vec![
        ("NETPULSE_NATS__URL", nats.url()),
        ("NETPULSE_GATEWAY__LISTEN", listen.clone()),
        (
            "NETPULSE_GATEWAY__WEB_DIR",
            web.to_string_lossy().into_owned(),
        ),
        ("NETPULSE_ADMIN_PASSWORD", "bench-admin-password".into()),
        ("NETPULSE_GATEWAY__WS_SLOW_CLIENT_MS", slow),
    ];
    if flags.mode == Mode::All {
        env.push(("NETPULSE_GATEWAY__WS_FRAME_MS", tick));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start("netpulse-gateway", &[], &env);
    let address: SocketAddr = listen.parse().expect("address");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let token = netpulse_tests::login(address, "admin", "bench-admin-password")
        .await
        .expect("the gateway did not start");
    (gateway, address, token)
}

type Socket = WebSocketStream<tokio::net::TcpStream>;

/// A signed-in `/ws` connection; with a small receive buffer when `silent`.
async fn open(address: SocketAddr, token: &str, silent: bool) -> Result<Socket, String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    if silent {
        socket
            .set_recv_buffer_size(SILENT_BUFFER)
            .map_err(|e| e.to_string())?;
    }
    let stream = socket.connect(address).await.map_err(|e| e.to_string())?;
    let mut request = format!("ws://{address}/ws")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let bearer = format!("Bearer {token}").parse().expect("header");
    request.headers_mut().insert("authorization", bearer);
    let (socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .map_err(|e| e.to_string())?;
    Ok(socket)
}

/// Reads a client's messages into the tally until the connection ends.
async fn read(mut socket: Socket, tally: Arc<Tally>) {
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(text) => tally.text(&text, time::now_ms()),
            Message::Close(frame) => {
                if frame.is_some_and(|f| u16::from(f.code) == SLOW_CLIENT_CODE) {
                    tally.closed_slow.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
            _ => {}
        }
    }
    tally.ended.fetch_add(1, Ordering::Relaxed);
}

/// A connected client: reading in its task, or holding its socket without reading.
enum Client {
    Reading(tokio::task::JoinHandle<()>),
    Silent(Box<Socket>),
}

/// Connects and subscribes every client, [`CONNECTING`] at a time.
async fn connect_all(
    flags: &Flags,
    address: SocketAddr,
    token: &str,
    tally: &Arc<Tally>,
) -> Vec<Client> {
    futures::stream::iter(0..flags.clients)
        .map(|i| async move {
            let silent = flags.never_reads(i);
            let mut socket =
                tokio::time::timeout(Duration::from_secs(30), open(address, token, silent))
                    .await
                    .map_err(|_| "timed out".to_owned())
                    .and_then(|opened| opened)
                    .unwrap_or_else(|e| {
                        panic!("connect: {e} (raise the open-file limit: ulimit -n)")
                    });
            socket
                .send(Message::text(flags.subscribe(i)))
                .await
                .expect("subscribe");
            if silent {
                Client::Silent(Box::new(socket))
            } else {
                Client::Reading(tokio::spawn(read(socket, tally.clone())))
            }
        })
        .buffer_unordered(CONNECTING)
        .collect()
        .await
}

/// Publishes a sample of each device once per `interval`, device k at k × interval / devices
/// into it, until `until`; how many of each device were published.
async fn publish(
    client: &async_nats::Client,
    devices: &[DeviceId],
    interval: Duration,
    interfaces: u32,
    until: Instant,
) -> Vec<u64> {
    let mut published = vec![0u64; devices.len()];
    let (start, count) = (Instant::now(), devices.len() as u64);
    let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    for n in 0u64.. {
        let (round, k) = (n / count, (n % count) as usize);
        let due =
            start + Duration::from_nanos(interval_ns * round + interval_ns * k as u64 / count);
        if due >= until {
            break;
        }
        tokio::time::sleep_until(due).await;
        let payload = serde_json::to_vec(&sample(&devices[k], round, interfaces)).expect("json");
        client
            .publish(subjects::sample(&devices[k]), payload.into())
            .await
            .expect("publish");
        published[k] += 1;
    }
    client.flush().await.ok();
    published
}

/// The gateway's memory at one moment.
struct MemoryPoint {
    /// Seconds since the clients started connecting.
    at: u64,
    /// VmRSS, KiB.
    rss: u64,
    /// What its connections hold in the kernel, sent but not acknowledged: bytes in all, and
    /// in the largest.
    queued: (u64, u64),
    /// Clients it has closed as slow.
    closed: Option<f64>,
}

/// Reads the gateway's memory every 5 s until `stop`.
async fn watch_memory(
    pid: u32,
    address: SocketAddr,
    token: String,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Vec<MemoryPoint> {
    let started = Instant::now();
    let mut every = tokio::time::interval(Duration::from_secs(5));
    let mut points = Vec::new();
    loop {
        tokio::select! {
            _ = &mut stop => return points,
            _ = every.tick() => {}
        }
        points.push(MemoryPoint {
            at: started.elapsed().as_secs(),
            rss: rss(pid),
            queued: send_queues(address.port()),
            closed: gateway_metric(address, &token, SLOW_CLOSED).await,
        });
    }
}

/// The run's parameters, in one line.
fn describe(flags: &Flags) -> String {
    let silent = (0..flags.clients).filter(|&i| flags.never_reads(i)).count();
    let watching = match flags.mode {
        Mode::All => format!("every device in frames every {} ms", flags.tick_ms),
        _ => "one device".to_owned(),
    };
    format!(
        "bench-ws {}: clients {} (each watching {watching}; {silent} never reading), devices {} \
         (each a sample of {} interfaces every {} ms), {} s of publishing, slow clients closed \
         after {} ms, {} cores",
        flags.mode.name(),
        flags.clients,
        flags.devices,
        flags.interfaces(),
        flags.interval_ms,
        flags.seconds,
        flags.slow_ms,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}

#[tokio::main]
async fn main() {
    let flags = flags();
    let nats = NatsServer::start();
    let (gateway, address, token) = start_gateway(&flags, &nats).await;
    let pid = gateway.0.id();
    let client = bus::connect(&nats.settings(), "bench")
        .await
        .expect("connect");
    println!("{}", describe(&flags));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss(pid);
    let (stop_watching, stop) = tokio::sync::oneshot::channel();
    let watcher = (flags.never_read > 0)
        .then(|| tokio::spawn(watch_memory(pid, address, token.clone(), stop)));
    let tally = Arc::new(Tally::default());
    let connecting = Instant::now();
    let clients = connect_all(&flags, address, &token, &tally).await;
    println!(
        "connected:     {} clients in {:.1} s ({CONNECTING} at a time)",
        flags.clients,
        connecting.elapsed().as_secs_f64()
    );
    // Time for the last subscriptions to be taken.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu_before, _) = usage(pid);
    let publishing = Instant::now();
    let devices: Vec<DeviceId> = (0..flags.devices)
        .map(|k| DeviceId::parse(&format!("dev-{k}")).expect("id"))
        .collect();
    let published = publish(
        &client,
        &devices,
        Duration::from_millis(flags.interval_ms),
        flags.interfaces(),
        publishing + Duration::from_secs(flags.seconds),
    )
    .await;
    let elapsed = publishing.elapsed().as_secs_f64();
    let (cpu_after, _) = usage(pid);
    // Time for the last samples (and frames) to arrive.
    let tick = if flags.mode == Mode::All {
        flags.tick_ms
    } else {
        0
    };
    tokio::time::sleep(Duration::from_millis(2_000 + tick)).await;
    let figures = Figures {
        expected: published
            .iter()
            .zip(flags.readers_per_device())
            .map(|(samples, readers)| samples * readers)
            .sum(),
        published: published.iter().sum(),
        elapsed,
        cpu: cpu_after - cpu_before,
        rss_before,
        peak: usage(pid).1,
        queued: send_queues(address.port()),
        closed: gateway_metric(address, &token, SLOW_CLOSED).await,
        publishing_from: (publishing - connecting).as_secs(),
    };
    let _ = stop_watching.send(());
    let memory = match watcher {
        Some(watcher) => watcher.await.unwrap_or_default(),
        None => Vec::new(),
    };
    report(&flags, &tally, &figures);
    report_memory(&figures, &memory);
    drop(gateway);
    for client in clients {
        match client {
            Client::Reading(task) => task.abort(),
            Client::Silent(socket) => drop(socket),
        }
    }
}

/// What the run measured of the gateway, and when.
struct Figures {
    /// Samples the reading clients should have received, in all.
    expected: u64,
    published: u64,
    /// Seconds of publishing.
    elapsed: f64,
    /// Gateway CPU seconds while publishing.
    cpu: f64,
    /// Gateway RSS before any client connected, and its peak, KiB.
    rss_before: u64,
    peak: u64,
    /// As in [`MemoryPoint`], at the end.
    queued: (u64, u64),
    /// Clients the gateway says it closed as slow.
    closed: Option<f64>,
    /// When publishing started, seconds after the clients started connecting.
    publishing_from: u64,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Prints what the reading clients received and what it cost the gateway.
fn report(flags: &Flags, tally: &Tally, figures: &Figures) {
    let readers = (0..flags.clients)
        .filter(|&i| !flags.never_reads(i))
        .count();
    let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
    println!(
        "delivered:     {} of {} ({} samples published, {readers} reading clients)",
        load(&tally.delivered),
        figures.expected,
        figures.published
    );
    let delays = &tally.delays;
    println!(
        "{}: p50 {} ms, p99 {} ms, max {} ms",
        match flags.mode {
            Mode::All => "staleness, publication to receipt in a frame",
            _ => "delay, publication to delivery",
        },
        delays.percentile(0.50),
        delays.percentile(0.99),
        delays.max()
    );
    println!(
        "received:      {:.0} bytes per second per reading client",
        load(&tally.bytes) as f64 / readers.max(1) as f64 / figures.elapsed
    );
    println!(
        "gateway CPU:   {:.2} s per second ({:.1} s in {:.0} s of publishing)",
        figures.cpu / figures.elapsed,
        figures.cpu,
        figures.elapsed
    );
    println!(
        "gateway RSS:   {:.1} MiB before the clients, peak {:.1} MiB: {:.1} KiB per client",
        mib(figures.rss_before),
        mib(figures.peak),
        figures.peak.saturating_sub(figures.rss_before) as f64 / flags.clients as f64
    );
    println!(
        "send queues:   {} KiB sent by the gateway and not yet acknowledged (largest {} KiB)",
        figures.queued.0 / 1024,
        figures.queued.1 / 1024
    );
    let closed = figures.closed.map_or("?".to_owned(), |n| n.to_string());
    println!(
        "closed slow:   {closed} clients ({} never reading; {SLOW_CLOSED})",
        flags.clients - readers
    );
    let (missed, errors, ended) = (load(&tally.missed), load(&tally.errors), load(&tally.ended));
    if missed + errors + ended > 0 {
        println!(
            "reading clients: {missed} messages missed (lagged), {errors} errors, {ended} \
             connections ended ({} closed as slow)",
            load(&tally.closed_slow)
        );
    }
    if let Some(error) = tally.first_error.lock().expect("first error").as_ref() {
        println!("first error:   {error}");
    }
}

/// Prints the gateway's memory every 5 s (with --never-read).
fn report_memory(figures: &Figures, memory: &[MemoryPoint]) {
    if memory.is_empty() {
        return;
    }
    println!(
        "gateway memory every 5 s (clients connecting from 0 s, publishing from {} s to {} s):",
        figures.publishing_from,
        figures.publishing_from + figures.elapsed as u64
    );
    for point in memory {
        let closed = point.closed.map_or("?".to_owned(), |n| n.to_string());
        println!(
            "  {:>4} s  RSS {:7.1} MiB, send queues {:7} KiB (largest {:5} KiB), {closed} closed as slow",
            point.at,
            mib(point.rss),
            point.queued.0 / 1024,
            point.queued.1 / 1024
        );
    }
}

#[cfg(test)]
mod tests {
    use super::numbers_after;

    #[test]
    fn sample_times_are_read_from_a_frame() {
        let frame = r#"{"type":"frame","tick":3,"samples":[{"type":"sample","device":"a","time_ms":17,"interfaces":[{"index":1}]},{"type":"sample","device":"b","time_ms":18}]}"#;
        let times: Vec<u64> = numbers_after(frame, r#""time_ms":"#).collect();
        assert_eq!(times, [17, 18]);
    }
}
