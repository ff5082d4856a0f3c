//! The WebSocket handshake of `GET /ws`, done here rather than by warp so that each
//! connection's buffers are set on purpose (small: a client sends only its subscription) and
//! the messages can be sent from bytes shared between clients.

use futures::future::BoxFuture;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use warp::http::{header, HeaderMap, StatusCode};
use warp::{Filter, Reply as _};

/// A `/ws` connection once upgraded.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// The largest message a client may send (its subscription lists at most a few thousand ids).
pub const MAX_INCOMING: usize = 64 * 1024;
/// The largest WebSocket frame written: longer messages are sent in fragments of this size.
pub const FRAGMENT: usize = 16 * 1024;
/// The read buffer each connection starts with.
const READ_BUFFER: usize = 4 * 1024;

/// Each connection's WebSocket settings: a small read buffer, writes sent at once (the write
/// buffer holds only what the socket has not yet taken), and incoming messages capped.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * FRAGMENT)
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING))
}

/// The request's WebSocket key, if it asks for a WebSocket (version 13) the way RFC 6455
/// says; else why not.
fn key_of(headers: &HeaderMap) -> Result<&[u8], &'static str> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err("GET /ws is a WebSocket: send Connection: upgrade and Upgrade: websocket");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err("GET /ws speaks WebSocket version 13 (Sec-WebSocket-Version: 13)");
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(warp::http::HeaderValue::as_bytes)
        .ok_or("a WebSocket upgrade needs a Sec-WebSocket-Key")
}

/// What [`request`] extracts: the request's headers and its upgrade to come.
pub struct Upgrade {
    headers: HeaderMap,
    on_upgrade: Option<OnUpgrade>,
}

/// Extracts what an upgrade needs from the request.
pub fn request() -> impl Filter<Extract = (Upgrade,), Error = std::convert::Infallible> + Clone {
    warp::header::headers_cloned()
        .and(warp::ext::optional::<OnUpgrade>())
        .map(|headers, on_upgrade| Upgrade {
            headers,
            on_upgrade,
        })
}

impl Upgrade {
    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Answers the handshake and, once the connection is upgraded, runs `serve` on it. A
    /// request that is not a WebSocket upgrade gets a 400 saying what is missing.
    pub fn accept(
        self,
        serve: impl FnOnce(Socket) -> BoxFuture<'static, ()> + Send + 'static,
    ) -> warp::reply::Response {
        let accept = match key_of(&self.headers) {
            Ok(key) => derive_accept_key(key),
            Err(why) => {
                return warp::reply::with_status(why, StatusCode::BAD_REQUEST).into_response()
            }
        };
        let Some(on_upgrade) = self.on_upgrade else {
            return warp::reply::with_status(
                "this connection cannot be upgraded to a WebSocket",
                StatusCode::BAD_REQUEST,
            )
            .into_response();
        };
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(config()),
                    )
                    .await;
                    serve(socket).await;
                }
                Err(error) => tracing::debug!(%error, "WebSocket upgrade failed"),
            }
        });
        let mut response = warp::reply::Response::default();
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("upgrade"),
        );
        headers.insert(
            header::UPGRADE,
            header::HeaderValue::from_static("websocket"),
        );
        if let Ok(accept) = header::HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, header::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_websocket_handshake_needs_its_headers() {
        let good = [
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        let asked = headers(&good);
        let key = key_of(&asked).expect("a handshake");
        // RFC 6455's own example.
        assert_eq!(derive_accept_key(key), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        for (missing, says) in [
            (0, "Connection: upgrade"),
            (1, "Upgrade: websocket"),
            (2, "version 13"),
            (3, "Sec-WebSocket-Key"),
        ] {
            let mut without = good.to_vec();
            without.remove(missing);
            let why = key_of(&headers(&without)).expect_err("refused");
            assert!(why.contains(says), "{why}");
        }
        let old = [
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "x"),
        ];
        assert!(key_of(&headers(&old)).is_err());
    }
}
