//! Request → response cases, with requests written by the crate's BER writer and responses
//! read back by `snmp2`.

use std::sync::Arc;

use std::net::IpAddr;

use super::*;
use crate::config::SimConfig;
use crate::lldp::{chassis_id, Neighbour};
use crate::mib::MibTable;

const PUBLIC: &[u8] = b"public";
const REQUEST_ID: i64 = 4_242;
const V1: i64 = 0;
const V2C: i64 = 1;
const GET: u8 = 0xa0;
const GET_NEXT: u8 = 0xa1;
const RESPONSE: u8 = 0xa2;
const SET: u8 = 0xa3;
const GET_BULK: u8 = 0xa5;

const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
const IF_NAME: &str = "1.3.6.1.2.1.31.1.1.1.1";
const IF_HC_IN: &str = "1.3.6.1.2.1.31.1.1.1.6";
const LAST_OID: &str = "1.3.6.1.2.1.31.1.1.1.18.3";

fn device(interfaces: usize) -> (DeviceState, Instant) {
    let config = SimConfig {
        interfaces,
        ..SimConfig::default()
    };
    let now = Instant::now();
    let table = Arc::new(MibTable::build(interfaces, 0));
    (DeviceState::new(0, &config, table, now), now)
}

fn arcs(oid: &str) -> Vec<u32> {
    oid.split('.')
        .map(|arc| arc.parse().expect("numeric arc"))
        .collect()
}

fn request(version: i64, pdu_tag: u8, fields: (i64, i64), oids: &[&str]) -> Vec<u8> {
    request_with(version, PUBLIC, pdu_tag, fields, oids)
}

fn request_with(
    version: i64,
    community: &[u8],
    pdu_tag: u8,
    (first, second): (i64, i64),
    oids: &[&str],
) -> Vec<u8> {
    let mut writer = BerWriter::new();
    writer.constructed(tag::SEQUENCE, |message| {
        message.integer(version);
        message.primitive(tag::OCTET_STRING, community);
        message.constructed(pdu_tag, |pdu| {
            pdu.integer(REQUEST_ID);
            pdu.integer(first);
            pdu.integer(second);
            pdu.constructed(tag::SEQUENCE, |list| {
                for oid in oids {
                    list.constructed(tag::SEQUENCE, |varbind| {
                        varbind.oid(&arcs(oid));
                        varbind.null();
                    });
                }
            });
        });
    });
    writer.into_bytes()
}

/// A response, read back.
#[derive(Debug)]
struct Answer {
    version: i64,
    status: u32,
    index: u32,
    varbinds: Vec<(String, String)>,
}

fn answer(bytes: &[u8]) -> Answer {
    let pdu = Pdu::from_bytes(bytes).expect("a well-formed response");
    assert_eq!(pdu.message_type, MessageType::Response);
    assert_eq!(i64::from(pdu.req_id), REQUEST_ID);
    assert_eq!(pdu.community, PUBLIC);
    Answer {
        version: pdu.version().expect("a known version") as i64,
        status: pdu.error_status,
        index: pdu.error_index,
        varbinds: pdu
            .varbinds
            .map(|(oid, value)| (oid.to_id_string(), format!("{value:?}")))
            .collect(),
    }
}

fn ask(state: &DeviceState, now: Instant, datagram: &[u8]) -> Answer {
    let bytes = respond(state, PUBLIC, datagram, now).expect("an answer");
    assert_eq!(bytes[0], tag::SEQUENCE);
    assert!(bytes.contains(&RESPONSE));
    answer(&bytes)
}

fn pair(oid: &str, value: &str) -> (String, String) {
    (oid.to_owned(), value.to_owned())
}

#[test]
fn v2c_get_answers_values_and_per_varbind_exceptions() {
    let (state, now) = device(3);
    let answer = ask(
        &state,
        now,
        &request(
            V2C,
            GET,
            (0, 0),
            &[
                SYS_NAME,
                "1.3.6.1.2.1.2.2.1.2.2",
                "1.3.6.1.2.1.2.2.1.2.9",
                "1.3.6.1.2.1.99.0",
            ],
        ),
    );
    assert_eq!((answer.version, answer.status, answer.index), (V2C, 0, 0));
    assert_eq!(
        answer.varbinds,
        [
            pair(SYS_NAME, "OCTET STRING: sim-0"),
            pair("1.3.6.1.2.1.2.2.1.2.2", "OCTET STRING: sim-0 port 1"),
            pair("1.3.6.1.2.1.2.2.1.2.9", "NO SUCH INSTANCE"),
            pair("1.3.6.1.2.1.99.0", "NO SUCH OBJECT"),
        ]
    );
}

#[test]
fn v2c_get_types() {
    let (state, now) = device(1);
    let answer = ask(
        &state,
        now,
        &request(
            V2C,
            GET,
            (0, 0),
            &[
                "1.3.6.1.2.1.1.2.0",
                "1.3.6.1.2.1.1.3.0",
                "1.3.6.1.2.1.2.1.0",
                "1.3.6.1.2.1.2.2.1.5.1",
                "1.3.6.1.2.1.2.2.1.10.1",
                "1.3.6.1.2.1.31.1.1.1.6.1",
            ],
        ),
    );
    let values: Vec<&str> = answer.varbinds.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(
        values,
        [
            "OBJECT IDENTIFIER: 1.3.6.1.4.1.8072.3.2.10",
            "TIMETICKS: 0",
            "INTEGER: 1",
            "UNSIGNED32: 1000000000",
            "COUNTER32: 0",
            "COUNTER64: 0",
        ]
    );
}

#[test]
fn v1_get_fails_whole_on_the_first_missing_varbind_and_hides_counter64() {
    let (state, now) = device(2);
    let hc_in = format!("{IF_HC_IN}.1");
    let answer = ask(
        &state,
        now,
        &request(V1, GET, (0, 0), &[SYS_NAME, &hc_in, "1.3.6.1.2.1.99.0"]),
    );
    assert_eq!((answer.version, answer.status, answer.index), (V1, 2, 2));
    assert_eq!(
        answer.varbinds,
        [
            pair(SYS_NAME, "NULL"),
            pair(&hc_in, "NULL"),
            pair("1.3.6.1.2.1.99.0", "NULL"),
        ]
    );
    let fine = ask(&state, now, &request(V1, GET, (0, 0), &[SYS_NAME]));
    assert_eq!((fine.status, fine.index), (0, 0));
    assert_eq!(fine.varbinds, [pair(SYS_NAME, "OCTET STRING: sim-0")]);
}

#[test]
fn get_next_walks_in_order_and_ends_per_version() {
    let (state, now) = device(2);
    let answer = ask(
        &state,
        now,
        &request(V2C, GET_NEXT, (0, 0), &["1.3", SYS_NAME, IF_NAME, LAST_OID]),
    );
    assert_eq!(
        answer.varbinds,
        [
            pair(
                "1.3.6.1.2.1.1.1.0",
                "OCTET STRING: netpulse simulated device 0"
            ),
            pair("1.3.6.1.2.1.1.6.0", "OCTET STRING: netpulse lab, rack 0"),
            pair("1.3.6.1.2.1.31.1.1.1.1.1", "OCTET STRING: eth0"),
            pair(LAST_OID, "END OF MIB VIEW"),
        ]
    );
    let v1_end = ask(
        &state,
        now,
        &request(V1, GET_NEXT, (0, 0), &[SYS_NAME, LAST_OID]),
    );
    assert_eq!((v1_end.status, v1_end.index), (2, 2));
    // v1 steps over the Counter64 columns: after ifName comes ifHighSpeed.
    let v1_skip = ask(
        &state,
        now,
        &request(V1, GET_NEXT, (0, 0), &["1.3.6.1.2.1.31.1.1.1.1.2"]),
    );
    assert_eq!(
        v1_skip.varbinds,
        [pair("1.3.6.1.2.1.31.1.1.1.15.1", "UNSIGNED32: 1000")]
    );
}

#[test]
fn get_bulk_repeats_past_the_column_end() {
    let (state, now) = device(3);
    let answer = ask(
        &state,
        now,
        &request(V2C, GET_BULK, (1, 5), &[SYS_NAME, IF_NAME]),
    );
    assert_eq!((answer.status, answer.index), (0, 0));
    let oids: Vec<&str> = answer
        .varbinds
        .iter()
        .map(|(oid, _)| oid.as_str())
        .collect();
    assert_eq!(
        oids,
        [
            "1.3.6.1.2.1.1.6.0",
            "1.3.6.1.2.1.31.1.1.1.1.1",
            "1.3.6.1.2.1.31.1.1.1.1.2",
            "1.3.6.1.2.1.31.1.1.1.1.3",
            "1.3.6.1.2.1.31.1.1.1.6.1",
            "1.3.6.1.2.1.31.1.1.1.6.2",
        ]
    );
    assert_eq!(answer.varbinds[1].1, "OCTET STRING: eth0");
    assert_eq!(answer.varbinds[3].1, "OCTET STRING: eth2");
}

#[test]
fn get_bulk_stops_after_a_row_past_the_end() {
    let (state, now) = device(3);
    let answer = ask(
        &state,
        now,
        &request(
            V2C,
            GET_BULK,
            (0, 10),
            &["1.3.6.1.2.1.31.1.1.1.18.2", LAST_OID],
        ),
    );
    assert_eq!(
        answer.varbinds,
        [
            pair(LAST_OID, "OCTET STRING: uplink 2"),
            pair(LAST_OID, "END OF MIB VIEW"),
            pair(LAST_OID, "END OF MIB VIEW"),
            pair(LAST_OID, "END OF MIB VIEW"),
        ]
    );
}

#[test]
fn get_bulk_keeps_within_its_budget_and_never_says_too_big() {
    let (state, now) = device(200);
    let datagram = request(V2C, GET_BULK, (0, 10_000), &["1.3.6.1.2.1.2.2.1.2"]);
    let bytes = respond(&state, PUBLIC, &datagram, now).expect("an answer");
    let answer = answer(&bytes);
    assert_eq!(answer.status, 0);
    assert!(answer.varbinds.len() > 20, "{}", answer.varbinds.len());
    assert!(answer.varbinds.len() < 200, "{}", answer.varbinds.len());
    assert!(bytes.len() < BULK_VARBIND_BUDGET + 100, "{}", bytes.len());
    let none = ask(&state, now, &request(V2C, GET_BULK, (0, 0), &[IF_NAME]));
    assert!(none.varbinds.is_empty());
}

#[test]
fn get_too_big_for_a_datagram_says_too_big() {
    let (state, now) = device(1);
    let oids = vec!["1.3.6.1.2.1.1.1.0"; 3_000];
    let datagram = request(V2C, GET, (0, 0), &oids);
    assert!(datagram.len() < MAX_MESSAGE);
    let answer = ask(&state, now, &datagram);
    assert_eq!((answer.status, answer.index), (1, 0));
    assert!(answer.varbinds.is_empty());
}

#[test]
fn set_is_refused() {
    let (state, now) = device(1);
    let v2c = ask(&state, now, &request(V2C, SET, (0, 0), &[SYS_NAME]));
    assert_eq!((v2c.status, v2c.index), (6, 1));
    let v1 = ask(&state, now, &request(V1, SET, (0, 0), &[SYS_NAME]));
    assert_eq!((v1.status, v1.index), (2, 1));
}

#[test]
fn what_goes_unanswered() {
    let (state, now) = device(1);
    let drop = |datagram: &[u8]| respond(&state, PUBLIC, datagram, now).err();
    assert_eq!(
        drop(&request_with(V2C, b"private", GET, (0, 0), &[SYS_NAME])),
        Some(Dropped::WrongCommunity)
    );
    assert_eq!(drop(b"\x30\x03\x02\x01"), Some(Dropped::Malformed));
    assert_eq!(drop(&[]), Some(Dropped::Malformed));
    assert_eq!(
        drop(&request(V1, GET_BULK, (0, 5), &[SYS_NAME])),
        Some(Dropped::NotARequest)
    );
    assert_eq!(
        drop(&request(V2C, RESPONSE, (0, 0), &[SYS_NAME])),
        Some(Dropped::NotARequest)
    );
    assert_eq!(
        drop(&request(2, GET, (0, 0), &[SYS_NAME])),
        Some(Dropped::UnsupportedVersion)
    );
}

const LLDP_REM_ENTRY: &str = "1.0.8802.1.1.2.1.4.1.1";
const LLDP_MAN_ADDR_ENTRY: &str = "1.0.8802.1.1.2.1.4.2.1";
const LLDP_LOCAL: &str = "1.0.8802.1.1.2.1.3";

/// Devices 0 and 1 of 4 interfaces, device 0's eth3 cabled to device 1's eth0, device 1
/// renumbered by `offset`.
fn linked_pair(offset: u32) -> (DeviceState, DeviceState, Instant) {
    let config = SimConfig::default();
    let now = Instant::now();
    let mut first = DeviceState::new(0, &config, Arc::new(MibTable::build(4, 0)), now);
    let mut second = DeviceState::new(1, &config, Arc::new(MibTable::build(4, 0)), now);
    second.renumber(offset, Arc::new(MibTable::build(4, offset)));
    let address = IpAddr::from([127, 0, 0, 1]);
    let first_port = first.port_identity(3, address).expect("eth3");
    let second_port = second.port_identity(0, address).expect("eth0");
    first.set_neighbours(vec![Neighbour {
        local_position: 3,
        remote: second_port,
    }]);
    second.set_neighbours(vec![Neighbour {
        local_position: 0,
        remote: first_port,
    }]);
    (first, second, now)
}

/// Every varbind under `prefix`, by GETNEXT from `prefix` on.
fn walk(state: &DeviceState, now: Instant, prefix: &str) -> Vec<(String, String)> {
    let mut walked = Vec::new();
    let mut last = prefix.to_owned();
    loop {
        let answer = ask(state, now, &request(V2C, GET_NEXT, (0, 0), &[&last]));
        let (oid, value) = answer.varbinds.into_iter().next().expect("a varbind");
        if !oid.starts_with(&format!("{prefix}.")) {
            return walked;
        }
        last.clone_from(&oid);
        walked.push((oid, value));
    }
}

fn mac(bytes: [u8; 6]) -> String {
    format!("{:?}", snmp2::Value::OctetString(&bytes))
}

#[test]
fn each_end_of_a_link_reports_the_other_in_lldp_rem_table() {
    let (first, second, now) = linked_pair(0);
    assert_eq!(
        walk(&first, now, LLDP_REM_ENTRY),
        [
            pair("1.0.8802.1.1.2.1.4.1.1.4.0.4.1", "INTEGER: 4"),
            pair("1.0.8802.1.1.2.1.4.1.1.5.0.4.1", &mac(chassis_id(1))),
            pair("1.0.8802.1.1.2.1.4.1.1.6.0.4.1", "INTEGER: 5"),
            pair("1.0.8802.1.1.2.1.4.1.1.7.0.4.1", "OCTET STRING: eth0"),
            pair(
                "1.0.8802.1.1.2.1.4.1.1.8.0.4.1",
                "OCTET STRING: sim-1 port 0"
            ),
            pair("1.0.8802.1.1.2.1.4.1.1.9.0.4.1", "OCTET STRING: sim-1"),
            pair(
                "1.0.8802.1.1.2.1.4.1.1.10.0.4.1",
                "OCTET STRING: netpulse simulated device 1"
            ),
        ]
    );
    assert_eq!(
        walk(&second, now, LLDP_REM_ENTRY),
        [
            pair("1.0.8802.1.1.2.1.4.1.1.4.0.1.1", "INTEGER: 4"),
            pair("1.0.8802.1.1.2.1.4.1.1.5.0.1.1", &mac(chassis_id(0))),
            pair("1.0.8802.1.1.2.1.4.1.1.6.0.1.1", "INTEGER: 5"),
            pair("1.0.8802.1.1.2.1.4.1.1.7.0.1.1", "OCTET STRING: eth3"),
            pair(
                "1.0.8802.1.1.2.1.4.1.1.8.0.1.1",
                "OCTET STRING: sim-0 port 3"
            ),
            pair("1.0.8802.1.1.2.1.4.1.1.9.0.1.1", "OCTET STRING: sim-0"),
            pair(
                "1.0.8802.1.1.2.1.4.1.1.10.0.1.1",
                "OCTET STRING: netpulse simulated device 0"
            ),
        ]
    );
    assert_eq!(
        walk(&first, now, LLDP_MAN_ADDR_ENTRY),
        [
            pair("1.0.8802.1.1.2.1.4.2.1.3.0.4.1.1.4.127.0.0.1", "INTEGER: 2"),
            pair("1.0.8802.1.1.2.1.4.2.1.4.0.4.1.1.4.127.0.0.1", "INTEGER: 1"),
        ]
    );
}

#[test]
fn the_local_lldp_group_follows_if_index() {
    let (_, second, now) = linked_pair(100);
    let local = walk(&second, now, LLDP_LOCAL);
    assert_eq!(
        local[..4],
        [
            pair("1.0.8802.1.1.2.1.3.1.0", "INTEGER: 4"),
            pair("1.0.8802.1.1.2.1.3.2.0", &mac(chassis_id(1))),
            pair("1.0.8802.1.1.2.1.3.3.0", "OCTET STRING: sim-1"),
            pair(
                "1.0.8802.1.1.2.1.3.4.0",
                "OCTET STRING: netpulse simulated device 1"
            ),
        ]
    );
    assert_eq!(local.len(), 4 + 3 * 4);
    assert!(local.contains(&pair("1.0.8802.1.1.2.1.3.7.1.2.101", "INTEGER: 5")));
    assert!(local.contains(&pair("1.0.8802.1.1.2.1.3.7.1.3.104", "OCTET STRING: eth3")));
    assert!(local.contains(&pair(
        "1.0.8802.1.1.2.1.3.7.1.4.102",
        "OCTET STRING: sim-1 port 1"
    )));
    // The neighbour row is indexed by the renumbered local port.
    let remote = walk(&second, now, LLDP_REM_ENTRY);
    assert_eq!(
        remote[3],
        pair("1.0.8802.1.1.2.1.4.1.1.7.0.101.1", "OCTET STRING: eth3")
    );
}

#[test]
fn walks_cross_from_lldp_into_mib_2_in_order() {
    let (first, _, now) = linked_pair(0);
    let last_row = "1.0.8802.1.1.2.1.4.2.1.4.0.4.1.1.4.127.0.0.1";
    let next = ask(&first, now, &request(V2C, GET_NEXT, (0, 0), &[last_row]));
    assert_eq!(next.varbinds[0].0, "1.3.6.1.2.1.1.1.0");
    let bulk = ask(
        &first,
        now,
        &request(V2C, GET_BULK, (0, 30), &["1.0.8802.1.1.2.1.3.7.1.4.4"]),
    );
    let oids: Vec<&str> = bulk.varbinds.iter().map(|(oid, _)| oid.as_str()).collect();
    assert_eq!(oids.len(), 30);
    assert_eq!(oids[0], "1.0.8802.1.1.2.1.4.1.1.4.0.4.1");
    assert_eq!(oids[8], "1.0.8802.1.1.2.1.4.2.1.4.0.4.1.1.4.127.0.0.1");
    assert_eq!(oids[9], "1.3.6.1.2.1.1.1.0");
    // An unlinked device has the local group and no neighbour rows.
    let (lonely, now) = device(2);
    assert!(walk(&lonely, now, LLDP_REM_ENTRY).is_empty());
    let get = ask(
        &lonely,
        now,
        &request(V2C, GET, (0, 0), &["1.0.8802.1.1.2.1.4.1.1.9.0.1.1"]),
    );
    assert_eq!(get.varbinds[0].1, "NO SUCH OBJECT");
}
