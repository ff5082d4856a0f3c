//! netpulse-scheduler: turns the device registry into a stream of poll jobs.
//!
//! It watches the registry bucket and keeps every device's next slot (see [`plan`]) in one
//! [`slots::SlotTable`]; every [`slots::TICK`] it takes the devices due and publishes their
//! poll jobs together, up to [`MAX_JOBS_PER_BATCH`] to a message, on `netpulse.polls`
//! (each batch taken by one poller). A new or changed device is (re)scheduled at once, a
//! deleted one stops at once: no restart needed. Devices shown in a live view get their
//! one-second jobs on `netpulse.poll.<device>` besides.
//!
//! It also follows every poll's outcome (the pollers' batches on `netpulse.outcomes`, not the
//! samples themselves) and derives each device's reachability (see [`reachability`]):
//! transitions go out once on `netpulse.status.<device>` and the current state is kept in
//! the `netpulse_status` bucket.
//!
//! Several schedulers may run: one leads and does all of this, the others stand by (see
//! [`lease`]). Every job and transition the leader publishes checks its lease's fence first.

pub mod plan;
pub mod reachability;
pub mod slots;

use std::collections::HashMap;
use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use netpulse_shared::config::NatsSettings;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::discovery::{DeviceInterfaces, DiscoveryJob};
use netpulse_shared::messages::{
    DeviceStatus, PollOutcomes, Reachability, MAX_JOBS_PER_BATCH, SCHEMA_VERSION,
};
use netpulse_shared::{bus, lease, subjects, time};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::reachability::Tracker;
use crate::slots::{Due, SlotTable};

/// `[scheduler]` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SchedulerSettings {
    /// Failed polls in a row after which a device is down. Default 3.
    pub down_after: u32,
    /// Longest time between polls of a device that is down, in seconds. Default 60.
    pub down_backoff_max_secs: u64,
    /// Seconds between interface discoveries of each device. Default 3600.
    pub discovery_interval_secs: u64,
    /// Milliseconds between the polls of a device shown in a browser's live view, in
    /// addition to its normal ones (none for a device whose own interval is as short).
    /// At least 200. Default 1000. A device's own `live_interval_ms` can only slow it.
    pub live_interval_ms: u64,
    /// Store the live view's samples too (in the samples stream, like the normal ones).
    /// Default false: they are shown, not stored.
    pub record_live: bool,
    /// Milliseconds a leader's lease lasts unless renewed (at least 1000). Default 5000. Of
    /// several schedulers one leads; when it dies, devices go at most
    /// [`lease::longest_gap_ms`] (1.2 × this + 0.5 s) without a poll job, which is within two
    /// intervals for devices polled at least that far apart (every 4 s at the default); when
    /// it stops cleanly, another takes over within half a second.
    pub lease_ms: u64,
    /// Copies of each JetStream stream and bucket this service opens: `nats.replicas`,
    /// copied here by the binary (not read from this section). Default 1.
    #[serde(skip)]
    pub replicas: usize,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            down_after: 3,
            down_backoff_max_secs: 60,
            discovery_interval_secs: 3600,
            live_interval_ms: 1000,
            record_live: false,
            lease_ms: 5000,
            replicas: 1,
        }
    }
}

/// Everything the scheduler binary reads from configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// `[nats]`.
    pub nats: NatsSettings,
    /// `[scheduler]`.
    pub scheduler: SchedulerSettings,
}

/// Publishes for this scheduler while it leads: nothing once its lease's [`lease::Fence`]
/// has passed, whatever the task publishing is doing.
#[derive(Clone)]
struct LeaderPublisher {
    client: async_nats::Client,
    fence: lease::Fence,
}

impl LeaderPublisher {
    /// Whether this scheduler still leads.
    fn leads(&self) -> bool {
        self.fence.allows(time::now_ms())
    }

    /// Publishes `payload` on `subject` if this scheduler still leads; drops it if not (its
    /// tasks go on skipping until `run` ends them, or a late renewal lets them go on).
    async fn publish(
        &self,
        subject: String,
        payload: Vec<u8>,
    ) -> Result<(), async_nats::PublishError> {
        if !self.leads() {
            return Ok(());
        }
        self.client.publish(subject, payload.into()).await
    }
}

/// One scheduled device: its definition, its reachability and where its polls stand.
struct Scheduled {
    device: Device,
    /// The discovery the current poll plan was built from.
    discovered: Option<DeviceInterfaces>,
    /// Its poll job, encoded once per plan: each slot's copy gets its id and deadline.
    job: plan::PreparedJob,
    /// When discovery was last requested, Unix milliseconds.
    discovery_requested_ms: u64,
    tracker: Tracker,
    /// The earliest slot that may be published, Unix milliseconds: past the last one
    /// published, so a rescheduled device never publishes a slot again.
    resume_ms: u64,
    /// The last slot a job was published for (while down, polls skip slots from it).
    last_polled: Option<u64>,
    /// This schedule's generation in the slot table.
    generation: u64,
}

/// The scheduler's working state.
struct Scheduler {
    publisher: LeaderPublisher,
    /// The first slot this leader may publish (see [`lease::first_slot_not_before`]).
    not_before_ms: u64,
    status: kv::Store,
    interfaces: kv::Store,
    /// The latest discovery of each device.
    discovered: HashMap<DeviceId, DeviceInterfaces>,
    /// Each device's reachability as the status bucket held it when this leader began, until
    /// the device is scheduled.
    known: HashMap<DeviceId, DeviceStatus>,
    settings: SchedulerSettings,
    devices: HashMap<DeviceId, Scheduled>,
    /// When each device is next due.
    slots: SlotTable,
    /// The generation the next (re)scheduled device gets.
    next_generation: u64,
    /// Devices shown in a live view: until when, and the task polling them every second.
    live: HashMap<DeviceId, (u64, JoinHandle<()>)>,
}

/// Longest a watch may hold without being renewed.
const MAX_WATCH_TTL_MS: u64 = 30_000;

/// Schedules polls for every device in the registry and tracks their reachability until
/// `shutdown` resolves, while this scheduler leads (see [`lease`]); stands by otherwise.
pub async fn run(
    client: async_nats::Client,
    settings: SchedulerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let js = jetstream::new(client.clone());
    // On a cluster that is starting or just lost a node, JetStream may not answer yet.
    let leases = bus::Bucket::SCHEDULER_LEASE
        .open_when_ready(&js, settings.replicas)
        .await?;
    let lease_ms = settings.lease_ms.max(1000);
    let led = lease::lead_while_holding(leases, "scheduler", lease_ms, shutdown, |fence, stop| {
        let publisher = LeaderPublisher {
            client: client.clone(),
            fence,
        };
        let not_before_ms = lease::first_slot_not_before(time::now_ms(), lease_ms);
        lead(publisher, settings.clone(), not_before_ms, stop.stopped())
    })
    .await;
    client.drain().await.ok();
    led
}

/// Every device's reachability in the status bucket now, read in one pass (a watch of its
/// latest values); empty, with a warning, if that takes longer than 5 s (a stream without a
/// leader yet): devices then start as unknown rather than hold their polls up.
async fn known_statuses(status: &kv::Store) -> HashMap<DeviceId, DeviceStatus> {
    let read = async {
        let mut known = HashMap::new();
        let held = status.status().await.map(|s| s.values()).unwrap_or(1);
        if held == 0 {
            return Ok::<_, kv::WatchError>(known);
        }
        let mut entries = status.watch_with_history(">").await?;
        while let Some(entry) = entries.next().await {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    tracing::debug!(%error, "status entry unreadable");
                    continue;
                }
            };
            if entry.operation == kv::Operation::Put {
                if let (Ok(id), Ok(last)) = (
                    DeviceId::parse(&entry.key),
                    serde_json::from_slice::<DeviceStatus>(&entry.value),
                ) {
                    known.insert(id, last);
                }
            }
            if entry.delta == 0 {
                break;
            }
        }
        Ok(known)
    };
    match tokio::time::timeout(Duration::from_secs(5), read).await {
        Ok(Ok(known)) => known,
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot read reachability states; devices start unknown");
            HashMap::new()
        }
        Err(_) => {
            tracing::warn!("reading reachability states timed out; devices start unknown");
            HashMap::new()
        }
    }
}

/// Leads until `shutdown` resolves: publishes every device's jobs from `not_before_ms` on
/// and tracks reachability, through `publisher`.
async fn lead(
    publisher: LeaderPublisher,
    settings: SchedulerSettings,
    not_before_ms: u64,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let client = publisher.client.clone();
    let js = jetstream::new(client.clone());
    // Leading may start while the cluster elects leaders (a node lost): wait for JetStream
    // rather than give up the lead.
    let replicas = settings.replicas;
    let registry = bus::Bucket::DEVICES.open_when_ready(&js, replicas).await?;
    let status = bus::Bucket::STATUS.open_when_ready(&js, replicas).await?;
    let interfaces = bus::Bucket::INTERFACES
        .open_when_ready(&js, replicas)
        .await?;
    let mut outcomes = client.subscribe(subjects::OUTCOMES).await?;
    let known = known_statuses(&status).await;
    let mut scheduler = Scheduler {
        publisher,
        not_before_ms,
        status,
        interfaces,
        discovered: HashMap::new(),
        known,
        settings,
        devices: HashMap::new(),
        slots: SlotTable::default(),
        next_generation: 0,
        live: HashMap::new(),
    };
    let mut slot_tick = tokio::time::interval(slots::TICK);
    slot_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut viewers = client.subscribe(subjects::WATCH).await?;
    let mut live_tick = tokio::time::interval(Duration::from_secs(1));
    let mut discovery_tick = tokio::time::interval(Duration::from_secs(15));
    tokio::pin!(shutdown);
    tracing::info!("scheduler ready");
    // Every device and discovery first, then each change. While a watch is opened again (a
    // stream changing leader can take seconds), jobs go on.
    let mut devices = bus::Following::new(registry);
    let mut discoveries = bus::Following::new(scheduler.interfaces.clone());
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            entry = devices.next() => scheduler.apply(entry).await,
            entry = discoveries.next() => scheduler.discovered(entry),
            _ = slot_tick.tick() => scheduler.publish_due(time::now_ms()).await,
            _ = discovery_tick.tick() => scheduler.rediscover().await,
            _ = live_tick.tick() => scheduler.expire_live(time::now_ms()),
            Some(message) = viewers.next() => {
                match serde_json::from_slice::<netpulse_shared::messages::Watch>(&message.payload) {
                    Ok(watch) => scheduler.watch(&watch, time::now_ms()),
                    Err(error) => tracing::debug!(%error, "ignoring a malformed watch"),
                }
            }
            Some(message) = outcomes.next() => {
                match serde_json::from_slice::<PollOutcomes>(&message.payload) {
                    Ok(batch) => {
                        for outcome in batch.outcomes {
                            scheduler
                                .outcome(&outcome.device, outcome.time_ms, outcome.failure.as_deref())
                                .await;
                            if outcome.interfaces_vanished {
                                scheduler.interfaces_changed(&outcome.device).await;
                            }
                        }
                    }
                    Err(error) => tracing::debug!(%error, "ignoring malformed poll outcomes"),
                }
            }
        }
    }
    scheduler.stop_live_views();
    scheduler.devices.clear();
    scheduler.slots.clear();
    Ok(())
}

impl Scheduler {
    /// Starts (or keeps) polling the watched devices every second.
    fn watch(&mut self, watch: &netpulse_shared::messages::Watch, now_ms: u64) {
        let until = now_ms + watch.ttl_ms.min(MAX_WATCH_TTL_MS);
        for id in &watch.devices {
            let Some(scheduled) = self.devices.get(id) else {
                continue;
            };
            let Some(every) =
                plan::live_every_ms(self.settings.live_interval_ms, &scheduled.device)
            else {
                // Its normal polls are as fast as the live view's would be.
                continue;
            };
            match self.live.get_mut(id) {
                Some((expires, _)) => *expires = (*expires).max(until),
                None => {
                    tracing::info!(device = %id, "live view: polling every second");
                    let task = tokio::spawn(publish_live_jobs(
                        self.publisher.clone(),
                        scheduled.device.clone(),
                        scheduled.discovered.clone(),
                        every,
                        self.settings.record_live,
                    ));
                    self.live.insert(id.clone(), (until, task));
                }
            }
        }
    }

    /// Stops the live polling of devices no browser has shown for a while.
    fn expire_live(&mut self, now_ms: u64) {
        self.live.retain(|id, (expires, task)| {
            let keep = *expires > now_ms;
            if !keep {
                task.abort();
                tracing::info!(device = %id, "live view closed: back to the normal interval");
            }
            keep
        });
    }

    fn stop_live(&mut self, id: &DeviceId) {
        if let Some((_, task)) = self.live.remove(id) {
            task.abort();
        }
    }

    fn stop_live_views(&mut self) {
        for (_, (_, task)) in self.live.drain() {
            task.abort();
        }
    }

    async fn apply(&mut self, entry: kv::Entry) {
        let Ok(id) = DeviceId::parse(&entry.key) else {
            tracing::warn!(key = %entry.key, "ignoring registry entry with an invalid key");
            return;
        };
        match entry.operation {
            kv::Operation::Put => match serde_json::from_slice::<Device>(&entry.value) {
                Ok(device) if device.id == id => {
                    let previous = self.devices.get(&id).map(|s| s.device.clone());
                    if previous.as_ref() == Some(&device) {
                        return;
                    }
                    tracing::info!(device = %device.id, interval = device.interval, "scheduling device");
                    // A new agent or new credentials: learn its interfaces again.
                    let rediscover = previous.as_ref().is_none_or(|p| {
                        p.address != device.address
                            || p.version != device.version
                            || p.community != device.community
                            || p.v3 != device.v3
                    });
                    self.schedule(device).await;
                    if rediscover || !self.discovered.contains_key(&id) {
                        self.request_discovery(&id).await;
                    }
                }
                Ok(_) | Err(_) => {
                    tracing::warn!(key = %entry.key, "ignoring invalid registry entry");
                    self.devices.remove(&id);
                }
            },
            kv::Operation::Delete | kv::Operation::Purge => {
                self.stop_live(&id);
                if self.devices.remove(&id).is_some() {
                    tracing::info!(device = %id, "device removed, polling stopped");
                }
                if let Err(error) = self.status.purge(id.as_str()).await {
                    tracing::warn!(device = %id, %error, "cannot clear reachability");
                }
                if let Err(error) = self.interfaces.purge(id.as_str()).await {
                    tracing::warn!(device = %id, %error, "cannot clear interfaces");
                }
            }
        }
    }

    /// (Re)schedules `device` with the current discovery, from its next slot on.
    async fn schedule(&mut self, device: Device) {
        let id = device.id.clone();
        // A changed device: its live view restarts with the new settings at the next watch.
        self.stop_live(&id);
        let (tracker, requested, resume_ms) = match self.devices.remove(&id) {
            Some(previous) => (
                previous.tracker,
                previous.discovery_requested_ms,
                previous.resume_ms,
            ),
            None => (self.restore(&id), 0, self.not_before_ms),
        };
        let discovered = self.discovered.get(&id).cloned();
        let job = plan::PreparedJob::new(&device, discovered.as_ref());
        self.next_generation += 1;
        let generation = self.next_generation;
        let first = plan::next_slot(&device, time::now_ms().max(resume_ms));
        self.slots.insert(first, id.clone(), generation);
        self.devices.insert(
            id,
            Scheduled {
                device,
                discovered,
                job,
                discovery_requested_ms: requested,
                tracker,
                resume_ms,
                last_polled: None,
                generation,
            },
        );
    }

    /// Publishes the jobs of every device due by `now_ms`, in batches, and enters each at
    /// its next slot.
    async fn publish_due(&mut self, now_ms: u64) {
        if self.slots.is_empty() {
            return;
        }
        let due = self.slots.take_due(now_ms);
        let mut batch = Vec::new();
        let mut in_batch = 0;
        for due in due {
            if in_batch == 0 {
                batch.clear();
                let _ = write!(batch, "{{\"schema\":{SCHEMA_VERSION},\"jobs\":[");
            } else {
                batch.push(b',');
            }
            if self.write_job_due(due, now_ms, &mut batch) {
                in_batch += 1;
            } else if in_batch > 0 {
                batch.pop();
            }
            if in_batch == MAX_JOBS_PER_BATCH {
                self.publish_batch(&mut batch, in_batch).await;
                in_batch = 0;
            }
        }
        if in_batch > 0 {
            self.publish_batch(&mut batch, in_batch).await;
        }
    }

    /// Closes and publishes a batch of `jobs` jobs.
    async fn publish_batch(&self, batch: &mut Vec<u8>, jobs: usize) {
        batch.extend_from_slice(b"]}");
        let payload = std::mem::take(batch);
        if let Err(error) = self
            .publisher
            .publish(subjects::POLL_BATCH.to_owned(), payload)
            .await
        {
            tracing::warn!(%error, jobs, "cannot publish poll jobs");
        }
    }

    /// Writes the job of a device come due to `out`, if it is polled at this slot (not
    /// while a down device skips slots, not a stale entry); enters the device at its next
    /// slot. Whether it wrote one.
    fn write_job_due(&mut self, due: Due, now_ms: u64, out: &mut Vec<u8>) -> bool {
        let Some(scheduled) = self
            .devices
            .get_mut(&due.device)
            .filter(|s| s.generation == due.generation)
        else {
            return false;
        };
        let interval = plan::interval_ms(&scheduled.device);
        if now_ms >= due.slot_ms + interval {
            // Fell behind by a whole interval (suspended, clock jump): skip to the next slot.
            let next = plan::next_slot(&scheduled.device, now_ms);
            self.slots.insert(next, due.device, due.generation);
            return false;
        }
        self.slots
            .insert(due.slot_ms + interval, due.device.clone(), due.generation);
        let every = scheduled
            .tracker
            .slots_between_polls(
                Duration::from_millis(interval),
                Duration::from_secs(self.settings.down_backoff_max_secs),
            )
            .max(1);
        if scheduled
            .last_polled
            .is_some_and(|last| due.slot_ms < last + every * interval)
        {
            return false;
        }
        scheduled.last_polled = Some(due.slot_ms);
        scheduled.resume_ms = due.slot_ms + 1;
        scheduled
            .job
            .write(out, &due.device, due.slot_ms, due.slot_ms + interval);
        true
    }

    /// Asks the pollers to discover a device's interfaces.
    async fn request_discovery(&mut self, id: &DeviceId) {
        let Some(scheduled) = self.devices.get_mut(id) else {
            return;
        };
        scheduled.discovery_requested_ms = time::now_ms();
        let job = DiscoveryJob::for_device(&scheduled.device, self.discovered.get(id));
        match serde_json::to_vec(&job) {
            Ok(payload) => {
                if let Err(error) = self
                    .publisher
                    .publish(subjects::discover(id), payload)
                    .await
                {
                    tracing::warn!(device = %id, %error, "cannot request discovery");
                }
            }
            Err(error) => tracing::error!(%error, "cannot encode discovery job"),
        }
    }

    /// Requests discovery of every device whose last one is older than the discovery interval
    /// (or missing, retried every minute).
    async fn rediscover(&mut self) {
        let now = time::now_ms();
        let every = self.settings.discovery_interval_secs.max(60) * 1000;
        let due: Vec<DeviceId> = self
            .devices
            .iter()
            .filter(|(id, s)| {
                let last = self.discovered.get(*id).map(|d| d.time_ms);
                let retry_after = if last.is_some() { every } else { 60_000 };
                now.saturating_sub(last.unwrap_or(0).max(s.discovery_requested_ms)) >= retry_after
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.request_discovery(&id).await;
        }
    }

    /// A polled interface is gone (renumbered or removed): discover again, at most once
    /// every 10 seconds per device.
    async fn interfaces_changed(&mut self, id: &DeviceId) {
        let recently = self
            .devices
            .get(id)
            .is_some_and(|s| time::now_ms().saturating_sub(s.discovery_requested_ms) < 10_000);
        if !recently {
            tracing::info!(device = %id, "polled interfaces vanished; discovering again");
            self.request_discovery(id).await;
        }
    }

    /// A discovery result arrived (or was removed): re-plan that device's polls.
    fn discovered(&mut self, entry: kv::Entry) {
        let Ok(id) = DeviceId::parse(&entry.key) else {
            return;
        };
        match entry.operation {
            kv::Operation::Put => match serde_json::from_slice::<DeviceInterfaces>(&entry.value) {
                Ok(found) if found.device == id => {
                    self.discovered.insert(id.clone(), found);
                }
                _ => return,
            },
            kv::Operation::Delete | kv::Operation::Purge => {
                self.discovered.remove(&id);
            }
        }
        let Some(scheduled) = self.devices.get_mut(&id) else {
            return;
        };
        let now = self.discovered.get(&id).cloned();
        let before = plan::plan(&scheduled.device, scheduled.discovered.as_ref());
        let after = plan::plan(&scheduled.device, now.as_ref());
        scheduled.discovered = now.clone();
        if before == after {
            return;
        }
        tracing::info!(device = %id, interfaces = after.1.len(), "poll plan follows discovery");
        scheduled.job = plan::PreparedJob::new(&scheduled.device, scheduled.discovered.as_ref());
    }

    /// The tracker of a device, from what the status bucket held when this leader began.
    fn restore(&mut self, id: &DeviceId) -> Tracker {
        let mut tracker = Tracker::new(id.clone(), self.settings.down_after);
        if let Some(last) = self.known.remove(id) {
            tracker.restore(&last);
        }
        tracker
    }

    async fn outcome(&mut self, id: &DeviceId, time_ms: u64, failure: Option<&str>) {
        // Past the fence, the next leader follows reachability (from the status bucket).
        if !self.publisher.leads() {
            return;
        }
        let Some(scheduled) = self.devices.get_mut(id) else {
            return;
        };
        let before = scheduled.tracker.status();
        let change = match failure {
            None => scheduled.tracker.succeeded(time_ms),
            Some(reason) => scheduled.tracker.failed(time_ms, reason),
        };
        let after = scheduled.tracker.status();
        // Store on a transition, or when the error shown changes (the first failure, a new
        // reason, or recovery): not on every poll.
        if change.is_some() || before.last_error != after.last_error {
            match serde_json::to_vec(&after) {
                Ok(bytes) => {
                    if let Err(error) = self.status.put(id.as_str(), bytes.into()).await {
                        tracing::warn!(device = %id, %error, "cannot store reachability");
                    }
                }
                Err(error) => tracing::error!(%error, "cannot encode device status"),
            }
        }
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
        if let Err(error) = self.publisher.publish(subjects::status(id), payload).await {
            tracing::warn!(device = %id, %error, "cannot publish reachability");
        }
    }
}

/// Publishes a live-view poll job for `device` every `every` milliseconds while this scheduler
/// leads, until aborted; with `record`, its samples are stored like the normal ones.
async fn publish_live_jobs(
    publisher: LeaderPublisher,
    device: Device,
    discovered: Option<DeviceInterfaces>,
    every: u64,
    record: bool,
) {
    let subject = subjects::poll(&device.id);
    let mut tick = tokio::time::interval(Duration::from_millis(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let now = time::now_ms();
        let mut job = plan::job(&device, discovered.as_ref(), now);
        job.job_id = format!("{}-live-{now}", device.id);
        job.deadline_ms = now + every;
        job.live = true;
        job.record = record;
        match serde_json::to_vec(&job) {
            Ok(payload) => {
                if let Err(error) = publisher.publish(subject.clone(), payload).await {
                    tracing::warn!(device = %device.id, %error, "cannot publish live poll job");
                }
            }
            Err(error) => tracing::error!(%error, "cannot encode poll job"),
        }
    }
}
