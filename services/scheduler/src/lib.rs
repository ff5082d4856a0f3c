//! netpulse-scheduler: turns the device registry into a stream of poll jobs.
//!
//! It watches the registry bucket; every device gets a task that publishes a poll job on
//! `netpulse.poll.<device>` at each of its slots (see [`plan`]). A new or changed device is
//! (re)scheduled at once, a deleted one stops at once: no restart needed.
//!
//! It also follows every poll's outcome (samples and failures) and derives each device's
//! reachability (see [`reachability`]): transitions go out once on `netpulse.status.<device>`
//! and the current state is kept in the `netpulse_status` bucket.

pub mod plan;
pub mod reachability;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use netpulse_shared::config::NatsSettings;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::messages::{PollFailure, Reachability, ReachabilityChanged, Sample};
use netpulse_shared::{bus, subjects, time};
use serde::Deserialize;
use tokio::task::JoinHandle;

use crate::reachability::Tracker;

/// `[scheduler]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SchedulerSettings {
    /// Failed polls in a row after which a device is down. Default 3.
    pub down_after: u32,
    /// Longest time between polls of a device that is down, in seconds. Default 60.
    pub down_backoff_max_secs: u64,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            down_after: 3,
            down_backoff_max_secs: 60,
        }
    }
}

/// Everything the scheduler binary reads from configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `[nats]`.
    pub nats: NatsSettings,
    /// `[scheduler]`.
    pub scheduler: SchedulerSettings,
}

/// One scheduled device: its definition, its reachability and the task publishing its jobs.
struct Scheduled {
    device: Device,
    tracker: Tracker,
    /// Slots between polls, read by the task (1 unless the device is down).
    spacing: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for Scheduled {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The scheduler's working state.
struct Scheduler {
    client: async_nats::Client,
    status: kv::Store,
    settings: SchedulerSettings,
    devices: HashMap<DeviceId, Scheduled>,
}

/// Schedules polls for every device in the registry and tracks their reachability until
/// `shutdown` resolves.
pub async fn run(
    client: async_nats::Client,
    settings: SchedulerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let js = jetstream::new(client.clone());
    let registry = bus::devices_bucket(&js).await?;
    let status = bus::status_bucket(&js).await?;
    let mut samples = client.subscribe(subjects::SAMPLE_ALL).await?;
    let mut failures = client.subscribe(subjects::FAILURE_ALL).await?;
    let mut scheduler = Scheduler {
        client: client.clone(),
        status,
        settings,
        devices: HashMap::new(),
    };
    tokio::pin!(shutdown);
    tracing::info!("scheduler ready");
    'watching: loop {
        // The watch starts with the current value of every key, then follows changes.
        let mut changes = match registry.watch_with_history(">").await {
            Ok(w) => w,
            Err(error) => {
                tracing::warn!(%error, "cannot watch the device registry, retrying");
                tokio::select! {
                    () = &mut shutdown => break 'watching,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue 'watching,
                }
            }
        };
        loop {
            tokio::select! {
                () = &mut shutdown => break 'watching,
                change = changes.next() => match change {
                    Some(Ok(entry)) => scheduler.apply(entry).await,
                    Some(Err(error)) => {
                        tracing::warn!(%error, "registry watch failed, watching again");
                        continue 'watching;
                    }
                    None => continue 'watching,
                },
                Some(message) = samples.next() => {
                    if let Ok(sample) = serde_json::from_slice::<Sample>(&message.payload) {
                        scheduler.outcome(&sample.device, sample.time_ms, None).await;
                    }
                }
                Some(message) = failures.next() => {
                    if let Ok(failure) = serde_json::from_slice::<PollFailure>(&message.payload) {
                        scheduler.outcome(&failure.device, failure.time_ms, Some(&failure.reason)).await;
                    }
                }
            }
        }
    }
    scheduler.devices.clear();
    client.drain().await.ok();
    Ok(())
}

impl Scheduler {
    async fn apply(&mut self, entry: kv::Entry) {
        let Ok(id) = DeviceId::parse(&entry.key) else {
            tracing::warn!(key = %entry.key, "ignoring registry entry with an invalid key");
            return;
        };
        match entry.operation {
            kv::Operation::Put => match serde_json::from_slice::<Device>(&entry.value) {
                Ok(device) if device.id == id => {
                    if self.devices.get(&id).is_some_and(|s| s.device == device) {
                        return;
                    }
                    tracing::info!(device = %device.id, interval = device.interval, "scheduling device");
                    let tracker = match self.devices.remove(&id) {
                        Some(previous) => previous.tracker.clone(),
                        None => self.restore(&id).await,
                    };
                    let spacing = Arc::new(AtomicU64::new(self.spacing(&device, &tracker)));
                    let task = tokio::spawn(publish_jobs(
                        self.client.clone(),
                        device.clone(),
                        spacing.clone(),
                    ));
                    self.devices.insert(
                        id,
                        Scheduled {
                            device,
                            tracker,
                            spacing,
                            task,
                        },
                    );
                }
                Ok(_) | Err(_) => {
                    tracing::warn!(key = %entry.key, "ignoring invalid registry entry");
                    self.devices.remove(&id);
                }
            },
            kv::Operation::Delete | kv::Operation::Purge => {
                if self.devices.remove(&id).is_some() {
                    tracing::info!(device = %id, "device removed, polling stopped");
                }
                if let Err(error) = self.status.purge(id.as_str()).await {
                    tracing::warn!(device = %id, %error, "cannot clear reachability");
                }
            }
        }
    }

    /// The tracker of a device seen before this scheduler started, from the status bucket.
    async fn restore(&self, id: &DeviceId) -> Tracker {
        let mut tracker = Tracker::new(id.clone(), self.settings.down_after);
        let known = self.status.get(id.as_str()).await.ok().flatten();
        if let Some(last) =
            known.and_then(|bytes| serde_json::from_slice::<ReachabilityChanged>(&bytes).ok())
        {
            tracker.restore(last.state, last.consecutive_failures);
        }
        tracker
    }

    fn spacing(&self, device: &Device, tracker: &Tracker) -> u64 {
        tracker.slots_between_polls(
            Duration::from_secs(u64::from(device.interval)),
            Duration::from_secs(self.settings.down_backoff_max_secs),
        )
    }

    async fn outcome(&mut self, id: &DeviceId, time_ms: u64, failure: Option<&str>) {
        let Some(scheduled) = self.devices.get_mut(id) else {
            return;
        };
        let change = match failure {
            None => scheduled.tracker.succeeded(time_ms),
            Some(reason) => scheduled.tracker.failed(time_ms, reason),
        };
        let spacing = scheduled.tracker.slots_between_polls(
            Duration::from_secs(u64::from(scheduled.device.interval)),
            Duration::from_secs(self.settings.down_backoff_max_secs),
        );
        scheduled.spacing.store(spacing, Ordering::Relaxed);
        let Some(change) = change else {
            return;
        };
        match change.state {
            Reachability::Down => {
                tracing::warn!(device = %id, reason = %change.reason, "device down")
            }
            _ => tracing::info!(device = %id, state = ?change.state, "device reachability changed"),
        }
        let Ok(payload) = serde_json::to_vec(&change) else {
            return;
        };
        if let Err(error) = self.status.put(id.as_str(), payload.clone().into()).await {
            tracing::warn!(device = %id, %error, "cannot store reachability");
        }
        if let Err(error) = self
            .client
            .publish(subjects::status(id), payload.into())
            .await
        {
            tracing::warn!(device = %id, %error, "cannot publish reachability");
        }
    }
}

/// Publishes a poll job for `device` at each of its slots, until aborted; while the device
/// is down, only every `spacing`-th slot.
async fn publish_jobs(client: async_nats::Client, device: Device, spacing: Arc<AtomicU64>) {
    let subject = subjects::poll(&device.id);
    let interval = plan::interval_ms(&device);
    let mut slot = plan::next_slot(&device, time::now_ms());
    let mut last_polled: Option<u64> = None;
    loop {
        let now = time::now_ms();
        if now < slot {
            // Sleep at most one interval, then look again (the clock may have stepped).
            tokio::time::sleep(Duration::from_millis((slot - now).min(interval))).await;
            continue;
        }
        if now >= slot + interval {
            // Fell behind by a whole interval (suspended, clock jump): skip to the next slot.
            slot = plan::next_slot(&device, now);
            continue;
        }
        let every = spacing.load(Ordering::Relaxed).max(1);
        if last_polled.is_some_and(|last| slot < last + every * interval) {
            slot += interval;
            continue;
        }
        last_polled = Some(slot);
        let job = plan::job(&device, slot);
        match serde_json::to_vec(&job) {
            Ok(payload) => {
                if let Err(error) = client.publish(subject.clone(), payload.into()).await {
                    tracing::warn!(device = %device.id, %error, "cannot publish poll job");
                }
            }
            Err(error) => tracing::error!(%error, "cannot encode poll job"),
        }
        slot += interval;
    }
}
