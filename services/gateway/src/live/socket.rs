//! The WebSocket server: `GET /ws`, one task per connection, sending what its subscription
//! asks for and closing when the session ends or the gateway stops.
//!
//! Every connection reads the one shared ring of ready-made messages
//! ([`crate::live::protocol::CLIENT_BACKLOG`] of them): a client that falls behind it is told
//! how many it missed (`lagged`) and costs no memory of its own. A client that does not take
//! the message being sent to it within `gateway.ws_slow_client_ms` is closed with code
//! [`SLOW_CLIENT_CODE`]; the close frame follows what is already on its way, so a client that
//! reads again in time learns why.

use std::sync::Arc;

use crate::live::protocol::LiveMessage;
use crate::live::protocol::LiveSender;
use crate::live::protocol::Outgoing;
use crate::live::protocol::Subscription;
use crate::live::viewers::gateway_stopped;
use crate::live::viewers::ClientShutdown;
use crate::live::viewers::Viewers;
use futures::{SinkExt, StreamExt};
use tokio::sync::{broadcast, watch};
use warp::filters::ws::{Message, WebSocket, Ws};
use warp::{Filter, Rejection, Reply};

/// The close code of a client too slow to take its messages (4000-4999: the application's).
pub const SLOW_CLIENT_CODE: u16 = 4008;
/// How long the close frame of a slow client may wait for the client to read it.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /ws`: the live stream, for any signed-in user.
pub fn route(
    live: LiveSender,
    viewers: Viewers,
    auth: &crate::auth::Auth,
    shutdown: ClientShutdown,
    slow_client: std::time::Duration,
    metrics: crate::metrics::Metrics,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let auth = auth.clone();
    warp::path!("ws")
        .and(auth.require(crate::auth::Role::Viewer))
        .and(warp::header::headers_cloned())
        .and(warp::ws())
        .map(move |_, headers: warp::http::HeaderMap, ws: Ws| {
            let receiver = live.subscribe();
            let viewers = viewers.clone();
            let stopping = shutdown.stopping.subscribe();
            // The session was just checked, so the request has a token.
            let token = crate::auth::token_of(&headers)
                .map(|(t, _)| t)
                .unwrap_or_default();
            let ended = session_ended(auth.clone(), token);
            let metrics = metrics.clone();
            ws.max_message_size(64 * 1024).on_upgrade(move |socket| {
                let client = Client {
                    receiver,
                    viewers,
                    stopping,
                    slow_client,
                    metrics,
                };
                serve_client(socket, client, ended)
            })
        })
}

/// How often an open /ws checks that its session still holds.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves once the session of `token` has ended (signed out, password changed, user
/// deleted, expired). While the session store is unreachable the session is taken to hold.
/// Each check counts as a use: a page left open keeps its session until its absolute limit.
async fn session_ended(auth: crate::auth::Auth, token: String) {
    loop {
        tokio::time::sleep(SESSION_CHECK).await;
        if let Ok(None) = auth.sessions.touch(&token).await {
            return;
        }
    }
}

/// What one connection reads and answers to.
struct Client {
    receiver: broadcast::Receiver<Arc<Outgoing>>,
    viewers: Viewers,
    stopping: watch::Receiver<bool>,
    slow_client: std::time::Duration,
    /// Counts the clients closed for being slow.
    metrics: crate::metrics::Metrics,
}

async fn serve_client(
    socket: WebSocket,
    client: Client,
    session_ended: impl std::future::Future<Output = ()>,
) {
    let Client {
        mut receiver,
        viewers,
        stopping,
        slow_client,
        metrics,
    } = client;
    let (mut to_client, mut from_client) = socket.split();
    let stopped = gateway_stopped(stopping);
    tokio::pin!(stopped);
    tokio::pin!(session_ended);
    let mut subscription = Subscription::default();
    let mut subscribed = false;
    loop {
        let text = tokio::select! {
            () = &mut stopped => break,
            () = &mut session_ended => {
                tracing::info!("session over: closing its live stream");
                break;
            }
            incoming = from_client.next() => match incoming {
                Some(Ok(message)) if message.is_text() => {
                    match Subscription::parse(message.to_str().unwrap_or_default()) {
                        Ok(next) => {
                            // Devices shown count as viewed: the live view polls them.
                            if let Some(devices) = subscription.shown() {
                                viewers.remove(devices);
                            }
                            if let Some(devices) = next.shown() {
                                viewers.add(devices);
                            }
                            subscription = next;
                            subscribed = true;
                            continue;
                        }
                        Err(error) => serde_json::to_string(&LiveMessage::Error { error }).unwrap_or_default(),
                    }
                }
                Some(Ok(message)) if !message.is_close() => continue,
                _ => break,
            },
            outgoing = receiver.recv() => match outgoing {
                Ok(message) if subscription.wants(&message, subscribed) => message.text.clone(),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "live client lagging");
                    serde_json::to_string(&LiveMessage::Lagged { missed }).unwrap_or_default()
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        match tokio::time::timeout(slow_client, to_client.send(Message::text(text))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break,
            Err(_) => {
                tracing::info!(
                    after_ms = slow_client.as_millis() as u64,
                    "live client too slow: closing it"
                );
                metrics.slow_client_closed();
                if let Some(devices) = subscription.shown() {
                    viewers.remove(devices);
                }
                let reason = format!(
                    "too slow: a message waited more than {} ms",
                    slow_client.as_millis()
                );
                let close = Message::close_with(SLOW_CLIENT_CODE, reason);
                // Behind what is already on its way; dropped if the client does not read.
                let _ = tokio::time::timeout(CLOSE_GRACE, async {
                    to_client.send(close).await?;
                    to_client.close().await
                })
                .await;
                return;
            }
        }
    }
    if let Some(devices) = subscription.shown() {
        viewers.remove(devices);
    }
    // A close frame; a client too slow to take it has its connection dropped.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), to_client.close()).await;
}
