//! `make bench-logs`: syslog messages per second received and stored.
//!
//! Starts nats-server, the release netpulse-logs and netpulse-recorder, registers one device
//! per sending address (127.0.1.1, 127.0.1.2, ...), then opens one TCP connection from each
//! address and sends RFC 5424 messages with octet counting as fast as the receiver takes
//! them (TCP: nothing is lost to a full buffer). Prints:
//! - received: messages per second published into the logs stream;
//! - stored: messages per second on disk (synced before the ack), end to end;
//! - CPU seconds per 1,000 messages and peak RSS of netpulse-logs and netpulse-recorder.
//!
//! The per-source flood limit is raised for the run, since the load comes from few sources.
//! A benchmark prints figures; it does not pass or fail on them.
//!
//! Flags: --sources 10 --messages 1000000

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use netpulse_shared::device::Device;
use netpulse_shared::test_util::{free_tcp_port, NatsServer};
use netpulse_shared::{bus, subjects};
use netpulse_tests::bench::{start, usage};
use serde_json::json;
use tokio::io::AsyncWriteExt;

fn flags() -> (usize, usize) {
    let (mut sources, mut messages) = (10, 1_000_000);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or_else(|| {
                eprintln!("usage: bench-logs [--sources N] [--messages N]");
                std::process::exit(2)
            });
        match pair[0].as_str() {
            "--sources" => sources = value.clamp(1, 250),
            "--messages" => messages = value.max(1),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    (sources, messages)
}

async fn stream_messages(js: &jetstream::Context) -> u64 {
    match js.get_stream(subjects::LOGS_STREAM).await {
        Ok(mut stream) => stream.info().await.map_or(0, |i| i.state.messages),
        Err(_) => 0,
    }
}

#[tokio::main]
async fn main() {
    let (sources, count) = flags();
    let nats = NatsServer::start();
    let url = nats.url();
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = data.path().to_string_lossy().into_owned();
    let listen = format!("127.0.0.1:{}", free_tcp_port());
    let traps = format!("127.0.0.1:{}", free_tcp_port());
    let client = bus::connect(&nats.settings(), "bench")
        .await
        .expect("connect");
    let js = jetstream::new(client.clone());
    let registry = bus::Bucket::DEVICES.open(&js, 1).await.expect("registry");
    for n in 1..=sources {
        let body = json!({"name": format!("logger-{n}"), "address": format!("192.0.2.{n}:161"),
                          "interval": 3600, "log_sources": [format!("127.0.1.{n}")]});
        let device = Device::from_json_body(body.to_string().as_bytes()).expect("device");
        registry
            .put(
                device.id.as_str(),
                serde_json::to_vec(&device).expect("json").into(),
            )
            .await
            .expect("register");
    }
    let logs = start(
        "netpulse-logs",
        &[],
        &[
            ("NETPULSE_NATS__URL", &url),
            ("NETPULSE_LOGS__SYSLOG_LISTEN", &listen),
            ("NETPULSE_LOGS__TRAP_LISTEN", &traps),
            ("NETPULSE_LOGS__PER_SOURCE_RATE", "10000000"),
            ("NETPULSE_LOGS__PER_SOURCE_BURST", "10000000"),
        ],
    );
    let recorder = start(
        "netpulse-recorder",
        &[],
        &[
            ("NETPULSE_NATS__URL", &url),
            ("NETPULSE_DATA_DIR", &data_dir),
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "bench-logs: {count} syslog messages over TCP from {sources} sources, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let target: std::net::SocketAddr = listen.parse().expect("address");
    let per_source = count.div_ceil(sources);
    let started = Instant::now();
    let mut senders = Vec::new();
    for n in 1..=sources {
        senders.push(tokio::spawn(async move {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(format!("127.0.1.{n}:0").parse().expect("source"))
                .expect("bind 127.0.1.x");
            let mut stream = socket.connect(target).await.expect("connect");
            let mut batch = Vec::with_capacity(64 * 1024);
            for i in 0..per_source {
                let message = format!(
                    "<165>1 2026-11-28T10:00:00.000Z host-{n} app 42 ID{i} - interface ge-0/0/{i} changed state to down"
                );
                batch.extend_from_slice(format!("{} {message}", message.len()).as_bytes());
                if batch.len() > 60 * 1024 {
                    stream.write_all(&batch).await.expect("send");
                    batch.clear();
                }
            }
            stream.write_all(&batch).await.expect("send");
            stream.shutdown().await.ok();
        }));
    }
    for sender in senders {
        sender.await.expect("sender");
    }
    let total = (per_source * sources) as u64;
    let sent = started.elapsed().as_secs_f64();
    // Received: everything published into the stream.
    let deadline = Instant::now() + Duration::from_secs(600);
    while stream_messages(&js).await < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = started.elapsed().as_secs_f64();
    // Stored: the recorder has written and acked all of it.
    let stream = js.get_stream(subjects::LOGS_STREAM).await.expect("stream");
    loop {
        if let Ok(mut consumer) = stream
            .get_consumer::<consumer::pull::Config>(subjects::RECORDER_LOGS_CONSUMER)
            .await
        {
            let info = consumer.info().await.expect("consumer info");
            if info.num_pending == 0
                && info.num_ack_pending == 0
                && info.delivered.stream_sequence >= total
            {
                break;
            }
        }
        if Instant::now() > deadline {
            println!("the recorder did not catch up within 10 minutes");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = started.elapsed().as_secs_f64();
    let mut on_disk = 0;
    for folder in std::fs::read_dir(data.path().join("devices"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for file in std::fs::read_dir(folder.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if file.file_name().to_string_lossy().starts_with("logs-") {
                on_disk += std::fs::read_to_string(file.path()).map_or(0, |t| t.lines().count());
            }
        }
    }
    println!("sent in:       {sent:.2} s; entries on disk: {on_disk} of {total}");
    println!(
        "received:      {:.0} messages/s ({total} in {received:.1} s)",
        total as f64 / received
    );
    println!(
        "stored:        {:.0} messages/s end to end, synced before each ack ({stored:.1} s)",
        total as f64 / stored
    );
    for (name, process) in [("netpulse-logs", &logs), ("netpulse-recorder", &recorder)] {
        let (cpu, rss) = usage(process.0.id());
        println!(
            "{name:18} {:.3} CPU s per 1,000 messages, peak RSS {:.1} MiB",
            cpu * 1000.0 / total as f64,
            rss as f64 / 1024.0
        );
    }
}
