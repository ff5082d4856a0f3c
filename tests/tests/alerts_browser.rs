//! The dashboard's alerting in a real headless Chromium (driven by web/tests/alerting.mjs)
//! against the stack, the alerter as its own process, a real snmpd and a webhook receiver:
//! an operator sees a device's alert fire, counted in the header, acknowledges and silences
//! it from the Alerts page, and sees it resolve. The device and rule are named with markup,
//! which the page must show as text.
//!
//! The script asks for what only this side can do with a line `CONTROL down` or `CONTROL up`
//! (pause or resume snmpd) on its standard output, and waits for `OK` or `ERR <message>` on
//! its standard input.

use std::time::{Duration, Instant};

use netpulse_shared::test_util::Snmpd;
use netpulse_tests::{Services, Stack, Webhook};
use serde_json::json;

/// The whole browser run, at most.
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// A device name that is markup and script (device names allow `<` and `>`).
const DEVICE_NAME: &str = "<img src=x onerror=alert(1)>";
/// A rule name that is markup.
const RULE_NAME: &str = "<b>rule</b>";

#[tokio::test]
async fn the_alerts_page_shows_counts_acks_and_silences_a_firing_alert_with_names_as_text() {
    let mut agent = Snmpd::start();
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        nats_permissions: true,
        ..Default::default()
    })
    .await;
    let hook = Webhook::start().await;
    let _alerter = stack.alerter(&[]);
    // Polled every second, down after three missed polls.
    let device = stack
        .add_device(
            json!({"name": DEVICE_NAME, "address": agent.address(), "interval": 1,
                           "timeout_ms": 300, "retries": 0, "interfaces": [1]}),
        )
        .await;
    let channel = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "hook", "kind": "webhook", "url": hook.url()}),
        )
        .await;
    let rule = stack
        .post_created(
            "/api/alert-rules",
            json!({"name": RULE_NAME, "kind": "device_down", "for_s": 0, "severity": "critical",
               "scope": {"devices": [device]}, "channels": [channel["id"]]}),
        )
        .await;
    let rule_id = rule["id"].as_str().expect("rule id").to_owned();
    stack.wait_until_up(&device).await;

    let mut command = netpulse_tests::node::browser_check(
        "tests/alerting.mjs",
        &format!("http://{}/", stack.gateway),
    );
    command
        .env("NETPULSE_DEVICE_ID", &device)
        .env("NETPULSE_DEVICE_NAME", DEVICE_NAME)
        .env("NETPULSE_RULE_ID", &rule_id)
        .env("NETPULSE_RULE_NAME", RULE_NAME);
    let started = Instant::now();
    let (success, stdout, stderr) = tokio::time::timeout(
        RUN_LIMIT,
        netpulse_tests::node::drive(&mut command, async |request| match request {
            "down" => {
                agent.pause();
                Ok(None)
            }
            "up" => {
                agent.resume();
                Ok(None)
            }
            other => Err(format!("unknown command: {other}")),
        }),
    )
    .await
    .expect("the browser checks finish within 5 minutes");
    println!(
        "alerting browser checks took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert!(success, "browser checks failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ok - acknowledged"), "{stdout}");
    assert!(stdout.contains("ok - the device back"), "{stdout}");

    // What the page did, as the API and the channel saw it.
    let firing = hook.wait_for("firing", 10).await;
    assert_eq!(firing["device"]["name"], DEVICE_NAME, "{firing}");
    assert_eq!(firing["alert"]["rule_name"], RULE_NAME, "{firing}");
    let resolved = stack.get_json("/api/alerts?state=resolved").await;
    let resolved = resolved.as_array().expect("a list");
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["acked_by"], "admin", "{resolved:?}");
    assert_eq!(resolved[0]["rule_name"], RULE_NAME);
    let silences = stack.get_json("/api/silences").await;
    assert_eq!(silences.as_array().map(Vec::len), Some(1), "{silences}");
    assert_eq!(
        silences[0]["scope"],
        json!({"devices": [device], "rules": [rule_id]})
    );
    assert_eq!(silences[0]["created_by"], "admin");
    stack.stop().await;
}
