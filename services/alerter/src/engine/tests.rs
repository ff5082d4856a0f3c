//! The engine's life of an alert, step by step, with the clock in the test's hands.

use netpulse_shared::alert::{AlertRule, Silence};
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::messages::{
    DeviceStatus, PollFailure, PolledInterface, Reachability, Sample, SnmpValue, VarBind,
    SCHEMA_VERSION,
};
use netpulse_shared::snmp::Oid;

use super::*;

const T0: u64 = 1_800_000_000_000;

fn device(name: &str, tags: &[&str]) -> Device {
    let mut device = Device::from_json_body(
        format!(r#"{{"name": "{name}", "address": "192.0.2.1", "oids": ["1.3.6.1.4.1.1.1.0"]}}"#)
            .as_bytes(),
    )
    .expect("device");
    device.tags = tags.iter().map(|t| t.to_string()).collect();
    device
}

fn id(name: &str) -> DeviceId {
    DeviceId::parse(name).expect("id")
}

fn rule(body: &str) -> Input {
    let rule = AlertRule::from_json_body(body.as_bytes(), "r1".into()).expect("rule");
    Input::Rule(Box::new(rule))
}

fn status(name: &str, state: Reachability) -> Input {
    Input::Status(DeviceStatus {
        schema: SCHEMA_VERSION,
        device: id(name),
        state,
        since_ms: T0,
        reason: "test".into(),
        consecutive_failures: 0,
        last_error: None,
    })
}

/// A sample of core-1: interfaces eth0 and eth1 with their oper status and in octets.
fn sample(time_ms: u64, eth: [(i64, u64); 2]) -> Input {
    let mut values = vec![VarBind {
        oid: Oid::parse("1.3.6.1.4.1.1.1.0").expect("oid"),
        value: SnmpValue::Integer(((time_ms - T0) / 1000) as i64),
    }];
    for (i, (oper, octets)) in eth.iter().enumerate() {
        let index = i + 1;
        let vb = |column: &str, value| VarBind {
            oid: Oid::parse(&format!("{column}.{index}")).expect("oid"),
            value,
        };
        values.push(vb("1.3.6.1.2.1.2.2.1.8", SnmpValue::Integer(*oper)));
        values.push(vb("1.3.6.1.2.1.31.1.1.1.6", SnmpValue::Counter64(*octets)));
        values.push(vb("1.3.6.1.2.1.31.1.1.1.10", SnmpValue::Counter64(0)));
    }
    Input::Sample(Box::new(Sample::from_answers(
        format!("s{time_ms}"),
        id("core-1"),
        time_ms,
        Some(((time_ms - T0) / 10) as u32 + 100),
        values,
        &(1..=2)
            .map(|index| PolledInterface {
                index,
                key: format!("eth{}", index - 1),
                speed_bps: 1_000_000,
            })
            .collect::<Vec<_>>(),
    )))
}

fn events(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Publish(event) => Some(event.event.clone()),
            _ => None,
        })
        .collect()
}

fn deliveries(effects: &[Effect]) -> Vec<(String, String, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Deliver(_, d) => Some((d.channel.clone(), d.status.clone(), d.repeat)),
            _ => None,
        })
        .collect()
}

fn delivered_all(engine: &mut Engine, effects: &[Effect], now: u64) {
    for effect in effects {
        if let Effect::Deliver(alert, delivery) = effect {
            engine.apply(
                Input::Delivered {
                    delivery: delivery.clone(),
                    alert: alert.id.clone(),
                    error: None,
                },
                now,
            );
        }
    }
}

fn engine_with(rule_body: &str) -> Engine {
    let mut engine = Engine::default();
    engine.apply(Input::Device(Box::new(device("core-1", &["core"]))), T0);
    engine.apply(rule(rule_body), T0);
    engine
}

const DOWN: &str = r#"{"name": "down", "kind": "device_down", "severity": "critical",
    "scope": {"tags": ["core"]}, "channels": ["hook", "mail"], "for_s": 30, "repeat_s": 600}"#;

#[test]
fn a_device_down_goes_pending_fires_after_its_hold_down_and_resolves() {
    let mut engine = engine_with(DOWN);
    let effects = engine.apply(status("core-1", Reachability::Down), T0 + 1_000);
    assert_eq!(events(&effects), ["pending"]);
    assert!(deliveries(&effects).is_empty());
    assert!(events(&engine.apply(Input::Tick, T0 + 30_000)).is_empty());
    let fired = engine.apply(Input::Tick, T0 + 31_000);
    assert_eq!(events(&fired), ["firing"]);
    assert_eq!(
        deliveries(&fired),
        [
            ("hook".into(), "firing".into(), false),
            ("mail".into(), "firing".into(), false)
        ]
    );
    // Saved with its outbox before delivery.
    let saved = fired.iter().find_map(|e| match e {
        Effect::Save(a) if a.outbox.len() == 2 => Some(a.clone()),
        _ => None,
    });
    assert!(saved.is_some(), "{fired:?}");
    delivered_all(&mut engine, &fired, T0 + 31_500);
    let alert = engine.active().next().expect("alert").clone();
    assert!(alert.outbox.is_empty());
    assert_eq!(alert.summary, "core-1 is down");
    // Repeated after repeat_s, as a repeat.
    let repeated = engine.apply(Input::Tick, T0 + 31_000 + 600_000);
    assert_eq!(
        deliveries(&repeated)[0],
        ("hook".into(), "firing".into(), true)
    );
    delivered_all(&mut engine, &repeated, T0 + 632_000);
    let resolved = engine.apply(status("core-1", Reachability::Up), T0 + 700_000);
    assert_eq!(events(&resolved), ["resolved"]);
    assert_eq!(deliveries(&resolved)[0].1, "resolved");
    assert_eq!(engine.active().count(), 0);
    // Forgotten once the resolution is delivered.
    let mut forgotten = false;
    for effect in &resolved {
        if let Effect::Deliver(alert, delivery) = effect {
            let done = engine.apply(
                Input::Delivered {
                    delivery: delivery.clone(),
                    alert: alert.id.clone(),
                    error: None,
                },
                T0 + 700_100,
            );
            forgotten |= done.iter().any(|e| matches!(e, Effect::Forget(_)));
        }
    }
    assert!(forgotten);
}

#[test]
fn a_condition_gone_before_its_hold_down_is_never_notified() {
    let mut engine = engine_with(DOWN);
    engine.apply(status("core-1", Reachability::Down), T0);
    let gone = engine.apply(status("core-1", Reachability::Up), T0 + 10_000);
    assert!(deliveries(&gone).is_empty());
    assert!(gone.iter().any(|e| matches!(e, Effect::Forget(_))));
    assert_eq!(engine.active().count(), 0);
}

#[test]
fn devices_out_of_scope_do_not_alert() {
    let mut engine = engine_with(DOWN);
    engine.apply(Input::Device(Box::new(device("edge-1", &["edge"]))), T0);
    assert!(engine
        .apply(status("edge-1", Reachability::Down), T0)
        .is_empty());
}

#[test]
fn an_acknowledged_alert_is_not_repeated() {
    let mut engine = engine_with(DOWN);
    engine.apply(status("core-1", Reachability::Down), T0);
    let fired = engine.apply(Input::Tick, T0 + 30_000);
    delivered_all(&mut engine, &fired, T0 + 30_000);
    let alert = engine.active().next().expect("alert").id.clone();
    let acked = engine.apply(
        Input::Ack(Ack {
            schema: SCHEMA_VERSION,
            alert,
            by: "ann".into(),
            comment: "on it".into(),
            time_ms: T0 + 40_000,
        }),
        T0 + 40_000,
    );
    assert_eq!(events(&acked), ["acked"]);
    assert!(deliveries(&engine.apply(Input::Tick, T0 + 2_000_000)).is_empty());
    assert_eq!(
        engine.active().next().and_then(|a| a.acked_by.clone()),
        Some("ann".into())
    );
}

#[test]
fn a_silenced_alert_is_recorded_and_notified_when_the_silence_ends() {
    let mut engine = engine_with(DOWN);
    let silence = Silence::from_json_body(
        format!(
            r#"{{"scope": {{"devices": ["core-1"]}}, "from": {}, "to": {}, "comment": "work"}}"#,
            T0 / 1000,
            T0 / 1000 + 120
        )
        .as_bytes(),
        "s1".into(),
        "ann",
        T0,
    )
    .expect("silence");
    engine.apply(Input::Silence(Box::new(silence)), T0);
    let pending = engine.apply(status("core-1", Reachability::Down), T0);
    assert_eq!(events(&pending), ["pending", "silenced"]);
    let fired = engine.apply(Input::Tick, T0 + 30_000);
    assert_eq!(events(&fired), ["firing"]);
    assert!(deliveries(&fired).is_empty());
    assert!(engine.active().next().is_some_and(|a| a.silenced));
    assert!(deliveries(&engine.apply(Input::Tick, T0 + 119_000)).is_empty());
    let ended = engine.apply(Input::Tick, T0 + 120_000);
    assert_eq!(deliveries(&ended).len(), 2, "{ended:?}");
    assert!(engine.active().next().is_some_and(|a| !a.silenced));
}

#[test]
fn interfaces_of_one_device_make_one_alert_and_never_up_ones_none() {
    let mut engine = engine_with(
        r#"{"name": "ports", "kind": "interface_down", "severity": "warning",
            "scope": "all", "channels": ["hook"], "for_s": 0}"#,
    );
    // eth1 was never up: its being down says nothing.
    engine.apply(sample(T0, [(1, 0), (2, 0)]), T0);
    let down = engine.apply(sample(T0 + 10_000, [(2, 0), (2, 0)]), T0 + 10_000);
    assert_eq!(events(&down), ["pending", "firing"]);
    assert_eq!(deliveries(&down).len(), 1);
    let alert = engine.active().next().expect("alert");
    assert_eq!(alert.interfaces, ["eth0"]);
    assert_eq!(alert.summary, "eth0 down on core-1");
    let up = engine.apply(sample(T0 + 20_000, [(1, 0), (2, 0)]), T0 + 20_000);
    assert_eq!(events(&up), ["resolved"]);
}

#[test]
fn a_flapping_interface_is_notified_once_and_resolves_once_stable() {
    let mut engine = engine_with(
        r#"{"name": "ports", "kind": "interface_down", "severity": "warning",
            "scope": "all", "channels": ["hook"], "for_s": 0, "flap_threshold": 3,
            "flap_window_s": 60}"#,
    );
    engine.apply(sample(T0, [(1, 0), (1, 0)]), T0);
    let mut notified = 0;
    let mut all = Vec::new();
    for step in 1..=8u64 {
        let oper = if step % 2 == 1 { 2 } else { 1 };
        let now = T0 + step * 5_000;
        let effects = engine.apply(sample(now, [(oper, 0), (1, 0)]), now);
        notified += deliveries(&effects)
            .iter()
            .filter(|d| d.1 == "firing")
            .count();
        delivered_all(&mut engine, &effects, now);
        all.extend(events(&effects));
    }
    assert!(all.contains(&"flapping".to_owned()), "{all:?}");
    // Fired and resolved once each before it was seen flapping, then told once it flaps.
    assert_eq!(notified, 3, "{all:?}");
    let alert = engine.active().next().expect("kept while flapping");
    assert!(alert.flapping);
    // Up and stable for a whole window: resolved.
    let quiet = engine.apply(Input::Tick, T0 + 40_000 + 60_000);
    assert_eq!(events(&quiet), ["resolved"], "{quiet:?}");
}

#[test]
fn utilisation_fires_above_and_clears_only_below_its_lower_threshold() {
    let mut engine = engine_with(
        r#"{"name": "hot", "kind": "utilisation", "severity": "warning", "scope": "all",
            "channels": [], "for_s": 0, "above_pct": 80, "clear_below_pct": 50}"#,
    );
    // eth0 speed 1 Mbit/s: 125,000 octets/s is 100%. Steps of 40 s.
    let mut octets = 0u64;
    let mut states = Vec::new();
    for (step, pct) in [0u64, 50, 90, 70, 55, 40, 85].iter().enumerate() {
        octets += pct * 1_250 * 40;
        let now = T0 + 40_000 * step as u64;
        // Far apart: no agent cache is suspected, every step gives a rate.
        engine.apply(sample(now, [(1, octets), (1, 0)]), now);
        states.push(engine.active().next().map(|a| a.state));
    }
    use AlertState::*;
    assert_eq!(
        states,
        [
            None,
            None,
            Some(Firing),
            Some(Firing),
            Some(Firing),
            None,
            Some(Firing)
        ]
    );
}

#[test]
fn a_threshold_on_an_extra_oid_and_failing_polls_alert() {
    let mut engine = engine_with(
        r#"{"name": "temp", "kind": "oid", "oid": "1.3.6.1.4.1.1.1.0", "above": 25,
            "severity": "info", "scope": "all", "channels": [], "for_s": 0}"#,
    );
    engine.apply(sample(T0 + 20_000, [(1, 0), (1, 0)]), T0 + 20_000);
    assert!(engine.active().next().is_none());
    engine.apply(sample(T0 + 30_000, [(1, 0), (1, 0)]), T0 + 30_000);
    assert_eq!(engine.active().next().and_then(|a| a.value), Some(30.0));

    let mut engine = engine_with(
        r#"{"name": "auth", "kind": "poll_failing", "reason": "auth", "severity": "warning",
            "scope": "all", "channels": [], "for_s": 0}"#,
    );
    let failure = |reason: &str| {
        Input::Failure(PollFailure {
            schema: SCHEMA_VERSION,
            job_id: "j".into(),
            device: id("core-1"),
            time_ms: T0,
            reason: reason.into(),
            stats: Default::default(),
        })
    };
    engine.apply(failure("timeout"), T0);
    assert!(engine.active().next().is_none());
    engine.apply(failure("authentication failed"), T0);
    assert!(engine.active().next().is_some());
    engine.apply(sample(T0 + 10_000, [(1, 0), (1, 0)]), T0 + 10_000);
    assert!(engine.active().next().is_none());
}

#[test]
fn a_restored_alert_is_not_notified_again_and_its_end_is() {
    let mut first = engine_with(DOWN);
    first.apply(status("core-1", Reachability::Down), T0);
    let fired = first.apply(Input::Tick, T0 + 30_000);
    delivered_all(&mut first, &fired, T0 + 30_000);
    let kept: Vec<Alert> = first.active().cloned().collect();
    // A new leader: the same registry and rules, the kept alerts, then the status as it is.
    let mut second = engine_with(DOWN);
    let restored = second.apply(Input::Restore(kept), T0 + 40_000);
    assert!(deliveries(&restored).is_empty());
    let still = second.apply(status("core-1", Reachability::Down), T0 + 40_000);
    assert!(deliveries(&still).is_empty(), "{still:?}");
    assert!(deliveries(&second.apply(Input::Tick, T0 + 50_000)).is_empty());
    let up = second.apply(status("core-1", Reachability::Up), T0 + 60_000);
    assert_eq!(deliveries(&up).len(), 2);
    assert!(deliveries(&up).iter().all(|d| d.1 == "resolved"));
}

#[test]
fn undelivered_notifications_are_delivered_by_the_next_leader() {
    let mut first = engine_with(DOWN);
    first.apply(status("core-1", Reachability::Down), T0);
    first.apply(Input::Tick, T0 + 30_000);
    // Died before any delivery finished.
    let kept: Vec<Alert> = first.active().cloned().collect();
    let mut second = engine_with(DOWN);
    let restored = second.apply(Input::Restore(kept), T0 + 40_000);
    assert_eq!(deliveries(&restored).len(), 2);
}
