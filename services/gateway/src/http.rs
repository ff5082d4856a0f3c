//! What every route shares: the request body limit, the filter that hands each handler a
//! clone of shared state, JSON answers, and asking another service over NATS.

use bytes::{Buf, Bytes, BytesMut};
use futures::StreamExt;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::{ApiError, BodyTooLarge};

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

/// Hands every request a clone of `value` (a client, the registry, the sign-in state).
pub(crate) fn with<T: Clone + Send + Sync + 'static>(
    value: T,
) -> impl Filter<Extract = (T,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || value.clone())
}

/// `value` as a JSON answer with `status`.
pub(crate) fn json_reply(value: &impl serde::Serialize, status: StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

/// Sends `message` to the service behind `subject` (NATS request/reply) and decodes its
/// answer: 504 when it does not answer within `wait_secs`, 503 when none is running. The
/// inner result is the decoding of the answer.
pub(crate) async fn ask<M: serde::Serialize, A: serde::de::DeserializeOwned>(
    client: &async_nats::Client,
    subject: String,
    message: &M,
    wait_secs: u64,
    service: &str,
) -> Result<Result<A, serde_json::Error>, ApiError> {
    let payload = serde_json::to_vec(message).map_err(|e| ApiError::unavailable("encoder", &e))?;
    let request = client.request(subject, payload.into());
    let answer = tokio::time::timeout(std::time::Duration::from_secs(wait_secs), request)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!("no {service} answered in time"),
            )
        })?
        .map_err(|e| match e.kind() {
            async_nats::RequestErrorKind::NoResponders => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("no {service} is running"),
            ),
            _ => ApiError::unavailable(service, &e),
        })?;
    Ok(serde_json::from_slice(&answer.payload))
}
