//! The JSON API under `/api`, and `/healthz`.
//!
//! - `GET /api/devices`: every device (secrets left out).
//! - `POST /api/devices`: add a device; 201 with the device, 400/409/413 with the field at fault.
//! - `GET /api/devices/{id}`, `DELETE /api/devices/{id}`: one device; 404 if unknown.
//! - `GET /healthz`: 200 while NATS is connected, 503 otherwise.

use bytes::{Buf, Bytes, BytesMut};
use futures::StreamExt;
use netpulse_shared::device::{Device, DeviceId};
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::{ApiError, BodyTooLarge};
use crate::registry::Registry;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Reads the request body, refusing more than `limit` bytes whether or not the client
/// declared a Content-Length.
pub fn limited_body(limit: usize) -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .and_then(move |declared: Option<u64>, stream| read_limited(declared, stream, limit))
}

async fn read_limited<S, B>(
    declared: Option<u64>,
    stream: S,
    limit: usize,
) -> Result<Bytes, Rejection>
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(warp::reject::custom(BodyTooLarge(limit)));
    }
    let mut stream = std::pin::pin!(stream);
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|_| {
            warp::reject::custom(
                ApiError::new(StatusCode::BAD_REQUEST, "body could not be read").with_field("body"),
            )
        })?;
        if body.len() + chunk.remaining() > limit {
            return Err(warp::reject::custom(BodyTooLarge(limit)));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            body.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Ok(body.freeze())
}

fn with_registry(
    registry: Registry,
) -> impl Filter<Extract = (Registry,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || registry.clone())
}

/// The `/api/devices` routes.
pub fn devices(
    registry: Registry,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let base = warp::path!("api" / "devices");
    let one = warp::path!("api" / "devices" / String);
    let list = base
        .and(warp::get())
        .and(with_registry(registry.clone()))
        .and_then(list_devices);
    let create = base
        .and(warp::post())
        .and(limited_body(MAX_BODY_BYTES))
        .and(with_registry(registry.clone()))
        .and_then(create_device);
    let show = one
        .and(warp::get())
        .and(with_registry(registry.clone()))
        .and_then(show_device);
    let delete = one
        .and(warp::delete())
        .and(with_registry(registry))
        .and_then(delete_device);
    list.or(create).unify().or(show).unify().or(delete).unify()
}

fn json_reply(value: &impl serde::Serialize, status: StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

async fn list_devices(registry: Registry) -> Result<Response, Rejection> {
    let devices = registry.list().await?;
    let mut shown = Vec::with_capacity(devices.len());
    for device in &devices {
        shown.push(registry.shown(device).await);
    }
    Ok(json_reply(&shown, StatusCode::OK))
}

#[tracing::instrument(skip_all)]
async fn create_device(body: Bytes, registry: Registry) -> Result<Response, Rejection> {
    let device = Device::from_json_body(&body).map_err(ApiError::from)?;
    registry.create(&device).await?;
    tracing::info!(device = %device.id, address = %device.address, "device added");
    Ok(json_reply(
        &registry.shown(&device).await,
        StatusCode::CREATED,
    ))
}

fn parse_id(raw: &str) -> Result<DeviceId, ApiError> {
    DeviceId::parse(raw).map_err(|_| ApiError::no_such_device(raw))
}

async fn show_device(raw_id: String, registry: Registry) -> Result<Response, Rejection> {
    let id = parse_id(&raw_id)?;
    let device = registry
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::no_such_device(id.as_str()))?;
    Ok(json_reply(&registry.shown(&device).await, StatusCode::OK))
}

#[tracing::instrument(skip_all, fields(device = %raw_id))]
async fn delete_device(raw_id: String, registry: Registry) -> Result<Response, Rejection> {
    let id = parse_id(&raw_id)?;
    registry.delete(&id).await?;
    tracing::info!("device deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
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
            &json!({"status": if connected { "ok" } else { "degraded" }, "nats": connected}),
            status,
        )
    })
}
