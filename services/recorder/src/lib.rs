//! netpulse-recorder: the only writer of history.
//!
//! It pulls samples from the JetStream samples stream through the durable consumer
//! `recorder`, writes each batch to the per-device files (see [`store`]), syncs them, and
//! only then acks. A crash before the ack means JetStream delivers the batch again; nothing
//! acked is lost.

pub mod store;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, AckKind};
use futures::StreamExt;
use netpulse_shared::config::{default_data_dir, NatsSettings};
use netpulse_shared::history::{self, HistoryAnswer, HistoryQuery};
use netpulse_shared::messages::Sample;
use netpulse_shared::{bus, subjects};
use serde::Deserialize;

use crate::store::SampleStore;

/// `[recorder]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RecorderSettings {
    /// Most samples written and synced together. Default 512.
    pub batch_size: usize,
    /// Milliseconds to wait for a batch to fill. Default 250.
    pub batch_wait_ms: u64,
}

impl Default for RecorderSettings {
    fn default() -> Self {
        Self {
            batch_size: 512,
            batch_wait_ms: 250,
        }
    }
}

/// Everything the recorder binary reads from configuration.
#[derive(Debug, Clone, Deserialize)]
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

/// Records samples under `data_dir` until `shutdown` resolves.
pub async fn run(
    client: async_nats::Client,
    data_dir: PathBuf,
    settings: RecorderSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let js = jetstream::new(client.clone());
    let stream = bus::samples_stream(&js).await?;
    let consumer = stream
        .get_or_create_consumer(
            subjects::RECORDER_CONSUMER,
            consumer::pull::Config {
                durable_name: Some(subjects::RECORDER_CONSUMER.into()),
                description: Some("netpulse recorder: samples to JSON Lines".into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 20_000,
                filter_subject: subjects::SAMPLE_ALL.into(),
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
    let mut queries = client
        .queue_subscribe(subjects::HISTORY_ALL, "recorders".to_owned())
        .await?;
    let answering = {
        let (client, store) = (client.clone(), store.clone());
        tokio::spawn(async move {
            while let Some(request) = queries.next().await {
                let (client, store) = (client.clone(), store.clone());
                tokio::spawn(async move { answer_history(&client, &store, request).await });
            }
        })
    };
    tracing::info!(data_dir = %data_dir.display(), "recorder ready");
    tokio::pin!(shutdown);
    loop {
        // Unacked messages are delivered again, so stopping mid-batch loses nothing.
        let received = tokio::select! {
            () = &mut shutdown => break,
            received = next_batch(&consumer, &settings) => received,
        };
        if !received.is_empty() {
            write_batch(&store, received).await;
        }
    }
    answering.abort();
    client.drain().await.ok();
    Ok(())
}

/// Answers one history query from the files.
async fn answer_history(
    client: &async_nats::Client,
    store: &SampleStore,
    request: async_nats::Message,
) {
    let Some(reply) = request.reply.clone() else {
        return;
    };
    let answer = match serde_json::from_slice::<HistoryQuery>(&request.payload) {
        Err(error) => HistoryAnswer::Failed {
            reason: format!("malformed query: {error}"),
        },
        Ok(query) if subjects::device_of(&request.subject).as_ref() != Some(&query.device) => {
            HistoryAnswer::Failed {
                reason: "query for another device".into(),
            }
        }
        Ok(query) => {
            let store = store.clone();
            let computed = tokio::task::spawn_blocking(move || {
                // One step of history before the range gives the first point its rate.
                let samples = store.read_range(
                    &query.device,
                    query.from_ms.saturating_sub(3_600_000),
                    query.to_ms,
                )?;
                let rates = history::rates(&samples, &query.interface);
                let in_range: Vec<&history::Rate> = rates
                    .iter()
                    .filter(|r| r.time_ms >= query.from_ms && r.time_ms < query.to_ms)
                    .collect();
                let (step_ms, points) =
                    history::downsample(&rates, query.from_ms, query.to_ms, query.max_points);
                Ok::<_, std::io::Error>(HistoryAnswer::Series {
                    schema: netpulse_shared::messages::SCHEMA_VERSION,
                    step_ms,
                    points,
                    p95_in_bps: history::percentile95(
                        &in_range.iter().map(|r| r.in_bps).collect::<Vec<_>>(),
                    ),
                    p95_out_bps: history::percentile95(
                        &in_range.iter().map(|r| r.out_bps).collect::<Vec<_>>(),
                    ),
                })
            })
            .await;
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
    };
    match serde_json::to_vec(&answer) {
        Ok(payload) => {
            if let Err(error) = client.publish(reply, payload.into()).await {
                tracing::warn!(%error, "cannot answer a history query");
            }
        }
        Err(error) => tracing::error!(%error, "cannot encode a history answer"),
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

/// Stores a batch and acks it; malformed messages are terminated (they can never succeed),
/// and if the write fails nothing is acked, so JetStream redelivers.
async fn write_batch(store: &SampleStore, received: Vec<jetstream::Message>) {
    let mut good = Vec::with_capacity(received.len());
    let mut samples = Vec::with_capacity(received.len());
    for message in received {
        match serde_json::from_slice::<Sample>(&message.payload) {
            Ok(sample)
                if subjects::device_of(&message.subject).as_ref() == Some(&sample.device) =>
            {
                samples.push(sample);
                good.push(message);
            }
            Ok(_) | Err(_) => {
                tracing::warn!(subject = %message.subject, "dropping malformed sample");
                if let Err(error) = message.ack_with(AckKind::Term).await {
                    tracing::warn!(%error, "cannot terminate malformed sample");
                }
            }
        }
    }
    if samples.is_empty() {
        return;
    }
    let writer = store.clone();
    let count = samples.len();
    let written = tokio::task::spawn_blocking(move || writer.append(&samples)).await;
    match written {
        Ok(Ok(written)) => {
            for message in good {
                if let Err(error) = message.ack().await {
                    tracing::warn!(%error, "cannot ack stored sample; it will be delivered again");
                }
            }
            tracing::debug!(count, written, "samples stored");
        }
        Ok(Err(error)) => {
            tracing::error!(%error, count, "cannot write samples; they will be delivered again");
            for message in good {
                let _ = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(5))))
                    .await;
            }
        }
        Err(error) => tracing::error!(%error, "sample writer panicked"),
    }
}
