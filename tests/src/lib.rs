//! Support for netpulse's end-to-end tests: the whole stack started in-process against real
//! nats-server and snmpd, and a small HTTP client that speaks to the gateway over TCP.

pub mod bench;
pub mod node;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netpulse_shared::bus;
use netpulse_shared::config::NatsSettings;
use netpulse_shared::test_util::NatsServer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// Which services a test needs besides the gateway.
#[derive(Debug, Clone, Copy, Default)]
pub struct Services {
    /// Start the scheduler, pollers and recorder too.
    pub pipeline: bool,
    /// How many pollers.
    pub pollers: usize,
    /// Run nats-server with netpulse's nats/nats.conf: each service with its own user and
    /// permissions.
    pub nats_permissions: bool,
    /// Leave the recorder out of the pipeline: the test runs it as a process
    /// ([`RecorderProcess`]).
    pub recorder_apart: bool,
    /// Start the logs receiver (syslog and traps on free loopback ports).
    pub logs: bool,
    /// The gateway's `ws_slow_client_ms`, when not its default.
    pub ws_slow_client_ms: Option<u64>,
}

/// A running netpulse: nats-server, the services as tasks, and a data directory, all gone
/// when dropped.
pub struct Stack {
    /// The gateway's address.
    pub gateway: SocketAddr,
    /// The data directory the recorder writes.
    pub data_dir: PathBuf,
    /// A client for the test's own NATS use.
    pub nats: async_nats::Client,
    /// How the recorder connects to NATS.
    pub recorder_nats: NatsSettings,
    /// Where the logs receiver takes syslog (UDP and TCP), when started.
    pub syslog: Option<SocketAddr>,
    /// Where the logs receiver takes SNMP notifications, when started.
    pub traps: Option<SocketAddr>,
    /// The admin's bearer token.
    pub token: String,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The gateway, apart from the other services so that a test can restart it alone.
    gateway_run: Option<GatewayRun>,
    /// Whether each service has its own NATS user.
    permissions: bool,
    _data: tempfile::TempDir,
    _server: NatsServer,
}

/// The running gateway, its own stop signal, and what it was built from (to build it again).
struct GatewayRun {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    health: tokio::task::JoinHandle<()>,
    nats: NatsSettings,
    settings: netpulse_gateway::GatewaySettings,
}

impl GatewayRun {
    /// Builds a gateway from `settings`, retrying for a few seconds while its port is still
    /// taken (by a gateway that has just stopped), and runs it.
    async fn start(nats: NatsSettings, settings: netpulse_gateway::GatewaySettings) -> Self {
        let client = bus::connect(&nats, "test-gateway")
            .await
            .expect("connect to NATS");
        let health = netpulse_shared::health::report(client.clone(), "gateway");
        let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
        let gateway = loop {
            // Boxed: the future is large, and tests run on a thread's default stack.
            let built = Box::pin(netpulse_gateway::Gateway::build(
                client.clone(),
                settings.clone(),
                Some(ADMIN_PASSWORD),
            ))
            .await;
            match built {
                Ok(gateway) => break gateway,
                // The old gateway's port may not be free yet.
                Err(_) if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("gateway: {error:#}"),
            }
        };
        let settings = netpulse_gateway::GatewaySettings {
            listen: gateway.address(),
            ..settings
        };
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(gateway.run_until_stopped(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        Self {
            stop,
            task,
            health,
            nats,
            settings,
        }
    }

    /// Stops the gateway and waits until it has (its /ws connections closed).
    async fn stop(self) {
        self.health.abort();
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("the gateway stops within 15 s")
            .expect("the gateway task ends without panicking");
    }
}

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|root| root.join("web"))
        .unwrap_or_default()
}

impl Stack {
    /// Starts nats-server and the requested services; returns once the gateway listens.
    pub async fn start(services: Services) -> Self {
        netpulse_shared::telemetry::init_for_tests();
        let server = if services.nats_permissions {
            NatsServer::start_with_netpulse_config()
        } else {
            NatsServer::start()
        };
        let permissions = services.nats_permissions;
        let settings_for = |service: &str| {
            if permissions {
                server.settings_for(service)
            } else {
                server.settings()
            }
        };
        let data = tempfile::tempdir().expect("data dir");
        let (stop, stopped) = watch::channel(false);
        let shutdown = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        let mut tasks = Vec::new();
        let connect = |name: &'static str| {
            // The test's own client acts as the gateway would.
            let service = match name.trim_start_matches("test-") {
                "test" => "gateway",
                other => other,
            };
            let settings: NatsSettings = settings_for(service);
            async move {
                let client = bus::connect(&settings, name)
                    .await
                    .expect("connect to NATS");
                // Each service reports its health, as its binary does.
                if name != "test" {
                    netpulse_shared::health::report(client.clone(), service);
                }
                client
            }
        };
        if services.pipeline {
            let client = connect("test-scheduler").await;
            let stop = shutdown();
            tasks.push(tokio::spawn(async move {
                let settings = netpulse_scheduler::SchedulerSettings {
                    down_after: 3,
                    down_backoff_max_secs: 2,
                    ..Default::default()
                };
                netpulse_scheduler::run(client, settings, stop)
                    .await
                    .expect("scheduler");
            }));
            for _ in 0..services.pollers.max(1) {
                let client = connect("test-poller").await;
                let stop = shutdown();
                let settings = netpulse_poller::PollerSettings::default();
                tasks.push(tokio::spawn(async move {
                    netpulse_poller::run(client, settings, stop)
                        .await
                        .expect("poller");
                }));
            }
            if !services.recorder_apart {
                let client = connect("test-recorder").await;
                let stop = shutdown();
                let dir = data.path().to_path_buf();
                tasks.push(tokio::spawn(async move {
                    netpulse_recorder::run(client, dir, Default::default(), stop)
                        .await
                        .expect("recorder");
                }));
                wait_until_recorder_answers(&connect("test").await).await;
            }
        }
        let (mut syslog, mut traps) = (None, None);
        if services.logs {
            let settings = netpulse_logs::LogsSettings {
                syslog_listen: "127.0.0.1:0".parse().expect("addr"),
                trap_listen: "127.0.0.1:0".parse().expect("addr"),
                ..Default::default()
            };
            let receivers = netpulse_logs::Receivers::bind(&settings)
                .await
                .expect("logs receivers");
            syslog = Some(receivers.syslog_address());
            traps = Some(receivers.trap_address());
            let client = connect("test-logs").await;
            let stop = shutdown();
            tasks.push(tokio::spawn(async move {
                receivers
                    .run(client, settings, stop)
                    .await
                    .expect("logs receiver");
            }));
        }
        let gateway_run = GatewayRun::start(
            settings_for("gateway"),
            netpulse_gateway::GatewaySettings {
                listen: "127.0.0.1:0".parse().expect("addr"),
                web_dir: web_dir(),
                auth: netpulse_gateway::auth::AuthSettings {
                    login_lockout_secs: 2,
                    ..Default::default()
                },
                metrics_token: Some(netpulse_shared::usm::Secret::new(METRICS_TOKEN)),
                ws_slow_client_ms: services.ws_slow_client_ms.unwrap_or(10_000),
                ..Default::default()
            },
        )
        .await;
        let address = gateway_run.settings.listen;
        let nats = connect("test").await;
        let token = login(address, "admin", ADMIN_PASSWORD)
            .await
            .expect("admin can log in");
        Self {
            token,
            gateway: address,
            data_dir: data.path().to_path_buf(),
            nats,
            recorder_nats: settings_for("recorder"),
            syslog,
            traps,
            stop,
            tasks,
            gateway_run: Some(gateway_run),
            permissions,
            _data: data,
            _server: server,
        }
    }

    /// How `service` connects to this stack's NATS (as its own user under
    /// [`Services::nats_permissions`]).
    pub fn nats_settings(&self, service: &str) -> NatsSettings {
        if self.permissions {
            self._server.settings_for(service)
        } else {
            self._server.settings()
        }
    }

    /// The whole pipeline (scheduler, one poller, recorder, gateway) on a plain nats-server.
    pub async fn pipeline() -> Self {
        Self::start(Services {
            pipeline: true,
            pollers: 1,
            ..Default::default()
        })
        .await
    }

    /// Adds a device as the admin, asserting 201; returns its id.
    pub async fn add_device(&self, device: Value) -> String {
        let created = self
            .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        created.json()["id"].as_str().expect("id").to_owned()
    }

    /// Puts devices straight into the registry (as many as a test needs, without the API's
    /// per-request cost); each body is validated as the API would.
    pub async fn register_devices(&self, bodies: impl IntoIterator<Item = Value>) {
        register_devices(&self.nats, 1, bodies).await;
    }

    /// POSTs `body` to `path` as the admin, asserting 201; returns the answer.
    pub async fn post_created(&self, path: &str, body: Value) -> Value {
        let answer = self
            .http("POST", path, Some(body.to_string().as_bytes()))
            .await;
        assert_eq!(answer.status, 201, "{path}: {}", answer.text());
        answer.json()
    }

    /// Waits until the device `id` is up (at most 30 s).
    pub async fn wait_until_up(&self, id: &str) {
        for _ in 0..300 {
            let device = self.get_json(&format!("/api/devices/{id}")).await;
            if device["status"]["state"] == "up" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{id} never came up");
    }

    /// Sends an HTTP request to the gateway as the admin (bearer token).
    pub async fn http(&self, method: &str, path: &str, body: Option<&[u8]>) -> Response {
        self.http_as(&self.token, method, path, body).await
    }

    /// Sends an HTTP request with a bearer token.
    pub async fn http_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Response {
        let bearer = format!("Bearer {token}");
        http(
            self.gateway,
            method,
            path,
            body,
            &[("Authorization", &bearer)],
        )
        .await
    }

    /// A /ws request carrying the admin's token.
    pub fn ws_request(&self) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/ws", self.gateway)
            .into_client_request()
            .expect("ws request");
        let bearer = format!("Bearer {}", self.token).parse().expect("header");
        request.headers_mut().insert("authorization", bearer);
        request
    }

    /// Creates a user with a role (as the admin) and returns their token.
    pub async fn user(&self, username: &str, role: &str) -> String {
        let password = format!("{username}-password-1");
        let body = serde_json::json!({"username": username, "password": password, "role": role});
        let created = self
            .http("POST", "/api/users", Some(body.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        login(self.gateway, username, &password)
            .await
            .expect("login")
    }

    /// GET returning the JSON body, asserting 200.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.http("GET", path, None).await;
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        response.json()
    }

    /// Stops the gateway (and waits until it has, its /ws connections closed), then builds
    /// and runs a new one with the same settings on the same address: sessions and
    /// everything kept in NATS remain.
    pub async fn restart_gateway(&mut self) {
        let running = self.gateway_run.take().expect("a gateway runs");
        let (nats, settings) = (running.nats.clone(), running.settings.clone());
        running.stop().await;
        let restarted = GatewayRun::start(nats, settings).await;
        assert_eq!(restarted.settings.listen, self.gateway, "the same address");
        self.gateway_run = Some(restarted);
    }

    /// A simulator of `devices` devices with two interfaces, each registered as `d<n>` and
    /// polled every second.
    pub async fn polled_simulator(&self, devices: usize) -> netpulse_simulator::Simulator {
        let sim = netpulse_simulator::Simulator::start(netpulse_simulator::SimConfig {
            devices,
            interfaces: 2,
            base_port: 0,
            ..netpulse_simulator::SimConfig::default()
        })
        .await
        .expect("simulator");
        self.register_devices(sim.addresses().iter().enumerate().map(|(i, address)| {
            serde_json::json!({"name": format!("d{i}"), "address": address.to_string(),
                   "interval": 1, "interfaces": [1, 2]})
        }))
        .await;
        sim
    }

    /// The raw history of `device`'s interface 1 (polled every second) from `from_ms` to two
    /// seconds ago in steps of 3 s: asserts it answers with no step empty (no hole of 3 polls).
    pub async fn assert_no_holes(&self, device: &str, from_ms: u64) {
        let to_ms = netpulse_shared::time::now_ms() - 2_000;
        let steps = ((to_ms - from_ms) / 3_000).max(1);
        let path = format!(
            "/api/devices/{device}/history?interface=1&from={}&to={}&resolution=raw&max_points={steps}",
            from_ms as f64 / 1000.0,
            to_ms as f64 / 1000.0
        );
        let answer = self.http("GET", &path, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
        let history = answer.json();
        let points = history["points"].as_array().expect("points");
        let empty: Vec<&serde_json::Value> =
            points.iter().filter(|p| p["in_bps"].is_null()).collect();
        assert!(
            !points.is_empty() && empty.is_empty(),
            "{device}: {} steps of 3 s, empty: {empty:?}",
            points.len()
        );
    }

    /// Another gateway on the same NATS, sharing nothing else with the stack's.
    pub async fn second_gateway(&self) -> SecondGateway {
        let first = self.gateway_run.as_ref().expect("a gateway runs");
        let settings = netpulse_gateway::GatewaySettings {
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..first.settings.clone()
        };
        let run = GatewayRun::start(first.nats.clone(), settings).await;
        SecondGateway {
            address: run.settings.listen,
            run,
        }
    }

    /// Stops the services and waits for them.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(gateway) = self.gateway_run.take() {
            let _ = gateway.stop.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(15), gateway.task).await;
        }
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
    }
}

/// Waits until a recorder answers queries (it joins the queue group once it has read
/// everything, or heard that no other replica has): at most 15 s.
pub async fn wait_until_recorder_answers(client: &async_nats::Client) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let asked = client.request("netpulse.history.probe", "{}".into());
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), asked).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recorder answers queries"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A gateway started beside a stack's ([`Stack::second_gateway`]).
pub struct SecondGateway {
    /// Where it listens.
    pub address: SocketAddr,
    run: GatewayRun,
}

impl SecondGateway {
    /// Stops it and waits until it has.
    pub async fn stop(self) {
        self.run.stop().await;
    }
}

/// A netpulse binary built beside the test binaries (`cargo build --bins`, which `make test`
/// runs first).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test binary>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first with `cargo build --bins` (make test does)",
        path.display()
    );
    path
}

/// netpulse-recorder running as its own process on a stack's NATS and data directory, so a
/// test can kill it as a crash would.
pub struct RecorderProcess {
    child: std::process::Child,
}

impl RecorderProcess {
    /// Starts the recorder binary for `stack`.
    pub fn start(stack: &Stack) -> Self {
        Self::start_replica(stack, "", &stack.data_dir, &[])
    }

    /// Starts the recorder replica `name` for `stack`, keeping its files in `data_dir`, with
    /// the extra `NETPULSE_...` variables in `env`.
    pub fn start_replica(stack: &Stack, name: &str, data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let nats = &stack.recorder_nats;
        let mut command = std::process::Command::new(binary("netpulse-recorder"));
        command
            .current_dir(data_dir)
            .env("NETPULSE_NATS__URL", &nats.url)
            .env("NETPULSE_DATA_DIR", data_dir)
            .env("NETPULSE_RECORDER__NAME", name)
            // Its warnings (a torn line cut, files repaired) explain a failure: kept unless
            // TEST_LOG says otherwise.
            .env(
                "RUST_LOG",
                std::env::var("TEST_LOG")
                    .map_or_else(|_| "warn".to_owned(), |_| service_log_filter()),
            )
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        if let (Some(user), Some(password)) = (&nats.user, &nats.password) {
            command
                .env("NETPULSE_NATS__USER", user)
                .env("NETPULSE_NATS__PASSWORD", password.expose());
        }
        Self {
            child: command.spawn().expect("start netpulse-recorder"),
        }
    }

    /// Stops it as an operator would (SIGTERM) and waits for it to exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "SIGTERM not delivered");
        let status = self.child.wait().expect("exited");
        assert!(
            status.success(),
            "the recorder exited with {status} on SIGTERM"
        );
    }

    /// Kills it with SIGKILL, as a crash or power loss would stop it, and reaps it.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for RecorderProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A netpulse service binary (`netpulse-poller`, `netpulse-gateway`...) running as its own
/// process on the given NATS settings, so a test can kill it as a crash would, or keep it
/// running through a NATS outage. Killed when dropped.
pub struct ServiceProcess {
    child: std::process::Child,
}

/// What the services started by tests log: errors only, or with `TEST_LOG` set, its value as
/// a filter (`TEST_LOG=warn`), `info` for any other value (`TEST_LOG=1`).
fn service_log_filter() -> String {
    match std::env::var("TEST_LOG") {
        Err(_) => "error".into(),
        Ok(value) if ["error", "warn", "info", "debug", "trace"].contains(&value.as_str()) => value,
        Ok(_) => "info".into(),
    }
}

impl ServiceProcess {
    /// Starts `name` in `data_dir` (also its `data_dir`) with `nats` (every server URL, the
    /// replicas, the user) and the extra `NETPULSE_...` variables in `env`.
    pub fn start(name: &str, nats: &NatsSettings, data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = std::process::Command::new(binary(name));
        command
            .current_dir(data_dir)
            .env("NETPULSE_NATS__URL", nats.servers().join(","))
            .env("NETPULSE_NATS__REPLICAS", nats.replicas.to_string())
            .env("NETPULSE_DATA_DIR", data_dir)
            .env("NETPULSE_GATEWAY__WEB_DIR", web_dir())
            .env("RUST_LOG", service_log_filter())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        if let (Some(user), Some(password)) = (&nats.user, &nats.password) {
            command
                .env("NETPULSE_NATS__USER", user)
                .env("NETPULSE_NATS__PASSWORD", password.expose());
        }
        for (key, value) in env {
            command.env(key, value);
        }
        Self {
            child: command
                .spawn()
                .unwrap_or_else(|e| panic!("start {name}: {e}")),
        }
    }

    /// Whether it still runs (it has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills it with SIGKILL and reaps it.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver: every JSON body POSTed to it, answered 200.
#[derive(Clone)]
pub struct Webhook {
    /// Where it listens.
    pub address: SocketAddr,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Webhook {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let bodies: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = std::sync::Arc::default();
        let kept = bodies.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let Ok(n) = stream.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buffer).to_string();
                        let Some(end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buffer.len() < end + 4 + length {
                            continue;
                        }
                        let body = &buffer[end + 4..end + 4 + length];
                        if let Ok(value) = serde_json::from_slice::<Value>(body) {
                            kept.lock().expect("lock").push(value);
                        }
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                });
            }
        });
        Self { address, bodies }
    }

    /// Its URL (with a token in the query, as webhook URLs often carry).
    pub fn url(&self) -> String {
        format!("http://{}/hook?token=secret-token", self.address)
    }

    /// The bodies with this status (`firing`, `resolved`), repeats left out unless asked.
    pub fn with_status(&self, status: &str, repeats: bool) -> Vec<Value> {
        self.bodies
            .lock()
            .expect("lock")
            .iter()
            .filter(|b| b["status"] == status && (repeats || b["repeat"] != true))
            .cloned()
            .collect()
    }

    /// Waits until a body with `status` has come (at most `seconds`).
    pub async fn wait_for(&self, status: &str, seconds: u64) -> Value {
        for _ in 0..seconds * 10 {
            if let Some(body) = self.with_status(status, false).first() {
                return body.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no {status} notification within {seconds} s; got {:?}",
            self.bodies.lock().expect("lock")
        );
    }
}

impl Webhook {
    /// Every body received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().expect("lock").clone()
    }
}

impl Stack {
    /// Starts the alerter binary on this stack (as its own NATS user under
    /// [`Services::nats_permissions`]), checking every 200 ms, with a 1 s lease, and the
    /// extra `NETPULSE_ALERTER__...` settings in `extra`. Killed when dropped.
    pub fn alerter(&self, extra: &[(&str, &str)]) -> ServiceProcess {
        let stack = self;
        let dashboard = format!("http://{}", stack.gateway);
        let mut env = vec![
            ("NETPULSE_ALERTER__DASHBOARD_URL", dashboard.as_str()),
            ("NETPULSE_ALERTER__EVALUATE_MS", "200"),
            ("NETPULSE_ALERTER__LEASE_MS", "1000"),
        ];
        env.extend_from_slice(extra);
        ServiceProcess::start(
            "netpulse-alerter",
            &stack.nats_settings("alerter"),
            &stack.data_dir,
            &env,
        )
    }
}

/// Puts devices straight into the registry bucket (kept in `replicas` copies); each body is
/// validated as the API would.
pub async fn register_devices(
    client: &async_nats::Client,
    replicas: usize,
    bodies: impl IntoIterator<Item = Value>,
) {
    let js = async_nats::jetstream::new(client.clone());
    // A cluster just started may not answer JetStream requests at once.
    let give_up = tokio::time::Instant::now() + Duration::from_secs(15);
    let registry = loop {
        match bus::Bucket::DEVICES.open(&js, replicas).await {
            Ok(registry) => break registry,
            Err(error) => {
                assert!(tokio::time::Instant::now() < give_up, "registry: {error}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    for body in bodies {
        let device = netpulse_shared::device::Device::from_json_body(body.to_string().as_bytes())
            .expect("a valid device");
        let value = serde_json::to_vec(&device).expect("json");
        // On a cluster, a bucket just created takes a moment to be reachable from every node.
        let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
        while let Err(error) = registry.put(device.id.as_str(), value.clone().into()).await {
            assert!(tokio::time::Instant::now() < give_up, "put: {error}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A /ws connection.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next /ws message matching `wanted`, within `limit` (`None` when none came).
pub async fn next_live(
    socket: &mut Socket,
    limit: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Option<Value> {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        if let Ok(tokio_tungstenite::tungstenite::Message::Text(text)) = message {
            let value: Value = serde_json::from_str(&text).expect("every /ws message is JSON");
            assert!(value["type"].is_string(), "message without type: {value}");
            if wanted(&value) {
                return Some(value);
            }
        }
    }
}

/// The admin password of test stacks.
pub const ADMIN_PASSWORD: &str = "test-admin-password";
/// The gateway's scrape token for `GET /metrics`.
pub const METRICS_TOKEN: &str = "test-scrape-token";

/// Logs in; the bearer token, or the error answer.
pub async fn login(
    address: SocketAddr,
    username: &str,
    password: &str,
) -> Result<String, Response> {
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    let response = http(address, "POST", "/api/login", Some(body.as_bytes()), &[]).await;
    match response.json()["token"].as_str() {
        Some(token) if response.status == 200 => Ok(token.to_owned()),
        _ => Err(response),
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client (one request per connection), enough to talk to the gateway
/// exactly as a browser or script would, including bodies without a Content-Length.
pub async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    extra_headers: &[(&str, &str)],
) -> Response {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect to gateway");
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in extra_headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let chunked = extra_headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
    if let Some(body) = body {
        if !chunked {
            request.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    if let Some(body) = body {
        if chunked {
            for part in body.chunks(8192) {
                let _ = stream
                    .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                    .await;
                let _ = stream.write_all(part).await;
                let _ = stream.write_all(b"\r\n").await;
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
        } else {
            // The server may answer (413) and close before reading everything.
            let _ = stream.write_all(body).await;
        }
    }
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw)).await;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP header in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// The id of every sample in the samples stream, in stream order.
pub async fn stream_sample_ids(js: &async_nats::jetstream::Context) -> Vec<String> {
    use futures::StreamExt;
    let mut stream = js
        .get_stream(netpulse_shared::subjects::SAMPLES_STREAM)
        .await
        .expect("stream");
    let expected = stream.info().await.expect("info").state.messages;
    let reader = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("ordered consumer");
    let mut messages = reader.messages().await.expect("messages");
    let mut ids = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while (ids.len() as u64) < expected {
        let message = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .expect("the stream kept its samples")
            .expect("open")
            .expect("message");
        let sample: netpulse_shared::messages::Sample =
            serde_json::from_slice(&message.payload).expect("a sample");
        ids.push(sample.id);
    }
    ids
}

/// What the recorder has not stored yet: samples still pending in its consumer, and samples
/// delivered but not acknowledged (it acknowledges once they are synced to disk). `None` when
/// the consumer cannot be read.
pub async fn recorder_backlog(js: &async_nats::jetstream::Context) -> Option<(u64, u64)> {
    use netpulse_shared::subjects;
    let stream = js.get_stream(subjects::SAMPLES_STREAM).await.ok()?;
    let mut recorder: async_nats::jetstream::consumer::PullConsumer = stream
        .get_consumer(subjects::RECORDER_CONSUMER)
        .await
        .ok()?;
    let info = recorder.info().await.ok()?;
    Some((info.num_pending, info.num_ack_pending as u64))
}

/// Waits until the recorder has stored and acked everything in the samples stream.
pub async fn wait_until_recorded(js: &async_nats::jetstream::Context, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let (pending, unacked) = recorder_backlog(js).await.expect("recorder consumer info");
        if pending == 0 && unacked == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the recorder did not catch up: {pending} pending, {unacked} unacked"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
