//! Several schedulers: one leads through a lease in NATS, the others stand by; a standby
//! takes over within two intervals when the leader dies, at once when it stops cleanly; no
//! poll slot of any device is published twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use netpulse_shared::bus;
use netpulse_shared::messages::PollJob;
use netpulse_shared::test_util::NatsServer;
use serde_json::json;
use tokio::sync::watch;

const DEVICES: usize = 10;
const INTERVAL_MS: u64 = 2_000;
const LEASE_MS: u64 = 2_000;

/// Every poll job seen: its id (device and slot) and when it came, Unix ms.
#[derive(Clone, Default)]
struct Jobs(Arc<Mutex<Vec<(String, String, u64)>>>);

impl Jobs {
    async fn follow(client: &async_nats::Client) -> Self {
        let jobs = Self::default();
        let mut subscription = client
            .subscribe("netpulse.poll.*")
            .await
            .expect("subscribe");
        let seen = jobs.clone();
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                if let Ok(job) = serde_json::from_slice::<PollJob>(&message.payload) {
                    seen.lock().push((
                        job.device.as_str().to_owned(),
                        job.job_id,
                        netpulse_shared::time::now_ms(),
                    ));
                }
            }
        });
        jobs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, String, u64)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first job after `since_ms`, when it came.
    fn first_after(&self, since_ms: u64) -> Option<u64> {
        self.lock()
            .iter()
            .map(|(_, _, at)| *at)
            .filter(|at| *at > since_ms)
            .min()
    }

    /// Job ids published more than once.
    fn twice(&self) -> Vec<String> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let jobs = self.lock();
        for (_, id, _) in jobs.iter() {
            *counts.entry(id.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, _)| id.to_owned())
            .collect()
    }

    /// The longest time between the slots of two consecutive jobs of one device, over every
    /// device (a job's id is `<device>-<slot ms>`).
    fn widest_gap(&self) -> u64 {
        let mut by_device: HashMap<String, Vec<u64>> = HashMap::new();
        for (device, id, _) in self.lock().iter() {
            let slot = id.rsplit('-').next().and_then(|s| s.parse().ok());
            by_device
                .entry(device.clone())
                .or_default()
                .push(slot.expect("a job id ends in its slot"));
        }
        by_device
            .values_mut()
            .flat_map(|slots| {
                slots.sort_unstable();
                slots.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
            })
            .max()
            .unwrap_or(0)
    }
}

/// A scheduler running in this process, stopped cleanly with `stop` or killed with `kill`.
struct Scheduler {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Scheduler {
    async fn start(server: &NatsServer) -> Self {
        let client = bus::connect(&server.settings(), "test-scheduler")
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

#[tokio::test]
async fn one_scheduler_leads_and_another_takes_over_without_a_double_poll() {
    netpulse_shared::telemetry::init_for_tests();
    let server = NatsServer::start();
    let client = bus::connect(&server.settings(), "test")
        .await
        .expect("connect");
    let jobs = Jobs::follow(&client).await;
    netpulse_tests::register_devices(
        &client,
        1,
        (0..DEVICES).map(|n| {
            json!({"name": format!("ha-{n}"), "address": format!("192.0.2.{}:161", n + 1),
                   "interval": INTERVAL_MS / 1000})
        }),
    )
    .await;

    // Two schedulers: only one publishes.
    let first = Scheduler::start(&server).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = Scheduler::start(&server).await;
    tokio::time::sleep(Duration::from_millis(5 * INTERVAL_MS)).await;
    let per_device = jobs.lock().len() as f64 / DEVICES as f64;
    assert!(
        (4.0..=6.5).contains(&per_device),
        "one job per device each interval with two schedulers: {per_device:.1} per device in 5 intervals"
    );
    assert!(
        jobs.twice().is_empty(),
        "slots published twice: {:?}",
        jobs.twice()
    );

    // The leader dies: the standby takes over within two intervals.
    let killed_ms = netpulse_shared::time::now_ms();
    first.kill();
    tokio::time::sleep(Duration::from_millis(LEASE_MS + 3 * INTERVAL_MS)).await;
    let resumed = jobs
        .first_after(killed_ms + 50)
        .expect("jobs after the kill");
    let takeover = resumed - killed_ms;
    println!("the standby took over {takeover} ms after the leader died");
    assert!(
        takeover <= 2 * INTERVAL_MS,
        "took over after {takeover} ms, more than two intervals"
    );

    // A third starts as standby; the leader stops cleanly and hands over at once.
    let third = Scheduler::start(&server).await;
    tokio::time::sleep(Duration::from_millis(INTERVAL_MS)).await;
    let stopped_ms = netpulse_shared::time::now_ms();
    second.stop().await;
    tokio::time::sleep(Duration::from_millis(3 * INTERVAL_MS)).await;
    let handover = jobs
        .first_after(stopped_ms + 50)
        .expect("jobs after the stop")
        - stopped_ms;
    println!("the standby took over {handover} ms after the leader stopped");
    assert!(handover <= INTERVAL_MS, "handed over after {handover} ms");

    assert!(
        jobs.twice().is_empty(),
        "slots published twice: {:?}",
        jobs.twice()
    );
    // Taking over within two intervals, a device misses at most the two slots in between.
    let gap = jobs.widest_gap();
    assert!(
        gap <= 3 * INTERVAL_MS,
        "a device went {gap} ms between poll slots"
    );
    third.stop().await;
}
