//! The fleet's answers over a small fleet held in memory.

use std::collections::HashMap;
use std::sync::Arc;

use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::discovery::{DeviceInterfaces, Neighbour, NeighbourProtocol, SystemInfo};
use netpulse_shared::history::ErrorCounters;
use netpulse_shared::interfaces::{IfStatus, Interface};

use crate::fleet::ports::{search, top, PortQuery, TopQuery};
use crate::fleet::topology::{topology, LinkState, NodeKind};
use crate::live::rates::{ShownInterface, Traffic};
use crate::observed::Observed;

fn interface(index: u32, name: &str, descr: &str, alias: &str) -> Interface {
    Interface {
        index,
        name: name.into(),
        descr: descr.into(),
        alias: alias.into(),
        if_type: 6,
        speed_bps: 1_000_000_000,
        admin_status: IfStatus::Up,
        oper_status: IfStatus::Up,
        hc_counters: true,
    }
}

fn lldp(local: u32, chassis: &str, system: &str, port: &str) -> Neighbour {
    Neighbour {
        protocol: NeighbourProtocol::Lldp,
        local_if_index: Some(local),
        local_port: String::new(),
        chassis_id: chassis.into(),
        system_name: system.into(),
        port_id: port.into(),
        port_descr: String::new(),
        platform: String::new(),
        address: None,
    }
}

/// Adds a device with its discovery to `observed`.
fn hold(
    observed: &Observed,
    body: serde_json::Value,
    sys_name: &str,
    chassis_id: &str,
    interfaces: Vec<Interface>,
    neighbours: Vec<Neighbour>,
) -> DeviceId {
    let device = Device::from_json_body(body.to_string().as_bytes()).expect("device");
    observed.devices.put(&device);
    observed.found.put(
        device.id.clone(),
        DeviceInterfaces {
            schema: 1,
            device: device.id.clone(),
            time_ms: 1,
            max_repetitions: 20,
            system: SystemInfo {
                name: sys_name.into(),
                ..SystemInfo::default()
            },
            interfaces,
            chassis_id: chassis_id.into(),
            neighbours,
        },
    );
    device.id
}

/// Records a sample of `device` with `(ifIndex, in_bps, out_bps)` for each interface.
fn rates(observed: &Observed, device: &DeviceId, each: &[(u32, f64, f64)]) {
    let interfaces = each
        .iter()
        .map(|&(index, in_bps, out_bps)| ShownInterface {
            index,
            name: None,
            speed_bps: Some(1_000_000_000),
            in_octets: "0".into(),
            out_octets: "0".into(),
            in_bps: Some(in_bps),
            out_bps: Some(out_bps),
            gap: None,
            oper_status: Some(IfStatus::Up),
            cached: false,
            errors: ErrorCounters::default(),
        })
        .collect();
    observed.latest.record(
        device,
        Arc::new(Traffic {
            time_ms: 1_000,
            uptime_ticks: None,
            in_bps: None,
            out_bps: None,
            interfaces,
        }),
    );
}

fn fleet() -> (Observed, DeviceId, DeviceId) {
    let observed = Observed::default();
    let core = hold(
        &observed,
        serde_json::json!({"name": "core1", "address": "192.0.2.1", "tags": ["DC2"]}),
        "core1.example.net",
        "02:00:00:00:00:01",
        vec![
            interface(1, "Gi0/1", "GigabitEthernet0/1", "uplink to DC2"),
            interface(2, "Gi0/2", "Uplink", ""),
            interface(3, "uplink", "GigabitEthernet0/3", ""),
            interface(4, "Gi0/4", "GigabitEthernet0/4", "spare"),
        ],
        vec![
            lldp(1, "02:00:00:00:00:02", "edge1", "eth0"),
            lldp(
                2,
                "aa:bb:cc:dd:ee:ff",
                "<img src=x onerror=alert(1)>",
                "port 7",
            ),
        ],
    );
    let edge = hold(
        &observed,
        serde_json::json!({"name": "edge1", "address": "192.0.2.2"}),
        "edge1",
        "02:00:00:00:00:02",
        vec![
            interface(1, "eth0", "eth0", "to core1"),
            interface(2, "eth1", "eth1", ""),
        ],
        // The other end of core1's Gi0/1, found by name.
        vec![lldp(1, "", "CORE1", "Gi0/1")],
    );
    (observed, core, edge)
}

fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn found(observed: &Observed, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let answer = search(observed, &PortQuery::parse(&query(pairs)).expect("query"));
    answer
        .interfaces
        .iter()
        .map(|r| (r.device.name.clone(), r.key.clone()))
        .collect()
}

fn pair(device: &str, key: &str) -> (String, String) {
    (device.to_owned(), key.to_owned())
}

#[test]
fn search_ranks_an_exact_name_first_then_prefixes_descriptions_and_aliases() {
    let (observed, _, _) = fleet();
    assert_eq!(
        found(&observed, &[("q", "Uplink")]),
        [
            pair("core1", "uplink"),
            pair("core1", "Gi0/2"),
            pair("core1", "Gi0/1")
        ],
        "exact name, exact description, alias containing it"
    );
    assert_eq!(
        found(&observed, &[("q", "to core1")]),
        [pair("edge1", "eth0"), pair("core1", "Gi0/1")],
        "the alias holding the whole text first, then the interface matching each word \
         (\"to\" in its alias, \"core1\" its device)"
    );
    assert_eq!(
        found(&observed, &[("q", "dc2 gi0/4")]),
        [pair("core1", "Gi0/4")],
        "each word anywhere: the device's tag and the interface's name"
    );
    assert_eq!(
        found(&observed, &[("q", "edge1")]).len(),
        2,
        "a device's name finds its interfaces"
    );
    assert_eq!(found(&observed, &[("tag", "dc2")]).len(), 4);
    assert_eq!(found(&observed, &[("q", "gi0"), ("limit", "2")]).len(), 2);
    let all = search(&observed, &PortQuery::parse(&query(&[])).expect("q"));
    assert_eq!(all.total, 6);
}

#[test]
fn search_filters_by_device_and_live_oper_status_and_sorts_by_traffic() {
    let (observed, core, edge) = fleet();
    rates(
        &observed,
        &core,
        &[(1, 5e8, 1e6), (2, 1e6, 2e8), (3, 0.0, 0.0)],
    );
    rates(&observed, &edge, &[(1, 1e6, 9e8)]);
    assert_eq!(
        found(&observed, &[("sort", "bps"), ("limit", "3")]),
        [
            pair("edge1", "eth0"),
            pair("core1", "Gi0/1"),
            pair("core1", "Gi0/2")
        ]
    );
    assert_eq!(
        found(&observed, &[("device", edge.as_str())]),
        [pair("edge1", "eth0"), pair("edge1", "eth1")]
    );
    let mut down = observed.latest.get(&core).expect("latest").as_ref().clone();
    down.interfaces[1].oper_status = Some(IfStatus::Down);
    observed.latest.record(&core, Arc::new(down));
    assert_eq!(
        found(&observed, &[("oper", "down")]),
        [pair("core1", "Gi0/2")],
        "the latest sample's status, not discovery's"
    );
    let answer = search(
        &observed,
        &PortQuery::parse(&query(&[("q", "eth0")])).expect("q"),
    );
    let rates = answer.interfaces[0].rates.as_ref().expect("rates");
    assert_eq!(rates.out_utilisation, Some(0.9));
}

#[test]
fn bad_parameters_are_refused_naming_the_parameter() {
    for (pairs, field) in [
        (vec![("sort", "speed")], "sort"),
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "100000")], "limit"),
        (vec![("oper", "sideways")], "oper"),
        (vec![("device", "no such id!")], "device"),
        (vec![("colour", "red")], "colour"),
    ] {
        let error = PortQuery::parse(&query(&pairs)).expect_err("refused");
        assert_eq!(error.field.as_deref(), Some(field), "{error:?}");
    }
    for (pairs, field) in [
        (vec![("by", "colour")], "by"),
        (vec![("direction", "up")], "direction"),
        (vec![("limit", "x")], "limit"),
    ] {
        let error = TopQuery::parse(&query(&pairs)).expect_err("refused");
        assert_eq!(error.field.as_deref(), Some(field), "{error:?}");
    }
}

#[test]
fn top_orders_by_the_figure_and_direction_asked() {
    let (observed, core, edge) = fleet();
    rates(&observed, &core, &[(1, 5e8, 1e6), (2, 1e6, 2e8)]);
    rates(&observed, &edge, &[(1, 1e6, 9e8), (2, 3e8, 3e8)]);
    let ranked = |pairs: &[(&str, &str)]| {
        let answer = top(&observed, &TopQuery::parse(&query(pairs)).expect("q"));
        answer
            .interfaces
            .iter()
            .map(|r| (r.key.clone(), r.value.expect("value")))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ranked(&[("by", "bps"), ("direction", "in")]),
        [
            ("Gi0/1".to_owned(), 5e8),
            ("eth1".to_owned(), 3e8),
            ("Gi0/2".to_owned(), 1e6),
            ("eth0".to_owned(), 1e6)
        ]
    );
    assert_eq!(
        ranked(&[("limit", "2")]),
        [("eth0".to_owned(), 0.9), ("Gi0/1".to_owned(), 0.5)],
        "utilisation, either direction, by default"
    );
}

#[test]
fn topology_joins_both_reports_of_a_link_and_keeps_unknown_neighbours_as_placeholders() {
    let (observed, core, edge) = fleet();
    rates(&observed, &core, &[(1, 2e8, 1e6)]);
    rates(&observed, &edge, &[(1, 1e6, 4e8)]);
    let map = topology(&observed);
    let nodes: Vec<(&str, NodeKind, &str)> = map
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.kind, n.name.as_str()))
        .collect();
    assert_eq!(
        nodes,
        [
            (core.as_str(), NodeKind::Device, "core1"),
            (edge.as_str(), NodeKind::Device, "edge1"),
            (
                "neighbour:aa:bb:cc:dd:ee:ff",
                NodeKind::Unknown,
                "<img src=x onerror=alert(1)>"
            ),
        ]
    );
    assert_eq!(map.links.len(), 2, "{:#?}", map.links);
    let between = map
        .links
        .iter()
        .find(|l| l.target.node == edge.as_str() || l.source.node == edge.as_str())
        .expect("core1 - edge1");
    let mut ends = [
        (between.source.node.as_str(), between.source.if_index),
        (between.target.node.as_str(), between.target.if_index),
    ];
    ends.sort();
    assert_eq!(ends, [(core.as_str(), Some(1)), (edge.as_str(), Some(1))]);
    assert_eq!(between.protocols, [NeighbourProtocol::Lldp]);
    assert_eq!(between.state, LinkState::Up);
    assert_eq!(between.utilisation, Some(0.4), "the busier end");
    let unknown = map
        .links
        .iter()
        .find(|l| l.target.node.starts_with("neighbour:"))
        .expect("to the placeholder");
    assert_eq!(unknown.source.port, "Gi0/2");
    assert_eq!(unknown.target.port, "port 7");
}

#[test]
fn a_neighbour_is_matched_by_management_address_when_nothing_else_names_it() {
    let observed = Observed::default();
    let mut by_address = lldp(1, "", "", "eth0");
    by_address.address = Some("192.0.2.9".parse().expect("ip"));
    let a = hold(
        &observed,
        serde_json::json!({"name": "a", "address": "192.0.2.8"}),
        "",
        "",
        vec![interface(1, "eth0", "eth0", "")],
        vec![by_address],
    );
    let b = hold(
        &observed,
        serde_json::json!({"name": "b", "address": "192.0.2.9"}),
        "",
        "",
        vec![interface(1, "eth0", "eth0", "")],
        Vec::new(),
    );
    let map = topology(&observed);
    assert_eq!(map.nodes.len(), 2);
    assert_eq!(map.links.len(), 1);
    assert_eq!(map.links[0].source.node, a.as_str());
    assert_eq!(map.links[0].target.node, b.as_str());
    assert_eq!(map.links[0].target.if_index, Some(1));
}
