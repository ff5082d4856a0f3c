//! SNMPv3 agents that reboot: the engine's boots and time change, and polling follows without
//! anyone touching the device's settings.

use std::time::Duration;

use futures::StreamExt;
use netpulse_shared::messages::Sample;
use netpulse_shared::test_util::Snmpd;
use netpulse_tests::{Services, Stack};
use serde_json::json;

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
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        ..Default::default()
    })
    .await;
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
    assert!(after.values.len() >= 3, "{:?}", after.values);
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
