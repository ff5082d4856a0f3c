//! SNMPv3 quirks: agents that reboot (the engine's boots and time change) or whose clock
//! moves (usmStatsNotInTimeWindows) are followed without anyone touching the device's
//! settings; agents cloned with one engine ID are flagged on both devices, and both polled.

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use netpulse_shared::messages::Sample;
use netpulse_shared::test_util::Snmpd;
use netpulse_tests::{Services, Stack};
use serde_json::json;

/// The whole pipeline with one poller, so every poll of a device goes through one engine
/// cache.
async fn one_poller_stack() -> Stack {
    Stack::start(Services {
        pipeline: true,
        pollers: 1,
        ..Default::default()
    })
    .await
}

/// The next sample of `device` on `samples`, within `limit`.
async fn next_sample(
    samples: &mut async_nats::Subscriber,
    device: &str,
    limit: Duration,
) -> Option<Sample> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let message = tokio::time::timeout_at(deadline, samples.next())
            .await
            .ok()??;
        if let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) {
            if sample.device.as_str() == device {
                return Some(sample);
            }
        }
    }
}

#[tokio::test]
async fn an_agent_reboot_is_followed_without_user_action() {
    let mut agent = Snmpd::start();
    let stack = one_poller_stack().await;
    let mut samples = stack
        .nats
        .subscribe("netpulse.sample.v3-reboot")
        .await
        .expect("subscribe");
    let device = json!({"name": "v3-reboot", "address": agent.address(), "version": "3",
                        "interval": 1, "timeout_ms": 500, "retries": 1, "interfaces": [1],
                        "v3": {"user": "shaaes", "auth_protocol": "sha", "auth_password": "authpass123",
                               "priv_protocol": "aes", "priv_password": "privpass123"}});
    let created = stack
        .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    // Let the agent's uptime grow past what it will have just after the reboot.
    let mut before = next_sample(&mut samples, "v3-reboot", Duration::from_secs(15))
        .await
        .expect("the v3 device is polled");
    while before.uptime_ticks.unwrap_or(0) < 300 {
        before = next_sample(&mut samples, "v3-reboot", Duration::from_secs(5))
            .await
            .expect("polled every second");
    }

    // A reboot: the agent goes away and comes back with engine time reset and boots + 1.
    agent.pause();
    tokio::time::sleep(Duration::from_secs(2)).await;
    agent.resume();
    let resumed = tokio::time::Instant::now();
    let after = loop {
        let sample = next_sample(&mut samples, "v3-reboot", Duration::from_secs(10))
            .await
            .expect("polling goes on after the reboot, within 10 s");
        if sample.uptime_ticks < before.uptime_ticks {
            break sample;
        }
    };
    assert!(
        resumed.elapsed() < Duration::from_secs(5),
        "the first poll after the reboot took {:?}",
        resumed.elapsed()
    );
    assert!(after.varbinds().len() >= 3, "{:?}", after.varbinds());
    // The poller's known engine was out of date (boots went up): the poll discovered it
    // again and asked once more, and answered.
    assert_eq!(after.stats.resyncs, 1, "{:?}", after.stats);
    // The device is up again, with no error left over.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = stack.get_json("/api/devices/v3-reboot").await["status"].clone();
        if status["state"] == "up" && status["last_error"].is_null() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stack.stop().await;
}

/// The poll failures of `device` published so far on `failures`.
fn failures_so_far(failures: &mut async_nats::Subscriber, device: &str) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(Some(message)) = failures.next().now_or_never() {
        let failure: serde_json::Value = serde_json::from_slice(&message.payload).expect("json");
        if failure["device"] == device {
            out.push(failure["reason"].as_str().unwrap_or_default().to_owned());
        }
    }
    out
}

fn v3_device(name: &str, address: &str) -> serde_json::Value {
    json!({"name": name, "address": address, "version": "3", "interval": 1,
           "timeout_ms": 800, "retries": 0, "interfaces": [1],
           "v3": {"user": "shaaes", "auth_protocol": "sha", "auth_password": "authpass123",
                  "priv_protocol": "aes", "priv_password": "privpass123"}})
}

#[tokio::test]
async fn an_agent_out_of_the_time_window_is_resynchronised_and_asked_again() {
    let library = Snmpd::faketime_library().expect("libfaketime (apt-get install faketime)");
    let library = library.to_string_lossy().into_owned();
    // The agent's clock runs twenty times too fast: the engine time a poller counts on from
    // its last discovery falls more than 150 s behind within eight seconds, and the agent
    // answers usmStatsNotInTimeWindows. Boots stay the same: no reboot.
    let agent = Snmpd::start_with(
        "",
        &[
            ("LD_PRELOAD", library.as_str()),
            ("FAKETIME", "+0 x20"),
            ("FAKETIME_DONT_RESET", "1"),
        ],
    );
    let stack = one_poller_stack().await;
    let mut samples = stack
        .nats
        .subscribe("netpulse.sample.v3-window")
        .await
        .expect("subscribe");
    let mut failures = stack
        .nats
        .subscribe("netpulse.failure.v3-window")
        .await
        .expect("subscribe");
    stack
        .add_device(v3_device("v3-window", &agent.address()))
        .await;

    // Twenty-five seconds of polls, with no retries allowed: every poll must answer.
    let mut polled = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(25);
    while tokio::time::Instant::now() < until {
        if let Some(sample) = next_sample(&mut samples, "v3-window", Duration::from_secs(5)).await {
            polled.push(sample);
        }
    }
    assert!(
        polled.len() >= 18,
        "{} polls answered in 25 s",
        polled.len()
    );
    let failed = failures_so_far(&mut failures, "v3-window");
    assert!(failed.is_empty(), "polls failed: {failed:?}");
    // The engine was discovered again, within the polls that met the time window, and the
    // request sent once more: those polls still answered.
    let resyncs: u32 = polled.iter().map(|s| s.stats.resyncs).sum();
    assert!(resyncs >= 2, "{resyncs} resynchronisations in 25 s");
    assert!(polled.iter().all(|s| s.stats.resyncs <= 1), "once per poll");
    // Between them, polls skip discovery: most carried no resync at all.
    assert!(
        polled.iter().filter(|s| s.stats.resyncs == 0).count() > polled.len() / 2,
        "{polled:?}"
    );
    let stats = stack.get_json("/api/devices/v3-window").await["poll_stats"].clone();
    assert!(stats["resyncs"].as_u64() >= Some(2), "{stats}");
    assert_eq!(stats["failures"], 0, "{stats}");
    stack.stop().await;
}

#[tokio::test]
async fn two_agents_with_one_engine_id_are_both_flagged_and_both_polled() {
    // Agents cloned from one image keep one engine ID.
    let clone_a = Snmpd::start_with("engineID netpulse-clone", &[]);
    let clone_b = Snmpd::start_with("engineID netpulse-clone", &[]);
    let unique = Snmpd::start_with("engineID netpulse-unique", &[]);
    let stack = one_poller_stack().await;
    let mut samples = stack
        .nats
        .subscribe("netpulse.sample.*")
        .await
        .expect("subscribe");
    for (name, agent) in [
        ("clone-a", &clone_a),
        ("clone-b", &clone_b),
        ("unique", &unique),
    ] {
        stack.add_device(v3_device(name, &agent.address())).await;
    }
    // net-snmp's text engine IDs: enterprise 8072 (80 00 1f 88), format 04 (text), the text.
    let clone_id = format!("80001f8804{}", hex("netpulse-clone"));
    let unique_id = format!("80001f8804{}", hex("netpulse-unique"));

    // The device pages flag both clones, each naming the other, and not the third.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (a, b, u) = loop {
        let (a, b, u) = (
            poll_stats(&stack, "clone-a").await,
            poll_stats(&stack, "clone-b").await,
            poll_stats(&stack, "unique").await,
        );
        if a["engine_id_shared_with"] == json!(["clone-b"])
            && b["engine_id_shared_with"] == json!(["clone-a"])
            && u["engine_id"].is_string()
        {
            break (a, b, u);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not flagged: {a} {b} {u}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(a["engine_id"], clone_id.as_str(), "{a}");
    assert_eq!(b["engine_id"], clone_id.as_str(), "{b}");
    assert_eq!(u["engine_id"], unique_id.as_str(), "{u}");
    assert_eq!(u["engine_id_shared_with"], json!([]), "{u}");
    let metrics = stack
        .http_as(netpulse_tests::METRICS_TOKEN, "GET", "/metrics", None)
        .await
        .text();
    for (device, shared) in [("clone-a", 1), ("clone-b", 1), ("unique", 0)] {
        let line = format!(
            "netpulse_device_engine_id_shared{{device=\"{device}\",name=\"{device}\"}} {shared}"
        );
        assert!(metrics.contains(&line), "no {line} in\n{metrics}");
    }

    // Neither is broken by the other: both keep answering, without failures.
    let mut answered = std::collections::HashSet::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while answered.len() < 3 && tokio::time::Instant::now() < until {
        if let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_secs(1), samples.next()).await
        {
            if let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) {
                answered.insert(sample.device.as_str().to_owned());
            }
        }
    }
    assert_eq!(answered.len(), 3, "answered: {answered:?}");
    for id in ["clone-a", "clone-b"] {
        let device = stack.get_json(&format!("/api/devices/{id}")).await;
        assert_eq!(device["status"]["state"], "up", "{device}");
        assert_eq!(device["poll_stats"]["failures"], 0, "{device}");
    }
    stack.stop().await;
}

async fn poll_stats(stack: &Stack, device: &str) -> serde_json::Value {
    stack.get_json(&format!("/api/devices/{device}")).await["poll_stats"].clone()
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}
