//! History on disk: JSON Lines per device, readable with jq.
//!
//! Under `<data_dir>/devices/<device id>/`:
//! - `samples-YYYY-MM-DD.jsonl`: every sample of one UTC day, one per line;
//! - `rollup-1m-YYYY-MM-DD.jsonl`, `rollup-5m-YYYY-MM.jsonl`, `rollup-1h-YYYY-MM.jsonl`: one
//!   line per period with each interface's min/avg/max rate and count, its errors and
//!   discards per second, and each numeric extra OID's min/avg/max (see
//!   [`crate::roller`]); lines written before errors and OIDs were rolled up lack
//!   them and read as they are;
//!
//! The device id is a checked token, so no path leaves `devices/`. Appends are flushed to
//! disk before [`SampleStore::append`] returns (each file synced, or the file system at once
//! for a batch of many files): the caller acks after it.
//!
//! Crash safety: a crash can leave a torn last line; [`SampleStore::repair`] (run at start)
//! and the first append to a file cut it off. A crash between the write and the ack makes
//! JetStream deliver those samples again: a sample whose stream sequence is not above the
//! highest written to its file (and the first ones for each file after a start) is checked
//! against the ids at the end of the file, read back then, so each id is written once while
//! one number is kept per file (see [`OnceWriter`]). Rollups are
//! derived from the samples: a period still open at a crash is rebuilt from the sample files
//! when the device's next sample arrives.
//!
//! Retention ([`SampleStore::sweep`]) deletes whole files once all they cover is older than
//! the resolution's retention.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netpulse_shared::device::DeviceId;
use netpulse_shared::history::Resolution;
use netpulse_shared::messages::Sample;
use netpulse_shared::time::{date_span, utc_date, utc_month};

use crate::files::{
    append, cut_torn_tail, read_tail, sync, write_atomically, Line, OnceWriter, StreamSeq,
};
use crate::roller::RollupLine;
use crate::rollups::{DeviceRollup, Rollups};
use crate::series::Kept;

/// The per-device history files under a data directory.
#[derive(Debug, Clone)]
pub struct SampleStore {
    root: PathBuf,
    purged_dir: PathBuf,
    /// Held by everything that writes or deletes files, so a sweep never removes a folder
    /// being written.
    writing: Arc<Mutex<()>>,
    written: OnceWriter,
    rollups: Arc<Mutex<Rollups>>,
    /// Devices whose history was deleted: their samples up to this time are dropped.
    purged: Arc<Mutex<Option<HashMap<DeviceId, u64>>>>,
}

/// Samples of a purged device that arrive this long after the purge are still dropped (a
/// poll in flight when the device was deleted).
pub const PURGE_GRACE_MS: u64 = 120_000;

/// A device that sent nothing for this long has its open rollup periods written.
pub const IDLE_CLOSE_MS: u64 = 10 * 60_000;

/// A sample as it came from the stream, for [`SampleStore::append_incoming`].
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The sample, parsed.
    pub sample: &'a Sample,
    /// Its sequence in the samples stream (0: unknown).
    pub seq: StreamSeq,
    /// The message it was parsed from, stored as is when it is one line.
    pub raw: Option<&'a [u8]>,
}

/// A rollup period closed for a device, to be written.
type Closed = (DeviceId, Resolution, RollupLine);

/// The file name of the history file of `resolution` covering `time_ms`.
pub fn file_name(resolution: Resolution, time_ms: u64) -> String {
    match resolution {
        Resolution::Raw => format!("samples-{}.jsonl", utc_date(time_ms)),
        Resolution::Minute => format!("rollup-1m-{}.jsonl", utc_date(time_ms)),
        other => format!("rollup-{}-{}.jsonl", other.name(), utc_month(time_ms)),
    }
}

/// What a history file name holds and the time span it covers; `None` for other files.
pub fn parse_file_name(name: &str) -> Option<(Resolution, u64, u64)> {
    let stem = name.strip_suffix(".jsonl")?;
    let (resolution, date) = match stem.strip_prefix("samples-") {
        Some(date) => (Resolution::Raw, date),
        None => {
            let rest = stem.strip_prefix("rollup-")?;
            let (res, date) = rest.split_once('-')?;
            (
                Resolution::parse(res).filter(|r| *r != Resolution::Raw)?,
                date,
            )
        }
    };
    let (start, end) = date_span(date)?;
    (file_name(resolution, start) == name).then_some((resolution, start, end))
}

impl SampleStore {
    /// A store under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("devices"),
            purged_dir: data_dir.join("purged"),
            writing: Arc::new(Mutex::new(())),
            written: OnceWriter::default(),
            rollups: Arc::new(Mutex::new(Rollups::default())),
            purged: Arc::new(Mutex::new(None)),
        }
    }

    /// Cuts the torn last line of every history file (after a crash), logging each. Blocking.
    pub fn repair(&self) -> std::io::Result<usize> {
        let mut repaired = 0;
        for (_, dir) in self.device_dirs()? {
            for path in Self::history_files(&dir)?.into_iter().map(|(p, ..)| p) {
                let cut = cut_torn_tail(&path)?;
                if cut > 0 {
                    tracing::warn!(file = %path.display(), bytes = cut, "cut a torn last line");
                    repaired += 1;
                }
            }
        }
        Ok(repaired)
    }

    fn lock_writes(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every device folder: its id and path.
    pub(crate) fn device_dirs(&self) -> std::io::Result<Vec<(DeviceId, PathBuf)>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut dirs = Vec::new();
        for entry in entries {
            let entry = entry?;
            let id = entry
                .file_name()
                .to_str()
                .and_then(|n| DeviceId::parse(n).ok());
            if let (Some(id), true) = (id, entry.file_type()?.is_dir()) {
                dirs.push((id, entry.path()));
            }
        }
        Ok(dirs)
    }

    /// The history files of a device folder, each with what it holds and the span it covers.
    fn history_files(dir: &Path) -> std::io::Result<Vec<(PathBuf, Resolution, u64, u64)>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry?;
            if let Some((res, start, end)) = entry.file_name().to_str().and_then(parse_file_name) {
                files.push((entry.path(), res, start, end));
            }
        }
        files.sort_by_key(|f| f.2);
        Ok(files)
    }

    /// The folder of one device.
    pub fn device_dir(&self, device: &DeviceId) -> PathBuf {
        self.root.join(device.as_str())
    }

    /// The file holding `device`'s samples of the UTC day containing `time_ms`.
    pub fn sample_file(&self, device: &DeviceId, time_ms: u64) -> PathBuf {
        self.device_dir(device)
            .join(file_name(Resolution::Raw, time_ms))
    }

    /// The lines of `device`'s files of `resolution` whose time (by `time_of`) is in
    /// `[from_ms, to_ms)`, parsed (unreadable lines skipped), in time order. Blocking.
    fn read_lines<T: serde::de::DeserializeOwned>(
        &self,
        device: &DeviceId,
        resolution: Resolution,
        (from_ms, to_ms): (u64, u64),
        time_of: fn(&T) -> u64,
    ) -> std::io::Result<Vec<T>> {
        let mut out = Vec::new();
        for (path, res, start, end) in Self::history_files(&self.device_dir(device))? {
            if res != resolution || end <= from_ms || start >= to_ms {
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(text) => out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        out.retain(|line| (from_ms..to_ms).contains(&time_of(line)));
        out.sort_by_key(time_of);
        Ok(out)
    }

    /// Every stored sample of `device` with `from_ms <= time < to_ms`, in time order.
    /// Unreadable lines are skipped. Blocking.
    pub fn read_range(
        &self,
        device: &DeviceId,
        from_ms: u64,
        to_ms: u64,
    ) -> std::io::Result<Vec<Sample>> {
        self.read_lines(device, Resolution::Raw, (from_ms, to_ms), |s: &Sample| {
            s.time_ms
        })
    }

    /// The rollup periods of `device` at `resolution` starting in `[from_ms, to_ms)`, in time
    /// order. Blocking.
    pub fn read_rollups(
        &self,
        device: &DeviceId,
        resolution: Resolution,
        from_ms: u64,
        to_ms: u64,
    ) -> std::io::Result<Vec<RollupLine>> {
        self.read_lines(device, resolution, (from_ms, to_ms), |l: &RollupLine| {
            l.time_ms
        })
    }

    /// The end of the last rollup period of `resolution` written for `device`, if any.
    pub fn rollups_done_until(
        &self,
        device: &DeviceId,
        resolution: Resolution,
    ) -> std::io::Result<Option<u64>> {
        let files = Self::history_files(&self.device_dir(device))?;
        for (path, ..) in files.iter().rev().filter(|f| f.1 == resolution) {
            let last = read_tail(path)?
                .unwrap_or_default()
                .iter()
                .rev()
                .find_map(|l| serde_json::from_str::<RollupLine>(l).ok());
            if let Some(line) = last {
                return Ok(Some(line.time_ms + line.step_ms));
            }
        }
        Ok(None)
    }

    /// Appends samples of unknown stream sequence (each checked): see
    /// [`SampleStore::append_incoming`].
    pub fn append(&self, samples: &[Sample]) -> std::io::Result<usize> {
        self.append_sequenced(samples, |_| 0)
    }

    /// Appends samples, `seq` giving each one's stream sequence by position: see
    /// [`SampleStore::append_incoming`].
    pub fn append_sequenced(
        &self,
        samples: &[Sample],
        seq: impl Fn(usize) -> StreamSeq,
    ) -> std::io::Result<usize> {
        let incoming: Vec<Incoming<'_>> = samples
            .iter()
            .enumerate()
            .map(|(n, sample)| Incoming {
                sample,
                seq: seq(n),
                raw: None,
            })
            .collect();
        self.append_incoming(&incoming)
    }

    /// Appends samples, one JSON line each (as they came, when that is one line), skipping
    /// ids already written and samples of purged devices, syncs every file touched, then
    /// rolls the new samples up (writing and syncing every period they close). Returns how
    /// many samples were written. Blocking.
    pub fn append_incoming(&self, incoming: &[Incoming<'_>]) -> std::io::Result<usize> {
        let _writing = self.lock_writes();
        let purged = self.purged_devices()?;
        let kept: Vec<&Incoming<'_>> = incoming
            .iter()
            .filter(|Incoming { sample, .. }| {
                let dropped = purged
                    .get(&sample.device)
                    .is_some_and(|at| sample.time_ms <= at + PURGE_GRACE_MS);
                if dropped {
                    tracing::debug!(sample = %sample.id, "device history deleted; sample dropped");
                }
                !dropped
            })
            .collect();
        let lines: Vec<Line<'_, Sample>> = kept
            .iter()
            .map(|i| Line {
                path: self.sample_file(&i.sample.device, i.sample.time_ms),
                id: i.sample.id.as_str(),
                value: i.sample,
                seq: i.seq,
                raw: i.raw.filter(|raw| !raw.contains(&b'\n')),
            })
            .collect();
        let new_samples: Vec<&Sample> = self
            .written
            .append(&lines)?
            .into_iter()
            .map(|n| kept[n].sample)
            .collect();
        let written = new_samples.len();
        self.roll_up(&new_samples)?;
        Ok(written)
    }

    /// Feeds newly stored samples to the rollups and writes the periods they close.
    fn roll_up(&self, samples: &[&Sample]) -> std::io::Result<()> {
        let mut rollups = self
            .rollups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = netpulse_shared::time::now_ms();
        let mut closed = Vec::new();
        for sample in samples {
            if !rollups.knows(&sample.device) {
                let (state, replayed) = self.replay(&sample.device)?;
                rollups.insert(sample.device.clone(), state);
                closed.extend(replayed);
            }
            closed.extend(rollups.feed(sample, now));
        }
        drop(rollups);
        self.write_rollups(&closed)
    }

    /// Rebuilds a device's rollup state from its files: the periods already written, and
    /// the samples since (which include the batch just stored). Returns it with the periods
    /// those samples complete, still to be written.
    fn replay(&self, device: &DeviceId) -> std::io::Result<(DeviceRollup, Vec<Closed>)> {
        let mut done = [0u64; 3];
        for (slot, res) in done.iter_mut().zip(Resolution::ROLLUPS) {
            *slot = self.rollups_done_until(device, res)?.unwrap_or(0);
        }
        let mut state = DeviceRollup::new(done);
        // The sample before the first open period gives its first rate.
        let from = done
            .iter()
            .min()
            .copied()
            .unwrap_or(0)
            .saturating_sub(3_600_000);
        let mut closed = Vec::new();
        for sample in self.read_range(device, from, u64::MAX)? {
            closed.extend(
                state
                    .feed(&sample)
                    .into_iter()
                    .map(|(res, line)| (device.clone(), res, line)),
            );
        }
        Ok((state, closed))
    }

    /// Writes closed rollup periods, each to its file, and syncs them.
    fn write_rollups(&self, closed: &[Closed]) -> std::io::Result<()> {
        let mut by_file: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        for (device, res, line) in closed {
            let path = self.device_dir(device).join(file_name(*res, line.time_ms));
            let buffer = by_file.entry(path).or_default();
            serde_json::to_writer(&mut *buffer, line)?;
            buffer.push(b'\n');
        }
        for (path, bytes) in &by_file {
            append(path, bytes)?;
        }
        sync(&by_file.keys().map(PathBuf::as_path).collect::<Vec<_>>())
    }

    /// Writes the open rollup periods of devices that sent nothing for [`IDLE_CLOSE_MS`]
    /// (deleted, or no longer polled). Blocking.
    pub fn close_idle(&self, now_ms: u64) -> std::io::Result<usize> {
        let _writing = self.lock_writes();
        let closed = self
            .rollups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .close_idle(now_ms, IDLE_CLOSE_MS);
        self.write_rollups(&closed)?;
        Ok(closed.len())
    }

    /// Deletes every history file whose whole span is older than its resolution's
    /// retention, what `also` deletes in each device folder (its expired timeline files), and
    /// device folders left without history. Returns the files deleted. Blocking.
    pub fn sweep(
        &self,
        now_ms: u64,
        kept: &Kept,
        also: impl Fn(&Path) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        let _writing = self.lock_writes();
        let mut deleted = 0;
        for (device, dir) in self.device_dirs()? {
            for (path, res, _, end) in Self::history_files(&dir)? {
                if end <= now_ms.saturating_sub(kept.of(res)) {
                    std::fs::remove_file(&path)?;
                    tracing::info!(file = %path.display(), "expired history deleted");
                    deleted += 1;
                }
            }
            deleted += also(&dir)?;
            let empty = std::fs::read_dir(&dir)?.next().is_none();
            if empty && !self.rollups_open(&device) {
                std::fs::remove_dir(&dir)?;
                tracing::info!(device = %device, "no history left; folder removed");
            }
        }
        // Tombstones outlive any sample still waiting in the stream.
        if let Ok(entries) = std::fs::read_dir(&self.purged_dir) {
            let mut purged = self.purged_devices()?;
            for entry in entries.flatten() {
                let id = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| DeviceId::parse(n).ok());
                if let Some(id) = id {
                    if purged
                        .get(&id)
                        .is_some_and(|at| *at + kept.raw_ms.max(PURGE_GRACE_MS) < now_ms)
                    {
                        std::fs::remove_file(entry.path())?;
                        purged.remove(&id);
                    }
                }
            }
            *self
                .purged
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(purged);
        }
        Ok(deleted)
    }

    /// True when `device`'s history was deleted after `time_ms` (so what was sent then is
    /// dropped).
    pub fn purged_after(&self, device: &DeviceId, time_ms: u64) -> std::io::Result<bool> {
        Ok(self
            .purged_devices()?
            .get(device)
            .is_some_and(|at| time_ms <= at + PURGE_GRACE_MS))
    }

    fn rollups_open(&self, device: &DeviceId) -> bool {
        self.rollups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .knows(device)
    }

    /// Devices whose history was deleted, and when (read from disk on first use).
    fn purged_devices(&self) -> std::io::Result<HashMap<DeviceId, u64>> {
        let mut purged = self
            .purged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(known) = &*purged {
            return Ok(known.clone());
        }
        let mut known = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(&self.purged_dir) {
            for entry in entries.flatten() {
                let id = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| DeviceId::parse(n).ok());
                let at = std::fs::read_to_string(entry.path())
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok());
                if let (Some(id), Some(at)) = (id, at) {
                    known.insert(id, at);
                }
            }
        }
        *purged = Some(known.clone());
        Ok(known)
    }

    /// Deletes a device's whole history, and drops its samples still on their way. Blocking.
    pub fn purge(&self, device: &DeviceId, now_ms: u64) -> std::io::Result<()> {
        let _writing = self.lock_writes();
        std::fs::create_dir_all(&self.purged_dir)?;
        write_atomically(
            &self.purged_dir.join(device.as_str()),
            now_ms.to_string().as_bytes(),
        )?;
        let mut purged = self.purged_devices()?;
        purged.insert(device.clone(), now_ms);
        *self
            .purged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(purged);
        self.rollups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .forget(device);
        let dir = self.device_dir(device);
        self.written.forget(&dir);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::messages::{PolledInterface, SnmpValue, VarBind};
    use netpulse_shared::tracker::RateTracker;

    #[test]
    fn repair_cuts_torn_sample_files() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("devices/d")).expect("dir");
        std::fs::write(
            dir.path().join("devices/d/samples-2025-11-28.jsonl"),
            b"{}\n{",
        )
        .expect("write");
        assert_eq!(SampleStore::new(dir.path()).repair().expect("repair"), 1);
    }

    const DAY: u64 = 86_400_000;
    const START: u64 = 1_764_288_000_000; // 2025-11-28T00:00:00Z

    /// A sample of device `d` with two interfaces whose counters grow by `step` octets per
    /// second (the second at a third of the first's pace).
    fn counters_sample(device: &str, time_ms: u64, step: u64) -> Sample {
        let seconds = (time_ms - START) / 1000;
        let mut values = Vec::new();
        for (index, octets) in [(1u32, seconds * step), (2, seconds * step / 3)] {
            for column in [6u64, 10] {
                values.push(VarBind {
                    oid: netpulse_shared::snmp::Oid::parse(&format!(
                        "1.3.6.1.2.1.31.1.1.1.{column}.{index}"
                    ))
                    .expect("oid"),
                    value: SnmpValue::Counter64(octets + column),
                });
            }
        }
        Sample::from_answers(
            format!("{device}-{time_ms}"),
            DeviceId::parse(device).expect("id"),
            time_ms,
            Some(u32::try_from(seconds * 100).expect("ticks")),
            values,
            &[(1, "eth0"), (2, "eth1")]
                .iter()
                .map(|&(index, key)| PolledInterface {
                    index,
                    key: key.into(),
                    speed_bps: 0,
                })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn file_names_round_trip() {
        for res in Resolution::ALL {
            let name = file_name(res, START + 5);
            let (parsed, start, end) = parse_file_name(&name).expect("parsed");
            assert_eq!(parsed, res);
            assert!(start <= START && START < end, "{name}");
        }
        assert_eq!(
            file_name(Resolution::FiveMinutes, START),
            "rollup-5m-2025-11.jsonl"
        );
        for other in [
            "removed.json",
            "samples-2025-11-28.json",
            "rollup-raw-2025-11-28.jsonl",
            "rollup-1m-2025-11.jsonl",
            "x.tmp",
        ] {
            assert_eq!(parse_file_name(other), None, "{other}");
        }
    }

    /// A sample delivered again (its ack lost, a crash before it, or a nats-server restart
    /// that made its consumer forget the delivery) is written once, both by the store that
    /// wrote it and by a fresh one (a restart); samples past the highest sequence written are
    /// written as they come, and one below it that is not in the file (a delivery that
    /// went missing) is written too.
    #[test]
    fn a_sample_delivered_again_is_written_once() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SampleStore::new(dir.path());
        let samples: Vec<Sample> = (0..5)
            .map(|n| counters_sample("core-1", START + n * 1_000, 100))
            .collect();
        let seqs = [10, 11, 12, 13, 14];
        let at = |batch: &[usize]| -> (Vec<Sample>, Vec<StreamSeq>) {
            (
                batch.iter().map(|n| samples[*n].clone()).collect(),
                batch.iter().map(|n| seqs[*n]).collect(),
            )
        };
        let (batch, seq) = at(&[0, 1]);
        assert_eq!(
            store.append_sequenced(&batch, |n| seq[n]).expect("append"),
            2
        );
        // The ack of the second was lost: it comes again, with the fourth.
        let (batch, seq) = at(&[1, 3]);
        assert_eq!(
            store.append_sequenced(&batch, |n| seq[n]).expect("append"),
            1
        );
        // The third went missing and comes late, below the highest sequence written.
        let (batch, seq) = at(&[2]);
        assert_eq!(
            store.append_sequenced(&batch, |n| seq[n]).expect("append"),
            1
        );
        // After a restart, everything comes again, and the fifth.
        let restarted = SampleStore::new(dir.path());
        let (batch, seq) = at(&[0, 1, 2, 3, 4]);
        assert_eq!(
            restarted
                .append_sequenced(&batch, |n| seq[n])
                .expect("append"),
            1
        );
        let device = DeviceId::parse("core-1").expect("id");
        let lines = std::fs::read_to_string(
            store
                .device_dir(&device)
                .join(file_name(Resolution::Raw, START)),
        )
        .expect("read");
        assert_eq!(lines.lines().count(), 5);
    }

    /// Samples stored across several restarts (each a fresh store, as after a crash) give the
    /// same rollups as a brute-force aggregation of the stored samples.
    #[test]
    fn rollups_survive_restarts_and_match_the_raw_samples() {
        let dir = tempfile::tempdir().expect("dir");
        let times: Vec<u64> = (0..1500u64)
            .map(|n| START + 23 * 3_600_000 + n * 7_000 + (n * 37 % 900))
            .collect();
        let samples: Vec<Sample> = times
            .iter()
            .map(|t| counters_sample("core-1", *t, 12_500))
            .collect();
        let mut store = SampleStore::new(dir.path());
        for (n, batch) in samples.chunks(97).enumerate() {
            if n % 4 == 3 {
                store = SampleStore::new(dir.path()); // a restart: nothing kept in memory
            }
            store.append(batch).expect("append");
            if n == 5 {
                // A batch delivered twice after a crash before its ack.
                SampleStore::new(dir.path()).append(batch).expect("again");
            }
        }
        store.close_idle(u64::MAX / 2).expect("close");
        let device = DeviceId::parse("core-1").expect("id");
        let stored = store.read_range(&device, 0, u64::MAX).expect("read");
        assert_eq!(stored.len(), samples.len(), "each sample once");
        let mut tracker = RateTracker::default();
        let rates: Vec<_> = stored.iter().flat_map(|s| tracker.step(s)).collect();
        for res in Resolution::ROLLUPS {
            let lines = store
                .read_rollups(&device, res, 0, u64::MAX)
                .expect("rollups");
            let period = res.period_ms();
            let mut periods: Vec<u64> = rates
                .iter()
                .map(|r| r.time_ms - r.time_ms % period)
                .collect();
            periods.dedup();
            assert_eq!(
                lines.iter().map(|l| l.time_ms).collect::<Vec<_>>(),
                periods,
                "{res:?}: one line per period"
            );
            for line in &lines {
                for rolled in &line.interfaces {
                    let inside: Vec<f64> = rates
                        .iter()
                        .filter(|r| {
                            r.key == rolled.key && r.time_ms - r.time_ms % period == line.time_ms
                        })
                        .map(|r| r.in_bps)
                        .collect();
                    assert_eq!(inside.len(), rolled.count as usize);
                    let avg = inside.iter().sum::<f64>() / inside.len() as f64;
                    assert!((rolled.in_bps.avg - avg).abs() < 1e-6 * avg.max(1.0));
                    assert_eq!(
                        rolled.in_bps.min,
                        inside.iter().copied().fold(f64::INFINITY, f64::min)
                    );
                    assert_eq!(
                        rolled.in_bps.max,
                        inside.iter().copied().fold(0.0, f64::max)
                    );
                }
            }
        }
        // Every file parses, one JSON document per line.
        for entry in std::fs::read_dir(store.device_dir(&device)).expect("dir") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            for line in text.lines() {
                serde_json::from_str::<serde_json::Value>(line).expect("a JSON line");
            }
        }
    }

    #[test]
    fn retention_deletes_whole_expired_files_and_empty_folders() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SampleStore::new(dir.path());
        let samples: Vec<Sample> = (0..4 * 24)
            .map(|h| counters_sample("edge-1", START + h * 3_600_000, 100))
            .collect();
        store.append(&samples).expect("append");
        store.close_idle(u64::MAX / 2).expect("close");
        let device = DeviceId::parse("edge-1").expect("id");
        let kept = Kept {
            raw_ms: 2 * DAY,
            minute_ms: 3 * DAY,
            five_minutes_ms: 90 * DAY,
            hour_ms: 730 * DAY,
        };
        let now = START + 4 * DAY + 3_600_000;
        let deleted = store.sweep(now, &kept, |_| Ok(0)).expect("sweep");
        let mut names: Vec<String> = std::fs::read_dir(store.device_dir(&device))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "rollup-1h-2025-11.jsonl",
                "rollup-1h-2025-12.jsonl",
                "rollup-1m-2025-11-29.jsonl",
                "rollup-1m-2025-11-30.jsonl",
                "rollup-1m-2025-12-01.jsonl",
                "rollup-5m-2025-11.jsonl",
                "rollup-5m-2025-12.jsonl",
                "samples-2025-11-30.jsonl",
                "samples-2025-12-01.jsonl",
            ]
        );
        assert_eq!(deleted, 3);
        // Years later nothing is left, and neither is the folder.
        store
            .sweep(now + 3 * 365 * DAY, &kept, |_| Ok(0))
            .expect("sweep");
        assert!(!store.device_dir(&device).exists());
    }

    #[test]
    fn a_purged_device_loses_its_files_and_its_late_samples() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SampleStore::new(dir.path());
        let device = DeviceId::parse("gone").expect("id");
        store
            .append(&[counters_sample("gone", START, 1)])
            .expect("append");
        assert!(store.device_dir(&device).exists());
        store.purge(&device, START + 1000).expect("purge");
        assert!(!store.device_dir(&device).exists());
        // A sample polled before the purge and delivered after it is dropped, even after a
        // restart; one from a device re-added later is kept.
        let restarted = SampleStore::new(dir.path());
        assert_eq!(
            restarted
                .append(&[counters_sample("gone", START + 2000, 1)])
                .expect("append"),
            0
        );
        assert!(!restarted.device_dir(&device).exists());
        let later = START + 1000 + PURGE_GRACE_MS + 1;
        assert_eq!(
            restarted
                .append(&[counters_sample("gone", later, 1)])
                .expect("append"),
            1
        );
    }

    #[test]
    fn appends_one_line_per_sample_by_day() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SampleStore::new(dir.path());
        let device = DeviceId::parse("core-1").expect("id");
        let sample = |id: &str, time_ms| {
            Sample::from_answers(
                id.into(),
                device.clone(),
                time_ms,
                Some(1),
                vec![VarBind {
                    oid: netpulse_shared::snmp::Oid::parse("1.3.6.1.2.1.1.5.0").expect("oid"),
                    value: SnmpValue::OctetString("line\nbreak".into()),
                }],
                &[],
            )
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
