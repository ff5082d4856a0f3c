//! Serving `GET /metrics`: who may read it, and what JetStream says of the recorder's backlog
//! at each scrape.

use std::time::Duration;

use async_nats::jetstream::{self};
use netpulse_shared::{subjects, time};
use warp::http::{HeaderMap, Method};
use warp::{Filter, Rejection, Reply};

use crate::auth::{Auth, Role};
use crate::live::hub::Hub;
use crate::metrics::Metrics;
use crate::metrics::CONTENT_TYPE;
use netpulse_shared::usm::Secret;

/// Who may read `/metrics`: a signed-in user of at least `role`, or whoever presents
/// `token` (a scrape token for Prometheus, which cannot sign in).
#[derive(Clone)]
pub struct Access {
    /// The least role that may read.
    pub role: Role,
    /// The scrape token, when configured.
    pub token: Option<Secret>,
}

/// `GET /metrics`.
pub fn route(
    metrics: Metrics,
    live: Hub,
    js: jetstream::Context,
    auth: Auth,
    access: Access,
    alerting: crate::alerts::Alerting,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and(crate::auth::source_address())
        .and_then(move |method: Method, headers: HeaderMap, source| {
            let (metrics, live, js, auth, access, alerting) = (
                metrics.clone(),
                live.clone(),
                js.clone(),
                auth.clone(),
                access.clone(),
                alerting.clone(),
            );
            async move {
                let scrape_token = access.token.as_ref().is_some_and(|token| {
                    bearer(&headers).is_some_and(|given| same_secret(given, token.expose()))
                });
                if !scrape_token {
                    let asked = crate::auth::Asked {
                        method: &method,
                        path: "/metrics",
                        headers: &headers,
                        source,
                    };
                    Box::pin(auth.check(&asked, access.role))
                        .await
                        .map_err(warp::reject::custom)?;
                }
                let jetstream = Box::pin(jetstream_figures(&js)).await;
                let mut body = metrics.render(live.clients(), &jetstream, time::now_ms());
                body.push_str(&Box::pin(alerting.metrics_text()).await);
                Ok::<_, Rejection>(
                    warp::reply::with_header(body, "content-type", CONTENT_TYPE).into_response(),
                )
            }
        })
}

/// The bearer token of an `Authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(warp::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The recorder's backlog, read from JetStream at each scrape.
#[derive(Debug, Default)]
pub(super) struct JetStreamFigures {
    /// Whether JetStream answered.
    pub(super) up: bool,
    /// (stream, consumer, messages not yet acknowledged by it).
    pub(super) pending: Vec<(&'static str, &'static str, u64)>,
    /// Messages in each stream.
    pub(super) messages: Vec<(&'static str, u64)>,
    /// Age of the oldest sample the recorder has not stored, seconds.
    pub(super) recorder_lag_secs: Option<f64>,
}

async fn jetstream_figures(js: &jetstream::Context) -> JetStreamFigures {
    let consumers = [
        (subjects::SAMPLES_STREAM, subjects::RECORDER_CONSUMER),
        (subjects::LOGS_STREAM, subjects::RECORDER_LOGS_CONSUMER),
        (subjects::EVENTS_STREAM, subjects::RECORDER_EVENTS_CONSUMER),
        (subjects::ALERTS_STREAM, subjects::RECORDER_ALERTS_CONSUMER),
    ];
    let read = async {
        let mut figures = JetStreamFigures {
            up: true,
            ..Default::default()
        };
        for (stream_name, consumer_name) in consumers {
            let Ok(mut stream) = js.get_stream(stream_name).await else {
                continue;
            };
            if let Ok(info) = stream.info().await {
                figures.messages.push((stream_name, info.state.messages));
            }
            let Ok(info) = stream.consumer_info(consumer_name).await.map(|i| {
                (
                    i.num_pending,
                    i.num_ack_pending,
                    i.ack_floor.stream_sequence,
                )
            }) else {
                continue;
            };
            let (waiting, unacked, floor) = info;
            let pending = waiting + u64::try_from(unacked).unwrap_or(0);
            figures.pending.push((stream_name, consumer_name, pending));
            if stream_name == subjects::SAMPLES_STREAM {
                let lag = if pending == 0 {
                    Some(0.0)
                } else {
                    // The first message not yet acknowledged (it may have expired: then none).
                    stream.get_raw_message(floor + 1).await.ok().map(|m| {
                        let at = m.time.unix_timestamp_nanos() / 1_000_000;
                        let now = i128::from(time::now_ms());
                        (now - at).max(0) as f64 / 1000.0
                    })
                };
                figures.recorder_lag_secs = lag;
            }
        }
        figures
    };
    tokio::time::timeout(Duration::from_secs(3), read)
        .await
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_tokens_compare_whole() {
        assert!(same_secret("s3cret-token", "s3cret-token"));
        assert!(!same_secret("s3cret-toke", "s3cret-token"));
        assert!(!same_secret("", "s3cret-token"));
    }
}
