//! History routes, and what happens to a device's history when it is deleted.
//!
//! - `GET /api/devices/{id}/history?interface=&oids=&from=&to=&max_points=&resolution=`:
//!   in/out bits per second over a range, each point with min/avg/max (and the interface's
//!   errors and discards per second), the 95th percentile, and the series of the extra OIDs
//!   asked for. The recorder answers over NATS in pages of at most [`PAGE_POINTS`] points;
//!   this gathers them into one answer. Deleted devices whose history was kept answer too.
//! - `GET /api/devices/{id}/sparkline?minutes=`: the device's total in/out rate over its
//!   polled interfaces, one point a minute, for the overview.
//! - `GET /api/history/removed`: deleted devices whose history is kept.
//! - `DELETE /api/history/{id}`: delete a kept history (its files too).
//! - `GET /api/devices/{id}/logs` and `GET /api/logs/unknown-sources`: see [`log_routes`].

use std::collections::{BTreeMap, HashMap};

use netpulse_shared::device::{Device, DeviceId, MAX_EXTRA_OIDS};

use netpulse_shared::history::{
    self, HistoryAnswer, HistoryPoint, HistoryQuery, OidSeries, PurgeAnswer, RemovedDevice,
    RemovedInterface, Resolution, Spread, PAGE_POINTS,
};
use netpulse_shared::interfaces::{selected, InterfaceRef};
use netpulse_shared::logs::{LogAnswer, LogCursor, LogQuery, Severity, MAX_LOG_LIMIT};
use netpulse_shared::snmp::Oid;
use netpulse_shared::subjects;
use serde::Serialize;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::{Auth, Principal, Role};
use crate::error::ApiError;
use crate::http::{ask, json_reply, with};
use crate::live::rates::{traps_apart, ShownEntry};
use crate::registry::Registry;

/// Seconds to wait for the recorder to answer one page or a purge.
const RECORDER_WAIT_SECS: u64 = 15;

/// The history routes.
pub fn routes(
    registry: Registry,
    client: async_nats::Client,
    auth: Auth,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_client = with(client.clone());
    let series = warp::path!("api" / "devices" / String / "history")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(warp::query::<HashMap<String, String>>())
        .and(with(registry.clone()))
        .and(with_client.clone())
        .and_then(series);
    let sparkline = warp::path!("api" / "devices" / String / "sparkline")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(warp::query::<HashMap<String, String>>())
        .and(with(registry.clone()))
        .and(with_client.clone())
        .and_then(sparkline);
    let removed = warp::path!("api" / "history" / "removed")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(with(registry.clone()))
        .and_then(list_removed);
    let forget = warp::path!("api" / "history" / String)
        .and(warp::delete())
        .and(auth.require(Role::Operator))
        .and(with(registry))
        .and(with_client)
        .and(with(auth.clone()))
        .and_then(delete_kept);
    series
        .or(sparkline)
        .unify()
        .or(removed)
        .unify()
        .or(forget)
        .unify()
}

/// `GET /api/devices/{id}/logs?from=&to=&severity=&q=&limit=`: the device's timeline,
/// newest first, from the recorder; and `GET /api/logs/unknown-sources` (operators and
/// admins): sources that sent logs but match no device.
pub fn log_routes(
    registry: Registry,
    client: async_nats::Client,
    unknown: async_nats::jetstream::kv::Store,
    auth: Auth,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let timeline = warp::path!("api" / "devices" / String / "logs")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(warp::query::<HashMap<String, String>>())
        .and(with(registry))
        .and(with(client.clone()))
        .and_then(timeline);
    let unknown_sources = warp::path!("api" / "logs" / "unknown-sources")
        .and(warp::get())
        .and(auth.require(Role::Operator))
        .and(with(unknown.clone()))
        .and_then(list_unknown_sources);
    timeline.or(unknown_sources).unify()
}

/// The `from` and `to` parameters (see `netpulse_shared::time::parse_time`), `to` defaulting
/// to `default_to` and `from` to what `default_from` gives for `to`; 400 naming the parameter
/// when one does not parse or `from` is not before `to`.
fn time_range(
    params: &HashMap<String, String>,
    default_to: u64,
    default_from: impl FnOnce(u64) -> u64,
) -> Result<(u64, u64), ApiError> {
    let time = |field: &str| {
        params
            .get(field)
            .map(|t| {
                netpulse_shared::time::parse_time(t)
                    .map_err(|m| ApiError::bad_field(field, format!("{field}: {m}")))
            })
            .transpose()
    };
    let to_ms = time("to")?.unwrap_or(default_to);
    let from_ms = time("from")?.unwrap_or_else(|| default_from(to_ms));
    if from_ms >= to_ms {
        return Err(ApiError::bad_field("from", "from must be before to"));
    }
    Ok((from_ms, to_ms))
}

/// The log query of a request's parameters; errors name the parameter.
fn log_query(id: &DeviceId, params: &HashMap<String, String>) -> Result<LogQuery, ApiError> {
    ApiError::unknown_parameter(
        params.keys(),
        &["from", "to", "severity", "q", "limit", "before"],
    )?;
    let (from_ms, to_ms) = time_range(params, u64::MAX / 2, |_| 0)?;
    let severity = match params.get("severity").map(String::as_str) {
        None | Some("") => None,
        Some(name) => Some(Severity::parse(name).ok_or_else(|| {
            ApiError::bad_field(
                "severity",
                "severity must be emergency, alert, critical, error, warning, notice, info or debug",
            )
        })?),
    };
    let q = params
        .get("q")
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.len() > 200) {
        return Err(ApiError::bad_field("q", "q must be at most 200 characters"));
    }
    let limit = match params.get("limit") {
        None => 100,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LOG_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_field("limit", format!("limit must be 1 to {MAX_LOG_LIMIT}"))
            })?,
    };
    let before = match params.get("before").map(String::as_str) {
        None | Some("") => None,
        Some(text) => Some(LogCursor::parse(text).ok_or_else(|| {
            ApiError::bad_field(
                "before",
                "before must be the next_before of a previous answer",
            )
        })?),
    };
    Ok(LogQuery {
        schema: netpulse_shared::messages::SCHEMA_VERSION,
        device: id.clone(),
        from_ms,
        to_ms,
        severity,
        q,
        limit,
        before,
    })
}

async fn timeline(
    raw_id: String,
    _: Principal,
    params: HashMap<String, String>,
    registry: Registry,
    client: async_nats::Client,
) -> Result<Response, Rejection> {
    let id = registry.require_with_history(&raw_id).await?;
    let query = log_query(&id, &params)?;
    let answer: Result<LogAnswer, _> = ask(
        &client,
        subjects::logs(&id),
        &query,
        RECORDER_WAIT_SECS,
        "recorder",
    )
    .await?;
    match answer {
        Ok(LogAnswer::Entries { mut entries, next }) => {
            let traps = traps_apart(&mut entries);
            let page = LogPage {
                entries: entries
                    .iter()
                    .zip(&traps)
                    .map(|(entry, trap)| ShownEntry::new(entry, trap.as_ref()))
                    .collect(),
                next_before: next.as_ref().map(LogCursor::text),
            };
            Ok(json_reply(&page, StatusCode::OK))
        }
        Ok(LogAnswer::Failed { reason }) => {
            Err(ApiError::new(StatusCode::BAD_GATEWAY, format!("logs failed: {reason}")).into())
        }
        Err(error) => Err(ApiError::unavailable("logs", &error).into()),
    }
}

async fn list_unknown_sources(
    _: Principal,
    unknown: async_nats::jetstream::kv::Store,
) -> Result<Response, Rejection> {
    use futures::TryStreamExt;
    let fail = |e: &dyn std::fmt::Display| ApiError::unavailable("unknown-source store", e);
    let keys: Vec<String> = unknown
        .keys()
        .await
        .map_err(|e| fail(&e))?
        .try_collect()
        .await
        .map_err(|e| fail(&e))?;
    let mut sources = Vec::with_capacity(keys.len());
    for key in keys {
        if let Ok(Some(value)) = unknown.get(&key).await {
            if let Ok(source) = serde_json::from_slice::<serde_json::Value>(&value) {
                sources.push(source);
            }
        }
    }
    sources.sort_by_key(|s| std::cmp::Reverse(s["last_ms"].as_u64().unwrap_or(0)));
    Ok(warp::reply::with_status(warp::reply::json(&sources), StatusCode::OK).into_response())
}

/// Deletes `device` from the registry, keeping its history under a removed-device label or
/// deleting its files first. Nothing changes when a step before the registry delete fails.
pub async fn retire(
    registry: &Registry,
    client: &async_nats::Client,
    device: &Device,
    keep: bool,
) -> Result<(), ApiError> {
    if keep {
        let found = registry.interfaces(&device.id).await?;
        let interfaces = found
            .map(|f| {
                selected(&device.interfaces, &f.interfaces)
                    .iter()
                    .map(|i| RemovedInterface {
                        index: i.index,
                        key: i.key(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        registry
            .label_removed(&RemovedDevice {
                id: device.id.clone(),
                name: device.name.as_str().to_owned(),
                address: device.address.to_string(),
                removed_ms: netpulse_shared::time::now_ms(),
                interfaces,
                oids: device.oids.clone(),
            })
            .await?;
    } else {
        // Purged first: the recorder then drops the samples still on their way too.
        purge(client, &device.id).await?;
        registry.unlabel_removed(&device.id).await?;
    }
    registry.delete(&device.id).await
}

/// Asks the recorder to delete every file of a device's history.
async fn purge(client: &async_nats::Client, id: &DeviceId) -> Result<(), ApiError> {
    let answer: Result<PurgeAnswer, _> = ask(
        client,
        subjects::purge(id),
        &json!({}),
        RECORDER_WAIT_SECS,
        "recorder",
    )
    .await?;
    match answer {
        Ok(PurgeAnswer::Done) => Ok(()),
        Ok(PurgeAnswer::Failed { reason }) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("the history could not be deleted: {reason}"),
        )),
        Err(error) => Err(ApiError::unavailable("recorder", &error)),
    }
}

async fn list_removed(_: Principal, registry: Registry) -> Result<Response, Rejection> {
    let mut removed = registry.removed_list().await?;
    // A device added again under the same name is no longer a removed one.
    let mut current = Vec::with_capacity(removed.len());
    for entry in &removed {
        current.push(registry.get(&entry.id).await?.is_some());
    }
    let mut flags = current.into_iter();
    removed.retain(|_| !flags.next().unwrap_or(false));
    Ok(warp::reply::with_status(warp::reply::json(&removed), StatusCode::OK).into_response())
}

#[tracing::instrument(skip_all, fields(device = %raw_id))]
async fn delete_kept(
    raw_id: String,
    principal: Principal,
    registry: Registry,
    client: async_nats::Client,
    auth: Auth,
) -> Result<Response, Rejection> {
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no kept history for '{raw_id}'"),
        )
        .with_field("id")
    };
    let id = DeviceId::parse(&raw_id).map_err(|_| missing())?;
    if registry.removed(&id).await?.is_none() {
        return Err(missing().into());
    }
    let result = match purge(&client, &id).await {
        Ok(()) => registry.unlabel_removed(&id).await,
        Err(error) => Err(error),
    };
    let result = auth
        .audit
        .result(&principal.username, "history.delete", id.as_str(), result)
        .await;
    result?;
    tracing::info!("kept history deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Which extra OIDs' series a history request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OidChoice {
    /// None (no `oids` parameter).
    None,
    /// `oids=all`: the device's extra OIDs.
    All,
    /// `oids=1.3.6...,1.3.6...`.
    Listed(Vec<Oid>),
}

/// The `oids` parameter: `all`, or OIDs separated by commas; errors name `oids`.
fn oid_choice(params: &HashMap<String, String>) -> Result<OidChoice, ApiError> {
    let text = match params.get("oids").map(|s| s.trim()) {
        None | Some("") => return Ok(OidChoice::None),
        Some("all") => return Ok(OidChoice::All),
        Some(text) => text,
    };
    let mut oids = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let oid =
            Oid::parse(part).map_err(|m| ApiError::bad_field("oids", format!("oids: {m}")))?;
        if !oids.contains(&oid) {
            oids.push(oid);
        }
    }
    if oids.len() > MAX_EXTRA_OIDS {
        return Err(ApiError::bad_field(
            "oids",
            format!("oids: at most {MAX_EXTRA_OIDS} OIDs"),
        ));
    }
    Ok(OidChoice::Listed(oids))
}

/// The history query of a request's parameters, and whether it asks for every extra OID of
/// the device (to be filled in); errors name the parameter.
fn history_query(
    id: &DeviceId,
    params: &HashMap<String, String>,
) -> Result<(HistoryQuery, OidChoice), ApiError> {
    ApiError::unknown_parameter(
        params.keys(),
        &[
            "interface",
            "oids",
            "from",
            "to",
            "max_points",
            "resolution",
        ],
    )?;
    let oids = oid_choice(params)?;
    let interface = match params.get("interface").map(|s| s.trim()) {
        None | Some("") if oids != OidChoice::None => None,
        None | Some("") => {
            return Err(ApiError::bad_field(
                "interface",
                "interface is required (a name or an ifIndex), unless oids are asked for",
            ))
        }
        Some(text) => Some(match text.parse::<u32>() {
            Ok(index) if index > 0 => InterfaceRef::Index(index),
            _ => InterfaceRef::Name(text.to_owned()),
        }),
    };
    let now = netpulse_shared::time::now_ms();
    let (from_ms, to_ms) = time_range(params, now, |to| to.saturating_sub(3_600_000))?;
    let max_points = match params.get("max_points") {
        None => 1000,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=history::MAX_POINTS).contains(n))
            .ok_or_else(|| {
                ApiError::bad_field(
                    "max_points",
                    format!("max_points must be 1 to {}", history::MAX_POINTS),
                )
            })?,
    };
    let resolution = match params.get("resolution").map(String::as_str) {
        None | Some("" | "auto") => None,
        Some(name) => Some(Resolution::parse(name).ok_or_else(|| {
            ApiError::bad_field("resolution", "resolution must be auto, raw, 1m, 5m or 1h")
        })?),
    };
    let listed = match &oids {
        OidChoice::Listed(list) => list.clone(),
        _ => Vec::new(),
    };
    let query = HistoryQuery {
        schema: netpulse_shared::messages::SCHEMA_VERSION,
        device: id.clone(),
        interface,
        oids: listed,
        summed: Vec::new(),
        from_ms,
        to_ms,
        max_points,
        resolution,
        step_ms: None,
        page: 0,
    };
    Ok((query, oids))
}

/// The extra OIDs of a device, or of a deleted one whose history is kept.
async fn device_oids(registry: &Registry, id: &DeviceId) -> Result<Vec<Oid>, ApiError> {
    if let Some(device) = registry.get(id).await? {
        return Ok(device.oids);
    }
    Ok(registry
        .removed(id)
        .await?
        .map(|r| r.oids)
        .unwrap_or_default())
}

/// One page of a history query, from the recorder: always a series; a refusal is 502.
async fn ask_history(
    client: &async_nats::Client,
    query: &HistoryQuery,
) -> Result<HistoryAnswer, ApiError> {
    let subject = subjects::history(&query.device);
    match ask(client, subject, query, RECORDER_WAIT_SECS, "recorder").await? {
        Ok(HistoryAnswer::Failed { reason }) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("history failed: {reason}"),
        )),
        Ok(series) => Ok(series),
        Err(error) => Err(ApiError::unavailable("history", &error)),
    }
}

/// The answer of `GET /api/devices/{id}/history`: the recorder's pages joined.
#[derive(Debug, Serialize)]
struct SeriesPage {
    schema: u32,
    resolution: Resolution,
    step_ms: u64,
    from_ms: u64,
    to_ms: u64,
    p95_in_bps: Option<f64>,
    p95_out_bps: Option<f64>,
    points: Vec<HistoryPoint>,
    /// The extra OIDs' series, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    oids: Option<BTreeMap<String, OidSeries>>,
}

async fn series(
    raw_id: String,
    _: Principal,
    params: HashMap<String, String>,
    registry: Registry,
    client: async_nats::Client,
) -> Result<Response, Rejection> {
    let id = registry.require_with_history(&raw_id).await?;
    let (mut query, choice) = history_query(&id, &params)?;
    if choice == OidChoice::All {
        query.oids = device_oids(&registry, &id).await?;
    }
    let mut body: Option<SeriesPage> = None;
    let mut points = Vec::new();
    let mut oids: BTreeMap<String, OidSeries> = BTreeMap::new();
    loop {
        let HistoryAnswer::Series {
            schema,
            resolution,
            step_ms,
            pages,
            points: page,
            p95_in_bps,
            p95_out_bps,
            oids: page_oids,
        } = ask_history(&client, &query).await?
        else {
            unreachable!("ask_history answers series only")
        };
        if query.page == 0 {
            body = Some(SeriesPage {
                schema,
                resolution,
                step_ms,
                from_ms: query.from_ms,
                to_ms: query.to_ms,
                p95_in_bps,
                p95_out_bps,
                points: Vec::new(),
                oids: None,
            });
            points.reserve(pages * PAGE_POINTS);
            // Later pages use the same resolution and steps.
            query.resolution = Some(resolution);
            query.step_ms = Some(step_ms);
        }
        points.extend(page);
        for (oid, series) in page_oids {
            let joined = oids.entry(oid).or_insert_with(|| OidSeries {
                kind: None,
                per_second: false,
                points: Vec::new(),
            });
            if series.kind.is_some() {
                joined.kind = series.kind;
                joined.per_second = series.per_second;
            }
            joined.points.extend(series.points);
        }
        query.page += 1;
        if query.page >= pages {
            break;
        }
    }
    let mut body = body.unwrap_or_else(|| unreachable!("the first page was asked for"));
    body.points = points;
    if choice != OidChoice::None {
        // An OID with no number in the whole range (a string, or nothing stored) has no series.
        oids.retain(|_, series| series.kind.is_some());
        body.oids = Some(oids);
    }
    Ok(json_reply(&body, StatusCode::OK))
}

/// The answer of `GET /api/devices/{id}/sparkline`.
#[derive(Debug, Serialize)]
struct Sparkline {
    step_ms: u64,
    points: Vec<SparkPoint>,
}

/// One minute of a [`Sparkline`]: the sum over the interfaces; null where none has data.
#[derive(Debug, Serialize)]
struct SparkPoint {
    time_ms: u64,
    in_bps: Option<f64>,
    out_bps: Option<f64>,
}

/// A page of a device's timeline, and where the next (older) one starts.
#[derive(Debug, Serialize)]
struct LogPage<'a> {
    entries: Vec<ShownEntry<'a>>,
    next_before: Option<String>,
}

/// Longest sparkline, minutes.
const MAX_SPARKLINE_MINUTES: u64 = 1440;

/// The sparkline's steps.
const SPARKLINE_STEP_MS: u64 = 60_000;

/// `GET /api/devices/{id}/sparkline?minutes=60`: `{"step_ms", "points": [{"time_ms",
/// "in_bps", "out_bps"}]}`, the sum over the device's polled interfaces of each minute's
/// average rate (raw samples, so the minute under way is there too); `null` where no
/// interface has data.
async fn sparkline(
    raw_id: String,
    _: Principal,
    params: HashMap<String, String>,
    registry: Registry,
    client: async_nats::Client,
) -> Result<Response, Rejection> {
    ApiError::unknown_parameter(params.keys(), &["minutes"])?;
    let minutes = match params.get("minutes") {
        None => 60,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|m| (1..=MAX_SPARKLINE_MINUTES).contains(m))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("minutes must be 1 to {MAX_SPARKLINE_MINUTES}"),
                )
                .with_field("minutes")
            })?,
    };
    let device = registry.require(&raw_id).await?;
    let found = registry.interfaces(&device.id).await?;
    let keys: Vec<String> = found
        .as_ref()
        .map(|f| {
            selected(&device.interfaces, &f.interfaces)
                .iter()
                .map(|i| i.key())
                .collect()
        })
        .unwrap_or_default();
    let to_ms = netpulse_shared::time::now_ms();
    let to_ms = to_ms - to_ms % SPARKLINE_STEP_MS + SPARKLINE_STEP_MS;
    let from_ms = to_ms - minutes * SPARKLINE_STEP_MS;
    let slots = usize::try_from(minutes).unwrap_or(usize::MAX);
    let points = if keys.is_empty() {
        Vec::new()
    } else {
        // One query: the recorder adds the interfaces up, minute by minute.
        let query = HistoryQuery {
            schema: netpulse_shared::messages::SCHEMA_VERSION,
            device: device.id.clone(),
            interface: None,
            oids: Vec::new(),
            summed: keys.into_iter().map(InterfaceRef::Name).collect(),
            from_ms,
            to_ms,
            max_points: slots,
            resolution: Some(Resolution::Raw),
            step_ms: Some(SPARKLINE_STEP_MS),
            page: 0,
        };
        let HistoryAnswer::Series { points, .. } = ask_history(&client, &query).await? else {
            unreachable!("ask_history answers series only")
        };
        points
    };
    let avg = |spread: Option<Spread>| spread.map(|s| s.avg);
    let points = (0..slots)
        .map(|slot| {
            let time_ms = from_ms + slot as u64 * SPARKLINE_STEP_MS;
            let found = points.iter().find(|p| p.time_ms == time_ms);
            SparkPoint {
                time_ms,
                in_bps: found.and_then(|p| avg(p.in_bps)),
                out_bps: found.and_then(|p| avg(p.out_bps)),
            }
        })
        .collect();
    Ok(json_reply(
        &Sparkline {
            step_ms: SPARKLINE_STEP_MS,
            points,
        },
        StatusCode::OK,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn oids_may_stand_in_for_the_interface() {
        let id = DeviceId::parse("d").expect("id");
        let (query, choice) =
            history_query(&id, &params(&[("interface", "eth0")])).expect("interface");
        assert_eq!(choice, OidChoice::None);
        assert_eq!(query.interface, Some(InterfaceRef::Name("eth0".into())));
        let (query, choice) = history_query(&id, &params(&[("oids", "all")])).expect("all");
        assert_eq!((choice, query.interface), (OidChoice::All, None));
        let (query, _) = history_query(
            &id,
            &params(&[
                ("interface", "2"),
                (
                    "oids",
                    "1.3.6.1.2.1.1.3.0, .1.3.6.1.4.1.2021.10.1.5.1,1.3.6.1.2.1.1.3.0",
                ),
            ]),
        )
        .expect("listed");
        assert_eq!(query.interface, Some(InterfaceRef::Index(2)));
        assert_eq!(
            query
                .oids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["1.3.6.1.2.1.1.3.0", "1.3.6.1.4.1.2021.10.1.5.1"]
        );
        let many = (1..=129)
            .map(|n| format!("1.3.6.1.4.1.{n}"))
            .collect::<Vec<_>>()
            .join(",");
        for (bad, field) in [
            (params(&[]), "interface"),
            (params(&[("oids", "")]), "interface"),
            (params(&[("oids", "sysUpTime")]), "oids"),
            (params(&[("oids", many.as_str())]), "oids"),
        ] {
            let error = history_query(&id, &bad).expect_err("refused");
            assert_eq!(error.field.as_deref(), Some(field), "{bad:?}");
        }
    }
}
