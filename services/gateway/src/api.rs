//! The JSON API under `/api`, and `/healthz`.
//!
//! - `GET /api/devices`: every device (secrets left out).
//! - `POST /api/devices`: add a device; 201 with the device, 400/409/413 with the field at fault.
//! - `GET /api/devices/{id}`: one device; 404 if unknown.
//! - `DELETE /api/devices/{id}?history=keep|delete`: delete it, keeping its history (the
//!   default; see [`crate::history`]) or deleting it too.
//! - `GET /api/devices/{id}/interfaces`: what discovery found, each with `polled`.
//! - `POST /api/devices/{id}/discover`: discover now (answers once a poller has finished).
//! - `POST /api/discover`, `POST /api/devices/{id}/test`: SNMP on demand, see [`on_demand`].
//! - `GET /healthz`: 200 while NATS is connected, 503 otherwise.

pub mod on_demand;

use bytes::Bytes;
use netpulse_shared::device::Device;
use std::collections::HashMap;

use netpulse_shared::discovery::{DeviceInterfaces, DiscoveryJob, DiscoveryOutcome};

use netpulse_shared::interfaces::{selected, Interface};
use netpulse_shared::subjects;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::{Auth, Principal, Role};
use crate::error::ApiError;
use crate::http::{ask, json_reply, limited_body, with, MAX_BODY_BYTES};
use crate::observed::Observed;
use crate::registry::Registry;

/// The `/api/devices` routes.
pub fn devices(
    registry: Registry,
    observed: Observed,
    client: async_nats::Client,
    auth: Auth,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let base = warp::path!("api" / "devices");
    let one = warp::path!("api" / "devices" / String);
    let list = base
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(with(registry.clone()))
        .and(with(observed.clone()))
        .and_then(list_devices);
    let create = base
        .and(warp::post())
        .and(auth.require(Role::Operator))
        .and(limited_body(MAX_BODY_BYTES))
        .and(with(registry.clone()))
        .and(with(observed.clone()))
        .and(with(auth.clone()))
        .and_then(create_device);
    let show = one
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(with(registry.clone()))
        .and(with(observed.clone()))
        .and_then(show_device);
    let delete = one
        .and(warp::delete())
        .and(auth.require(Role::Operator))
        .and(warp::query::<HashMap<String, String>>())
        .and(with(registry.clone()))
        .and(with(client))
        .and(with(auth.clone()))
        .and_then(delete_device);
    let update = warp::path!("api" / "devices" / String)
        .and(warp::patch())
        .and(auth.require(Role::Operator))
        .and(limited_body(MAX_BODY_BYTES))
        .and(with(registry.clone()))
        .and(with(observed))
        .and(with(auth.clone()))
        .and_then(update_device);
    // Each route boxed: their futures nest, and unboxed they outgrow a small stack.
    list.boxed()
        .or(create.boxed())
        .unify()
        .or(show.boxed())
        .unify()
        .or(update.boxed())
        .unify()
        .or(delete.boxed())
        .unify()
}

/// `GET /api/export/devices` (admins): every device as stored, secrets included, in the body
/// `POST /api/devices` takes, so that an export imports as it was. Audited.
pub fn export(
    registry: Registry,
    auth: Auth,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "export" / "devices")
        .and(warp::get())
        .and(auth.require(Role::Admin))
        .and(with(registry))
        .and(with(auth))
        .and_then(export_devices)
}

async fn export_devices(
    principal: Principal,
    registry: Registry,
    auth: Auth,
) -> Result<Response, Rejection> {
    let listed = registry.list().await;
    let listed = auth
        .audit
        .result(&principal.username, "device.export", "*", listed)
        .await;
    let mut devices = listed?;
    devices.sort_by(|a, b| a.id.cmp(&b.id));
    let bodies: Vec<_> = devices.iter().map(Device::to_input).collect();
    Ok(json_reply(&bodies, StatusCode::OK))
}

async fn list_devices(
    _: Principal,
    registry: Registry,
    observed: Observed,
) -> Result<Response, Rejection> {
    let devices = registry.list().await?;
    // 64 at a time: each is two reads of NATS.
    let mut shown = Vec::with_capacity(devices.len());
    for some in devices.chunks(64) {
        let each = some.iter().map(|device| observed.shown(&registry, device));
        shown.extend(futures::future::join_all(each).await);
    }
    Ok(json_reply(&shown, StatusCode::OK))
}

#[tracing::instrument(skip_all)]
async fn create_device(
    principal: Principal,
    body: Bytes,
    registry: Registry,
    observed: Observed,
    auth: Auth,
) -> Result<Response, Rejection> {
    let device = Device::from_json_body(&body).map_err(ApiError::from)?;
    let created = registry.create(&device).await;
    let created = auth
        .audit
        .result(
            &principal.username,
            "device.add",
            device.id.as_str(),
            created,
        )
        .await;
    created?;
    tracing::info!(device = %device.id, address = %device.address, "device added");
    Ok(json_reply(
        &observed.shown(&registry, &device).await,
        StatusCode::CREATED,
    ))
}

#[tracing::instrument(skip_all, fields(device = %raw_id))]
async fn update_device(
    raw_id: String,
    principal: Principal,
    body: Bytes,
    registry: Registry,
    observed: Observed,
    auth: Auth,
) -> Result<Response, Rejection> {
    let current = registry.require(&raw_id).await?;
    let id = current.id.clone();
    let result = current.updated(&body).map_err(ApiError::from);
    let result = match result {
        Ok(device) => registry.replace(&device).await.map(|()| device),
        Err(e) => Err(e),
    };
    let result = auth
        .audit
        .result(&principal.username, "device.update", id.as_str(), result)
        .await;
    let device = result?;
    Ok(json_reply(
        &observed.shown(&registry, &device).await,
        StatusCode::OK,
    ))
}

async fn show_device(
    raw_id: String,
    _: Principal,
    registry: Registry,
    observed: Observed,
) -> Result<Response, Rejection> {
    let device = registry.require(&raw_id).await?;
    Ok(json_reply(
        &observed.detailed(&registry, &device).await,
        StatusCode::OK,
    ))
}

#[tracing::instrument(skip_all, fields(device = %raw_id))]
async fn delete_device(
    raw_id: String,
    principal: Principal,
    params: HashMap<String, String>,
    registry: Registry,
    client: async_nats::Client,
    auth: Auth,
) -> Result<Response, Rejection> {
    ApiError::unknown_parameter(params.keys(), &["history"])?;
    let keep = match params.get("history").map(String::as_str) {
        None | Some("keep") => true,
        Some("delete") => false,
        Some(_) => {
            return Err(ApiError::bad_field("history", "history must be keep or delete").into())
        }
    };
    let device = registry.require(&raw_id).await?;
    let deleted = crate::history::retire(&registry, &client, &device, keep).await;
    let outcome = deleted.as_ref().map_or_else(
        |e| e.error.clone(),
        |()| {
            if keep {
                "ok, history kept"
            } else {
                "ok, history deleted"
            }
            .into()
        },
    );
    auth.audit
        .record(
            &principal.username,
            "device.delete",
            device.id.as_str(),
            &outcome,
            None,
        )
        .await;
    deleted?;
    tracing::info!(keep, "device deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/devices/{id}/interfaces` and `POST /api/devices/{id}/discover`.
pub fn interfaces(
    registry: Registry,
    client: async_nats::Client,
    auth: Auth,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let list = warp::path!("api" / "devices" / String / "interfaces")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(with(registry.clone()))
        .and_then(list_interfaces);
    let discover = warp::path!("api" / "devices" / String / "discover")
        .and(warp::post())
        .and(auth.require(Role::Operator))
        .and(with(registry.clone()))
        .and(with(client.clone()))
        .and(with(auth.clone()))
        .and_then(discover_now);
    list.or(discover).unify()
}

/// An interface of a discovery as the API shows it: as found, with its stable key and
/// whether it is polled.
#[derive(Debug, Serialize)]
pub(crate) struct ListedInterface<'a> {
    #[serde(flatten)]
    interface: &'a Interface,
    key: String,
    polled: bool,
}

/// The interfaces of a discovery, as the API shows them, each with whether it is polled.
fn interface_list<'a>(
    device: &Device,
    found: Option<&'a DeviceInterfaces>,
) -> Vec<ListedInterface<'a>> {
    let Some(found) = found else {
        return Vec::new();
    };
    let polled: Vec<u32> = selected(&device.interfaces, &found.interfaces)
        .iter()
        .map(|i| i.index)
        .collect();
    found
        .interfaces
        .iter()
        .map(|i| ListedInterface {
            interface: i,
            key: i.key(),
            polled: polled.contains(&i.index),
        })
        .collect()
}

async fn list_interfaces(
    raw_id: String,
    _: Principal,
    registry: Registry,
) -> Result<Response, Rejection> {
    let device = registry.require(&raw_id).await?;
    let id = device.id.clone();
    let found = registry.interfaces(&id).await?;
    Ok(json_reply(
        &interface_list(&device, found.as_ref()),
        StatusCode::OK,
    ))
}

/// Seconds to wait for a poller to finish an on-demand discovery.
const DISCOVERY_WAIT_SECS: u64 = 60;

#[tracing::instrument(skip_all, fields(device = %raw_id))]
async fn discover_now(
    raw_id: String,
    principal: Principal,
    registry: Registry,
    client: async_nats::Client,
    auth: Auth,
) -> Result<Response, Rejection> {
    let device = registry.require(&raw_id).await?;
    let id = device.id.clone();
    auth.audit
        .record(
            &principal.username,
            "device.discover",
            id.as_str(),
            "requested",
            None,
        )
        .await;
    let last = registry.interfaces(&id).await?;
    let job = DiscoveryJob::for_device(&device, last.as_ref());
    let answer: Result<DiscoveryOutcome, _> = ask(
        &client,
        subjects::discover(&id),
        &job,
        DISCOVERY_WAIT_SECS,
        "poller",
    )
    .await?;
    match answer {
        Ok(DiscoveryOutcome::Discovered(found)) => Ok(json_reply(
            &interface_list(&device, Some(&found)),
            StatusCode::OK,
        )),
        Ok(DiscoveryOutcome::Failed { reason }) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("discovery failed: {reason}"),
        )
        .into()),
        Err(error) => Err(ApiError::unavailable("discovery", &error).into()),
    }
}

/// The answer of `GET /healthz`.
#[derive(Debug, Serialize)]
struct Health {
    /// `ok`, or `degraded` without NATS.
    status: &'static str,
    /// Whether the gateway is connected to NATS.
    nats: bool,
}

/// `GET /healthz`.
pub fn health(
    client: async_nats::Client,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("healthz").and(warp::get()).map(move || {
        let connected = client.connection_state() == async_nats::connection::State::Connected;
        let status = if connected {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        json_reply(
            &Health {
                status: if connected { "ok" } else { "degraded" },
                nats: connected,
            },
            status,
        )
    })
}
