//! The event API for other programs: the example under examples/ receives samples from a
//! running netpulse.

use std::time::Duration;

use netpulse_shared::test_util::Snmpd;
use netpulse_tests::{binary, Services, Stack};
use serde_json::json;

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
