//! netpulse-recorder: the only writer of history.
//!
//! It pulls samples from the JetStream samples stream through the durable consumer
//! `recorder`, writes each batch to the per-device files (see [`store`]), syncs them, and
//! only then acks. A crash before the ack means JetStream delivers the batch again; nothing
//! acked is lost.

pub mod files;
pub mod logs;
pub mod query;
pub mod replicas;
pub mod roller;
pub mod rollups;
pub mod series;
pub mod store;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, AckKind};
use futures::StreamExt;
use netpulse_shared::config::{default_data_dir, NatsSettings, Period, Size};
use netpulse_shared::history::{HistoryAnswer, HistoryQuery, PurgeAnswer};
use netpulse_shared::logs::{LogAnswer, LogEntry, LogQuery};
use netpulse_shared::messages::{ReachabilityChanged, Sample};
use netpulse_shared::shards::Shard;
use netpulse_shared::time::now_ms;
use netpulse_shared::{bus, subjects};
use serde::{Deserialize, Serialize};

use crate::series::Kept;
use crate::store::SampleStore;

/// `[recorder]` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RecorderSettings {
    /// This replica's name: each recorder of a set of replicas has its own (and its own
    /// `data_dir`), and with it its own durable consumers. Default empty (the first, or only,
    /// recorder: consumers `recorder`, `recorder-logs`, ...).
    pub name: String,
    /// Where a replica's consumers start when they are made: empty for the beginning of the
    /// streams, or a time (RFC 3339 or Unix seconds) for a replica seeded from a copy of
    /// another's data folder taken then (see docs/operations.md). Read only when the
    /// consumers do not exist yet. Default empty.
    pub catch_up_from: String,
    /// How many shards split the devices among recorders (each shard with its own replicas).
    /// Default 1.
    pub shards: u32,
    /// Which shard this recorder keeps, from 0. Default 0.
    pub shard: u32,
    /// Most samples written and synced together. Default 2048.
    pub batch_size: usize,
    /// Milliseconds to wait for a batch to fill. Default 250.
    pub batch_wait_ms: u64,
    /// How long raw samples are kept. Default 2 days.
    pub raw_retention: Period,
    /// How long one-minute rollups are kept. Default 7 days.
    pub rollup_1m_retention: Period,
    /// How long five-minute rollups are kept. Default 90 days.
    pub rollup_5m_retention: Period,
    /// How long one-hour rollups are kept. Default 2 years.
    pub rollup_1h_retention: Period,
    /// How long device timelines (logs, traps, status and configuration changes) are kept.
    /// Default 30 days.
    pub log_retention: Period,
    /// How long samples wait in the JetStream stream for the recorder. Default 2 days.
    pub stream_max_age: Period,
    /// How much the samples stream may hold; the oldest go first beyond it. Default 4 GiB.
    pub stream_max_bytes: Size,
    /// Copies of each JetStream stream and bucket this service opens: `nats.replicas`,
    /// copied here by the binary (not read from this section). Default 1.
    #[serde(skip)]
    pub replicas: usize,
}

impl Default for RecorderSettings {
    fn default() -> Self {
        let days = |n: u64| Period(Duration::from_secs(n * 86_400));
        Self {
            name: String::new(),
            catch_up_from: String::new(),
            shards: 1,
            shard: 0,
            batch_size: 2048,
            batch_wait_ms: 250,
            raw_retention: days(2),
            rollup_1m_retention: days(7),
            rollup_5m_retention: days(90),
            rollup_1h_retention: days(730),
            log_retention: days(30),
            stream_max_age: days(2),
            stream_max_bytes: Size(4 << 30),
            replicas: 1,
        }
    }
}

impl RecorderSettings {
    /// How long each resolution is kept.
    pub fn kept(&self) -> Kept {
        Kept {
            raw_ms: self.raw_retention.as_ms(),
            minute_ms: self.rollup_1m_retention.as_ms(),
            five_minutes_ms: self.rollup_5m_retention.as_ms(),
            hour_ms: self.rollup_1h_retention.as_ms(),
        }
    }
}

/// Everything the recorder binary reads from configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Top-level `data_dir`. Default `data`.
    pub data_dir: PathBuf,
    /// `[nats]`.
    pub nats: NatsSettings,
    /// `[recorder]`.
    pub recorder: RecorderSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            nats: NatsSettings::default(),
            recorder: RecorderSettings::default(),
        }
    }
}

/// How often idle devices' open rollup periods are checked.
const IDLE_CHECK: Duration = Duration::from_secs(60);
/// How often expired files are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Records samples under `data_dir` until `shutdown` resolves.
pub async fn run(
    client: async_nats::Client,
    data_dir: PathBuf,
    settings: RecorderSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    replicas::check_name(&settings.name).map_err(anyhow::Error::msg)?;
    let member = replicas::Member {
        name: settings.name.clone(),
        shard: Shard::new(settings.shard, settings.shards).map_err(anyhow::Error::msg)?,
    };
    let deliver_policy = replicas::start_of(&settings.catch_up_from).map_err(anyhow::Error::msg)?;
    let js = jetstream::new(client.clone());
    // On a cluster that is starting or just lost a node, JetStream may not answer yet.
    bus::until_set_up(|| {
        bus::limit_samples_stream(
            &js,
            settings.replicas,
            settings.stream_max_age.0,
            settings.stream_max_bytes.0,
        )
    })
    .await?;
    bus::until_set_up(|| bus::partition_streams(&js, settings.replicas, settings.shards)).await?;
    let stream = bus::until_set_up(|| bus::samples_stream(&js, settings.replicas)).await?;
    let samples_durable = member.durable(subjects::RECORDER_CONSUMER);
    let consumer = stream
        .get_or_create_consumer(
            &samples_durable,
            consumer::pull::Config {
                durable_name: Some(samples_durable.clone()),
                deliver_policy,
                description: Some("netpulse recorder: samples to JSON Lines".into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 20_000,
                filter_subject: member.shard.samples_filter(),
                ..Default::default()
            },
        )
        .await?;
    let store = SampleStore::new(&data_dir);
    let repairing = store.clone();
    let repaired = tokio::task::spawn_blocking(move || repairing.repair()).await??;
    if repaired > 0 {
        tracing::warn!(files = repaired, "history files repaired after a crash");
    }
    let kept = settings.kept();
    let logs = crate::logs::LogStore::new(&data_dir);
    let repairing = (logs.clone(), store.clone());
    let repaired = tokio::task::spawn_blocking(move || repairing.0.repair(&repairing.1)).await??;
    if repaired > 0 {
        tracing::warn!(files = repaired, "timeline files repaired after a crash");
    }
    let progress = replicas::Progress::default();
    let mut answering = vec![answer_purges(&client, &store, &member).await?];
    answering.extend(record_timelines(&js, &store, &logs, &settings, &member, &progress).await?);
    answering.push(tokio::spawn({
        let (client, store, logs) = (client.clone(), store.clone(), logs.clone());
        let (member, progress) = (member.clone(), progress.clone());
        async move {
            let answer = || {
                let (store, logs) = (store.clone(), logs.clone());
                vec![
                    tokio::spawn(answer_queries(
                        client.clone(),
                        subjects::HISTORY_ALL,
                        member.clone(),
                        move |request| {
                            let store = store.clone();
                            async move { answer_history(store, kept, &request).await }
                        },
                    )),
                    tokio::spawn(answer_queries(
                        client.clone(),
                        subjects::LOGS_ALL,
                        member.clone(),
                        move |request| answer_log(logs.clone(), request),
                    )),
                ]
            };
            if let Err(error) =
                replicas::take_part(client.clone(), member.clone(), progress, answer).await
            {
                tracing::error!(%error, "stopped answering queries");
            }
        }
    }));
    let logs_kept_ms = settings.log_retention.as_ms();
    tracing::info!(
        data_dir = %data_dir.display(),
        name = settings.name,
        shard = settings.shard,
        shards = settings.shards,
        "recorder ready"
    );
    let upkeep = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut idle_check = tokio::time::interval(IDLE_CHECK);
            let mut sweep = tokio::time::interval(SWEEP_EVERY);
            loop {
                tokio::select! {
                    _ = idle_check.tick() => {
                        maintain(&store, |s| s.close_idle(now_ms()), "close idle rollups").await;
                    }
                    _ = sweep.tick() => {
                        maintain(&store, move |s| {
                            let now = now_ms();
                            s.sweep(now, &kept, |dir| logs::sweep_logs(dir, now, logs_kept_ms))
                        }, "delete expired history").await;
                    }
                }
            }
        })
    };
    tokio::pin!(shutdown);
    // One batch is fetched and parsed while the one before it is written.
    let (batches, mut fetched) = tokio::sync::mpsc::channel(1);
    let fetching = tokio::spawn(fetch_batches(consumer, settings.clone(), batches));
    loop {
        // Unacked messages are delivered again, so stopping mid-batch loses nothing.
        let batch = tokio::select! {
            () = &mut shutdown => break,
            batch = fetched.recv() => match batch {
                Some(batch) => batch,
                None => break,
            },
        };
        let drained = batch.drained;
        if write_batch(&store, batch).await && drained {
            progress.drained("samples");
        }
    }
    fetching.abort();
    upkeep.abort();
    for task in answering {
        task.abort();
    }
    client.drain().await.ok();
    Ok(())
}

/// Runs one upkeep job on the files, logging what it did or why it failed.
async fn maintain(
    store: &SampleStore,
    job: impl FnOnce(&SampleStore) -> std::io::Result<usize> + Send + 'static,
    what: &'static str,
) {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || job(&store)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(count)) => tracing::info!(count, "{what}"),
        Ok(Err(error)) => tracing::error!(%error, "cannot {what}"),
        Err(error) => tracing::error!(%error, "{what} panicked"),
    }
}

/// Answers the queries on `subject` for this recorder's devices in its shard's queue group,
/// each with `answer` in a task of its own, until aborted (which ends the subscription).
async fn answer_queries<A, F, Fut>(
    client: async_nats::Client,
    subject: &'static str,
    member: replicas::Member,
    answer: F,
) where
    F: Fn(async_nats::Message) -> Fut,
    Fut: Future<Output = A> + Send + 'static,
    A: Serialize + Send + Sync + 'static,
{
    let mut requests = match client.queue_subscribe(subject, member.queue_group()).await {
        Ok(requests) => requests,
        Err(error) => {
            tracing::error!(%error, subject, "cannot answer queries");
            return;
        }
    };
    while let Some(request) = requests.next().await {
        // Another shard's device: its shard answers.
        if !member.owns_subject(&request.subject) {
            continue;
        }
        let answering = answer(request.clone());
        let client = client.clone();
        tokio::spawn(async move {
            let answer = answering.await;
            reply(&client, &request, &answer).await;
        });
    }
}

/// Deletes histories when asked. Every replica hears every request (no queue group): each
/// replica of the device's shard deletes its copy, and the first answer is the one the asker
/// reads.
async fn answer_purges(
    client: &async_nats::Client,
    store: &SampleStore,
    member: &replicas::Member,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut requests = client.subscribe(subjects::PURGE_ALL).await?;
    let (client, store, member) = (client.clone(), store.clone(), member.clone());
    Ok(tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            if !member.owns_subject(&request.subject) {
                continue;
            }
            let (client, store) = (client.clone(), store.clone());
            tokio::spawn(async move {
                let answer = answer_purge(store, &request).await;
                reply(&client, &request, &answer).await;
            });
        }
    }))
}

/// Sends `answer` to the request's reply subject, when it has one.
async fn reply(
    client: &async_nats::Client,
    request: &async_nats::Message,
    answer: &impl Serialize,
) {
    let Some(reply) = request.reply.clone() else {
        return;
    };
    match serde_json::to_vec(answer) {
        Ok(payload) => {
            if let Err(error) = client.publish(reply, payload.into()).await {
                tracing::warn!(%error, "cannot answer a request");
            }
        }
        Err(error) => tracing::error!(%error, "cannot encode an answer"),
    }
}

/// Answers one history query from the files.
async fn answer_history(
    store: SampleStore,
    kept: Kept,
    request: &async_nats::Message,
) -> HistoryAnswer {
    let query = match serde_json::from_slice::<HistoryQuery>(&request.payload) {
        Err(error) => {
            return HistoryAnswer::Failed {
                reason: format!("malformed query: {error}"),
            }
        }
        Ok(query) if subjects::device_of(&request.subject).as_ref() != Some(&query.device) => {
            return HistoryAnswer::Failed {
                reason: "query for another device".into(),
            }
        }
        Ok(query) => query,
    };
    let computed =
        tokio::task::spawn_blocking(move || query::answer(&store, &kept, &query, now_ms())).await;
    match computed {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => HistoryAnswer::Failed {
            reason: format!("cannot read history: {error}"),
        },
        Err(error) => HistoryAnswer::Failed {
            reason: format!("history query failed: {error}"),
        },
    }
}

/// Answers one log query (`netpulse.logs.<device>`) from the timeline files.
async fn answer_log(logs: crate::logs::LogStore, request: async_nats::Message) -> LogAnswer {
    let failed = |reason: String| LogAnswer::Failed { reason };
    match serde_json::from_slice::<LogQuery>(&request.payload) {
        Err(error) => failed(format!("malformed query: {error}")),
        Ok(query) if subjects::device_of(&request.subject).as_ref() != Some(&query.device) => {
            failed("query for another device".into())
        }
        Ok(query) => match tokio::task::spawn_blocking(move || logs.query(&query)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => failed(format!("cannot read logs: {error}")),
            Err(error) => failed(format!("log query failed: {error}")),
        },
    }
}

/// Stores the timelines: log entries and reachability transitions from the logs stream,
/// device changes from the events stream; each batch synced before its ack.
async fn record_timelines(
    js: &jetstream::Context,
    store: &SampleStore,
    logs: &crate::logs::LogStore,
    settings: &RecorderSettings,
    member: &replicas::Member,
    progress: &replicas::Progress,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let named = |base: &str| member.durable(base);
    let deliver_policy = replicas::start_of(&settings.catch_up_from).map_err(anyhow::Error::msg)?;
    let durable = |name: &str, filter: &str, description: &str| consumer::pull::Config {
        durable_name: Some(named(name)),
        deliver_policy,
        description: Some(description.into()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(60),
        max_ack_pending: 20_000,
        filter_subject: filter.into(),
        ..Default::default()
    };
    let replicas = settings.replicas;
    let timeline = bus::until_set_up(|| bus::logs_stream(js, replicas))
        .await?
        .get_or_create_consumer(
            &named(subjects::RECORDER_LOGS_CONSUMER),
            durable(
                subjects::RECORDER_LOGS_CONSUMER,
                &member.shard.logs_filter(),
                "netpulse recorder: logs and reachability to JSON Lines",
            ),
        )
        .await?;
    let changes = bus::until_set_up(|| bus::events_stream(js, replicas))
        .await?
        .get_or_create_consumer(
            &named(subjects::RECORDER_EVENTS_CONSUMER),
            durable(
                subjects::RECORDER_EVENTS_CONSUMER,
                subjects::AUDIT,
                "netpulse recorder: device changes to JSON Lines",
            ),
        )
        .await?;
    let alerts = bus::until_set_up(|| bus::alerts_stream(js, replicas))
        .await?
        .get_or_create_consumer(
            &named(subjects::RECORDER_ALERTS_CONSUMER),
            durable(
                subjects::RECORDER_ALERTS_CONSUMER,
                "",
                "netpulse recorder: alert transitions to the devices' timelines",
            ),
        )
        .await?;
    let mut tasks = Vec::new();
    for (consumer, label) in [(timeline, "logs"), (changes, "events"), (alerts, "alerts")] {
        let (store, logs, settings) = (store.clone(), logs.clone(), settings.clone());
        let (progress, shard) = (progress.clone(), member.shard);
        tasks.push(tokio::spawn(async move {
            loop {
                let received = next_batch(&consumer, &settings).await;
                let drained = replicas::left_nothing(&received);
                let stored =
                    received.is_empty() || write_timeline(&store, &logs, shard, received).await;
                if stored && drained {
                    progress.drained(label);
                }
            }
        }));
    }
    Ok(tasks)
}

/// The timeline entry a message of the logs, alerts or events stream stands for (`None` for
/// messages that are no entry, such as logins), or `Err` for a malformed one.
fn timeline_entry(message: &jetstream::Message) -> Result<Option<LogEntry>, ()> {
    let sequence = message.info().map_or(0, |i| i.stream_sequence);
    let subject = message.subject.as_str();
    if subject.starts_with("netpulse.log.") {
        let entry: LogEntry = serde_json::from_slice(&message.payload).map_err(|_| ())?;
        let matches = subjects::device_of(subject).as_ref() == Some(&entry.device);
        matches.then_some(Some(entry)).ok_or(())
    } else if subject.starts_with("netpulse.alert.") {
        let event: netpulse_shared::alert::AlertEvent =
            serde_json::from_slice(&message.payload).map_err(|_| ())?;
        let matches = subjects::device_of(subject).as_ref() == Some(&event.alert.device);
        if !matches {
            return Err(());
        }
        Ok(crate::logs::alert_entry(&event, sequence))
    } else if subject.starts_with("netpulse.status.") {
        let change: ReachabilityChanged =
            serde_json::from_slice(&message.payload).map_err(|_| ())?;
        Ok(Some(crate::logs::status_entry(&change, sequence)))
    } else {
        let event: serde_json::Value = serde_json::from_slice(&message.payload).map_err(|_| ())?;
        Ok(crate::logs::config_entry(&event, sequence))
    }
}

/// Stores a batch of timeline messages and acks them (malformed ones are logged and
/// dropped); whether they were stored.
async fn write_timeline(
    store: &SampleStore,
    logs: &crate::logs::LogStore,
    shard: Shard,
    received: Vec<jetstream::Message>,
) -> bool {
    let mut entries = Vec::with_capacity(received.len());
    for message in &received {
        match timeline_entry(message) {
            // Device changes and alerts reach every shard (the events and alerts streams are
            // not split): each keeps its own devices'.
            Ok(Some(entry)) if shard.owns(entry.device.as_str()) => {
                entries.push((entry, stream_seq(message)));
            }
            Ok(Some(_)) => {}
            Ok(None) => {}
            Err(()) => {
                tracing::warn!(subject = %message.subject, "dropping a malformed timeline message")
            }
        }
    }
    let (store, logs) = (store.clone(), logs.clone());
    let written = tokio::task::spawn_blocking(move || {
        let mut kept = Vec::with_capacity(entries.len());
        let mut seqs = Vec::with_capacity(entries.len());
        for (entry, seq) in entries {
            if !store.purged_after(&entry.device, entry.time_ms)? {
                kept.push(entry);
                seqs.push(seq);
            }
        }
        logs.append_sequenced(&kept, |n| seqs[n])
    })
    .await;
    match written {
        Ok(Ok(_)) => {
            for message in received {
                if let Err(error) = message.ack().await {
                    tracing::warn!(%error, "cannot ack a stored timeline entry");
                }
            }
            true
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "cannot write timeline entries; they will be delivered again");
            for message in received {
                let _ = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(5))))
                    .await;
            }
            false
        }
        Err(error) => {
            tracing::error!(%error, "timeline writer panicked");
            false
        }
    }
}

/// Deletes a device's whole history.
async fn answer_purge(store: SampleStore, request: &async_nats::Message) -> PurgeAnswer {
    let Some(device) = subjects::device_of(&request.subject) else {
        return PurgeAnswer::Failed {
            reason: "no device in the subject".into(),
        };
    };
    let purging = device.clone();
    match tokio::task::spawn_blocking(move || store.purge(&purging, now_ms())).await {
        Ok(Ok(())) => {
            tracing::info!(%device, "history deleted");
            PurgeAnswer::Done
        }
        Ok(Err(error)) => PurgeAnswer::Failed {
            reason: format!("cannot delete the history files: {error}"),
        },
        Err(error) => PurgeAnswer::Failed {
            reason: format!("deleting the history failed: {error}"),
        },
    }
}

/// Fetches up to `batch_size` samples, waiting at most about `batch_wait_ms` for them.
async fn next_batch(
    consumer: &consumer::Consumer<consumer::pull::Config>,
    settings: &RecorderSettings,
) -> Vec<jetstream::Message> {
    let wait = Duration::from_millis(settings.batch_wait_ms.max(10));
    let batch = match consumer
        .batch()
        .max_messages(settings.batch_size.max(1))
        .expires(wait)
        .messages()
        .await
    {
        Ok(b) => b,
        Err(error) => {
            tracing::warn!(%error, "cannot fetch samples, retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Vec::new();
        }
    };
    let mut received = Vec::new();
    let collect = async {
        let mut batch = std::pin::pin!(batch);
        while let Some(message) = batch.next().await {
            match message {
                Ok(m) => received.push(m),
                Err(error) => tracing::debug!(%error, "batch ended early"),
            }
        }
    };
    // The server ends the batch when it expires; the timeout covers a lost connection.
    let _ = tokio::time::timeout(wait + Duration::from_secs(2), collect).await;
    received
}

/// A message's sequence in its stream (0 when it cannot be read: checked like a redelivery).
fn stream_seq(message: &jetstream::Message) -> files::StreamSeq {
    message.info().map_or(0, |info| info.stream_sequence)
}

/// A batch fetched and parsed: the messages to ack once it is stored, and their samples.
#[derive(Default)]
struct ParsedBatch {
    messages: Vec<jetstream::Message>,
    samples: Vec<Sample>,
    seqs: Vec<files::StreamSeq>,
    /// Whether the consumer had nothing more after this batch.
    drained: bool,
}

/// Parses a batch; malformed messages are terminated (they can never succeed).
async fn parse_batch(received: Vec<jetstream::Message>) -> ParsedBatch {
    let mut parsed = ParsedBatch {
        messages: Vec::with_capacity(received.len()),
        samples: Vec::with_capacity(received.len()),
        seqs: Vec::with_capacity(received.len()),
        drained: replicas::left_nothing(&received),
    };
    for message in received {
        match serde_json::from_slice::<Sample>(&message.payload) {
            Ok(sample)
                if subjects::device_of(&message.subject).as_ref() == Some(&sample.device) =>
            {
                parsed.samples.push(sample);
                parsed.seqs.push(stream_seq(&message));
                parsed.messages.push(message);
            }
            Ok(_) | Err(_) => {
                tracing::warn!(subject = %message.subject, "dropping malformed sample");
                if let Err(error) = message.ack_with(AckKind::Term).await {
                    tracing::warn!(%error, "cannot terminate malformed sample");
                }
            }
        }
    }
    parsed
}

/// Fetches and parses batches into `batches` until it closes, so the next batch is on its
/// way while the writer stores the last one.
async fn fetch_batches(
    consumer: consumer::Consumer<consumer::pull::Config>,
    settings: RecorderSettings,
    batches: tokio::sync::mpsc::Sender<ParsedBatch>,
) {
    loop {
        let received = next_batch(&consumer, &settings).await;
        // An empty batch goes on too: once the batch before it is stored, everything is.
        let parsed = parse_batch(received).await;
        if parsed.samples.is_empty() && !parsed.drained {
            continue;
        }
        if batches.send(parsed).await.is_err() {
            return;
        }
    }
}

/// Stores a batch and acks it; if the write fails nothing is acked, so JetStream
/// redelivers. Whether it was stored.
async fn write_batch(store: &SampleStore, batch: ParsedBatch) -> bool {
    let ParsedBatch {
        messages,
        samples,
        seqs,
        drained: _,
    } = batch;
    if samples.is_empty() {
        return true;
    }
    let writer = store.clone();
    let count = samples.len();
    let raws: Vec<bytes::Bytes> = messages.iter().map(|m| m.payload.clone()).collect();
    let written = tokio::task::spawn_blocking(move || {
        let incoming: Vec<store::Incoming<'_>> = samples
            .iter()
            .zip(&seqs)
            .zip(&raws)
            .map(|((sample, seq), raw)| store::Incoming {
                sample,
                seq: *seq,
                raw: Some(raw),
            })
            .collect();
        writer.append_incoming(&incoming)
    })
    .await;
    match written {
        Ok(Ok(written)) => {
            for message in messages {
                if let Err(error) = message.ack().await {
                    tracing::warn!(%error, "cannot ack stored sample; it will be delivered again");
                }
            }
            tracing::debug!(count, written, "samples stored");
            true
        }
        Ok(Err(error)) => {
            tracing::error!(%error, count, "cannot write samples; they will be delivered again");
            for message in messages {
                let _ = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(5))))
                    .await;
            }
            false
        }
        Err(error) => {
            tracing::error!(%error, "sample writer panicked");
            false
        }
    }
}
