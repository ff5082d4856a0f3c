//! netpulse-poller: stateless SNMP workers.
//!
//! Pollers share the `pollers` queue group on `netpulse.polls` (batches of the jobs due in
//! one slot) and `netpulse.poll.*` (single jobs: the live view), so each job goes to one of
//! them and more pollers mean more capacity. A job is run with bounded concurrency, a
//! timeout on every request and a number of retries; the result is published as a sample on
//! `netpulse.sample.<device>` (stored by JetStream before the poller moves on) or as a
//! failure on `netpulse.failure.<device>`, and its outcome joins the next
//! `netpulse.outcomes` batch for the scheduler (see [`outcomes`]). Discovery requests (`netpulse.discover.<device>`)
//! are served the same way: the interfaces found go to the `netpulse_interfaces` bucket (not
//! for a probe of an unsaved device) and, when the request expects an answer, back to the
//! requester. A test poll (`netpulse.test.<device>`, request/reply) runs a poll job like any
//! other but only answers the requester: no sample, no failure.

pub mod device_values;
pub mod discover;
pub mod neighbours;
pub mod outcomes;
pub mod poll;
pub mod snmp;
#[cfg(test)]
mod test_agent;
pub mod usm_probe;
pub mod walk;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use netpulse_shared::config::NatsSettings;
use netpulse_shared::device::DeviceId;
use netpulse_shared::discovery::{DiscoveryJob, DiscoveryOutcome};
use netpulse_shared::messages::{
    PollBatch, PollFailure, PollJob, PollOutcome, PollStats, PollTestOutcome, Sample,
    SCHEMA_VERSION,
};
use netpulse_shared::{bus, subjects, time};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::outcomes::Outcomes;
use crate::snmp::Snmp2Agent;

/// `[poller]` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PollerSettings {
    /// Polls run at once by this poller. Default 256.
    pub concurrency: usize,
    /// Most OIDs in one GET request. Default 32.
    pub max_oids_per_request: usize,
    /// Copies of each JetStream stream and bucket this service opens: `nats.replicas`,
    /// copied here by the binary (not read from this section). Default 1.
    #[serde(skip)]
    pub replicas: usize,
}

impl Default for PollerSettings {
    fn default() -> Self {
        Self {
            concurrency: 256,
            max_oids_per_request: 32,
            replicas: 1,
        }
    }
}

/// Everything the poller binary reads from configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// `[nats]`.
    pub nats: NatsSettings,
    /// `[poller]`.
    pub poller: PollerSettings,
}

/// Takes poll jobs until `shutdown` resolves, then waits for the polls under way.
pub async fn run(
    client: async_nats::Client,
    settings: PollerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let js = jetstream::new(client.clone());
    // On a cluster electing leaders (starting, or a node lost) these may take a while.
    bus::until_set_up(|| bus::samples_stream(&js, settings.replicas)).await?;
    let interfaces = bus::Bucket::INTERFACES
        .open_when_ready(&js, settings.replicas)
        .await?;
    let queue = subjects::POLLERS_QUEUE.to_owned();
    let mut jobs = client
        .queue_subscribe(subjects::POLL_ALL, queue.clone())
        .await?;
    let mut batches = client
        .queue_subscribe(subjects::POLL_BATCH, queue.clone())
        .await?;
    let (outcomes, reporting) = Outcomes::start(client.clone());
    let mut discoveries = client
        .queue_subscribe(subjects::DISCOVER_ALL, queue.clone())
        .await?;
    let mut tests = client.queue_subscribe(subjects::TEST_ALL, queue).await?;
    let limit = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let concurrency = settings.concurrency;
    tracing::info!(concurrency, "poller ready");
    let context = Arc::new(Context {
        client: client.clone(),
        js,
        settings,
        outcomes,
        interfaces,
    });
    tokio::pin!(shutdown);
    'taking: loop {
        let (message, kind) = tokio::select! {
            () = &mut shutdown => break,
            message = jobs.next() => match message {
                Some(m) => (m, Request::Poll),
                None => break,
            },
            message = batches.next() => match message {
                Some(m) => (m, Request::Batch),
                None => break,
            },
            message = discoveries.next() => match message {
                Some(m) => (m, Request::Discovery),
                None => break,
            },
            message = tests.next() => match message {
                Some(m) => (m, Request::Test),
                None => break,
            },
        };
        for work in kind.work(message) {
            let permit = tokio::select! {
                () = &mut shutdown => break 'taking,
                permit = limit.clone().acquire_owned() => permit?,
            };
            let context = context.clone();
            tokio::spawn(async move {
                context.run(work).await;
                drop(permit);
            });
        }
    }
    // Let polls under way finish and publish.
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        limit.acquire_many(u32::try_from(concurrency.max(1)).unwrap_or(u32::MAX)),
    )
    .await;
    // The last outcomes go out before the connection drains.
    drop(context);
    let _ = tokio::time::timeout(Duration::from_secs(2), reporting).await;
    client.drain().await.ok();
    Ok(())
}

/// Bytes in lower-case hex, as engine IDs are shown.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a message on one of the poller's subscriptions asks for.
#[derive(Debug, Clone, Copy)]
enum Request {
    /// A poll job (`netpulse.poll.*`).
    Poll,
    /// A batch of poll jobs (`netpulse.polls`).
    Batch,
    /// A discovery (`netpulse.discover.*`).
    Discovery,
    /// A test poll (`netpulse.test.*`).
    Test,
}

impl Request {
    /// The work a message asks for: every job of a batch, else one job; none when it is
    /// malformed or names another device than its subject's.
    fn work(self, message: async_nats::Message) -> Vec<Work> {
        match self {
            Request::Batch => match serde_json::from_slice::<PollBatch>(&message.payload) {
                Ok(batch) => batch.jobs.into_iter().map(Work::Poll).collect(),
                Err(error) => {
                    tracing::warn!(%error, "ignoring malformed poll batch");
                    Vec::new()
                }
            },
            Request::Poll => parse_job::<PollJob>(&message, |j| &j.device)
                .map(Work::Poll)
                .into_iter()
                .collect(),
            Request::Discovery => parse_job::<DiscoveryJob>(&message, |j| &j.device)
                .map(|job| Work::Discovery(job, message.reply.clone()))
                .into_iter()
                .collect(),
            Request::Test => parse_job::<PollJob>(&message, |j| &j.device)
                .map(|job| Work::Test(job, message.reply.clone()))
                .into_iter()
                .collect(),
        }
    }
}

/// One piece of work, with the subject to answer on where there is one.
enum Work {
    Poll(PollJob),
    Discovery(DiscoveryJob, Option<async_nats::Subject>),
    Test(PollJob, Option<async_nats::Subject>),
}

/// What every piece of work runs with.
struct Context {
    client: async_nats::Client,
    js: jetstream::Context,
    settings: PollerSettings,
    outcomes: Outcomes,
    interfaces: jetstream::kv::Store,
}

impl Context {
    async fn run(&self, work: Work) {
        match work {
            Work::Poll(job) => {
                handle_job(&self.client, &self.js, &self.settings, &self.outcomes, job).await;
            }
            Work::Discovery(job, reply) => {
                handle_discovery(&self.client, &self.interfaces, job, reply).await;
            }
            Work::Test(job, reply) => handle_test(&self.client, &self.settings, job, reply).await,
        }
    }
}

/// A job from a message, if it is valid and names the device of its subject.
fn parse_job<T: serde::de::DeserializeOwned>(
    message: &async_nats::Message,
    device: impl Fn(&T) -> &DeviceId,
) -> Option<T> {
    match serde_json::from_slice::<T>(&message.payload) {
        Ok(job) if subjects::device_of(&message.subject).as_ref() == Some(device(&job)) => {
            Some(job)
        }
        Ok(_) => {
            tracing::warn!(subject = %message.subject, "ignoring job for another device");
            None
        }
        Err(error) => {
            tracing::warn!(subject = %message.subject, %error, "ignoring malformed job");
            None
        }
    }
}

/// Discovers a device's interfaces, stores them (unless the job is a probe), and answers the
/// requester if there is one.
#[tracing::instrument(skip_all, fields(device = %job.device))]
async fn handle_discovery(
    client: &async_nats::Client,
    interfaces: &async_nats::jetstream::kv::Store,
    job: DiscoveryJob,
    reply: Option<async_nats::Subject>,
) {
    let outcome = match Snmp2Agent::for_target(&job.target) {
        Err(error) => DiscoveryOutcome::Failed {
            reason: error.to_string(),
        },
        Ok(mut agent) => {
            let v1 = agent.is_v1();
            match Box::pin(discover::discover(
                &mut agent,
                job.device.clone(),
                v1,
                job.max_repetitions,
            ))
            .await
            {
                Ok(found) if job.probe => {
                    tracing::info!(
                        interfaces = found.interfaces.len(),
                        neighbours = found.neighbours.len(),
                        "device probed"
                    );
                    DiscoveryOutcome::Discovered(found)
                }
                Ok(found) => match serde_json::to_vec(&found) {
                    Ok(bytes) => match interfaces.put(job.device.as_str(), bytes.into()).await {
                        Ok(_) => {
                            tracing::info!(
                                interfaces = found.interfaces.len(),
                                neighbours = found.neighbours.len(),
                                "interfaces discovered"
                            );
                            DiscoveryOutcome::Discovered(found)
                        }
                        Err(error) => DiscoveryOutcome::Failed {
                            reason: format!("cannot store interfaces: {error}"),
                        },
                    },
                    Err(error) => DiscoveryOutcome::Failed {
                        reason: error.to_string(),
                    },
                },
                Err(error) => {
                    tracing::info!(%error, "discovery failed");
                    DiscoveryOutcome::Failed {
                        reason: error.to_string(),
                    }
                }
            }
        }
    };
    if let Some(reply) = reply {
        publish(client, reply.to_string(), &outcome).await;
    }
}

/// Polls a device once for a test and answers the requester only: neither the sample nor
/// the failure is published, so history and reachability do not see it.
#[tracing::instrument(skip_all, fields(device = %job.device, job = %job.job_id))]
async fn handle_test(
    client: &async_nats::Client,
    settings: &PollerSettings,
    job: PollJob,
    reply: Option<async_nats::Subject>,
) {
    let Some(reply) = reply else {
        tracing::warn!("test poll without a reply subject; skipped");
        return;
    };
    if time::now_ms() > job.deadline_ms {
        tracing::warn!("test poll arrived after its deadline; skipped");
        return;
    }
    let started = std::time::Instant::now();
    let polled = match Snmp2Agent::for_job(&job) {
        Ok(mut agent) => Box::pin(poll::run_job(
            &mut agent,
            &job,
            settings.max_oids_per_request,
        ))
        .await
        .map(|mut sample| {
            sample.engine_id = agent.engine_id().map(hex);
            sample
        }),
        Err(error) => Err(error),
    };
    let outcome = match polled {
        Ok(sample) => PollTestOutcome::Polled {
            sample,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
        Err(error) => {
            tracing::info!(%error, "test poll failed");
            PollTestOutcome::Failed {
                reason: error.to_string(),
            }
        }
    };
    publish(client, reply.to_string(), &outcome).await;
}

#[tracing::instrument(skip_all, fields(device = %job.device, job = %job.job_id))]
async fn handle_job(
    client: &async_nats::Client,
    js: &jetstream::Context,
    settings: &PollerSettings,
    outcomes: &Outcomes,
    job: PollJob,
) {
    if time::now_ms() > job.deadline_ms {
        tracing::warn!("poll job arrived after its deadline; skipped");
        return;
    }
    let mut agent = match Snmp2Agent::for_job(&job) {
        Ok(agent) => agent,
        Err(_) if job.live => return,
        Err(error) => {
            return publish_failure(
                client,
                outcomes,
                &job,
                error.to_string(),
                PollStats::default(),
            )
            .await
        }
    };
    match Box::pin(poll::run_job(
        &mut agent,
        &job,
        settings.max_oids_per_request,
    ))
    .await
    {
        // A live-view poll: shown, not stored, and not held against the device.
        Ok(mut sample) if job.live && !job.record => {
            sample.engine_id = agent.engine_id().map(hex);
            sample.stats = agent.stats;
            publish(client, subjects::live(&sample.device), &sample).await;
        }
        Err(error) if job.live => tracing::debug!(%error, "live-view poll failed"),
        Ok(mut sample) => {
            sample.engine_id = agent.engine_id().map(hex);
            sample.stats = agent.stats;
            publish_sample(client, js, outcomes, &sample).await;
        }
        Err(error) => {
            tracing::info!(%error, "poll failed");
            publish_failure(client, outcomes, &job, error.to_string(), agent.stats).await;
        }
    }
}

/// Publishes a sample into the samples stream, with its id as the deduplication id, and
/// waits for JetStream to confirm it is stored; its outcome follows.
async fn publish_sample(
    client: &async_nats::Client,
    js: &jetstream::Context,
    outcomes: &Outcomes,
    sample: &Sample,
) {
    let payload = match serde_json::to_vec(sample) {
        Ok(p) => p,
        Err(error) => {
            tracing::error!(%error, "cannot encode sample");
            return;
        }
    };
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", sample.id.as_str());
    for attempt in 1..=3 {
        let stored = async {
            js.publish_with_headers(
                subjects::sample(&sample.device),
                headers.clone(),
                payload.clone().into(),
            )
            .await?
            .await
        };
        match tokio::time::timeout(Duration::from_secs(5), stored).await {
            Ok(Ok(_)) => {
                return outcomes.report(PollOutcome {
                    device: sample.device.clone(),
                    time_ms: sample.time_ms,
                    failure: None,
                    interfaces_vanished: sample.interfaces_vanished(),
                })
            }
            Ok(Err(error)) => tracing::warn!(%error, attempt, "sample not stored, retrying"),
            Err(_) => tracing::warn!(attempt, "sample store timed out, retrying"),
        }
    }
    let failure = PollFailure {
        schema: SCHEMA_VERSION,
        job_id: sample.id.clone(),
        device: sample.device.clone(),
        time_ms: time::now_ms(),
        reason: "sample could not be stored in JetStream".into(),
        stats: sample.stats.clone(),
    };
    announce_failure(client, outcomes, &failure).await;
}

async fn publish_failure(
    client: &async_nats::Client,
    outcomes: &Outcomes,
    job: &PollJob,
    reason: String,
    stats: PollStats,
) {
    let failure = PollFailure {
        schema: SCHEMA_VERSION,
        job_id: job.job_id.clone(),
        device: job.device.clone(),
        time_ms: time::now_ms(),
        reason,
        stats,
    };
    announce_failure(client, outcomes, &failure).await;
}

/// Publishes a failure on `netpulse.failure.<device>`; its outcome follows.
async fn announce_failure(client: &async_nats::Client, outcomes: &Outcomes, failure: &PollFailure) {
    publish(client, subjects::failure(&failure.device), failure).await;
    outcomes.report(PollOutcome {
        device: failure.device.clone(),
        time_ms: failure.time_ms,
        failure: Some(failure.reason.clone()),
        interfaces_vanished: false,
    });
}

async fn publish<T: serde::Serialize>(client: &async_nats::Client, subject: String, message: &T) {
    match serde_json::to_vec(message) {
        Ok(payload) => {
            if let Err(error) = client.publish(subject, payload.into()).await {
                tracing::warn!(%error, "cannot publish");
            }
        }
        Err(error) => tracing::error!(%error, "cannot encode message"),
    }
}
