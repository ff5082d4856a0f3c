//! The wiring routes of the control API: list, add and remove links.
//!
//! A link in a path is written as on the command line, `DEVICE:INTERFACE-DEVICE:INTERFACE`
//! with numbers from 0 (`/links/0:3-1:0`). Every answer that succeeds is the wiring after
//! the change, as `GET /links` gives it.

use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

use super::reply::{failure, with};
use crate::control::Control;
use crate::wiring::{Link, WiringError};

/// `GET /links`, `POST /links/{link}`, `DELETE /links/{link}`.
pub(super) fn routes(control: &Control) -> BoxedFilter<(Response,)> {
    let list = warp::path!("links")
        .and(warp::get())
        .and(with(control))
        .map(|control: Control| wiring(&control));
    let add = warp::path!("links" / String)
        .and(warp::post())
        .and(with(control))
        .map(|spec: String, control: Control| {
            change(&control, &spec, "link added", Control::add_link)
        });
    let remove = warp::path!("links" / String)
        .and(warp::delete())
        .and(with(control))
        .map(|spec: String, control: Control| {
            change(&control, &spec, "link removed", Control::remove_link)
        });
    list.or(add).unify().or(remove).unify().boxed()
}

fn wiring(control: &Control) -> Response {
    warp::reply::json(&control.links()).into_response()
}

fn change(
    control: &Control,
    spec: &str,
    event: &'static str,
    apply: fn(&Control, Link) -> Result<(), WiringError>,
) -> Response {
    let outcome = spec
        .parse::<Link>()
        .and_then(|link| apply(control, link).map(|()| link));
    match outcome {
        Ok(link) => {
            tracing::info!(%link, change = event, "wiring changed");
            wiring(control)
        }
        Err(error) => failure(status(&error), error.to_string()),
    }
}

fn status(error: &WiringError) -> StatusCode {
    match error {
        WiringError::BadSpec { .. } | WiringError::BadPort { .. } => StatusCode::BAD_REQUEST,
        WiringError::NoSuchDevice { .. }
        | WiringError::NoSuchInterface { .. }
        | WiringError::NoSuchLink { .. } => StatusCode::NOT_FOUND,
        WiringError::SamePort { .. } | WiringError::PortInUse { .. } => StatusCode::CONFLICT,
    }
}
