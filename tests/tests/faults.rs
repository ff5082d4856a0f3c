//! Faults while netpulse runs, every service a process of its own: a poller killed, the
//! nats-server killed and restarted, a node of a three-node NATS cluster killed. Polling goes
//! on, the dashboard keeps answering, and nothing JetStream acknowledged is lost or stored
//! twice. `make test-faults` runs these, apart from `make test`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use netpulse_shared::config::NatsSettings;
use netpulse_shared::messages::Sample;
use netpulse_shared::test_util::{free_tcp_port, NatsCluster, NatsServer};
use netpulse_shared::{bus, subjects, time};
use netpulse_simulator::{SimConfig, Simulator};
use netpulse_tests::{ServiceProcess, Socket, ADMIN_PASSWORD};
use serde_json::json;

/// Seconds between two polls of each device.
const INTERVAL_SECS: u64 = 2;
const INTERVAL_MS: u64 = INTERVAL_SECS * 1000;

/// Waits until every stream the pipeline uses (buckets included) answers with a leader, as
/// after the elections that follow a node's loss; when that was (Unix ms).
async fn wait_for_stream_leaders(js: &jetstream::Context, limit: Duration) -> u64 {
    let deadline = tokio::time::Instant::now() + limit;
    let names = [
        subjects::SAMPLES_STREAM.to_owned(),
        subjects::EVENTS_STREAM.to_owned(),
        format!("KV_{}", subjects::DEVICES_BUCKET),
        format!("KV_{}", subjects::STATUS_BUCKET),
        format!("KV_{}", subjects::INTERFACES_BUCKET),
        format!("KV_{}", subjects::SCHEDULER_LEASE_BUCKET),
    ];
    loop {
        let mut leaderless = Vec::new();
        for name in &names {
            let led = async {
                let mut stream = js.get_stream(name).await.ok()?;
                let info = stream.info().await.ok()?;
                info.cluster.as_ref()?.leader.clone()
            };
            if led.await.is_none() {
                leaderless.push(name.clone());
            }
        }
        if leaderless.is_empty() {
            return time::now_ms();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "streams without a leader: {leaderless:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `devices` simulated devices with two interfaces each, registered at [`INTERVAL_SECS`].
async fn polled_devices(client: &async_nats::Client, replicas: usize, devices: usize) -> Simulator {
    let sim = Simulator::start(SimConfig {
        devices,
        interfaces: 2,
        base_port: 0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let addresses = sim.addresses();
    let bodies = addresses.iter().enumerate().map(|(i, address)| {
        json!({"name": format!("d{i}"), "address": address.to_string(),
               "interval": INTERVAL_SECS, "interfaces": [1, 2]})
    });
    netpulse_tests::register_devices(client, replicas, bodies.collect::<Vec<_>>()).await;
    sim
}

/// The slot (Unix ms) a sample was polled for: its id is `<device>-<slot>`.
fn slot_of(sample: &Sample) -> Option<u64> {
    sample.id.rsplit_once('-')?.1.parse().ok()
}

/// Every sample seen on `netpulse.sample.*`: the slots polled, by device.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<HashMap<String, BTreeSet<u64>>>>);

impl Seen {
    /// Follows `netpulse.sample.*` on `client` from now on.
    async fn follow(client: &async_nats::Client) -> Self {
        let seen = Self::default();
        let mut samples = client
            .subscribe(subjects::SAMPLE_ALL)
            .await
            .expect("subscribe");
        let filling = seen.clone();
        tokio::spawn(async move {
            while let Some(message) = samples.next().await {
                let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) else {
                    continue;
                };
                if let Some(slot) = slot_of(&sample) {
                    filling
                        .lock()
                        .entry(sample.device.to_string())
                        .or_default()
                        .insert(slot);
                }
            }
        });
        seen
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeSet<u64>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Devices of `0..devices` without a sample of a slot after `after_ms`.
    fn waiting(&self, devices: usize, after_ms: u64) -> Vec<String> {
        let seen = self.lock();
        (0..devices)
            .map(|i| format!("d{i}"))
            .filter(|d| {
                seen.get(d)
                    .and_then(|s| s.last())
                    .is_none_or(|last| *last <= after_ms)
            })
            .collect()
    }

    /// Waits until every device has been polled for a slot after `after_ms`; how long that
    /// took.
    async fn wait_all_after(&self, devices: usize, after_ms: u64, limit: Duration) -> Duration {
        let started = tokio::time::Instant::now();
        loop {
            let waiting = self.waiting(devices, after_ms);
            if waiting.is_empty() {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "{} devices not polled within {limit:?}, e.g. {:?}",
                waiting.len(),
                &waiting[..waiting.len().min(5)]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// For each device, the slots of its grid in `from_ms..to_ms` that no sample came for.
    fn missed(&self, devices: usize, from_ms: u64, to_ms: u64) -> HashMap<String, Vec<u64>> {
        let seen = self.lock();
        let mut missed = HashMap::new();
        for device in (0..devices).map(|i| format!("d{i}")) {
            let slots = seen.get(&device).cloned().unwrap_or_default();
            let Some(phase) = slots.first().map(|s| s % INTERVAL_MS) else {
                missed.insert(device, vec![from_ms]);
                continue;
            };
            let first = from_ms - from_ms % INTERVAL_MS + phase;
            let gaps: Vec<u64> = (0..)
                .map(|n| first + n * INTERVAL_MS)
                .skip_while(|slot| *slot < from_ms)
                .take_while(|slot| *slot < to_ms)
                .filter(|slot| !slots.contains(slot))
                .collect();
            if !gaps.is_empty() {
                missed.insert(device, gaps);
            }
        }
        missed
    }
}

/// The services of a pipeline, each a process.
struct Pipeline {
    scheduler: Option<ServiceProcess>,
    pollers: Vec<ServiceProcess>,
    recorder: Option<ServiceProcess>,
    gateway: Option<(ServiceProcess, std::net::SocketAddr)>,
    logs: Option<ServiceProcess>,
    /// Where the logs receiver takes SNMP notifications.
    traps: String,
}

impl Pipeline {
    fn start(nats: &NatsSettings, data_dir: &Path, pollers: usize, full: bool) -> Self {
        let run =
            |name: &str, env: &[(&str, &str)]| ServiceProcess::start(name, nats, data_dir, env);
        // Short reachability back-off, as in the other end-to-end tests.
        let scheduler = Some(run(
            "netpulse-scheduler",
            &[("NETPULSE_SCHEDULER__DOWN_BACKOFF_MAX_SECS", "2")],
        ));
        let pollers = (0..pollers).map(|_| run("netpulse-poller", &[])).collect();
        if !full {
            return Self {
                scheduler,
                pollers,
                recorder: None,
                gateway: None,
                logs: None,
                traps: String::new(),
            };
        }
        let recorder = Some(run("netpulse-recorder", &[]));
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
        let gateway = run(
            "netpulse-gateway",
            &[
                ("NETPULSE_GATEWAY__LISTEN", &listen.to_string()),
                ("NETPULSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ],
        );
        let syslog = format!("127.0.0.1:{}", free_tcp_port());
        let traps = format!("127.0.0.1:{}", netpulse_shared::test_util::free_udp_port());
        let logs = run(
            "netpulse-logs",
            &[
                ("NETPULSE_LOGS__SYSLOG_LISTEN", &syslog),
                ("NETPULSE_LOGS__TRAP_LISTEN", &traps),
            ],
        );
        Self {
            scheduler,
            pollers,
            recorder,
            gateway: Some((gateway, listen)),
            logs: Some(logs),
            traps,
        }
    }

    /// Asserts that no service has exited.
    fn assert_running(&mut self) {
        if let Some(scheduler) = &mut self.scheduler {
            assert!(scheduler.is_running(), "the scheduler exited");
        }
        for poller in &mut self.pollers {
            assert!(poller.is_running(), "a poller exited");
        }
        if let Some(recorder) = &mut self.recorder {
            assert!(recorder.is_running(), "the recorder exited");
        }
        if let Some((gateway, _)) = &mut self.gateway {
            assert!(gateway.is_running(), "the gateway exited");
        }
        if let Some(logs) = &mut self.logs {
            assert!(logs.is_running(), "the logs receiver exited");
        }
    }

    /// The gateway's address and the admin's token, once it answers.
    async fn sign_in(&self) -> (std::net::SocketAddr, String) {
        let (_, address) = self.gateway.as_ref().expect("a gateway");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                if let Ok(token) = netpulse_tests::login(*address, "admin", ADMIN_PASSWORD).await {
                    return (*address, token);
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the gateway did not start"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A /ws connection as the admin.
async fn open_ws(address: std::net::SocketAddr, token: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{address}/ws")
        .into_client_request()
        .expect("ws request");
    let bearer = format!("Bearer {token}").parse().expect("header");
    request.headers_mut().insert("authorization", bearer);
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("/ws");
    socket
}

/// Waits for a sample on `socket` polled after `after_ms`; panics after `limit`.
async fn ws_sample_after(socket: &mut Socket, after_ms: u64, limit: Duration) {
    let sample = netpulse_tests::next_live(socket, limit, |m| {
        m["type"] == "sample" && m["time_ms"].as_u64().is_some_and(|t| t > after_ms)
    })
    .await;
    assert!(sample.is_some(), "no sample on /ws within {limit:?}");
}

/// GET /api/devices answers 200 with every device.
async fn assert_devices_listed(address: std::net::SocketAddr, token: &str, devices: usize) {
    let listed = list_devices(address, token).await;
    assert_eq!(listed.as_ref().map(Vec::len), Ok(devices), "{listed:?}");
}

/// GET /api/devices: the devices, or the error answer.
async fn list_devices(
    address: std::net::SocketAddr,
    token: &str,
) -> Result<Vec<serde_json::Value>, String> {
    let bearer = format!("Bearer {token}");
    let response = netpulse_tests::http(
        address,
        "GET",
        "/api/devices",
        None,
        &[("Authorization", &bearer)],
    )
    .await;
    if response.status != 200 {
        return Err(format!("{}: {}", response.status, response.text()));
    }
    let listed = response.json();
    listed
        .as_array()
        .or_else(|| listed["devices"].as_array())
        .cloned()
        .ok_or_else(|| listed.to_string())
}

#[tokio::test]
async fn a_killed_poller_leaves_no_device_unpolled() {
    const DEVICES: usize = 50;
    netpulse_shared::telemetry::init_for_tests();
    let nats = NatsServer::start();
    let settings = nats.settings();
    let data = tempfile::tempdir().expect("data dir");
    let client = bus::connect(&settings, "test").await.expect("connect");
    let seen = Seen::follow(&client).await;
    let mut pipeline = Pipeline::start(&settings, data.path(), 3, false);
    let _sim = polled_devices(&client, 1, DEVICES).await;
    // Every device discovered and polled, by every poller's share of the queue group.
    seen.wait_all_after(DEVICES, 0, Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_secs(2 * INTERVAL_SECS)).await;
    let from_ms = time::now_ms();
    tokio::time::sleep(Duration::from_secs(2 * INTERVAL_SECS)).await;
    let killed_ms = time::now_ms();
    pipeline.pollers.remove(0).kill();
    tokio::time::sleep(Duration::from_secs(4 * INTERVAL_SECS)).await;
    // Slots up to two intervals ago have had their time to answer.
    let to_ms = time::now_ms() - INTERVAL_MS;
    pipeline.assert_running();
    let missed = seen.missed(DEVICES, from_ms, to_ms);
    for (device, slots) in &missed {
        assert!(
            slots.len() <= 1,
            "{device} missed {} polls of {}..{to_ms}: {slots:?}",
            slots.len(),
            from_ms
        );
        // The one a poller took with it when it died.
        let slot = slots[0];
        assert!(
            slot + 2 * INTERVAL_MS >= killed_ms && slot <= killed_ms + INTERVAL_MS,
            "{device} missed the poll of {slot}, not around the kill at {killed_ms}"
        );
    }
    println!(
        "{DEVICES} devices every {INTERVAL_SECS} s over {} s, a poller killed: {} devices missed one poll",
        (to_ms - from_ms) / 1000,
        missed.len()
    );
}

/// Publishes synthetic samples of device `probe` into JetStream every 20 ms until stopped;
/// the ids JetStream acknowledged.
fn publish_probes(
    client: async_nats::Client,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<Vec<String>>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let js = jetstream::new(client);
        let mut acked = Vec::new();
        for n in 0u64.. {
            if *stopped.borrow() {
                break;
            }
            let id = format!("probe-{n}");
            let sample = json!({"schema": 1, "id": id, "device": "probe", "time_ms": time::now_ms(),
                                "uptime_ticks": null, "values": [], "interfaces": []});
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", id.as_str());
            let stored = async {
                js.publish_with_headers("netpulse.sample.probe", headers, sample.to_string().into())
                    .await?
                    .await
                    .map_err(async_nats::Error::from)
            };
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(2), stored).await {
                acked.push(id);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        acked
    });
    (stop, task)
}

/// Every sample id in the recorder's files, with how many times it was written.
fn stored_ids(data_dir: &Path) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for folder in std::fs::read_dir(data_dir.join("devices")).expect("devices folder") {
        let folder = folder.expect("entry").path();
        for file in std::fs::read_dir(&folder).expect("device folder") {
            let file = file.expect("file").path();
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.starts_with("samples-") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("readable");
            for line in text.lines() {
                let sample: Sample = serde_json::from_str(line).expect("a sample");
                *ids.entry(sample.id).or_insert(0) += 1;
            }
        }
    }
    ids
}

#[tokio::test]
async fn a_restarted_nats_server_loses_nothing_acked() {
    const DEVICES: usize = 20;
    netpulse_shared::telemetry::init_for_tests();
    let mut nats = NatsServer::start();
    let settings = nats.settings();
    let data = tempfile::tempdir().expect("data dir");
    let client = bus::connect(&settings, "test").await.expect("connect");
    let js = jetstream::new(client.clone());
    let seen = Seen::follow(&client).await;
    let mut pipeline = Pipeline::start(&settings, data.path(), 2, true);
    let _sim = polled_devices(&client, 1, DEVICES).await;
    seen.wait_all_after(DEVICES, 0, Duration::from_secs(30))
        .await;
    let (address, token) = pipeline.sign_in().await;
    let mut socket = open_ws(address, &token).await;
    ws_sample_after(&mut socket, 0, Duration::from_secs(10)).await;
    let (stop_probes, probes) = publish_probes(client.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;

    nats.kill();
    // An inform sent while NATS is away is acknowledged only once its entry is stored:
    // snmpinform (retrying every second) succeeds after the restart, and the entry is kept.
    let inform = tokio::process::Command::new("snmpinform")
        .args(["-v", "2c", "-c", "public", "-t", "1", "-r", "20"])
        .arg(format!("udp:{}", pipeline.traps))
        .args(["", "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.2.1.2.2.1.2.2", "s"])
        .arg("inform-during-outage")
        .kill_on_drop(true)
        .status();
    let inform = tokio::spawn(inform);
    tokio::time::sleep(Duration::from_secs(3)).await;
    nats.resume();
    let back_ms = time::now_ms();
    let resumed = seen
        .wait_all_after(DEVICES, back_ms, Duration::from_secs(10))
        .await;
    println!(
        "every device polled again {} ms after nats-server was back",
        resumed.as_millis()
    );
    ws_sample_after(&mut socket, back_ms, Duration::from_secs(10)).await;
    assert_devices_listed(address, &token, DEVICES).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop_probes.send(true);
    let acked = probes.await.expect("probe publisher");
    let informed = inform
        .await
        .expect("join")
        .expect("run snmpinform (net-snmp's snmp package)");
    assert!(
        informed.success(),
        "the inform sent during the outage was acknowledged after it"
    );
    pipeline.assert_running();

    // No more samples: then everything in the stream must be on disk, once.
    pipeline.scheduler.take().expect("a scheduler").kill();
    for poller in pipeline.pollers.drain(..) {
        poller.kill();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Samples delivered to the recorder as nats-server died (a fetch under way) are
    // delivered again once the recorder's ack wait (60 s) has passed: allow for it.
    netpulse_tests::wait_until_recorded(&js, Duration::from_secs(90)).await;
    let in_stream: HashSet<String> = netpulse_tests::stream_sample_ids(&js)
        .await
        .into_iter()
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !in_stream.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged samples are gone from the stream after the restart, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    let on_disk = stored_ids(data.path());
    let twice: Vec<(&String, &usize)> = on_disk.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "samples stored more than once: {:?}",
        &twice[..twice.len().min(5)]
    );
    let missing: Vec<&String> = in_stream
        .iter()
        .filter(|id| !on_disk.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} samples in the stream are not stored, e.g. {:?}",
        missing.len(),
        in_stream.len(),
        &missing[..missing.len().min(5)]
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !logs_mention(data.path(), "inform-during-outage") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the acknowledged inform is not in any device's stored logs"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "{} samples ({} acknowledged probes) each stored exactly once across a nats-server restart",
        in_stream.len(),
        acked.len()
    );
}

/// True when some device's stored logs contain `text`.
fn logs_mention(data_dir: &Path, text: &str) -> bool {
    let Ok(devices) = std::fs::read_dir(data_dir.join("devices")) else {
        return false;
    };
    devices.flatten().any(|device| {
        std::fs::read_dir(device.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|f| f.file_name().to_string_lossy().starts_with("logs-"))
            .any(|f| std::fs::read_to_string(f.path()).is_ok_and(|t| t.contains(text)))
    })
}

/// The names of the netpulse connections on node `n` of the cluster.
fn connections(cluster: &NatsCluster, n: usize) -> Vec<String> {
    let Some(body) = cluster.monitor(n, "/connz?limit=1024") else {
        return Vec::new();
    };
    let connz: serde_json::Value = serde_json::from_str(&body).expect("connz JSON");
    connz["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .filter(|name| name.starts_with("netpulse-"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_killed_cluster_node_leaves_polling_and_the_dashboard_running() {
    const DEVICES: usize = 20;
    netpulse_shared::telemetry::init_for_tests();
    let mut cluster = NatsCluster::start(3);
    let settings = cluster.settings(3);
    let data = tempfile::tempdir().expect("data dir");
    let client = bus::connect(&settings, "test").await.expect("connect");
    let js = jetstream::new(client.clone());
    let seen = Seen::follow(&client).await;
    let mut pipeline = Pipeline::start(&settings, data.path(), 2, true);
    let _sim = polled_devices(&client, 3, DEVICES).await;
    seen.wait_all_after(DEVICES, 0, Duration::from_secs(40))
        .await;
    let (address, token) = pipeline.sign_in().await;
    let mut socket = open_ws(address, &token).await;
    ws_sample_after(&mut socket, 0, Duration::from_secs(10)).await;
    let mut samples = js
        .get_stream(subjects::SAMPLES_STREAM)
        .await
        .expect("stream");
    let info = samples.info().await.expect("info");
    assert_eq!(
        info.config.num_replicas, 3,
        "the samples stream has three replicas"
    );
    let registry = js
        .get_stream(format!("KV_{}", subjects::DEVICES_BUCKET))
        .await;
    assert_eq!(
        registry
            .expect("registry stream")
            .cached_info()
            .config
            .num_replicas,
        3,
        "the registry has three replicas"
    );

    // The node most services are connected to goes.
    let on_node: Vec<Vec<String>> = (0..3).map(|n| connections(&cluster, n)).collect();
    let victim = (0..3).max_by_key(|n| on_node[*n].len()).expect("a node");
    let moved = on_node[victim].clone();
    assert!(
        !moved.is_empty(),
        "no service connected to any node: {on_node:?}"
    );
    cluster.kill(victim);
    let killed_ms = time::now_ms();

    let resumed = seen
        .wait_all_after(DEVICES, killed_ms, Duration::from_secs(15))
        .await;
    println!(
        "node {victim} killed ({} services on it: {moved:?}); every device polled again within {} ms",
        moved.len(),
        resumed.as_millis()
    );
    ws_sample_after(&mut socket, killed_ms, Duration::from_secs(10)).await;
    // Listing the registry needs its stream's leader: while the cluster elects a new one for
    // a stream whose leader was on the killed node, the gateway answers from the copy its
    // registry watch keeps. Every listing from the kill on answers, with every device.
    let mut refusals = Vec::new();
    let mut answered = 0;
    while time::now_ms() < killed_ms + 15_000 {
        match list_devices(address, &token).await {
            Ok(listed) if listed.len() == DEVICES => answered += 1,
            other => refusals.push(format!("{other:?}")),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("GET /api/devices answered {answered} times in the 15 s after the kill");
    assert!(
        refusals.is_empty(),
        "GET /api/devices refused during the node's loss: {refusals:?}"
    );
    // Those that were on the killed node are now on another.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mut now_on: Vec<String> = (0..3)
            .filter(|n| *n != victim)
            .flat_map(|n| connections(&cluster, n))
            .collect();
        let mut expected: Vec<String> = on_node.iter().flatten().cloned().collect();
        now_on.sort();
        expected.sort();
        if now_on == expected {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "services not back on the other nodes: {now_on:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Once every stream has a leader again (the scheduler's lease among them), polling goes
    // on with every device polled in every interval.
    let led = wait_for_stream_leaders(&js, Duration::from_secs(20)).await;
    let after_election = time::now_ms();
    seen.wait_all_after(DEVICES, after_election, Duration::from_secs(15))
        .await;
    println!(
        "every stream led again {} ms after the kill",
        led.saturating_sub(killed_ms)
    );
    let from_ms = time::now_ms();
    tokio::time::sleep(Duration::from_secs(4 * INTERVAL_SECS)).await;
    let missed = seen.missed(DEVICES, from_ms, time::now_ms() - INTERVAL_MS);
    assert!(
        missed.is_empty(),
        "polls missed after the node was gone: {missed:?}"
    );
    assert_devices_listed(address, &token, DEVICES).await;
    pipeline.assert_running();
}
