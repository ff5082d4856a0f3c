//! The event API for other programs: every message a running netpulse sends matches its
//! JSON Schema in docs/schema/ (on /ws too, one by one and in frames), and the example under
//! examples/ receives samples.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use netpulse_shared::test_util::Snmpd;
use netpulse_shared::{bus, subjects};
use netpulse_tests::{binary, Services, Stack, Webhook};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A message seen on NATS: subject, reply subject, payload.
type Seen = (String, Option<String>, Vec<u8>);

/// What a /ws client received, in order.
type Received = Arc<Mutex<Vec<Value>>>;

/// A /ws client that sends `subscribes` in order, then records every message it receives
/// until the test ends.
async fn ws_client(stack: &Stack, subscribes: &[Value]) -> Received {
    let (socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("ws");
    let (mut to_gateway, mut from_gateway) = socket.split();
    for subscribe in subscribes {
        to_gateway
            .send(subscribe.to_string().into())
            .await
            .expect("subscribe");
    }
    let received = Received::default();
    let recorded = received.clone();
    tokio::spawn(async move {
        // The sending half stays open with the connection.
        let _to_gateway = to_gateway;
        while let Some(Ok(message)) = from_gateway.next().await {
            // Text only: the close frame at the end has none.
            if let Message::Text(text) = message {
                let value = serde_json::from_str(&text).expect("a /ws message is JSON");
                recorded.lock().expect("received").push(value);
            }
        }
    });
    received
}

/// What a client taking frames must see: frames, each with at most one normal and one live
/// sample per device, ticks going up, and no sample on its own once frames come (it named no
/// device in `every_sample`).
fn check_frames(messages: &[Value]) {
    let first = messages
        .iter()
        .position(|m| m["type"] == "frame")
        .unwrap_or_else(|| panic!("no frame message on /ws: {messages:?}"));
    let mut last_tick = None;
    for message in &messages[first..] {
        assert_ne!(
            message["type"], "sample",
            "a sample came alone to a client taking frames: {message}"
        );
        if message["type"] != "frame" {
            continue;
        }
        let tick = message["tick"].as_u64().expect("a frame's tick");
        assert!(
            last_tick < Some(tick),
            "frame ticks go up: {last_tick:?} then {tick}"
        );
        last_tick = Some(tick);
        let mut seen = std::collections::HashSet::new();
        for sample in message["samples"].as_array().expect("a frame's samples") {
            let key = (sample["device"].to_string(), sample["live"] == true);
            assert!(
                seen.insert(key),
                "two samples of one device and kind in a frame: {message}"
            );
        }
    }
}

/// The schema of what is published on `subject` (requests included), and of the replies to
/// it when it is a request.
fn schema_of(subject: &str) -> Option<(&'static str, Option<&'static str>)> {
    let kind = subject.strip_prefix("netpulse.")?.split('.').next()?;
    Some(match kind {
        "poll" => ("poll-job", None),
        "polls" => ("poll-batch", None),
        "outcomes" => ("poll-outcomes", None),
        "discover" => ("discovery-job", Some("discovery-outcome")),
        "test" => ("poll-job", Some("test-poll-outcome")),
        "sample" | "live" => ("sample", None),
        "failure" => ("poll-failure", None),
        "status" => ("reachability-change", None),
        "log" => ("log-entry", None),
        "event" => ("audit-event", None),
        "health" => ("health", None),
        "watch" => ("watch", None),
        "history" => ("history-query", Some("history-answer")),
        "logs" => ("log-query", Some("log-answer")),
        "purge" => ("purge-request", Some("purge-answer")),
        "alert" => ("alert-event", None),
        "recorder" => ("recorder-current", None),
        _ => return None,
    })
}

/// Sorts what was seen by schema: requests and events by subject, replies by the request
/// they answer. Subjects no schema covers are returned apart.
fn by_schema(seen: &[Seen]) -> (BTreeMap<&'static str, Vec<Value>>, Vec<String>) {
    let mut sorted: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut answers: HashMap<&str, &'static str> = HashMap::new();
    for (subject, reply, _) in seen {
        if let (Some((_, Some(answer))), Some(reply)) = (schema_of(subject), reply) {
            answers.insert(reply.as_str(), answer);
        }
    }
    for (subject, _, payload) in seen {
        // JetStream deliveries to the services' inboxes (their bucket watches) keep their
        // subject: the buckets' values are read and checked apart.
        if subject.starts_with('$') {
            continue;
        }
        let schema = if subject.starts_with("_INBOX.") {
            // Replies to requests netpulse did not make here (JetStream's acks) are not ours.
            match answers.get(subject.as_str()) {
                Some(answer) => *answer,
                None => continue,
            }
        } else {
            match schema_of(subject) {
                Some((schema, _)) => schema,
                None => {
                    unknown.push(subject.clone());
                    continue;
                }
            }
        };
        let value = serde_json::from_slice(payload).unwrap_or_else(|_| {
            Value::String(format!("not JSON: {}", String::from_utf8_lossy(payload)))
        });
        sorted.entry(schema).or_default().push(value);
    }
    (sorted, unknown)
}

/// Every value of a key-value bucket.
async fn bucket_values(js: &async_nats::jetstream::Context, bucket: &str) -> Vec<Value> {
    let Ok(store) = js.get_key_value(bucket).await else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for key in bus::bucket_keys(&store).await.expect("keys") {
        if let Ok(Some(bytes)) = store.get(&key).await {
            values.push(serde_json::from_slice(&bytes).unwrap_or(Value::Null));
        }
    }
    values
}

#[tokio::test]
async fn every_message_netpulse_sends_matches_its_schema() {
    let agent = Snmpd::start();
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        logs: true,
        ..Default::default()
    })
    .await;
    // The test's client may see everything (no NATS users here): every subject, every reply.
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    for pattern in ["netpulse.>", "_INBOX.>"] {
        let mut messages = stack.nats.subscribe(pattern).await.expect("subscribe");
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(m) = messages.next().await {
                let reply = m.reply.map(|r| r.to_string());
                seen.lock()
                    .expect("seen")
                    .push((m.subject.to_string(), reply, m.payload.to_vec()));
            }
        });
    }
    stack.nats.flush().await.expect("flush");
    // An alerter, with a webhook, an e-mail channel that cannot send (no SMTP server set), a
    // rule for the device that goes down, and a silence.
    let _alerter = stack.alerter(&[]);
    let hook = Webhook::start().await;
    let mut channels = Vec::new();
    for channel in [
        json!({"name": "hook", "kind": "webhook", "url": hook.url()}),
        json!({"name": "mail", "kind": "email", "to": ["oncall@example.net"]}),
    ] {
        let created = stack
            .http(
                "POST",
                "/api/alert-channels",
                Some(channel.to_string().as_bytes()),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        channels.push(created.json()["id"].clone());
    }
    let rule = json!({"name": "down", "kind": "device_down", "severity": "critical", "for_s": 0,
                      "scope": {"devices": ["schema-down"]}, "channels": channels});
    let silence = json!({"scope": {"devices": ["schema-up"]}, "to": "2099-01-01T00:00:00Z",
                         "comment": "schema check"});
    for (path, body) in [("/api/alert-rules", rule), ("/api/silences", silence)] {
        let created = stack
            .http("POST", path, Some(body.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
    }

    // A page showing the first device live, connected before the devices exist so that it
    // sees them added; a malformed subscribe is refused (and changes nothing). And a client
    // taking every device's samples in frames.
    let one_by_one = ws_client(
        &stack,
        &[
            json!({"type": "subscribe", "devices": "*", "live": ["schema-up"]}),
            json!({"type": "subscribe", "colour": 1}),
        ],
    )
    .await;
    let in_frames = ws_client(
        &stack,
        &[json!({"type": "subscribe", "devices": "*", "frames": true})],
    )
    .await;

    // One device that answers, one that never does (nothing listens on its port).
    let silent = std::net::UdpSocket::bind("127.0.0.3:0").expect("a port nobody answers on");
    let devices = [
        json!({"name": "schema-up", "address": agent.address(), "interval": 1, "interfaces": [1],
               "oids": ["1.3.6.1.2.1.1.5.0"]}),
        json!({"name": "schema-down", "address": silent.local_addr().expect("addr").to_string(),
               "interval": 1, "timeout_ms": 200, "retries": 0}),
    ];
    for device in devices {
        let created = stack
            .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
    }
    // Syslog from the device, and from an address that is no device's.
    let syslog = stack.syslog.expect("syslog");
    for from in ["127.0.0.1:0", "127.0.0.4:0"] {
        let sender = tokio::net::UdpSocket::bind(from).await.expect("socket");
        sender
            .send_to(b"<13>Nov 28 10:00:00 box app: schema check", syslog)
            .await
            .expect("send");
    }
    // Requests the API makes: discovery, a test poll, history and logs.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (method, path) in [
        ("POST", "/api/devices/schema-up/discover"),
        ("POST", "/api/devices/schema-up/test"),
        ("GET", "/api/devices/schema-up/history?interface=1"),
        ("GET", "/api/devices/schema-up/logs"),
    ] {
        let answer = stack.http(method, path, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    }
    // Until the silent device is down: then delete it keeping its history, then that history.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while stack.get_json("/api/devices/schema-down").await["status"]["state"] != "down" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "schema-down never went down"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Its alert fires and is notified (the webhook answers, e-mail fails); acknowledged. The
    // alert is read now: deleting the device resolves it.
    hook.wait_for("firing", 30).await;
    let alert = stack.get_json("/api/alerts").await[0].clone();
    let path = format!(
        "/api/alerts/{}/ack",
        alert["id"].as_str().expect("alert id")
    );
    let acked = stack
        .http("POST", &path, Some(br#"{"comment": "seen"}"#))
        .await;
    assert_eq!(acked.status, 200, "{}", acked.text());
    let js = async_nats::jetstream::new(stack.nats.clone());
    let mut alerts = Vec::new();
    for _ in 0..50 {
        alerts = bucket_values(&js, subjects::ALERTS_BUCKET).await;
        let health = bucket_values(&js, subjects::CHANNEL_HEALTH_BUCKET).await;
        if alerts.first().is_some_and(|a| a["acked_by"] == "admin") && health.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let kept = stack
        .http("DELETE", "/api/devices/schema-down?history=keep", None)
        .await;
    assert_eq!(kept.status, 204, "{}", kept.text());
    hook.wait_for("resolved", 30).await;
    let removed = bucket_values(&js, subjects::REMOVED_BUCKET).await;
    let purged = stack.http("DELETE", "/api/history/schema-down", None).await;
    assert_eq!(purged.status, 204, "{}", purged.text());
    // Heartbeats come every 10 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(12);
    while !seen
        .lock()
        .expect("seen")
        .iter()
        .any(|(subject, ..)| subject.starts_with("netpulse.health."))
    {
        assert!(tokio::time::Instant::now() < deadline, "no heartbeat");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (mut sorted, unknown) = by_schema(&seen.lock().expect("seen"));
    assert!(unknown.is_empty(), "subjects no schema covers: {unknown:?}");
    // Samples travel in version 2: each polled interface with its own counters and status.
    let samples = sorted.get("sample").expect("samples seen");
    assert!(samples.iter().all(|s| s["schema"] == 2), "{samples:?}");
    assert!(
        samples
            .iter()
            .any(|s| s["interfaces"][0]["in_octets"].is_u64()
                && s["interfaces"][0]["oper_status"] == 1),
        "{samples:?}"
    );
    for (schema, bucket) in [
        ("device", subjects::DEVICES_BUCKET),
        ("device-status", subjects::STATUS_BUCKET),
        ("device-interfaces", subjects::INTERFACES_BUCKET),
        ("unknown-source", subjects::UNKNOWN_SOURCES_BUCKET),
        ("scheduler-lease", subjects::SCHEDULER_LEASE_BUCKET),
        // The alerters' lease is the same record as the schedulers'.
        ("scheduler-lease", subjects::ALERTER_LEASE_BUCKET),
        ("alert-rule", subjects::ALERT_RULES_BUCKET),
        ("alert-channel", subjects::ALERT_CHANNELS_BUCKET),
        ("silence", subjects::SILENCES_BUCKET),
        ("alert-ack", subjects::ALERT_ACKS_BUCKET),
        ("channel-health", subjects::CHANNEL_HEALTH_BUCKET),
    ] {
        let values = bucket_values(&js, bucket).await;
        sorted.entry(schema).or_default().extend(values);
    }
    sorted.insert("removed-device", removed);
    // What the page received on /ws: every kind a dashboard shows; and the client taking
    // frames got them. Each message of both against the /ws schema, and log and alert
    // messages also against their NATS schemas (without `type`).
    let received = one_by_one.lock().expect("received").clone();
    let kinds: std::collections::BTreeSet<&str> =
        received.iter().filter_map(|m| m["type"].as_str()).collect();
    for kind in [
        "sample",
        "failure",
        "status",
        "log",
        "device_added",
        "device_removed",
        "alert",
        "error",
    ] {
        assert!(kinds.contains(kind), "no {kind} message on /ws: {kinds:?}");
    }
    let framed = in_frames.lock().expect("received").clone();
    check_frames(&framed);
    let received: Vec<Value> = received.into_iter().chain(framed).collect();
    for message in &received {
        let schema = match message["type"].as_str() {
            Some("log") => "log-entry",
            Some("alert") => "alert-event",
            _ => continue,
        };
        let mut inner = message.clone();
        inner.as_object_mut().expect("object").remove("type");
        sorted.entry(schema).or_default().push(inner);
    }
    sorted.insert("ws-message", received);
    sorted.entry("alert").or_default().extend(alerts);
    // Webhook bodies never travel on NATS: checked as they came.
    sorted.insert("notification", hook.bodies());
    sorted.retain(|_, messages| !messages.is_empty());

    let folder = tempfile::tempdir().expect("temp dir");
    for (schema, messages) in &sorted {
        std::fs::write(
            folder.path().join(format!("{schema}.json")),
            serde_json::to_vec(messages).expect("json"),
        )
        .expect("write");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Every schema must have been checked against live messages.
    let schemas = root.join("docs/schema");
    let output = tokio::process::Command::new("node")
        .arg(root.join("web/tests/validate-schemas.mjs"))
        .arg(&schemas)
        .arg(folder.path())
        .output()
        .await
        .expect("node runs (make setup installs the web/ packages)");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{said}");
    stack.stop().await;
}

#[tokio::test]
async fn the_example_program_prints_a_devices_counters() {
    let agent = Snmpd::start();
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        ..Default::default()
    })
    .await;
    let device = json!({"name": "example-target", "address": agent.address(), "interval": 1,
                        "interfaces": [1]});
    let created = stack
        .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let run = tokio::process::Command::new(binary("netpulse-example-subscribe"))
        .args([stack.nats_settings("gateway").url.as_str(), "--count", "2"])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("two samples within 30 s")
        .expect("the example runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}");
    let line = printed
        .lines()
        .find(|l| l.starts_with("example-target "))
        .unwrap_or_else(|| panic!("no line for the device:\n{printed}"));
    // "example-target <time> ifIndex 1 in <octets> out <octets>"
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[2..4], ["ifIndex", "1"], "{line}");
    assert!(
        words[5].parse::<u64>().is_ok() && words[7].parse::<u64>().is_ok(),
        "{line}"
    );
    stack.stop().await;
}
