//! netpulse-gateway: the dashboard, the JSON API and the live stream, over warp.
//!
//! [`Gateway::build`] binds the listener (port 0 in tests) and starts the live fan-out;
//! [`Gateway::run_until_stopped`] serves until the shutdown future resolves.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod cli;
pub mod error;
pub mod fleet;
pub mod history;
pub mod http;
pub mod live;
pub mod metrics;
pub mod observed;
pub mod registry;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use async_nats::jetstream;
use netpulse_shared::bus;
use netpulse_shared::config::NatsSettings;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use warp::http::header::{HeaderMap, HeaderValue};
use warp::Filter;

use crate::auth::audit::AuditLog;
use crate::auth::tokens::Tokens;
use crate::auth::users::UserStore;
use crate::auth::{Auth, AuthSettings};
use crate::registry::Registry;
use netpulse_shared::usm::Secret;

/// `[gateway]` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct GatewaySettings {
    /// Address and port to serve on. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Folder of the dashboard's files (with `node_modules/` installed). Default `web`.
    pub web_dir: PathBuf,
    /// Sessions, login limits, cookies.
    #[serde(flatten)]
    pub auth: AuthSettings,
    /// The least role a signed-in user needs to read `GET /metrics`. Default `viewer`.
    pub metrics_role: auth::Role,
    /// A bearer token that may read `GET /metrics` without signing in, for Prometheus
    /// (`authorization: {credentials: ...}` in its scrape config). Default none: only
    /// signed-in users may read.
    pub metrics_token: Option<Secret>,
    /// How long a `/ws` client may go without taking the message being sent to it before it
    /// is closed with code 4008 (it reconnects and reloads). Default 10,000 ms.
    pub ws_slow_client_ms: u64,
    /// How often a `/ws` client that asked for frames gets one: the latest sample of each
    /// device it follows. Default 1,000 ms; 100 to 60,000.
    pub ws_frame_ms: u64,
    /// Copies of each JetStream stream and bucket this service opens: `nats.replicas`,
    /// copied here by the binary (not read from this section). Default 1.
    #[serde(skip)]
    pub replicas: usize,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            web_dir: PathBuf::from("web"),
            auth: AuthSettings::default(),
            metrics_role: auth::Role::Viewer,
            metrics_token: None,
            ws_slow_client_ms: 10_000,
            ws_frame_ms: 1_000,
            replicas: 1,
        }
    }
}

/// Connections waiting to be accepted: after a restart every browser reconnects at once.
const LISTEN_BACKLOG: u32 = 4096;
/// The kernel's send buffer of each connection (Linux doubles it, and it is not grown
/// further). Left to itself, Linux grows it to megabytes per connection: a `/ws` client
/// that stopped reading would hold that much until it is closed.
const SEND_BUFFER: u32 = 128 * 1024;

/// Listens on `address` with room for a crowd of browsers reconnecting at once (the default
/// backlog, 128, would drop some and have them retry a second later); the connections
/// accepted take the listener's send buffer size.
fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(SEND_BUFFER)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Everything the gateway binary reads from configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// `[nats]`.
    pub nats: NatsSettings,
    /// `[gateway]`.
    pub gateway: GatewaySettings,
    /// Top-level `admin_password` (NETPULSE_ADMIN_PASSWORD): the first admin's password,
    /// used only when there are no users yet.
    pub admin_password: Option<Secret>,
}

/// A gateway bound to its port, ready to serve.
pub struct Gateway {
    listener: TcpListener,
    address: SocketAddr,
    client: async_nats::Client,
    registry: Registry,
    live: live::hub::Hub,
    fan_out: tokio::task::JoinHandle<()>,
    /// Ends a tick of the frames every `gateway.ws_frame_ms`.
    ticking: tokio::task::JoinHandle<()>,
    viewers: live::viewers::Viewers,
    watching: tokio::task::JoinHandle<()>,
    /// Closes the `/ws` connections when the gateway stops.
    clients: live::viewers::ClientShutdown,
    /// How long a `/ws` client may hold up a message before it is closed.
    slow_client: std::time::Duration,
    web_dir: PathBuf,
    auth: Auth,
    unknown_sources: async_nats::jetstream::kv::Store,
    observed: observed::Observed,
    following: tokio::task::JoinHandle<()>,
    following_tokens: tokio::task::JoinHandle<()>,
    layouts: fleet::layout::Layouts,
    metrics_access: metrics::scrape::Access,
    alerting: alerts::Alerting,
}

impl Gateway {
    /// Binds `settings.listen`, opens the registry and starts following NATS. When there
    /// are no users yet, creates `admin` with `admin_password`, or with a random password
    /// that is printed once.
    pub async fn build(
        client: async_nats::Client,
        settings: GatewaySettings,
        admin_password: Option<&str>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            (100..=60_000).contains(&settings.ws_frame_ms),
            "gateway.ws_frame_ms must be from 100 to 60000 (ms), not {}",
            settings.ws_frame_ms
        );
        let js = jetstream::new(client.clone());
        let replicas = settings.replicas;
        // On a cluster that is starting or just lost a node, JetStream may not answer yet.
        let store = bus::Bucket::DEVICES.open_when_ready(&js, replicas).await?;
        let status = bus::Bucket::STATUS.open_when_ready(&js, replicas).await?;
        let interfaces = bus::Bucket::INTERFACES
            .open_when_ready(&js, replicas)
            .await?;
        let removed = bus::Bucket::REMOVED.open_when_ready(&js, replicas).await?;
        let layouts = fleet::layout::Layouts::new(
            bus::Bucket::MAP_LAYOUTS
                .open_when_ready(&js, replicas)
                .await?,
        );
        let unknown_sources = bus::Bucket::UNKNOWN_SOURCES
            .open_when_ready(&js, replicas)
            .await?;
        let users = UserStore::new(bus::Bucket::USERS.open_when_ready(&js, replicas).await?);
        if let Some(password) = users.ensure_admin(admin_password).await? {
            println!(
                "netpulse: created user 'admin' with password {password} (shown once; change it with \
                 `netpulse-gateway user passwd admin`)"
            );
        }
        bus::until_set_up(|| bus::events_stream(&js, replicas)).await?;
        let session_max = std::time::Duration::from_secs(settings.auth.session_max_secs);
        let sessions =
            bus::until_set_up(|| bus::sessions_bucket(&js, replicas, session_max)).await?;
        let tokens = Tokens::new(bus::Bucket::TOKENS.open_when_ready(&js, replicas).await?);
        let following_tokens = tokio::spawn(tokens.clone().follow());
        let auth = Auth::new(
            users,
            sessions,
            tokens,
            AuditLog::new(js.clone()),
            &settings.auth,
        );
        let alerting = alerts::Alerting::new(js.clone(), replicas, auth.clone());
        let listener = listen(settings.listen)?;
        let address = listener.local_addr()?;
        let slow_client = std::time::Duration::from_millis(settings.ws_slow_client_ms.max(100));
        let frame_every = std::time::Duration::from_millis(settings.ws_frame_ms);
        // Enough ticks for a client that took up to the slow-client limit over one message.
        let held = settings
            .ws_slow_client_ms
            .div_ceil(settings.ws_frame_ms.max(1))
            + 2;
        let frames = live::frames::Frames::new(frame_every, held);
        let ticking = tokio::spawn(frames.clone().run());
        let live = live::hub::Hub::new(frames);
        let observed = observed::Observed::default();
        let registry = Registry::new(
            store.clone(),
            status.clone(),
            interfaces.clone(),
            removed,
            observed.devices.clone(),
        );
        let following = tokio::spawn(metrics::follow(
            client.clone(),
            observed.metrics.clone(),
            status,
            interfaces,
            observed.found.clone(),
        ));
        let fan_out = tokio::spawn({
            let (client, live) = (client.clone(), live.clone());
            let observed = observed.clone();
            async move {
                if let Err(error) = live::reader::fan_out(client, store, live, observed).await {
                    tracing::error!(%error, "live stream stopped");
                }
            }
        });
        let viewers = live::viewers::Viewers::default();
        let watching = tokio::spawn(live::viewers::publish_viewers(
            client.clone(),
            viewers.clone(),
        ));
        Ok(Self {
            clients: live::viewers::ClientShutdown::default(),
            slow_client,
            ticking,
            viewers,
            watching,
            listener,
            address,
            client,
            registry,
            live,
            fan_out,
            web_dir: settings.web_dir,
            auth,
            unknown_sources,
            observed,
            following,
            following_tokens,
            layouts,
            alerting,
            metrics_access: metrics::scrape::Access {
                role: settings.metrics_role,
                token: settings.metrics_token,
            },
        })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` resolves, then lets requests under way finish and closes the
    /// `/ws` connections (waiting a few seconds at most for them to end).
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        tracing::info!(address = %self.address, "gateway listening");
        let vendor = warp::path!("vendor" / "chart.js" / ..).and(warp::fs::dir(
            self.web_dir.join("node_modules/chart.js/dist"),
        ));
        let graphs = warp::path!("vendor" / "cytoscape" / ..).and(warp::fs::dir(
            self.web_dir.join("node_modules/cytoscape/dist"),
        ));
        let pages = warp::get().and(warp::fs::dir(self.web_dir.clone()));
        // Each route group is boxed: it keeps the request futures (and so the stack they
        // need) small as routes are added.
        let api = api::health(self.client.clone())
            .boxed()
            .or(auth::routes::routes(self.auth.clone()).boxed())
            .unify()
            .or(auth::token_routes::routes(self.auth.clone()).boxed())
            .unify()
            .or(api::devices(
                self.registry.clone(),
                self.observed.clone(),
                self.client.clone(),
                self.auth.clone(),
            )
            .boxed())
            .unify()
            .or(api::export(self.registry.clone(), self.auth.clone()).boxed())
            .unify()
            .or(alerts::routes(self.alerting.clone()).boxed())
            .unify()
            .or(history::routes(
                self.registry.clone(),
                self.client.clone(),
                self.auth.clone(),
            )
            .boxed())
            .unify()
            .or(history::log_routes(
                self.registry.clone(),
                self.client.clone(),
                self.unknown_sources.clone(),
                self.auth.clone(),
            )
            .boxed())
            .unify()
            .or(api::interfaces(
                self.registry.clone(),
                self.client.clone(),
                self.auth.clone(),
            )
            .boxed())
            .unify()
            .or(fleet::routes(
                self.observed.clone(),
                self.layouts.clone(),
                self.auth.clone(),
            )
            .boxed())
            .unify()
            .or(api::on_demand::routes(
                self.registry.clone(),
                self.client.clone(),
                self.auth.clone(),
            )
            .boxed())
            .unify()
            .boxed();
        let routes = api
            .or(metrics::scrape::route(
                self.observed.metrics.clone(),
                self.live.clone(),
                jetstream::new(self.client.clone()),
                self.auth.clone(),
                self.metrics_access.clone(),
                self.alerting.clone(),
            )
            .boxed())
            .unify()
            .or(live::socket::route(
                self.live.clone(),
                self.viewers.clone(),
                &self.auth,
                self.clients.clone(),
                self.slow_client,
                self.observed.metrics.clone(),
            )
            .map(warp::Reply::into_response)
            .boxed())
            .unify()
            .or(vendor.map(warp::Reply::into_response).boxed())
            .unify()
            .or(graphs.map(warp::Reply::into_response).boxed())
            .unify()
            .or(pages.map(warp::Reply::into_response).boxed())
            .unify()
            .recover(error::recover)
            .with(warp::reply::with::headers(security_headers()))
            .with(warp::trace::request());
        warp::serve(routes)
            .incoming(self.listener)
            .graceful(shutdown)
            .run()
            .await;
        if !self
            .clients
            .close_all(std::time::Duration::from_secs(5))
            .await
        {
            tracing::warn!("live clients still open after the gateway stopped");
        }
        self.fan_out.abort();
        self.ticking.abort();
        self.watching.abort();
        self.following.abort();
        self.following_tokens.abort();
    }
}

/// Headers on every answer: no framing, no MIME sniffing, scripts only from this origin.
fn security_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers
}
