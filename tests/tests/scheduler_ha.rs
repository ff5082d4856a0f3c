//! Several schedulers: one leads through a lease in NATS, the others stand by. With both
//! running each device gets one poll job per interval; a standby takes over within two
//! intervals when the leader dies, at once when it stops cleanly; a leader that loses its
//! lease stops before the lease ends; no poll slot of any device is ever published twice.
//!
//! Devices are polled every 2 s with the shortest lease, 1 s: a device then goes at most
//! 1.45 s without a job when the leader dies, so it misses at most one slot.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::kv;
use futures::StreamExt;
use netpulse_shared::bus;
use netpulse_shared::messages::PollBatch;
use netpulse_shared::test_util::NatsServer;
use netpulse_shared::time::now_ms;
use serde_json::json;
use tokio::sync::watch;

const DEVICES: usize = 10;
const INTERVAL_MS: u64 = 2_000;
const LEASE_MS: u64 = 1_000;

/// One poll job seen: its device, its slot (from its id) and when it came, Unix ms.
struct Seen {
    device: String,
    slot: u64,
    at: u64,
}

/// Every poll job published, as a poller would receive them (but each one).
#[derive(Clone, Default)]
struct Jobs(Arc<Mutex<Vec<Seen>>>);

impl Jobs {
    async fn follow(client: &async_nats::Client) -> Self {
        let jobs = Self::default();
        let mut subscription = client
            .subscribe(netpulse_shared::subjects::POLL_BATCH)
            .await
            .expect("subscribe");
        client.flush().await.expect("flush");
        let seen = jobs.clone();
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                let batch =
                    serde_json::from_slice::<PollBatch>(&message.payload).expect("poll batch");
                let at = now_ms();
                for job in batch.jobs {
                    // A job's id is `<device>-<slot ms>`.
                    let slot = job.job_id.rsplit('-').next().and_then(|s| s.parse().ok());
                    seen.lock().push(Seen {
                        device: job.device.as_str().to_owned(),
                        slot: slot.expect("a job id ends in its slot"),
                        at,
                    });
                }
            }
        });
        jobs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Each device's slots, in order, of the jobs that came after `since_ms`.
    fn slots_after(&self, since_ms: u64) -> BTreeMap<String, Vec<u64>> {
        let mut by_device: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for seen in self.lock().iter().filter(|s| s.at > since_ms) {
            by_device
                .entry(seen.device.clone())
                .or_default()
                .push(seen.slot);
        }
        for slots in by_device.values_mut() {
            slots.sort_unstable();
        }
        by_device
    }

    /// `(device, slot)` published more than once.
    fn twice(&self) -> Vec<(String, u64)> {
        let mut counts: HashMap<(String, u64), usize> = HashMap::new();
        for seen in self.lock().iter() {
            *counts.entry((seen.device.clone(), seen.slot)).or_default() += 1;
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(slot, _)| slot)
            .collect()
    }

    /// The longest time between the slots of two consecutive jobs of one device.
    fn widest_gap(&self) -> u64 {
        self.slots_after(0)
            .values()
            .flat_map(|slots| slots.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>())
            .max()
            .unwrap_or(0)
    }

    /// When the first job after `since_ms` came.
    fn first_after(&self, since_ms: u64) -> Option<u64> {
        self.lock()
            .iter()
            .map(|s| s.at)
            .filter(|at| *at > since_ms)
            .min()
    }

    /// When the last job came.
    fn last(&self) -> Option<u64> {
        self.lock().iter().map(|s| s.at).max()
    }

    fn assert_no_slot_twice(&self) {
        let twice = self.twice();
        assert!(twice.is_empty(), "slots published twice: {twice:?}");
    }
}

/// nats-server with netpulse's users and permissions, the devices, and every job followed.
struct Setup {
    server: NatsServer,
    jobs: Jobs,
    /// The lease bucket, as a scheduler sees it.
    leases: kv::Store,
}

impl Setup {
    async fn start() -> Self {
        netpulse_shared::telemetry::init_for_tests();
        let server = NatsServer::start_with_netpulse_config();
        let poller = bus::connect(&server.settings_for("poller"), "test-poller")
            .await
            .expect("connect");
        let jobs = Jobs::follow(&poller).await;
        let gateway = bus::connect(&server.settings_for("gateway"), "test")
            .await
            .expect("connect");
        netpulse_tests::register_devices(
            &gateway,
            1,
            (0..DEVICES).map(|n| {
                json!({"name": format!("ha-{n}"), "address": format!("192.0.2.{}:161", n + 1),
                       "interval": INTERVAL_MS / 1000})
            }),
        )
        .await;
        let scheduler = bus::connect(&server.settings_for("scheduler"), "test-lease")
            .await
            .expect("connect");
        let js = async_nats::jetstream::new(scheduler);
        let leases = bus::Bucket::SCHEDULER_LEASE
            .open(&js, 1)
            .await
            .expect("lease bucket");
        Self {
            server,
            jobs,
            leases,
        }
    }

    /// The lease as stored: its holder and end, and its revision; `None` when there is none.
    async fn lease(&self) -> Option<(String, u64, u64)> {
        let entry = self.leases.entry("leader").await.expect("read the lease")?;
        if entry.operation != kv::Operation::Put {
            return None;
        }
        let record: serde_json::Value = serde_json::from_slice(&entry.value).expect("lease");
        Some((
            record["holder"].as_str().expect("holder").to_owned(),
            record["until_ms"].as_u64().expect("until_ms"),
            entry.revision,
        ))
    }
}

/// A scheduler running in this process, stopped cleanly with `stop` or killed with `kill`.
struct Scheduler {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Scheduler {
    async fn start(server: &NatsServer) -> Self {
        let client = bus::connect(&server.settings_for("scheduler"), "test-scheduler")
            .await
            .expect("connect");
        let (stop, mut stopped) = watch::channel(false);
        let settings = netpulse_scheduler::SchedulerSettings {
            lease_ms: LEASE_MS,
            ..Default::default()
        };
        let task = tokio::spawn(async move {
            netpulse_scheduler::run(client, settings, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
            .expect("scheduler");
        });
        Self { stop, task }
    }

    /// Dies without a word: its lease is left to run out.
    fn kill(self) {
        self.task.abort();
    }

    /// Stops cleanly, giving its lease up.
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Asserts that a device missed at most one slot, and none was published twice.
fn assert_at_most_one_slot_missed(jobs: &Jobs) {
    jobs.assert_no_slot_twice();
    let gap = jobs.widest_gap();
    println!("widest gap between the slots of a device: {gap} ms");
    assert!(
        gap <= 2 * INTERVAL_MS,
        "a device went {gap} ms between poll slots: more than one slot missed"
    );
}

#[tokio::test]
async fn two_schedulers_publish_one_job_per_device_each_interval() {
    let setup = Setup::start().await;
    // Both start at once: one wins the lease.
    let (first, second) = tokio::join!(
        Scheduler::start(&setup.server),
        Scheduler::start(&setup.server)
    );
    let started = now_ms();
    sleep_ms(10 * INTERVAL_MS + 1_000).await;

    setup.jobs.assert_no_slot_twice();
    let slots = setup.jobs.slots_after(started);
    assert_eq!(slots.len(), DEVICES, "every device polled: {slots:?}");
    for (device, slots) in &slots {
        assert!(
            slots.len() >= 10,
            "{device}: {} jobs in ten intervals",
            slots.len()
        );
        assert!(
            slots.windows(2).all(|w| w[1] - w[0] == INTERVAL_MS),
            "{device}: not one job each interval: {slots:?}"
        );
    }
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_standby_takes_over_within_two_intervals_when_the_leader_dies() {
    let setup = Setup::start().await;
    let leader = Scheduler::start(&setup.server).await;
    sleep_ms(INTERVAL_MS).await;
    let (holder, ..) = setup.lease().await.expect("a leader");
    let standby = Scheduler::start(&setup.server).await;
    sleep_ms(3 * INTERVAL_MS).await;

    let killed = now_ms();
    leader.kill();
    sleep_ms(5 * INTERVAL_MS).await;

    let (new_holder, ..) = setup.lease().await.expect("a new leader");
    assert_ne!(new_holder, holder, "the standby holds the lease");
    let takeover = setup
        .jobs
        .first_after(killed + 50)
        .expect("jobs after the kill")
        - killed;
    println!("the first job came {takeover} ms after the leader died");
    let slots = setup.jobs.slots_after(killed);
    assert_eq!(slots.len(), DEVICES, "every device polled again: {slots:?}");
    for (device, slots) in &slots {
        assert!(
            slots[0] <= killed + 2 * INTERVAL_MS,
            "{device} polled again only at {} ms after the leader died",
            slots[0] - killed
        );
    }
    assert_at_most_one_slot_missed(&setup.jobs);
    standby.stop().await;
}

#[tokio::test]
async fn a_leader_that_stops_cleanly_hands_over_at_once() {
    let setup = Setup::start().await;
    let leader = Scheduler::start(&setup.server).await;
    sleep_ms(INTERVAL_MS).await;
    let (holder, ..) = setup.lease().await.expect("a leader");
    let standby = Scheduler::start(&setup.server).await;
    sleep_ms(3 * INTERVAL_MS).await;

    let stopped = now_ms();
    leader.stop().await;
    // Waiting for the lease to end would take at least two thirds of it.
    let handover = loop {
        match setup.lease().await {
            Some((new_holder, ..)) if new_holder != holder => break now_ms() - stopped,
            _ if now_ms() - stopped > 5 * LEASE_MS => panic!("nobody took over"),
            _ => sleep_ms(10).await,
        }
    };
    println!("the standby took the lease {handover} ms after the leader stopped");
    assert!(
        handover < LEASE_MS / 2,
        "handed over after {handover} ms: the released lease was not taken at once"
    );
    sleep_ms(3 * INTERVAL_MS).await;

    let slots = setup.jobs.slots_after(stopped);
    assert_eq!(slots.len(), DEVICES, "every device polled again: {slots:?}");
    assert_at_most_one_slot_missed(&setup.jobs);
    standby.stop().await;
}

#[tokio::test]
async fn a_leader_that_loses_its_lease_stops_before_the_lease_ends() {
    let setup = Setup::start().await;
    let leader = Scheduler::start(&setup.server).await;
    sleep_ms(2 * INTERVAL_MS).await;

    // Another holder replaces the lease, as a standby whose clock runs ahead would: the
    // leader can no longer renew it.
    let held_until = now_ms() + 3 * INTERVAL_MS;
    let taken = loop {
        let (_, until, revision) = setup.lease().await.expect("a leader");
        let record = json!({"holder": "elsewhere", "process": "test", "until_ms": held_until});
        let value = serde_json::to_vec(&record).expect("json");
        if setup
            .leases
            .update("leader", value.into(), revision)
            .await
            .is_ok()
        {
            break until;
        }
    };
    let replaced = now_ms();
    sleep_ms(INTERVAL_MS).await;
    let last = setup.jobs.last().expect("jobs before the lease was lost");
    assert!(
        last < taken,
        "a job came {} ms after the leader's lease was lost, past the lease's end",
        last.saturating_sub(replaced)
    );
    println!(
        "the last job came {} ms before the lost lease would have ended",
        taken - last
    );

    // When the other lease ends, the old leader takes it again and goes on.
    sleep_ms(held_until - now_ms() + 2 * INTERVAL_MS).await;
    let slots = setup.jobs.slots_after(held_until);
    assert_eq!(slots.len(), DEVICES, "polling again: {slots:?}");
    setup.jobs.assert_no_slot_twice();
    leader.stop().await;
}
