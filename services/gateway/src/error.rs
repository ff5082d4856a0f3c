//! API errors: `{"error": "...", "field": "..."}` with the right status code, and the
//! translation of warp's rejections into that shape.

use std::convert::Infallible;

use netpulse_shared::validation::ValidationError;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reject::Reject;
use warp::reply::Response;
use warp::Reply;

/// An error answer of the JSON API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a human.
    pub error: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            field: None,
        }
    }

    /// 400 for `field`, saying what is wrong with it.
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message).with_field(field)
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 for a query parameter that is not one of `known`, naming it.
    pub fn unknown_parameter<'a>(
        params: impl IntoIterator<Item = &'a String>,
        known: &[&str],
    ) -> Result<(), Self> {
        match params.into_iter().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(Self::new(
                StatusCode::BAD_REQUEST,
                format!("{unknown}: unknown parameter"),
            )
            .with_field(unknown.as_str())),
            None => Ok(()),
        }
    }

    /// What the audit log records of a change: "ok", or the error's message.
    pub fn outcome<T>(result: &Result<T, Self>) -> String {
        result
            .as_ref()
            .map_or_else(|e| e.error.clone(), |_| "ok".into())
    }

    /// 404 for a device that does not exist.
    pub fn no_such_device(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no device with id '{id}'")).with_field("id")
    }

    /// 503 when NATS does not answer; details go to the log, not to the client.
    pub fn unavailable(what: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, what, "backend unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{what} is unavailable, try again"),
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("{}: {}", e.field, e.message),
        )
        .with_field(e.field)
    }
}

impl Reject for ApiError {}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: &self.error,
            field: self.field.as_deref(),
        };
        warp::reply::with_status(warp::reply::json(&body), self.status).into_response()
    }
}

/// A body over the size limit (checked while reading, so chunked bodies count too).
#[derive(Debug)]
pub struct BodyTooLarge(pub usize);
impl Reject for BodyTooLarge {}

/// Turns every rejection into a JSON error answer.
pub async fn recover(rejection: warp::Rejection) -> Result<Response, Infallible> {
    let error = if let Some(e) = rejection.find::<ApiError>() {
        e.clone()
    } else if let Some(BodyTooLarge(limit)) = rejection.find::<BodyTooLarge>() {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body is larger than {} KiB", limit / 1024),
        )
        .with_field("body")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body is too large").with_field("body")
    } else if rejection.is_not_found() {
        ApiError::new(StatusCode::NOT_FOUND, "not found")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    } else {
        tracing::debug!(?rejection, "unhandled rejection");
        ApiError::new(StatusCode::BAD_REQUEST, "bad request")
    };
    Ok(error.into_response())
}
