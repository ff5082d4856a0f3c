//! What the overview reads: each device's latest rates in `GET /api/devices`, and its
//! last-hour sparkline, totals over its polled interfaces.

use std::time::Duration;

use netpulse_simulator::{SimConfig, Simulator};
use netpulse_tests::Stack;
use serde_json::{json, Value};

const IN_BPS: f64 = 1_000_000.0;
const OUT_BPS: f64 = 400_000.0;
const INTERFACES: usize = 3;

fn near(value: &Value, expected: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|v| (v - expected).abs() <= expected * 0.05)
}

#[tokio::test]
async fn devices_carry_their_latest_rates_and_an_hour_of_totals() {
    let stack = Stack::pipeline().await;
    let sim = Simulator::start(SimConfig {
        devices: 1,
        interfaces: INTERFACES,
        base_port: 0,
        in_bps: IN_BPS as u64,
        out_bps: OUT_BPS as u64,
        noise: 0.0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let id = stack
        .add_device(
            json!({"name": "edge", "address": sim.addresses()[0].to_string(), "interval": 1}),
        )
        .await;

    // The latest sample's rates and their totals, without waiting for /ws.
    let total_in = IN_BPS * INTERFACES as f64;
    let total_out = OUT_BPS * INTERFACES as f64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let latest = loop {
        let list = stack.get_json("/api/devices").await;
        let latest = list[0]["latest"].clone();
        if near(&latest["in_bps"], total_in) {
            break latest;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no latest rates in 30 s: {list}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(near(&latest["out_bps"], total_out), "{latest}");
    let interfaces = latest["interfaces"].as_array().expect("interfaces");
    assert_eq!(interfaces.len(), INTERFACES, "{latest}");
    for iface in interfaces {
        assert!(
            iface["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{iface}"
        );
        assert!(near(&iface["in_bps"], IN_BPS), "{iface}");
        assert!(iface["speed_bps"].as_u64().is_some(), "{iface}");
    }
    assert!(latest["uptime_ticks"].as_u64().is_some(), "{latest}");
    let one = stack.get_json(&format!("/api/devices/{id}")).await;
    assert!(near(&one["latest"]["in_bps"], total_in), "{one}");

    // The sparkline: one point a minute, the latest ones summed over the interfaces.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let line = loop {
        let line = stack
            .get_json(&format!("/api/devices/{id}/sparkline?minutes=60"))
            .await;
        let filled = line["points"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| near(&p["in_bps"], total_in)));
        if filled {
            break line;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no sparkline totals in 30 s: {line}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(line["step_ms"], 60_000);
    let points = line["points"].as_array().expect("points");
    assert_eq!(points.len(), 60, "{line}");
    assert!(points
        .windows(2)
        .all(|w| w[1]["time_ms"].as_u64() > w[0]["time_ms"].as_u64()));
    assert!(points[0]["in_bps"].is_null(), "no data an hour ago: {line}");
    assert!(
        points
            .iter()
            .filter(|p| !p["in_bps"].is_null())
            .all(|p| near(&p["out_bps"], total_out)),
        "{line}"
    );

    // Bad input names what is wrong.
    for (path, field) in [
        (format!("/api/devices/{id}/sparkline?minutes=0"), "minutes"),
        (format!("/api/devices/{id}/sparkline?minutes=x"), "minutes"),
        (format!("/api/devices/{id}/sparkline?hours=1"), "hours"),
    ] {
        let answer = stack.http("GET", &path, None).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.text());
        assert_eq!(answer.json()["field"], field, "{path}");
    }
    let missing = stack
        .http("GET", "/api/devices/nothing-here/sparkline", None)
        .await;
    assert_eq!(missing.status, 404);
    stack.stop().await;
}
