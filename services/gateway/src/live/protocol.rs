//! The `/ws` protocol: the messages the gateway sends, what a client may subscribe to, and
//! the ready-made text the fan-out hands every connection (encoded once: every client sends
//! the same bytes).

use std::collections::HashSet;

use crate::live::rates::{ShownEntry, ShownValue, Traffic};
use netpulse_shared::device::{DeviceId, DeviceView};
use netpulse_shared::messages::Reachability;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Messages queued for one client before it starts missing some (it is then told `lagged`):
/// room for a burst, such as a flood of syslog cut to its rate. The queue holds pointers to
/// shared messages, 8 bytes each.
pub const CLIENT_QUEUE: usize = 1024;

/// A message on `/ws`. Every one is a JSON object with a `type` and, where it concerns one
/// device, a `device`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage<'a> {
    /// A new sample: the device's traffic (as its `latest` in the API) and every value read.
    Sample {
        /// Device id.
        device: &'a DeviceId,
        /// When, sysUpTime, per-interface counters and rates, and their totals.
        #[serde(flatten)]
        traffic: &'a Traffic,
        /// Every value read, with its type (64-bit counters as strings).
        values: Vec<ShownValue<'a>>,
        /// True for a sample of the one-second live view (not stored; sent only to clients
        /// subscribed to the device).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        live: bool,
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
        /// The entry as the browser gets it (its `device` says whose).
        #[serde(flatten)]
        entry: ShownEntry<'a>,
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
    /// An alert's transition (every client gets them, whichever devices it follows: the
    /// header counts firing alerts on every page).
    Alert {
        /// The transition, as on `netpulse.alert.<device>` (without its outbox).
        #[serde(flatten)]
        event: Box<netpulse_shared::alert::AlertEvent>,
    },
    /// This client fell behind and missed messages.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// A message from the client was refused.
    Error {
        /// Why.
        error: String,
    },
}

/// A `/ws` message ready to send, with what clients filter it by.
#[derive(Debug)]
pub struct Outgoing {
    /// The device it concerns, if one.
    pub device: Option<DeviceId>,
    /// Its `type`.
    pub kind: &'static str,
    /// True for live-view samples: only for clients subscribed to the device by id.
    pub live: bool,
    /// The JSON text, shared by every client that gets it.
    pub text: Utf8Bytes,
}

impl Outgoing {
    /// True for a sample, normal or of the live view: what frames coalesce.
    pub fn is_sample(&self) -> bool {
        self.kind == "sample"
    }
}

/// The kinds a client may subscribe to.
pub const KINDS: [&str; 8] = [
    "sample",
    "failure",
    "status",
    "log",
    "device_added",
    "device_removed",
    "alert",
    "lagged",
];

/// What one client asked to receive: `{"type": "subscribe", "devices": [ids] | "*",
/// "kinds": [...], "live": [ids], "frames": bool, "every_sample": [ids]}`. A client that
/// never subscribes receives everything but live-view samples, one message at a time. `live`
/// names the devices whose one-second live view the client shows; without it, the devices
/// listed by id are the ones shown. With `frames`, samples come coalesced: one `frame` per
/// tick with the latest of each device, but for the devices in `every_sample`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// The devices, or `None` for all.
    pub devices: Option<HashSet<DeviceId>>,
    /// The kinds, or `None` for all.
    pub kinds: Option<HashSet<String>>,
    /// The devices shown in the live view, when given apart from `devices`.
    pub live: Option<HashSet<DeviceId>>,
    /// True when samples come in frames.
    pub frames: bool,
    /// The devices whose samples come one by one even with frames.
    pub every_sample: HashSet<DeviceId>,
}

/// At most this many devices in a subscription's `devices` or `live`.
const MAX_SUBSCRIBED: usize = 1000;

/// A list of device ids from a subscribe message; the error names `field`.
fn device_ids(field: &str, items: &[serde_json::Value]) -> Result<HashSet<DeviceId>, String> {
    if items.len() > MAX_SUBSCRIBED {
        return Err(format!("{field}: at most {MAX_SUBSCRIBED} device ids"));
    }
    items
        .iter()
        .map(|i| {
            i.as_str()
                .and_then(|s| DeviceId::parse(s).ok())
                .ok_or_else(|| format!("{field}: {i} is not a device id"))
        })
        .collect()
}

impl Subscription {
    /// Parses a client's subscribe message; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if value["type"] != "subscribe" {
            return Err("the only message a client sends is {\"type\": \"subscribe\", ...}".into());
        }
        if let Some(unknown) = value.as_object().and_then(|m| {
            m.keys().find(|k| {
                !["type", "devices", "kinds", "live", "frames", "every_sample"]
                    .contains(&k.as_str())
            })
        }) {
            return Err(format!("{unknown}: unknown field"));
        }
        let devices = match &value["devices"] {
            serde_json::Value::Null => None,
            serde_json::Value::String(all) if all == "*" => None,
            serde_json::Value::Array(items) => Some(device_ids("devices", items)?),
            _ => return Err("devices must be \"*\" or a list of device ids".into()),
        };
        let live = match &value["live"] {
            serde_json::Value::Null => None,
            serde_json::Value::Array(items) => Some(device_ids("live", items)?),
            _ => return Err("live must be a list of device ids".into()),
        };
        let kinds = match &value["kinds"] {
            serde_json::Value::Null => None,
            serde_json::Value::Array(items) => Some(
                items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .filter(|k| KINDS.contains(k))
                            .map(str::to_owned)
                            .ok_or_else(|| format!("kinds: {i} is not one of {}", KINDS.join(", ")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err("kinds must be a list".into()),
        };
        let frames = match &value["frames"] {
            serde_json::Value::Null => false,
            serde_json::Value::Bool(frames) => *frames,
            _ => return Err("frames must be true or false".into()),
        };
        let every_sample = match &value["every_sample"] {
            serde_json::Value::Null => HashSet::new(),
            serde_json::Value::Array(items) => device_ids("every_sample", items)?,
            _ => return Err("every_sample must be a list of device ids".into()),
        };
        Ok(Self {
            devices,
            kinds,
            live,
            frames,
            every_sample,
        })
    }

    /// The devices whose live view this client shows: `live` when given, else the devices
    /// listed by id.
    pub fn shown(&self) -> Option<&HashSet<DeviceId>> {
        self.live.as_ref().or(self.devices.as_ref())
    }

    /// True when the client should get `message` on its own (not in a frame).
    pub fn wants(&self, message: &Outgoing) -> bool {
        if message.is_sample()
            && self.frames
            && !message
                .device
                .as_ref()
                .is_some_and(|d| self.every_sample.contains(d))
        {
            return false;
        }
        self.concerns(message)
    }

    /// True when `message` goes into this client's frames.
    pub fn wants_in_frame(&self, message: &Outgoing) -> bool {
        self.frames
            && message.is_sample()
            && !message
                .device
                .as_ref()
                .is_some_and(|d| self.every_sample.contains(d))
            && self.concerns(message)
    }

    /// True when `message` is for this client, one by one or in frames.
    fn concerns(&self, message: &Outgoing) -> bool {
        if message.live {
            // Live-view samples go only to clients showing that device.
            let shown = message
                .device
                .as_ref()
                .is_some_and(|d| self.shown().is_some_and(|set| set.contains(d)));
            return shown && self.kinds.as_ref().is_none_or(|k| k.contains("sample"));
        }
        let device_ok = match (&self.devices, &message.device) {
            (Some(set), Some(device)) => set.contains(device),
            _ => true,
        };
        device_ok && self.kinds.as_ref().is_none_or(|k| k.contains(message.kind))
    }

    /// The devices whose messages this client may get, or `None` when it follows every
    /// device: what the fan-out files it under.
    pub fn followed(&self) -> Option<HashSet<DeviceId>> {
        let devices = self.devices.as_ref()?;
        let mut followed = devices.clone();
        followed.extend(self.live.iter().flatten().cloned());
        followed.extend(self.every_sample.iter().cloned());
        Some(followed)
    }
}
