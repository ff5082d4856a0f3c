//! Scraping snmp_exporter the way Prometheus does: every target once per interval at its own
//! offset within it, each scrape bounded by a timeout, over HTTP/1.1 connections that are kept
//! alive and reused. `make bench` uses it to compare snmp_exporter's cost per device poll with
//! netpulse's.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// How long one scrape may take (Prometheus' default `scrape_timeout`).
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Scrapes in flight at most; a scrape that finds none free starts late (and is counted so).
pub const MAX_IN_FLIGHT: usize = 512;

/// What to scrape, and how often.
#[derive(Debug, Clone)]
pub struct ScrapePlan {
    /// snmp_exporter's HTTP address.
    pub exporter: SocketAddr,
    /// The snmp.yml module to ask for.
    pub module: String,
    /// The devices, as `host:port`.
    pub targets: Vec<String>,
    /// Each target's scrape interval.
    pub interval: Duration,
    /// A scrape is good when its answer holds this many `ifHCInOctets` series.
    pub interfaces: usize,
}

/// One scrape's outcome.
#[derive(Debug, Clone, Copy)]
pub struct Scrape {
    /// When it was due, Unix milliseconds.
    pub due_ms: u64,
    /// When the request was sent.
    pub started_ms: u64,
    /// When the answer (or the error) came.
    pub finished_ms: u64,
    /// 200 with every interface's counters in it.
    pub ok: bool,
}

/// Scrapes every target of `plan` once per interval from now until `until`; every scrape
/// started before `until` is waited for.
pub async fn run(plan: ScrapePlan, until: Instant) -> Vec<Scrape> {
    let plan = Arc::new(plan);
    let idle: Arc<Mutex<Vec<Connection>>> = Arc::default();
    let results: Arc<Mutex<Vec<Scrape>>> = Arc::default();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let count = plan.targets.len().max(1) as u32;
    let start = Instant::now();
    let start_ms = netpulse_shared::time::now_ms();
    let mut tasks = Vec::new();
    for k in 0u32.. {
        // Target k % count, in round k / count, at its offset within the interval.
        let offset = plan.interval * (k / count) + plan.interval * (k % count) / count;
        let due = start + offset;
        if due >= until {
            break;
        }
        tokio::time::sleep_until(due).await;
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let (plan, idle, results) = (plan.clone(), idle.clone(), results.clone());
        let due_ms = start_ms + u64::try_from(offset.as_millis()).unwrap_or(0);
        tasks.push(tokio::spawn(async move {
            let target = &plan.targets[(k % count) as usize];
            let started_ms = netpulse_shared::time::now_ms();
            let pooled = idle.lock().expect("pool").pop();
            let answer =
                tokio::time::timeout(SCRAPE_TIMEOUT, scrape_once(pooled, &plan, target, &idle))
                    .await;
            let ok = matches!(answer, Ok(Ok(true)));
            results.lock().expect("results").push(Scrape {
                due_ms,
                started_ms,
                finished_ms: netpulse_shared::time::now_ms(),
                ok,
            });
            drop(permit);
        }));
        tasks.retain(|task| !task.is_finished());
    }
    for task in tasks {
        let _ = task.await;
    }
    let results = results.lock().expect("results").clone();
    results
}

/// One scrape on `pooled` (or a new connection); the connection goes back to `idle` when it
/// can be used again. Whether the answer was good.
async fn scrape_once(
    pooled: Option<Connection>,
    plan: &ScrapePlan,
    target: &str,
    idle: &Mutex<Vec<Connection>>,
) -> std::io::Result<bool> {
    let mut connection = match pooled {
        Some(connection) => connection,
        None => Connection::open(plan.exporter).await?,
    };
    let path = format!("/snmp?target={target}&module={}", plan.module);
    let answer = connection.get(&path).await?;
    let good =
        answer.status == 200 && count_series(&answer.body, b"ifHCInOctets{") == plan.interfaces;
    if answer.keep_alive {
        idle.lock().expect("pool").push(connection);
    }
    Ok(good)
}

/// How many lines of a Prometheus text answer start with `prefix`.
fn count_series(body: &[u8], prefix: &[u8]) -> usize {
    body.split(|b| *b == b'\n')
        .filter(|line| line.starts_with(prefix))
        .count()
}

/// An HTTP answer.
struct Answer {
    status: u16,
    body: Vec<u8>,
    keep_alive: bool,
}

/// A kept-alive HTTP/1.1 connection to the exporter.
struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    async fn open(address: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
            host: address.to_string(),
        })
    }

    /// GET `path`; the body read by Content-Length or de-chunked.
    async fn get(&mut self, path: &str) -> std::io::Result<Answer> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/plain\r\nUser-Agent: netpulse-bench\r\n\r\n",
            self.host
        );
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.read_line(&mut line).await?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("no status line"))?;
        let (mut length, mut chunked, mut keep_alive) = (None, false, true);
        loop {
            self.read_line(&mut line).await?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim().to_ascii_lowercase();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => keep_alive = value != "close",
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                self.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| invalid("bad chunk size"))?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    loop {
                        self.read_line(&mut line).await?;
                        if line.is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.stream.read_exact(&mut body[start..]).await?;
                self.read_line(&mut line).await?;
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            self.stream.read_exact(&mut body).await?;
        } else {
            self.stream.read_to_end(&mut body).await?;
            keep_alive = false;
        }
        Ok(Answer {
            status,
            body,
            keep_alive,
        })
    }

    /// The next line without its line ending; an error at the end of the stream.
    async fn read_line(&mut self, line: &mut String) -> std::io::Result<()> {
        line.clear();
        if self.stream.read_line(line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let trimmed = line.trim_end_matches(['\r', '\n']).len();
        line.truncate(trimmed);
        Ok(())
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::count_series;

    #[test]
    fn series_are_counted_by_line_prefix() {
        let body = b"# HELP ifHCInOctets x\nifHCInOctets{ifIndex=\"1\"} 5\nifHCInOctets{ifIndex=\"2\"} 6\nifHCOutOctets{ifIndex=\"1\"} 1\n";
        assert_eq!(count_series(body, b"ifHCInOctets{"), 2);
    }
}
