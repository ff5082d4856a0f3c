//! `GET /metrics`: what Prometheus scrapes, checked by Prometheus' own `promtool`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use netpulse_shared::test_util::Snmpd;
use netpulse_tests::{Services, Stack, METRICS_TOKEN};
use serde_json::json;

/// The value of the first series of `name` whose labels contain every one of `labels`.
fn value(body: &str, name: &str, labels: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(series, _)| {
            (series.starts_with(&format!("{name}{{")) || *series == name)
                && labels.iter().all(|l| series.contains(l))
        })
        .and_then(|(_, v)| v.parse().ok())
}

/// Runs `promtool check metrics` on `body`; its verdict and what it printed.
fn promtool(body: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; .ci/run installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

#[tokio::test]
async fn prometheus_reads_every_device_interface_and_service() {
    let agent = Snmpd::start();
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        nats_permissions: true,
        ..Default::default()
    })
    .await;
    let device =
        json!({"name": "Edge \"1\"", "address": agent.address(), "interval": 1, "interfaces": [1]});
    let created = stack
        .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let device_label = format!("device=\"{id}\"");

    // Prometheus presents the scrape token.
    let scrape = || stack.http_as(METRICS_TOKEN, "GET", "/metrics", None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let body = loop {
        let answer = scrape().await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let body = answer.text();
        let rated = value(
            &body,
            "netpulse_interface_in_bytes_per_second",
            &[&device_label, "if_name=\"lo\""],
        )
        .is_some();
        let services_up = ["scheduler", "poller", "recorder", "gateway"]
            .iter()
            .all(|s| {
                value(&body, "netpulse_service_up", &[&format!("service=\"{s}\"")]) == Some(1.0)
            });
        if rated && services_up {
            assert!(answer
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")));
            break body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no rate or not every service up within 30 s:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    let (accepted, said) = promtool(&body);
    assert!(accepted, "promtool refused the metrics: {said}\n{body}");

    // The device's name, with its quotes escaped, labels its series.
    let named = [device_label.as_str(), "name=\"Edge \\\"1\\\"\""];
    assert_eq!(value(&body, "netpulse_device_up", &named), Some(1.0));
    let interface = [device_label.as_str(), "if_index=\"1\"", "if_name=\"lo\""];
    for counter in [
        "netpulse_interface_in_octets_total",
        "netpulse_interface_out_octets_total",
    ] {
        assert!(
            value(&body, counter, &interface).is_some_and(|v| v > 0.0),
            "{counter}\n{body}"
        );
    }
    assert!(value(&body, "netpulse_interface_out_bytes_per_second", &interface).is_some());
    assert_eq!(
        value(&body, "netpulse_interface_oper_status", &interface),
        Some(1.0)
    );
    let duration =
        value(&body, "netpulse_device_poll_duration_seconds", &named).expect("a poll duration");
    assert!((0.0..5.0).contains(&duration), "{duration}");
    assert!(value(&body, "netpulse_device_polls_total", &named).is_some_and(|n| n >= 2.0));
    assert!(value(&body, "netpulse_polls_total", &[]).is_some_and(|n| n >= 2.0));
    assert_eq!(value(&body, "netpulse_devices", &[]), Some(1.0));
    assert_eq!(value(&body, "netpulse_jetstream_up", &[]), Some(1.0));
    assert!(value(
        &body,
        "netpulse_consumer_pending_messages",
        &["stream=\"NETPULSE_SAMPLES\"", "consumer=\"recorder\""]
    )
    .is_some());
    assert!(value(&body, "netpulse_recorder_lag_seconds", &[]).is_some_and(|lag| lag < 10.0));
    assert_eq!(
        value(
            &body,
            "netpulse_service_nats_reconnects_total",
            &["service=\"poller\""]
        ),
        Some(0.0)
    );

    // A dashboard open on /ws counts as a client.
    let (_socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("ws");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while value(&scrape().await.text(), "netpulse_websocket_clients", &[]) != Some(1.0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the /ws client is not counted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Signed-in users of any role may read; nobody else.
    let viewer = stack.user("vic", "viewer").await;
    assert_eq!(
        stack.http_as(&viewer, "GET", "/metrics", None).await.status,
        200
    );
    let nobody = netpulse_tests::http(stack.gateway, "GET", "/metrics", None, &[]).await;
    assert_eq!(nobody.status, 401, "{}", nobody.text());
    let wrong = stack
        .http_as("not-the-scrape-token", "GET", "/metrics", None)
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    assert!(!wrong.text().contains("netpulse_"));
    stack.stop().await;
}
