//! The WebSocket server: `GET /ws`, one task per connection, sending what its subscription
//! asks for and closing when the session ends or the gateway stops.

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

/// `GET /ws`: the live stream, for any signed-in user.
pub fn route(
    live: LiveSender,
    viewers: Viewers,
    auth: &crate::auth::Auth,
    shutdown: ClientShutdown,
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
            ws.max_message_size(64 * 1024)
                .on_upgrade(move |socket| serve_client(socket, receiver, viewers, stopping, ended))
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

async fn serve_client(
    socket: WebSocket,
    mut receiver: broadcast::Receiver<Arc<Outgoing>>,
    viewers: Viewers,
    stopping: watch::Receiver<bool>,
    session_ended: impl std::future::Future<Output = ()>,
) {
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
        let sent = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            to_client.send(Message::text(text)),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
    }
    if let Some(devices) = subscription.shown() {
        viewers.remove(devices);
    }
    // A close frame; a client too slow to take it has its connection dropped.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), to_client.close()).await;
}
