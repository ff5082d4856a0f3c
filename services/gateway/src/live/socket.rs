//! The WebSocket server: `GET /ws`, one task per connection, sending what its subscription
//! asks for and closing when the session ends or the gateway stops.
//!
//! Each connection has its own bounded queue in the [`Hub`]: a client that falls behind
//! misses messages and is told how many (`lagged`), and a client with frames is sent the
//! latest of each device once per tick. Messages are shared bytes, written as they are; a
//! large one goes out in [`FRAGMENT`]-sized WebSocket fragments, so no connection's write
//! buffer grows to hold it. A client that does not take the message being sent to it, or
//! leaves a ping unanswered, for `gateway.ws_slow_client_ms` is closed with code
//! [`SLOW_CLIENT_CODE`]; the close frame follows what is already on its way, so a client that
//! reads again in time learns why.

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
    // Shared by the connections: each would otherwise hold its own copy of the store.
    let sessions = std::sync::Arc::new(auth.sessions.clone());
    warp::path!("ws")
        .and(auth.require(crate::auth::Role::Viewer))
        .and(crate::live::upgrade::request())
        .map(move |_, upgrade: crate::live::upgrade::Upgrade| {
            // The session was just checked, so the request has a token.
            let token = crate::auth::token_of(upgrade.headers())
                .map(|(t, _)| t)
                .unwrap_or_default();
            let ended = session_ended(sessions.clone(), token);
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
async fn session_ended(sessions: std::sync::Arc<crate::auth::sessions::Sessions>, token: String) {
    loop {
        tokio::time::sleep(SESSION_CHECK).await;
        // Boxed while it runs: a session check's future is large, and every connection
        // would otherwise hold room for one.
        if let Ok(None) = Box::pin(sessions.touch(&token)).await {
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

/// What a connection does next.
enum Next {
    /// Sends this text.
    Text(Utf8Bytes),
    /// Asks the client for a pong: how far behind it reads.
    Ping,
    /// Closes, for this reason when the client is the cause.
    End(Option<CloseFrame>),
    /// Closes the client for being too slow, saying why.
    TooSlow(String),
}

/// One connection's state between messages.
struct Connection {
    hub: Hub,
    member: crate::live::hub::Member,
    viewers: Viewers,
    subscription: Subscription,
    ticks: watch::Receiver<u64>,
    /// The last tick whose frame this client had.
    seen: u64,
    /// When the oldest ping the client has not answered was sent.
    unanswered: Option<std::time::Instant>,
    slow_client: std::time::Duration,
}

impl Connection {
    /// A message from the client: a subscription replaces the one before.
    fn heard(&mut self, message: Message) -> Option<Next> {
        match message {
            Message::Text(text) => match Subscription::parse(text.as_str()) {
                Ok(next) => {
                    // Devices shown count as viewed: the live view polls them.
                    if let Some(devices) = self.subscription.shown() {
                        self.viewers.remove(devices);
                    }
                    if let Some(devices) = next.shown() {
                        self.viewers.add(devices);
                    }
                    if next.frames && !self.subscription.frames {
                        // Frames start from now.
                        self.ticks.borrow_and_update();
                        self.seen = self.hub.frames.follow().1;
                    }
                    self.member.subscribe(next.clone());
                    self.subscription = next;
                    None
                }
                Err(error) => Some(Next::Text(own(&LiveMessage::Error { error }))),
            },
            Message::Pong(_) => {
                self.unanswered = None;
                None
            }
            Message::Close(_) => Some(Next::End(None)),
            _ => None,
        }
    }

    /// The frame for the ticks since this client's last, if it follows any of their samples.
    fn frame(&mut self) -> Option<Utf8Bytes> {
        let (since, now) = self.hub.frames.since(self.seen);
        let behind = now.saturating_sub(self.seen);
        self.seen = now;
        match since {
            Since::Ticks(held) => frame_for(&self.subscription, &held),
            Since::Lagged => Some(own(&LiveMessage::Lagged { missed: behind })),
        }
    }

    /// Time to ping: a client that has not answered the last ping for the slow-client limit
    /// has not read for that long.
    fn ping(&mut self) -> Option<Next> {
        match self.unanswered {
            Some(sent) if sent.elapsed() >= self.slow_client => Some(Next::TooSlow(format!(
                "too slow: it read nothing for more than {} ms",
                self.slow_client.as_millis()
            ))),
            Some(_) => None,
            None => {
                self.unanswered = Some(std::time::Instant::now());
                Some(Next::Ping)
            }
        }
    }
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
    let (ticks, seen) = hub.frames.follow();
    let mut connection = Connection {
        member: hub.join(),
        hub,
        viewers,
        subscription: Subscription::default(),
        ticks,
        seen,
        unanswered: None,
        slow_client,
    };
    let (mut to_client, mut from_client) = socket.split();
    let stopped = gateway_stopped(stopping);
    tokio::pin!(stopped);
    tokio::pin!(session_ended);
    // Pings at half the slow-client limit: a client that stopped reading is found within
    // one and a half times the limit, however little is sent to it.
    let half = slow_client / 2;
    let mut pinging = tokio::time::interval_at(tokio::time::Instant::now() + half, half);
    let ending = loop {
        let missed = connection.member.take_missed();
        let next = if missed > 0 {
            tracing::debug!(missed, "live client lagging");
            Next::Text(own(&LiveMessage::Lagged { missed }))
        } else {
            tokio::select! {
                () = &mut stopped => Next::End(None),
                () = &mut session_ended => {
                    tracing::info!("session over: closing its live stream");
                    Next::End(None)
                }
                incoming = from_client.next() => match incoming {
                    Some(Ok(message)) => match connection.heard(message) {
                        Some(next) => next,
                        None => continue,
                    },
                    Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                        Next::End(Some(CloseFrame {
                            code: CloseCode::Size,
                            reason: format!(
                                "a message to the gateway may be at most {MAX_INCOMING} bytes"
                            )
                            .into(),
                        }))
                    }
                    Some(Err(_)) | None => Next::End(None),
                },
                message = connection.member.next() => Next::Text(message.text.clone()),
                Ok(()) = connection.ticks.changed(), if connection.subscription.frames => {
                    match connection.frame() {
                        Some(frame) => Next::Text(frame),
                        None => continue,
                    }
                }
                _ = pinging.tick() => match connection.ping() {
                    Some(next) => next,
                    None => continue,
                },
            }
        };
        let sending = match next {
            Next::Text(text) => send(&mut to_client, text).boxed(),
            Next::Ping => to_client.send(Message::Ping(Bytes::new())).boxed(),
            Next::End(frame) => break frame,
            Next::TooSlow(reason) => {
                return Box::pin(too_slow(to_client, connection, &metrics, reason)).await;
            }
        };
        match tokio::time::timeout(slow_client, sending).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break None,
            Err(_) => {
                let reason = format!(
                    "too slow: a message waited more than {} ms",
                    slow_client.as_millis()
                );
                return Box::pin(too_slow(to_client, connection, &metrics, reason)).await;
            }
        }
    };
    if let Some(devices) = connection.subscription.shown() {
        connection.viewers.remove(devices);
    }
    drop(connection);
    // A close frame; a client too slow to take it has its connection dropped.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        if let Some(frame) = ending {
            to_client.send(Message::Close(Some(frame))).await?;
        }
        to_client.close().await
    })
    .await;
}

/// Closes a client too slow to keep up with code [`SLOW_CLIENT_CODE`] and `reason`, counted.
/// The close frame goes behind what is already on its way; if the client does not read it
/// within [`CLOSE_GRACE`], the connection is dropped.
async fn too_slow(
    mut to_client: SplitSink<Socket, Message>,
    connection: Connection,
    metrics: &crate::metrics::Metrics,
    reason: String,
) {
    tracing::info!(%reason, "closing a live client");
    metrics.slow_client_closed();
    if let Some(devices) = connection.subscription.shown() {
        connection.viewers.remove(devices);
    }
    drop(connection);
    let close = Message::Close(Some(CloseFrame {
        code: CloseCode::from(SLOW_CLIENT_CODE),
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        to_client.send(close).await?;
        to_client.close().await
    })
    .await;
}
