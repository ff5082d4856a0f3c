//! Recorder replicas: any number of recorders, each with its own name, its own durable
//! consumers and its own data folder, so each keeps a full copy of the history.
//!
//! Queries (history, sparklines, timelines) go to the `recorders` queue group; a replica
//! belongs to it only while it may answer without holes:
//!
//! - a replica is *current* when each of its consumers found nothing left to read within the
//!   last [`CURRENT_WITHIN`] (it has stored everything published until moments ago);
//! - a current replica says so on [`subjects::RECORDER_CURRENT`] every [`ANNOUNCE_EVERY`];
//! - a replica that is not current (catching up after being away) leaves the queue group
//!   while another replica is current, and joins it again once it has caught up. A replica
//!   that hears no current one answers anyway: a lone recorder catching up after a restart
//!   still answers, with what it has, as before replicas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::DeliverPolicy;
use futures::StreamExt;
use netpulse_shared::shards::Shard;
use netpulse_shared::subjects;
use serde::{Deserialize, Serialize};

/// How recently each consumer must have found nothing pending for the replica to be current.
pub const CURRENT_WITHIN: Duration = Duration::from_secs(3);
/// How often a current replica says so, and how often a replica decides whether it answers.
pub const ANNOUNCE_EVERY: Duration = Duration::from_millis(200);
/// How long another replica's last word that it is current counts.
const PEER_CURRENT_FOR: Duration = Duration::from_millis(1500);
/// How long a starting replica listens for current peers before it first decides.
const LISTEN_FIRST: Duration = Duration::from_millis(600);

/// Who a recorder is among its replicas and shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The replica's name (empty: the first, or only, one).
    pub name: String,
    /// Its shard.
    pub shard: Shard,
}

impl Member {
    /// The durable consumer `base` of this recorder: `base` itself for the unnamed recorder of
    /// an unsharded set; with shards `<base>-shard<i>of<n>`; with a name, `--<name>` after.
    pub fn durable(&self, base: &str) -> String {
        let mut durable = base.to_owned();
        if self.shard.split() {
            durable.push_str(&format!("-shard{}of{}", self.shard.index, self.shard.count));
        }
        if !self.name.is_empty() {
            durable.push_str("--");
            durable.push_str(&self.name);
        }
        durable
    }

    /// The queue group of the replicas that answer queries for this recorder's shard.
    pub fn queue_group(&self) -> String {
        if self.shard.split() {
            format!("recorders-shard{}of{}", self.shard.index, self.shard.count)
        } else {
            "recorders".to_owned()
        }
    }

    /// Whether this recorder keeps the device a subject (`netpulse.<kind>.<device>`) names.
    pub fn owns_subject(&self, subject: &str) -> bool {
        subjects::device_of(subject).is_some_and(|d| self.shard.owns(d.as_str()))
    }

    /// What this replica says on [`subjects::RECORDER_CURRENT`].
    fn word(&self) -> CurrentReplica {
        CurrentReplica {
            schema: netpulse_shared::messages::SCHEMA_VERSION,
            name: self.name.clone(),
            shard: self.shard.index,
            shards: self.shard.count,
        }
    }

    /// Whether `word` comes from another replica of the same shard.
    fn is_peer(&self, word: &CurrentReplica) -> bool {
        word.shard == self.shard.index && word.shards == self.shard.count && word.name != self.name
    }
}

/// A replica's word that it is current (docs/schema/recorder-current.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentReplica {
    /// Schema version.
    pub schema: u32,
    /// The replica's name.
    pub name: String,
    /// Its shard.
    pub shard: u32,
    /// How many shards there are.
    pub shards: u32,
}

/// Checks a replica name: empty, or 1 to 32 of a-z, 0-9, `_` and `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "recorder.name '{name}': use at most 32 of a-z, 0-9, '_' and '-'"
        ))
    }
}

/// Where new consumers start: the beginning of the streams (`catch_up_from` empty), or the
/// first message stored at or after the time `catch_up_from` gives.
pub fn start_of(catch_up_from: &str) -> Result<DeliverPolicy, String> {
    if catch_up_from.trim().is_empty() {
        return Ok(DeliverPolicy::All);
    }
    let ms = netpulse_shared::time::parse_time(catch_up_from)
        .map_err(|e| format!("recorder.catch_up_from: {e}"))?;
    let start_time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| format!("recorder.catch_up_from: {e}"))?;
    Ok(DeliverPolicy::ByStartTime { start_time })
}

/// When each consumer of this replica last found nothing pending.
#[derive(Clone, Default)]
pub struct Progress {
    drained: Arc<Mutex<HashMap<&'static str, Instant>>>,
}

impl Progress {
    /// Marks `consumer` as having stored everything it was given and found nothing more.
    pub fn drained(&self, consumer: &'static str) {
        self.drained
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(consumer, Instant::now());
    }

    /// Whether each of `consumers` drained within [`CURRENT_WITHIN`].
    pub fn current(&self, consumers: &[&'static str]) -> bool {
        let drained = self.drained.lock().unwrap_or_else(PoisonError::into_inner);
        consumers.iter().all(|c| {
            drained
                .get(c)
                .is_some_and(|at| at.elapsed() < CURRENT_WITHIN)
        })
    }
}

/// Whether a batch left nothing pending: empty, or its last message had none after it.
pub fn left_nothing(received: &[async_nats::jetstream::Message]) -> bool {
    received
        .last()
        .is_none_or(|m| m.info().is_ok_and(|info| info.pending == 0))
}

/// Every consumer a replica's currency depends on.
pub const CONSUMERS: [&str; 4] = ["samples", "logs", "events", "alerts"];

/// Joins and leaves the `recorders` queue group as [`Progress`] and the other replicas'
/// words say, for as long as it runs. `answer` subscribes and answers until its task is
/// aborted (dropping the subscriptions).
pub async fn take_part(
    client: async_nats::Client,
    member: Member,
    progress: Progress,
    answer: impl Fn() -> Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<()> {
    let mut words = client.subscribe(subjects::RECORDER_CURRENT).await?;
    let mut peers: HashMap<String, Instant> = HashMap::new();
    let mut answering: Option<Vec<tokio::task::JoinHandle<()>>> = None;
    let started = Instant::now();
    let mut tick = tokio::time::interval(ANNOUNCE_EVERY);
    loop {
        tokio::select! {
            word = words.next() => {
                let Some(word) = word else { anyhow::bail!("the replicas' subject closed") };
                let Ok(peer) = serde_json::from_slice::<CurrentReplica>(&word.payload) else {
                    continue;
                };
                if member.is_peer(&peer) {
                    peers.insert(peer.name, Instant::now());
                }
            }
            _ = tick.tick() => {
                let current = progress.current(&CONSUMERS);
                let word = serde_json::to_vec(&member.word()).unwrap_or_default();
                if current {
                    if let Err(error) = client
                        .publish(subjects::RECORDER_CURRENT, word.into())
                        .await
                    {
                        tracing::warn!(%error, "cannot say this replica is current");
                    }
                }
                peers.retain(|_, at| at.elapsed() < PEER_CURRENT_FOR);
                let decided = current || started.elapsed() >= LISTEN_FIRST;
                let should = current || peers.is_empty();
                match (&answering, decided && should) {
                    (None, true) => {
                        tracing::info!(current, "answering queries");
                        answering = Some(answer());
                    }
                    (Some(_), false) => {
                        tracing::info!("catching up: leaving queries to a current replica");
                        for task in answering.take().into_iter().flatten() {
                            task.abort();
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_replica_and_shard_has_its_own_durables_and_peers() {
        let member = |name: &str, index, count| Member {
            name: name.into(),
            shard: Shard::new(index, count).expect("shard"),
        };
        assert_eq!(member("", 0, 1).durable("recorder"), "recorder");
        assert_eq!(member("b", 0, 1).durable("recorder"), "recorder--b");
        assert_eq!(
            member("b", 1, 2).durable("recorder"),
            "recorder-shard1of2--b"
        );
        assert_ne!(
            member("logs", 0, 1).durable("recorder"),
            member("", 0, 1).durable("recorder-logs")
        );
        assert_eq!(member("", 1, 2).queue_group(), "recorders-shard1of2");
        let b = member("b", 1, 2);
        let word = |name: &str, index, count| member(name, index, count).word();
        assert!(b.is_peer(&word("a", 1, 2)) && b.is_peer(&word("", 1, 2)));
        assert!(!b.is_peer(&word("b", 1, 2)) && !b.is_peer(&word("a", 0, 2)));
        assert!(!b.is_peer(&word("a", 1, 3)));
        assert!(check_name("").is_ok() && check_name("dc2-a").is_ok());
        assert!(check_name("a.b").is_err() && check_name("A").is_err());
        assert!(check_name(&"x".repeat(33)).is_err());
    }

    #[test]
    fn a_seeded_replica_starts_at_its_copy() {
        assert_eq!(start_of(""), Ok(DeliverPolicy::All));
        let Ok(DeliverPolicy::ByStartTime { start_time }) = start_of("2026-12-01T10:00:00Z") else {
            panic!("a start time");
        };
        assert_eq!(start_time.unix_timestamp(), 1_796_119_200);
        assert!(start_of("yesterday").is_err_and(|e| e.contains("recorder.catch_up_from")));
    }

    #[test]
    fn a_replica_is_current_when_every_consumer_drained_lately() {
        let progress = Progress::default();
        assert!(!progress.current(&CONSUMERS));
        for consumer in CONSUMERS.iter().take(3) {
            progress.drained(consumer);
        }
        assert!(!progress.current(&CONSUMERS), "alerts never drained");
        progress.drained("alerts");
        assert!(progress.current(&CONSUMERS));
    }
}
