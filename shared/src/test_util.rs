//! Real servers for tests: nats-server and net-snmp's snmpd on free loopback ports, each
//! stopped and cleaned up when dropped. Enabled by the `test-util` feature.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A free TCP port on 127.0.0.1 (free when asked; bind it soon).
pub fn free_tcp_port() -> u16 {
    free_port(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .or_else(|| {
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .ok()
        })
        .expect("no free TCP port")
}

/// A free UDP port on 127.0.0.1 (free when asked; bind it soon).
pub fn free_udp_port() -> u16 {
    free_port(|port| UdpSocket::bind(("127.0.0.1", port)).is_ok())
        .or_else(|| {
            UdpSocket::bind("127.0.0.1:0")
                .and_then(|s| s.local_addr())
                .map(|a| a.port())
                .ok()
        })
        .expect("no free UDP port")
}

/// A port that `free` says is free, below the system's ephemeral range. Ports the kernel
/// hands out (port 0) come from that range, and so do the source ports of every outgoing
/// socket: a poller opening sessions, snmpd, a client. One of them could take a port chosen
/// there before the test binds it; below the range, nothing is given it but by name. `None`
/// when the system leaves no room below its ephemeral range.
fn free_port(free: impl Fn(u16) -> bool) -> Option<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOWEST: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768)
        .min(65_536);
    let span = ephemeral
        .checked_sub(LOWEST)
        .filter(|span| *span >= 1_000)?;
    // Processes running tests side by side start at different places.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seed = std::process::id().wrapping_mul(7_919) ^ nanos;
    (0..span).find_map(|_| {
        let n = seed.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(7_919));
        let port = u16::try_from(LOWEST + n % span).ok()?;
        free(port).then_some(port)
    })
}

fn find_program(env_var: &str, name: &str, extra: &[PathBuf]) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(extra.iter().cloned())
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found: run `make setup` or set {env_var}"))
}

/// The repository root (where `tools/` and `nats/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Kills and reaps a child process.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A nats-server with JetStream, on a free port, storing in a temporary directory.
pub struct NatsServer {
    child: Child,
    port: u16,
    /// How it was started (program and arguments, environment), to start it again.
    program: PathBuf,
    args: Vec<std::ffi::OsString>,
    envs: Vec<(String, PathBuf)>,
    _store: TempDir,
}

impl NatsServer {
    fn program() -> PathBuf {
        find_program(
            "NETPULSE_NATS_SERVER",
            "nats-server",
            &[
                workspace_root().join("tools/nats-server"),
                workspace_root().join("tools/nats/bin/nats-server"),
            ],
        )
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start() -> Self {
        let program = Self::program();
        let store = TempDir::new().expect("temp dir");
        let port = free_tcp_port();
        // Streams reserve their size limits from the store's maximum, which nats-server
        // otherwise sets from the free disk: many test servers at once would run short.
        let config = store.path().join("nats.conf");
        std::fs::write(
            &config,
            format!(
                "jetstream {{ store_dir: {:?}, max_file_store: 1TB, max_memory_store: 256MB }}\n",
                store.path().join("jetstream")
            ),
        )
        .expect("nats-server config");
        let args = vec![
            "-c".into(),
            config.into_os_string(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string().into(),
        ];
        Self::launch(program, args, Vec::new(), store, port)
    }

    /// Runs nats-server with `args` and `envs` and waits until it accepts connections.
    fn launch(
        program: PathBuf,
        args: Vec<std::ffi::OsString>,
        envs: Vec<(String, PathBuf)>,
        store: TempDir,
        port: u16,
    ) -> Self {
        let child = Self::spawn(&program, &args, &envs);
        let mut server = Self {
            child,
            port,
            program,
            args,
            envs,
            _store: store,
        };
        server.wait_until_listening();
        server
    }

    fn spawn(program: &Path, args: &[std::ffi::OsString], envs: &[(String, PathBuf)]) -> Child {
        let mut command = Command::new(program);
        command.args(args);
        for (key, value) in envs {
            command.env(key, value);
        }
        for service in [
            "scheduler",
            "poller",
            "recorder",
            "gateway",
            "logs",
            "alerter",
        ] {
            command.env(
                format!("NETPULSE_NATS_{}_PASSWORD", service.to_uppercase()),
                format!("{service}-secret"),
            );
        }
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start nats-server")
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline || self.child.try_wait().ok().flatten().is_some() {
                stop(&mut self.child);
                panic!("nats-server did not start on port {}", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server with SIGKILL, as a crash would (clients see the connection drop);
    /// [`NatsServer::resume`] starts it again.
    pub fn kill(&mut self) {
        stop(&mut self.child);
    }

    /// Starts the server again on the same port with the same store (after
    /// [`NatsServer::kill`]), and waits until it accepts connections.
    pub fn resume(&mut self) {
        self.child = Self::spawn(&self.program, &self.args, &self.envs);
        self.wait_until_listening();
    }

    /// Kills the server (SIGKILL) and starts it again on the same port with the same store.
    pub fn restart(&mut self) {
        self.kill();
        self.resume();
    }

    /// Starts the server with netpulse's own `nats/nats.conf` (per-service users and
    /// permissions); every service's password is `<service>-secret`.
    pub fn start_with_netpulse_config() -> Self {
        let program = Self::program();
        let store = TempDir::new().expect("temp dir");
        let port = free_tcp_port();
        let args = vec![
            "-c".into(),
            workspace_root().join("nats/nats.conf").into_os_string(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string().into(),
        ];
        let envs = vec![(
            "JETSTREAM_STORE_DIR".to_owned(),
            store.path().join("jetstream"),
        )];
        Self::launch(program, args, envs, store, port)
    }

    /// Settings for `service` on a server started with
    /// [`NatsServer::start_with_netpulse_config`].
    pub fn settings_for(&self, service: &str) -> crate::config::NatsSettings {
        crate::config::NatsSettings {
            user: Some(service.to_owned()),
            password: Some(crate::usm::Secret::new(format!("{service}-secret"))),
            ..self.settings()
        }
    }

    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
    /// Settings pointing at it.
    pub fn settings(&self) -> crate::config::NatsSettings {
        crate::config::NatsSettings {
            url: self.url(),
            connect_timeout_secs: 10,
            ..Default::default()
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// One node of a [`NatsCluster`].
struct ClusterNode {
    child: Option<Child>,
    port: u16,
    monitor_port: u16,
}

/// A cluster of nats-servers with JetStream on loopback, each node on free ports (clients,
/// routes, monitoring) with its own store; every node is stopped when dropped.
pub struct NatsCluster {
    nodes: Vec<ClusterNode>,
    _dir: TempDir,
}

impl NatsCluster {
    /// Starts `size` nodes routed to each other and waits until JetStream is ready on all
    /// of them (a meta leader elected).
    pub fn start(size: usize) -> Self {
        let program = NatsServer::program();
        let dir = TempDir::new().expect("temp dir");
        let ports: Vec<(u16, u16, u16)> = (0..size)
            .map(|_| (free_tcp_port(), free_tcp_port(), free_tcp_port()))
            .collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, route, _)| format!("nats-route://127.0.0.1:{route}"))
            .collect();
        let mut nodes = Vec::new();
        for (n, (port, route, monitor_port)) in ports.iter().enumerate() {
            let config = dir.path().join(format!("node-{n}.conf"));
            std::fs::write(
                &config,
                format!(
                    "server_name: node-{n}\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor_port}\n\
                     jetstream {{ store_dir: {:?}, max_file_store: 1TB, max_memory_store: 256MB }}\n\
                     cluster {{ name: netpulse-test, listen: 127.0.0.1:{route}, routes: [{}] }}\n",
                    dir.path().join(format!("node-{n}")),
                    routes.join(", ")
                ),
            )
            .expect("node config");
            let child = Command::new(&program)
                .arg("-c")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot start nats-server");
            nodes.push(ClusterNode {
                child: Some(child),
                port: *port,
                monitor_port: *monitor_port,
            });
        }
        let cluster = Self { nodes, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        for n in 0..size {
            while cluster.monitor(n, "/healthz").is_none() {
                assert!(
                    Instant::now() < deadline,
                    "the nats-server cluster did not become ready"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        cluster
    }

    /// The client URL of node `n`.
    pub fn url(&self, n: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[n].port)
    }

    /// Every node's client URL, separated by commas (as `nats.url` takes them).
    pub fn urls(&self) -> String {
        (0..self.nodes.len())
            .map(|n| self.url(n))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Settings naming every node, with `replicas` copies of each stream and bucket.
    pub fn settings(&self, replicas: usize) -> crate::config::NatsSettings {
        crate::config::NatsSettings {
            url: self.urls(),
            replicas,
            connect_timeout_secs: 10,
            ..Default::default()
        }
    }

    /// Kills node `n` with SIGKILL, as a crashed machine would stop.
    pub fn kill(&mut self, n: usize) {
        if let Some(mut child) = self.nodes[n].child.take() {
            stop(&mut child);
        }
    }

    /// The body of a monitoring endpoint of node `n` (`/connz`, `/jsz`...) when it answers
    /// 200 OK; `None` otherwise (or when the node is down).
    pub fn monitor(&self, n: usize, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.nodes[n].monitor_port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?;
        (status == "200").then(|| body.to_owned())
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for n in 0..self.nodes.len() {
            self.kill(n);
        }
    }
}

/// The test agent's configuration: community `public` (v1/v2c) and the SNMPv3 users below.
const SNMPD_CONF: &str = "\
rocommunity public 127.0.0.1
createUser noauth
createUser md5only MD5 authpass123
createUser shaaes SHA authpass123 AES privpass123
createUser sha256aes SHA-256 authpass123 AES privpass123
createUser sha512des SHA-512 authpass123 DES privpass123
createUser sha256aes256 SHA-256 authpass123 AES-256 privpass123
createUser sha1aes192 SHA authpass123 AES-192 privpass123
rouser noauth noauth
rouser md5only auth
rouser shaaes priv
rouser sha256aes priv
rouser sha512des priv
rouser sha256aes256 priv
rouser sha1aes192 priv
dontLogTCPWrappersConnects yes
";

/// SNMPv3 users of [`Snmpd`]: (user, auth protocol, priv protocol); every auth password is
/// `authpass123` and every privacy password `privpass123`.
pub const SNMPD_V3_USERS: [(&str, Option<&str>, Option<&str>); 7] = [
    ("noauth", None, None),
    ("md5only", Some("md5"), None),
    ("shaaes", Some("sha"), Some("aes")),
    ("sha256aes", Some("sha256"), Some("aes")),
    ("sha512des", Some("sha512"), Some("des")),
    ("sha256aes256", Some("sha256"), Some("aes256")),
    ("sha1aes192", Some("sha"), Some("aes192")),
];

/// net-snmp's snmpd with its own configuration (read-only community `public` and the
/// SNMPv3 users of [`SNMPD_V3_USERS`]), on a free loopback UDP port.
pub struct Snmpd {
    child: Child,
    port: u16,
    dir: TempDir,
    env: Vec<(String, String)>,
}

impl Snmpd {
    /// Starts snmpd and waits until it answers a GET.
    pub fn start() -> Self {
        Self::start_with("", &[])
    }

    /// Starts snmpd with `extra` lines added to its configuration (such as `engineID ...`)
    /// and `env` added to its environment, and waits until it answers a GET.
    pub fn start_with(extra: &str, env: &[(&str, &str)]) -> Self {
        let dir = TempDir::new().expect("temp dir");
        // snmpd keeps its persistent state (engine boots, keys) in a file also named
        // snmpd.conf, so the configuration lives in a folder of its own.
        std::fs::create_dir_all(dir.path().join("conf")).expect("conf dir");
        std::fs::write(
            dir.path().join("conf/snmpd.conf"),
            format!("{SNMPD_CONF}{extra}\n"),
        )
        .expect("write snmpd.conf");
        let port = free_udp_port();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let child = Self::spawn(dir.path(), port, &env);
        let mut agent = Self {
            child,
            port,
            dir,
            env,
        };
        agent.wait_until_answering();
        agent
    }

    /// libfaketime, for an agent whose clock runs at another speed (Debian's `faketime`).
    pub fn faketime_library() -> Option<PathBuf> {
        let lib = std::fs::read_dir("/usr/lib").ok()?;
        lib.flatten()
            .map(|arch| arch.path().join("faketime/libfaketime.so.1"))
            .chain([PathBuf::from("/usr/lib/faketime/libfaketime.so.1")])
            .find(|path| path.exists())
    }

    fn spawn(dir: &Path, port: u16, env: &[(String, String)]) -> Child {
        let program = find_program(
            "NETPULSE_SNMPD",
            "snmpd",
            &[PathBuf::from("/usr/sbin/snmpd")],
        );
        Command::new(program)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("MIBS", "")
            .env("SNMP_PERSISTENT_DIR", dir.join("state"))
            .args(["-f", "-C", "-Lf"])
            .arg(dir.join("snmpd.log"))
            .arg("-c")
            .arg(dir.join("conf/snmpd.conf"))
            .arg("-p")
            .arg(dir.join("snmpd.pid"))
            .arg(format!("udp:127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start snmpd")
    }

    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.get(&["1.3.6.1.2.1.1.3.0"]).is_err() {
            if Instant::now() > deadline || self.child.try_wait().ok().flatten().is_some() {
                let log =
                    std::fs::read_to_string(self.dir.path().join("snmpd.log")).unwrap_or_default();
                stop(&mut self.child);
                panic!("snmpd did not start on port {}: {log}", self.port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the agent (the device goes silent); [`Snmpd::resume`] starts it again.
    pub fn pause(&mut self) {
        stop(&mut self.child);
    }

    /// Starts the agent again on the same port.
    pub fn resume(&mut self) {
        self.child = Self::spawn(self.dir.path(), self.port, &self.env);
        self.wait_until_answering();
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Reads OIDs with net-snmp's `snmpget` (v2c, community `public`); each value as the
    /// text after the type, e.g. `"5665"` for `Counter64: 5665`.
    pub fn get(&self, oids: &[&str]) -> Result<Vec<String>, String> {
        let out = Command::new("snmpget")
            .env("MIBS", "")
            .args([
                "-v2c", "-c", "public", "-t", "1", "-r", "1", "-On", "-Oq", "-Ot",
            ])
            .arg(self.address())
            .args(oids)
            .output()
            .map_err(|e| format!("cannot run snmpget: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                line.split_once(' ')
                    .map(|(_, v)| v.trim().to_owned())
                    .unwrap_or_default()
            })
            .collect())
    }
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Decompresses the bzip2 file `argv[1]` into `argv[2]`.
const BUNZIP2: &str = "import bz2, shutil, sys
with bz2.open(sys.argv[1]) as i, open(sys.argv[2], 'wb') as o:
    shutil.copyfileobj(i, o)";

/// snmpsim (the PyPI package, installed by `make setup` into tools/snmpsim) serving
/// recordings that ship inside it; each recording answers to the community of its name.
pub struct Snmpsim {
    child: Child,
    port: u16,
    data: TempDir,
    _cache: TempDir,
}

impl Snmpsim {
    /// The recordings shipped in snmpsim's `data/recorded` folder.
    pub fn recording_path(name: &str) -> PathBuf {
        workspace_root()
            .join("tools/snmpsim/snmpsim/data/recorded")
            .join(format!("{name}.snmprec"))
    }

    /// A recording of the snmpsim-data package (installed with snmpsim), named by its path
    /// under the package's `data` folder without the extension, e.g.
    /// `network/switch/cisco-n5000`: bzip2-compressed.
    pub fn data_recording_path(path: &str) -> PathBuf {
        workspace_root()
            .join("tools/snmpsim/snmpsim_data/data")
            .join(format!("{path}.snmprec.bz2"))
    }

    /// Serves the named recordings (e.g. `linux-full-walk`), waiting until each answers.
    pub fn start(recordings: &[&str]) -> Self {
        let sources: Vec<(&str, PathBuf)> = recordings
            .iter()
            .map(|name| (*name, Self::recording_path(name)))
            .collect();
        Self::serve(&sources)
    }

    /// Serves recordings of the snmpsim-data package (see [`Self::data_recording_path`]),
    /// each decompressed and answering to the community of its file name (`cisco-n5000`
    /// for `network/switch/cisco-n5000`).
    pub fn start_data(paths: &[&str]) -> Self {
        let sources: Vec<(&str, PathBuf)> = paths
            .iter()
            .map(|path| {
                let name = path.rsplit('/').next().unwrap_or(path);
                (name, Self::data_recording_path(path))
            })
            .collect();
        Self::serve(&sources)
    }

    /// Serves each `(community, recording file)`; a `.bz2` file is decompressed first (with
    /// python3's bz2 module: snmpsim needs python3 anyway).
    fn serve(sources: &[(&str, PathBuf)]) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let data = TempDir::new().expect("temp dir");
        let cache = TempDir::new().expect("temp dir");
        // snmpsim drops root privileges: let the unprivileged user read and index.
        std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        for (name, source) in sources {
            let target = data.path().join(format!("{name}.snmprec"));
            if source.extension().is_some_and(|e| e == "bz2") {
                let status = Command::new("python3")
                    .args(["-c", BUNZIP2])
                    .arg(source)
                    .arg(&target)
                    .status()
                    .expect("cannot run python3");
                assert!(
                    status.success(),
                    "recording {} (run `make setup`): cannot decompress",
                    source.display()
                );
            } else {
                std::fs::copy(source, &target)
                    .unwrap_or_else(|e| panic!("recording {name} (run `make setup`): {e}"));
            }
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
        let recordings: Vec<&str> = sources.iter().map(|(name, _)| *name).collect();
        let port = free_udp_port();
        let root = workspace_root();
        let child = Command::new("python3")
            .env("PYTHONPATH", root.join("tools/snmpsim"))
            .arg(root.join("tests/snmpsim/responder.py"))
            .arg(format!("--data-dir={}", data.path().display()))
            .arg(format!("--cache-dir={}", cache.path().display()))
            .args(["--process-user=nobody", "--process-group=nogroup"])
            .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start snmpsim");
        let mut sim = Self {
            child,
            port,
            data,
            _cache: cache,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        for name in recordings {
            while sim.get(name, "1.3.6.1.2.1.1.3.0").is_err() {
                if Instant::now() > deadline || sim.child.try_wait().ok().flatten().is_some() {
                    stop(&mut sim.child);
                    panic!("snmpsim did not serve {name} on port {port}");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        sim
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The recording's lines as (OID, type tag, value) triples.
    pub fn records(&self, name: &str) -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(self.data.path().join(format!("{name}.snmprec")))
            .expect("recording");
        text.lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, '|');
                Some((
                    parts.next()?.to_owned(),
                    parts.next()?.to_owned(),
                    parts.next()?.to_owned(),
                ))
            })
            .collect()
    }

    fn get(&self, community: &str, oid: &str) -> Result<(), String> {
        let out = Command::new("snmpget")
            .env("MIBS", "")
            .args(["-v2c", "-c", community, "-t", "1", "-r", "0"])
            .arg(self.address())
            .arg(oid)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for Snmpsim {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
