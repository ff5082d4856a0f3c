//! The WebSocket server: `GET /ws`, one task per connection, sending what its subscription
//! asks for and closing when the session ends or the gateway stops.
//!
//! Each connection has its own bounded queue in the [`Hub`]: a client that falls behind
//! misses messages and is told how many (`lagged`), and a client with frames is sent the
//! latest of each device once per tick. Messages are shared bytes, written as they are; a
//! large one goes out in [`FRAGMENT`]-sized WebSocket fragments, so no connection's write
//! buffer grows to hold it. A client that does not take the message being sent to it within
//! `gateway.ws_slow_client_ms` is closed with code [`SLOW_CLIENT_CODE`]; the close frame
//! follows what is already on its way, so a client that reads again in time learns why.

use futures::stream::SplitSink;
use futures::{FutureExt, SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use warp::{Filter, Rejection, Reply};

use crate::live::frames::{frame_for, Since};
use crate::live::hub::Hub;
use crate::live::protocol::{LiveMessage, Subscription};
use crate::live::upgrade::{Socket, FRAGMENT, MAX_INCOMING};
use crate::live::viewers::gateway_stopped;
use crate::live::viewers::ClientShutdown;
use crate::live::viewers::Viewers;

/// The close code of a client too slow to take its messages (4000-4999: the application's).
pub const SLOW_CLIENT_CODE: u16 = 4008;
/// How long the close frame of a slow client may wait for the client to read it.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /ws`: the live stream, for any signed-in user.
pub fn route(
    hub: Hub,
    viewers: Viewers,
    auth: &crate::auth::Auth,
    shutdown: ClientShutdown,
    slow_client: std::time::Duration,
    metrics: crate::metrics::Metrics,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let auth = auth.clone();
    warp::path!("ws")
        .and(auth.require(crate::auth::Role::Viewer))
        .and(crate::live::upgrade::request())
        .map(move |_, upgrade: crate::live::upgrade::Upgrade| {
            // The session was just checked, so the request has a token.
            let token = crate::auth::token_of(upgrade.headers())
                .map(|(t, _)| t)
                .unwrap_or_default();
            let ended = session_ended(auth.clone(), token);
            let client = Client {
                hub: hub.clone(),
                viewers: viewers.clone(),
                stopping: shutdown.stopping.subscribe(),
                slow_client,
                metrics: metrics.clone(),
            };
            upgrade.accept(move |socket| serve_client(socket, client, ended).boxed())
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
    hub: Hub,
    viewers: Viewers,
    stopping: watch::Receiver<bool>,
    slow_client: std::time::Duration,
    /// Counts the clients closed for being slow.
    metrics: crate::metrics::Metrics,
}

/// The text of a message the gateway makes for one client.
fn own(message: &LiveMessage<'_>) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(message).unwrap_or_default())
}

/// Sends `text` as one WebSocket message: whole when short, else in fragments (each a slice
/// of the shared bytes).
async fn send(
    to_client: &mut SplitSink<Socket, Message>,
    text: Utf8Bytes,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    if text.len() <= FRAGMENT {
        return to_client.send(Message::Text(text)).await;
    }
    let bytes = Bytes::from(text);
    let mut start = 0;
    while start < bytes.len() {
        let end = (start + FRAGMENT).min(bytes.len());
        let opcode = if start == 0 {
            Data::Text
        } else {
            Data::Continue
        };
        let frame = Frame::message(
            bytes.slice(start..end),
            OpCode::Data(opcode),
            end == bytes.len(),
        );
        to_client.feed(Message::Frame(frame)).await?;
        start = end;
    }
    to_client.flush().await
}

async fn serve_client(
    socket: Socket,
    client: Client,
    session_ended: impl std::future::Future<Output = ()>,
) {
    let Client {
        hub,
        viewers,
        stopping,
        slow_client,
        metrics,
    } = client;
    let mut member = hub.join();
    let (mut ticks, mut seen) = hub.frames.follow();
    let (mut to_client, mut from_client) = socket.split();
    let stopped = gateway_stopped(stopping);
    tokio::pin!(stopped);
    tokio::pin!(session_ended);
    let mut subscription = Subscription::default();
    // Why the gateway ends the connection, when it is for something the client did.
    let mut ending = None;
    loop {
        let missed = member.take_missed();
        let text = if missed > 0 {
            tracing::debug!(missed, "live client lagging");
            own(&LiveMessage::Lagged { missed })
        } else {
            tokio::select! {
                () = &mut stopped => break,
                () = &mut session_ended => {
                    tracing::info!("session over: closing its live stream");
                    break;
                }
                incoming = from_client.next() => match incoming {
                    Some(Ok(Message::Text(text))) => match Subscription::parse(text.as_str()) {
                        Ok(next) => {
                            // Devices shown count as viewed: the live view polls them.
                            if let Some(devices) = subscription.shown() {
                                viewers.remove(devices);
                            }
                            if let Some(devices) = next.shown() {
                                viewers.add(devices);
                            }
                            if next.frames && !subscription.frames {
                                // Frames start from now.
                                ticks.borrow_and_update();
                                seen = hub.frames.follow().1;
                            }
                            member.subscribe(next.clone());
                            subscription = next;
                            continue;
                        }
                        Err(error) => own(&LiveMessage::Error { error }),
                    },
                    Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                        ending = Some(CloseFrame {
                            code: CloseCode::Size,
                            reason: format!(
                                "a message to the gateway may be at most {MAX_INCOMING} bytes"
                            )
                            .into(),
                        });
                        break;
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                },
                Some(message) = member.queue.recv() => message.text.clone(),
                Ok(()) = ticks.changed(), if subscription.frames => {
                    let (since, now) = hub.frames.since(seen);
                    let behind = now.saturating_sub(seen);
                    seen = now;
                    match since {
                        Since::Ticks(held) => match frame_for(&subscription, &held) {
                            Some(frame) => frame,
                            None => continue,
                        },
                        Since::Lagged => own(&LiveMessage::Lagged { missed: behind }),
                    }
                }
            }
        };
        match tokio::time::timeout(slow_client, send(&mut to_client, text)).await {
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
                drop(member);
                let reason = format!(
                    "too slow: a message waited more than {} ms",
                    slow_client.as_millis()
                );
                let close = Message::Close(Some(CloseFrame {
                    code: CloseCode::from(SLOW_CLIENT_CODE),
                    reason: reason.into(),
                }));
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
    drop(member);
    // A close frame; a client too slow to take it has its connection dropped.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        if let Some(frame) = ending {
            to_client.send(Message::Close(Some(frame))).await?;
        }
        to_client.close().await
    })
    .await;
}
