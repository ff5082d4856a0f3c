//! The NATS reader: each message (and each registry change) is parsed once into an
//! [`Event`], applied to what the gateway observes (rates, the latest samples, the metrics),
//! and encoded once as a `/ws` message for the clients it concerns.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::jetstream::kv;
use futures::StreamExt;
use netpulse_shared::alert::AlertEvent;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::logs::LogEntry;
use netpulse_shared::messages::{PollFailure, ReachabilityChanged, Sample};
use netpulse_shared::{bus, subjects};
use serde::de::DeserializeOwned;

use crate::live::hub::Hub;
use crate::live::protocol::{LiveMessage, Outgoing};
use crate::live::rates::{browser_values, DeviceRates, ShownEntry, Traffic};
use crate::observed::Observed;

/// One thing that happened, parsed once from NATS or the registry.
#[derive(Debug)]
pub enum Event {
    /// A sample.
    Sample {
        /// The sample.
        sample: Box<Sample>,
        /// True for one of the one-second live view (not stored).
        live: bool,
    },
    /// A poll that failed.
    Failure(PollFailure),
    /// A device's reachability changed.
    Status(ReachabilityChanged),
    /// A timeline entry.
    Log(Box<LogEntry>),
    /// An alert's transition.
    Alert(Box<AlertEvent>),
    /// A device was added or changed.
    DeviceChanged(Box<Device>),
    /// A device was deleted: its registry key.
    DeviceRemoved(String),
}

/// `message`'s payload as a `T`, if it parses; `device` is checked against the device of the
/// subject when given (a message must concern the device its subject names).
fn parse<T: DeserializeOwned>(
    message: &async_nats::Message,
    device: Option<fn(&T) -> &DeviceId>,
) -> Option<T> {
    let Ok(value) = serde_json::from_slice::<T>(&message.payload) else {
        tracing::debug!(subject = %message.subject, "ignoring malformed message");
        return None;
    };
    match device {
        Some(device) if subjects::device_of(&message.subject).as_ref() != Some(device(&value)) => {
            None
        }
        _ => Some(value),
    }
}

impl Event {
    fn sample(message: &async_nats::Message, live: bool) -> Option<Self> {
        let sample = parse::<Sample>(message, Some(|s| &s.device))?;
        Some(Self::Sample {
            sample: Box::new(sample),
            live,
        })
    }

    fn registry(change: &kv::Entry) -> Option<Self> {
        match change.operation {
            kv::Operation::Put => serde_json::from_slice::<Device>(&change.value)
                .ok()
                .map(|d| Self::DeviceChanged(Box::new(d))),
            kv::Operation::Delete | kv::Operation::Purge => {
                Some(Self::DeviceRemoved(change.key.clone()))
            }
        }
    }
}

/// What the reader keeps between events: the rates of each device (normal and live view
/// apart), and the observed state it updates.
struct Observer {
    rates: HashMap<DeviceId, DeviceRates>,
    live_rates: HashMap<DeviceId, DeviceRates>,
    observed: Observed,
}

impl Observer {
    /// Applies an event and gives its `/ws` message.
    fn apply(&mut self, event: Event) -> Result<Outgoing, serde_json::Error> {
        let (device, kind, live, text) = match event {
            Event::Sample { sample, live } => {
                let text = self.sample(&sample, live)?;
                (Some(sample.device), "sample", live, text)
            }
            Event::Failure(failure) => {
                self.observed.metrics.failure(&failure);
                let text = serde_json::to_string(&LiveMessage::Failure {
                    device: &failure.device,
                    time_ms: failure.time_ms,
                    reason: &failure.reason,
                })?;
                (Some(failure.device), "failure", false, text)
            }
            Event::Status(change) => {
                let text = serde_json::to_string(&LiveMessage::Status {
                    device: &change.device,
                    state: change.state,
                    previous: change.previous,
                    time_ms: change.time_ms,
                    reason: &change.reason,
                })?;
                (Some(change.device), "status", false, text)
            }
            Event::Log(mut entry) => {
                let trap = entry.trap.take();
                let text = serde_json::to_string(&LiveMessage::Log {
                    entry: ShownEntry::new(&entry, trap.as_ref()),
                })?;
                (Some(entry.device), "log", false, text)
            }
            Event::Alert(mut event) => {
                event.alert.outbox.clear();
                let text = serde_json::to_string(&LiveMessage::Alert { event })?;
                (None, "alert", false, text)
            }
            Event::DeviceChanged(device) => {
                self.observed.metrics.device_changed(&device);
                self.observed.devices.put(&device);
                let text = serde_json::to_string(&LiveMessage::DeviceAdded {
                    device: device.view(),
                })?;
                (Some(device.id), "device_added", false, text)
            }
            Event::DeviceRemoved(key) => {
                let id = DeviceId::parse(&key).ok();
                if let Some(id) = &id {
                    self.observed.devices.remove(id);
                    self.rates.remove(id);
                    self.live_rates.remove(id);
                    self.observed.latest.forget(id);
                    self.observed.metrics.device_removed(id);
                }
                let text = serde_json::to_string(&LiveMessage::DeviceRemoved { device: &key })?;
                (id, "device_removed", false, text)
            }
        };
        Ok(Outgoing {
            device,
            kind,
            live,
            text: text.into(),
        })
    }

    /// A sample's rates (forward only: samples can arrive out of order when several pollers
    /// run), recorded in the metrics and, for normal samples, as the device's latest; encoded.
    fn sample(&mut self, sample: &Sample, live: bool) -> Result<String, serde_json::Error> {
        let rates = if live {
            &mut self.live_rates
        } else {
            &mut self.rates
        };
        let device_rates = rates.entry(sample.device.clone()).or_default();
        let in_order = device_rates.in_order(sample);
        let (interfaces, cached) = device_rates.step(sample);
        let seen = device_rates.seen(cached);
        let traffic = Arc::new(Traffic::new(sample, interfaces));
        let text = serde_json::to_string(&LiveMessage::Sample {
            device: &sample.device,
            traffic: &traffic,
            values: browser_values(&sample.values),
            live,
        })?;
        if live {
            self.observed.metrics.live_sample(&sample.device, &seen);
        } else {
            self.observed
                .metrics
                .sample(sample, &traffic.interfaces, &seen);
            if in_order {
                self.observed.latest.record(&sample.device, traffic);
            }
        }
        Ok(text)
    }
}

/// Reads NATS and the registry, and hands `/ws` messages to the clients until the
/// subscriptions end.
pub async fn fan_out(
    client: async_nats::Client,
    registry: kv::Store,
    hub: Hub,
    observed: Observed,
) -> anyhow::Result<()> {
    let mut samples = client.subscribe(subjects::SAMPLE_ALL).await?;
    let mut failures = client.subscribe(subjects::FAILURE_ALL).await?;
    let mut statuses = client.subscribe(subjects::STATUS_ALL).await?;
    let mut logs = client.subscribe(subjects::LOG_ALL).await?;
    let mut live_samples = client.subscribe(subjects::LIVE_ALL).await?;
    let mut alerts = client.subscribe(subjects::ALERT_ALL).await?;
    // Every device first (the metrics name them), then each change.
    let mut changes = bus::Following::new(registry);
    let mut observer = Observer {
        rates: HashMap::new(),
        live_rates: HashMap::new(),
        observed,
    };
    loop {
        let event = tokio::select! {
            Some(m) = samples.next() => Event::sample(&m, false),
            Some(m) = live_samples.next() => Event::sample(&m, true),
            Some(m) = failures.next() => parse(&m, None).map(Event::Failure),
            Some(m) = statuses.next() => parse(&m, None).map(Event::Status),
            Some(m) = logs.next() => parse::<LogEntry>(&m, Some(|e| &e.device)).map(|e| Event::Log(Box::new(e))),
            Some(m) = alerts.next() => parse(&m, None).map(|e| Event::Alert(Box::new(e))),
            change = changes.next() => Event::registry(&change),
            else => break,
        };
        let Some(event) = event else { continue };
        match observer.apply(event) {
            Ok(outgoing) => hub.deliver(outgoing),
            Err(error) => tracing::error!(%error, "cannot encode live message"),
        }
    }
    Ok(())
}
