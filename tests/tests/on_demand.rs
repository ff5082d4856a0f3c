//! SNMP on demand: discovering a device before it is saved (`POST /api/discover`) and polling
//! a saved one once (`POST /api/devices/{id}/test`), against snmpd and the simulator, with a
//! real poller behind a real nats-server.

use std::time::{Duration, Instant};

use futures::StreamExt;
use netpulse_shared::test_util::Snmpd;
use netpulse_simulator::{SimConfig, Simulator};
use netpulse_tests::{Response, Stack};
use serde_json::{json, Value};

async fn discover(stack: &Stack, body: &Value) -> Response {
    stack
        .http("POST", "/api/discover", Some(body.to_string().as_bytes()))
        .await
}

fn interfaces(answer: &Value) -> &Vec<Value> {
    answer["interfaces"]
        .as_array()
        .unwrap_or_else(|| panic!("no interfaces in {answer}"))
}

/// Every audit entry with this action, as (target, outcome).
async fn audited(stack: &Stack, action: &str) -> Vec<(String, String)> {
    let audit = stack.get_json("/api/audit").await;
    audit
        .as_array()
        .expect("list")
        .iter()
        .filter(|e| e["action"] == action)
        .map(|e| {
            (
                e["target"].as_str().unwrap_or_default().to_owned(),
                e["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_unsaved_device_is_discovered_and_nothing_is_kept() {
    let agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    let before = stack.get_json("/api/devices").await;

    // No name yet; the selection names the loopback interface.
    let answer = discover(
        &stack,
        &json!({"address": agent.address(), "interfaces": ["lo"]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let found = answer.json();
    assert!(
        found["system"]["descr"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{found}"
    );
    for field in ["name", "location", "contact"] {
        assert!(found["system"][field].is_string(), "{field}: {found}");
    }
    assert!(found["max_repetitions"].as_u64().is_some_and(|n| n >= 1));
    let list = interfaces(&found);
    assert!(!list.is_empty());
    for iface in list {
        assert!(
            iface["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{iface}"
        );
        for field in [
            "index",
            "descr",
            "alias",
            "type",
            "speed_bps",
            "admin_status",
            "oper_status",
            "hc_counters",
            "key",
        ] {
            assert!(!iface[field].is_null(), "{field} missing in {iface}");
        }
        assert_eq!(
            iface["polled"],
            iface["name"] == "lo",
            "only the chosen one: {iface}"
        );
    }
    assert!(list.iter().any(|i| i["name"] == "lo"));

    // An empty name and no selection: every administratively up interface is polled.
    let answer = discover(&stack, &json!({"name": "", "address": agent.address()})).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let found = answer.json();
    for iface in interfaces(&found) {
        assert_eq!(
            iface["polled"],
            iface["admin_status"] == "up",
            "the default selection: {iface}"
        );
    }

    // Nothing saved, nothing stored.
    assert_eq!(stack.get_json("/api/devices").await, before);
    let js = async_nats::jetstream::new(stack.nats.clone());
    let bucket = netpulse_shared::bus::Bucket::INTERFACES
        .open(&js, 1)
        .await
        .expect("bucket");
    let keys: Vec<String> = bucket
        .keys()
        .await
        .expect("keys")
        .filter_map(|k| async move { k.ok() })
        .collect()
        .await;
    assert!(keys.is_empty(), "a probe was stored: {keys:?}");
    let probes = audited(&stack, "device.probe").await;
    assert_eq!(probes.len(), 2, "{probes:?}");
    assert!(probes
        .iter()
        .all(|(target, outcome)| target == &agent.address() && outcome.starts_with("ok")));
    assert!(audited(&stack, "device.add").await.is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn discovery_of_an_unsaved_device_refuses_bad_input_dead_agents_and_viewers() {
    let stack = Stack::pipeline().await;

    // Bad fields: refused like a new device, field named, same words.
    for (body, field) in [
        (json!({"address": "not an address!"}), "address"),
        (json!({"address": "192.0.2.1", "retries": 99}), "retries"),
        (json!({"address": "192.0.2.1", "colour": "red"}), "colour"),
        (json!({"name": "x"}), "address"),
    ] {
        let answer = discover(&stack, &body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        assert_eq!(answer.json()["field"], field, "{body}");
        let mut named = body.clone();
        named["name"] = json!("x");
        let added = stack
            .http("POST", "/api/devices", Some(named.to_string().as_bytes()))
            .await;
        assert_eq!(added.json(), answer.json(), "{body}");
    }
    let not_json = stack.http("POST", "/api/discover", Some(b"{")).await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["field"], "body");

    // A port where nothing answers: the poll's timeout, well before the wait ends, with the
    // default timeout and retries.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
    let address = silent.local_addr().expect("address").to_string();
    let started = Instant::now();
    let answer = discover(&stack, &json!({"address": address})).await;
    let took = started.elapsed();
    assert_eq!(answer.status, 502, "{}", answer.text());
    assert_eq!(answer.json()["error"], "discovery failed: timeout");
    assert!(took < Duration::from_secs(15), "took {took:?}");

    // Viewers may look, not probe.
    let viewer = stack.user("vera", "viewer").await;
    let body = json!({"address": address}).to_string();
    let refused = stack
        .http_as(&viewer, "POST", "/api/discover", Some(body.as_bytes()))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(stack.get_json("/api/devices").await, json!([]));
    stack.stop().await;
}

/// The ids of the samples and failures among `messages` that come from a test poll.
fn test_poll_ids(messages: &[async_nats::Message]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| serde_json::from_slice::<Value>(&m.payload).ok())
        .filter_map(|v| v["id"].as_str().or(v["job_id"].as_str()).map(str::to_owned))
        .filter(|id| id.contains("-test-"))
        .collect()
}

#[tokio::test]
async fn a_test_poll_shows_values_or_the_exact_error_and_publishes_nothing() {
    let stack = Stack::pipeline().await;
    let sim = Simulator::start(SimConfig {
        devices: 1,
        interfaces: 2,
        base_port: 0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let id = stack
        .add_device(
            json!({"name": "tested", "address": sim.addresses()[0].to_string(),
                           "interval": 60, "timeout_ms": 500, "retries": 1,
                           "oids": ["1.3.6.1.2.1.1.5.0"]}),
        )
        .await;
    let mut published = futures::stream::select(
        stack
            .nats
            .subscribe(format!("netpulse.sample.{id}"))
            .await
            .expect("subscribe"),
        stack
            .nats
            .subscribe(format!("netpulse.failure.{id}"))
            .await
            .expect("subscribe"),
    );
    // Named interfaces: the test polls what discovery found, as the schedule does.
    let discovered = stack
        .http("POST", &format!("/api/devices/{id}/discover"), None)
        .await;
    assert_eq!(discovered.status, 200, "{}", discovered.text());

    let answer = stack
        .http("POST", &format!("/api/devices/{id}/test"), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let result = answer.json();
    assert!(result["time_ms"].as_u64().is_some(), "{result}");
    assert!(result["duration_ms"].as_u64().is_some(), "{result}");
    assert!(result["uptime_ticks"].as_u64().is_some(), "{result}");
    let values = result["values"].as_array().expect("values");
    let value = |oid: &str| {
        values
            .iter()
            .find(|v| v["oid"] == oid)
            .cloned()
            .unwrap_or_else(|| panic!("no {oid} in {result}"))
    };
    assert_eq!(value("1.3.6.1.2.1.1.3.0")["type"], "timeticks");
    assert_eq!(value("1.3.6.1.2.1.1.5.0")["type"], "octet_string");
    let counter = value("1.3.6.1.2.1.31.1.1.1.6.1");
    assert_eq!(counter["type"], "counter64");
    assert!(
        counter["value"]
            .as_str()
            .is_some_and(|v| v.parse::<u64>().is_ok()),
        "64-bit counters as strings: {counter}"
    );
    let counted = result["interfaces"].as_array().expect("interfaces");
    assert_eq!(counted.len(), 2, "{result}");
    for iface in counted {
        assert!(iface["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(iface["index"].as_u64().is_some());
        for field in ["in_octets", "out_octets"] {
            assert!(
                iface[field]
                    .as_str()
                    .is_some_and(|v| v.parse::<u64>().is_ok()),
                "{field}: {iface}"
            );
        }
    }

    // The agent goes silent: the poll's own error, exactly.
    sim.control().set_silent(0, true).expect("silent");
    let started = Instant::now();
    let answer = stack
        .http("POST", &format!("/api/devices/{id}/test"), None)
        .await;
    assert_eq!(answer.status, 502, "{}", answer.text());
    assert_eq!(answer.json()["error"], "SNMP test failed: timeout");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Neither poll published a sample or a failure.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut seen = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(100), published.next()).await
    {
        seen.push(message);
    }
    assert!(
        test_poll_ids(&seen).is_empty(),
        "a test poll published: {:?}",
        test_poll_ids(&seen)
    );
    let tests = audited(&stack, "device.test").await;
    assert!(
        tests.contains(&(id.clone(), "ok".into()))
            && tests.contains(&(id.clone(), "SNMP test failed: timeout".into())),
        "{tests:?}"
    );

    // Viewers may not, and unknown devices are 404.
    let viewer = stack.user("vic", "viewer").await;
    let refused = stack
        .http_as(&viewer, "POST", &format!("/api/devices/{id}/test"), None)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let missing = stack.http("POST", "/api/devices/nope/test", None).await;
    assert_eq!(missing.status, 404, "{}", missing.text());
    stack.stop().await;
}
