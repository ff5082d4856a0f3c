//! Discovery against recorded real devices: snmpsim serving recordings that ship inside the
//! snmpsim package (a Linux host with ifXTable, a Windows XP host without it), and recordings
//! of switches and routers from the snmpsim-data package. Every interface of each recording
//! must be listed with its name, speed and status; every LLDP and CDP neighbour with its
//! names, IDs, local interface and address.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use netpulse_shared::discovery::{DeviceInterfaces, Neighbour, NeighbourProtocol};
use netpulse_shared::subjects;
use netpulse_shared::test_util::Snmpsim;
use netpulse_tests::Stack;
use serde_json::{json, Value};

const RECORDINGS: [&str; 2] = ["linux-full-walk", "winxp-full-walk"];

/// A recorded value as text (hex-encoded strings decoded, control characters dropped).
fn text(tag: &str, value: &str) -> String {
    let raw = if tag == "4x" {
        (0..value.len() / 2)
            .filter_map(|i| u8::from_str_radix(&value[2 * i..2 * i + 2], 16).ok())
            .collect::<Vec<u8>>()
    } else {
        value.as_bytes().to_vec()
    };
    String::from_utf8_lossy(&raw)
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// index -> column -> (tag, value) for one table.
fn table(
    records: &[(String, String, String)],
    prefix: &str,
) -> BTreeMap<u32, BTreeMap<u32, (String, String)>> {
    let mut rows: BTreeMap<u32, BTreeMap<u32, (String, String)>> = BTreeMap::new();
    for (oid, tag, value) in records {
        let Some(rest) = oid.strip_prefix(prefix) else {
            continue;
        };
        let mut parts = rest.split('.');
        let (Some(Ok(column)), Some(Ok(index)), None) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u32>),
            parts.next(),
        ) else {
            continue;
        };
        rows.entry(index)
            .or_default()
            .insert(column, (tag.clone(), value.clone()));
    }
    rows
}

fn status(code: &str) -> &'static str {
    match code {
        "1" => "up",
        "2" => "down",
        "3" => "testing",
        "5" => "dormant",
        "6" => "not_present",
        "7" => "lower_layer_down",
        _ => "unknown",
    }
}

#[tokio::test]
async fn every_recorded_interface_is_listed_with_name_speed_and_status() {
    let sim = Snmpsim::start(&RECORDINGS);
    let stack = Stack::pipeline().await;
    for recording in RECORDINGS {
        let device = json!({"name": recording, "address": sim.address(), "community": recording, "interval": 300});
        let created = stack
            .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        let answer = stack
            .http("POST", &format!("/api/devices/{recording}/discover"), None)
            .await;
        assert_eq!(answer.status, 200, "{recording}: {}", answer.text());
        let listed: Vec<Value> = answer.json().as_array().cloned().unwrap_or_default();

        let records = sim.records(recording);
        let if_table = table(&records, "1.3.6.1.2.1.2.2.1.");
        let if_x_table = table(&records, "1.3.6.1.2.1.31.1.1.1.");
        let expected: Vec<u32> = if_table
            .iter()
            .filter(|(_, c)| c.contains_key(&2))
            .map(|(i, _)| *i)
            .collect();
        let got: Vec<u64> = listed.iter().filter_map(|i| i["index"].as_u64()).collect();
        assert_eq!(
            got,
            expected.iter().map(|&i| u64::from(i)).collect::<Vec<_>>(),
            "{recording}: indexes"
        );
        assert!(!expected.is_empty());

        for interface in &listed {
            let index = u32::try_from(interface["index"].as_u64().expect("index")).expect("u32");
            let row = &if_table[&index];
            let x_row = if_x_table.get(&index);
            let descr = text(&row[&2].0, &row[&2].1);
            let name = x_row
                .and_then(|r| r.get(&1))
                .map(|(t, v)| text(t, v))
                .unwrap_or_default();
            let key = if name.is_empty() {
                descr.clone()
            } else {
                name.clone()
            };
            assert_eq!(interface["descr"], descr.as_str(), "{recording} #{index}");
            assert_eq!(interface["name"], name.as_str(), "{recording} #{index}");
            assert_eq!(interface["key"], key.as_str(), "{recording} #{index}");
            let high = x_row
                .and_then(|r| r.get(&15))
                .and_then(|(_, v)| v.parse::<u64>().ok())
                .filter(|&m| m > 0);
            let speed = high.map_or_else(
                || {
                    row.get(&5)
                        .and_then(|(_, v)| v.parse::<u64>().ok())
                        .unwrap_or(0)
                },
                |m| m * 1_000_000,
            );
            assert_eq!(interface["speed_bps"], speed, "{recording} #{index}");
            if let Some((_, admin)) = row.get(&7) {
                assert_eq!(
                    interface["admin_status"],
                    status(admin),
                    "{recording} #{index}"
                );
            }
            if let Some((_, oper)) = row.get(&8) {
                assert_eq!(
                    interface["oper_status"],
                    status(oper),
                    "{recording} #{index}"
                );
            }
        }
    }
    stack.stop().await;
}

/// snmpsim-data recordings with neighbours: a Nexus 5000 with LLDP and CDP, a Catalyst 3560
/// with CDP only (and LLDP-MIB without neighbours), a Juniper MX960 and an H3C switch with
/// LLDP only (the H3C without lldpLocalSystemData).
const NEIGHBOUR_RECORDINGS: [&str; 4] = [
    "network/switch/cisco-n5000",
    "network/switch/cisco-c3560",
    "network/router/juniper-mx960-13-3r9-13",
    "network/switch/h3c-e528-2",
];

/// A recorded value's bytes (`4x` values are hex).
fn bytes(tag: &str, value: &str) -> Vec<u8> {
    if tag == "4x" {
        (0..value.len() / 2)
            .filter_map(|i| u8::from_str_radix(&value[2 * i..2 * i + 2], 16).ok())
            .collect()
    } else {
        value.as_bytes().to_vec()
    }
}

/// Bytes as netpulse shows device text: UTF-8 (invalid sequences replaced), control
/// characters (NUL padding among them) dropped, at most 255 characters, trimmed.
fn shown(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An LLDP ID: six bytes under the MAC subtype as `aa:bb:...`, else text.
fn lldp_id(subtype: Option<&str>, mac_subtype: &str, raw: &[u8]) -> String {
    if subtype == Some(mac_subtype) && raw.len() == 6 {
        raw.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    } else {
        shown(raw)
    }
}

/// column -> index arcs -> (tag, value), for the table whose entry is `entry`.
type Cells = BTreeMap<u32, BTreeMap<Vec<u32>, (String, String)>>;

fn cells(records: &[(String, String, String)], entry: &str) -> Cells {
    let mut cells = Cells::new();
    for (oid, tag, value) in records {
        let Some(rest) = oid.strip_prefix(entry).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let Ok(arcs) = rest
            .split('.')
            .map(str::parse::<u32>)
            .collect::<Result<Vec<u32>, _>>()
        else {
            continue;
        };
        if let Some((column, index)) = arcs.split_first() {
            cells
                .entry(*column)
                .or_default()
                .insert(index.to_vec(), (tag.clone(), value.clone()));
        }
    }
    cells
}

fn cell<'a>(cells: &'a Cells, column: u32, index: &[u32]) -> Option<&'a (String, String)> {
    cells.get(&column)?.get(index)
}

fn cell_bytes(cells: &Cells, column: u32, index: &[u32]) -> Vec<u8> {
    cell(cells, column, index).map_or_else(Vec::new, |(t, v)| bytes(t, v))
}

/// The recording's device chassis ID and neighbours, read from its lines as the LLDP-MIB
/// and CISCO-CDP-MIB describe them. In these recordings lldpLocPortNum is the ifIndex
/// (checked), and cdpCacheIfIndex is one of the interfaces.
fn recorded_neighbours(records: &[(String, String, String)]) -> (String, Vec<Neighbour>) {
    let if_table = table(records, "1.3.6.1.2.1.2.2.1.");
    let if_x_table = table(records, "1.3.6.1.2.1.31.1.1.1.");
    let if_name = |index: u32| {
        let name = if_x_table
            .get(&index)
            .and_then(|r| r.get(&1))
            .map(|(t, v)| text(t, v))
            .unwrap_or_default();
        if name.is_empty() {
            if_table[&index]
                .get(&2)
                .map(|(t, v)| text(t, v))
                .unwrap_or_default()
        } else {
            name
        }
    };
    let local = cells(records, "1.0.8802.1.1.2.1.3");
    let chassis_id = match cell(&local, 2, &[0]) {
        Some((tag, value)) => lldp_id(
            cell(&local, 1, &[0]).map(|(_, v)| v.as_str()),
            "4",
            &bytes(tag, value),
        ),
        None => String::new(),
    };
    // lldpLocPortTable: 7.1.column.port.
    let local_ports = cells(records, "1.0.8802.1.1.2.1.3.7.1");
    let remote = cells(records, "1.0.8802.1.1.2.1.4.1.1");
    let man_addr = cells(records, "1.0.8802.1.1.2.1.4.2.1");
    let mut neighbours = Vec::new();
    for index in remote.get(&5).map(BTreeMap::keys).into_iter().flatten() {
        let port_num = index[1];
        assert!(
            if_table.contains_key(&port_num),
            "lldpLocPortNum {port_num}"
        );
        let local_id = cell(&local_ports, 3, &[port_num]);
        let local_port = match local_id {
            None => if_name(port_num),
            // A MAC address subtype: the port's description names it.
            Some(_) if cell(&local_ports, 2, &[port_num]).is_some_and(|(_, v)| v == "3") => {
                shown(&cell_bytes(&local_ports, 4, &[port_num]))
            }
            Some((tag, value)) => shown(&bytes(tag, value)),
        };
        // lldpRemManAddrTable index: the row's three arcs, subtype 1 (IPv4), length 4, bytes.
        let address = man_addr
            .get(&3)
            .into_iter()
            .flat_map(BTreeMap::keys)
            .find_map(|arcs| match arcs.as_slice() {
                [a, b, c, 1, 4, ip @ ..] if [*a, *b, *c] == index[..] && ip.len() == 4 => {
                    let octets: Vec<u8> =
                        ip.iter().map(|&x| u8::try_from(x).expect("byte")).collect();
                    Some(IpAddr::V4(Ipv4Addr::new(
                        octets[0], octets[1], octets[2], octets[3],
                    )))
                }
                _ => None,
            });
        let subtype = |column| cell(&remote, column, index).map(|(_, v)| v.as_str());
        neighbours.push(Neighbour {
            protocol: NeighbourProtocol::Lldp,
            local_if_index: Some(port_num),
            local_port,
            chassis_id: lldp_id(subtype(4), "4", &cell_bytes(&remote, 5, index)),
            system_name: shown(&cell_bytes(&remote, 9, index)),
            port_id: lldp_id(subtype(6), "3", &cell_bytes(&remote, 7, index)),
            port_descr: shown(&cell_bytes(&remote, 8, index)),
            platform: shown(&cell_bytes(&remote, 10, index)),
            address,
        });
    }
    let cdp = cells(records, "1.3.6.1.4.1.9.9.23.1.2.1.1");
    for index in cdp.get(&6).map(BTreeMap::keys).into_iter().flatten() {
        let if_index = index[0];
        assert!(
            if_table.contains_key(&if_index),
            "cdpCacheIfIndex {if_index}"
        );
        let raw_address = cell_bytes(&cdp, 4, index);
        let is_ip = cell(&cdp, 3, index).is_some_and(|(_, v)| v == "1");
        neighbours.push(Neighbour {
            protocol: NeighbourProtocol::Cdp,
            local_if_index: Some(if_index),
            local_port: if_name(if_index),
            chassis_id: String::new(),
            system_name: shown(&cell_bytes(&cdp, 6, index)),
            port_id: shown(&cell_bytes(&cdp, 7, index)),
            port_descr: String::new(),
            platform: shown(&cell_bytes(&cdp, 8, index)),
            address: <[u8; 4]>::try_from(raw_address.as_slice())
                .ok()
                .filter(|_| is_ip)
                .map(|ip| IpAddr::V4(Ipv4Addr::from(ip))),
        });
    }
    (chassis_id, neighbours)
}

#[tokio::test]
async fn recorded_lldp_and_cdp_neighbours_are_discovered() {
    let sim = Snmpsim::start_data(&NEIGHBOUR_RECORDINGS);
    let stack = Stack::pipeline().await;
    let bucket = async_nats::jetstream::new(stack.nats.clone())
        .get_key_value(subjects::INTERFACES_BUCKET)
        .await
        .expect("interfaces bucket");
    let mut counts = Vec::new();
    for path in NEIGHBOUR_RECORDINGS {
        let recording = path.rsplit('/').next().expect("name");
        let device = json!({"name": recording, "address": sim.address(), "community": recording, "interval": 300});
        let created = stack
            .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        let id = created.json()["id"].as_str().expect("id").to_owned();
        let answer = stack
            .http("POST", &format!("/api/devices/{id}/discover"), None)
            .await;
        assert_eq!(answer.status, 200, "{recording}: {}", answer.text());
        let stored = bucket
            .get(&id)
            .await
            .expect("bucket read")
            .expect("discovery stored");
        let found: DeviceInterfaces = serde_json::from_slice(&stored).expect("discovery");

        let (chassis_id, expected) = recorded_neighbours(&sim.records(recording));
        assert_eq!(found.chassis_id, chassis_id, "{recording}: own chassis ID");
        assert!(!expected.is_empty(), "{recording} has neighbours");
        for (got, want) in found.neighbours.iter().zip(&expected) {
            assert_eq!(got, want, "{recording}");
        }
        assert_eq!(found.neighbours.len(), expected.len(), "{recording}");
        let of = |protocol| {
            found
                .neighbours
                .iter()
                .filter(|n| n.protocol == protocol)
                .count()
        };
        counts.push((
            recording,
            of(NeighbourProtocol::Lldp),
            of(NeighbourProtocol::Cdp),
        ));
    }
    assert_eq!(
        counts,
        [
            ("cisco-n5000", 9, 5),
            ("cisco-c3560", 0, 9),
            ("juniper-mx960-13-3r9-13", 6, 0),
            ("h3c-e528-2", 1, 0),
        ]
    );
    stack.stop().await;
}
