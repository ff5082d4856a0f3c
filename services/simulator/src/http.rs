//! The HTTP control API of the `netpulse-sim` binary, over warp.
//!
//! | route | effect |
//! |---|---|
//! | `GET /devices` | `[{"device": 0, "address": "127.0.0.1:16100"}, ...]` |
//! | `POST /devices/{n}/reboot` | [`Control::reboot`] |
//! | `POST /devices/{n}/wrap` | [`Control::wrap_soon`] within 10 s |
//! | `POST /devices/{n}/renumber?offset=K` | [`Control::renumber`] |
//! | `POST /devices/{n}/interfaces/{i}/down`, `.../up` | [`Control::set_oper_status`] |
//! | `POST /devices/{n}/delay?ms=K` | [`Control::set_delay`] |
//! | `POST /devices/{n}/silent`, `.../answer` | [`Control::set_silent`] |
//! | `POST /devices/{n}/texts` + JSON [`DeviceTexts`] | [`Control::update_texts`] |
//! | `GET /links` | [`Control::links`]: a list of [`LinkDescription`] |
//! | `POST /links/{a}-{b}` (`/links/0:3-1:0`) | [`Control::add_link`], answers the new `GET /links` |
//! | `DELETE /links/{a}-{b}` | [`Control::remove_link`], answers the new `GET /links` |
//!
//! Device changes answer `200 {"device": n, "action": "..."}`; an unknown device or interface
//! `404 {"error": "..."}`, a bad query or body `400`. A link that does not read is `400`, one
//! naming a missing device, interface or link `404`, one reusing a cabled interface or
//! joining an interface to itself `409`.
//!
//! [`DeviceTexts`]: crate::DeviceTexts
//! [`LinkDescription`]: crate::wiring::LinkDescription

mod links;
mod reply;

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

use crate::control::{Control, ControlError};
use crate::device::DeviceTexts;
use reply::{failure, with};

/// Largest JSON body accepted (`POST /devices/{n}/texts`).
const MAX_BODY: u64 = 64 * 1024;

/// How soon `POST /devices/{n}/wrap` makes the 32-bit counters wrap.
pub const WRAP_WITHIN: Duration = Duration::from_secs(10);

/// Serves the control API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    control: Control,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "control API listening");
    }
    warp::serve(routes(control))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// Every route of the control API, errors included.
pub fn routes(control: Control) -> BoxedFilter<(Response,)> {
    let list = warp::path!("devices")
        .and(warp::get())
        .and(with(&control))
        .map(|control: Control| list_devices(&control));
    let reboot = action(
        warp::path!("devices" / usize / "reboot"),
        &control,
        "reboot",
        |control, device| control.reboot(device),
    );
    let wrap = action(
        warp::path!("devices" / usize / "wrap"),
        &control,
        "wrap",
        |control, device| control.wrap_soon(device, WRAP_WITHIN),
    );
    let silent = action(
        warp::path!("devices" / usize / "silent"),
        &control,
        "silent",
        |control, device| control.set_silent(device, true),
    );
    let answer = action(
        warp::path!("devices" / usize / "answer"),
        &control,
        "answer",
        |control, device| control.set_silent(device, false),
    );
    let renumber = warp::path!("devices" / usize / "renumber")
        .and(warp::post())
        .and(warp::query::<OffsetQuery>())
        .and(with(&control))
        .map(|device, query: OffsetQuery, control: Control| {
            done(device, "renumber", control.renumber(device, query.offset))
        });
    let delay = warp::path!("devices" / usize / "delay")
        .and(warp::post())
        .and(warp::query::<DelayQuery>())
        .and(with(&control))
        .map(|device, query: DelayQuery, control: Control| {
            let delay = Duration::from_millis(query.ms);
            done(device, "delay", control.set_delay(device, delay))
        });
    let texts = warp::path!("devices" / usize / "texts")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::json::<DeviceTexts>())
        .and(with(&control))
        .map(|device, texts: DeviceTexts, control: Control| {
            done(device, "texts", control.update_texts(device, texts))
        });
    let oper_status = warp::path!("devices" / usize / "interfaces" / usize / String)
        .and(warp::post())
        .and(with(&control))
        .and_then(
            |device, interface, state: String, control: Control| async move {
                let up = match state.as_str() {
                    "up" => true,
                    "down" => false,
                    _ => return Err(warp::reject::not_found()),
                };
                let action = if up { "up" } else { "down" };
                Ok::<_, Rejection>(done(
                    device,
                    action,
                    control.set_oper_status(device, interface, up),
                ))
            },
        );
    list.boxed()
        .or(reboot)
        .unify()
        .or(wrap)
        .unify()
        .or(silent)
        .unify()
        .or(answer)
        .unify()
        .or(renumber.boxed())
        .unify()
        .or(delay.boxed())
        .unify()
        .or(oper_status.boxed())
        .unify()
        .or(texts.boxed())
        .unify()
        .or(links::routes(&control))
        .unify()
        .recover(recover)
        .unify()
        .boxed()
}

/// One line of `GET /devices`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceAddress {
    /// Device number.
    pub device: usize,
    /// Where it answers SNMP, `ip:port`.
    pub address: String,
}

#[derive(Debug, Deserialize)]
struct OffsetQuery {
    offset: u32,
}

#[derive(Debug, Deserialize)]
struct DelayQuery {
    ms: u64,
}

#[derive(Debug, Serialize)]
struct Done {
    device: usize,
    action: &'static str,
}

/// `POST` on `path` runs `change` on the device the path names.
fn action(
    path: impl Filter<Extract = (usize,), Error = Rejection> + Clone + Send + Sync + 'static,
    control: &Control,
    name: &'static str,
    change: fn(&Control, usize) -> Result<(), ControlError>,
) -> BoxedFilter<(Response,)> {
    path.and(warp::post())
        .and(with(control))
        .map(move |device, control: Control| done(device, name, change(&control, device)))
        .boxed()
}

fn list_devices(control: &Control) -> Response {
    let devices: Vec<DeviceAddress> = control
        .addresses()
        .into_iter()
        .enumerate()
        .map(|(device, address)| DeviceAddress {
            device,
            address: address.to_string(),
        })
        .collect();
    warp::reply::json(&devices).into_response()
}

fn done(device: usize, action: &'static str, outcome: Result<(), ControlError>) -> Response {
    match outcome {
        Ok(()) => {
            tracing::info!(device, action, "device control applied");
            warp::reply::json(&Done { device, action }).into_response()
        }
        Err(error) => failure(StatusCode::NOT_FOUND, error.to_string()),
    }
}

async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let (status, error) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "no such route")
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        (StatusCode::BAD_REQUEST, "bad query string")
    } else if rejection
        .find::<warp::filters::body::BodyDeserializeError>()
        .is_some()
    {
        (StatusCode::BAD_REQUEST, "bad JSON body")
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be Content-Type: application/json",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    } else {
        (StatusCode::BAD_REQUEST, "bad request")
    };
    Ok(failure(status, error.to_owned()))
}
