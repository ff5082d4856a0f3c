//! netpulse-scheduler: turns the device registry into a stream of poll jobs.
//!
//! It watches the registry bucket; every device gets a task that publishes a poll job on
//! `netpulse.poll.<device>` at each of its slots (see [`plan`]). A new or changed device is
//! (re)scheduled at once, a deleted one stops at once: no restart needed.

pub mod plan;

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use netpulse_shared::config::NatsSettings;
use netpulse_shared::device::Device;
use netpulse_shared::{bus, subjects, time};
use serde::Deserialize;
use tokio::task::JoinHandle;

/// Everything the scheduler binary reads from configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `[nats]`.
    pub nats: NatsSettings,
}

/// One scheduled device: its definition and the task publishing its jobs.
struct Scheduled {
    device: Device,
    task: JoinHandle<()>,
}

impl Drop for Scheduled {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Schedules polls for every device in the registry until `shutdown` resolves.
pub async fn run(
    client: async_nats::Client,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let js = jetstream::new(client.clone());
    let registry = bus::devices_bucket(&js).await?;
    let mut scheduled: HashMap<String, Scheduled> = HashMap::new();
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
            let change = tokio::select! {
                () = &mut shutdown => break 'watching,
                change = changes.next() => change,
            };
            match change {
                Some(Ok(entry)) => apply(&client, &mut scheduled, entry),
                Some(Err(error)) => {
                    tracing::warn!(%error, "registry watch failed, watching again");
                    continue 'watching;
                }
                None => continue 'watching,
            }
        }
    }
    scheduled.clear();
    client.drain().await.ok();
    Ok(())
}

fn apply(
    client: &async_nats::Client,
    scheduled: &mut HashMap<String, Scheduled>,
    entry: kv::Entry,
) {
    match entry.operation {
        kv::Operation::Put => match serde_json::from_slice::<Device>(&entry.value) {
            Ok(device) if device.id.as_str() == entry.key => {
                if scheduled
                    .get(&entry.key)
                    .is_some_and(|s| s.device == device)
                {
                    return;
                }
                tracing::info!(device = %device.id, interval = device.interval, "scheduling device");
                let task = tokio::spawn(publish_jobs(client.clone(), device.clone()));
                scheduled.insert(entry.key, Scheduled { device, task });
            }
            Ok(_) | Err(_) => {
                tracing::warn!(key = %entry.key, "ignoring invalid registry entry");
                scheduled.remove(&entry.key);
            }
        },
        kv::Operation::Delete | kv::Operation::Purge => {
            if scheduled.remove(&entry.key).is_some() {
                tracing::info!(device = %entry.key, "device removed, polling stopped");
            }
        }
    }
}

/// Publishes a poll job for `device` at each of its slots, until aborted.
async fn publish_jobs(client: async_nats::Client, device: Device) {
    let subject = subjects::poll(&device.id);
    let interval = plan::interval_ms(&device);
    let mut slot = plan::next_slot(&device, time::now_ms());
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
