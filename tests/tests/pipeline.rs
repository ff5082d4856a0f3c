//! The whole pipeline against real parts: nats-server, net-snmp's snmpd, the four services.
//! A device added through the API is polled, its samples reach the browser over /ws and the
//! history file on disk, and once deleted it is polled no more.

use std::time::{Duration, Instant};

use futures::StreamExt;
use netpulse_shared::test_util::Snmpd;
use netpulse_tests::{next_live, Services, Stack};
use serde_json::{json, Value};

const IF_HC_IN_OCTETS_1: &str = "1.3.6.1.2.1.31.1.1.1.6.1";

fn counter(agent: &Snmpd) -> u64 {
    agent.get(&[IF_HC_IN_OCTETS_1]).expect("snmpget")[0]
        .parse()
        .expect("a Counter64 value")
}

/// Every sample line stored for `device`.
fn stored_samples(stack: &Stack, device: &str) -> Vec<Value> {
    let dir = stack.data_dir.join("devices").join(device);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("samples-") && name.ends_with(".jsonl") {
            let text = std::fs::read_to_string(entry.path()).expect("read history");
            for line in text.lines() {
                lines.push(serde_json::from_str(line).expect("each line is one JSON object"));
            }
        }
    }
    lines
}

fn in_octets(line: &Value) -> Option<u64> {
    line["interfaces"]
        .as_array()?
        .iter()
        .find(|i| i["index"] == 1)
        .and_then(|i| i["in_octets"].as_u64())
}

#[tokio::test]
async fn a_device_is_polled_stored_and_streamed_live_until_deleted() {
    let agent = Snmpd::start();
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 2,
        ..Default::default()
    })
    .await;
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("open /ws");

    let before = counter(&agent);
    let device = json!({"name": "lab-snmpd", "address": agent.address(), "version": "2c",
                        "community": "public", "interval": 1, "interfaces": [1],
                        "oids": ["1.3.6.1.2.1.1.5.0"]});
    let created = stack
        .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().expect("id").to_owned();

    // (a) a sample for it over /ws within 30 s.
    let sample = next_live(&mut socket, Duration::from_secs(30), |m| {
        m["type"] == "sample" && m["device"] == id.as_str()
    })
    .await
    .expect("a live sample within 30 s");
    assert_eq!(sample["interfaces"][0]["index"], 1);
    assert!(sample["interfaces"][0]["in_octets"]
        .as_str()
        .is_some_and(|c| c.parse::<u64>().is_ok()));
    assert!(sample["uptime_ticks"].is_u64());
    let sys_name = sample["values"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["oid"] == "1.3.6.1.2.1.1.5.0"));
    assert_eq!(
        sys_name.map(|v| v["type"].clone()),
        Some(json!("octet_string"))
    );
    // The next sample carries a rate.
    let rated = next_live(&mut socket, Duration::from_secs(10), |m| {
        m["type"] == "sample"
            && m["device"] == id.as_str()
            && m["interfaces"][0]["in_bps"].is_number()
    })
    .await
    .expect("a sample with a rate");
    assert!(rated["interfaces"][0]["in_bps"]
        .as_f64()
        .is_some_and(|bps| bps >= 0.0));
    let after = counter(&agent);

    // (b) a stored line whose ifHCInOctets lies between the two snmpget readings.
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        let lines = stored_samples(&stack, &id);
        if let Some(line) = lines
            .iter()
            .find(|l| in_octets(l).is_some_and(|v| (before..=after).contains(&v)))
        {
            break line.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no stored sample within [{before}, {after}]: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(line["schema"], 2);
    assert_eq!(line["device"], id.as_str());

    // Deleted: no sample after one more interval.
    let deleted = stack
        .http("DELETE", &format!("/api/devices/{id}"), None)
        .await;
    assert_eq!(deleted.status, 204);
    let deleted_at = netpulse_shared::time::now_ms();
    let removed = next_live(&mut socket, Duration::from_secs(5), |m| {
        m["type"] == "device_removed" && m["device"] == id.as_str()
    })
    .await;
    assert!(removed.is_some(), "the page is told the device is gone");
    let late = next_live(&mut socket, Duration::from_secs(3), |m| {
        m["type"] == "sample"
            && m["device"] == id.as_str()
            && m["time_ms"].as_u64().is_some_and(|t| t > deleted_at + 1000)
    })
    .await;
    assert!(late.is_none(), "sample after deletion: {late:?}");
    stack.stop().await;
}

#[tokio::test]
async fn an_unreachable_device_reports_a_timeout() {
    let stack = Stack::pipeline().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("open /ws");
    // A port nobody answers on.
    let port = netpulse_shared::test_util::free_udp_port();
    let device = json!({"name": "silent", "address": format!("127.0.0.1:{port}"), "interval": 1, "interfaces": [1]});
    let created = stack
        .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let failure = next_live(&mut socket, Duration::from_secs(30), |m| {
        m["type"] == "failure" && m["device"] == "silent"
    })
    .await
    .expect("a failure within 30 s");
    let reason = failure["reason"].as_str().unwrap_or_default();
    assert!(
        reason == "timeout" || reason.contains("port unreachable"),
        "{reason}"
    );
    stack.stop().await;
}

/// The next reachability transition, within 30 s.
async fn next_transition(transitions: &mut async_nats::Subscriber) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(30), transitions.next())
        .await
        .expect("a transition within 30 s")
        .expect("subscription open");
    serde_json::from_slice(&message.payload).expect("JSON")
}

#[tokio::test]
async fn reachability_goes_down_and_up_once_each() {
    let mut agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    let mut transitions = stack
        .nats
        .subscribe("netpulse.status.flappy")
        .await
        .expect("subscribe");
    let device = json!({"name": "flappy", "address": agent.address(), "interval": 1, "timeout_ms": 300,
                        "retries": 0, "interfaces": [1]});
    let created = stack
        .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["status"]["state"], "unknown");

    let up = next_transition(&mut transitions).await;
    assert_eq!(
        (up["previous"].as_str(), up["state"].as_str()),
        (Some("unknown"), Some("up"))
    );
    assert_eq!(
        stack.get_json("/api/devices/flappy").await["status"]["state"],
        "up"
    );

    agent.pause();
    let down = next_transition(&mut transitions).await;
    assert_eq!(
        (down["previous"].as_str(), down["state"].as_str()),
        (Some("up"), Some("down"))
    );
    let reason = down["reason"].as_str().unwrap_or_default();
    assert!(
        reason == "timeout" || reason.contains("port unreachable"),
        "{reason}"
    );
    assert_eq!(down["consecutive_failures"], 3);
    assert_eq!(
        stack.get_json("/api/devices/flappy").await["status"]["state"],
        "down"
    );

    agent.resume();
    let back = next_transition(&mut transitions).await;
    assert_eq!(
        (back["previous"].as_str(), back["state"].as_str()),
        (Some("down"), Some("up"))
    );
    // Exactly once each: nothing more while it stays up.
    let extra = tokio::time::timeout(Duration::from_secs(3), transitions.next()).await;
    assert!(extra.is_err(), "unexpected extra transition: {extra:?}");
    stack.stop().await;
}

#[tokio::test]
async fn wrong_credentials_show_as_the_device_error_within_one_interval() {
    let agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    let v3 = |user: &str, password: &str| {
        json!({"user": user, "auth_protocol": "sha", "auth_password": password,
               "priv_protocol": "aes", "priv_password": "privpass123"})
    };
    let cases = [
        ("wrong-community", json!({"community": "nope"}), "timeout"),
        (
            "wrong-password",
            json!({"version": "3", "v3": v3("shaaes", "wrongpass99")}),
            "authentication failed",
        ),
        (
            "unknown-user",
            json!({"version": "3", "v3": v3("stranger", "authpass123")}),
            "unknown user",
        ),
    ];
    for (name, settings, _) in &cases {
        let mut device = json!({"name": name, "address": agent.address(), "interval": 2, "timeout_ms": 500,
                                "retries": 0, "interfaces": [1]});
        for (k, v) in settings.as_object().expect("object") {
            device[k] = v.clone();
        }
        let created = stack
            .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
    }
    // One interval (2 s) plus the reply timeout and some slack.
    let deadline = Instant::now() + Duration::from_secs(5);
    for (name, _, expected) in cases {
        let shown = loop {
            let shown = stack.get_json(&format!("/api/devices/{name}")).await;
            if !shown["status"]["last_error"].is_null() || Instant::now() > deadline {
                break shown;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(shown["status"]["last_error"], expected, "{name}: {shown}");
    }
    stack.stop().await;
}
