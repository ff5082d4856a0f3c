//! Agents that cache their interface counters: net-snmp refreshes its interface tables every
//! few seconds, so polled every second it answers the same counters several times, then a
//! jump. netpulse must show neither the zero of a repeated reading nor the double after it:
//! not in the stored history, not on the dashboard's stream, not in the one-second live view.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use netpulse_shared::test_util::Snmpd;
use netpulse_tests::Stack;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Steady traffic on the loopback interface: about 4.5 Mbit/s of UDP, each way.
fn steady_traffic() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let sink = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let target = sink.local_addr().expect("address");
        let source = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        tokio::spawn(async move {
            let mut buffer = [0u8; 2048];
            while sink.recv(&mut buffer).await.is_ok() {}
        });
        let payload = [0x5au8; 1400];
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        loop {
            tick.tick().await;
            for _ in 0..2 {
                let _ = source.send_to(&payload, target).await;
            }
        }
    })
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// One interface's readings as /ws showed them: time, counter, rate, marked cached.
type Shown = Vec<(u64, String, Option<f64>, bool)>;

/// Checks what the dashboard drew for one series: the agent did cache (many readings repeat
/// the one before, so a naive rate between consecutive readings would draw zeros followed by
/// multiples), and yet from the first rate on every sample shows one, the cached ones the last
/// real rate, never a zero nor a double. Returns the index of the first rate and the typical
/// rate.
fn drawn_without_zero_or_double(what: &str, shown: &Shown) -> (usize, f64) {
    let repeated = shown.windows(2).filter(|w| w[0].1 == w[1].1).count();
    assert!(
        repeated >= 10,
        "{what}: only {repeated} repeated readings: {shown:?}"
    );
    let first = shown
        .iter()
        .position(|s| s.2.is_some())
        .expect("rates within 40 s");
    assert!(
        first < 10,
        "{what}: the first rate came after {first} samples"
    );
    let rates: Vec<f64> = shown[first..]
        .iter()
        .map(|s| s.2.expect("a rate on every sample after the first"))
        .collect();
    let typical = median(&rates);
    assert!(typical > 2e6, "{what}: the traffic shows: {typical} bit/s");
    for (time, _, rate, _) in &shown[first..] {
        let rate = rate.unwrap_or_default();
        assert!(
            rate > typical * 0.5 && rate < typical * 1.6,
            "{what}: {rate} bit/s at {time} against a typical {typical}: {shown:?}"
        );
    }
    let cached = shown.iter().filter(|s| s.3).count();
    assert!(cached >= 10, "{what}: {cached} samples marked cached");
    (first, typical)
}

#[tokio::test]
async fn an_agent_polled_every_second_shows_no_zero_then_double() {
    let traffic = steady_traffic();
    let agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("ws");
    // One device polled every second and stored; one polled every minute, shown in the
    // one-second live view (its device page is open).
    for (name, interval) in [("cached", 1), ("cached-live", 60)] {
        let device = json!({"name": name, "address": agent.address(), "interval": interval,
                            "timeout_ms": 800, "interfaces": [1]});
        let created = stack
            .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
    }
    socket
        .send(Message::text(
            json!({"type": "subscribe", "devices": "*", "live": ["cached-live"]}).to_string(),
        ))
        .await
        .expect("subscribe");

    // Forty seconds of each on /ws: what the dashboard draws.
    let (mut shown, mut live): (Shown, Shown) = (Vec::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(50);
    while shown.len() < 40 || live.len() < 40 {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "a sample every second: {} of the device, {} of its live view",
                    shown.len(),
                    live.len()
                )
            })
            .expect("the stream stays open")
            .expect("ws");
        let Message::Text(text) = message else {
            continue;
        };
        let value: Value = serde_json::from_str(&text).expect("json");
        let series = match (value["type"].as_str(), value["device"].as_str()) {
            (Some("sample"), Some("cached")) if value["live"] != true => &mut shown,
            (Some("sample"), Some("cached-live")) if value["live"] == true => &mut live,
            _ => continue,
        };
        let interface = &value["interfaces"][0];
        series.push((
            value["time_ms"].as_u64().expect("time"),
            interface["in_octets"].as_str().expect("counter").to_owned(),
            interface["in_bps"].as_f64(),
            interface["cached"] == true,
        ));
    }
    traffic.abort();
    let (first, typical) = drawn_without_zero_or_double("polled every second", &shown);
    drawn_without_zero_or_double("live view", &live);

    // Stored: the raw history over the same time has a rate at every step, none a zero or a
    // double. (The last seconds are left out: their readings may still wait for the next
    // fresh one.)
    let (from, to) = (shown[first].0, shown[shown.len() - 1].0 - 5_000);
    let path = format!(
        "/api/devices/cached/history?interface=1&from={}&to={}&max_points=1000&resolution=raw",
        from as f64 / 1000.0,
        to as f64 / 1000.0
    );
    let answer = stack.get_json(&path).await;
    let points = answer["points"].as_array().expect("points");
    // Raw steps are one and a half poll spacings wide: about 25 s of samples give 16.
    assert!(points.len() >= 15, "{answer}");
    let stored: Vec<Option<f64>> = points.iter().map(|p| p["in_bps"]["avg"].as_f64()).collect();
    let empty = stored.iter().filter(|r| r.is_none()).count();
    assert!(
        empty * 10 <= stored.len(),
        "{empty} of {} steps without a rate: {answer}",
        stored.len()
    );
    for rate in stored.iter().flatten() {
        assert!(
            *rate > typical * 0.5 && *rate < typical * 1.6,
            "stored {rate} bit/s against a typical {typical}: {answer}"
        );
    }

    // The devices' poll statistics show the cache learned (net-snmp's: a few seconds), the
    // second from its live view.
    for id in ["cached", "cached-live"] {
        let stats = stack.get_json(&format!("/api/devices/{id}")).await["poll_stats"].clone();
        let period = stats["cache_period_ms"].as_u64().unwrap_or_default();
        assert!((2_000..=16_000).contains(&period), "{id}: {stats}");
        assert!(
            stats["cached_readings"].as_u64() >= Some(10),
            "{id}: {stats}"
        );
    }
    stack.stop().await;
}
