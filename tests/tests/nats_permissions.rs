//! NATS permissions from nats/nats.conf: each service has its own user and may write only
//! what it produces, and the whole pipeline still runs under them.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use netpulse_shared::device::Device;
use netpulse_shared::test_util::{NatsServer, Snmpd};
use netpulse_shared::{bus, subjects};
use netpulse_tests::{Services, Stack};
use serde_json::json;

#[tokio::test]
async fn the_poller_cannot_change_the_registry_nor_the_gateway_publish_poll_jobs() {
    let server = NatsServer::start_with_netpulse_config();
    let gateway = bus::connect(&server.settings_for("gateway"), "gateway")
        .await
        .expect("gateway");
    let poller = bus::connect(&server.settings_for("poller"), "poller")
        .await
        .expect("poller");
    let scheduler = bus::connect(&server.settings_for("scheduler"), "scheduler")
        .await
        .expect("scheduler");

    let as_gateway = bus::Bucket::DEVICES
        .open(&async_nats::jetstream::new(gateway.clone()), 1)
        .await
        .expect("bucket");
    as_gateway
        .put("core-1", "from the gateway".into())
        .await
        .expect("the gateway writes the registry");

    let poller_js = async_nats::jetstream::new(poller.clone());
    let as_poller = poller_js
        .get_key_value("netpulse_devices")
        .await
        .expect("the poller may open the bucket");
    let write = tokio::time::timeout(
        Duration::from_secs(5),
        as_poller.put("core-1", "from the poller".into()),
    )
    .await;
    assert!(
        !matches!(write, Ok(Ok(_))),
        "the server let the poller write the registry"
    );
    let purge = tokio::time::timeout(Duration::from_secs(5), as_poller.purge("core-1")).await;
    assert!(
        !matches!(purge, Ok(Ok(_))),
        "the server let the poller purge a registry key"
    );
    let value = as_gateway
        .get("core-1")
        .await
        .expect("get")
        .expect("still there");
    assert_eq!(&value[..], b"from the gateway");

    // Poll jobs: the scheduler's to publish, not the gateway's.
    // A fresh poller connection, apart from the one the server refused above.
    let poller = bus::connect(&server.settings_for("poller"), "poller-2")
        .await
        .expect("poller");
    for (listen, subject) in [
        ("netpulse.poll.>", "netpulse.poll.core-1"),
        (subjects::POLL_BATCH, subjects::POLL_BATCH),
    ] {
        let first = first_job(&poller, listen, subject, &gateway, &scheduler).await;
        assert_eq!(
            &first[..],
            b"real",
            "the gateway's forged job on {subject} was delivered"
        );
    }
}

/// What a poller listening on `listen` receives first when the gateway sends a forged job on
/// `subject`, then the scheduler a real one.
async fn first_job(
    poller: &async_nats::Client,
    listen: &'static str,
    subject: &'static str,
    gateway: &async_nats::Client,
    scheduler: &async_nats::Client,
) -> Vec<u8> {
    let mut jobs = poller.subscribe(listen).await.expect("subscribe");
    poller.flush().await.expect("flush");
    gateway
        .publish(subject, "forged".into())
        .await
        .expect("sent (the server drops it)");
    gateway.flush().await.ok();
    // Core NATS delivers at most once: on a loaded machine the first publish after a new
    // subscription has been seen to go missing, so the scheduler repeats its job (as it
    // does every interval). The forged job, sent before all of them, would come first.
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            scheduler
                .publish(subject, "real".into())
                .await
                .expect("publish");
            scheduler.flush().await.expect("flush");
            if let Ok(job) = tokio::time::timeout(Duration::from_millis(500), jobs.next()).await {
                return job.expect("open").payload.to_vec();
            }
        }
    })
    .await
    .expect("a job")
}

#[tokio::test]
async fn the_pipeline_runs_under_its_permissions() {
    let agent = Snmpd::start();
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        nats_permissions: true,
        logs: true,
        ..Default::default()
    })
    .await;
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("ws");
    let device =
        json!({"name": "guarded", "address": agent.address(), "interval": 1, "interfaces": [1]});
    let created = stack
        .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a sample within 30 s")
            .expect("open")
            .expect("message");
        let text = message.into_text().unwrap_or_default();
        if text.contains("\"type\":\"sample\"") && text.contains("\"guarded\"") {
            break;
        }
    }
    // Discovery, the status bucket and the audit log work too.
    let discovered = stack
        .http("POST", "/api/devices/guarded/discover", None)
        .await;
    assert_eq!(discovered.status, 200, "{}", discovered.text());
    // The gateway may ask a poller for a test poll, and the poller may answer.
    let tested = stack.http("POST", "/api/devices/guarded/test", None).await;
    assert_eq!(tested.status, 200, "{}", tested.text());
    assert!(tested.json()["values"]
        .as_array()
        .is_some_and(|v| !v.is_empty()));
    // Reachability follows the pollers' outcome batches, a moment after the samples.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let state = stack.get_json("/api/devices/guarded").await["status"]["state"].clone();
        if state == "up" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the device is {state}, not up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!stack
        .get_json("/api/audit")
        .await
        .as_array()
        .expect("list")
        .is_empty());
    // And the history reaches disk.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while std::fs::read_dir(stack.data_dir.join("devices/guarded")).map_or(0, |d| d.count()) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no history written");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The gateway may ask the recorder for history.
    let history = stack
        .http("GET", "/api/devices/guarded/history?interface=1", None)
        .await;
    assert_eq!(history.status, 200, "{}", history.text());
    // The logs receiver publishes what the device sends, and the recorder stores it.
    let sender = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("socket");
    sender
        .send_to(
            b"<13>Nov 28 10:00:00 guarded app: permitted-log",
            stack.syslog.expect("syslog"),
        )
        .await
        .expect("send");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let logs = stack
            .get_json("/api/devices/guarded/logs?q=permitted-log")
            .await;
        if logs["entries"].as_array().is_some_and(|e| !e.is_empty()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log entry was not stored"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And have it delete a history with its device.
    let deleted = stack
        .http("DELETE", "/api/devices/guarded?history=delete", None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert!(!stack.data_dir.join("devices/guarded").exists());
    stack.stop().await;
}

#[tokio::test]
async fn only_the_gateway_reaches_the_users_sessions_and_tokens_buckets() {
    let server = NatsServer::start_with_netpulse_config();
    let gateway = bus::connect(&server.settings_for("gateway"), "gateway")
        .await
        .expect("gateway");
    let js = async_nats::jetstream::new(gateway);
    let users = bus::Bucket::USERS.open(&js, 1).await.expect("users bucket");
    users
        .put("ann", "a user".into())
        .await
        .expect("the gateway writes users");
    let sessions = bus::sessions_bucket(&js, 1, Duration::from_secs(3600))
        .await
        .expect("sessions bucket");
    sessions
        .put("0123abcd", "a session".into())
        .await
        .expect("the gateway writes sessions");
    assert!(sessions.get("0123abcd").await.expect("get").is_some());
    let tokens = bus::Bucket::TOKENS
        .open(&js, 1)
        .await
        .expect("tokens bucket");
    tokens
        .put("0123abcd", "a token".into())
        .await
        .expect("the gateway writes tokens");

    let mut refusals = Vec::new();
    for service in ["scheduler", "poller", "recorder", "logs"] {
        for (bucket, key) in [
            ("netpulse_users", "ann"),
            ("netpulse_sessions", "0123abcd"),
            ("netpulse_tokens", "0123abcd"),
        ] {
            let settings = server.settings_for(service);
            refusals.push(async move {
                let client = bus::connect(&settings, service).await.expect("connect");
                let js = async_nats::jetstream::new(client.clone());
                let open =
                    tokio::time::timeout(Duration::from_secs(3), js.get_key_value(bucket)).await;
                assert!(
                    !matches!(open, Ok(Ok(_))),
                    "{service} opened the {bucket} bucket"
                );
                let subject = format!("$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.{key}");
                let read = tokio::time::timeout(
                    Duration::from_secs(3),
                    client.request(subject, "".into()),
                )
                .await;
                assert!(
                    !matches!(read, Ok(Ok(ref m)) if m.payload.starts_with(b"a ")),
                    "{service} read the {bucket} bucket"
                );
                let write = tokio::time::timeout(Duration::from_secs(3), async {
                    let js = async_nats::jetstream::new(client);
                    let ack = js
                        .publish(format!("$KV.{bucket}.{key}"), "forged".into())
                        .await?;
                    ack.await
                })
                .await;
                assert!(
                    !matches!(write, Ok(Ok(_))),
                    "{service} wrote the {bucket} bucket"
                );
            });
        }
    }
    futures::future::join_all(refusals).await;
    assert_eq!(
        &sessions.get("0123abcd").await.expect("get").expect("kept")[..],
        b"a session"
    );
}

/// Every service that follows the registry answers the server's flow control, so none of them
/// stalls on a large one: the scheduler, the gateway and the logs receiver each see all of
/// 10,000 devices registered at once.
#[tokio::test]
async fn every_service_follows_a_registry_of_ten_thousand_devices() {
    const DEVICES: usize = 10_000;
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 0,
        nats_permissions: true,
        logs: true,
        ..Default::default()
    })
    .await;
    // The scheduler asks for each new device's discovery: watch those requests as a poller.
    let poller = bus::connect(&stack.nats_settings("poller"), "poller")
        .await
        .expect("poller connects");
    let mut discoveries = poller
        .subscribe("netpulse.discover.*")
        .await
        .expect("subscribe");
    poller.flush().await.expect("flush");
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("ws");
    socket
        .send(
            json!({"type": "subscribe", "devices": ["last"], "kinds": ["device_added"]})
                .to_string()
                .into(),
        )
        .await
        .expect("subscribe");

    let js = async_nats::jetstream::new(stack.nats.clone());
    let registry = js
        .get_key_value(subjects::DEVICES_BUCKET)
        .await
        .expect("registry");
    let register = |name: String, address: &str| {
        let body = json!({"name": name, "address": address, "interval": 3600, "interfaces": [1]});
        let device = Device::from_json_body(body.to_string().as_bytes()).expect("device");
        let value = serde_json::to_vec(&device).expect("json");
        let registry = registry.clone();
        async move {
            registry
                .put(device.id.as_str(), value.into())
                .await
                .expect("register");
        }
    };
    futures::stream::iter(1..DEVICES)
        .for_each_concurrent(64, |i| {
            register(format!("bulk-{i}"), &format!("127.0.0.1:{}", 20_000 + i))
        })
        .await;
    // The last one has an address of its own, so that its logs can be told apart.
    register("last".into(), "127.0.0.2:161").await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut requested = std::collections::HashSet::new();
    while requested.len() < DEVICES {
        let Ok(Some(message)) = tokio::time::timeout_at(deadline, discoveries.next()).await else {
            panic!(
                "the scheduler took up {} of {DEVICES} devices",
                requested.len()
            );
        };
        requested.insert(message.subject.to_string());
    }
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the gateway announces the last device")
            .expect("open")
            .expect("message");
        let text = message.into_text().unwrap_or_default();
        if text.contains("\"device_added\"") && text.contains("\"last\"") {
            break;
        }
    }
    // The logs receiver attributes what 127.0.0.2 sends to the last device.
    let sender = tokio::net::UdpSocket::bind("127.0.0.2:0")
        .await
        .expect("socket on 127.0.0.2");
    loop {
        sender
            .send_to(
                b"<13>Nov 28 10:00:00 last app: registry-followed",
                stack.syslog.expect("syslog"),
            )
            .await
            .expect("send");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let logs = stack
            .get_json("/api/devices/last/logs?q=registry-followed")
            .await;
        if logs["entries"].as_array().is_some_and(|e| !e.is_empty()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the logs receiver never attributed 127.0.0.2 to the last device"
        );
    }
    stack.stop().await;
}
