//! netpulse-alerter: tells people when a device, a link or a value goes wrong.
//!
//! It follows samples and failed polls (`netpulse.sample.*`, `netpulse.failure.*`), each
//! device's reachability (the `netpulse_status` bucket), the registry, and the alert rules,
//! silences and acknowledgements the gateway writes; [`engine`] turns them into alerts,
//! [`notify`] delivers their notifications. Pending and firing alerts, with the
//! notifications not yet delivered, are kept in the `netpulse_alerts` bucket, so an alerter
//! that takes over (after a restart, or as the standby of one that died) goes on from there:
//! it neither repeats a notification already sent nor loses one due. Every transition is
//! published on `netpulse.alert.<device>`.
//!
//! Several alerters may run: one leads, by the same lease as the scheduler's
//! ([`netpulse_shared::lease`], bucket `netpulse_alerter_lease`); the others stand by.

pub mod engine;
pub mod facts;
pub mod notify;

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use netpulse_shared::alert::{Ack, Alert, AlertRule, Channel, ChannelTarget, Silence};
use netpulse_shared::config::NatsSettings;
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::lease::{self, Fence};
use netpulse_shared::messages::{DeviceStatus, PollFailure, Sample};
use netpulse_shared::usm::Secret;
use netpulse_shared::{bus, subjects, time};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::engine::{Effect, Engine, Input};
use crate::notify::{Notifier, Smtp, SmtpSecurity};

/// `[alerter]` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AlerterSettings {
    /// Milliseconds a leader's lease lasts unless renewed (at least 1000). Default 5000.
    pub lease_ms: u64,
    /// The dashboard's address, for the links in notifications. Default
    /// `http://127.0.0.1:8080`.
    pub dashboard_url: String,
    /// Milliseconds between checks of hold-downs, repeats and silences. Default 1000.
    pub evaluate_ms: u64,
    /// The SMTP server e-mail channels send through. Default none: e-mail channels fail
    /// with "no SMTP server set".
    pub smtp_host: Option<String>,
    /// Its port. Default 587.
    pub smtp_port: u16,
    /// `starttls` (default), `tls` or `none`.
    pub smtp_security: SmtpSecurity,
    /// User name for SMTP authentication. Default none.
    pub smtp_user: Option<String>,
    /// Password for SMTP authentication (secret). Default none.
    pub smtp_password: Option<Secret>,
    /// The sender of e-mail notifications. Default `netpulse@localhost`.
    pub smtp_from: String,
    /// Milliseconds each delivery attempt may take. Default 10000.
    pub delivery_timeout_ms: u64,
    /// Copies of each JetStream stream and bucket this service opens: `nats.replicas`,
    /// copied here by the binary (not read from this section). Default 1.
    #[serde(skip)]
    pub replicas: usize,
}

impl Default for AlerterSettings {
    fn default() -> Self {
        Self {
            lease_ms: 5000,
            dashboard_url: "http://127.0.0.1:8080".into(),
            evaluate_ms: 1000,
            smtp_host: None,
            smtp_port: 587,
            smtp_security: SmtpSecurity::Starttls,
            smtp_user: None,
            smtp_password: None,
            smtp_from: "netpulse@localhost".into(),
            delivery_timeout_ms: 10_000,
            replicas: 1,
        }
    }
}

impl AlerterSettings {
    fn smtp(&self) -> Option<Smtp> {
        let host = self.smtp_host.clone().filter(|h| !h.is_empty())?;
        Some(Smtp {
            host,
            port: self.smtp_port,
            security: self.smtp_security.clone(),
            credentials: self.smtp_user.clone().map(|user| {
                let password = self.smtp_password.as_ref().map(Secret::expose);
                (user, password.unwrap_or_default().to_owned())
            }),
            from: self.smtp_from.clone(),
        })
    }
}

/// Everything the alerter binary reads from configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// `[nats]`.
    pub nats: NatsSettings,
    /// `[alerter]`.
    pub alerter: AlerterSettings,
}

/// How often a firing alert is posted to Alertmanager again.
const ALERTMANAGER_REFRESH: Duration = Duration::from_secs(15 * 60);
/// Inputs queued for the engine.
const QUEUE: usize = 8192;

/// Evaluates alert rules and notifies until `shutdown` resolves, while this alerter leads;
/// stands by otherwise.
pub async fn run(
    client: async_nats::Client,
    settings: AlerterSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let js = jetstream::new(client.clone());
    let leases = bus::Bucket::ALERTER_LEASE
        .open_when_ready(&js, settings.replicas)
        .await?;
    let lease_ms = settings.lease_ms.max(1000);
    let led = lease::lead_while_holding(leases, "alerter", lease_ms, shutdown, |fence, stop| {
        lead(client.clone(), settings.clone(), fence, stop.stopped())
    })
    .await;
    client.drain().await.ok();
    led
}

/// What the leader reads and writes.
struct Leader {
    client: async_nats::Client,
    alerts: kv::Store,
    notifier: Notifier,
    fence: Fence,
    engine: Engine,
}

impl Leader {
    /// Applies one input and carries out what it gives, while this alerter leads.
    async fn apply(&mut self, input: Input) {
        let effects = self.engine.apply(input, time::now_ms());
        for effect in effects {
            if !self.fence.allows(time::now_ms()) {
                return;
            }
            self.carry_out(effect).await;
        }
    }

    async fn carry_out(&self, effect: Effect) {
        match effect {
            Effect::Save(alert) => match serde_json::to_vec(&alert) {
                Ok(bytes) => {
                    if let Err(error) = self.alerts.put(&alert.id, bytes.into()).await {
                        tracing::warn!(%error, alert = %alert.id, "cannot store the alert");
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot encode the alert"),
            },
            Effect::Forget(id) => {
                if let Err(error) = self.alerts.purge(&id).await {
                    tracing::warn!(%error, alert = %id, "cannot remove the resolved alert");
                }
            }
            Effect::Publish(event) => {
                tracing::info!(
                    event = %event.event,
                    alert = %event.alert.id,
                    rule = %event.alert.rule_name,
                    device = %event.alert.device,
                    "alert"
                );
                if let Ok(bytes) = serde_json::to_vec(&event) {
                    let subject = subjects::alert(&event.alert.device);
                    if let Err(error) = self.client.publish(subject, bytes.into()).await {
                        tracing::warn!(%error, "cannot publish an alert transition");
                    }
                }
            }
            Effect::Deliver(alert, delivery) => self.notifier.deliver(alert, delivery),
        }
    }

    /// Posts every firing alert notified to an Alertmanager again.
    async fn refresh_alertmanagers(&self, channels: &std::collections::HashMap<String, Channel>) {
        for alert in self.engine.active() {
            if alert.notified_ms.is_none() {
                continue;
            }
            for channel in self.engine.channels_of(&alert.rule) {
                if matches!(
                    channels.get(channel).map(|c| &c.target),
                    Some(ChannelTarget::Alertmanager { .. })
                ) {
                    self.notifier.refresh(alert, channel).await;
                }
            }
        }
    }
}

/// Leads until `shutdown` resolves.
async fn lead(
    client: async_nats::Client,
    settings: AlerterSettings,
    fence: Fence,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let js = jetstream::new(client.clone());
    let replicas = settings.replicas;
    let buckets = bus::until_set_up(|| bus::alert_buckets(&js, replicas)).await?;
    let registry = bus::Bucket::DEVICES.open_when_ready(&js, replicas).await?;
    let status = bus::Bucket::STATUS.open_when_ready(&js, replicas).await?;
    bus::until_set_up(|| bus::alerts_stream(&js, replicas)).await?;
    let (inputs, mut queue) = mpsc::channel::<Input>(QUEUE);
    let notifier = Notifier::new(
        settings.smtp(),
        settings.dashboard_url.clone(),
        buckets.health.clone(),
        Duration::from_millis(settings.delivery_timeout_ms.max(100)),
        inputs.clone(),
    )?;
    let mut leader = Leader {
        client: client.clone(),
        alerts: buckets.alerts.clone(),
        notifier: notifier.clone(),
        fence,
        engine: Engine::default(),
    };
    // What there is now, in an order that lets each part find what it refers to; then the
    // alerts an earlier leader kept. The watches below start from the same values again
    // (applying them twice changes nothing) and follow every change.
    let mut channels = std::collections::HashMap::new();
    for channel in bus::bucket_values::<Channel>(&buckets.channels).await? {
        notifier.channel_changed(channel.clone()).await;
        channels.insert(channel.id.clone(), channel);
    }
    for device in bus::bucket_values::<Device>(&registry).await? {
        leader.apply(Input::Device(Box::new(device))).await;
    }
    for rule in bus::bucket_values::<AlertRule>(&buckets.rules).await? {
        leader.apply(Input::Rule(Box::new(rule))).await;
    }
    for silence in bus::bucket_values::<Silence>(&buckets.silences).await? {
        leader.apply(Input::Silence(Box::new(silence))).await;
    }
    for ack in bus::bucket_values::<Ack>(&buckets.acks).await? {
        leader.apply(Input::Ack(ack)).await;
    }
    let kept = bus::bucket_values::<Alert>(&buckets.alerts).await?;
    tracing::info!(alerts = kept.len(), "leading: alerts taken over");
    leader.apply(Input::Restore(kept)).await;
    for state in bus::bucket_values::<DeviceStatus>(&status).await? {
        leader.apply(Input::Status(state)).await;
    }
    let feeders = [
        tokio::spawn(follow(registry, inputs.clone(), |id, value| match value {
            Some(bytes) => serde_json::from_slice::<Device>(bytes)
                .ok()
                .map(|d| Input::Device(Box::new(d))),
            None => DeviceId::parse(id).ok().map(Input::DeviceRemoved),
        })),
        tokio::spawn(follow(
            buckets.rules.clone(),
            inputs.clone(),
            |id, value| match value {
                Some(bytes) => serde_json::from_slice::<AlertRule>(bytes)
                    .ok()
                    .map(|r| Input::Rule(Box::new(r))),
                None => Some(Input::RuleRemoved(id.to_owned())),
            },
        )),
        tokio::spawn(follow(
            buckets.silences.clone(),
            inputs.clone(),
            |id, value| match value {
                Some(bytes) => serde_json::from_slice::<Silence>(bytes)
                    .ok()
                    .map(|s| Input::Silence(Box::new(s))),
                None => Some(Input::SilenceRemoved(id.to_owned())),
            },
        )),
        tokio::spawn(follow(buckets.acks.clone(), inputs.clone(), |_, value| {
            value
                .and_then(|bytes| serde_json::from_slice::<Ack>(bytes).ok())
                .map(Input::Ack)
        })),
        tokio::spawn(follow(status, inputs.clone(), |_, value| {
            value
                .and_then(|bytes| serde_json::from_slice::<DeviceStatus>(bytes).ok())
                .map(Input::Status)
        })),
        tokio::spawn(messages(
            client.clone(),
            subjects::SAMPLE_ALL,
            inputs.clone(),
            |bytes| {
                serde_json::from_slice::<Sample>(bytes)
                    .ok()
                    .map(|s| Input::Sample(Box::new(s)))
            },
        )),
        tokio::spawn(messages(
            client.clone(),
            subjects::FAILURE_ALL,
            inputs.clone(),
            |bytes| {
                serde_json::from_slice::<PollFailure>(bytes)
                    .ok()
                    .map(Input::Failure)
            },
        )),
    ];
    let (channel_changes, mut channel_updates) = mpsc::channel(64);
    let channel_feed = tokio::spawn(follow_channels(buckets.channels.clone(), channel_changes));
    drop(inputs);
    let mut ticks = tokio::time::interval(Duration::from_millis(settings.evaluate_ms.max(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refresh = tokio::time::interval(ALERTMANAGER_REFRESH);
    refresh.tick().await;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(input) = queue.recv() => leader.apply(input).await,
            Some(change) = channel_updates.recv() => match change {
                Ok(channel) => {
                    notifier.channel_changed(channel.clone()).await;
                    channels.insert(channel.id.clone(), channel);
                }
                Err(id) => {
                    notifier.channel_removed(&id).await;
                    channels.remove(&id);
                }
            },
            _ = ticks.tick() => leader.apply(Input::Tick).await,
            _ = refresh.tick() => leader.refresh_alertmanagers(&channels).await,
        }
    }
    for feeder in feeders {
        feeder.abort();
    }
    channel_feed.abort();
    Ok(())
}

/// Follows a bucket from its current values on, turning each entry (key, value or `None`
/// when deleted) into an input with `to_input`; watches again after an error.
async fn follow(
    store: kv::Store,
    inputs: mpsc::Sender<Input>,
    to_input: fn(&str, Option<&[u8]>) -> Option<Input>,
) {
    let mut changes = bus::Following::new(store);
    loop {
        let entry = changes.next().await;
        let value = (entry.operation == kv::Operation::Put).then_some(&entry.value[..]);
        if let Some(input) = to_input(&entry.key, value) {
            if inputs.send(input).await.is_err() {
                return;
            }
        }
    }
}

/// Follows the channels bucket: a channel added or changed, or the id of one deleted.
async fn follow_channels(store: kv::Store, changes: mpsc::Sender<Result<Channel, String>>) {
    let mut entries = bus::Following::new(store);
    loop {
        let entry = entries.next().await;
        let change = if entry.operation == kv::Operation::Put {
            match serde_json::from_slice::<Channel>(&entry.value) {
                Ok(channel) => Ok(channel),
                Err(_) => continue,
            }
        } else {
            Err(entry.key.clone())
        };
        if changes.send(change).await.is_err() {
            return;
        }
    }
}

/// Follows a subject, turning each message into an input with `to_input`.
async fn messages(
    client: async_nats::Client,
    subject: &'static str,
    inputs: mpsc::Sender<Input>,
    to_input: fn(&[u8]) -> Option<Input>,
) {
    let Ok(mut subscription) = client.subscribe(subject).await else {
        tracing::error!(subject, "cannot subscribe");
        return;
    };
    while let Some(message) = subscription.next().await {
        if let Some(input) = to_input(&message.payload) {
            if inputs.send(input).await.is_err() {
                return;
            }
        }
    }
}
