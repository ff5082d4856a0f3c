//! The audit log: every device change, user change and login attempt, published on
//! `netpulse.event.audit` and kept in the `NETPULSE_EVENTS` stream for `GET /api/audit`.

use async_nats::jetstream;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Schema version.
    pub schema: u32,
    /// When, Unix milliseconds.
    pub time_ms: u64,
    /// Who (the user name given, for a login).
    pub actor: String,
    /// What: `login`, `logout`, `device.add`, `device.delete`, `device.discover`,
    /// `user.add`, `user.update`, `user.delete`.
    pub action: String,
    /// On what (device id, user name).
    pub target: String,
    /// `ok`, or why it was refused.
    pub outcome: String,
    /// The client's address, when known.
    pub source: Option<String>,
}

/// Publishes and reads audit events.
#[derive(Clone)]
pub struct AuditLog {
    js: jetstream::Context,
}

impl AuditLog {
    /// An audit log over JetStream.
    pub fn new(js: jetstream::Context) -> Self {
        Self { js }
    }

    /// Records `actor`'s `action` on `target` with the outcome of `result` ("ok", or why it
    /// failed), and gives the result back.
    pub async fn result<T>(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.record(actor, action, target, &ApiError::outcome(&result), None)
            .await;
        result
    }

    /// Records an event (stored by JetStream before this returns; failures are logged).
    pub async fn record(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: &str,
        source: Option<String>,
    ) {
        let event = AuditEvent {
            schema: netpulse_shared::messages::SCHEMA_VERSION,
            time_ms: netpulse_shared::time::now_ms(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: outcome.to_owned(),
            source,
        };
        let Ok(payload) = serde_json::to_vec(&event) else {
            return;
        };
        let stored = async {
            self.js
                .publish(netpulse_shared::subjects::AUDIT, payload.into())
                .await?
                .await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(5), stored).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::error!(%error, action, "audit event not stored"),
            Err(_) => tracing::error!(action, "audit event not stored in time"),
        }
    }

    /// The latest `limit` events, newest first.
    pub async fn latest(&self, limit: usize) -> anyhow::Result<Vec<AuditEvent>> {
        // The gateway created the stream when it started.
        let mut stream = self
            .js
            .get_stream(netpulse_shared::subjects::EVENTS_STREAM)
            .await?;
        let info = stream.info().await?;
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        let mut events = Vec::new();
        let mut sequence = last;
        while sequence >= first && sequence > 0 && events.len() < limit {
            if let Ok(message) = stream.get_raw_message(sequence).await {
                if message.subject.as_str() == netpulse_shared::subjects::AUDIT {
                    if let Ok(event) = serde_json::from_slice::<AuditEvent>(&message.payload) {
                        events.push(event);
                    }
                }
            }
            sequence -= 1;
        }
        Ok(events)
    }
}
