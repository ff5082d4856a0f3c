//! Each device's timeline on disk: `<data_dir>/devices/<id>/logs-YYYY-MM-DD.jsonl`, one
//! [`LogEntry`] per line, with the same rules as samples: synced before the ack, each id
//! written once, torn last lines cut, whole files deleted after `recorder.log_retention`.
//!
//! Entries come from the logs stream (syslog and traps from netpulse-logs, reachability
//! transitions from the scheduler) and from the events stream (device changes in the audit
//! log).

use std::path::{Path, PathBuf};

use netpulse_shared::device::DeviceId;
use netpulse_shared::logs::{LogAnswer, LogCursor, LogEntry, LogKind, LogQuery, Severity};
use netpulse_shared::messages::{Reachability, ReachabilityChanged};
use netpulse_shared::time::{date_span, utc_date};

use crate::files::{cut_torn_tail, Line, OnceWriter, StreamSeq};
use crate::store::SampleStore;

/// The timeline files under a data directory.
#[derive(Debug, Clone)]
pub struct LogStore {
    root: PathBuf,
    written: OnceWriter,
}

/// The span of a `logs-YYYY-MM-DD.jsonl` file name.
fn log_file_span(name: &str) -> Option<(u64, u64)> {
    let date = name.strip_prefix("logs-")?.strip_suffix(".jsonl")?;
    date_span(date).filter(|(start, _)| utc_date(*start) == date)
}

/// Deletes the timeline files of one device folder older than `kept_ms`. Returns how many.
pub fn sweep_logs(dir: &Path, now_ms: u64, kept_ms: u64) -> std::io::Result<usize> {
    let mut deleted = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let expired = entry
            .file_name()
            .to_str()
            .and_then(log_file_span)
            .is_some_and(|(_, end)| end <= now_ms.saturating_sub(kept_ms));
        if expired {
            std::fs::remove_file(entry.path())?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The entry of a reachability transition.
pub fn status_entry(change: &ReachabilityChanged, sequence: u64) -> LogEntry {
    let (severity, message) = match change.state {
        Reachability::Down => (Severity::Error, format!("device down: {}", change.reason)),
        Reachability::Up => (Severity::Notice, "device up".to_owned()),
        Reachability::Unknown => (Severity::Info, "reachability unknown".to_owned()),
    };
    netpulse_entry(
        format!("status-{sequence:016}"),
        change.device.clone(),
        change.time_ms,
        LogKind::Status,
        severity,
        message,
    )
}

/// The timeline entry of an alert's transition, for those worth a line: it fired, flaps, was
/// acknowledged or silenced, or resolved after firing (not pending ones, nor deliveries).
pub fn alert_entry(event: &netpulse_shared::alert::AlertEvent, sequence: u64) -> Option<LogEntry> {
    use netpulse_shared::alert::Severity as AlertSeverity;
    let alert = &event.alert;
    let severity = match (event.event.as_str(), alert.severity) {
        ("resolved", _) => Severity::Notice,
        (_, AlertSeverity::Critical) => Severity::Critical,
        (_, AlertSeverity::Warning) => Severity::Warning,
        (_, AlertSeverity::Info) => Severity::Info,
    };
    let message = match event.event.as_str() {
        "firing" | "flapping" | "silenced" => {
            format!(
                "alert {}: {}: {}",
                event.event, alert.rule_name, alert.summary
            )
        }
        "resolved" if alert.fired_ms.is_some() => {
            format!("alert resolved: {}: {}", alert.rule_name, alert.summary)
        }
        "acked" => format!(
            "alert acknowledged by {}: {}{}",
            alert.acked_by.as_deref().unwrap_or("someone"),
            alert.rule_name,
            alert
                .ack_comment
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
        _ => return None,
    };
    Some(netpulse_entry(
        format!("alert-{sequence:016}"),
        alert.device.clone(),
        event.time_ms,
        LogKind::Alert,
        severity,
        message,
    ))
}

/// The entry of a device change in the audit log (`device.*` actions), if it is one.
pub fn config_entry(event: &serde_json::Value, sequence: u64) -> Option<LogEntry> {
    let action = event["action"].as_str()?;
    let what = action.strip_prefix("device.")?;
    let device = DeviceId::parse(event["target"].as_str()?).ok()?;
    let actor = event["actor"].as_str().unwrap_or("someone");
    let outcome = event["outcome"].as_str().unwrap_or("");
    let time_ms = event["time_ms"].as_u64()?;
    let verb = match what {
        "add" => "added",
        "update" => "changed",
        "delete" => "deleted",
        "discover" => "asked to discover",
        other => other,
    };
    let (severity, message) = if outcome.starts_with("ok") || outcome == "requested" {
        (Severity::Notice, format!("{actor} {verb} the device"))
    } else {
        (
            Severity::Warning,
            format!("{actor} was refused to {what} the device: {outcome}"),
        )
    };
    Some(netpulse_entry(
        format!("config-{sequence:016}"),
        device,
        time_ms,
        LogKind::Config,
        severity,
        message,
    ))
}

fn netpulse_entry(
    id: String,
    device: DeviceId,
    time_ms: u64,
    kind: LogKind,
    severity: Severity,
    message: String,
) -> LogEntry {
    LogEntry {
        app: Some("netpulse".into()),
        ..LogEntry::new(id, device, time_ms, time_ms, kind, severity, message)
    }
}

impl LogStore {
    /// A store under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("devices"),
            written: OnceWriter::default(),
        }
    }

    fn file(&self, device: &DeviceId, time_ms: u64) -> PathBuf {
        self.root
            .join(device.as_str())
            .join(format!("logs-{}.jsonl", utc_date(time_ms)))
    }

    /// Cuts torn last lines of every timeline file (after a crash). Blocking.
    pub fn repair(&self, samples: &SampleStore) -> std::io::Result<usize> {
        let mut repaired = 0;
        for (_, dir) in samples.device_dirs()? {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                let is_log = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(log_file_span)
                    .is_some();
                if is_log && cut_torn_tail(&path)? > 0 {
                    tracing::warn!(file = %path.display(), "cut a torn last line");
                    repaired += 1;
                }
            }
        }
        Ok(repaired)
    }

    /// Appends entries of unknown stream sequence (each checked): see
    /// [`LogStore::append_sequenced`].
    pub fn append(&self, entries: &[LogEntry]) -> std::io::Result<usize> {
        self.append_sequenced(entries, |_| 0)
    }

    /// Appends entries, each id once (`seq` gives each one's stream sequence by position, see
    /// `OnceWriter`), and syncs every file touched. Entries of devices whose history
    /// was deleted are dropped by the caller. Returns how many were written. Blocking.
    pub fn append_sequenced(
        &self,
        entries: &[LogEntry],
        seq: impl Fn(usize) -> StreamSeq,
    ) -> std::io::Result<usize> {
        let lines: Vec<Line<'_, LogEntry>> = entries
            .iter()
            .enumerate()
            .map(|(n, e)| Line {
                path: self.file(&e.device, e.time_ms),
                id: e.id.as_str(),
                value: e,
                seq: seq(n),
                raw: None,
            })
            .collect();
        Ok(self.written.append(&lines)?.len())
    }

    /// Answers a log query: newest first, at most `limit`, filtered. Reads day files from
    /// the newest back and stops once it has enough. Blocking.
    pub fn query(&self, query: &LogQuery) -> std::io::Result<LogAnswer> {
        let limit = query.limit.clamp(1, netpulse_shared::logs::MAX_LOG_LIMIT);
        let dir = self.root.join(query.device.as_str());
        // The days that have files, newest first.
        let mut days: Vec<(u64, PathBuf)> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .filter_map(|e| {
                    let (start, end) = e.file_name().to_str().and_then(log_file_span)?;
                    (end > query.from_ms && start < query.to_ms).then(|| (start, e.path()))
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        days.sort_by_key(|d| std::cmp::Reverse(d.0));
        let mut found: Vec<LogEntry> = Vec::new();
        let mut more = false;
        for (index, (_, path)) in days.iter().enumerate() {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            found.extend(
                text.lines()
                    .filter_map(|l| serde_json::from_str::<LogEntry>(l).ok())
                    .filter(|e| e.time_ms >= query.from_ms && e.time_ms < query.to_ms)
                    .filter(|e| query.before.as_ref().is_none_or(|c| c.precedes(e)))
                    .filter(|e| e.matches(query.severity, query.q.as_deref())),
            );
            if found.len() > limit {
                more = true;
                break;
            }
            if found.len() == limit && index + 1 < days.len() {
                more = true;
                break;
            }
        }
        found.sort_by(|a, b| b.time_ms.cmp(&a.time_ms).then_with(|| b.id.cmp(&a.id)));
        found.truncate(limit);
        let next = if more {
            found.last().map(LogCursor::of)
        } else {
            None
        };
        Ok(LogAnswer::Entries {
            entries: found,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::messages::SCHEMA_VERSION;

    const NOW: u64 = 1_795_871_000_000;

    fn entry(id: &str, time_ms: u64, severity: Severity, message: &str) -> LogEntry {
        let mut e = netpulse_entry(
            id.into(),
            DeviceId::parse("core-1").expect("id"),
            time_ms,
            LogKind::Syslog,
            severity,
            message.into(),
        );
        e.app = Some("sshd".into());
        e
    }

    #[test]
    fn entries_are_stored_once_and_read_newest_first_with_filters() {
        let dir = tempfile::tempdir().expect("dir");
        let store = LogStore::new(dir.path());
        let day = 86_400_000;
        let entries = vec![
            entry("a", NOW - 2 * day, Severity::Info, "old news"),
            entry("b", NOW - 10, Severity::Error, "link eth0 down"),
            entry("c", NOW - 5, Severity::Debug, "chatter"),
            entry("d", NOW, Severity::Warning, "Link eth1 flapping"),
        ];
        assert_eq!(store.append(&entries).expect("append"), 4);
        // Delivered again after a crash, and read by a restarted recorder: written once.
        assert_eq!(
            LogStore::new(dir.path())
                .append(&entries[1..])
                .expect("again"),
            0
        );
        let ask = |severity, q: Option<&str>, limit, before: Option<LogCursor>| {
            let answer = store
                .query(&LogQuery {
                    schema: SCHEMA_VERSION,
                    device: DeviceId::parse("core-1").expect("id"),
                    from_ms: 0,
                    to_ms: NOW + 1,
                    severity,
                    q: q.map(str::to_owned),
                    limit,
                    before,
                })
                .expect("query");
            let LogAnswer::Entries { entries, next } = answer else {
                panic!("failed")
            };
            (entries.into_iter().map(|e| e.id).collect::<Vec<_>>(), next)
        };
        assert_eq!(
            ask(None, None, 10, None),
            (vec!["d".into(), "c".into(), "b".into(), "a".into()], None)
        );
        assert_eq!(ask(Some(Severity::Warning), None, 10, None).0, ["d", "b"]);
        assert_eq!(ask(None, Some("LINK"), 10, None).0, ["d", "b"]);
        let (first, next) = ask(None, Some("sshd"), 1, None);
        assert_eq!(first, ["d"]);
        assert_eq!(ask(None, None, 2, next).0, ["c", "b"], "the next page");
        // Many entries in one millisecond: paging by cursor loses none.
        let burst: Vec<LogEntry> = (0..25)
            .map(|n| entry(&format!("burst-{n:03}"), NOW - 1, Severity::Info, "burst"))
            .collect();
        store.append(&burst).expect("append");
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = ask(None, Some("burst"), 7, cursor);
            seen.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut expected: Vec<String> = burst.iter().map(|e| e.id.clone()).collect();
        expected.reverse();
        assert_eq!(seen, expected);
        let status = status_entry(
            &ReachabilityChanged {
                schema: SCHEMA_VERSION,
                device: DeviceId::parse("core-1").expect("id"),
                state: Reachability::Down,
                previous: Reachability::Up,
                time_ms: NOW,
                reason: "timeout".into(),
                consecutive_failures: 3,
            },
            7,
        );
        assert_eq!(
            (status.kind, status.severity, status.message.as_str()),
            (LogKind::Status, Severity::Error, "device down: timeout")
        );
        let config = config_entry(
            &serde_json::json!({"action": "device.update", "target": "core-1", "actor": "ann", "outcome": "ok", "time_ms": NOW}),
            8,
        )
        .expect("a device change");
        assert_eq!(config.message, "ann changed the device");
        assert!(config_entry(
            &serde_json::json!({"action": "login", "target": "ann", "time_ms": NOW}),
            9
        )
        .is_none());
        // Retention deletes whole expired days.
        let folder = dir.path().join("devices/core-1");
        assert_eq!(sweep_logs(&folder, NOW, day).expect("sweep"), 1);
    }
}
