//! Leadership among several copies of a service (schedulers, alerters): one leads, the others
//! stand by.
//!
//! The leader holds a lease: the key `leader` of the service's lease bucket
//! (`netpulse_scheduler_lease`, `netpulse_alerter_lease`), a [`LeaseRecord`] naming it and the
//! time its lease ends. It renews the lease every third of its `lease_ms` by compare-and-set on the key's revision. A standby reads the key
//! every quarter of a lease (at most every half second) and takes it once it is gone
//! (released by a leader that stopped cleanly) or its end has passed (a leader that died):
//! creating the key, or replacing it at the revision it read, so two standbys cannot both
//! win.
//!
//! Fencing by time: every publication of the leader checks its [`Fence`], which a leader
//! that could not renew passes a fifth of a lease before its lease ends, so it has stopped
//! before anyone may take over, whatever its tasks were doing (clocks of the schedulers'
//! hosts must agree to better than that). A new leader publishes from the first slot of
//! each device a fifth of a lease after it took the lease ([`first_slot_not_before`]), so
//! no slot is published twice, after a death or a clean handover alike.
//!
//! Timing: a leader that dies was last renewed before it died, so a standby leads at most
//! `lease_ms` and one standby check later, and polls from a fifth of a lease after that:
//! at most `1.2 × lease_ms + 0.5 s` without polls ([`longest_gap_ms`]). A leader that
//! stops cleanly releases the key and is replaced within a standby check.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

/// The key of the lease in its bucket.
const KEY: &str = "leader";

/// How often a standby looks at the lease: every quarter of a lease, at most every half
/// second.
pub fn standby_check_ms(lease_ms: u64) -> u64 {
    (lease_ms / 4).clamp(1, 500)
}

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

/// The first slot a new leader may publish, having taken the lease at `acquired_ms`: a
/// fifth of a lease later. Its predecessor stopped before that, even on a clock up to a
/// fifth of a lease ahead: at its fence when it died (before the lease could be taken), or
/// before releasing the lease when it stopped cleanly.
pub fn first_slot_not_before(acquired_ms: u64, lease_ms: u64) -> u64 {
    acquired_ms + lease_ms / 5
}

/// The longest a device goes without a poll job when its leader dies: the lease, one
/// standby check and the margin of [`first_slot_not_before`]. A takeover within two
/// intervals of a device needs this to be at most two intervals; within one interval, the
/// device misses at most one slot.
pub fn longest_gap_ms(lease_ms: u64) -> u64 {
    lease_ms + standby_check_ms(lease_ms) + lease_ms / 5
}

/// Until when this scheduler may publish, shared by every task that publishes for the
/// leader: the fence of its lease, passed at once when the lease is lost or given up.
#[derive(Debug, Clone, Default)]
pub struct Fence(Arc<AtomicU64>);

impl Fence {
    /// Whether this scheduler may still publish at `now_ms` (Unix milliseconds).
    pub fn allows(&self, now_ms: u64) -> bool {
        now_ms < self.0.load(Ordering::Acquire)
    }

    /// Allows publishing until `until_ms` (0: not at all).
    fn set(&self, until_ms: u64) {
        self.0.store(until_ms, Ordering::Release);
    }
}

/// A lease held by this scheduler.
pub struct Lease {
    store: kv::Store,
    fence: Fence,
    holder: String,
    process: String,
    lease_ms: u64,
    revision: u64,
    until_ms: u64,
    /// Which service leads (`scheduler`, `alerter`), for the logs.
    service: &'static str,
}

/// A random holder name for this process.
pub fn new_holder() -> String {
    format!(
        "{:016x}",
        std::hash::BuildHasher::hash_one(
            &std::collections::hash_map::RandomState::new(),
            (std::process::id(), crate::time::now_ms())
        )
    )
}

impl Lease {
    /// Waits until this copy of `service` (`holder`) holds the lease.
    pub async fn acquire(
        store: kv::Store,
        service: &'static str,
        holder: &str,
        lease_ms: u64,
    ) -> Self {
        let process = format!(
            "{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown-host".into()),
            std::process::id()
        );
        let mut waiting_logged = false;
        loop {
            let now = crate::time::now_ms();
            let record = LeaseRecord {
                holder: holder.to_owned(),
                process: process.clone(),
                until_ms: now + lease_ms,
            };
            if let Some(revision) = try_claim(&store, service, &record, now).await {
                let fence = Fence::default();
                fence.set(fence_ms(record.until_ms, lease_ms));
                return Self {
                    store,
                    fence,
                    holder: holder.to_owned(),
                    process,
                    lease_ms,
                    revision,
                    until_ms: record.until_ms,
                    service,
                };
            }
            if !waiting_logged {
                tracing::info!(service, "another copy leads: standing by");
                waiting_logged = true;
            }
            tokio::time::sleep(Duration::from_millis(standby_check_ms(lease_ms))).await;
        }
    }

    /// The fence every publication of this leader checks.
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// Renews the lease until it is lost: returns when another scheduler holds it, or when
    /// renewing failed until the fence (the lease may then be taken by another). Either way
    /// the fence has passed when it returns.
    pub async fn hold(&mut self) {
        self.renew_until_lost().await;
        self.fence.set(0);
    }

    async fn renew_until_lost(&mut self) {
        let every = Duration::from_millis((self.lease_ms / 3).max(1));
        loop {
            let fence = fence_ms(self.until_ms, self.lease_ms);
            let now = crate::time::now_ms();
            if now >= fence {
                tracing::warn!(
                    service = self.service,
                    "could not renew the lease in time: standing down"
                );
                return;
            }
            tokio::time::sleep(every.min(Duration::from_millis(fence - now))).await;
            let now = crate::time::now_ms();
            if now >= fence {
                continue;
            }
            let until_ms = now + self.lease_ms;
            let record = LeaseRecord {
                holder: self.holder.clone(),
                process: self.process.clone(),
                until_ms,
            };
            let Ok(value) = serde_json::to_vec(&record) else {
                return;
            };
            // Waiting for an answer past the fence would leave it unchecked.
            let wait = every.min(Duration::from_millis(fence - now));
            let renewed =
                tokio::time::timeout(wait, self.store.update(KEY, value.into(), self.revision))
                    .await;
            match renewed {
                Ok(Ok(revision)) => {
                    self.revision = revision;
                    self.until_ms = until_ms;
                    self.fence.set(fence_ms(until_ms, self.lease_ms));
                }
                Ok(Err(error)) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    // A renewal whose answer timed out may have been stored all the same.
                    match self.own_record(wait).await {
                        Some((revision, until_ms)) => {
                            self.revision = revision;
                            self.until_ms = until_ms;
                            self.fence.set(fence_ms(until_ms, self.lease_ms));
                        }
                        None => {
                            tracing::warn!(
                                service = self.service,
                                "the lease was taken by another: standing down"
                            );
                            return;
                        }
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(service = self.service, %error, "cannot renew the lease yet")
                }
                Err(_) => tracing::warn!(service = self.service, "renewing the lease timed out"),
            }
        }
    }

    /// The revision and end of the lease as stored, if it is still this scheduler's.
    async fn own_record(&self, wait: Duration) -> Option<(u64, u64)> {
        let entry = tokio::time::timeout(wait, self.store.entry(KEY))
            .await
            .ok()?
            .ok()??;
        let record = serde_json::from_slice::<LeaseRecord>(&entry.value).ok()?;
        (entry.operation == kv::Operation::Put && record.holder == self.holder)
            .then_some((entry.revision, record.until_ms))
    }

    /// Gives the lease up at once (a clean stop), so a standby need not wait for it to end.
    pub async fn release(self) {
        self.fence.set(0);
        let released = self
            .store
            .delete_expect_revision(KEY, Some(self.revision))
            .await;
        if let Err(error) = released {
            tracing::debug!(service = self.service, %error, "lease not released; it will end by itself");
        }
    }
}

/// Tells a leader's work to stop: resolves once the lease is lost or the process stops.
pub struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    /// Waits until the leader must stop.
    pub async fn stopped(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Runs `lead` each time this process takes the lease of `service` in `store`, until
/// `shutdown` resolves; stands by in between. `lead` gets the lease's [`Fence`] (which every
/// action of the leader checks) and a [`Stop`] that resolves when the lease is lost or the
/// process stops: it then ends its work and returns. An error from `lead` ends it all (the
/// lease released); when `lead` ends by itself, the lease is released and this returns.
pub async fn lead_while_holding<E, Work>(
    store: kv::Store,
    service: &'static str,
    lease_ms: u64,
    shutdown: impl std::future::Future<Output = ()>,
    mut lead: impl FnMut(Fence, Stop) -> Work,
) -> Result<(), E>
where
    Work: std::future::Future<Output = Result<(), E>>,
{
    let holder = new_holder();
    tokio::pin!(shutdown);
    loop {
        let mut lease = tokio::select! {
            () = &mut shutdown => return Ok(()),
            lease = Lease::acquire(store.clone(), service, &holder, lease_ms) => lease,
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let leading = lead(lease.fence(), Stop(stopped));
        tokio::pin!(leading);
        let ended = tokio::select! {
            // It stops only when told to, or on an error.
            result = &mut leading => Some(result),
            () = lease.hold() => None,
            () = &mut shutdown => {
                let _ = stop.send(true);
                Some(leading.as_mut().await)
            }
        };
        match ended {
            // Lost the lease: the fence has passed, so the leader acts no more; end its work,
            // then stand by.
            None => {
                let _ = stop.send(true);
                leading.as_mut().await?;
            }
            Some(result) => {
                lease.release().await;
                return result;
            }
        }
    }
}

/// Claims the lease if [`claim`] allows it; the new revision when this scheduler got it.
async fn try_claim(
    store: &kv::Store,
    service: &'static str,
    record: &LeaseRecord,
    now_ms: u64,
) -> Option<u64> {
    let current = match store.entry(KEY).await {
        Ok(entry) => entry,
        Err(error) => {
            tracing::debug!(service, %error, "cannot read the lease");
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
        tracing::info!(service, holder = %record.holder, "this copy leads");
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
        let published = Fence::default();
        published.set(fence);
        assert!(published.allows(fence - 1));
        assert!(!published.allows(fence));
        assert!(!Fence::default().allows(fence), "no lease, no publishing");
    }

    #[test]
    fn a_new_leader_starts_after_every_slot_of_the_old_one() {
        let lease_ms = 5_000;
        // The old leader died: every slot it published came before its fence. The new one
        // claims the lease once its own clock has passed the lease's end, whatever the old
        // one's clock said, and starts after that.
        let until = 105_000;
        let last_old = fence_ms(until, lease_ms) - 1;
        assert_eq!(claim(Some((&held_until(until), 3)), until - 1), Claim::Wait);
        assert!(first_slot_not_before(until, lease_ms) > last_old);
        // The old leader stopped cleanly after its slot at `stopped` (its clock), then released
        // the lease; the new one takes it at once, on a clock behind by almost a fifth of a
        // lease.
        let stopped = 200_000;
        let skew = lease_ms / 5 - 1;
        assert!(first_slot_not_before(stopped - skew, lease_ms) > stopped);
    }

    #[test]
    fn with_the_shortest_lease_a_one_second_device_is_taken_over_within_two_intervals() {
        assert_eq!(standby_check_ms(1_000), 250);
        assert_eq!(standby_check_ms(5_000), 500);
        assert_eq!(longest_gap_ms(1_000), 1_450);
        assert!(longest_gap_ms(1_000) <= 2 * 1_000);
        // The default lease: within two intervals for devices polled every 4 s or slower.
        assert_eq!(longest_gap_ms(5_000), 6_500);
    }
}
