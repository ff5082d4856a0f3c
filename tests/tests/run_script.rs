//! `make run`'s script as a user runs it: a service or nats-server killed is started again
//! while the dashboard keeps answering, the stored series of a device polled every second
//! keeps no hole longer than 3 polls and no duplicate through the kills, and Ctrl-C stops
//! everything within 10 s.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netpulse_shared::test_util::{free_tcp_port, free_udp_port};

/// The script, started in a process group of its own (as a terminal's foreground job), with
/// everything it says on its standard error kept.
struct Script {
    child: Child,
    said: Arc<Mutex<Vec<String>>>,
    data_dir: tempfile::TempDir,
    listen: String,
}

impl Script {
    fn start() -> Self {
        use std::os::unix::process::CommandExt;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let bin_dir = netpulse_tests::binary("netpulse-gateway")
            .parent()
            .map(Path::to_path_buf)
            .expect("binaries' folder");
        let data_dir = tempfile::tempdir().expect("data dir");
        let listen = format!("127.0.0.1:{}", free_tcp_port());
        let mut child = Command::new(root.join("scripts/run.sh"))
            .current_dir(&root)
            .env("NETPULSE_BIN_DIR", &bin_dir)
            .env("NETPULSE_DATA_DIR", data_dir.path())
            .env(
                "NETPULSE_NATS__URL",
                format!("nats://127.0.0.1:{}", free_tcp_port()),
            )
            .env("NETPULSE_GATEWAY__LISTEN", &listen)
            .env(
                "NETPULSE_LOGS__SYSLOG_LISTEN",
                format!("127.0.0.1:{}", free_udp_port()),
            )
            .env(
                "NETPULSE_LOGS__TRAP_LISTEN",
                format!("127.0.0.1:{}", free_udp_port()),
            )
            .env("NETPULSE_DEMO", "0")
            .env("NETPULSE_ADMIN_PASSWORD", "run-script-test")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("run.sh");
        let said = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let keeping = said.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                keeping.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        Self {
            child,
            said,
            data_dir,
            listen,
        }
    }

    fn said(&self) -> Vec<String> {
        self.said.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until a line containing `text` was said.
    fn wait_for_line(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.said().iter().any(|l| l.contains(text)) {
            assert!(
                Instant::now() < deadline,
                "no line with {text:?} in {limit:?}: {:#?}",
                self.said()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The processes of this run (their environment names its data folder) running `program`.
    fn pids_of(&self, program: &str) -> Vec<u32> {
        processes_of(self.data_dir.path())
            .into_iter()
            .filter(|(_, exe)| exe.file_name().and_then(|n| n.to_str()) == Some(program))
            .map(|(pid, _)| pid)
            .collect()
    }

    fn healthy(&self) -> bool {
        self.http("GET", "/healthz", None, None)
            .is_some_and(|(status, _)| status == 200)
    }

    /// A request to the gateway: its status and body, `None` when it does not answer.
    fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let address = self.listen.parse().expect("address");
        let mut stream =
            std::net::TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.listen
        );
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = body.unwrap_or_default();
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer.get(9..12)?.parse().ok()?;
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
        Some((status, body))
    }

    /// Kills `program` with SIGKILL; waits until another process runs it (at most 5 s) and
    /// the gateway answers again. How long the new process took to appear.
    fn kill_and_see_it_back(&self, program: &str) -> Duration {
        let before = self.pids_of(program);
        assert_eq!(before.len(), 1, "one {program} runs: {before:?}");
        signal(before[0], "KILL");
        let killed = Instant::now();
        loop {
            let now = self.pids_of(program);
            if now.len() == 1 && now[0] != before[0] {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(5),
                "{program} not running again 5 s after it was killed: {:#?}",
                self.said()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let back = killed.elapsed();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.healthy() {
            assert!(
                Instant::now() < deadline,
                "the gateway does not answer 30 s after {program} was killed"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        back
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        // Whatever a failed test left: the script's group, then anything of this run.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        for (pid, _) in processes_of(self.data_dir.path()) {
            signal(pid, "KILL");
        }
    }
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The sample times stored for `device` in `data_dir`, sorted (duplicates kept).
fn sample_times(data_dir: &Path, device: &str) -> Vec<u64> {
    let mut times = Vec::new();
    let Ok(files) = std::fs::read_dir(data_dir.join("devices").join(device)) else {
        return times;
    };
    for file in files.flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        if !name.starts_with("samples-") {
            continue;
        }
        let text = std::fs::read_to_string(file.path()).unwrap_or_default();
        for line in text.lines() {
            if let Ok(sample) = serde_json::from_str::<serde_json::Value>(line) {
                times.extend(sample["time_ms"].as_u64());
            }
        }
    }
    times.sort_unstable();
    times
}

fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill -{name} {pid}");
}

/// Every process (pid, executable) whose environment has `NETPULSE_DATA_DIR` set to `dir`.
fn processes_of(dir: &Path) -> Vec<(u32, PathBuf)> {
    let wanted = format!("NETPULSE_DATA_DIR={}", dir.display());
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let ours = environ
            .split(|b| *b == 0)
            .any(|var| var == wanted.as_bytes());
        if ours {
            if let Ok(exe) = std::fs::read_link(entry.path().join("exe")) {
                found.push((pid, exe));
            }
        }
    }
    found
}

#[test]
fn a_killed_service_or_nats_server_runs_again_and_ctrl_c_stops_everything() {
    let script = Script::start();
    script.wait_for_line("Ctrl-C stops everything", Duration::from_secs(90));
    assert!(
        script.healthy(),
        "the dashboard answers once the script says so"
    );
    let said = script.said();
    let block = said
        .iter()
        .position(|l| l.contains("netpulse is running"))
        .expect("the block");
    assert!(
        said[block..].iter().any(|l| l.contains("nats-server.log")),
        "the block names nats-server's log: {said:#?}"
    );

    // A device polled every second, on a simulator of its own.
    let sim_port = free_udp_port();
    let _sim = Killed(
        Command::new(netpulse_tests::binary("netpulse-sim"))
            .args(["--devices", "1", "--interfaces", "2", "--base-port"])
            .arg(sim_port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("netpulse-sim"),
    );
    let (status, signed_in) = script
        .http(
            "POST",
            "/api/login",
            None,
            Some(r#"{"username": "admin", "password": "run-script-test"}"#),
        )
        .expect("login answered");
    assert_eq!(status, 200, "{signed_in}");
    let token = serde_json::from_str::<serde_json::Value>(&signed_in).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let device = format!(
        r#"{{"name": "live-1", "address": "127.0.0.1:{sim_port}", "interval": 1, "interfaces": [1, 2]}}"#
    );
    let (status, added) = script
        .http("POST", "/api/devices", Some(&token), Some(&device))
        .expect("add answered");
    assert_eq!(status, 201, "{added}");
    let id = serde_json::from_str::<serde_json::Value>(&added).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let started = Instant::now();
    while sample_times(script.data_dir.path(), &id).len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "live-1 is never stored"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut kills = Vec::new();
    for program in [
        "netpulse-recorder",
        "netpulse-gateway",
        "netpulse-poller",
        "netpulse-scheduler",
        "nats-server",
    ] {
        std::thread::sleep(Duration::from_secs(4));
        let at = netpulse_shared::time::now_ms();
        let back = script.kill_and_see_it_back(program);
        println!("{program} killed: running again after {back:?}");
        kills.push((program, at));
    }
    script.wait_for_line(
        "recorder ended (killed by signal KILL); starting it again in 1 s",
        Duration::from_secs(1),
    );

    // The series through the kills: no duplicate, no hole longer than 3 polls.
    let until = netpulse_shared::time::now_ms() + 6_000;
    while netpulse_shared::time::now_ms() < until {
        std::thread::sleep(Duration::from_millis(200));
    }
    let times = sample_times(script.data_dir.path(), &id);
    let mut unique = times.clone();
    unique.dedup();
    assert_eq!(unique.len(), times.len(), "a sample stored twice");
    let first_kill = kills[0].1;
    let mut widest = (0, 0);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        if pair[1] > first_kill && gap > widest.0 {
            widest = (gap, pair[0]);
        }
    }
    let during = kills
        .iter()
        .rev()
        .find(|(_, at)| *at <= widest.1 + 1_000)
        .map_or("before the kills", |(program, _)| program);
    println!(
        "widest gap in the 1 s series through the kills: {} ms, after killing {during}",
        widest.0
    );
    assert!(
        widest.0 <= 4_000,
        "a hole of {} ms (more than 3 polls) after killing {during}",
        widest.0
    );
    assert!(
        times.last().is_some_and(|t| *t > kills[4].1),
        "stored again after the last kill"
    );

    // Ctrl-C: SIGINT to the script's process group, as a terminal sends it.
    let pid = script.child.id();
    let sent = Command::new("kill")
        .args(["-INT", "--", &format!("-{pid}")])
        .status()
        .expect("kill");
    assert!(sent.success());
    let interrupted = Instant::now();
    let mut script = script;
    loop {
        if script.child.try_wait().expect("wait").is_some() {
            break;
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(10),
            "the script still runs 10 s after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Output filters end as the processes they read do: give them a moment.
    let mut left = processes_of(script.data_dir.path());
    while !left.is_empty() && interrupted.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
        left = processes_of(script.data_dir.path());
    }
    assert!(left.is_empty(), "processes left after Ctrl-C: {left:?}");
    println!("stopped {:?} after Ctrl-C", interrupted.elapsed());
}
