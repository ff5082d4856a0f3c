//! The fleet at a glance against the whole pipeline: netpulse-sim devices wired in an LLDP
//! ring (and one wired to a simulated device netpulse does not poll, whose sysName is markup)
//! are discovered by the poller; `/api/topology` answers exactly the simulator's wiring,
//! `/api/interfaces` finds ports by name, alias and description across devices with exact
//! names first, `/api/top` orders them by the rates set in the simulator; then the dashboard
//! in Chromium (web/tests/fleet.mjs) searches from the header and watches the map's links
//! change colour as the simulator's rates change.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use netpulse_simulator::wiring::{Link, Port, Topology};
use netpulse_simulator::{SimConfig, Simulator};
use netpulse_tests::Stack;
use serde_json::{json, Value};

/// Devices netpulse polls (`r0`..`r3`), in an LLDP ring; the simulator's device 4 is wired to
/// r0 but not polled.
const POLLED: usize = 4;
const INTERFACES: usize = 3;
const HOSTILE: &str = r#"<img src=x onerror="window.__pwned=1">edge"#;
/// r3's interfaces' ifAlias: found by a search for `eth1`, and shown as text.
const HOSTILE_ALIAS: &str = r#"backup via eth1 of r0 <img src=x onerror="window.__pwned=5">"#;
/// Mean inbound rate of each polled device's interfaces, bits per second (of 1 Gb/s).
const RATES: [u64; POLLED] = [20_000_000, 300_000_000, 100_000_000, 600_000_000];

/// One end of a link as compared: node id and ifIndex, if any.
type End = (String, Option<u64>);

fn end_of(value: &Value) -> End {
    (
        value["node"].as_str().expect("node").to_owned(),
        value["if_index"].as_u64(),
    )
}

fn pair(a: End, b: End) -> (End, End) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// The links the simulator is wired with, as the topology should name them.
fn wired(sim: &Simulator) -> BTreeSet<(End, End)> {
    sim.control()
        .links()
        .into_iter()
        .map(|link| {
            let end = |port: &netpulse_simulator::wiring::PortDescription| {
                if port.device < POLLED {
                    (format!("r{}", port.device), Some(u64::from(port.if_index)))
                } else {
                    (
                        format!("neighbour:{}", port.chassis_id.to_lowercase()),
                        None,
                    )
                }
            };
            pair(end(&link.a), end(&link.b))
        })
        .collect()
}

async fn topology_links(stack: &Stack) -> BTreeSet<(End, End)> {
    let map = stack.get_json("/api/topology").await;
    map["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|l| pair(end_of(&l["source"]), end_of(&l["target"])))
        .collect()
}

/// (device, key) of each row of a port search.
async fn search(stack: &Stack, query: &str) -> (u64, Vec<(String, String)>) {
    let answer = stack.get_json(&format!("/api/interfaces?{query}")).await;
    let rows = answer["interfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .map(|r| {
            (
                r["device"]["id"].as_str().expect("id").to_owned(),
                r["key"].as_str().expect("key").to_owned(),
            )
        })
        .collect();
    (answer["total"].as_u64().expect("total"), rows)
}

fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(d, k)| ((*d).to_owned(), (*k).to_owned()))
        .collect()
}

#[tokio::test]
async fn the_fleet_is_searched_ranked_and_mapped_from_the_simulated_wiring() {
    let mut links = Topology::Ring.links(POLLED, INTERFACES);
    links.push(Link {
        a: Port {
            device: 0,
            interface: 1,
        },
        b: Port {
            device: POLLED,
            interface: 0,
        },
    });
    let sim = Simulator::start(SimConfig {
        devices: POLLED + 1,
        interfaces: INTERFACES,
        base_port: 0,
        noise: 0.0,
        links,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let control = sim.control();
    control.set_sys_name(POLLED, HOSTILE).expect("sysName");
    control
        .set_texts(2, "sim", "rack 2", "uplink to DC2")
        .expect("texts");
    control
        .set_texts(3, "sim", "rack 3", HOSTILE_ALIAS)
        .expect("texts");
    for (device, rate) in RATES.iter().enumerate() {
        control.set_rate(device, *rate, rate / 10).expect("rate");
    }
    let stack = Stack::pipeline().await;
    stack
        .register_devices(
            sim.addresses()
                .iter()
                .take(POLLED)
                .enumerate()
                .map(|(n, address)| {
                    let tags: &[&str] = if n == 0 { &["dc2"] } else { &[] };
                    json!({"name": format!("r{n}"), "address": address.to_string(), "interval": 1,
                       "tags": tags})
                }),
        )
        .await;

    // ---------- topology: exactly the simulated wiring ----------
    let expected = wired(&sim);
    assert_eq!(expected.len(), POLLED + 1, "{expected:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut found = topology_links(&stack).await;
    while found != expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        found = topology_links(&stack).await;
    }
    assert_eq!(found, expected, "the topology is the simulator's wiring");
    let map = stack.get_json("/api/topology").await;
    let nodes = map["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), POLLED + 1, "{map}");
    let placeholder = nodes
        .iter()
        .find(|n| n["kind"] == "unknown")
        .expect("the unpolled neighbour");
    assert_eq!(placeholder["name"], HOSTILE, "kept as the device sent it");
    assert!(map["links"]
        .as_array()
        .expect("links")
        .iter()
        .all(|l| l["protocols"] == json!(["lldp"])));

    // ---------- port search ----------
    let (total, hits) = search(&stack, "q=eth1").await;
    assert_eq!(total, 6, "{hits:?}");
    assert_eq!(
        hits,
        rows(&[
            ("r0", "eth1"),
            ("r1", "eth1"),
            ("r2", "eth1"),
            ("r3", "eth1"),
            ("r3", "eth0"),
            ("r3", "eth2"),
        ]),
        "exact names first, then r3's interfaces by their alias"
    );
    let (_, hits) = search(&stack, "q=dc2").await;
    assert_eq!(
        hits,
        rows(&[
            ("r2", "eth0"),
            ("r2", "eth1"),
            ("r2", "eth2"),
            ("r0", "eth0"),
            ("r0", "eth1"),
            ("r0", "eth2"),
        ]),
        "by alias (r2) before by the device's tag (r0)"
    );
    let (_, hits) = search(&stack, "q=sim-1%20port%202&limit=1").await;
    assert_eq!(hits, rows(&[("r1", "eth2")]), "by description");
    let (total, _) = search(&stack, "q=uplink&device=r3").await;
    assert_eq!(total, 0, "only the device asked");
    let bad = stack.http("GET", "/api/interfaces?sort=colour", None).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["field"], "sort");

    // ---------- top links: in the order of the rates set ----------
    let deadline = Instant::now() + Duration::from_secs(30);
    let order = loop {
        let top = stack
            .get_json("/api/top?by=bps&direction=in&limit=12")
            .await;
        let order: Vec<String> = top["interfaces"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["device"]["id"].as_str().expect("id").to_owned())
            .collect();
        if order.len() == 12 || Instant::now() > deadline {
            break order;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let by_rate: Vec<String> = ["r3", "r1", "r2", "r0"]
        .iter()
        .flat_map(|d| std::iter::repeat_n((*d).to_owned(), INTERFACES))
        .collect();
    assert_eq!(order, by_rate, "busiest device's interfaces first");
    let top = stack.get_json("/api/top?limit=1").await;
    let utilisation = top["interfaces"][0]["value"].as_f64().expect("value");
    assert!(
        (utilisation - 0.6).abs() < 0.06,
        "r3's 600 Mb/s of 1 Gb/s: {top}"
    );

    // ---------- the dashboard ----------
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output_dir = root.join("target/test-output/fleet");
    std::fs::create_dir_all(&output_dir).expect("create the test output folder");
    let expect = json!({
        "search": "uplink to dc2", "device": "r2", "ifIndex": 1, "ifName": "eth0",
        "links": POLLED + 1, "hostile": HOSTILE, "hot": "r1", "hostileAlias": HOSTILE_ALIAS,
    });
    let mut command = netpulse_tests::node::browser_check(
        "tests/fleet.mjs",
        &format!("http://{}/", stack.gateway),
    );
    command
        .env("NETPULSE_EXPECT", expect.to_string())
        .env("NETPULSE_TEST_OUTPUT", &output_dir);
    let (success, stdout, stderr) = tokio::time::timeout(
        Duration::from_secs(300),
        netpulse_tests::node::drive(&mut command, async |request| {
            let rate = match request {
                "hot" => 950_000_000,
                "calm" => RATES[1],
                other => return Err(format!("unknown command: {other}")),
            };
            control
                .set_rate(1, rate, rate / 10)
                .map(|()| None)
                .map_err(|e| e.to_string())
        }),
    )
    .await
    .expect("the browser checks finish within 5 minutes");
    assert!(success, "browser checks failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ok - its links turn hot"), "{stdout}");
    stack.stop().await;
}
