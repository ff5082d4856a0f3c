//! Tests of the live stream's parts.

use super::protocol::*;
use super::rates::*;
use std::collections::HashSet;

use netpulse_shared::device::DeviceId;
use netpulse_shared::messages::{Sample, SnmpValue, VarBind};

use netpulse_shared::snmp::Oid;

fn sample(time_ms: u64, uptime: u32, in_octets: u64, out_octets: u64) -> Sample {
    let vb = |oid: &str, value| VarBind {
        oid: Oid::parse(oid).expect("oid"),
        value,
    };
    Sample::from_answers(
        format!("d-{time_ms}"),
        DeviceId::parse("d").expect("id"),
        time_ms,
        Some(uptime),
        vec![
            vb("1.3.6.1.2.1.1.3.0", SnmpValue::Timeticks(uptime)),
            vb("1.3.6.1.2.1.31.1.1.1.6.3", SnmpValue::Counter64(in_octets)),
            vb(
                "1.3.6.1.2.1.31.1.1.1.10.3",
                SnmpValue::Counter64(out_octets),
            ),
        ],
        &[],
    )
}

#[test]
fn rates_come_from_the_previous_sample() {
    let mut rates = DeviceRates::default();
    let first = sample(0, 100, 500, 2_000);
    let (interfaces, _) = rates.step(&first);
    assert_eq!(interfaces[0].in_bps, None);
    // Rates start at a reading known fresh (the counters had just moved), or at one long
    // enough ago that no cache lasts that long.
    let (interfaces, _) = rates.step(&sample(10_000, 1100, 1_000, 2_000));
    assert_eq!(interfaces[0].in_bps, None);
    let second = sample(20_000, 2100, 13_500, 2_000);
    let (interfaces, _) = rates.step(&second);
    assert_eq!(interfaces[0].index, 3);
    assert_eq!(interfaces[0].in_bps, Some(10_000.0));
    assert_eq!(interfaces[0].out_bps, Some(0.0));
    // An older sample delivered late: counters, no rate.
    let (interfaces, _) = rates.step(&sample(15_000, 600, 5_000, 2_000));
    assert_eq!(
        (interfaces[0].in_octets.as_str(), interfaces[0].in_bps),
        ("5000", None)
    );
    // A reboot between the two: no rate rather than a spike.
    let rebooted = sample(30_000, 50, 10, 10);
    let (interfaces, _) = rates.step(&rebooted);
    assert_eq!(interfaces[0].in_bps, None);
    assert_eq!(interfaces[0].gap, Some("restart"));
}

#[test]
fn a_cached_reading_shows_the_last_real_rate() {
    let mut rates = DeviceRates::default();
    // Polled every second; the agent refreshes its counters every three.
    let counters = [0, 3_000, 3_000, 3_000, 6_000, 6_000, 6_000, 9_000, 9_000];
    let mut shown = Vec::new();
    for (n, value) in counters.into_iter().enumerate() {
        let time = 10_000 + 1000 * n as u64;
        let (interfaces, cached) = rates.step(&sample(time, time as u32 / 10, value, value));
        shown.push((interfaces[0].in_bps, cached, interfaces[0].cached));
    }
    let bps = Some(8_000.0);
    assert_eq!(
        shown,
        vec![
            (None, false, false),
            // The first reading may have been an old cached one: no rate from it.
            (None, false, false),
            (None, true, false),
            (None, true, false),
            (bps, false, false),
            (bps, true, true),
            (bps, true, true),
            (bps, false, false),
            (bps, true, true),
        ],
        "no zero, no saw-tooth"
    );
    assert_eq!(rates.cache_period_ms(), Some(3000));
}

#[test]
fn errors_and_discards_per_second_go_with_the_rates() {
    let mut rates = DeviceRates::default();
    let with_errors = |time_ms: u64, octets: u64, in_errors: u32| {
        let mut s = sample(
            time_ms,
            u32::try_from(time_ms / 10).expect("ticks"),
            octets,
            0,
        );
        let interface = &mut s.interfaces[0];
        assert_eq!(interface.index, 3);
        interface.in_errors = Some(u64::from(in_errors));
        interface.out_errors = Some(0);
        interface.in_discards = Some(0);
        interface.out_discards = Some(0);
        s
    };
    rates.step(&with_errors(0, 0, 0));
    rates.step(&with_errors(1000, 100, 1));
    rates.step(&with_errors(2000, 100, 1));
    let (interfaces, _) = rates.step(&with_errors(3000, 200, 4));
    assert_eq!(interfaces[0].errors.in_errors, Some(1.5));
    // A cached reading repeats the last real rates, errors too.
    let (interfaces, cached) = rates.step(&with_errors(4000, 200, 4));
    assert!(cached);
    assert_eq!(interfaces[0].errors.in_errors, Some(1.5));
    let json = serde_json::to_value(&interfaces[0]).expect("json");
    assert_eq!(json["in_errors_ps"], 1.5);
    assert_eq!(json["out_discards_ps"], 0.0);
    // Without the counters: absent.
    let (interfaces, _) = rates.step(&sample(10_000, 1000, 900, 0));
    let json = serde_json::to_value(&interfaces[0]).expect("json");
    assert!(json.get("in_errors_ps").is_none(), "{json}");
}

#[test]
fn subscriptions_choose_what_a_client_gets() {
    let out = |device: &str, kind, live| Outgoing {
        device: DeviceId::parse(device).ok(),
        kind,
        live,
        text: Default::default(),
    };
    let everything = Subscription::default();
    assert!(everything.wants(&out("a", "sample", false)));
    assert!(
        !everything.wants(&out("a", "sample", true)),
        "no live view unasked"
    );
    let one =
        Subscription::parse(r#"{"type": "subscribe", "devices": ["a"], "kinds": ["sample"]}"#)
            .expect("subscription");
    assert!(one.wants(&out("a", "sample", true)));
    assert!(one.wants(&out("a", "sample", false)));
    assert!(!one.wants(&out("b", "sample", false)));
    assert!(!one.wants(&out("a", "status", false)));
    let all = Subscription::parse(r#"{"type": "subscribe", "devices": "*"}"#).expect("all");
    assert!(all.wants(&out("b", "log", false)));
    assert!(
        !all.wants(&out("b", "sample", true)),
        "live samples need the device by id"
    );
    // A page showing every device's status and one device's live view.
    let page = Subscription::parse(
        r#"{"type": "subscribe", "devices": "*", "kinds": ["sample", "status"], "live": ["a"]}"#,
    )
    .expect("page");
    assert!(page.wants(&out("a", "sample", true)));
    assert!(!page.wants(&out("b", "sample", true)));
    assert!(page.wants(&out("b", "sample", false)));
    assert!(page.wants(&out("b", "status", false)));
    let none = Subscription::parse(r#"{"type": "subscribe", "devices": ["a"], "live": []}"#)
        .expect("no live view");
    assert!(!none.wants(&out("a", "sample", true)));
    assert_eq!(none.shown().map(HashSet::len), Some(0));
    for (bad, says) in [
        (r#"{"type": "subscribe", "live": "a"}"#, "live"),
        (r#"{"type": "subscribe", "live": ["A B"]}"#, "live"),
        ("nonsense", "not JSON"),
        (r#"{"type": "hello"}"#, "subscribe"),
        (r#"{"type": "subscribe", "devices": ["A B"]}"#, "devices"),
        (r#"{"type": "subscribe", "kinds": ["everything"]}"#, "kinds"),
        (r#"{"type": "subscribe", "colour": 1}"#, "colour"),
    ] {
        let error = Subscription::parse(bad).expect_err(bad);
        assert!(error.contains(says), "{bad}: {error}");
    }
}

/// A sample message of `device` whose text says which it is.
fn sample_out(device: &str, live: bool, n: u32) -> std::sync::Arc<Outgoing> {
    std::sync::Arc::new(Outgoing {
        device: DeviceId::parse(device).ok(),
        kind: "sample",
        live,
        text: format!(r#"{{"type":"sample","device":"{device}","n":{n},"live":{live}}}"#).into(),
    })
}

/// The `(device, n)` of each sample in a frame's text.
fn frame_samples(text: &str) -> Vec<(String, u64)> {
    let value: serde_json::Value = serde_json::from_str(text).expect("a frame is JSON");
    assert_eq!(value["type"], "frame");
    value["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|s| {
            (
                s["device"].as_str().expect("device").to_owned(),
                s["n"].as_u64().expect("n"),
            )
        })
        .collect()
}

#[test]
fn frames_carry_the_latest_sample_of_each_device() {
    use super::frames::{frame_for, Frames, Since};
    let frames = Frames::new(std::time::Duration::from_secs(1), 3);
    let all = Subscription::parse(r#"{"type": "subscribe", "frames": true}"#).expect("all");
    let (_, start) = frames.follow();
    for (device, n) in [("a", 1), ("b", 2), ("a", 3)] {
        frames.record(&sample_out(device, false, n));
    }
    // A live-view sample is kept apart from the device's normal one.
    frames.record(&sample_out("a", true, 4));
    frames.tick();
    let (Since::Ticks(ticks), now) = frames.since(start) else {
        panic!("not lagged")
    };
    assert_eq!(now, 1);
    let text = frame_for(&all, &ticks).expect("a frame");
    // No live view shown: the live sample is not this client's.
    assert_eq!(frame_samples(&text), [("a".into(), 3), ("b".into(), 2)]);
    let again = frame_for(&all, &ticks).expect("a frame");
    assert_eq!(
        text.as_str().as_ptr(),
        again.as_str().as_ptr(),
        "clients that follow the same samples share one frame"
    );
    let page = Subscription::parse(
        r#"{"type": "subscribe", "frames": true, "live": ["a"], "every_sample": ["b"]}"#,
    )
    .expect("page");
    let text = frame_for(&page, &ticks).expect("a frame");
    assert_eq!(
        frame_samples(&text),
        [("a".into(), 3), ("a".into(), 4)],
        "b's samples come one by one"
    );
    assert!(page.wants(&sample_out("b", false, 5)));
    assert!(!page.wants(&sample_out("a", false, 5)), "a is in frames");
    assert!(!all.wants(&sample_out("a", false, 5)));
    // A client that missed two ticks gets one frame with the latest of each device.
    frames.record(&sample_out("b", false, 6));
    frames.tick();
    frames.tick();
    frames.record(&sample_out("b", false, 7));
    frames.record(&sample_out("c", false, 8));
    frames.tick();
    let (Since::Ticks(ticks), now) = frames.since(1) else {
        panic!("not lagged")
    };
    assert_eq!(now, 4);
    let text = frame_for(&all, &ticks).expect("a frame");
    assert_eq!(frame_samples(&text), [("b".into(), 7), ("c".into(), 8)]);
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(value["tick"], 4);
    // Only the last 3 ticks are held: a client that last had tick 1 now lags.
    frames.tick();
    assert!(matches!(frames.since(1).0, Since::Lagged));
    assert!(matches!(frames.since(2).0, Since::Ticks(_)));
    // Ticks with nothing for a client give no frame.
    let other = Subscription::parse(r#"{"type": "subscribe", "frames": true, "devices": ["z"]}"#)
        .expect("other");
    let (Since::Ticks(ticks), _) = frames.since(2) else {
        panic!("not lagged")
    };
    assert!(frame_for(&other, &ticks).is_none());
}

#[tokio::test]
async fn a_full_queue_lets_go_of_the_oldest_and_counts() {
    use super::frames::Frames;
    use super::hub::Hub;
    let hub = Hub::new(Frames::new(std::time::Duration::from_secs(1), 3));
    let slow = hub.join();
    slow.subscribe(Subscription::parse(r#"{"type": "subscribe", "devices": ["a"]}"#).expect("a"));
    let other = hub.join();
    assert_eq!(hub.clients(), 2);
    for n in 0..(CLIENT_QUEUE as u32 + 10) {
        hub.deliver(Outgoing {
            device: DeviceId::parse("a").ok(),
            kind: "status",
            live: false,
            text: format!("{n}").into(),
        });
    }
    // A device the slow client does not follow reaches only the other.
    hub.deliver(Outgoing {
        device: DeviceId::parse("b").ok(),
        kind: "status",
        live: false,
        text: "b".into(),
    });
    assert_eq!(slow.take_missed(), 10);
    assert_eq!(slow.take_missed(), 0, "told once");
    let first = slow.next().await;
    assert_eq!(first.text.as_str(), "10", "the newest are kept, in order");
    let second = slow.next().await;
    assert_eq!(second.text.as_str(), "11");
    drop(other);
    assert_eq!(hub.clients(), 1);
}

#[test]
fn trap_counters_reach_the_browser_exactly() {
    use netpulse_shared::logs::{LogEntry, LogKind, Severity, TrapInfo};
    let mut entry = LogEntry::new(
        "e1".into(),
        DeviceId::parse("d").expect("id"),
        1,
        1,
        LogKind::Trap,
        Severity::Notice,
        "linkUp".into(),
    );
    let big = u64::MAX - 1;
    entry.trap = Some(TrapInfo {
        version: "2c".into(),
        pdu: "trap".into(),
        trap_oid: "1.3.6.1.6.3.1.1.5.4".into(),
        uptime_ticks: Some(5),
        varbinds: vec![VarBind {
            oid: Oid::parse("1.3.6.1.2.1.31.1.1.1.6.1").expect("oid"),
            value: SnmpValue::Counter64(big),
        }],
    });
    let trap = entry.trap.take();
    let text = serde_json::to_value(LiveMessage::Log {
        entry: ShownEntry::new(&entry, trap.as_ref()),
    })
    .expect("json");
    // The shown trap has every field of the stored one.
    let stored = serde_json::to_value(&trap).expect("json");
    let keys = |v: &serde_json::Value| {
        v.as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(keys(&text["trap"]), keys(&stored));
    assert_eq!(text["type"], "log");
    assert_eq!(text["device"], "d");
    assert_eq!(text["trap"]["varbinds"][0]["value"], big.to_string());
    assert_eq!(text["trap"]["trap_oid"], "1.3.6.1.6.3.1.1.5.4");
}

#[test]
fn messages_carry_type_and_device() {
    let mut s = sample(10_000, 100, 1, 2);
    // An extra OID that is a 64-bit counter.
    s.values.push(VarBind {
        oid: Oid::parse("1.3.6.1.4.1.9.9.1.0").expect("oid"),
        value: SnmpValue::Counter64(u64::MAX),
    });
    let traffic = Traffic::new(&s, interface_rates(&s, |_| (None, None, None)));
    let text = serde_json::to_value(LiveMessage::Sample {
        device: &s.device,
        traffic: &traffic,
        values: browser_values(&s.values),
        live: false,
    })
    .expect("json");
    assert_eq!(text["type"], "sample");
    assert_eq!(text["device"], "d");
    assert_eq!(text["interfaces"][0]["in_octets"], "1");
    assert_eq!(
        text["values"][1]["value"],
        u64::MAX.to_string(),
        "Counter64 values reach the browser exactly"
    );
    assert!(text["interfaces"][0]["in_bps"].is_null());
    assert_eq!(text["values"][1]["type"], "counter64");
    assert_eq!(text["values"][0]["type"], "timeticks", "{text}");
    // The totals travel with the interfaces: null while no interface has a rate.
    assert!(
        text["in_bps"].is_null() && text["out_bps"].is_null(),
        "{text}"
    );
    assert_eq!(text["time_ms"], 10_000);
}
