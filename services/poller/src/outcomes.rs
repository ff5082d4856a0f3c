//! Poll outcomes for the scheduler, a batch at a time.
//!
//! Every poll that publishes a sample or a failure reports its [`PollOutcome`] here; one task
//! gathers them and publishes a [`PollOutcomes`] on `netpulse.outcomes` once it holds
//! [`MAX_OUTCOMES`] of them or the oldest has waited [`LINGER`], so the scheduler follows
//! reachability from a few small messages instead of parsing every sample.

use std::time::Duration;

use netpulse_shared::messages::{PollOutcome, PollOutcomes, SCHEMA_VERSION};
use netpulse_shared::subjects;
use tokio::sync::mpsc;

/// Most outcomes in one message.
pub const MAX_OUTCOMES: usize = 512;

/// Longest an outcome waits for others before it is sent.
pub const LINGER: Duration = Duration::from_millis(50);

/// Outcomes still to be sent: bounded, so a NATS outage cannot grow it without end (an
/// outcome that does not fit is dropped; the scheduler learns the device's state from the
/// next poll).
const QUEUE: usize = 65_536;

/// Where polls report how they ended. Cheap to clone; when every clone is dropped, the
/// reporting task sends what it holds and ends.
#[derive(Debug, Clone)]
pub struct Outcomes(mpsc::Sender<PollOutcome>);

impl Outcomes {
    /// Starts the task that publishes outcomes on `client`; it ends once every [`Outcomes`]
    /// is dropped and the last batch is out.
    pub fn start(client: async_nats::Client) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        (Self(sender), tokio::spawn(send_batches(client, receiver)))
    }

    /// Reports one outcome (dropped, with a warning, when the queue is full).
    pub fn report(&self, outcome: PollOutcome) {
        if let Err(mpsc::error::TrySendError::Full(dropped)) = self.0.try_send(outcome) {
            tracing::warn!(device = %dropped.device, "outcome queue full; outcome dropped");
        }
    }
}

async fn send_batches(client: async_nats::Client, mut receiver: mpsc::Receiver<PollOutcome>) {
    let mut batch = Vec::with_capacity(MAX_OUTCOMES);
    loop {
        // Wait for the first outcome of a batch, then for more until full or LINGER passed.
        let Some(first) = receiver.recv().await else {
            return;
        };
        batch.push(first);
        let until = tokio::time::Instant::now() + LINGER;
        let mut closed = false;
        while batch.len() < MAX_OUTCOMES {
            match tokio::time::timeout_at(until, receiver.recv()).await {
                Ok(Some(outcome)) => batch.push(outcome),
                Ok(None) => {
                    closed = true;
                    break;
                }
                Err(_) => break,
            }
        }
        send(&client, std::mem::take(&mut batch)).await;
        if closed {
            return;
        }
    }
}

async fn send(client: &async_nats::Client, outcomes: Vec<PollOutcome>) {
    let message = PollOutcomes {
        schema: SCHEMA_VERSION,
        outcomes,
    };
    match serde_json::to_vec(&message) {
        Ok(payload) => {
            if let Err(error) = client.publish(subjects::OUTCOMES, payload.into()).await {
                tracing::warn!(%error, "cannot publish poll outcomes");
            }
        }
        Err(error) => tracing::error!(%error, "cannot encode poll outcomes"),
    }
}
