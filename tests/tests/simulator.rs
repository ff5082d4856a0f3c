//! The pipeline against netpulse-sim, the devices that misbehave on command: 32-bit counter
//! wraps, reboots, renumbered interfaces, silent agents, and one slow device among many.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use netpulse_simulator::{SimConfig, Simulator};
use netpulse_tests::{next_live, Socket, Stack};
use serde_json::{json, Value};

/// Simulated devices at 10 Mb/s in and 4 Mb/s out per interface.
async fn simulator(devices: usize) -> Simulator {
    Simulator::start(SimConfig {
        devices,
        interfaces: 2,
        base_port: 0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator")
}

async fn live(stack: &Stack) -> Socket {
    tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("open /ws")
        .0
}

/// The next live sample of `device` whose interface `name` is present, within 30 s.
async fn next_sample(socket: &mut Socket, device: &str, name: &str) -> (Value, Value) {
    let named = |m: &Value| {
        m["interfaces"]
            .as_array()
            .and_then(|l| l.iter().find(|i| i["name"] == name))
            .cloned()
    };
    let sample = next_live(socket, Duration::from_secs(30), |m| {
        m["type"] == "sample" && m["device"] == device && named(m).is_some()
    })
    .await
    .unwrap_or_else(|| panic!("no sample of {device}/{name} within 30 s"));
    let interface = named(&sample).expect("matched");
    (sample, interface)
}

fn counter(interface: &Value) -> u64 {
    interface["in_octets"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .expect("counter string")
}

#[tokio::test]
async fn a_32_bit_counter_wrap_gives_the_right_rate() {
    let sim = simulator(1).await;
    let stack = Stack::pipeline().await;
    let mut socket = live(&stack).await;
    // SNMPv1 has no 64-bit counters: ifInOctets (Counter32) is what gets polled.
    stack.add_device( json!({"name": "wrapper", "address": sim.addresses()[0].to_string(), "version": "1", "interval": 1})).await;
    let (_, first) = next_sample(&mut socket, "wrapper", "eth0").await;
    sim.control()
        .wrap_soon(0, Duration::from_secs(3))
        .expect("wrap");
    let mut previous = counter(&first);
    let mut wrapped = false;
    for _ in 0..12 {
        let (_, interface) = next_sample(&mut socket, "wrapper", "eth0").await;
        let now = counter(&interface);
        if now < previous {
            wrapped = true;
            let bps = interface["in_bps"]
                .as_f64()
                .unwrap_or_else(|| panic!("a rate across the wrap: {interface}"));
            assert!((5e6..=20e6).contains(&bps), "rate across the wrap: {bps}");
            break;
        }
        previous = now;
    }
    assert!(wrapped, "the 32-bit counter did not wrap");
    stack.stop().await;
}

#[tokio::test]
async fn a_reboot_gives_a_gap_not_a_spike() {
    let sim = simulator(1).await;
    let stack = Stack::pipeline().await;
    let mut socket = live(&stack).await;
    stack
        .add_device(
            json!({"name": "rebooter", "address": sim.addresses()[0].to_string(), "interval": 1}),
        )
        .await;
    for _ in 0..2 {
        next_sample(&mut socket, "rebooter", "eth0").await;
    }
    sim.control().reboot(0).expect("reboot");
    let mut saw_gap = false;
    for _ in 0..6 {
        let (_, interface) = next_sample(&mut socket, "rebooter", "eth0").await;
        if let Some(bps) = interface["in_bps"].as_f64() {
            assert!(bps <= 20e6, "spike after reboot: {bps} b/s");
        } else if interface["gap"] == "restart" {
            saw_gap = true;
        }
    }
    assert!(saw_gap, "no restart gap seen");
    stack.stop().await;
}

#[tokio::test]
async fn a_renumbered_interface_stays_the_same_interface() {
    let sim = simulator(1).await;
    let stack = Stack::pipeline().await;
    let mut socket = live(&stack).await;
    stack
        .add_device(
            json!({"name": "renumbered", "address": sim.addresses()[0].to_string(), "interval": 1,
                        "interfaces": ["eth1"]}),
        )
        .await;
    let (_, before) = next_sample(&mut socket, "renumbered", "eth1").await;
    assert_eq!(before["index"], 2);
    sim.control().renumber(0, 100).expect("renumber");
    // The next polls find ifIndex 2 gone; discovery runs again and eth1 is found at 102.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, interface) = next_sample(&mut socket, "renumbered", "eth1").await;
        if interface["index"] == 102 {
            assert!(interface["in_bps"].as_f64().is_none_or(|bps| bps <= 20e6));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "eth1 not followed to its new ifIndex"
        );
    }
    let listed = stack.get_json("/api/devices/renumbered/interfaces").await;
    let eth1 = listed
        .as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == "eth1"))
        .cloned()
        .expect("eth1");
    assert_eq!(
        (eth1["index"].as_u64(), eth1["polled"].as_bool()),
        (Some(102), Some(true))
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_silent_device_goes_down_and_comes_back_up_once_each() {
    let sim = simulator(1).await;
    let stack = Stack::pipeline().await;
    let mut transitions = stack
        .nats
        .subscribe("netpulse.status.quiet")
        .await
        .expect("subscribe");
    stack
        .add_device(
            json!({"name": "quiet", "address": sim.addresses()[0].to_string(), "interval": 1,
                        "timeout_ms": 300, "retries": 0}),
        )
        .await;
    let mut next = async || {
        let message = tokio::time::timeout(Duration::from_secs(30), transitions.next())
            .await
            .expect("a transition within 30 s")
            .expect("subscription");
        let value: Value = serde_json::from_slice(&message.payload).expect("json");
        (
            value["previous"].as_str().unwrap_or_default().to_owned(),
            value["state"].as_str().unwrap_or_default().to_owned(),
            value,
        )
    };
    assert_eq!(next().await.1, "up");
    sim.control().set_silent(0, true).expect("silent");
    let (previous, state, down) = next().await;
    assert_eq!((previous.as_str(), state.as_str()), ("up", "down"));
    assert_eq!(down["reason"], "timeout");
    assert_eq!(down["consecutive_failures"], 3);
    sim.control().set_silent(0, false).expect("answer");
    let (previous, state, _) = next().await;
    assert_eq!((previous.as_str(), state.as_str()), ("down", "up"));
    let extra = tokio::time::timeout(Duration::from_secs(3), transitions.next()).await;
    assert!(extra.is_err(), "a transition published twice: {extra:?}");
    stack.stop().await;
}

#[tokio::test]
async fn a_slow_device_does_not_delay_a_thousand_fast_ones() {
    const FAST: usize = 1000;
    let sim = simulator(FAST + 1).await;
    let slow_delay = Duration::from_millis(1500);
    sim.control().set_delay(0, slow_delay).expect("delay");
    let stack = Stack::pipeline().await;
    let mut samples = stack
        .nats
        .subscribe("netpulse.sample.*")
        .await
        .expect("subscribe");
    stack
        .register_devices(sim.addresses().iter().enumerate().map(|(i, address)| {
            json!({"name": format!("d{i}"), "address": address.to_string(), "interval": 2, "interfaces": [1]})
        }))
        .await;
    // Collect samples for a few intervals: how late was each after its slot?
    let mut lateness: HashMap<String, Vec<u64>> = HashMap::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(12);
    while let Ok(Some(message)) = tokio::time::timeout_at(until, samples.next()).await {
        let Ok(sample) = serde_json::from_slice::<Value>(&message.payload) else {
            continue;
        };
        let (Some(id), Some(time_ms)) = (sample["id"].as_str(), sample["time_ms"].as_u64()) else {
            continue;
        };
        let slot = id
            .rsplit('-')
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(time_ms);
        let device = sample["device"].as_str().unwrap_or_default().to_owned();
        lateness
            .entry(device)
            .or_default()
            .push(time_ms.saturating_sub(slot));
    }
    let slow = lateness.get("d0").cloned().unwrap_or_default();
    assert!(
        !slow.is_empty() && slow.iter().all(|&l| l >= 1400),
        "the slow device answers late: {slow:?}"
    );
    let fast: Vec<u64> = lateness
        .iter()
        .filter(|(d, _)| d.as_str() != "d0")
        .flat_map(|(_, l)| l.clone())
        .collect();
    assert!(
        lateness.len() > FAST * 9 / 10,
        "only {} of {FAST} fast devices sampled",
        lateness.len() - 1
    );
    // Fast devices do not wait for the slow one: nearly all answer well before its delay.
    let waited = fast
        .iter()
        .filter(|&&l| l >= slow_delay.as_millis() as u64)
        .count();
    assert!(
        waited * 100 <= fast.len(),
        "{waited} of {} fast polls waited as long as the slow device",
        fast.len()
    );
    stack.stop().await;
}
