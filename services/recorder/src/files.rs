//! The recorder's file primitives, for samples and timelines alike: lines appended and synced
//! before the ack, each id written once ([`OnceWriter`]), torn last lines cut after a crash,
//! and files replaced atomically.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netpulse_shared::time::{utc_date, utc_month};

/// Ids read back from the end of a file when a line may already be in it: far more lines
/// than JetStream can deliver again after a crash (its ack wait at the fastest poll
/// interval).
pub const CHECKED_IDS: usize = 512;

/// A line's sequence number in the stream it came from (0: unknown, always checked).
pub type StreamSeq = u64;

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

/// Writes each line once, remembering one number per file, not the lines: the highest
/// stream sequence written to it. A line with a higher sequence cannot be in the file yet
/// (everything written has a lower or equal one) and is appended; one with a sequence not
/// above it (delivered again after a crash or a lost ack, also when nats-server restarted and
/// its consumer forgot deliveries, or a message of another stream), or the first lines for a
/// file since this recorder started (whatever happened before it), are checked against the
/// ids at the end of the file, read back then (which also cuts a torn last line first).
#[derive(Debug, Clone, Default)]
pub(crate) struct OnceWriter {
    /// Files written since this recorder started (of today and yesterday), with the highest
    /// stream sequence written or found in each.
    opened: Arc<Mutex<OpenedFiles>>,
}

/// The files an [`OnceWriter`] has written, and when to forget those of past days.
#[derive(Debug, Default)]
struct OpenedFiles {
    seqs: HashMap<PathBuf, StreamSeq>,
    /// The number of files past which the next sweep runs: twice what the last one kept (at
    /// least [`SWEEP_FROM`]). A sweep reads every name, so it must not run on every batch
    /// once a day's files outnumber the threshold (at 10,000 devices it did, and cost a fifth
    /// of the recorder's CPU).
    sweep_above: usize,
}

/// Files remembered before the first sweep of past days' files.
const SWEEP_FROM: usize = 4 * 1024;

/// What the names of files still written at `now_ms` contain: today's and yesterday's date
/// (daily files), and this month's and yesterday's month before `.jsonl` (monthly rollups).
fn current_periods(now_ms: u64) -> [String; 4] {
    let yesterday = now_ms.saturating_sub(86_400_000);
    [
        utc_date(now_ms),
        utc_date(yesterday),
        format!("-{}.jsonl", utc_month(now_ms)),
        format!("-{}.jsonl", utc_month(yesterday)),
    ]
}

/// One line for [`OnceWriter::append`]: its file, its id, what it holds and how it came.
pub(crate) struct Line<'a, T> {
    pub(crate) path: PathBuf,
    pub(crate) id: &'a str,
    pub(crate) value: &'a T,
    pub(crate) seq: StreamSeq,
    /// `value` as it came, one line of JSON (no newline in it), written as is.
    pub(crate) raw: Option<&'a [u8]>,
}

impl OnceWriter {
    /// Appends each line not written before as one line of JSON, and syncs every file
    /// touched. Returns the positions of the lines written. Blocking.
    pub(crate) fn append<T: serde::Serialize>(
        &self,
        lines: &[Line<'_, T>],
    ) -> std::io::Result<Vec<usize>> {
        let mut guard = self
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let files = &mut *guard;
        let opened = &mut files.seqs;
        // Per file: the bytes to append, the ids in this batch, the ids at its end when a
        // line of it needs checking, and the highest sequence of its lines.
        type Pending<'i> = (
            Vec<u8>,
            HashSet<&'i str>,
            Option<HashSet<String>>,
            StreamSeq,
        );
        let mut by_file: BTreeMap<&PathBuf, Pending<'_>> = BTreeMap::new();
        let mut written = Vec::with_capacity(lines.len());
        for (n, line) in lines.iter().enumerate() {
            let (buffer, ids, at_end, highest) = by_file.entry(&line.path).or_default();
            *highest = (*highest).max(line.seq);
            let new = opened.get(&line.path).is_some_and(|last| line.seq > *last);
            if at_end.is_none() && !new {
                *at_end = Some(ids_at_end(&line.path)?);
            }
            let seen = ids.contains(line.id)
                || (!new && at_end.as_ref().is_some_and(|e| e.contains(line.id)));
            if seen {
                tracing::debug!(id = line.id, "already stored; skipped");
                continue;
            }
            match line.raw {
                Some(raw) => buffer.extend_from_slice(raw),
                None => serde_json::to_writer(&mut *buffer, line.value)?,
            }
            buffer.push(b'\n');
            ids.insert(line.id);
            written.push(n);
        }
        let mut touched = Vec::with_capacity(by_file.len());
        for (path, (bytes, _, _, highest)) in by_file {
            // Forgotten while it is written: if the write fails (or panics) part way, the
            // lines that made it are found by the check when they come again.
            let last = opened.remove(path);
            let known = last.is_some();
            if !bytes.is_empty() {
                match known.then(|| append_existing(path, &bytes)) {
                    Some(Ok(())) => {}
                    // Unknown, or its folder went (removed by hand): create what is missing.
                    Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                        append(path, &bytes)?
                    }
                    Some(Err(e)) => return Err(e),
                    None => append(path, &bytes)?,
                }
                touched.push(path.as_path());
            }
            opened.insert(path.clone(), last.unwrap_or_default().max(highest));
        }
        sync(&touched)?;
        // Files of past days (and months) are no longer written: forget them.
        if opened.len() > files.sweep_above.max(SWEEP_FROM) {
            let now = netpulse_shared::time::now_ms();
            let current = current_periods(now);
            opened.retain(|p, _| {
                let name = p.to_string_lossy();
                current.iter().any(|period| name.contains(period.as_str()))
            });
            files.sweep_above = 2 * opened.len();
        }
        Ok(written)
    }

    /// Forgets the files under `dir` (deleted).
    pub(crate) fn forget(&self, dir: &Path) {
        self.opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .seqs
            .retain(|p, _| !p.starts_with(dir));
    }
}

/// The ids of the last lines of a file (empty when there is none).
pub(crate) fn ids_at_end(path: &Path) -> std::io::Result<HashSet<String>> {
    let mut ids = HashSet::new();
    let Some(tail) = read_tail(path)? else {
        return Ok(ids);
    };
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: String,
    }
    for line in &tail[tail.len().saturating_sub(CHECKED_IDS)..] {
        if let Ok(sample) = serde_json::from_str::<IdOnly>(line) {
            ids.insert(sample.id);
        }
    }
    Ok(ids)
}

/// The complete lines at the end of a file (up to about 1 MiB of them), cutting a torn last
/// line first; `None` when the file does not exist.
pub(crate) fn read_tail(path: &Path) -> std::io::Result<Option<Vec<String>>> {
    const TAIL_BYTES: u64 = 1024 * 1024;
    let cut = match cut_torn_tail(path) {
        Ok(cut) => cut,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if cut > 0 {
        tracing::warn!(file = %path.display(), bytes = cut, "cut a torn last line");
    }
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let text = String::from_utf8_lossy(&tail);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if start > 0 && !lines.is_empty() {
        // The first line is cut where the tail begins.
        lines.remove(0);
    }
    Ok(Some(lines))
}

/// Appends bytes to a file (creating it and its folder), not synced yet: see [`sync`].
pub(crate) fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    append_existing(path, bytes)
}

/// Appends bytes to a file in a folder known to exist (the file is created if missing).
pub(crate) fn append_existing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(bytes)
}

/// Files up to which [`sync`] syncs each one; past it, the whole file system at once.
pub const SYNC_FILES_ONE_BY_ONE: usize = 8;

/// Makes what was appended to `files` durable before it returns: each file synced when there
/// are few, else the file system holding them synced once (syncfs), which costs one journal
/// commit for the whole batch instead of one per file, and also makes new files' and
/// folders' entries durable.
pub(crate) fn sync(files: &[&Path]) -> std::io::Result<()> {
    if files.len() <= SYNC_FILES_ONE_BY_ONE {
        for path in files {
            OpenOptions::new().append(true).open(path)?.sync_data()?;
        }
        return Ok(());
    }
    let any = std::fs::File::open(files[0])?;
    rustix::fs::syncfs(&any).map_err(std::io::Error::from)
}

/// Replaces a file's content all at once: written beside it, synced, renamed over it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
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
    }

    #[test]
    fn past_files_are_forgotten_in_sweeps_and_current_ones_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let now = netpulse_shared::time::now_ms();
        let value = serde_json::json!({});
        let ids: Vec<String> = (0..=SWEEP_FROM).map(|i| format!("s{i}")).collect();
        let line = |path: PathBuf, i: usize| Line {
            path,
            id: ids[i].as_str(),
            value: &value,
            seq: i as u64 + 1,
            raw: None,
        };
        let writer = OnceWriter::default();
        // Past days' files, up to the sweep threshold: nothing is forgotten yet.
        let past: Vec<Line<'_, serde_json::Value>> = (0..SWEEP_FROM - 2)
            .map(|i| line(dir.path().join(format!("d{i}/samples-2020-01-01.jsonl")), i))
            .collect();
        writer.append(&past).expect("append");
        let monthly = dir
            .path()
            .join(format!("rollup-5m-{}.jsonl", utc_month(now)));
        let daily = dir.path().join(format!("samples-{}.jsonl", utc_date(now)));
        let current = [
            line(monthly.clone(), SWEEP_FROM - 2),
            line(daily.clone(), SWEEP_FROM - 1),
        ];
        writer.append(&current).expect("append");
        assert_eq!(writer.opened.lock().expect("lock").seqs.len(), SWEEP_FROM);
        // One more file passes the threshold: the past ones go, the current ones stay.
        let last = [line(
            dir.path().join("d/samples-2020-01-02.jsonl"),
            SWEEP_FROM,
        )];
        writer.append(&last).expect("append");
        let opened = writer.opened.lock().expect("lock");
        let kept: HashSet<&PathBuf> = opened.seqs.keys().collect();
        assert_eq!(kept, HashSet::from([&monthly, &daily]));
        assert_eq!(opened.sweep_above, 4);
    }
}
