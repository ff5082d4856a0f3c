//! `make bench-poller`: one poller against many simulated devices.
//!
//! Starts nats-server, netpulse-sim (N devices x M interfaces), the scheduler and one poller
//! (release builds), registers every device, lets one interval pass for warm-up and
//! discovery, then measures for a while and prints: polls per second, poller CPU seconds per
//! 1,000 polls, late or missed polls, and the poller's peak RSS. A benchmark prints figures;
//! it does not pass or fail on them.
//!
//! Flags: --devices 5000 --interfaces 8 --interval 10 --seconds 60 --base-port 20000

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use netpulse_shared::device::Device;
use netpulse_shared::messages::{PollFailure, Sample};
use netpulse_shared::test_util::{free_tcp_port, NatsServer};
use netpulse_shared::{bus, time};
use netpulse_tests::bench::{start, usage};
use serde_json::json;

struct Flags {
    devices: usize,
    interfaces: usize,
    interval: u64,
    seconds: u64,
    base_port: u16,
}

fn flags() -> Flags {
    let mut flags = Flags {
        devices: 5000,
        interfaces: 8,
        interval: 10,
        seconds: 60,
        base_port: 20000,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| {
            eprintln!("usage: bench-poller [--devices N] [--interfaces M] [--interval S] [--seconds S] [--base-port P]");
            std::process::exit(2)
        });
        match pair[0].as_str() {
            "--devices" => flags.devices = value as usize,
            "--interfaces" => flags.interfaces = value as usize,
            "--interval" => flags.interval = value,
            "--seconds" => flags.seconds = value,
            "--base-port" => flags.base_port = u16::try_from(value).unwrap_or(20000),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    flags
}

#[tokio::main]
async fn main() {
    let flags = flags();
    let nats = NatsServer::start();
    let url = nats.url();
    let sim = start(
        "netpulse-sim",
        &[
            "--devices".into(),
            flags.devices.to_string(),
            "--interfaces".into(),
            flags.interfaces.to_string(),
            "--base-port".into(),
            flags.base_port.to_string(),
            "--control".into(),
            format!("127.0.0.1:{}", free_tcp_port()),
        ],
        &[("NETPULSE_NATS__URL", &url)],
    );
    let _scheduler = start("netpulse-scheduler", &[], &[("NETPULSE_NATS__URL", &url)]);
    let poller = start("netpulse-poller", &[], &[("NETPULSE_NATS__URL", &url)]);
    let client = bus::connect(&nats.settings(), "bench")
        .await
        .expect("connect");
    let js = async_nats::jetstream::new(client.clone());
    let registry = bus::Bucket::DEVICES.open(&js, 1).await.expect("registry");
    tokio::time::sleep(Duration::from_secs(2)).await;

    println!(
        "bench-poller: {} devices x {} interfaces, every {} s, one poller, {} cores",
        flags.devices,
        flags.interfaces,
        flags.interval,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let interfaces: Vec<usize> = (1..=flags.interfaces).collect();
    for i in 0..flags.devices {
        let body = json!({"name": format!("sim-{i}"), "address": format!("127.0.0.1:{}", usize::from(flags.base_port) + i),
                          "interval": flags.interval, "interfaces": interfaces});
        let device = Device::from_json_body(body.to_string().as_bytes()).expect("device");
        let value = serde_json::to_vec(&device).expect("json");
        registry
            .put(device.id.as_str(), value.into())
            .await
            .expect("register");
    }
    let mut samples = client
        .subscribe("netpulse.sample.*")
        .await
        .expect("subscribe");
    let mut failures = client
        .subscribe("netpulse.failure.*")
        .await
        .expect("subscribe");

    // Warm-up: every device scheduled and discovered once.
    let warm_up = Duration::from_secs(flags.interval * 2);
    let until = tokio::time::Instant::now() + warm_up;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => break,
            _ = samples.next() => {},
            _ = failures.next() => {},
        }
    }

    let pid = poller.0.id();
    let (cpu_before, _) = usage(pid);
    let started = Instant::now();
    let start_ms = time::now_ms();
    let end = tokio::time::Instant::now() + Duration::from_secs(flags.seconds);
    let (mut polled, mut failed, mut late) = (0u64, 0u64, 0u64);
    let mut per_device: HashMap<String, u64> = HashMap::new();
    let mut worst_lateness_ms = 0u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(end) => break,
            Some(message) = samples.next() => {
                let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) else { continue };
                polled += 1;
                *per_device.entry(sample.device.to_string()).or_default() += 1;
                // The sample id ends with its slot time: lateness is answer time minus slot.
                let slot = sample.id.rsplit('-').next().and_then(|s| s.parse::<u64>().ok()).unwrap_or(sample.time_ms);
                let lateness = sample.time_ms.saturating_sub(slot);
                worst_lateness_ms = worst_lateness_ms.max(lateness);
                if lateness > 2_000 {
                    late += 1;
                }
            }
            Some(message) = failures.next() => {
                if serde_json::from_slice::<PollFailure>(&message.payload).is_ok() {
                    failed += 1;
                }
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu_after, peak_rss_kib) = usage(pid);
    let expected = (flags.devices as u64 * flags.seconds) / flags.interval;
    let answered = polled + failed;
    let missed = expected.saturating_sub(answered);
    let cpu = cpu_after - cpu_before;
    println!("measured {elapsed:.0} s from {start_ms}");
    println!(
        "polls per second:            {:.0} ({} samples, {} failures, {} expected)",
        answered as f64 / elapsed,
        polled,
        failed,
        expected
    );
    println!(
        "poller CPU s per 1,000 polls: {:.3} ({cpu:.1} CPU s in all)",
        if answered > 0 {
            cpu * 1000.0 / answered as f64
        } else {
            0.0
        }
    );
    println!("late polls (> 2 s after slot): {late}; worst lateness {worst_lateness_ms} ms");
    println!("missed polls:                {missed}");
    println!(
        "devices never sampled:       {}",
        flags.devices.saturating_sub(per_device.len())
    );
    println!(
        "poller peak RSS:             {:.1} MiB",
        peak_rss_kib as f64 / 1024.0
    );
    drop(sim);
}
