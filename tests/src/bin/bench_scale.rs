//! `make bench-scale`: the whole of netpulse at 10,000 devices, then snmp_exporter against the
//! same devices.
//!
//! Starts netpulse-sim (10,000 devices x 10 interfaces), nats-server with netpulse's
//! nats.conf (each service its own user), and the release scheduler, poller(s), recorder and
//! gateway as processes; registers every device at a 60 s interval, signs in on /ws and
//! subscribes to every device's samples, warms up for one interval and measures for a few
//! minutes. It prints polls per second, the lag from each poll's slot to its answer, the
//! delay from a sample's time to its delivery on /ws, and each process's CPU seconds per
//! 1,000 polls and peak RSS.
//!
//! Then it stops netpulse (the simulator stays) and runs Prometheus' snmp_exporter
//! (`prometheus-snmp-exporter`, modules in bench/snmp_exporter.yml) scraping every device
//! once per interval as Prometheus would, once per module, and prints both tools' CPU per
//! device poll side by side. A benchmark prints figures; it does not pass or fail on them.
//!
//! 10,000 devices are 10,000 UDP sockets in the simulator: raise the open-file limit first
//! (`make bench-scale` does).
//!
//! With `--capacity MAX` (`make bench-capacity`) it looks for the most devices this machine
//! polls, stores, rolls up and streams to /ws: it runs netpulse at `--devices`, then half as
//! many again each time, up to MAX (and the simulator's port range), and stops at the first
//! count where a poll due was not answered (beyond 1 in 2,000 that the window's edges cut) or
//! failed, a poll was answered more than one interval after its slot, the p99 from a
//! sample's time to its delivery on /ws passed 100 ms, or the recorder had more than 10 s of
//! polls not yet stored when the window ended. It prints each step's figures, then the
//! largest count that met all four.
//!
//! Flags: --devices 10000 --interfaces 10 --interval 60 --seconds 180 --pollers 1
//! --base-port 20000 --exporter-seconds 90 --exporter walk,get (or none) --capacity MAX
//! --errors off (on: errors and discards polled too, as devices do by default)

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use netpulse_shared::device::Device;
use netpulse_shared::messages::Sample;
use netpulse_shared::test_util::{free_tcp_port, NatsServer};
use netpulse_shared::{bus, subjects, time};
use netpulse_tests::bench::scrape::{self, ScrapePlan};
use netpulse_tests::bench::{child_named, machine_cpu, percentile, start, usage, Running};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const USAGE: &str =
    "usage: bench-scale [--devices N] [--interfaces M] [--interval S] [--seconds S] \
[--pollers P] [--base-port P] [--exporter-seconds S] [--exporter walk,get|none] [--capacity MAX] [--errors on|off]";

struct Flags {
    devices: usize,
    interfaces: usize,
    interval: u64,
    seconds: u64,
    pollers: usize,
    base_port: u16,
    exporter_seconds: u64,
    /// snmp_exporter modules to run, without the `netpulse_` prefix.
    exporter: Vec<String>,
    /// Find the capacity, up to this many devices (0: measure `devices` once).
    capacity: usize,
    /// Poll errors and discards too (`poll_errors`): seven OIDs per interface instead of the
    /// three (octets in and out, oper status) snmp_exporter's modules here read.
    errors: bool,
}

fn flags() -> Flags {
    let mut flags = Flags {
        devices: 10_000,
        interfaces: 10,
        interval: 60,
        seconds: 180,
        pollers: 1,
        base_port: 20_000,
        exporter_seconds: 90,
        exporter: vec!["walk".into(), "get".into()],
        capacity: 0,
        errors: false,
    };
    let fail = |why: String| -> ! {
        eprintln!("{why}\n{USAGE}");
        std::process::exit(2)
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let Some(value) = pair.get(1) else {
            fail(format!("{} needs a value", pair[0]))
        };
        let number = || {
            value
                .parse::<u64>()
                .unwrap_or_else(|_| fail(format!("bad value {value} for {}", pair[0])))
                .max(1)
        };
        match pair[0].as_str() {
            "--devices" => flags.devices = number() as usize,
            "--interfaces" => flags.interfaces = number() as usize,
            "--interval" => flags.interval = number(),
            "--seconds" => flags.seconds = number(),
            "--pollers" => flags.pollers = number() as usize,
            "--base-port" => flags.base_port = u16::try_from(number()).unwrap_or(20_000),
            "--exporter-seconds" => flags.exporter_seconds = number(),
            "--capacity" => flags.capacity = number() as usize,
            "--errors" => {
                flags.errors = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => fail(format!("--errors takes on or off, not {value}")),
                }
            }
            "--exporter" => {
                flags.exporter = value
                    .split(',')
                    .filter(|m| !m.is_empty() && *m != "none")
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = flags
                    .exporter
                    .iter()
                    .find(|m| !["walk", "get"].contains(&m.as_str()))
                {
                    fail(format!("unknown snmp_exporter module {bad}"))
                }
            }
            other => fail(format!("unknown flag {other}")),
        }
    }
    flags
}

/// What the bench saw on NATS and /ws, each stamped with when it arrived (Unix ms).
#[derive(Default)]
struct Seen {
    /// (arrival, slot of the poll, the sample's time).
    samples: Vec<(u64, u64, u64)>,
    /// (arrival, device) of each sample: which devices were polled at all.
    sampled: Vec<(u64, String)>,
    /// Arrival of each poll failure.
    failures: Vec<u64>,
    /// (arrival, device) of each scheduled poll job: a shortfall in samples is then either
    /// the scheduler's (no job) or the pollers' (a job, no answer).
    jobs: Vec<(u64, String)>,
    /// (arrival on /ws, the sample's time).
    delivered: Vec<(u64, u64)>,
    /// Messages /ws said this client missed.
    missed_on_ws: u64,
}

/// A measured process: its name and pid.
struct Measured {
    name: String,
    pid: u32,
}

fn cpu_of(processes: &[Measured]) -> Vec<f64> {
    processes.iter().map(|p| usage(p.pid).0).collect()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn per_thousand(cpu: f64, polls: u64) -> f64 {
    if polls == 0 {
        0.0
    } else {
        cpu * 1000.0 / polls as f64
    }
}

#[tokio::main]
async fn main() {
    let flags = flags();
    if flags.capacity > 0 {
        return find_capacity(flags).await;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "bench-scale: {} devices x {} interfaces every {} s (errors and discards {}); netpulse ({} poller(s)) measured {} s after {} s of warm-up, \
         then snmp_exporter ({}) {} s each; {cores} cores",
        flags.devices,
        flags.interfaces,
        flags.interval,
        if flags.errors { "polled too" } else { "not polled" },
        flags.pollers,
        flags.seconds,
        flags.interval,
        if flags.exporter.is_empty() { "skipped".to_owned() } else { flags.exporter.join(", ") },
        flags.exporter_seconds,
    );
    let netpulse = run_netpulse(&flags, simulators(&flags)).await;
    let Some((sims, netpulse)) = netpulse else {
        return;
    };
    let sim = &sims[0];
    let mut exporter = Vec::new();
    for module in &flags.exporter {
        if let Some(result) = run_exporter(&flags, module, sim).await {
            exporter.push(result);
        }
    }
    side_by_side(&netpulse, &exporter);
}

/// The first port the system gives outgoing sockets: simulated devices stay below it, or a
/// device's port may already be some socket's source port.
fn ephemeral_start() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// The most files a process may open (one socket per simulated device counts).
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

/// Devices one simulator holds: its ports run from `base_port` to below the ephemeral range,
/// and its sockets stay 1,000 below the open-files limit.
fn per_simulator(flags: &Flags) -> usize {
    ephemeral_start()
        .saturating_sub(usize::from(flags.base_port))
        .min(open_files_limit().saturating_sub(1000))
        .max(1)
}

/// The address of simulated device `i`: simulator `i / per` listens on 127.0.0.<that + 1>.
fn device_address(flags: &Flags, i: usize) -> String {
    let per = per_simulator(flags);
    format!(
        "127.0.0.{}:{}",
        i / per + 1,
        usize::from(flags.base_port) + i % per
    )
}

/// netpulse-sim processes for `flags.devices` devices, as many as the port range needs.
fn simulators(flags: &Flags) -> Vec<Running> {
    let per = per_simulator(flags);
    (0..flags.devices.div_ceil(per))
        .map(|k| {
            let devices = per.min(flags.devices - k * per);
            start(
                "netpulse-sim",
                &[
                    "--devices".into(),
                    devices.to_string(),
                    "--interfaces".into(),
                    flags.interfaces.to_string(),
                    "--bind".into(),
                    format!("127.0.0.{}", k + 1),
                    "--base-port".into(),
                    flags.base_port.to_string(),
                    "--control".into(),
                    format!("127.0.0.1:{}", free_tcp_port()),
                ],
                &[],
            )
        })
        .collect()
}

/// Runs netpulse at more and more devices until it no longer keeps up; see the module's
/// documentation.
/// A step keeps up only if the recorder had stored all but this many seconds of polls when
/// the window ended (it stores in batches, each synced before it is acknowledged).
const STORED_WITHIN_S: f64 = 10.0;

async fn find_capacity(mut flags: Flags) {
    // One UDP port per simulated device, 254 loopback addresses.
    let most = flags.capacity.min(per_simulator(&flags) * 254);
    println!(
        "bench-capacity: from {} devices x {} interfaces ({}) every {} s, up to {most}; each step {} s of warm-up, {} s measured; {} cores",
        flags.devices,
        flags.interfaces,
        if flags.errors { "octets, oper status, errors and discards" } else { "octets and oper status" },
        flags.interval,
        flags.interval,
        flags.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut kept_up: Option<(usize, NetpulseCost)> = None;
    let mut failed = None;
    loop {
        println!("\n=== {} devices", flags.devices);
        let Some((sims, cost)) = run_netpulse(&flags, simulators(&flags)).await else {
            failed = Some((
                flags.devices,
                "netpulse or the simulator did not start".to_owned(),
            ));
            break;
        };
        drop(sims);
        let interval_ms = flags.interval * 1000;
        // The window's edges cut a few polls either way: up to 1 in 2,000 short is counted
        // as the edges', not as polls missed.
        let missing = cost.due.saturating_sub(cost.samples);
        let why = if !cost.exited.is_empty() {
            Some(format!("exited: {}", cost.exited.join(", ")))
        } else if missing > cost.due / 2000 || cost.failures > 0 {
            Some(format!(
                "{missing} polls due not answered, {} failed",
                cost.failures
            ))
        } else if cost.max_lag_ms >= interval_ms {
            Some(format!(
                "a poll answered {} ms after its slot (interval {interval_ms} ms)",
                cost.max_lag_ms
            ))
        } else if cost.ws_p99_ms > 100 {
            Some(format!("p99 sample to /ws {} ms", cost.ws_p99_ms))
        } else if cost
            .backlog
            .is_none_or(|n| n as f64 > cost.polls_per_s * STORED_WITHIN_S)
        {
            Some(format!(
                "the recorder was behind by {} samples at the window's end (more than {STORED_WITHIN_S} s of polls)",
                cost.backlog.map_or_else(|| "an unknown number of".to_owned(), |n| n.to_string())
            ))
        } else {
            None
        };
        match why {
            Some(why) => {
                failed = Some((flags.devices, why));
                break;
            }
            None => kept_up = Some((flags.devices, cost)),
        }
        if flags.devices >= most {
            break;
        }
        flags.devices = (flags.devices * 3 / 2)
            .div_ceil(1000)
            .saturating_mul(1000)
            .min(most);
    }
    println!();
    match kept_up {
        Some((devices, cost)) => println!(
            "capacity: {devices} devices x {} interfaces every {} s ({} interfaces a minute), every poll answered within its interval, p99 sample to /ws {} ms; CPU per poll {:.3} ms for netpulse and nats-server, {:.3} ms the poller, {:.3} ms the simulator (apart)",
            flags.interfaces,
            flags.interval,
            devices as u64 * flags.interfaces as u64 * 60 / flags.interval,
            cost.ws_p99_ms,
            cost.all_ms,
            cost.poller_ms,
            cost.sim_ms,
        ),
        None => println!("capacity: below {} devices", flags.devices),
    }
    match failed {
        Some((devices, why)) => println!("at {devices} devices it did not keep up: {why}"),
        None => println!("the largest count tried ({most}) kept up: the capacity is at least that"),
    }
}

/// Per-poll CPU of netpulse, for the comparison, and whether it kept up.
struct NetpulseCost {
    poller_ms: f64,
    all_ms: f64,
    sim_ms: f64,
    /// Polls due in the window, samples and failures in it.
    due: u64,
    samples: u64,
    failures: u64,
    /// The longest from a poll's slot to its answer.
    max_lag_ms: u64,
    /// p99 from a sample's time to its delivery on /ws.
    ws_p99_ms: u64,
    /// Processes that exited during the run.
    exited: Vec<String>,
    /// Samples the recorder had not stored at the window's end (`None`: not read).
    backlog: Option<u64>,
    /// Polls answered per second in the window.
    polls_per_s: f64,
}

/// Samples the recorder has not stored yet (pending and unacknowledged), if readable.
async fn recorder_backlog(js: &async_nats::jetstream::Context) -> Option<u64> {
    let (pending, unacked) = netpulse_tests::recorder_backlog(js).await?;
    Some(pending + unacked)
}

/// Per-scrape CPU of one snmp_exporter module.
struct ExporterCost {
    module: String,
    exporter_ms: f64,
    sim_ms: f64,
}

/// Runs and measures netpulse; the simulator is handed back for the exporter's turn.
async fn run_netpulse(
    flags: &Flags,
    mut sims: Vec<Running>,
) -> Option<(Vec<Running>, NetpulseCost)> {
    let nats = NatsServer::start_with_netpulse_config();
    let url = nats.url();
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = data.path().to_string_lossy().into_owned();
    let listen = format!("127.0.0.1:{}", free_tcp_port());
    let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web");
    let web = web.to_string_lossy().into_owned();
    let service = |name: &str, extra: &[(&str, &str)]| {
        let password = format!("{name}-secret");
        let mut env = vec![
            ("NETPULSE_NATS__URL", url.as_str()),
            ("NETPULSE_NATS__USER", name),
            ("NETPULSE_NATS__PASSWORD", password.as_str()),
        ];
        env.extend_from_slice(extra);
        start(&format!("netpulse-{name}"), &[], &env)
    };
    let mut processes = vec![("scheduler".to_owned(), service("scheduler", &[]))];
    for n in 1..=flags.pollers {
        processes.push((format!("poller {n}"), service("poller", &[])));
    }
    processes.push((
        "recorder".into(),
        service("recorder", &[("NETPULSE_DATA_DIR", &data_dir)]),
    ));
    processes.push((
        "gateway".into(),
        service(
            "gateway",
            &[
                ("NETPULSE_GATEWAY__LISTEN", &listen),
                ("NETPULSE_GATEWAY__WEB_DIR", &web),
                ("NETPULSE_ADMIN_PASSWORD", "bench-admin-password"),
            ],
        ),
    ));
    let address: SocketAddr = listen.parse().expect("address");
    let mut token = None;
    for _ in 0..100 {
        // Sign in only once it listens (the HTTP helper takes a refused connection as a bug).
        if tokio::net::TcpStream::connect(address).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        if let Ok(t) = netpulse_tests::login(address, "admin", "bench-admin-password").await {
            token = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let Some(token) = token else {
        eprintln!("bench-scale: the gateway did not start");
        return None;
    };
    for sim in &mut sims {
        if let Ok(Some(status)) = sim.0.try_wait() {
            eprintln!("bench-scale: netpulse-sim exited ({status}); is the open-file limit high enough (ulimit -n)?");
            return None;
        }
    }
    let client = bus::connect(&nats.settings_for("gateway"), "bench")
        .await
        .expect("connect");
    let seen = Arc::new(Mutex::new(Seen::default()));
    listen_on_nats(&client, seen.clone()).await;
    // The recorder's consumer, read as the recorder: what it has not stored yet.
    let recorder_js = async_nats::jetstream::new(
        bus::connect(&nats.settings_for("recorder"), "bench backlog")
            .await
            .expect("connect"),
    );
    // Poll jobs are for pollers' eyes only: watch them as one (outside its queue group).
    let jobs_client = bus::connect(&nats.settings_for("poller"), "bench jobs")
        .await
        .expect("connect");
    listen_for_jobs(&jobs_client, seen.clone()).await;
    listen_on_ws(&listen, &token, seen.clone()).await;

    // Register every device as the gateway would, 64 at a time.
    let js = async_nats::jetstream::new(client.clone());
    // The gateway has made the bucket.
    let registry = js
        .get_key_value(subjects::DEVICES_BUCKET)
        .await
        .expect("registry");
    let interfaces: Vec<usize> = (1..=flags.interfaces).collect();
    let registering = std::time::Instant::now();
    futures::stream::iter(0..flags.devices)
        .for_each_concurrent(64, |i| {
            let (registry, interfaces) = (&registry, &interfaces);
            async move {
                let body = json!({"name": format!("sim-{i}"),
                                  "address": device_address(flags, i),
                                  "interval": flags.interval, "interfaces": interfaces,
                                  "poll_errors": flags.errors});
                let device = Device::from_json_body(body.to_string().as_bytes()).expect("device");
                let value = serde_json::to_vec(&device).expect("json");
                registry
                    .put(device.id.as_str(), value.into())
                    .await
                    .expect("register");
            }
        })
        .await;
    println!(
        "registered {} devices in {:.1} s; warming up for {} s",
        flags.devices,
        registering.elapsed().as_secs_f64(),
        flags.interval
    );
    tokio::time::sleep(Duration::from_secs(flags.interval)).await;

    let mut measured: Vec<Measured> = processes
        .iter()
        .map(|(name, running)| Measured {
            name: name.clone(),
            pid: running.0.id(),
        })
        .collect();
    measured.push(Measured {
        name: "nats-server".into(),
        pid: child_named("nats-server").expect("nats-server is a child of the bench"),
    });
    for sim in &sims {
        measured.push(Measured {
            name: "netpulse-sim".into(),
            pid: sim.0.id(),
        });
    }
    let backlog_before = recorder_backlog(&recorder_js).await;
    let before = cpu_of(&measured);
    let machine_before = machine_cpu();
    let from_ms = time::now_ms();
    tokio::time::sleep(Duration::from_secs(flags.seconds)).await;
    let to_ms = time::now_ms();
    let after = cpu_of(&measured);
    let machine_after = machine_cpu();
    let rss: Vec<u64> = measured.iter().map(|p| usage(p.pid).1).collect();
    let backlog_after = recorder_backlog(&recorder_js).await;
    // Deliveries of samples answered in the window may still be on their way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut exited: Vec<String> = processes
        .iter_mut()
        .filter_map(|(name, running)| {
            running
                .0
                .try_wait()
                .ok()
                .flatten()
                .map(|status| format!("{name} ({status})"))
        })
        .collect();
    exited.extend(sims.iter_mut().filter_map(|sim| {
        let status = sim.0.try_wait().ok().flatten()?;
        Some(format!("netpulse-sim ({status})"))
    }));
    drop(processes);
    drop(nats);

    let seen = std::mem::take(&mut *seen.lock().expect("seen"));
    let in_window = |at: u64| (from_ms..to_ms).contains(&at);
    let mut lags: Vec<u64> = seen
        .samples
        .iter()
        .filter(|(at, ..)| in_window(*at))
        .map(|(_, slot, answered)| answered.saturating_sub(*slot))
        .collect();
    lags.sort_unstable();
    let samples = lags.len() as u64;
    let failures = seen.failures.iter().filter(|at| in_window(**at)).count() as u64;
    let polls = samples + failures;
    let sampled_in_window = seen
        .samples
        .iter()
        .filter(|(_, _, sample_time)| in_window(*sample_time))
        .count();
    let mut delays: Vec<u64> = seen
        .delivered
        .iter()
        .filter(|(_, sample_time)| in_window(*sample_time))
        .map(|(at, sample_time)| at.saturating_sub(*sample_time))
        .collect();
    delays.sort_unstable();
    let elapsed = (to_ms - from_ms) as f64 / 1000.0;
    let expected = flags.devices as u64 * flags.seconds / flags.interval;
    let (busy, total) = (
        machine_after.0 - machine_before.0,
        (machine_after.1 - machine_before.1).max(1),
    );

    println!("\nnetpulse, measured {elapsed:.0} s:");
    println!(
        "polls per second:        {:.1} ({samples} samples + {failures} failures; {expected} due in the window, {:.1}%)",
        polls as f64 / elapsed,
        polls as f64 * 100.0 / expected.max(1) as f64
    );
    let devices_polled = seen
        .sampled
        .iter()
        .filter(|(at, _)| in_window(*at))
        .map(|(_, device)| device.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    println!(
        "devices polled:          {devices_polled} of {} at least once in the window",
        flags.devices
    );
    let jobs_in_window: Vec<&str> = seen
        .jobs
        .iter()
        .filter(|(at, _)| in_window(*at))
        .map(|(_, device)| device.as_str())
        .collect();
    println!(
        "poll jobs published:     {} for {} devices in the window",
        jobs_in_window.len(),
        jobs_in_window
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
    println!(
        "slot to answer:          p50 {} ms, p99 {} ms, max {} ms",
        percentile(&lags, 0.50),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(0)
    );
    println!(
        "sample time to /ws:      p50 {} ms, p99 {} ms, max {} ms ({} of {sampled_in_window} delivered, {} reported missed)",
        percentile(&delays, 0.50),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0),
        delays.len(),
        seen.missed_on_ws
    );
    let show = |n: Option<u64>| n.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    println!(
        "samples not yet stored:  {} at the window's start, {} at its end (the recorder's consumer: pending and unacknowledged)",
        show(backlog_before),
        show(backlog_after)
    );
    println!(
        "machine CPU busy:        {:.0}% of {} cores",
        busy as f64 * 100.0 / total as f64,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<14} {:>22} {:>12} {:>14}",
        "process", "CPU s per 1,000 polls", "CPU s", "peak RSS MiB"
    );
    let mut all = 0.0;
    let (mut poller, mut sim_cpu) = (0.0, 0.0);
    for (i, process) in measured.iter().enumerate() {
        let cpu = after[i] - before[i];
        println!(
            "{:<14} {:>22.3} {:>12.1} {:>14.1}",
            process.name,
            per_thousand(cpu, polls),
            cpu,
            mib(rss[i])
        );
        if process.name == "netpulse-sim" {
            sim_cpu += cpu;
        } else {
            all += cpu;
        }
        if process.name.starts_with("poller") {
            poller += cpu;
        }
    }
    println!(
        "{:<14} {:>22.3} {:>12.1}",
        "netpulse+nats",
        per_thousand(all, polls),
        all
    );
    if !exited.is_empty() {
        println!("exited during the run: {}", exited.join(", "));
    }
    if polls < expected * 95 / 100 {
        println!(
            "LIMIT: only {:.1}% of the polls due were answered; the machine was {:.0}% busy",
            polls as f64 * 100.0 / expected.max(1) as f64,
            busy as f64 * 100.0 / total as f64
        );
    }
    let cost = NetpulseCost {
        poller_ms: per_thousand(poller, polls),
        all_ms: per_thousand(all, polls),
        sim_ms: per_thousand(sim_cpu, polls),
        due: expected,
        samples,
        failures,
        max_lag_ms: lags.last().copied().unwrap_or(0),
        ws_p99_ms: percentile(&delays, 0.99),
        exited,
        backlog: backlog_after,
        polls_per_s: polls as f64 / elapsed,
    };
    Some((sims, cost))
}

/// Records every sample and poll failure published.
async fn listen_on_nats(client: &async_nats::Client, seen: Arc<Mutex<Seen>>) {
    let mut samples = client
        .subscribe("netpulse.sample.*")
        .await
        .expect("subscribe");
    let mut failures = client
        .subscribe("netpulse.failure.*")
        .await
        .expect("subscribe");
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(message) = samples.next() => {
                    let at = time::now_ms();
                    let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) else { continue };
                    // A scheduled poll's id ends with its slot (a live poll's too, but none run here).
                    let slot = sample.id.rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(sample.time_ms);
                    let mut seen = seen.lock().expect("seen");
                    seen.samples.push((at, slot, sample.time_ms));
                    seen.sampled.push((at, sample.device.to_string()));
                }
                Some(_) = failures.next() => seen.lock().expect("seen").failures.push(time::now_ms()),
                else => break,
            }
        }
    });
}

/// Records every scheduled poll job (not live ones: none run here).
async fn listen_for_jobs(client: &async_nats::Client, seen: Arc<Mutex<Seen>>) {
    let mut jobs = client
        .subscribe(netpulse_shared::subjects::POLL_BATCH)
        .await
        .expect("subscribe");
    tokio::spawn(async move {
        while let Some(message) = jobs.next().await {
            let at = time::now_ms();
            let Ok(batch) =
                serde_json::from_slice::<netpulse_shared::messages::PollBatch>(&message.payload)
            else {
                continue;
            };
            let mut seen = seen.lock().expect("seen");
            for job in batch.jobs {
                seen.jobs.push((at, job.device.to_string()));
            }
        }
    });
}

/// Signs in on /ws as a dashboard overview does (every device's samples) and records when
/// each arrives.
async fn listen_on_ws(listen: &str, token: &str, seen: Arc<Mutex<Seen>>) {
    let mut request = format!("ws://{listen}/ws")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect to /ws");
    socket
        .send(Message::text(
            r#"{"type": "subscribe", "devices": "*", "kinds": ["sample"], "live": []}"#,
        ))
        .await
        .expect("subscribe");
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let at = time::now_ms();
            let Message::Text(text) = message else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let mut seen = seen.lock().expect("seen");
            match value["type"].as_str() {
                Some("sample") => {
                    if let Some(sample_time) = value["time_ms"].as_u64() {
                        seen.delivered.push((at, sample_time));
                    }
                }
                Some("lagged") => seen.missed_on_ws += value["missed"].as_u64().unwrap_or(0),
                _ => {}
            }
        }
    });
}

/// bench/snmp_exporter.yml plus the `netpulse_get` module: the instances a netpulse poll
/// GETs, for `interfaces` interfaces.
fn exporter_config(interfaces: usize) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/snmp_exporter.yml");
    let mut config = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    config.push_str(
        "netpulse_get:\n  version: 2\n  auth:\n    community: public\n  retries: 1\n  timeout: 5s\n  get:\n  - 1.3.6.1.2.1.1.3.0\n",
    );
    for index in 1..=interfaces {
        for column in [
            "1.3.6.1.2.1.31.1.1.1.6",
            "1.3.6.1.2.1.31.1.1.1.10",
            "1.3.6.1.2.1.2.2.1.8",
        ] {
            config.push_str(&format!("  - {column}.{index}\n"));
        }
    }
    config.push_str("  metrics: *metrics\n");
    config
}

/// The snmp_exporter program: Debian's name, or upstream's.
fn exporter_program() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            [
                dir.join("prometheus-snmp-exporter"),
                dir.join("snmp_exporter"),
            ]
        })
        .find(|p| p.is_file())
}

/// Runs snmp_exporter with `module` against every device and measures it.
async fn run_exporter(flags: &Flags, module: &str, sim: &Running) -> Option<ExporterCost> {
    let Some(program) = exporter_program() else {
        println!(
            "\nsnmp_exporter: not installed (apt-get install prometheus-snmp-exporter); skipped"
        );
        return None;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("snmp.yml");
    std::fs::write(&config, exporter_config(flags.interfaces)).expect("write snmp.yml");
    let port = free_tcp_port();
    let exporter = Running(
        Command::new(&program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display())),
    );
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let module = format!("netpulse_{module}");
    let plan = ScrapePlan {
        exporter: address,
        module: module.clone(),
        targets: (0..flags.devices)
            .map(|i| format!("127.0.0.1:{}", usize::from(flags.base_port) + i))
            .collect(),
        interval: Duration::from_secs(flags.interval),
        interfaces: flags.interfaces,
    };
    // Scrapes start at once, spread over the interval: a short warm-up, then the window.
    let warm_up = Duration::from_secs(10);
    let started = tokio::time::Instant::now();
    let until = started + warm_up + Duration::from_secs(flags.exporter_seconds);
    let scraping = tokio::spawn(scrape::run(plan, until));
    tokio::time::sleep_until(started + warm_up).await;
    let pids = [exporter.0.id(), sim.0.id()];
    let before: Vec<f64> = pids.iter().map(|pid| usage(*pid).0).collect();
    let machine_before = machine_cpu();
    let from_ms = time::now_ms();
    tokio::time::sleep_until(until).await;
    let to_ms = time::now_ms();
    let after: Vec<f64> = pids.iter().map(|pid| usage(*pid).0).collect();
    let machine_after = machine_cpu();
    let rss = usage(exporter.0.id()).1;
    let scrapes = scraping.await.expect("scraper");
    drop(exporter);

    let window: Vec<_> = scrapes
        .iter()
        .filter(|s| (from_ms..to_ms).contains(&s.finished_ms))
        .collect();
    let done = window.len() as u64;
    let good = window.iter().filter(|s| s.ok).count();
    let mut durations: Vec<u64> = window
        .iter()
        .map(|s| s.finished_ms.saturating_sub(s.started_ms))
        .collect();
    durations.sort_unstable();
    let mut lateness: Vec<u64> = window
        .iter()
        .map(|s| s.started_ms.saturating_sub(s.due_ms))
        .collect();
    lateness.sort_unstable();
    let elapsed = (to_ms - from_ms) as f64 / 1000.0;
    let expected = flags.devices as u64 * flags.exporter_seconds / flags.interval;
    let (exporter_cpu, sim_cpu) = (after[0] - before[0], after[1] - before[1]);
    let busy = (machine_after.0 - machine_before.0) as f64 * 100.0
        / (machine_after.1 - machine_before.1).max(1) as f64;
    println!("\nsnmp_exporter, module {module}, measured {elapsed:.0} s:");
    println!(
        "scrapes per second:      {:.1} ({good} good of {done}; {expected} due in the window)",
        done as f64 / elapsed
    );
    println!(
        "scrape duration:         p50 {} ms, p99 {} ms; start after due: p99 {} ms",
        percentile(&durations, 0.50),
        percentile(&durations, 0.99),
        percentile(&lateness, 0.99)
    );
    println!(
        "snmp_exporter:           {:.3} CPU s per 1,000 scrapes ({exporter_cpu:.1} CPU s), peak RSS {:.1} MiB",
        per_thousand(exporter_cpu, done),
        mib(rss)
    );
    println!(
        "netpulse-sim:            {:.3} CPU s per 1,000 scrapes; machine CPU busy {busy:.0}%",
        per_thousand(sim_cpu, done)
    );
    Some(ExporterCost {
        module,
        exporter_ms: per_thousand(exporter_cpu, done),
        sim_ms: per_thousand(sim_cpu, done),
    })
}

fn side_by_side(netpulse: &NetpulseCost, exporter: &[ExporterCost]) {
    println!("\nCPU ms per device poll (= CPU s per 1,000 polls):");
    println!("{:<40} {:>10} {:>18}", "", "collector", "agent (simulator)");
    println!(
        "{:<40} {:>10.3} {:>18.3}",
        "netpulse poller", netpulse.poller_ms, netpulse.sim_ms
    );
    println!(
        "{:<40} {:>10.3}",
        "netpulse, every service + nats-server", netpulse.all_ms
    );
    for cost in exporter {
        println!(
            "{:<40} {:>10.3} {:>18.3}",
            format!("snmp_exporter {}", cost.module),
            cost.exporter_ms,
            cost.sim_ms
        );
        if netpulse.poller_ms > 0.0 && netpulse.all_ms > 0.0 {
            println!(
                "  ratio snmp_exporter {} / netpulse poller: {:.1}x; / netpulse in all: {:.2}x",
                cost.module,
                cost.exporter_ms / netpulse.poller_ms,
                cost.exporter_ms / netpulse.all_ms
            );
        }
    }
}
