//! Leadership among several schedulers: one leads, the others stand by.
//!
//! The leader holds a lease: the key `leader` of the bucket `netpulse_scheduler_lease`, a
//! [`LeaseRecord`] naming it and the time its lease ends. It renews the lease every third
//! of `scheduler.lease_ms` by compare-and-set on the key's revision. A standby reads the key
//! twice a second and takes it once it is gone (released by a leader that stopped cleanly)
//! or its end has passed (a leader that died): creating the key, or replacing it at the
//! revision it read, so two standbys cannot both win.
//!
//! Fencing by time: a leader that could not renew stops publishing a fifth of a lease
//! before its lease ends, so it has stopped before anyone may take over (clocks of the
//! schedulers' hosts must agree to better than that). The new leader publishes from the
//! next slot of each device, so no slot is published twice. A leader dying is replaced
//! within `lease_ms` and half a second; a leader stopping cleanly releases the key and is
//! replaced within half a second.

use std::time::Duration;

use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

/// The key of the lease in its bucket.
const KEY: &str = "leader";

/// How often a standby looks at the lease.
const STANDBY_CHECK: Duration = Duration::from_millis(500);

/// What the lease key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// The leading scheduler: random per process.
    pub holder: String,
    /// Its host and process id, for people.
    pub process: String,
    /// When the lease ends unless renewed, Unix milliseconds.
    pub until_ms: u64,
}

/// What a standby may do about the lease it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// No lease: create it.
    Create,
    /// The lease has ended: replace it at this revision.
    Take {
        /// The revision read.
        revision: u64,
    },
    /// Someone holds it.
    Wait,
}

/// Whether a standby may claim the lease, given what the key holds now (`None`: no key, or
/// deleted) and its revision.
pub fn claim(current: Option<(&LeaseRecord, u64)>, now_ms: u64) -> Claim {
    match current {
        None => Claim::Create,
        Some((record, revision)) if record.until_ms <= now_ms => Claim::Take { revision },
        Some(_) => Claim::Wait,
    }
}

/// When a leader that could not renew must stop: a fifth of a lease before it ends.
pub fn fence_ms(until_ms: u64, lease_ms: u64) -> u64 {
    until_ms.saturating_sub(lease_ms / 5)
}

/// A lease held by this scheduler.
pub struct Lease {
    store: kv::Store,
    holder: String,
    process: String,
    lease_ms: u64,
    revision: u64,
    until_ms: u64,
}

impl Lease {
    /// Waits until this scheduler (`holder`) holds the lease.
    pub async fn acquire(store: kv::Store, holder: &str, lease_ms: u64) -> Self {
        let process = format!(
            "{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown-host".into()),
            std::process::id()
        );
        let mut waiting_logged = false;
        loop {
            let now = netpulse_shared::time::now_ms();
            let record = LeaseRecord {
                holder: holder.to_owned(),
                process: process.clone(),
                until_ms: now + lease_ms,
            };
            if let Some(revision) = try_claim(&store, &record, now).await {
                return Self {
                    store,
                    holder: holder.to_owned(),
                    process,
                    lease_ms,
                    revision,
                    until_ms: record.until_ms,
                };
            }
            if !waiting_logged {
                tracing::info!("another scheduler leads: standing by");
                waiting_logged = true;
            }
            tokio::time::sleep(STANDBY_CHECK).await;
        }
    }

    /// Renews the lease until it is lost: returns when another scheduler holds it, or when
    /// renewing failed until the fence (the lease may then be taken by another).
    pub async fn hold(&mut self) {
        let every = Duration::from_millis((self.lease_ms / 3).max(1));
        loop {
            let fence = fence_ms(self.until_ms, self.lease_ms);
            let now = netpulse_shared::time::now_ms();
            if now >= fence {
                tracing::warn!("could not renew the scheduler lease in time: standing down");
                return;
            }
            tokio::time::sleep(every.min(Duration::from_millis(fence - now))).await;
            let until_ms = netpulse_shared::time::now_ms() + self.lease_ms;
            let record = LeaseRecord {
                holder: self.holder.clone(),
                process: self.process.clone(),
                until_ms,
            };
            let Ok(value) = serde_json::to_vec(&record) else {
                return;
            };
            let renewed =
                tokio::time::timeout(every, self.store.update(KEY, value.into(), self.revision))
                    .await;
            match renewed {
                Ok(Ok(revision)) => {
                    self.revision = revision;
                    self.until_ms = until_ms;
                }
                Ok(Err(error)) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    tracing::warn!("the scheduler lease was taken by another: standing down");
                    return;
                }
                Ok(Err(error)) => tracing::warn!(%error, "cannot renew the scheduler lease yet"),
                Err(_) => tracing::warn!("renewing the scheduler lease timed out"),
            }
        }
    }

    /// Gives the lease up at once (a clean stop), so a standby need not wait for it to end.
    pub async fn release(self) {
        let released = self
            .store
            .delete_expect_revision(KEY, Some(self.revision))
            .await;
        if let Err(error) = released {
            tracing::debug!(%error, "scheduler lease not released; it will end by itself");
        }
    }
}

/// Claims the lease if [`claim`] allows it; the new revision when this scheduler got it.
async fn try_claim(store: &kv::Store, record: &LeaseRecord, now_ms: u64) -> Option<u64> {
    let current = match store.entry(KEY).await {
        Ok(entry) => entry,
        Err(error) => {
            tracing::debug!(%error, "cannot read the scheduler lease");
            return None;
        }
    };
    let current = current
        .filter(|e| e.operation == kv::Operation::Put)
        .map(|e| {
            let record = serde_json::from_slice::<LeaseRecord>(&e.value).unwrap_or(LeaseRecord {
                // Unreadable: treat as ended, so it cannot block leadership for ever.
                holder: String::new(),
                process: String::new(),
                until_ms: 0,
            });
            (record, e.revision)
        });
    let value = serde_json::to_vec(record).ok()?;
    let claimed = match claim(current.as_ref().map(|(r, rev)| (r, *rev)), now_ms) {
        Claim::Create => store.create(KEY, value.into()).await.ok(),
        Claim::Take { revision } => store.update(KEY, value.into(), revision).await.ok(),
        Claim::Wait => None,
    };
    if claimed.is_some() {
        tracing::info!(holder = %record.holder, "this scheduler leads");
    }
    claimed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_until(until_ms: u64) -> LeaseRecord {
        LeaseRecord {
            holder: "a".into(),
            process: "host:1".into(),
            until_ms,
        }
    }

    #[test]
    fn a_lease_is_claimed_only_when_free_or_ended() {
        assert_eq!(claim(None, 1_000), Claim::Create);
        let record = held_until(5_000);
        assert_eq!(claim(Some((&record, 7)), 4_999), Claim::Wait);
        assert_eq!(
            claim(Some((&record, 7)), 5_000),
            Claim::Take { revision: 7 }
        );
    }

    #[test]
    fn a_leader_stops_before_its_lease_can_be_taken() {
        let lease_ms = 5_000;
        let until = 105_000;
        let fence = fence_ms(until, lease_ms);
        assert_eq!(fence, 104_000);
        // At the fence the lease still holds: no standby may claim it yet.
        assert_eq!(claim(Some((&held_until(until), 1)), fence), Claim::Wait);
    }
}
