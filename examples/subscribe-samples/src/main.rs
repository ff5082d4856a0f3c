//! Follows netpulse's samples on NATS and prints each interface's octet counters.
//!
//! ```text
//! cargo run -p netpulse-example-subscribe -- nats://127.0.0.1:4222 [--count N]
//! ```
//! With a NATS user (nats/nats.conf gives each program its own): NATS_USER and NATS_PASSWORD.
//! Each sample arrives on `netpulse.sample.<device id>` as JSON (docs/schema/sample.json):
//! the device, the time it answered, and every value read, among them ifHCInOctets
//! (1.3.6.1.2.1.31.1.1.1.6.<ifIndex>) and ifHCOutOctets (1.3.6.1.2.1.31.1.1.1.10.<ifIndex>).

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::Value;

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
    // ifIndex -> (in, out). Each value is {"oid", "type", "value"}; counter64 values are
    // JSON numbers up to 2^64 - 1.
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
    for (index, (in_octets, out_octets)) in interfaces {
        let show = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        println!(
            "{device} {time_ms} ifIndex {index} in {} out {}",
            show(in_octets),
            show(out_octets)
        );
    }
}
