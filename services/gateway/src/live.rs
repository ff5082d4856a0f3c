//! The live stream: NATS samples, failures and registry changes, turned into `/ws` messages
//! and fanned out to every connected browser.
//!
//! One task reads NATS and computes bit rates (it alone holds the previous sample of each
//! device, so no lock is needed); it sends ready-made JSON text to a bounded broadcast
//! channel. Each WebSocket reads from that channel: a client too slow to keep up misses
//! messages (and is told how many) instead of slowing anyone else down.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::jetstream::kv;
use futures::{SinkExt, StreamExt};
use netpulse_shared::device::{Device, DeviceId, DeviceView};
use netpulse_shared::messages::{
    PollFailure, Reachability, ReachabilityChanged, Sample, SnmpValue, VarBind,
};
use netpulse_shared::rate::{bits_per_second, Gap, Reading};
use netpulse_shared::subjects;
use serde::Serialize;
use tokio::sync::broadcast;
use warp::filters::ws::{Message, WebSocket, Ws};
use warp::{Filter, Rejection, Reply};

/// Messages queued per client before it starts missing some.
pub const CLIENT_BACKLOG: usize = 1024;

/// A message on `/ws`. Every one is a JSON object with a `type` and, where it concerns one
/// device, a `device`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage<'a> {
    /// A new sample, with rates per interface.
    Sample {
        /// Device id.
        device: &'a DeviceId,
        /// Sample time, Unix milliseconds.
        time_ms: u64,
        /// sysUpTime, hundredths of a second.
        uptime_ticks: Option<u32>,
        /// Per-interface counters and rates.
        interfaces: Vec<InterfaceRate>,
        /// Every value read, with its type (64-bit counters as strings).
        values: Vec<serde_json::Value>,
    },
    /// A poll that failed.
    Failure {
        /// Device id.
        device: &'a DeviceId,
        /// When, Unix milliseconds.
        time_ms: u64,
        /// Why.
        reason: &'a str,
    },
    /// A device's reachability changed.
    Status {
        /// Device id.
        device: &'a DeviceId,
        /// `up`, `down` or `unknown`.
        state: Reachability,
        /// The state before.
        previous: Reachability,
        /// When, Unix milliseconds.
        time_ms: u64,
        /// Why.
        reason: &'a str,
    },
    /// A timeline entry of a device: syslog, trap (device text: show it as text).
    Log {
        /// The entry, as stored (its `device` says whose).
        #[serde(flatten)]
        entry: &'a netpulse_shared::logs::LogEntry,
    },
    /// A device was added or changed.
    DeviceAdded {
        /// The device, without secrets.
        device: DeviceView<'a>,
    },
    /// A device was deleted.
    DeviceRemoved {
        /// Its id.
        device: &'a str,
    },
    /// This client fell behind and missed messages.
    Lagged {
        /// How many.
        missed: u64,
    },
}

/// Counters and rates of one interface in a sample.
///
/// Counters travel as decimal strings: a 64-bit counter does not fit a JavaScript number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceRate {
    /// ifIndex.
    pub index: u32,
    /// Stable key (ifName, else ifDescr) when discovery knows the interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Speed in bits per second when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_bps: Option<u64>,
    /// Received octets counter, exact, as a string.
    pub in_octets: String,
    /// Sent octets counter, exact, as a string.
    pub out_octets: String,
    /// Received bits per second since the previous sample; null when there is no rate.
    pub in_bps: Option<f64>,
    /// Sent bits per second since the previous sample; null when there is no rate.
    pub out_bps: Option<f64>,
    /// Why there is no rate, when there is a previous sample but no rate: `restart`,
    /// `width_change`, `out_of_order` or `impossible` (a counter discontinuity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<&'static str>,
}

fn gap_name(gap: Gap) -> &'static str {
    match gap {
        Gap::Restart => "restart",
        Gap::WidthChange => "width_change",
        Gap::OutOfOrder => "out_of_order",
        Gap::Impossible => "impossible",
    }
}

/// A sample's values as the browser gets them: 64-bit counters as decimal strings.
pub fn browser_values(values: &[VarBind]) -> Vec<serde_json::Value> {
    values
        .iter()
        .map(|vb| {
            let mut item = serde_json::to_value(vb).unwrap_or_default();
            if let SnmpValue::Counter64(n) = vb.value {
                item["value"] = serde_json::Value::String(n.to_string());
            }
            item
        })
        .collect()
}

/// Rates of every interface of `current` against the previous sample of the same device.
pub fn interface_rates(previous: Option<&Sample>, current: &Sample) -> Vec<InterfaceRate> {
    let before = previous.map(Sample::interface_counters).unwrap_or_default();
    let reading = |s: &Sample, (value, bits): (u64, u32)| Reading {
        time_ms: s.time_ms,
        uptime_ticks: s.uptime_ticks,
        value,
        bits,
    };
    current
        .interface_counters()
        .into_iter()
        .map(|now| {
            let then = before.iter().find(|c| c.index == now.index);
            let known = current.interfaces.iter().find(|i| i.index == now.index);
            let speed = known.map_or(0, |i| i.speed_bps);
            let rate = |pick: fn(&netpulse_shared::messages::InterfaceCounters) -> (u64, u32)| {
                let (prev, then) = (previous?, then?);
                Some(bits_per_second(
                    &reading(prev, pick(then)),
                    &reading(current, pick(&now)),
                    speed,
                ))
            };
            let (inbound, outbound) = (rate(|c| c.in_octets), rate(|c| c.out_octets));
            let gap = match (&inbound, &outbound) {
                (Some(Err(g)), _) | (_, Some(Err(g))) => Some(gap_name(*g)),
                _ => None,
            };
            InterfaceRate {
                index: now.index,
                name: known.map(|i| i.key.clone()),
                speed_bps: known.map(|i| i.speed_bps).filter(|s| *s > 0),
                in_octets: now.in_octets.0.to_string(),
                out_octets: now.out_octets.0.to_string(),
                in_bps: inbound.and_then(Result::ok),
                out_bps: outbound.and_then(Result::ok),
                gap,
            }
        })
        .collect()
}

/// Sender side of the fan-out: JSON text, ready to send.
pub type LiveSender = broadcast::Sender<Arc<str>>;

/// Reads NATS and the registry, and broadcasts `/ws` messages until the subscriptions end.
pub async fn fan_out(
    client: async_nats::Client,
    registry: kv::Store,
    live: LiveSender,
) -> anyhow::Result<()> {
    let mut samples = client.subscribe(subjects::SAMPLE_ALL).await?;
    let mut failures = client.subscribe(subjects::FAILURE_ALL).await?;
    let mut statuses = client.subscribe(subjects::STATUS_ALL).await?;
    let mut logs = client.subscribe(subjects::LOG_ALL).await?;
    let mut changes = registry.watch_all().await?;
    let mut previous: HashMap<DeviceId, Sample> = HashMap::new();
    loop {
        let text = tokio::select! {
            Some(message) = samples.next() => {
                let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) else {
                    tracing::debug!(subject = %message.subject, "ignoring malformed sample");
                    continue;
                };
                if subjects::device_of(&message.subject).as_ref() != Some(&sample.device) {
                    continue;
                }
                // Samples can arrive out of order when several pollers run: rate only forward.
                let prior = previous.get(&sample.device).filter(|p| p.time_ms < sample.time_ms);
                let interfaces = interface_rates(prior, &sample);
                let text = serde_json::to_string(&LiveMessage::Sample {
                    device: &sample.device,
                    time_ms: sample.time_ms,
                    uptime_ticks: sample.uptime_ticks,
                    interfaces,
                    values: browser_values(&sample.values),
                });
                if prior.is_some() || !previous.contains_key(&sample.device) {
                    previous.insert(sample.device.clone(), sample);
                }
                text
            }
            Some(message) = failures.next() => {
                let Ok(failure) = serde_json::from_slice::<PollFailure>(&message.payload) else {
                    continue;
                };
                serde_json::to_string(&LiveMessage::Failure {
                    device: &failure.device,
                    time_ms: failure.time_ms,
                    reason: &failure.reason,
                })
            }
            Some(message) = statuses.next() => {
                let Ok(change) = serde_json::from_slice::<ReachabilityChanged>(&message.payload) else {
                    continue;
                };
                serde_json::to_string(&LiveMessage::Status {
                    device: &change.device,
                    state: change.state,
                    previous: change.previous,
                    time_ms: change.time_ms,
                    reason: &change.reason,
                })
            }
            Some(message) = logs.next() => {
                let Ok(entry) = serde_json::from_slice::<netpulse_shared::logs::LogEntry>(&message.payload) else {
                    continue;
                };
                if subjects::device_of(&message.subject).as_ref() != Some(&entry.device) {
                    continue;
                }
                serde_json::to_string(&LiveMessage::Log { entry: &entry })
            }
            Some(change) = changes.next() => {
                let Ok(entry) = change else { continue };
                match entry.operation {
                    kv::Operation::Put => {
                        let Ok(device) = serde_json::from_slice::<Device>(&entry.value) else { continue };
                        serde_json::to_string(&LiveMessage::DeviceAdded { device: device.view() })
                    }
                    kv::Operation::Delete | kv::Operation::Purge => {
                        if let Ok(id) = DeviceId::parse(&entry.key) {
                            previous.remove(&id);
                        }
                        serde_json::to_string(&LiveMessage::DeviceRemoved { device: &entry.key })
                    }
                }
            }
            else => break,
        };
        match text {
            // No receivers is fine: nobody is watching.
            Ok(text) => drop(live.send(Arc::from(text))),
            Err(error) => tracing::error!(%error, "cannot encode live message"),
        }
    }
    Ok(())
}

/// `GET /ws`: the live stream, for any signed-in user.
pub fn route(
    live: LiveSender,
    auth: &crate::auth::Auth,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("ws")
        .and(auth.require(crate::auth::Role::Viewer))
        .and(warp::ws())
        .map(move |_, ws: Ws| {
            let receiver = live.subscribe();
            ws.max_message_size(64 * 1024)
                .on_upgrade(move |socket| serve_client(socket, receiver))
        })
}

async fn serve_client(socket: WebSocket, mut receiver: broadcast::Receiver<Arc<str>>) {
    let (mut to_client, mut from_client) = socket.split();
    loop {
        tokio::select! {
            incoming = from_client.next() => match incoming {
                // The page sends nothing yet; anything but a close is ignored.
                Some(Ok(message)) if !message.is_close() => {}
                _ => break,
            },
            outgoing = receiver.recv() => {
                let text = match outgoing {
                    Ok(text) => text.to_string(),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "live client lagging");
                        serde_json::to_string(&LiveMessage::Lagged { missed }).unwrap_or_default()
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let sent = tokio::time::timeout(std::time::Duration::from_secs(10), to_client.send(Message::text(text))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break;
                }
            }
        }
    }
    let _ = to_client.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::device::Oid;
    use netpulse_shared::messages::SCHEMA_VERSION;

    fn sample(time_ms: u64, uptime: u32, in_octets: u64, out_octets: u64) -> Sample {
        let vb = |oid: &str, value| VarBind {
            oid: Oid::parse(oid).expect("oid"),
            value,
        };
        Sample {
            schema: SCHEMA_VERSION,
            id: format!("d-{time_ms}"),
            device: DeviceId::parse("d").expect("id"),
            time_ms,
            uptime_ticks: Some(uptime),
            values: vec![
                vb("1.3.6.1.2.1.1.3.0", SnmpValue::Timeticks(uptime)),
                vb("1.3.6.1.2.1.31.1.1.1.6.3", SnmpValue::Counter64(in_octets)),
                vb(
                    "1.3.6.1.2.1.31.1.1.1.10.3",
                    SnmpValue::Counter64(out_octets),
                ),
            ],
            interfaces: vec![],
        }
    }

    #[test]
    fn rates_come_from_the_previous_sample() {
        let first = sample(10_000, 100, 1_000, 2_000);
        let rates = interface_rates(None, &first);
        assert_eq!(rates[0].in_bps, None);
        let second = sample(20_000, 1100, 13_500, 2_000);
        let rates = interface_rates(Some(&first), &second);
        assert_eq!(rates[0].index, 3);
        assert_eq!(rates[0].in_bps, Some(10_000.0));
        assert_eq!(rates[0].out_bps, Some(0.0));
        // A reboot between the two: no rate rather than a spike.
        let rebooted = sample(30_000, 50, 10, 10);
        let rates = interface_rates(Some(&second), &rebooted);
        assert_eq!(rates[0].in_bps, None);
        assert_eq!(rates[0].gap, Some("restart"));
    }

    #[test]
    fn messages_carry_type_and_device() {
        let s = sample(10_000, 100, 1, 2);
        let text = serde_json::to_value(LiveMessage::Sample {
            device: &s.device,
            time_ms: s.time_ms,
            uptime_ticks: s.uptime_ticks,
            interfaces: interface_rates(None, &s),
            values: browser_values(&s.values),
        })
        .expect("json");
        assert_eq!(text["type"], "sample");
        assert_eq!(text["device"], "d");
        assert_eq!(text["interfaces"][0]["in_octets"], "1");
        assert_eq!(
            text["values"][1]["value"], "1",
            "Counter64 values reach the browser exactly"
        );
        assert!(text["interfaces"][0]["in_bps"].is_null());
    }
}
