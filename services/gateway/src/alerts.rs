//! The alerting API: rules, channels, silences, alerts and their acknowledgement.
//!
//! - `GET /api/alert-rules` (everyone signed in), `POST` (operators) → 201 with its `id`;
//!   `GET/PUT/DELETE /api/alert-rules/{id}` (PUT and DELETE: operators).
//! - `GET /api/alert-channels` (everyone; no secrets, with each channel's delivery health),
//!   `POST` and `DELETE /api/alert-channels/{id}` (admins; 409 while a rule uses it).
//! - `GET /api/silences` (everyone, each with `active`), `POST` and `DELETE
//!   /api/silences/{id}` (operators).
//! - `GET /api/alerts`: pending and firing alerts (`?device=`); `?state=resolved&from=&to=`
//!   the resolved ones from the alert history. `POST /api/alerts/{id}/ack` (operators).
//!
//! The gateway writes rules, channels, silences and acknowledgements to their buckets; the
//! leading alerter follows them. Every change is audited.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv};
use bytes::Bytes;
use futures::StreamExt;
use netpulse_shared::alert::{
    new_id, valid_id, Ack, Alert, AlertEvent, AlertRule, AlertState, Channel, ChannelHealth,
    ChannelView, Silence,
};
use netpulse_shared::bus::{self, AlertBuckets};
use netpulse_shared::device::DeviceId;
use netpulse_shared::messages::SCHEMA_VERSION;
use netpulse_shared::subjects;
use netpulse_shared::time as clock;
use netpulse_shared::validation::ValidationError;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::{Auth, Principal, Role};
use crate::error::ApiError;
use crate::http::{limited_body, with, MAX_BODY_BYTES};

/// Most resolved alerts one history answer lists.
const MAX_HISTORY: usize = 1000;

/// What the alerting routes need.
#[derive(Clone)]
pub struct Alerting {
    /// The alerting buckets, once opened (and the alert history's stream created).
    opened: std::sync::Arc<tokio::sync::OnceCell<AlertBuckets>>,
    js: jetstream::Context,
    replicas: usize,
    auth: Auth,
}

impl Alerting {
    /// Alerting on `js`; its buckets are opened in the background (on a new cluster that
    /// takes a while: the gateway serves meanwhile, alerting answers 503 until they are).
    pub fn new(js: jetstream::Context, replicas: usize, auth: Auth) -> Self {
        let alerting = Self {
            opened: std::sync::Arc::default(),
            js,
            replicas,
            auth,
        };
        let opening = alerting.clone();
        tokio::spawn(async move {
            if let Err(error) = opening.buckets().await {
                tracing::warn!(error = %error.error, "alerting buckets not open yet");
            }
        });
        alerting
    }

    /// The alerting buckets, opened on first use.
    async fn buckets(&self) -> Result<&AlertBuckets, ApiError> {
        self.opened
            .get_or_try_init(|| async {
                let buckets = bus::alert_buckets(&self.js, self.replicas).await?;
                bus::alerts_stream(&self.js, self.replicas).await?;
                Ok::<_, bus::BusError>(buckets)
            })
            .await
            .map_err(unavailable)
    }
}

impl Alerting {
    /// The alerting part of `GET /metrics`: alerts pending and firing by severity, and each
    /// channel's deliveries and whether it is failing. Empty when the buckets do not answer.
    pub async fn metrics_text(&self) -> String {
        use std::fmt::Write;
        let label = crate::metrics::exposition::label;
        let Ok(buckets) = self.buckets().await else {
            return String::new();
        };
        let (Ok(alerts), Ok(channels)) = (
            bus::bucket_values::<Alert>(&buckets.alerts).await,
            bus::bucket_values::<Channel>(&buckets.channels).await,
        ) else {
            return String::new();
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP netpulse_alerts Alerts pending or firing now, by state and severity."
        );
        let _ = writeln!(out, "# TYPE netpulse_alerts gauge");
        for state in [AlertState::Pending, AlertState::Firing] {
            for severity in ["critical", "warning", "info"] {
                let n = alerts
                    .iter()
                    .filter(|a| a.state == state && a.severity.as_str() == severity)
                    .count();
                let state = if state == AlertState::Pending {
                    "pending"
                } else {
                    "firing"
                };
                let _ = writeln!(
                    out,
                    "netpulse_alerts{{state=\"{state}\",severity=\"{severity}\"}} {n}"
                );
            }
        }
        let _ = writeln!(out, "# HELP netpulse_alert_channel_failing 1 when the channel's latest delivery failed after its retries.");
        let _ = writeln!(out, "# TYPE netpulse_alert_channel_failing gauge");
        let mut rows = Vec::new();
        for channel in &channels {
            let seen = value::<ChannelHealth>(&buckets.health, &channel.id)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            let labels = format!(
                "channel=\"{}\",name=\"{}\",kind=\"{}\"",
                label(&channel.id),
                label(&channel.name),
                channel.view().kind
            );
            let _ = writeln!(
                out,
                "netpulse_alert_channel_failing{{{labels}}} {}",
                u8::from(seen.failing)
            );
            rows.push((labels, seen));
        }
        let _ = writeln!(out, "# HELP netpulse_alert_notifications_total Notifications delivered by each channel, or given up after their retries.");
        let _ = writeln!(out, "# TYPE netpulse_alert_notifications_total counter");
        for (labels, seen) in &rows {
            let _ = writeln!(
                out,
                "netpulse_alert_notifications_total{{{labels},outcome=\"sent\"}} {}",
                seen.sent
            );
            let _ = writeln!(
                out,
                "netpulse_alert_notifications_total{{{labels},outcome=\"failed\"}} {}",
                seen.failed
            );
        }
        out
    }
}

/// A channel as listed: no secrets, and how its deliveries went.
#[derive(Debug, Serialize)]
struct ListedChannel {
    #[serde(flatten)]
    channel: ChannelView,
    health: Option<ChannelHealth>,
}

/// A silence as listed, with whether it is in force now.
#[derive(Debug, Serialize)]
struct ListedSilence {
    #[serde(flatten)]
    silence: Silence,
    active: bool,
}

/// Every alerting route.
pub fn routes(alerting: Alerting) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let auth = alerting.auth.clone();
    let with = move || {
        let alerting = alerting.clone();
        with(alerting)
    };
    let body = || limited_body(MAX_BODY_BYTES);
    let rules = warp::path!("api" / "alert-rules");
    let rule = warp::path!("api" / "alert-rules" / String);
    let channels = warp::path!("api" / "alert-channels");
    let channel = warp::path!("api" / "alert-channels" / String);
    let silences = warp::path!("api" / "silences");
    let silence = warp::path!("api" / "silences" / String);
    let viewer = || auth.require(Role::Viewer);
    let operator = || auth.require(Role::Operator);
    let admin = || auth.require(Role::Admin);
    let routes = [
        rules
            .and(warp::get())
            .and(viewer())
            .and(with())
            .and_then(|_: Principal, a: Alerting| async move { list_rules(a).await })
            .boxed(),
        rules
            .and(warp::post())
            .and(operator())
            .and(body())
            .and(with())
            .and_then(|p, b, a| async move { save_rule(p, None, b, a).await })
            .boxed(),
        rule.and(warp::get())
            .and(viewer())
            .and(with())
            .and_then(|id: String, _: Principal, a: Alerting| async move { show_rule(id, a).await })
            .boxed(),
        rule.and(warp::put())
            .and(operator())
            .and(body())
            .and(with())
            .and_then(|id, p, b, a| async move { save_rule(p, Some(id), b, a).await })
            .boxed(),
        rule.and(warp::delete())
            .and(operator())
            .and(with())
            .and_then(|id, p, a| async move { delete_rule(p, id, a).await })
            .boxed(),
        channels
            .and(warp::get())
            .and(viewer())
            .and(with())
            .and_then(|_: Principal, a: Alerting| async move { list_channels(a).await })
            .boxed(),
        channels
            .and(warp::post())
            .and(admin())
            .and(body())
            .and(with())
            .and_then(|p, b, a| async move { create_channel(p, b, a).await })
            .boxed(),
        channel
            .and(warp::delete())
            .and(admin())
            .and(with())
            .and_then(|id, p, a| async move { delete_channel(p, id, a).await })
            .boxed(),
        silences
            .and(warp::get())
            .and(viewer())
            .and(with())
            .and_then(|_: Principal, a: Alerting| async move { list_silences(a).await })
            .boxed(),
        silences
            .and(warp::post())
            .and(operator())
            .and(body())
            .and(with())
            .and_then(|p, b, a| async move { create_silence(p, b, a).await })
            .boxed(),
        silence
            .and(warp::delete())
            .and(operator())
            .and(with())
            .and_then(|id, p, a| async move { delete_silence(p, id, a).await })
            .boxed(),
        warp::path!("api" / "alerts")
            .and(warp::get())
            .and(viewer())
            .and(warp::query::<HashMap<String, String>>())
            .and(with())
            .and_then(|_: Principal, q, a| async move { list_alerts(q, a).await })
            .boxed(),
        warp::path!("api" / "alerts" / String / "ack")
            .and(warp::post())
            .and(operator())
            .and(body())
            .and(with())
            .and_then(|id, p, b, a| async move { ack_alert(p, id, b, a).await })
            .boxed(),
    ];
    let mut all = routes.into_iter();
    let first = all.next().expect("at least one route");
    all.fold(first, |joined, route| joined.or(route).unify().boxed())
}

fn reply(value: &impl Serialize, status: StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn unavailable(error: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable("alerting", &error)
}

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no {what} with id '{id}'")).with_field("id")
}

async fn values<T: serde::de::DeserializeOwned>(store: &kv::Store) -> Result<Vec<T>, ApiError> {
    bus::bucket_values(store).await.map_err(unavailable)
}

async fn value<T: serde::de::DeserializeOwned>(
    store: &kv::Store,
    id: &str,
) -> Result<Option<T>, ApiError> {
    if !valid_id(id) {
        return Ok(None);
    }
    let bytes = store.get(id).await.map_err(unavailable)?;
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

async fn put(store: &kv::Store, id: &str, value: &impl Serialize) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec(value).map_err(unavailable)?;
    store.put(id, bytes.into()).await.map_err(unavailable)?;
    Ok(())
}

async fn audit<T>(
    a: &Alerting,
    p: &Principal,
    action: &str,
    target: &str,
    r: &Result<T, ApiError>,
) {
    a.auth
        .audit
        .record(&p.username, action, target, &ApiError::outcome(r), None)
        .await;
}

async fn list_rules(a: Alerting) -> Result<Response, Rejection> {
    let mut rules: Vec<AlertRule> = values(&a.buckets().await?.rules).await?;
    rules.sort_by(|x, y| x.name.cmp(&y.name).then(x.id.cmp(&y.id)));
    Ok(reply(&rules, StatusCode::OK))
}

async fn show_rule(id: String, a: Alerting) -> Result<Response, Rejection> {
    let rule: AlertRule = value(&a.buckets().await?.rules, &id)
        .await?
        .ok_or_else(|| not_found("alert rule", &id))?;
    Ok(reply(&rule, StatusCode::OK))
}

/// Creates a rule (`id` none) or replaces one.
async fn save_rule(
    p: Principal,
    id: Option<String>,
    body: Bytes,
    a: Alerting,
) -> Result<Response, Rejection> {
    let creating = id.is_none();
    let result = async {
        let id = match id {
            Some(id) => {
                value::<AlertRule>(&a.buckets().await?.rules, &id)
                    .await?
                    .ok_or_else(|| not_found("alert rule", &id))?;
                id
            }
            None => new_id(),
        };
        let rule = AlertRule::from_json_body(&body, id).map_err(ApiError::from)?;
        for channel in &rule.channels {
            if value::<Channel>(&a.buckets().await?.channels, channel)
                .await?
                .is_none()
            {
                return Err(ApiError::from(ValidationError::new(
                    "channels",
                    format!("no channel with id '{channel}'"),
                )));
            }
        }
        put(&a.buckets().await?.rules, &rule.id, &rule).await?;
        Ok(rule)
    }
    .await;
    let target = result.as_ref().map(|r| r.id.clone()).unwrap_or_default();
    let action = if creating { "rule.add" } else { "rule.update" };
    audit(&a, &p, action, &target, &result).await;
    let status = if creating {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply(&result?, status))
}

async fn delete_rule(p: Principal, id: String, a: Alerting) -> Result<Response, Rejection> {
    let result = async {
        value::<AlertRule>(&a.buckets().await?.rules, &id)
            .await?
            .ok_or_else(|| not_found("alert rule", &id))?;
        a.buckets()
            .await?
            .rules
            .delete(&id)
            .await
            .map_err(unavailable)
    }
    .await;
    audit(&a, &p, "rule.delete", &id, &result).await;
    result?;
    Ok(no_content())
}

async fn list_channels(a: Alerting) -> Result<Response, Rejection> {
    let mut channels: Vec<Channel> = values(&a.buckets().await?.channels).await?;
    channels.sort_by(|x, y| x.name.cmp(&y.name).then(x.id.cmp(&y.id)));
    let mut listed = Vec::with_capacity(channels.len());
    for channel in channels {
        let health = value::<ChannelHealth>(&a.buckets().await?.health, &channel.id).await?;
        listed.push(ListedChannel {
            channel: channel.view(),
            health,
        });
    }
    Ok(reply(&listed, StatusCode::OK))
}

async fn create_channel(p: Principal, body: Bytes, a: Alerting) -> Result<Response, Rejection> {
    let result = async {
        let channel = Channel::from_json_body(&body, new_id()).map_err(ApiError::from)?;
        put(&a.buckets().await?.channels, &channel.id, &channel).await?;
        Ok(ListedChannel {
            channel: channel.view(),
            health: None,
        })
    }
    .await;
    let target = result
        .as_ref()
        .map(|c| c.channel.id.clone())
        .unwrap_or_default();
    audit(&a, &p, "channel.add", &target, &result).await;
    Ok(reply(&result?, StatusCode::CREATED))
}

async fn delete_channel(p: Principal, id: String, a: Alerting) -> Result<Response, Rejection> {
    let result = async {
        value::<Channel>(&a.buckets().await?.channels, &id)
            .await?
            .ok_or_else(|| not_found("alert channel", &id))?;
        let rules: Vec<AlertRule> = values(&a.buckets().await?.rules).await?;
        let users: Vec<&str> = rules
            .iter()
            .filter(|r| r.channels.contains(&id))
            .map(|r| r.name.as_str())
            .collect();
        if !users.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("rules use this channel: {}", users.join(", ")),
            )
            .with_field("id"));
        }
        a.buckets()
            .await?
            .channels
            .delete(&id)
            .await
            .map_err(unavailable)?;
        a.buckets()
            .await?
            .health
            .purge(&id)
            .await
            .map_err(unavailable)
    }
    .await;
    audit(&a, &p, "channel.delete", &id, &result).await;
    result?;
    Ok(no_content())
}

async fn list_silences(a: Alerting) -> Result<Response, Rejection> {
    let now = clock::now_ms();
    let mut silences: Vec<Silence> = values(&a.buckets().await?.silences).await?;
    silences.sort_by_key(|s| (s.from_ms, s.to_ms));
    let listed: Vec<_> = silences
        .into_iter()
        .map(|silence| ListedSilence {
            active: silence.active_at(now),
            silence,
        })
        .collect();
    Ok(reply(&listed, StatusCode::OK))
}

async fn create_silence(p: Principal, body: Bytes, a: Alerting) -> Result<Response, Rejection> {
    let result = async {
        let silence = Silence::from_json_body(&body, new_id(), &p.username, clock::now_ms())
            .map_err(ApiError::from)?;
        put(&a.buckets().await?.silences, &silence.id, &silence).await?;
        Ok(ListedSilence {
            active: silence.active_at(clock::now_ms()),
            silence,
        })
    }
    .await;
    let target = result
        .as_ref()
        .map(|s| s.silence.id.clone())
        .unwrap_or_default();
    audit(&a, &p, "silence.add", &target, &result).await;
    Ok(reply(&result?, StatusCode::CREATED))
}

async fn delete_silence(p: Principal, id: String, a: Alerting) -> Result<Response, Rejection> {
    let result = async {
        value::<Silence>(&a.buckets().await?.silences, &id)
            .await?
            .ok_or_else(|| not_found("silence", &id))?;
        a.buckets()
            .await?
            .silences
            .delete(&id)
            .await
            .map_err(unavailable)
    }
    .await;
    audit(&a, &p, "silence.delete", &id, &result).await;
    result?;
    Ok(no_content())
}

async fn list_alerts(query: HashMap<String, String>, a: Alerting) -> Result<Response, Rejection> {
    ApiError::unknown_parameter(query.keys(), &["device", "state", "from", "to"])?;
    let device = match query.get("device") {
        Some(raw) => Some(DeviceId::parse(raw).map_err(|m| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("device: {m}")).with_field("device")
        })?),
        None => None,
    };
    let time_param = |name: &str| {
        query
            .get(name)
            .map(|raw| {
                clock::parse_time(raw).map_err(|m| {
                    ApiError::new(StatusCode::BAD_REQUEST, format!("{name}: {m}")).with_field(name)
                })
            })
            .transpose()
    };
    let mut alerts = match query.get("state").map(String::as_str) {
        None | Some("active") => {
            let alerts: Vec<Alert> = values(&a.buckets().await?.alerts).await?;
            let acks: Vec<Ack> = values(&a.buckets().await?.acks).await?;
            alerts
                .into_iter()
                .filter(|alert| alert.state != AlertState::Resolved)
                .map(|mut alert| {
                    if let Some(ack) = acks.iter().find(|k| k.alert == alert.id) {
                        alert.acked_by.get_or_insert_with(|| ack.by.clone());
                        alert.ack_comment.get_or_insert_with(|| ack.comment.clone());
                    }
                    alert.outbox.clear();
                    alert
                })
                .collect::<Vec<_>>()
        }
        Some("resolved") => {
            let to = time_param("to")?.unwrap_or_else(clock::now_ms);
            let from = time_param("from")?.unwrap_or(to.saturating_sub(86_400_000));
            resolved(&a.js, from, to).await?
        }
        Some(_) => {
            return Err(
                ApiError::new(StatusCode::BAD_REQUEST, "state: must be active or resolved")
                    .with_field("state")
                    .into(),
            )
        }
    };
    if let Some(device) = &device {
        alerts.retain(|alert| &alert.device == device);
    }
    alerts.sort_by(|x, y| {
        (x.severity, std::cmp::Reverse(x.since_ms))
            .cmp(&(y.severity, std::cmp::Reverse(y.since_ms)))
    });
    Ok(reply(&alerts, StatusCode::OK))
}

/// Alerts resolved from `from_ms` to `to_ms`, newest first, from the alert history.
async fn resolved(
    js: &jetstream::Context,
    from_ms: u64,
    to_ms: u64,
) -> Result<Vec<Alert>, ApiError> {
    let stream = js
        .get_stream(subjects::ALERTS_STREAM)
        .await
        .map_err(unavailable)?;
    let start = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(from_ms) * 1_000_000)
        .map_err(unavailable)?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time: start },
            filter_subject: subjects::ALERT_ALL.into(),
            ..Default::default()
        })
        .await
        .map_err(unavailable)?;
    let mut messages = consumer.messages().await.map_err(unavailable)?;
    let mut out: Vec<Alert> = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
        let Ok(Some(Ok(message))) = next else { break };
        let pending = message.info().map(|i| i.pending).unwrap_or(0);
        if let Ok(event) = serde_json::from_slice::<AlertEvent>(&message.payload) {
            let ended = event.alert.resolved_ms.unwrap_or(event.time_ms);
            if event.event == "resolved"
                && event.alert.fired_ms.is_some()
                && (from_ms..=to_ms).contains(&ended)
            {
                out.push(Alert {
                    outbox: Vec::new(),
                    ..event.alert
                });
            }
            if event.time_ms > to_ms {
                break;
            }
        }
        if pending == 0 {
            break;
        }
    }
    out.reverse();
    out.truncate(MAX_HISTORY);
    Ok(out)
}

async fn ack_alert(
    p: Principal,
    id: String,
    body: Bytes,
    a: Alerting,
) -> Result<Response, Rejection> {
    let result = async {
        let comment = match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Object(map)) => {
                if let Some(unknown) = map.keys().find(|k| *k != "comment") {
                    return Err(ApiError::from(ValidationError::new(
                        unknown.clone(),
                        "unknown field",
                    )));
                }
                match map.get("comment") {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(c)) if c.chars().count() <= 500 => {
                        c.trim().to_owned()
                    }
                    Some(_) => {
                        return Err(ApiError::from(ValidationError::new(
                            "comment",
                            "must be text of at most 500 characters",
                        )))
                    }
                }
            }
            _ if body.is_empty() => String::new(),
            _ => {
                return Err(ApiError::from(ValidationError::new(
                    "body",
                    "body must be a JSON object",
                )))
            }
        };
        let mut alert: Alert = value(&a.buckets().await?.alerts, &id)
            .await?
            .filter(|alert: &Alert| alert.state != AlertState::Resolved)
            .ok_or_else(|| not_found("active alert", &id))?;
        let ack = Ack {
            schema: SCHEMA_VERSION,
            alert: id.clone(),
            by: p.username.clone(),
            comment,
            time_ms: clock::now_ms(),
        };
        put(&a.buckets().await?.acks, &id, &ack).await?;
        alert.acked_by.get_or_insert(ack.by);
        alert.ack_comment.get_or_insert(ack.comment);
        alert.outbox.clear();
        Ok(alert)
    }
    .await;
    audit(&a, &p, "alert.ack", &id, &result).await;
    Ok(reply(&result?, StatusCode::OK))
}
