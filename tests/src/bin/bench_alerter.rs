//! `make bench-alerter`: the alerter's rule evaluation on one core, without NATS: 10,000
//! devices of 10 interfaces, 100 rules of every kind (scoped to all devices, to tags and to
//! lists of devices), and samples parsed from JSON as the alerter receives them. Prints rule
//! evaluations per second and CPU per sample (the process's CPU time, read from the system).
//!
//! Options: `--devices N` (10000), `--interfaces N` (10), `--rules N` (100), `--rounds N`
//! (5 samples of every device).

use std::time::Instant;

use netpulse_alerter::engine::{Engine, Input};
use netpulse_shared::alert::AlertRule;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::messages::{PolledInterface, Sample, SnmpValue, VarBind};
use netpulse_shared::snmp::Oid;
use netpulse_tests::bench::arg;

/// CPU time of this process so far (user + system), seconds, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn rule(n: usize, devices: usize) -> AlertRule {
    let scope = match n % 3 {
        0 => r#""all""#.to_owned(),
        1 => format!(r#"{{"tags": ["site-{}"]}}"#, n % 10),
        _ => format!(
            r#"{{"devices": [{}]}}"#,
            (0..20)
                .map(|i| format!(r#""dev-{}""#, (n * 37 + i * 101) % devices))
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    let kind = match n % 6 {
        0 => r#""kind": "device_down""#.to_owned(),
        1 => r#""kind": "interface_down""#.to_owned(),
        2 => r#""kind": "utilisation", "above_pct": 80, "clear_below_pct": 60"#.to_owned(),
        3 => r#""kind": "errors", "above_per_s": 5"#.to_owned(),
        4 => r#""kind": "oid", "oid": "1.3.6.1.4.1.2021.10.1.5.1", "above": 90"#.to_owned(),
        _ => r#""kind": "poll_failing", "reason": "timeout""#.to_owned(),
    };
    let body = format!(
        r#"{{"name": "rule {n}", {kind}, "severity": "warning", "scope": {scope}, "channels": [], "for_s": 60}}"#
    );
    AlertRule::from_json_body(body.as_bytes(), format!("r{n}")).expect("rule")
}

fn sample(device: usize, interfaces: u32, round: u64) -> Vec<u8> {
    let time_ms = 1_800_000_000_000 + round * 60_000;
    let mut values = Vec::new();
    for index in 1..=interfaces {
        let octets = round * 60 * 1_000_000 * u64::from(index);
        let vb = |column: &str, value| VarBind {
            oid: Oid::parse(&format!("{column}.{index}")).expect("oid"),
            value,
        };
        values.push(vb("1.3.6.1.2.1.31.1.1.1.6", SnmpValue::Counter64(octets)));
        values.push(vb(
            "1.3.6.1.2.1.31.1.1.1.10",
            SnmpValue::Counter64(octets / 2),
        ));
        values.push(vb("1.3.6.1.2.1.2.2.1.8", SnmpValue::Integer(1)));
        for column in ["13", "14", "19", "20"] {
            values.push(vb(
                &format!("1.3.6.1.2.1.2.2.1.{column}"),
                SnmpValue::Counter32(round as u32),
            ));
        }
    }
    values.push(VarBind {
        oid: Oid::parse("1.3.6.1.4.1.2021.10.1.5.1").expect("oid"),
        value: SnmpValue::Integer(20),
    });
    let sample = Sample::from_answers(
        format!("dev-{device}-{round}"),
        DeviceId::parse(&format!("dev-{device}")).expect("id"),
        time_ms,
        Some((round * 6000) as u32 + 100),
        values,
        &(1..=interfaces)
            .map(|index| PolledInterface {
                index,
                key: format!("eth{index}"),
                speed_bps: 10_000_000_000,
            })
            .collect::<Vec<_>>(),
    );
    serde_json::to_vec(&sample).expect("json")
}

fn main() {
    let devices = arg("--devices", 10_000);
    let interfaces = arg("--interfaces", 10) as u32;
    let rules = arg("--rules", 100);
    let rounds = arg("--rounds", 5) as u64;
    let mut engine = Engine::default();
    for n in 0..devices {
        let body = format!(
            r#"{{"name": "dev-{n}", "address": "192.0.2.1", "tags": ["site-{}"], "oids": ["1.3.6.1.4.1.2021.10.1.5.1"]}}"#,
            n % 10
        );
        let device = Device::from_json_body(body.as_bytes()).expect("device");
        engine.apply(Input::Device(Box::new(device)), 0);
    }
    for n in 0..rules {
        engine.apply(Input::Rule(Box::new(rule(n, devices))), 0);
    }
    // The samples are made before the clock starts: only parsing and evaluating count.
    let batches: Vec<Vec<Vec<u8>>> = (0..rounds)
        .map(|round| (0..devices).map(|d| sample(d, interfaces, round)).collect())
        .collect();
    let bytes: usize = batches[0].iter().map(Vec::len).sum::<usize>() / devices;
    let evaluations_before = engine.evaluations;
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let mut effects = 0usize;
    for (round, batch) in batches.iter().enumerate() {
        let now = 1_800_000_000_000 + round as u64 * 60_000;
        for payload in batch {
            let sample: Sample = serde_json::from_slice(payload).expect("sample");
            effects += engine.apply(Input::Sample(Box::new(sample)), now).len();
        }
        effects += engine.apply(Input::Tick, now).len();
    }
    let (cpu, wall) = (cpu_seconds() - cpu0, wall0.elapsed().as_secs_f64());
    let samples = devices as f64 * rounds as f64;
    let evaluations = (engine.evaluations - evaluations_before) as f64;
    println!(
        "bench-alerter: {devices} devices x {interfaces} interfaces, {rules} rules, {rounds} samples each \
         ({bytes} bytes of JSON per sample), one thread, {} cores on this machine",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  {:.0} rule evaluations per second ({:.1} rules per sample), {:.0} samples per second",
        evaluations / wall,
        evaluations / samples,
        samples / wall
    );
    println!(
        "  CPU per sample: {:.1} us (parse + evaluate; {:.2} s CPU, {:.2} s wall); {} effects",
        cpu / samples * 1e6,
        cpu,
        wall,
        effects
    );
}
