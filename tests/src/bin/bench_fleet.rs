//! `make bench-fleet`: the fleet views at scale, in one process without NATS, on the state a
//! gateway holds: 10,000 devices of 10 interfaces (100,000 interfaces), each with a latest
//! sample, and 1,000 of them wired in a ring by LLDP (1,000 links).
//!
//! Prints, each over many answers: port search latency (`GET /api/interfaces`' work: the
//! search and its JSON) for several kinds of query, `/api/top`'s, `/api/topology`'s, and the
//! map's update cost per second on the gateway: parsing the one-second live samples of the
//! 1,000 devices on the map and encoding each once as the `/ws` message every map viewer
//! receives, CPU and bytes (the browser's side: `web/bench/map.mjs`).
//!
//! Options: `--devices N` (10000), `--interfaces N` (10), `--links N` (1000), `--rounds N`
//! (200 answers per query kind).

use std::sync::Arc;
use std::time::Instant;

use netpulse_gateway::fleet::ports::{search, top, PortQuery, TopQuery};
use netpulse_gateway::fleet::topology::topology;
use netpulse_gateway::live::protocol::LiveMessage;
use netpulse_gateway::live::rates::{browser_values, ShownInterface, Traffic};
use netpulse_gateway::observed::Observed;
use netpulse_shared::device::Device;
use netpulse_shared::discovery::{DeviceInterfaces, Neighbour, NeighbourProtocol, SystemInfo};
use netpulse_shared::history::ErrorCounters;
use netpulse_shared::interfaces::{IfStatus, Interface};
use netpulse_shared::messages::Sample;
use netpulse_tests::bench::{arg, percentile};

/// CPU seconds of this process so far (user + system), from /proc.
fn cpu_seconds() -> f64 {
    netpulse_tests::bench::usage(std::process::id()).0
}

const WORDS: [&str; 8] = [
    "uplink", "customer", "backup", "transit", "peering", "storage", "voice", "mgmt",
];

fn name_of(device: usize) -> String {
    format!("dev-{device:05}")
}

/// Device `n` of the ring: its interfaces, its chassis, and its LLDP neighbours (the next and
/// the previous device of the ring, on its last and first interface).
fn discovery(n: usize, interfaces: usize, ring: usize, device: &Device) -> DeviceInterfaces {
    let chassis = |d: usize| format!("02:00:00:00:{:02x}:{:02x}", d / 256, d % 256);
    let mut neighbours = Vec::new();
    if n < ring {
        let last = interfaces as u32;
        let lldp = |local: u32, other: usize, port: u32| Neighbour {
            protocol: NeighbourProtocol::Lldp,
            local_if_index: Some(local),
            local_port: format!("xe-0/0/{local}"),
            chassis_id: chassis(other),
            system_name: name_of(other),
            port_id: format!("xe-0/0/{port}"),
            port_descr: String::new(),
            platform: "bench".into(),
            address: None,
        };
        neighbours.push(lldp(last, (n + 1) % ring, 1));
        neighbours.push(lldp(1, (n + ring - 1) % ring, last));
    }
    DeviceInterfaces {
        schema: 1,
        device: device.id.clone(),
        time_ms: 1,
        max_repetitions: 20,
        system: SystemInfo {
            name: format!("{}.example.net", name_of(n)),
            ..SystemInfo::default()
        },
        interfaces: (1..=interfaces as u32)
            .map(|i| Interface {
                index: i,
                name: format!("xe-0/0/{i}"),
                descr: format!("TenGigabitEthernet0/0/{i}"),
                alias: format!(
                    "{} {} rack {}",
                    WORDS[(n + i as usize) % WORDS.len()],
                    n * 7 + i as usize,
                    n % 40
                ),
                if_type: 6,
                speed_bps: 10_000_000_000,
                admin_status: IfStatus::Up,
                oper_status: IfStatus::Up,
                hc_counters: true,
            })
            .collect(),
        chassis_id: chassis(n),
        neighbours,
    }
}

/// A sample of `interfaces` interfaces at `time_ms`, its rates spread over devices.
fn traffic(n: usize, interfaces: usize, time_ms: u64) -> (Sample, Vec<ShownInterface>) {
    let sample: Sample = serde_json::from_value(serde_json::json!({
        "schema": 2, "id": format!("s{n}-{time_ms}"), "device": name_of(n), "time_ms": time_ms,
        "uptime_ticks": 1000, "interfaces": [], "values": []
    }))
    .expect("a sample");
    let shown = (1..=interfaces as u32)
        .map(|i| {
            let bps = ((n * 7919 + i as usize * 104_729) % 9_000_000_000) as f64;
            ShownInterface {
                index: i,
                name: Some(format!("xe-0/0/{i}")),
                speed_bps: Some(10_000_000_000),
                in_octets: (time_ms * 1000).to_string(),
                out_octets: (time_ms * 700).to_string(),
                in_bps: Some(bps),
                out_bps: Some(bps / 3.0),
                gap: None,
                oper_status: Some(IfStatus::Up),
                cached: false,
                errors: ErrorCounters::default(),
            }
        })
        .collect();
    (sample, shown)
}

/// Runs `answer` `rounds` times; prints p50, p99 and max in milliseconds; returns the p99.
fn measure(what: &str, rounds: usize, mut answer: impl FnMut() -> usize) -> f64 {
    let mut micros = Vec::with_capacity(rounds);
    let mut size = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        size = answer();
        micros.push(started.elapsed().as_micros() as u64);
    }
    micros.sort_unstable();
    let ms = |p: f64| percentile(&micros, p) as f64 / 1000.0;
    println!(
        "{what:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({size} bytes)",
        ms(0.5),
        ms(0.99),
        ms(1.0)
    );
    ms(0.99)
}

fn main() {
    let devices = arg("--devices", 10_000);
    let interfaces = arg("--interfaces", 10).max(2);
    let ring = arg("--links", 1_000).min(devices);
    let rounds = arg("--rounds", 200);
    let observed = Observed::default();
    let started = Instant::now();
    for n in 0..devices {
        let body = serde_json::json!({
            "name": name_of(n), "address": format!("10.{}.{}.{}:161", n / 65536, (n / 256) % 256, n % 256),
            "tags": [format!("site-{}", n % 25)],
        });
        let device = Device::from_json_body(body.to_string().as_bytes()).expect("a device");
        observed.devices.put(&device);
        observed
            .found
            .put(device.id.clone(), discovery(n, interfaces, ring, &device));
        let (sample, shown) = traffic(n, interfaces, 1_000);
        observed
            .latest
            .record(&device.id, Arc::new(Traffic::new(&sample, shown)));
    }
    println!(
        "netpulse bench-fleet: {devices} devices x {interfaces} interfaces = {} interfaces, \
         {ring} devices in an LLDP ring; {} cores; held in {:.1} s",
        devices * interfaces,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        started.elapsed().as_secs_f64()
    );

    let params = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let mut worst: f64 = 0.0;
    for (label, pairs) in [
        ("search: exact name 'xe-0/0/3'", vec![("q", "xe-0/0/3")]),
        ("search: alias word 'uplink'", vec![("q", "uplink")]),
        (
            "search: two words 'peering rack 7'",
            vec![("q", "peering rack 7")],
        ),
        ("search: device name 'dev-04711'", vec![("q", "dev-04711")]),
        (
            "search: nothing matches 'zzz-no-such'",
            vec![("q", "zzz-no-such")],
        ),
        (
            "search: every interface, busiest first",
            vec![("sort", "bps")],
        ),
        (
            "search: tag site-7, oper up, by device",
            vec![("tag", "site-7"), ("oper", "up"), ("sort", "device")],
        ),
    ] {
        let query = PortQuery::parse(&params(&pairs)).expect("a query");
        let p99 = measure(label, rounds, || {
            let answer = search(&observed, &query);
            serde_json::to_vec(&answer).expect("json").len()
        });
        worst = worst.max(p99);
    }
    println!(
        "search p99, worst query kind: {worst:.2} ms (target under 20 ms at 100,000 interfaces)"
    );
    let busiest = TopQuery::parse(&params(&[("by", "utilisation"), ("limit", "10")])).expect("q");
    measure("top: 10 busiest by utilisation", rounds, || {
        serde_json::to_vec(&top(&observed, &busiest))
            .expect("json")
            .len()
    });
    let map = topology(&observed);
    println!(
        "topology: {} nodes, {} links",
        map.nodes.len(),
        map.links.len()
    );
    measure(
        "topology: nodes and links with their state",
        rounds.min(50),
        || {
            serde_json::to_vec(&topology(&observed))
                .expect("json")
                .len()
        },
    );

    // The map's update each second: the live samples of the devices on it, each encoded once
    // as the /ws message every viewer of the map receives.
    let seconds = 20u64;
    let cpu = cpu_seconds();
    let wall = Instant::now();
    let mut bytes = 0usize;
    for second in 0..seconds {
        for n in 0..ring {
            let (sample, shown) = traffic(n, interfaces, 2_000 + second * 1_000);
            // As it comes from NATS: the sample's JSON, parsed.
            let mut wire = serde_json::to_value(&sample).expect("json");
            wire["interfaces"] = serde_json::Value::Array(
                (1..=interfaces)
                    .map(|i| {
                        serde_json::json!({"index": i, "key": format!("xe-0/0/{i}"),
                            "speed_bps": 10_000_000_000u64, "in_octets": second * 1000,
                            "out_octets": second * 700, "oper_status": 1})
                    })
                    .collect(),
            );
            let wire = serde_json::to_vec(&wire).expect("json");
            let sample: Sample = serde_json::from_slice(&wire).expect("a sample");
            let traffic = Traffic::new(&sample, shown);
            let text = serde_json::to_string(&LiveMessage::Sample {
                device: &sample.device,
                traffic: &traffic,
                values: browser_values(&sample.values),
                live: true,
            })
            .expect("json");
            bytes += text.len();
        }
    }
    let cpu_per_second = (cpu_seconds() - cpu) / seconds as f64;
    println!(
        "map update for {} links: the live samples of {ring} devices each second cost {:.1} ms \
         of CPU per second ({:.1} ms wall) and {:.0} KiB per second per map viewer",
        map.links.len(),
        cpu_per_second * 1000.0,
        wall.elapsed().as_secs_f64() * 1000.0 / seconds as f64,
        bytes as f64 / seconds as f64 / 1024.0
    );
}
