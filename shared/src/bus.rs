//! The NATS side every service shares: connecting, and declaring the samples stream and the
//! device registry bucket (idempotently, so any service may start first).

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

use crate::config::NatsSettings;
use crate::subjects;

/// Could not reach NATS or set up what netpulse needs on it.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// No connection within the configured time.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The server URL tried.
        url: String,
        /// The last error seen.
        reason: String,
    },
    /// A JetStream stream or bucket could not be created or opened.
    #[error("cannot set up JetStream {what}: {reason}")]
    JetStream {
        /// Which stream or bucket.
        what: &'static str,
        /// The server's answer.
        reason: String,
    },
}

/// Connects to NATS, retrying until `connect_timeout_secs` have passed (services may start
/// before the server does). With several servers (a cluster), each is tried in turn, and a
/// connection that drops later reconnects to any of them (or to a node the cluster announces)
/// for as long as the service runs: core subscriptions are made again by the client.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<async_nats::Client, BusError> {
    let urls = settings.servers();
    let shown = urls.join(",");
    let fail = |reason: String| BusError::Connect {
        url: shown.clone(),
        reason,
    };
    let servers = urls
        .iter()
        .map(|url| url.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if servers.is_empty() {
        return Err(fail("no server URL in nats.url or nats.urls".into()));
    }
    let give_up = tokio::time::Instant::now() + Duration::from_secs(settings.connect_timeout_secs);
    let mut wait = Duration::from_millis(100);
    loop {
        let mut options = async_nats::ConnectOptions::new()
            .name(name)
            // Every dropped connection is retried, whatever its length: the default, said here.
            .max_reconnects(None)
            .reconnect_delay_callback(reconnect_delay)
            .event_callback(|event| async move { connection_event(event) });
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            options = options.user_and_password(user.clone(), password.expose().to_owned());
        }
        let attempt = options.connect(servers.as_slice()).await;
        match attempt {
            Ok(client) => return Ok(client),
            Err(err) if tokio::time::Instant::now() + wait < give_up => {
                tracing::debug!(url = %shown, error = %err, "NATS not reachable yet, retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(err) => return Err(fail(err.to_string())),
        }
    }
}

/// Wait before reconnection attempt `attempts` (counted from 1 after a drop): at once, then
/// doubling from 100 ms to at most 2 s, so a restarted server or another node is found within
/// a couple of seconds.
fn reconnect_delay(attempts: usize) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(attempts - 2).unwrap_or(u32::MAX).min(5);
    (Duration::from_millis(100) * 2u32.pow(doublings)).min(Duration::from_secs(2))
}

/// Logs what happens to a service's NATS connection.
fn connection_event(event: async_nats::Event) {
    match event {
        async_nats::Event::Connected => tracing::info!("NATS connected"),
        async_nats::Event::Disconnected => {
            tracing::warn!("NATS connection lost, reconnecting to any server")
        }
        async_nats::Event::ClientError(error) => tracing::warn!(%error, "NATS client error"),
        other => tracing::debug!(event = %other, "NATS event"),
    }
}

/// Runs a JetStream set-up step (opening a stream or bucket) until it succeeds, for at most
/// `SETUP_PATIENCE`: on a cluster that is starting, or that just lost a node, the JetStream
/// API may not answer for several seconds while leaders are elected, and a service that gave
/// up then would stay down. Waits 250 ms, doubling to 4 s, between tries; each failure is
/// logged. The last error is returned once the time is up.
pub async fn until_set_up<T, F, Fut>(mut step: F) -> Result<T, BusError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, BusError>>,
{
    let deadline = tokio::time::Instant::now() + SETUP_PATIENCE;
    let mut pause = Duration::from_millis(250);
    loop {
        match step().await {
            Ok(done) => return Ok(done),
            Err(error) if tokio::time::Instant::now() + pause < deadline => {
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "JetStream not ready");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(4));
            }
            Err(error) => return Err(error),
        }
    }
}

/// How long [`until_set_up`] keeps trying.
pub const SETUP_PATIENCE: Duration = Duration::from_secs(60);

/// Every key of a bucket, from its current values on, then each change, for as long as it
/// is followed: the watch is opened again (from the current values) a second after it fails
/// or ends, so a follower rides out a stream changing leader or a lost connection. Its
/// [`Following::next`] may be a branch of a `select!`: a call dropped half way loses nothing.
pub struct Following {
    store: kv::Store,
    state: Watching,
}

/// Where a [`Following`] stands: watching, or opening its watch.
enum Watching {
    Open(Box<kv::Watch>),
    Opening(
        std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<kv::Watch, kv::WatchError>> + Send>,
        >,
    ),
}

impl Watching {
    /// Opening a watch of every key of `store` from its current values, after `after`.
    fn opening(store: &kv::Store, after: Duration) -> Self {
        let store = store.clone();
        Self::Opening(Box::pin(async move {
            tokio::time::sleep(after).await;
            store.watch_with_history(">").await
        }))
    }
}

impl Following {
    /// Follows `store`.
    pub fn new(store: kv::Store) -> Self {
        let state = Watching::opening(&store, Duration::ZERO);
        Self { store, state }
    }

    /// The next entry: a key's current value, a change, or a deletion.
    pub async fn next(&mut self) -> kv::Entry {
        use futures::StreamExt;
        loop {
            let bucket = self.store.name.as_str();
            match &mut self.state {
                Watching::Open(watch) => match watch.next().await {
                    Some(Ok(entry)) => return entry,
                    Some(Err(error)) => {
                        tracing::warn!(bucket, %error, "watch failed, watching again");
                        self.state = Watching::opening(&self.store, Duration::from_secs(1));
                    }
                    None => {
                        tracing::warn!(bucket, "watch ended, watching again");
                        self.state = Watching::opening(&self.store, Duration::from_secs(1));
                    }
                },
                Watching::Opening(opening) => match opening.await {
                    Ok(watch) => self.state = Watching::Open(Box::new(watch)),
                    Err(error) => {
                        tracing::warn!(bucket, %error, "cannot watch, retrying");
                        self.state = Watching::opening(&self.store, Duration::from_secs(1));
                    }
                },
            }
        }
    }
}

/// The samples stream: keeps every sample until the recorder has stored it, bounded by age
/// and size so a long outage cannot fill the disk. Deduplicates by sample id. Kept in
/// `replicas` copies (see [`with_replicas`]).
pub async fn samples_stream(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<stream::Stream, BusError> {
    let stream = js.get_or_create_stream(stream::Config {
        name: subjects::SAMPLES_STREAM.into(),
        subjects: vec![subjects::SAMPLE_ALL.into()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        max_age: Duration::from_secs(2 * 24 * 3600),
        max_bytes: 4 * 1024 * 1024 * 1024,
        duplicate_window: Duration::from_secs(120),
        num_replicas: replicas.max(1),
        ..Default::default()
    });
    with_replicas(js, stream.await, replicas, "samples stream").await
}

/// Sets the samples stream's limits (age and size) when they differ from `max_age` and
/// `max_bytes`: the recorder owns them, since they bound how long it may be away.
pub async fn limit_samples_stream(
    js: &jetstream::Context,
    replicas: usize,
    max_age: Duration,
    max_bytes: u64,
) -> Result<(), BusError> {
    let fail = |e: &dyn std::fmt::Display| BusError::JetStream {
        what: "samples stream",
        reason: e.to_string(),
    };
    let mut stream = samples_stream(js, replicas).await?;
    let mut config = stream.info().await.map_err(|e| fail(&e))?.config.clone();
    let bytes = i64::try_from(max_bytes).unwrap_or(i64::MAX);
    if config.max_age != max_age || config.max_bytes != bytes {
        config.max_age = max_age;
        config.max_bytes = bytes;
        js.update_stream(config).await.map_err(|e| fail(&e))?;
        tracing::info!(?max_age, max_bytes, "samples stream limits set");
    }
    Ok(())
}

/// Splits the samples and logs streams into `shards` partitions as they store messages (see
/// [`crate::shards`]), or stops splitting for one shard; changes only what differs. The
/// recorders own this: they are the streams' only readers. Messages stored before a change
/// keep their subjects.
pub async fn partition_streams(
    js: &jetstream::Context,
    replicas: usize,
    shards: u32,
) -> Result<(), BusError> {
    let samples = samples_stream(js, replicas).await?;
    let logs = logs_stream(js, replicas).await?;
    for (mut stream, transform, what) in [
        (
            samples,
            crate::shards::samples_transform(shards),
            "samples stream",
        ),
        (logs, crate::shards::logs_transform(shards), "logs stream"),
    ] {
        let fail = |e: &dyn std::fmt::Display| BusError::JetStream {
            what,
            reason: e.to_string(),
        };
        let wanted = transform.map(|(source, destination)| stream::SubjectTransform {
            source,
            destination,
        });
        let mut config = stream.info().await.map_err(|e| fail(&e))?.config.clone();
        if config.subject_transform != wanted {
            config.subject_transform = wanted;
            js.update_stream(config).await.map_err(|e| fail(&e))?;
            tracing::info!(what, shards, "stream partitioned for the recorder shards");
        }
    }
    Ok(())
}

/// The logs stream: timeline entries (`netpulse.log.*`) and reachability transitions
/// (`netpulse.status.*`) until the recorder has stored them; bounded like the samples stream.
/// Deduplicated by entry id. Kept in `replicas` copies.
pub async fn logs_stream(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<stream::Stream, BusError> {
    let stream = js.get_or_create_stream(stream::Config {
        name: subjects::LOGS_STREAM.into(),
        subjects: vec![subjects::LOG_ALL.into(), subjects::STATUS_ALL.into()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        max_age: Duration::from_secs(2 * 24 * 3600),
        max_bytes: 2 * 1024 * 1024 * 1024,
        duplicate_window: Duration::from_secs(120),
        num_replicas: replicas.max(1),
        ..Default::default()
    });
    with_replicas(js, stream.await, replicas, "logs stream").await
}

/// The events stream: audit and configuration events, kept a year (bounded in size), in
/// `replicas` copies.
pub async fn events_stream(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<stream::Stream, BusError> {
    let stream = js.get_or_create_stream(stream::Config {
        name: subjects::EVENTS_STREAM.into(),
        subjects: vec![subjects::EVENT_ALL.into()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        max_age: Duration::from_secs(365 * 24 * 3600),
        max_bytes: 1024 * 1024 * 1024,
        num_replicas: replicas.max(1),
        ..Default::default()
    });
    with_replicas(js, stream.await, replicas, "events stream").await
}

/// A key-value bucket the services share, kept in `nats.replicas` copies with one value per
/// key: its name and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// The bucket's name.
    pub name: &'static str,
    /// What it holds, as the server shows it.
    pub description: &'static str,
}

impl Bucket {
    /// Sources that sent logs but match no device: one key per address.
    pub const UNKNOWN_SOURCES: Bucket = Bucket {
        name: subjects::UNKNOWN_SOURCES_BUCKET,
        description: "netpulse log sources matching no device",
    };
    /// Users of the gateway: one key per user name.
    pub const USERS: Bucket = Bucket {
        name: "netpulse_users",
        description: "netpulse users",
    };
    /// Where each user placed the nodes of the map: one key per user name.
    pub const MAP_LAYOUTS: Bucket = Bucket {
        name: "netpulse_map_layouts",
        description: "netpulse map layouts",
    };
    /// API tokens of the gateway: one key per token id.
    pub const TOKENS: Bucket = Bucket {
        name: subjects::TOKENS_BUCKET,
        description: "netpulse API tokens",
    };
    /// The device registry: one key per device id, the value a device as JSON.
    pub const DEVICES: Bucket = Bucket {
        name: subjects::DEVICES_BUCKET,
        description: "netpulse device registry",
    };
    /// Discovered interfaces of every device: one key per device id.
    pub const INTERFACES: Bucket = Bucket {
        name: subjects::INTERFACES_BUCKET,
        description: "netpulse discovered interfaces",
    };
    /// Labels of the histories kept of deleted devices: one key per device id.
    pub const REMOVED: Bucket = Bucket {
        name: subjects::REMOVED_BUCKET,
        description: "netpulse removed devices with kept history",
    };
    /// The scheduler lease: one key naming the scheduler that leads.
    pub const SCHEDULER_LEASE: Bucket = Bucket {
        name: subjects::SCHEDULER_LEASE_BUCKET,
        description: "netpulse scheduler leadership",
    };
    /// Current reachability of every device: one key per device id.
    pub const STATUS: Bucket = Bucket {
        name: subjects::STATUS_BUCKET,
        description: "netpulse device reachability",
    };
    /// The alerter lease: one key naming the alerter that leads.
    pub const ALERTER_LEASE: Bucket = Bucket {
        name: subjects::ALERTER_LEASE_BUCKET,
        description: "netpulse alerter leadership",
    };
    /// Alert rules: see [`subjects::ALERT_RULES_BUCKET`].
    pub const ALERT_RULES: Bucket = Bucket {
        name: subjects::ALERT_RULES_BUCKET,
        description: "netpulse alert rules",
    };
    /// Notification channels: see [`subjects::ALERT_CHANNELS_BUCKET`].
    pub const ALERT_CHANNELS: Bucket = Bucket {
        name: subjects::ALERT_CHANNELS_BUCKET,
        description: "netpulse alert channels",
    };
    /// Silences and maintenance windows: see [`subjects::SILENCES_BUCKET`].
    pub const SILENCES: Bucket = Bucket {
        name: subjects::SILENCES_BUCKET,
        description: "netpulse silences",
    };
    /// Pending and firing alerts: see [`subjects::ALERTS_BUCKET`].
    pub const ALERTS: Bucket = Bucket {
        name: subjects::ALERTS_BUCKET,
        description: "netpulse active alerts",
    };
    /// Acknowledgements: see [`subjects::ALERT_ACKS_BUCKET`].
    pub const ALERT_ACKS: Bucket = Bucket {
        name: subjects::ALERT_ACKS_BUCKET,
        description: "netpulse alert acknowledgements",
    };
    /// Channels' delivery health: see [`subjects::CHANNEL_HEALTH_BUCKET`].
    pub const CHANNEL_HEALTH: Bucket = Bucket {
        name: subjects::CHANNEL_HEALTH_BUCKET,
        description: "netpulse alert channel health",
    };

    /// Opens (or creates) the bucket in `replicas` copies; an existing bucket with another
    /// number of replicas is changed to it.
    pub async fn open(
        self,
        js: &jetstream::Context,
        replicas: usize,
    ) -> Result<kv::Store, BusError> {
        bucket(js, replicas, self.name, self.description).await
    }

    /// [`Bucket::open`], tried again while JetStream is not ready (see [`until_set_up`]): how
    /// a service opens its buckets, so one that starts while a cluster elects its leaders
    /// waits rather than exits.
    pub async fn open_when_ready(
        self,
        js: &jetstream::Context,
        replicas: usize,
    ) -> Result<kv::Store, BusError> {
        until_set_up(|| self.open(js, replicas)).await
    }
}

/// Sign-in sessions of the gateways: one key per session. Entries vanish `max_age` after
/// their last write (the sessions' absolute limit, so only dead sessions go); when the bucket
/// exists with another `max_age` or number of replicas, it is changed to these.
pub async fn sessions_bucket(
    js: &jetstream::Context,
    replicas: usize,
    max_age: Duration,
) -> Result<kv::Store, BusError> {
    let fail = |e: &dyn std::fmt::Display| BusError::JetStream {
        what: subjects::SESSIONS_BUCKET,
        reason: e.to_string(),
    };
    if let Ok(mut stream) = js
        .get_stream(format!("KV_{}", subjects::SESSIONS_BUCKET))
        .await
    {
        let mut config = stream.info().await.map_err(|e| fail(&e))?.config.clone();
        if config.max_age != max_age || config.num_replicas != replicas.max(1) {
            config.max_age = max_age;
            config.num_replicas = replicas.max(1);
            js.update_stream(config).await.map_err(|e| fail(&e))?;
        }
        return js
            .get_key_value(subjects::SESSIONS_BUCKET)
            .await
            .map_err(|e| fail(&e));
    }
    js.create_key_value(kv::Config {
        bucket: subjects::SESSIONS_BUCKET.into(),
        description: "netpulse sign-in sessions".into(),
        history: 1,
        max_age,
        storage: stream::StorageType::File,
        num_replicas: replicas.max(1),
        ..Default::default()
    })
    .await
    .map_err(|e| fail(&e))
}

/// The alerting buckets, opened together: rules, channels, silences, alerts, acks, channel
/// health, each one key per id.
#[derive(Clone)]
pub struct AlertBuckets {
    /// [`subjects::ALERT_RULES_BUCKET`].
    pub rules: kv::Store,
    /// [`subjects::ALERT_CHANNELS_BUCKET`].
    pub channels: kv::Store,
    /// [`subjects::SILENCES_BUCKET`].
    pub silences: kv::Store,
    /// [`subjects::ALERTS_BUCKET`].
    pub alerts: kv::Store,
    /// [`subjects::ALERT_ACKS_BUCKET`].
    pub acks: kv::Store,
    /// [`subjects::CHANNEL_HEALTH_BUCKET`].
    pub health: kv::Store,
}

/// Opens (or creates) every alerting bucket.
pub async fn alert_buckets(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<AlertBuckets, BusError> {
    Ok(AlertBuckets {
        rules: Bucket::ALERT_RULES.open(js, replicas).await?,
        channels: Bucket::ALERT_CHANNELS.open(js, replicas).await?,
        silences: Bucket::SILENCES.open(js, replicas).await?,
        alerts: Bucket::ALERTS.open(js, replicas).await?,
        acks: Bucket::ALERT_ACKS.open(js, replicas).await?,
        health: Bucket::CHANNEL_HEALTH.open(js, replicas).await?,
    })
}

/// The alert history: every alert transition (`netpulse.alert.*`), kept 90 days (bounded
/// in size), in `replicas` copies.
pub async fn alerts_stream(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<stream::Stream, BusError> {
    let stream = js.get_or_create_stream(stream::Config {
        name: subjects::ALERTS_STREAM.into(),
        subjects: vec![subjects::ALERT_ALL.into()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        max_age: Duration::from_secs(90 * 24 * 3600),
        max_bytes: 1024 * 1024 * 1024,
        duplicate_window: Duration::from_secs(120),
        num_replicas: replicas.max(1),
        ..Default::default()
    });
    with_replicas(js, stream.await, replicas, "alerts stream").await
}

/// Every key of a bucket that holds an entry, sorted, deleted ones included (their `get`
/// finds nothing). Read from the subjects of the bucket's stream, which its leader answers,
/// rather than through a new consumer as `Store::keys` does: on a cluster that has lost a
/// node, a new consumer may be placed on the lost node and time out.
pub async fn bucket_keys(store: &kv::Store) -> Result<Vec<String>, BusError> {
    use futures::StreamExt;
    let fail = |e: &dyn std::fmt::Display| BusError::JetStream {
        what: "bucket keys",
        reason: e.to_string(),
    };
    let mut subjects = store
        .stream
        .info_with_subjects(format!("{}>", store.prefix))
        .await
        .map_err(|e| fail(&e))?;
    let mut keys = Vec::new();
    while let Some(subject) = subjects.next().await {
        let (subject, _) = subject.map_err(|e| fail(&e))?;
        if let Some(key) = subject.strip_prefix(store.prefix.as_str()) {
            keys.push(key.to_owned());
        }
    }
    keys.sort();
    Ok(keys)
}

/// Every value of a bucket now that reads as a `T` (others are skipped with a warning).
pub async fn bucket_values<T: serde::de::DeserializeOwned>(
    store: &kv::Store,
) -> Result<Vec<T>, BusError> {
    let fail = |e: &dyn std::fmt::Display| BusError::JetStream {
        what: "bucket values",
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    for key in bucket_keys(store).await? {
        if let Some(bytes) = store.get(&key).await.map_err(|e| fail(&e))? {
            match serde_json::from_slice(&bytes) {
                Ok(value) => out.push(value),
                Err(error) => tracing::warn!(%error, key, "unreadable value skipped"),
            }
        }
    }
    Ok(out)
}

/// Opens (or creates) a key-value bucket kept in `replicas` copies; an existing bucket with
/// another number of replicas is changed to it.
async fn bucket(
    js: &jetstream::Context,
    replicas: usize,
    name: &'static str,
    description: &str,
) -> Result<kv::Store, BusError> {
    let fail = |e: &dyn std::fmt::Display| BusError::JetStream {
        what: name,
        reason: e.to_string(),
    };
    if let Ok(store) = js.get_key_value(name).await {
        let stream = js
            .get_stream(format!("KV_{name}"))
            .await
            .map_err(|e| fail(&e));
        with_replicas(js, stream, replicas, name).await?;
        return Ok(store);
    }
    js.create_key_value(kv::Config {
        bucket: name.into(),
        description: description.into(),
        history: 1,
        storage: stream::StorageType::File,
        num_replicas: replicas.max(1),
        ..Default::default()
    })
    .await
    .map_err(|e| fail(&e))
}

/// The stream `opened` (or why it could not be), changed to `replicas` copies when it has
/// another number: a stream created on one server keeps working when the deployment grows to
/// a cluster and `nats.replicas` is raised. NATS copies the data to the new replicas itself;
/// on a single server, more than one replica is refused with the server's reason.
async fn with_replicas<E: std::fmt::Display>(
    js: &jetstream::Context,
    opened: Result<stream::Stream, E>,
    replicas: usize,
    what: &'static str,
) -> Result<stream::Stream, BusError> {
    let fail = |e: &dyn std::fmt::Display| BusError::JetStream {
        what,
        reason: e.to_string(),
    };
    let stream = opened.map_err(|e| fail(&e))?;
    let replicas = replicas.max(1);
    let mut config = stream.cached_info().config.clone();
    if config.num_replicas != replicas {
        let from = config.num_replicas;
        config.num_replicas = replicas;
        js.update_stream(config).await.map_err(|e| fail(&e))?;
        tracing::info!(what, from, to = replicas, "JetStream replicas changed");
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_set_up_step_is_tried_again_until_it_succeeds() {
        let mut tries = 0;
        let opened = until_set_up(|| {
            tries += 1;
            let now = tries;
            async move {
                if now < 3 {
                    Err(BusError::JetStream {
                        what: "samples stream",
                        reason: "jetstream request timed out".into(),
                    })
                } else {
                    Ok(now)
                }
            }
        })
        .await;
        assert_eq!(opened.expect("opened on the third try"), 3);
    }
}
