//! `make bench-ws`: one gateway, many browsers watching one device.
//!
//! Starts nats-server and the release netpulse-gateway, signs in, connects N WebSocket
//! clients (default 1,000) that each subscribe to one device's samples, then publishes a
//! sample of that device every 100 ms for a while and prints: the delay from a sample's
//! publication to its delivery to each client, p50 and p99; how many deliveries arrived of
//! those expected; the gateway's CPU seconds and peak RSS.
//!
//! Each client is a socket at both ends: raise the open-file limit first (`make bench-ws`
//! does, to the hard limit). A benchmark prints figures; it does not pass or fail on them.
//!
//! Flags: --clients 1000 --seconds 30

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use netpulse_shared::device::DeviceId;
use netpulse_shared::messages::{PolledInterface, Sample, SnmpValue, VarBind};
use netpulse_shared::snmp::Oid;
use netpulse_shared::test_util::{free_tcp_port, NatsServer};
use netpulse_shared::{bus, subjects, time};
use netpulse_tests::bench::{percentile, start, usage};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn flags() -> (usize, u64) {
    let (mut clients, mut seconds) = (1000, 30);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| {
                eprintln!("usage: bench-ws [--clients N] [--seconds S]");
                std::process::exit(2)
            });
        match pair[0].as_str() {
            "--clients" => clients = usize::try_from(value).unwrap_or(1000).max(1),
            "--seconds" => seconds = value.max(1),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    (clients, seconds)
}

fn sample(device: &DeviceId, n: u64) -> Sample {
    let time_ms = time::now_ms();
    let mut values = vec![VarBind {
        oid: Oid::parse("1.3.6.1.2.1.1.3.0").expect("oid"),
        value: SnmpValue::Timeticks(u32::try_from(n * 10).unwrap_or(0)),
    }];
    for index in 1..=4u32 {
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
        &(1..=4)
            .map(|index| PolledInterface {
                index,
                key: format!("eth{index}"),
                speed_bps: 1_000_000_000,
            })
            .collect::<Vec<_>>(),
    )
}

#[tokio::main]
async fn main() {
    let (clients, seconds) = flags();
    let nats = NatsServer::start();
    let url = nats.url();
    let port = free_tcp_port();
    let listen = format!("127.0.0.1:{port}");
    let web = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web");
    let gateway = start(
        "netpulse-gateway",
        &[],
        &[
            ("NETPULSE_NATS__URL", &url),
            ("NETPULSE_GATEWAY__LISTEN", &listen),
            ("NETPULSE_GATEWAY__WEB_DIR", &web.to_string_lossy()),
            ("NETPULSE_ADMIN_PASSWORD", "bench-admin-password"),
        ],
    );
    let address: std::net::SocketAddr = listen.parse().expect("address");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let token = netpulse_tests::login(address, "admin", "bench-admin-password")
        .await
        .expect("the gateway did not start");
    let client = bus::connect(&nats.settings(), "bench")
        .await
        .expect("connect");
    let device = DeviceId::parse("watched").expect("id");
    println!(
        "bench-ws: {clients} WebSocket clients watching one device, a sample every 100 ms for {seconds} s, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut readers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut request = format!("ws://{listen}/ws")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect (raise the open-file limit: ulimit -n)");
        socket
            .send(Message::text(format!(
                r#"{{"type": "subscribe", "devices": ["{device}"], "kinds": ["sample"]}}"#
            )))
            .await
            .expect("subscribe");
        readers.push(tokio::spawn(async move {
            let mut delays = Vec::new();
            while let Some(Ok(message)) = socket.next().await {
                let received = time::now_ms();
                if let Message::Text(text) = message {
                    if text.contains("\"type\":\"lagged\"") {
                        continue;
                    }
                    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    if let Some(sent) = value["time_ms"].as_u64() {
                        delays.push(received.saturating_sub(sent));
                    }
                }
            }
            delays
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu_before, _) = usage(gateway.0.id());
    let started = Instant::now();
    let mut published = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while started.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let payload = serde_json::to_vec(&sample(&device, published)).expect("json");
        client
            .publish(subjects::sample(&device), payload.into())
            .await
            .expect("publish");
        published += 1;
    }
    client.flush().await.ok();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu_after, rss) = usage(gateway.0.id());
    drop(gateway);
    let mut delays = Vec::new();
    for reader in readers {
        if let Ok(Ok(mut d)) = tokio::time::timeout(Duration::from_secs(10), reader).await {
            delays.append(&mut d);
        }
    }
    delays.sort_unstable();
    let expected = published * clients as u64;
    println!(
        "delivered:     {} of {expected} ({published} samples x {clients} clients)",
        delays.len()
    );
    println!(
        "delay, publication to delivery: p50 {} ms, p99 {} ms, max {} ms",
        percentile(&delays, 0.50),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0)
    );
    println!(
        "gateway CPU:   {:.2} s per second ({:.1} s in {elapsed:.0} s); peak RSS {:.1} MiB",
        (cpu_after - cpu_before) / elapsed,
        cpu_after - cpu_before,
        rss as f64 / 1024.0
    );
}
