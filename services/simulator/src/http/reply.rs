//! What the control API's routes share: the control handle for each request and the JSON
//! body of a failure.

use std::convert::Infallible;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::control::Control;

/// A failure's body: `{"error": "..."}`.
#[derive(Debug, Serialize)]
struct Failure {
    error: String,
}

/// Hands every request a clone of the control handle.
pub(super) fn with(
    control: &Control,
) -> impl Filter<Extract = (Control,), Error = Infallible> + Clone {
    let control = control.clone();
    warp::any().map(move || control.clone())
}

/// A failure with `status`, saying why.
pub(super) fn failure(status: StatusCode, error: String) -> Response {
    warp::reply::with_status(warp::reply::json(&Failure { error }), status).into_response()
}
