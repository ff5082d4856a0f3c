//! Each service's heartbeat on `netpulse.health.<service>`: who runs where, since when, and
//! how often its NATS connection was made. The gateway turns them into metrics, so one scrape
//! shows every process of the deployment.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::messages::SCHEMA_VERSION;

/// How often a service reports.
pub const EVERY: Duration = Duration::from_secs(10);

/// One heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Schema version.
    pub schema: u32,
    /// `scheduler`, `poller`, `recorder`, `gateway` or `logs`.
    pub service: String,
    /// This process: host name and process id, `host:pid`.
    pub instance: String,
    /// When the process started, Unix milliseconds.
    pub started_ms: u64,
    /// When this heartbeat was sent, Unix milliseconds.
    pub time_ms: u64,
    /// Times the NATS connection was made: 1, plus one per reconnection.
    pub nats_connects: u64,
}

/// This process's instance name, `host:pid`.
pub fn instance() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Publishes `service`'s heartbeat at once and then every [`EVERY`], until aborted.
pub fn report(client: async_nats::Client, service: &'static str) -> tokio::task::JoinHandle<()> {
    let instance = instance();
    let started_ms = crate::time::now_ms();
    tokio::spawn(async move {
        let subject = crate::subjects::health(service);
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            let beat = Health {
                schema: SCHEMA_VERSION,
                service: service.to_owned(),
                instance: instance.clone(),
                started_ms,
                time_ms: crate::time::now_ms(),
                nats_connects: client
                    .statistics()
                    .connects
                    .load(std::sync::atomic::Ordering::Relaxed),
            };
            match serde_json::to_vec(&beat) {
                Ok(payload) => {
                    // Lost while disconnected: the next one follows in ten seconds.
                    if let Err(error) = client.publish(subject.clone(), payload.into()).await {
                        tracing::debug!(%error, "cannot publish the heartbeat");
                    }
                }
                Err(error) => tracing::error!(%error, "cannot encode the heartbeat"),
            }
        }
    })
}
