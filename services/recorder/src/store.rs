//! History on disk: JSON Lines, one file per device and UTC day.
//!
//! `<data_dir>/devices/<device id>/samples-YYYY-MM-DD.jsonl`, one sample per line, readable
//! with jq. The device id is a checked token, so the path cannot leave `devices/`. Appends are
//! flushed to disk (fsync) before [`SampleStore::append`] returns: the caller acks after it.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use netpulse_shared::device::DeviceId;
use netpulse_shared::messages::Sample;
use netpulse_shared::time::utc_date;

/// The per-device sample files under a data directory.
#[derive(Debug, Clone)]
pub struct SampleStore {
    root: PathBuf,
}

impl SampleStore {
    /// A store under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("devices"),
        }
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

    /// Appends samples, one JSON line each, and syncs every file touched. Blocking.
    pub fn append(&self, samples: &[Sample]) -> std::io::Result<()> {
        let mut by_file: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        for sample in samples {
            let buffer = by_file
                .entry(self.sample_file(&sample.device, sample.time_ms))
                .or_default();
            serde_json::to_writer(&mut *buffer, sample)?;
            buffer.push(b'\n');
        }
        for (path, bytes) in by_file {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(&bytes)?;
            file.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let today =
            std::fs::read_to_string(dir.path().join("devices/core-1/samples-2025-11-28.jsonl"))
                .expect("today");
        let lines: Vec<Sample> = today
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(
            lines.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(dir
            .path()
            .join("devices/core-1/samples-2025-11-27.jsonl")
            .is_file());
    }
}
