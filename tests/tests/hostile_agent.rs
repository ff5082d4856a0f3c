//! A hostile agent: a UDP responder that answers the poller with replies derived from a real
//! snmpd's answers, but truncated, corrupted, with an impossible length, duplicated, late, or
//! for another request. The poller must take none of them for an answer, count each, show the
//! device's error, and keep 1,000 healthy devices polled on time meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use netpulse_shared::messages::{PollFailure, Sample};
use netpulse_shared::subjects;
use netpulse_shared::test_util::Snmpd;
use netpulse_simulator::{SimConfig, Simulator};
use netpulse_tests::{Services, Stack};
use serde_json::json;
use tokio::net::UdpSocket;

/// How the hostile agent answers, request after request.
const MODES: [&str; 8] = [
    "honest",
    "truncated",
    "corrupted",
    "impossible_length",
    "wrong_request_id",
    "late",
    "duplicated",
    "honest",
];

/// The hostile device's timeout: a late reply comes after it.
const TIMEOUT_MS: u64 = 400;

/// The request id of an SNMPv1/v2c message: the first INTEGER inside the PDU (tag 0xA0-0xA5)
/// that follows version and community; its encoded bytes (tag, length, value).
fn request_id_field(message: &[u8]) -> Option<(usize, usize)> {
    // SEQUENCE header, then version INTEGER, then community OCTET STRING, then the PDU.
    let skip_header = |at: usize| -> Option<usize> {
        let length = *message.get(at + 1)?;
        Some(if length < 0x80 {
            at + 2
        } else {
            at + 2 + usize::from(length & 0x7f)
        })
    };
    let skip_field = |at: usize| -> Option<usize> {
        let length = usize::from(*message.get(at + 1)?);
        (length < 0x80).then_some(at + 2 + length)
    };
    let version = skip_header(0)?;
    let community = skip_field(version)?;
    let pdu = skip_field(community)?;
    if !(0xA0..=0xA5).contains(message.get(pdu)?) {
        return None;
    }
    let id = skip_header(pdu)?;
    (*message.get(id)? == 0x02).then_some((id, 2 + usize::from(*message.get(id + 1)?)))
}

/// Answers every request with snmpd's answer, spoilt as [`MODES`] says in turn; counts what
/// it sent in each mode.
async fn hostile_agent(
    upstream: SocketAddr,
) -> (SocketAddr, Arc<Mutex<BTreeMap<&'static str, u32>>>) {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let address = socket.local_addr().expect("address");
    let sent: Arc<Mutex<BTreeMap<&'static str, u32>>> = Arc::default();
    let counts = sent.clone();
    tokio::spawn(async move {
        let snmpd = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        snmpd.connect(upstream).await.expect("connect");
        let (mut request, mut answer) = (vec![0u8; 65_536], vec![0u8; 65_536]);
        for turn in 0.. {
            let Ok((n, from)) = socket.recv_from(&mut request).await else {
                return;
            };
            if snmpd.send(&request[..n]).await.is_err() {
                continue;
            }
            let Ok(Ok(m)) =
                tokio::time::timeout(Duration::from_secs(2), snmpd.recv(&mut answer)).await
            else {
                continue;
            };
            let real = answer[..m].to_vec();
            let mode = MODES[turn % MODES.len()];
            let replies: Vec<Vec<u8>> = match mode {
                "truncated" => vec![real[..real.len() / 2].to_vec()],
                // The SEQUENCE tag turned into another: nothing decodes.
                "corrupted" => {
                    let mut bad = real.clone();
                    bad[0] ^= 0x01;
                    vec![bad]
                }
                // A length of 2 GiB in a 60 KB datagram.
                "impossible_length" => {
                    let body = request_id_field(&real).map_or(2, |_| {
                        if real[1] < 0x80 {
                            2
                        } else {
                            2 + usize::from(real[1] & 0x7f)
                        }
                    });
                    let mut bad = vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff];
                    bad.extend_from_slice(&real[body..]);
                    bad.resize(60_000, 0);
                    vec![bad]
                }
                "wrong_request_id" => {
                    let mut bad = real.clone();
                    if let Some((at, len)) = request_id_field(&bad) {
                        bad[at + len - 1] ^= 0x01;
                    }
                    vec![bad]
                }
                "duplicated" => vec![real.clone(), real.clone()],
                _ => vec![real],
            };
            *counts.lock().expect("counts").entry(mode).or_default() += 1;
            let socket = socket.clone();
            tokio::spawn(async move {
                if mode == "late" {
                    tokio::time::sleep(Duration::from_millis(TIMEOUT_MS + 300)).await;
                }
                for reply in replies {
                    let _ = socket.send_to(&reply, from).await;
                }
            });
        }
    });
    (address, sent)
}

#[tokio::test]
async fn a_hostile_agent_is_counted_and_shown_and_holds_no_other_device_back() {
    const HEALTHY: usize = 1_000;
    const HEALTHY_INTERVAL_MS: u64 = 10_000;
    let snmpd = Snmpd::start();
    let (hostile, sent) = hostile_agent(snmpd.address().parse().expect("snmpd address")).await;
    let sim = Simulator::start(SimConfig {
        devices: HEALTHY,
        interfaces: 2,
        base_port: 0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        ..Default::default()
    })
    .await;
    let mut samples = stack
        .nats
        .subscribe(subjects::SAMPLE_ALL)
        .await
        .expect("subscribe");
    let mut failures = stack
        .nats
        .subscribe("netpulse.failure.hostile")
        .await
        .expect("subscribe");
    let bodies: Vec<_> = sim
        .addresses()
        .iter()
        .enumerate()
        .map(|(i, address)| {
            json!({"name": format!("healthy-{i}"), "address": address.to_string(),
                   "interval": HEALTHY_INTERVAL_MS / 1000, "interfaces": [1, 2]})
        })
        .collect();
    stack.register_devices(bodies).await;
    let device = json!({"name": "hostile", "address": hostile.to_string(), "interval": 1,
                        "timeout_ms": TIMEOUT_MS, "retries": 0, "interfaces": [1]});
    let created = stack
        .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());

    // Two healthy intervals to settle, then three measured.
    let settle_until = netpulse_shared::time::now_ms() + 2 * HEALTHY_INTERVAL_MS;
    let measure_until = settle_until + 3 * HEALTHY_INTERVAL_MS;
    let mut slots: HashMap<String, Vec<u64>> = HashMap::new();
    let mut worst_lag = 0;
    let mut hostile_samples = 0u32;
    let mut reasons: Vec<String> = Vec::new();
    while netpulse_shared::time::now_ms() < measure_until {
        let message = tokio::select! {
            Some(failure) = failures.next() => {
                let failure: PollFailure = serde_json::from_slice(&failure.payload).expect("a failure");
                reasons.push(failure.reason);
                continue;
            }
            sample = tokio::time::timeout(Duration::from_secs(5), samples.next()) => match sample {
                Ok(Some(message)) => message,
                _ => panic!("no sample for 5 s: the poller stopped"),
            },
        };
        let sample: Sample = serde_json::from_slice(&message.payload).expect("a sample");
        if sample.device.as_str() == "hostile" {
            hostile_samples += 1;
            continue;
        }
        let Some(slot) = sample
            .id
            .rsplit_once('-')
            .and_then(|(_, s)| s.parse::<u64>().ok())
        else {
            continue;
        };
        if slot >= settle_until && slot < measure_until - HEALTHY_INTERVAL_MS {
            worst_lag = worst_lag.max(sample.time_ms.saturating_sub(slot));
            slots
                .entry(sample.device.to_string())
                .or_default()
                .push(slot);
        }
    }

    // Every healthy device was polled in each of the two whole intervals measured, on time.
    assert_eq!(slots.len(), HEALTHY, "healthy devices polled");
    let short: Vec<_> = slots.iter().filter(|(_, s)| s.len() < 2).collect();
    assert!(short.is_empty(), "devices missing a poll: {short:?}");
    assert!(
        worst_lag < 2_000,
        "a healthy poll came {worst_lag} ms after its slot"
    );

    // The poller took only honest replies (a duplicate's first copy is honest too).
    let sent = sent.lock().expect("sent").clone();
    let honest =
        sent.get("honest").copied().unwrap_or(0) + sent.get("duplicated").copied().unwrap_or(0);
    assert!(hostile_samples >= 1, "no honest reply was taken: {sent:?}");
    assert!(
        hostile_samples <= honest,
        "{hostile_samples} samples from {honest} honest replies: a bad reply was taken ({sent:?})"
    );
    // And counted the others, by kind, in the device's poll statistics.
    let shown = stack.get_json("/api/devices/hostile").await;
    let stats = &shown["poll_stats"];
    let bad = |kind: &str| stats["bad_replies"][kind].as_u64().unwrap_or(0);
    assert!(
        bad("malformed") >= 2,
        "truncated, corrupted, impossible lengths: {stats}"
    );
    assert!(bad("wrong_request_id") >= 1, "{stats}");
    assert!(
        stats["timeouts"].as_u64().unwrap_or(0) >= 1,
        "late replies: {stats}"
    );
    assert!(stats["failures"].as_u64().unwrap_or(0) >= 3, "{stats}");
    // Each failed poll said why, as the device's status shows while it fails.
    assert!(
        reasons.iter().any(|r| r.starts_with("bad reply")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r == "timeout"), "{reasons:?}");
    assert!(
        shown["status"]["consecutive_failures"].is_u64(),
        "{}",
        shown["status"]
    );
    let metrics = stack
        .http_as(netpulse_tests::METRICS_TOKEN, "GET", "/metrics", None)
        .await
        .text();
    assert!(
        metrics.contains("netpulse_device_bad_replies_total{device=\"hostile\",name=\"hostile\",kind=\"malformed\"}"),
        "{metrics}"
    );
    stack.stop().await;
}

/// One poll per mode, as a poller's agent makes it: only the honest replies (and the first
/// copy of a duplicated one) are answers; each other kind is refused and counted as what it is.
#[tokio::test]
async fn each_kind_of_bad_reply_is_refused_and_counted() {
    use netpulse_poller::snmp::{Agent, Credentials, Snmp2Agent};
    use netpulse_shared::snmp::{Address, Community, Oid};
    let snmpd = Snmpd::start();
    let (hostile, _) = hostile_agent(snmpd.address().parse().expect("snmpd address")).await;
    let uptime = Oid::parse("1.3.6.1.2.1.1.3.0").expect("oid");
    for mode in MODES {
        let mut agent = Snmp2Agent::new(
            Address::parse(&hostile.to_string()).expect("address"),
            Credentials::V2c(Community::parse("public").expect("community")),
            Duration::from_millis(TIMEOUT_MS),
            0,
        );
        let answer = agent.get(std::slice::from_ref(&uptime)).await;
        let stats = &agent.stats;
        let counted = |kind: &str| stats.bad_replies.get(kind).copied().unwrap_or(0);
        match mode {
            "honest" | "duplicated" => {
                let values = answer.unwrap_or_else(|e| panic!("{mode}: {e}"));
                assert_eq!(values[0].oid, uptime, "{mode}");
                assert!(stats.is_clean(), "{mode}: {stats:?}");
            }
            "late" => {
                assert_eq!(answer, Err(netpulse_poller::snmp::SnmpError::Timeout));
                assert_eq!(stats.timeouts, 1);
            }
            "wrong_request_id" => {
                assert!(answer.is_err(), "another request's reply was taken");
                assert_eq!(counted("wrong_request_id"), 1, "{stats:?}");
            }
            _ => {
                assert!(answer.is_err(), "{mode} reply was taken");
                assert_eq!(counted("malformed"), 1, "{mode}: {stats:?}");
            }
        }
    }
}
