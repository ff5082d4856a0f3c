//! `make bench-recorder`: the recorder's ingest rate and the latency of a long query.
//!
//! Starts nats-server and fills the samples stream with a backlog (N devices x M interfaces,
//! as the poller publishes them), writes 30 days of one-minute rollups for one more device,
//! then starts the release netpulse-recorder and prints:
//! - ingest: samples per second from the backlog to disk, each batch synced (fsync) before
//!   its ack, rollups included; the recorder's CPU seconds per 1,000 samples;
//! - the latency of a 30-day query at one-minute resolution for one interface (43,200
//!   points, fetched page by page over NATS as the gateway does), best and median of 5;
//! - the recorder's peak RSS while ingesting, and over the whole run (the query's pages
//!   included).
//!
//! A benchmark prints figures; it does not pass or fail on them.
//!
//! Flags: --samples 100000 --devices 1000 --interfaces 10

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use netpulse_recorder::roller::{InterfaceRollup, RollupLine};
use netpulse_recorder::store::file_name;
use netpulse_shared::device::DeviceId;
use netpulse_shared::history::{HistoryAnswer, HistoryQuery, Resolution, Spread};
use netpulse_shared::interfaces::InterfaceRef;
use netpulse_shared::messages::{PolledInterface, Sample, SnmpValue, VarBind, SCHEMA_VERSION};
use netpulse_shared::snmp::Oid;
use netpulse_shared::test_util::NatsServer;
use netpulse_shared::{bus, subjects, time};
use netpulse_tests::bench::{start, usage};

fn flags() -> (usize, usize, usize) {
    let (mut samples, mut devices, mut interfaces) = (100_000, 1000, 10);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or_else(|| {
                eprintln!("usage: bench-recorder [--samples N] [--devices N] [--interfaces M]");
                std::process::exit(2)
            });
        match pair[0].as_str() {
            "--samples" => samples = value,
            "--devices" => devices = value.max(1),
            "--interfaces" => interfaces = value.max(1),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    (samples, devices, interfaces)
}

fn sample(device: usize, round: u64, time_ms: u64, interfaces: usize) -> Sample {
    let mut values = vec![VarBind {
        oid: Oid::parse("1.3.6.1.2.1.1.3.0").expect("oid"),
        value: SnmpValue::Timeticks(u32::try_from(round * 100).unwrap_or(0)),
    }];
    let mut polled = Vec::new();
    for index in 1..=interfaces as u32 {
        for column in [6, 10] {
            values.push(VarBind {
                oid: Oid::parse(&format!("1.3.6.1.2.1.31.1.1.1.{column}.{index}")).expect("oid"),
                value: SnmpValue::Counter64(round * 1_250_000 * u64::from(index + column)),
            });
        }
        polled.push(PolledInterface {
            index,
            key: format!("if{index}"),
            speed_bps: 10_000_000_000,
        });
    }
    Sample::from_answers(
        format!("bench-{device}-{time_ms}"),
        DeviceId::parse(&format!("bench-{device}")).expect("id"),
        time_ms,
        Some(u32::try_from(round * 100).unwrap_or(0)),
        values,
        &polled,
    )
}

/// 30 days of one-minute rollups of `device`, written as the recorder writes them.
fn write_month_of_rollups(data_dir: &std::path::Path, device: &str, interfaces: usize, now: u64) {
    let folder = data_dir.join("devices").join(device);
    std::fs::create_dir_all(&folder).expect("folder");
    let start = now - 30 * 86_400_000;
    let mut files: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    let mut t = start - start % 60_000;
    while t < now {
        let wave = ((t / 60_000) % 1440) as f64;
        let line = RollupLine {
            time_ms: t,
            step_ms: 60_000,
            interfaces: (1..=interfaces as u32)
                .map(|index| {
                    let avg = 1e6 * (1.0 + wave) * f64::from(index);
                    let spread = Spread {
                        min: avg * 0.8,
                        avg,
                        max: avg * 1.3,
                    };
                    InterfaceRollup {
                        index,
                        key: format!("if{index}"),
                        count: 6,
                        in_bps: spread,
                        out_bps: spread,
                        errors: Default::default(),
                    }
                })
                .collect(),
            oids: Default::default(),
        };
        let bytes = files.entry(file_name(Resolution::Minute, t)).or_default();
        serde_json::to_writer(&mut *bytes, &line).expect("json");
        bytes.push(b'\n');
        t += 60_000;
    }
    for (name, bytes) in files {
        std::fs::write(folder.join(name), bytes).expect("write");
    }
}

/// One 30-day query at one-minute resolution, all pages; (points, elapsed).
async fn month_query(
    client: &async_nats::Client,
    device: &DeviceId,
    now: u64,
) -> (usize, Duration) {
    // Whole minutes: 30 days is then exactly 43,200 steps.
    let now = now - now % 60_000;
    let started = Instant::now();
    let mut query = HistoryQuery {
        schema: SCHEMA_VERSION,
        device: device.clone(),
        interface: Some(InterfaceRef::Name("if3".into())),
        oids: Vec::new(),
        summed: Vec::new(),
        from_ms: now - 30 * 86_400_000,
        to_ms: now,
        max_points: 43_200,
        resolution: Some(Resolution::Minute),
        step_ms: None,
        page: 0,
    };
    let mut points = 0;
    loop {
        let payload = serde_json::to_vec(&query).expect("json");
        let reply = client
            .request(subjects::history(device), payload.into())
            .await
            .expect("answer");
        match serde_json::from_slice::<HistoryAnswer>(&reply.payload).expect("answer json") {
            HistoryAnswer::Series {
                step_ms,
                pages,
                points: page,
                ..
            } => {
                points += page.len();
                query.step_ms = Some(step_ms);
                query.page += 1;
                if query.page >= pages {
                    break;
                }
            }
            HistoryAnswer::Failed { reason } => panic!("query failed: {reason}"),
        }
    }
    (points, started.elapsed())
}

#[tokio::main]
async fn main() {
    let (count, devices, interfaces) = flags();
    let nats = NatsServer::start();
    let url = nats.url();
    let data = tempfile::tempdir().expect("data dir");
    let client = bus::connect(&nats.settings(), "bench")
        .await
        .expect("connect");
    let js = jetstream::new(client.clone());
    let stream = bus::samples_stream(&js, 1).await.expect("stream");
    println!(
        "bench-recorder: {count} samples of {devices} devices x {interfaces} interfaces, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // The backlog, as an hour-long outage would leave it.
    let now = time::now_ms();
    let rounds = count.div_ceil(devices) as u64;
    let first = now - rounds * 1000;
    let mut bytes = 0usize;
    let mut published = 0;
    'fill: for round in 0..rounds {
        let mut acks = Vec::with_capacity(devices);
        for device in 0..devices {
            if published == count {
                break;
            }
            let s = sample(device, round, first + round * 1000, interfaces);
            let payload = serde_json::to_vec(&s).expect("json");
            bytes += payload.len();
            acks.push(
                js.publish(subjects::sample(&s.device), payload.into())
                    .await
                    .expect("publish"),
            );
            published += 1;
        }
        for ack in acks {
            ack.await.expect("stored");
        }
        if published == count {
            break 'fill;
        }
    }
    println!(
        "backlog: {published} samples, {:.0} bytes each",
        bytes as f64 / published.max(1) as f64
    );
    let month = DeviceId::parse("month").expect("id");
    write_month_of_rollups(data.path(), month.as_str(), interfaces, now);

    let data_dir = data.path().to_string_lossy().into_owned();
    let recorder = start(
        "netpulse-recorder",
        &[],
        &[
            ("NETPULSE_NATS__URL", &url),
            ("NETPULSE_DATA_DIR", &data_dir),
            ("NETPULSE_RECORDER__ROLLUP_1M_RETENTION", "40d"),
        ],
    );
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Ok(mut recorder) = stream
            .get_consumer::<consumer::pull::Config>(subjects::RECORDER_CONSUMER)
            .await
        else {
            continue;
        };
        let info = recorder.info().await.expect("consumer info");
        if info.num_pending == 0 && info.num_ack_pending == 0 && info.delivered.stream_sequence > 0
        {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu, ingest_rss) = usage(recorder.0.id());
    println!(
        "ingest:        {:.0} samples/s sustained ({published} in {elapsed:.1} s, synced before each ack)",
        published as f64 / elapsed
    );
    println!(
        "recorder CPU:  {:.3} s per 1,000 samples",
        cpu * 1000.0 / published.max(1) as f64
    );
    println!(
        "recorder peak RSS while ingesting: {:.1} MiB ({} samples per device stored)",
        ingest_rss as f64 / 1024.0,
        published / devices.max(1)
    );

    let mut times = Vec::new();
    let mut points = 0;
    for _ in 0..5 {
        let (n, took) = month_query(&client, &month, now).await;
        points = n;
        times.push(took);
    }
    times.sort();
    println!(
        "30-day query:  {points} one-minute points of one interface in {:.0} ms (median of 5; best {:.0} ms)",
        times[2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0
    );
    let (_, rss) = usage(recorder.0.id());
    println!(
        "recorder peak RSS, whole run: {:.1} MiB",
        rss as f64 / 1024.0
    );
}
