//! Which device a message comes from: the registry's SNMP addresses and extra log sources
//! by IP address; and the sources that match no device, kept for an admin to see.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use netpulse_shared::device::{Device, DeviceId};

use netpulse_shared::snmp::Host;
use serde::{Deserialize, Serialize};

/// IP address to device, from the registry.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    devices: HashMap<DeviceId, Vec<IpAddr>>,
    by_ip: HashMap<IpAddr, DeviceId>,
}

impl SourceMap {
    /// Adds or replaces a device; `resolved` are the addresses of a named host.
    pub fn put(&mut self, device: &Device, resolved: &[IpAddr]) {
        self.remove(&device.id);
        let mut ips: Vec<IpAddr> = match &device.address.host {
            Host::V4(ip) => vec![IpAddr::V4(*ip)],
            Host::V6(ip) => vec![IpAddr::V6(*ip)],
            Host::Name(_) => resolved.to_vec(),
        };
        ips.extend(device.log_sources.iter().copied());
        for ip in &ips {
            self.by_ip.insert(canonical(*ip), device.id.clone());
        }
        self.devices.insert(device.id.clone(), ips);
    }

    /// Forgets a device.
    pub fn remove(&mut self, id: &DeviceId) {
        for ip in self.devices.remove(id).unwrap_or_default() {
            if self.by_ip.get(&canonical(ip)) == Some(id) {
                self.by_ip.remove(&canonical(ip));
            }
        }
    }

    /// The device sending from `ip`.
    pub fn device(&self, ip: IpAddr) -> Option<&DeviceId> {
        self.by_ip.get(&canonical(ip))
    }
}

/// An IPv4 address seen through an IPv6 socket as itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Most recent messages kept per unknown source.
pub const RECENT_PER_SOURCE: usize = 10;

/// A source that matches no device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnknownSource {
    /// Its address.
    pub address: IpAddr,
    /// First message, Unix ms.
    pub first_ms: u64,
    /// Latest message, Unix ms.
    pub last_ms: u64,
    /// Messages received.
    pub count: u64,
    /// The latest messages, newest last: `{"time_ms", "kind", "text"}`.
    pub recent: VecDeque<RecentMessage>,
}

/// One message of an unknown source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentMessage {
    /// When it was received.
    pub time_ms: u64,
    /// `syslog` or `trap`.
    pub kind: String,
    /// Its text (cut to 300 characters).
    pub text: String,
}

/// The unknown sources seen, and which changed since they were last saved.
#[derive(Debug, Default)]
pub struct Unknown {
    sources: HashMap<IpAddr, UnknownSource>,
    changed: Vec<IpAddr>,
}

/// Most unknown sources remembered; beyond, the quietest is forgotten.
pub const MAX_UNKNOWN: usize = 1000;

impl Unknown {
    /// Notes a message from an unknown source.
    pub fn record(&mut self, address: IpAddr, time_ms: u64, kind: &str, text: &str) {
        let address = canonical(address);
        if !self.sources.contains_key(&address) && self.sources.len() >= MAX_UNKNOWN {
            if let Some(oldest) = self
                .sources
                .values()
                .min_by_key(|s| s.last_ms)
                .map(|s| s.address)
            {
                self.sources.remove(&oldest);
            }
        }
        let source = self
            .sources
            .entry(address)
            .or_insert_with(|| UnknownSource {
                address,
                first_ms: time_ms,
                last_ms: time_ms,
                count: 0,
                recent: VecDeque::new(),
            });
        source.count += 1;
        source.last_ms = time_ms;
        source.recent.push_back(RecentMessage {
            time_ms,
            kind: kind.into(),
            text: text.chars().take(300).collect(),
        });
        while source.recent.len() > RECENT_PER_SOURCE {
            source.recent.pop_front();
        }
        if !self.changed.contains(&address) {
            self.changed.push(address);
        }
    }

    /// The sources changed since the last call.
    pub fn take_changed(&mut self) -> Vec<UnknownSource> {
        std::mem::take(&mut self.changed)
            .into_iter()
            .filter_map(|a| self.sources.get(&a).cloned())
            .collect()
    }
}

/// The key of an address in the `netpulse_unknown_sources` bucket (dots and colons are
/// not allowed the same way in keys: `192_0_2_1`, `2001_db8__1`).
pub fn key_of(address: IpAddr) -> String {
    address.to_string().replace(['.', ':'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_found_by_any_of_their_addresses() {
        let mut map = SourceMap::default();
        let device = Device::from_json_body(
            br#"{"name": "core 1", "address": "192.0.2.1:161", "log_sources": ["2001:db8::1", "198.51.100.7"]}"#,
        )
        .expect("device");
        map.put(&device, &[]);
        for ip in [
            "192.0.2.1",
            "2001:db8::1",
            "198.51.100.7",
            "::ffff:192.0.2.1",
        ] {
            assert_eq!(
                map.device(ip.parse().expect("ip")),
                Some(&device.id),
                "{ip}"
            );
        }
        assert_eq!(map.device("192.0.2.9".parse().expect("ip")), None);
        map.remove(&device.id);
        assert_eq!(map.device("192.0.2.1".parse().expect("ip")), None);
    }

    #[test]
    fn unknown_sources_keep_their_latest_messages() {
        let mut unknown = Unknown::default();
        let ip: IpAddr = "203.0.113.5".parse().expect("ip");
        for n in 0..15 {
            unknown.record(ip, n, "syslog", &format!("message {n}"));
        }
        let changed = unknown.take_changed();
        assert_eq!(changed.len(), 1);
        assert_eq!(
            (changed[0].count, changed[0].first_ms, changed[0].last_ms),
            (15, 0, 14)
        );
        assert_eq!(changed[0].recent.len(), RECENT_PER_SOURCE);
        assert_eq!(
            changed[0].recent.back().map(|m| m.text.as_str()),
            Some("message 14")
        );
        assert!(unknown.take_changed().is_empty());
        assert_eq!(key_of("2001:db8::1".parse().expect("ip")), "2001_db8__1");
    }
}
