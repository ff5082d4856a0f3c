//! Discovery against recorded real devices: snmpsim serving recordings that ship inside the
//! snmpsim package (a Linux host with ifXTable, a Windows XP host without it). Every
//! interface of each recording must be listed with its name, speed and status.

use std::collections::BTreeMap;

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
