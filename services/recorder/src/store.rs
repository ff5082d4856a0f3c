//! History on disk: JSON Lines, one file per device and UTC day.
//!
//! `<data_dir>/devices/<device id>/samples-YYYY-MM-DD.jsonl`, one sample per line, readable
//! with jq. The device id is a checked token, so the path cannot leave `devices/`. Appends are
//! flushed to disk (fsync) before [`SampleStore::append`] returns: the caller acks after it.
//!
//! Crash safety: a crash can leave a torn last line; [`SampleStore::repair`] (run at start)
//! and the first append to a file cut it off. A crash between the write and the ack makes
//! JetStream deliver those samples again: the store remembers the ids of the latest samples
//! of each file (read back from the file on first use) and writes each id once.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netpulse_shared::device::DeviceId;
use netpulse_shared::messages::Sample;
use netpulse_shared::time::utc_date;

/// Sample ids remembered per file: far more than JetStream can redeliver after a crash
/// (its ack wait at the fastest poll interval), and bounded.
pub const REMEMBERED_IDS: usize = 512;

/// The latest ids written to one file, oldest first.
#[derive(Debug, Default)]
struct RecentIds {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl RecentIds {
    fn insert(&mut self, id: &str) {
        if self.set.insert(id.to_owned()) {
            self.order.push_back(id.to_owned());
            while self.order.len() > REMEMBERED_IDS {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// The per-device sample files under a data directory.
#[derive(Debug, Clone)]
pub struct SampleStore {
    root: PathBuf,
    recent: Arc<Mutex<HashMap<PathBuf, RecentIds>>>,
}

/// Cuts a torn last line (one without its newline) off a file. Returns the bytes removed.
pub fn cut_torn_tail(path: &Path) -> std::io::Result<u64> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    // Look back in blocks for the last newline.
    let mut end = len;
    let mut block = vec![0u8; 64 * 1024];
    loop {
        let start = end.saturating_sub(block.len() as u64);
        let size = usize::try_from(end - start).unwrap_or(block.len());
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..size])?;
        if end == len && block[size - 1] == b'\n' {
            return Ok(0);
        }
        if let Some(at) = block[..size].iter().rposition(|b| *b == b'\n') {
            let keep = start + at as u64 + 1;
            file.set_len(keep)?;
            file.sync_data()?;
            return Ok(len - keep);
        }
        if start == 0 {
            file.set_len(0)?;
            file.sync_data()?;
            return Ok(len);
        }
        end = start;
    }
}

impl SampleStore {
    /// A store under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("devices"),
            recent: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Cuts the torn last line of every sample file (after a crash), logging each. Blocking.
    pub fn repair(&self) -> std::io::Result<usize> {
        let mut repaired = 0;
        let Ok(devices) = std::fs::read_dir(&self.root) else {
            return Ok(0);
        };
        for device in devices.flatten() {
            for file in std::fs::read_dir(device.path())?.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "jsonl") {
                    let cut = cut_torn_tail(&path)?;
                    if cut > 0 {
                        tracing::warn!(file = %path.display(), bytes = cut, "cut a torn last line");
                        repaired += 1;
                    }
                }
            }
        }
        Ok(repaired)
    }

    /// The ids of the latest samples in a file (read on first use).
    fn load_recent(path: &Path) -> std::io::Result<RecentIds> {
        let mut recent = RecentIds::default();
        if !path.exists() {
            return Ok(recent);
        }
        let cut = cut_torn_tail(path)?;
        if cut > 0 {
            tracing::warn!(file = %path.display(), bytes = cut, "cut a torn last line");
        }
        // Only the tail matters: the last REMEMBERED_IDS lines fit in it with room to spare.
        const TAIL_BYTES: u64 = 1024 * 1024;
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let start = len.saturating_sub(TAIL_BYTES);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let text = String::from_utf8_lossy(&tail);
        let mut lines: Vec<&str> = text.lines().collect();
        if start > 0 && !lines.is_empty() {
            // The first line is cut where the tail begins.
            lines.remove(0);
        }
        for line in &lines[lines.len().saturating_sub(REMEMBERED_IDS)..] {
            #[derive(serde::Deserialize)]
            struct IdOnly {
                id: String,
            }
            if let Ok(sample) = serde_json::from_str::<IdOnly>(line) {
                recent.insert(&sample.id);
            }
        }
        Ok(recent)
    }

    /// The folder of one device.
    pub fn device_dir(&self, device: &DeviceId) -> PathBuf {
        self.root.join(device.as_str())
    }

    /// The file holding `device`'s samples of the UTC day containing `time_ms`.
    pub fn sample_file(&self, device: &DeviceId, time_ms: u64) -> PathBuf {
        self.device_dir(device)
            .join(format!("samples-{}.jsonl", utc_date(time_ms)))
    }

    /// Every stored sample of `device` with `from_ms <= time < to_ms`, in time order.
    /// Unreadable lines are skipped. Blocking.
    pub fn read_range(
        &self,
        device: &DeviceId,
        from_ms: u64,
        to_ms: u64,
    ) -> std::io::Result<Vec<Sample>> {
        const DAY_MS: u64 = 86_400_000;
        let mut samples = Vec::new();
        let mut day = from_ms - from_ms % DAY_MS;
        while day < to_ms {
            let path = self.sample_file(device, day);
            if let Ok(text) = std::fs::read_to_string(&path) {
                samples.extend(
                    text.lines()
                        .filter_map(|line| serde_json::from_str::<Sample>(line).ok())
                        .filter(|s| s.time_ms >= from_ms && s.time_ms < to_ms),
                );
            }
            day += DAY_MS;
        }
        samples.sort_by_key(|s| s.time_ms);
        Ok(samples)
    }

    /// Appends samples, one JSON line each, skipping ids already written, and syncs every
    /// file touched. Returns how many were written. Blocking.
    pub fn append(&self, samples: &[Sample]) -> std::io::Result<usize> {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut by_file: BTreeMap<PathBuf, (Vec<u8>, Vec<&str>)> = BTreeMap::new();
        let mut written = 0;
        for sample in samples {
            let path = self.sample_file(&sample.device, sample.time_ms);
            if !recent.contains_key(&path) {
                let loaded = Self::load_recent(&path)?;
                recent.insert(path.clone(), loaded);
            }
            let (buffer, ids) = by_file.entry(path.clone()).or_default();
            let seen = recent
                .get(&path)
                .is_some_and(|r| r.set.contains(&sample.id))
                || ids.contains(&sample.id.as_str());
            if seen {
                tracing::debug!(sample = %sample.id, "already stored; skipped");
                continue;
            }
            serde_json::to_writer(&mut *buffer, sample)?;
            buffer.push(b'\n');
            ids.push(&sample.id);
            written += 1;
        }
        for (path, (bytes, ids)) in by_file {
            if bytes.is_empty() {
                continue;
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(&bytes)?;
            file.sync_data()?;
            let remembered = recent.entry(path).or_default();
            for id in ids {
                remembered.insert(id);
            }
        }
        // Files of past days are no longer written: forget their ids.
        if recent.len() > 4 * 1024 {
            let today = utc_date(netpulse_shared::time::now_ms());
            recent.retain(|p, _| p.to_string_lossy().contains(&today));
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_lines_are_cut() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("f.jsonl");
        let cases: [(&[u8], &[u8]); 5] = [
            (b"", b""),
            (b"{\"a\":1}\n", b"{\"a\":1}\n"),
            (b"{\"a\":1}\n{\"b\":", b"{\"a\":1}\n"),
            (b"{\"tor", b""),
            (b"{\"a\":1}\n{\"b\":2}\n{", b"{\"a\":1}\n{\"b\":2}\n"),
        ];
        for (before, after) in cases {
            std::fs::write(&path, before).expect("write");
            cut_torn_tail(&path).expect("cut");
            assert_eq!(std::fs::read(&path).expect("read"), after);
        }
        // A long file whose last newline is more than one block back.
        let mut long = b"{\"a\":1}\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', 200_000));
        std::fs::write(&path, &long).expect("write");
        assert_eq!(cut_torn_tail(&path).expect("cut"), 200_000);
        std::fs::create_dir_all(dir.path().join("devices/d")).expect("dir");
        std::fs::write(
            dir.path().join("devices/d/samples-2025-11-28.jsonl"),
            b"{}\n{",
        )
        .expect("write");
        assert_eq!(SampleStore::new(dir.path()).repair().expect("repair"), 1);
    }
    use netpulse_shared::messages::{SnmpValue, VarBind, SCHEMA_VERSION};

    #[test]
    fn appends_one_line_per_sample_by_day() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SampleStore::new(dir.path());
        let device = DeviceId::parse("core-1").expect("id");
        let sample = |id: &str, time_ms| Sample {
            schema: SCHEMA_VERSION,
            id: id.into(),
            device: device.clone(),
            time_ms,
            uptime_ticks: Some(1),
            values: vec![VarBind {
                oid: netpulse_shared::device::Oid::parse("1.3.6.1.2.1.1.5.0").expect("oid"),
                value: SnmpValue::OctetString("line\nbreak".into()),
            }],
            interfaces: vec![],
        };
        let day = 1_764_288_000_000;
        store
            .append(&[sample("a", day + 5), sample("b", day + 6)])
            .expect("append");
        store.append(&[sample("c", day - 1)]).expect("append");
        // Delivered again (a crash before the ack): written once.
        assert_eq!(store.append(&[sample("b", day + 6)]).expect("append"), 0);
        let restarted = SampleStore::new(dir.path());
        assert_eq!(
            restarted
                .append(&[sample("a", day + 5), sample("d", day + 7)])
                .expect("append"),
            1
        );
        let today =
            std::fs::read_to_string(dir.path().join("devices/core-1/samples-2025-11-28.jsonl"))
                .expect("today");
        let lines: Vec<Sample> = today
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(
            lines.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["a", "b", "d"]
        );
        assert!(dir
            .path()
            .join("devices/core-1/samples-2025-11-27.jsonl")
            .is_file());
    }
}
