//! What the `make bench-*` programs share: running release binaries and reading their CPU
//! time and peak memory from /proc.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub mod scrape;

/// A child process killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A release binary of the workspace.
pub fn release_binary(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join("target/release").join(name)
}

/// Starts a release binary with arguments and environment; its log goes to stderr.
pub fn start(name: &str, args: &[String], env: &[(&str, &str)]) -> Running {
    let mut command = Command::new(release_binary(name));
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let child = command.spawn().unwrap_or_else(|e| {
        panic!("cannot start {name} (build with `cargo build --release`): {e}")
    });
    Running(child)
}

/// (user + system CPU seconds, peak RSS in KiB) of a process, from /proc.
pub fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    (cpu, memory_kib(pid, "VmHWM:"))
}

/// A memory figure of a process in KiB (`field` of /proc/<pid>/status); 0 once it is gone.
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The number after the command-line flag `name`, else `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The value at quantile `p` (0.0..=1.0) of sorted figures, by rank; 0 when there are none.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// (busy, total) CPU time of the whole machine in clock ticks, from /proc/stat: the share
/// busy over a run tells whether the machine itself was the limit.
pub fn machine_cpu() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    // idle and iowait are the 4th and 5th figures.
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// The pid of a child of this process by its program name (as /proc shows it, at most 15
/// bytes), for a process started by a helper that keeps its `Child` to itself.
pub fn child_named(name: &str) -> Option<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            // After the name: state, then the parent's pid.
            let parent = rest.split_whitespace().nth(1)?;
            (comm == name && parent == me).then_some(pid)
        })
}

/// Prints `why` and `usage` and exits with status 2 (a bad command line).
pub fn usage_error(why: &str, usage: &str) -> ! {
    eprintln!("{why}\n{usage}");
    std::process::exit(2)
}

/// Checks the command line: `--flag value` pairs, each flag one of `numbers` followed by a
/// whole number, or one of `words` followed by one of its words. Otherwise exits through
/// [`usage_error`], naming the flag at fault. [`arg`] and [`arg_word`] then read the values.
pub fn check_flags(numbers: &[&str], words: &[(&str, &[&str])], usage: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let flag = pair[0].as_str();
        let Some(value) = pair.get(1) else {
            usage_error(&format!("{flag} needs a value"), usage)
        };
        if numbers.contains(&flag) {
            if value.parse::<u64>().is_err() {
                usage_error(&format!("{flag} takes a whole number, not {value}"), usage)
            }
        } else if let Some((_, allowed)) = words.iter().find(|(name, _)| *name == flag) {
            if !allowed.contains(&value.as_str()) {
                let choices = allowed.join(", ");
                usage_error(
                    &format!("{flag} takes one of {choices}, not {value}"),
                    usage,
                )
            }
        } else {
            usage_error(&format!("unknown flag {flag}"), usage)
        }
    }
}

/// The word after the command-line flag `name`, else `default`.
pub fn arg_word(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

/// The current resident memory of a process in KiB (VmRSS), from /proc; 0 once it is gone.
pub fn rss(pid: u32) -> u64 {
    memory_kib(pid, "VmRSS:")
}

/// The value of the unlabelled series `name` in the gateway's `GET /metrics`, read with a
/// bearer token; `None` when the answer has no such series.
pub async fn gateway_metric(address: std::net::SocketAddr, token: &str, name: &str) -> Option<f64> {
    let bearer = format!("Bearer {token}");
    let answer = crate::http(
        address,
        "GET",
        "/metrics",
        None,
        &[("authorization", &bearer)],
    )
    .await;
    answer
        .text()
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// Delays in whole milliseconds, counted by value and shared between tasks, so that millions
/// of them cost no memory; those over about a minute count in the last bucket (the maximum
/// is kept exactly).
pub struct Delays {
    counts: Vec<std::sync::atomic::AtomicU64>,
    max: std::sync::atomic::AtomicU64,
}

impl Default for Delays {
    fn default() -> Self {
        Self {
            counts: (0..65_536).map(|_| Default::default()).collect(),
            max: Default::default(),
        }
    }
}

impl Delays {
    /// Counts one delay.
    pub fn record(&self, ms: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let last = self.counts.len() - 1;
        let bucket = usize::try_from(ms).map_or(last, |ms| ms.min(last));
        self.counts[bucket].fetch_add(1, Relaxed);
        self.max.fetch_max(ms, Relaxed);
    }

    /// How many were counted.
    pub fn count(&self) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        self.counts.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// The longest.
    pub fn max(&self) -> u64 {
        self.max.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The delay at quantile `p` (0.0..=1.0), by rank; 0 when there are none.
    pub fn percentile(&self, p: f64) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        let rank = ((self.count() as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (ms, count) in self.counts.iter().enumerate() {
            seen += count.load(Relaxed);
            if seen >= rank {
                return ms as u64;
            }
        }
        0
    }
}

/// (total, largest) bytes that the IPv4 TCP connections on local port `port` hold sent but
/// not yet acknowledged, from /proc/net/tcp (`tx_queue`): kernel memory a process's RSS does
/// not show, such as what a server has queued for clients that do not read.
pub fn send_queues(port: u16) -> (u64, u64) {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let port = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Local address, remote address, state (0A: listening), tx_queue:rx_queue. Closed
            // connections count too while the kernel still holds what they sent.
            let (local, state, queues) = (fields.get(1)?, fields.get(3)?, fields.get(4)?);
            if !local.ends_with(&port) || *state == "0A" {
                return None;
            }
            u64::from_str_radix(queues.split(':').next()?, 16).ok()
        })
        .fold((0, 0), |(total, largest), queued| {
            (total + queued, largest.max(queued))
        })
}
