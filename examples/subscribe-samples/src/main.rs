//! Follows netpulse's samples on NATS and prints each interface's octet counters.
//!
//! ```text
//! cargo run -p netpulse-example-subscribe -- nats://127.0.0.1:4222 [--count N]
//! ```
//! With a NATS user (nats/nats.conf gives each program its own): NATS_USER and NATS_PASSWORD.
//! Each sample arrives on `netpulse.sample.<device id>` as JSON (docs/schema/sample.json):
//! the device, the time it answered, and each polled interface with its readings. Samples of
//! version 1 (older pollers, or a replay of the stream) carried the counters as OIDs in
//! `values` instead: this program reads both.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::Value;

/// ifHCInOctets and ifHCOutOctets, in version 1 samples.
const IN_OCTETS: &str = "1.3.6.1.2.1.31.1.1.1.6.";
const OUT_OCTETS: &str = "1.3.6.1.2.1.31.1.1.1.10.";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut url = "nats://127.0.0.1:4222".to_owned();
    let mut count: Option<usize> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--count" => count = args.next().and_then(|n| n.parse().ok()),
            _ => url = arg,
        }
    }
    let mut options = async_nats::ConnectOptions::new().name("netpulse-example-subscribe");
    if let (Ok(user), Ok(password)) = (std::env::var("NATS_USER"), std::env::var("NATS_PASSWORD")) {
        options = options.user_and_password(user, password);
    }
    let client = options.connect(url.as_str()).await?;
    // `*` is one token: the device id. Core NATS: samples published while this program is
    // not running are not replayed (the NETPULSE_SAMPLES stream keeps them for that).
    let mut samples = client.subscribe("netpulse.sample.*").await?;
    let mut seen = 0;
    while let Some(message) = samples.next().await {
        let Ok(sample) = serde_json::from_slice::<Value>(&message.payload) else {
            eprintln!("not JSON on {}", message.subject);
            continue;
        };
        print_sample(&sample);
        seen += 1;
        if count.is_some_and(|n| seen >= n) {
            break;
        }
    }
    Ok(())
}

/// One line per interface: device, time (Unix ms), ifIndex, octets in and out.
fn print_sample(sample: &Value) {
    let device = sample["device"].as_str().unwrap_or("?");
    let time_ms = sample["time_ms"].as_u64().unwrap_or(0);
    let interfaces = if sample["schema"].as_u64().unwrap_or(1) >= 2 {
        by_interface(sample)
    } else {
        by_oid(sample)
    };
    for (index, (in_octets, out_octets)) in interfaces {
        let show = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        println!(
            "{device} {time_ms} ifIndex {index} in {} out {}",
            show(in_octets),
            show(out_octets)
        );
    }
}

/// ifIndex -> (in, out) octets, from a version 2 sample: each entry of `interfaces` carries
/// its own counters (JSON numbers up to 2^64 - 1; absent when the agent gave none).
fn by_interface(sample: &Value) -> BTreeMap<u64, (Option<u64>, Option<u64>)> {
    sample["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| {
            let index = i["index"].as_u64()?;
            Some((index, (i["in_octets"].as_u64(), i["out_octets"].as_u64())))
        })
        .collect()
}

/// ifIndex -> (in, out) octets, from a version 1 sample: every answer is an
/// {"oid", "type", "value"} in `values`; the 64-bit octet counters are paired by the ifIndex
/// that ends their OID.
fn by_oid(sample: &Value) -> BTreeMap<u64, (Option<u64>, Option<u64>)> {
    let mut interfaces: BTreeMap<u64, (Option<u64>, Option<u64>)> = BTreeMap::new();
    for value in sample["values"].as_array().into_iter().flatten() {
        let oid = value["oid"].as_str().unwrap_or_default();
        let counter = value["value"].as_u64();
        if let Some(index) = oid.strip_prefix(IN_OCTETS).and_then(|i| i.parse().ok()) {
            interfaces.entry(index).or_default().0 = counter;
        } else if let Some(index) = oid.strip_prefix(OUT_OCTETS).and_then(|i| i.parse().ok()) {
            interfaces.entry(index).or_default().1 = counter;
        }
    }
    interfaces
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_versions_give_the_same_counters() {
        let v2 = json!({"schema": 2, "device": "a", "time_ms": 1,
            "interfaces": [{"index": 3, "key": "eth0", "speed_bps": 0, "octet_bits": 64,
                            "in_octets": 18446744073709551615u64, "out_octets": 7},
                           {"index": 4, "key": "eth1", "speed_bps": 0, "octet_bits": 64}],
            "values": [{"oid": "1.3.6.1.2.1.1.3.0", "type": "timeticks", "value": 5}]});
        let v1 = json!({"schema": 1, "device": "a", "time_ms": 1,
            "interfaces": [{"index": 3, "key": "eth0", "speed_bps": 0}],
            "values": [{"oid": "1.3.6.1.2.1.31.1.1.1.6.3", "type": "counter64",
                        "value": 18446744073709551615u64},
                       {"oid": "1.3.6.1.2.1.31.1.1.1.10.3", "type": "counter64", "value": 7}]});
        let expected = (Some(u64::MAX), Some(7));
        assert_eq!(by_interface(&v2).get(&3), Some(&expected));
        assert_eq!(by_interface(&v2).get(&4), Some(&(None, None)));
        assert_eq!(by_oid(&v1).get(&3), Some(&expected));
    }
}
