//! Messages carried over NATS. Every one is JSON with a `schema` version field.
//!
//! These are a public API: other programs subscribe to the same subjects. Add fields only in
//! a backward compatible way; a breaking change bumps [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};

use crate::device::{
    Address, Community, Device, DeviceId, Oid, SnmpVersion, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS,
};
use crate::usm::UsmUser;

/// The schema version written into every message.
pub const SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

fn default_timeout_ms() -> u32 {
    DEFAULT_TIMEOUT_MS
}

fn default_retries() -> u32 {
    DEFAULT_RETRIES
}

/// Well-known OIDs polled by default.
pub mod oids {
    use crate::device::Oid;

    /// SNMPv2-MIB::sysUpTime.0, hundredths of a second since the agent started.
    pub fn sys_uptime() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 1, 3, 0])
    }
    /// IF-MIB::ifHCInOctets (64-bit received octets), column without the index.
    pub fn if_hc_in_octets() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6])
    }
    /// IF-MIB::ifHCOutOctets (64-bit sent octets), column without the index.
    pub fn if_hc_out_octets() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10])
    }
    /// IF-MIB::ifOperStatus, column without the index.
    pub fn if_oper_status() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 8])
    }
    /// IF-MIB::ifInOctets (32-bit), for SNMPv1 agents.
    pub fn if_in_octets() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 10])
    }
    /// IF-MIB::ifOutOctets (32-bit), for SNMPv1 agents.
    pub fn if_out_octets() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 16])
    }
    /// IF-MIB::ifInDiscards (Counter32): received packets dropped though error-free (buffers
    /// full, say), column without the index.
    pub fn if_in_discards() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 13])
    }
    /// IF-MIB::ifInErrors (Counter32): received packets with errors, column without the index.
    pub fn if_in_errors() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 14])
    }
    /// IF-MIB::ifOutDiscards (Counter32): packets dropped though error-free before sending,
    /// column without the index.
    pub fn if_out_discards() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 19])
    }
    /// IF-MIB::ifOutErrors (Counter32): packets that could not be sent because of errors,
    /// column without the index.
    pub fn if_out_errors() -> Oid {
        Oid::known(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 20])
    }

    /// Every column the poll plan reads per interface: octets (64- and 32-bit), ifOperStatus,
    /// errors and discards.
    pub fn interface_columns() -> [Oid; 9] {
        [
            if_hc_in_octets(),
            if_hc_out_octets(),
            if_in_octets(),
            if_out_octets(),
            if_oper_status(),
            if_in_discards(),
            if_in_errors(),
            if_out_discards(),
            if_out_errors(),
        ]
    }
}

/// How to reach a device's agent: where, which SNMP version, the credentials (secrets), the
/// reply timeout and retries. Carried by poll and discovery jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentTarget {
    /// Its agent.
    pub address: Address,
    /// SNMP version.
    pub version: SnmpVersion,
    /// Community (secret), for v1/v2c.
    pub community: Community,
    /// SNMPv3 user (secrets), for v3.
    #[serde(default)]
    pub v3: Option<UsmUser>,
    /// Milliseconds to wait for each reply.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// Extra attempts after a timeout.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

impl AgentTarget {
    /// The agent of `device`.
    pub fn of(device: &Device) -> Self {
        Self {
            address: device.address.clone(),
            version: device.version,
            community: device.community.clone(),
            v3: device.v3.clone(),
            timeout_ms: device.timeout_ms,
            retries: device.retries,
        }
    }
}

/// A request to poll one device once, published by the scheduler to the `pollers` queue group.
///
/// It carries the community, so its subject must only be readable by pollers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollJob {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// Unique id of this poll; the resulting sample carries it as its id, so a job that is
    /// polled twice yields one stored sample.
    pub job_id: String,
    /// The device to poll.
    pub device: DeviceId,
    /// How to reach and speak to the agent (flattened: the same fields as before).
    #[serde(flatten)]
    pub target: AgentTarget,
    /// Every OID to GET, in order.
    pub oids: Vec<Oid>,
    /// The interfaces whose counters are among `oids`, as discovery knows them.
    #[serde(default)]
    pub interfaces: Vec<PolledInterface>,
    /// Unix milliseconds after which the result is stale and the job is dropped.
    pub deadline_ms: u64,
    /// A poll for the one-second live view: its sample goes to `netpulse.live.<device>`
    /// (not stored) and a failure is not counted against the device's reachability.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
    /// With `live`: store the sample like a normal one (`scheduler.record_live`), on
    /// `netpulse.sample.<device>` rather than `netpulse.live.<device>`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record: bool,
}

/// Most jobs in one [`PollBatch`]: a batch goes to one poller, so slots with more devices
/// due are split and spread over the pollers.
pub const MAX_JOBS_PER_BATCH: usize = 64;

/// Poll jobs due in the same slot, on [`crate::subjects::POLL_BATCH`]: one message for up to
/// [`MAX_JOBS_PER_BATCH`] jobs instead of one each. It carries credentials like the jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollBatch {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The jobs, each as it would travel alone on `netpulse.poll.<device>`.
    pub jobs: Vec<PollJob>,
}

/// How one poll ended, as the scheduler needs it for reachability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOutcome {
    /// The device polled.
    pub device: DeviceId,
    /// The sample's or the failure's time, Unix milliseconds.
    pub time_ms: u64,
    /// Why the poll failed; absent when it gave a sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The agent answered noSuchInstance or noSuchObject for a polled interface's octet
    /// counter: the interface is gone (renumbered or removed), discover again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interfaces_vanished: bool,
}

/// The outcomes of the polls a poller ended lately, on [`crate::subjects::OUTCOMES`]: one
/// for each sample on `netpulse.sample.<device>` and each failure on
/// `netpulse.failure.<device>` it published (live-view polls that are not stored are not
/// outcomes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOutcomes {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// In the order the polls ended.
    pub outcomes: Vec<PollOutcome>,
}

/// Which devices browsers are showing now: published on [`crate::subjects::WATCH`] by each
/// gateway every few seconds; the scheduler polls each of them every second until `ttl_ms`
/// passes without another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The devices shown.
    pub devices: Vec<DeviceId>,
    /// How long this holds, milliseconds.
    pub ttl_ms: u64,
}

/// An interface a poll covers: its ifIndex now, its stable key and its speed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolledInterface {
    /// ifIndex at the time of the poll.
    pub index: u32,
    /// Stable key: ifName, else ifDescr (see [`crate::interfaces::Interface::key`]).
    pub key: String,
    /// Speed in bits per second (0 when unknown).
    pub speed_bps: u64,
}

/// One value read from an agent, with its SNMP type.
///
/// Octet strings come from devices and are untrusted: they are carried as text (invalid
/// UTF-8 replaced), and must be shown as text, never as markup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum SnmpValue {
    /// INTEGER.
    Integer(i64),
    /// OCTET STRING, as text.
    OctetString(String),
    /// OBJECT IDENTIFIER, dotted.
    ObjectIdentifier(String),
    /// IpAddress, dotted quad.
    IpAddress(String),
    /// Counter32.
    Counter32(u32),
    /// Gauge32 / Unsigned32.
    Unsigned32(u32),
    /// TimeTicks, hundredths of a second.
    Timeticks(u32),
    /// Opaque, hex encoded.
    Opaque(String),
    /// Counter64.
    Counter64(u64),
    /// NULL.
    Null,
    /// The agent does not implement this object.
    NoSuchObject,
    /// The object exists but not this instance.
    NoSuchInstance,
    /// Past the end of the agent's MIB view.
    EndOfMibView,
}

impl SnmpValue {
    /// The value as a counter reading with its width in bits, if it is a counter.
    pub fn as_counter(&self) -> Option<(u64, u32)> {
        match self {
            Self::Counter32(v) => Some((u64::from(*v), 32)),
            Self::Counter64(v) => Some((*v, 64)),
            _ => None,
        }
    }

    /// The value as a number, if it is one that is not a counter: INTEGER, Gauge32 /
    /// Unsigned32, TimeTicks (hundredths of a second).
    pub fn as_gauge(&self) -> Option<f64> {
        match self {
            Self::Integer(v) => Some(*v as f64),
            Self::Unsigned32(v) | Self::Timeticks(v) => Some(f64::from(*v)),
            _ => None,
        }
    }

    /// The name of the value's type as it is serialized (`counter32`, `timeticks`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Integer(_) => "integer",
            Self::OctetString(_) => "octet_string",
            Self::ObjectIdentifier(_) => "object_identifier",
            Self::IpAddress(_) => "ip_address",
            Self::Counter32(_) => "counter32",
            Self::Unsigned32(_) => "unsigned32",
            Self::Timeticks(_) => "timeticks",
            Self::Opaque(_) => "opaque",
            Self::Counter64(_) => "counter64",
            Self::Null => "null",
            Self::NoSuchObject => "no_such_object",
            Self::NoSuchInstance => "no_such_instance",
            Self::EndOfMibView => "end_of_mib_view",
        }
    }
}

/// An OID and the value read for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarBind {
    /// The object instance.
    pub oid: Oid,
    /// Its value.
    #[serde(flatten)]
    pub value: SnmpValue,
}

/// The result of one successful poll, on `netpulse.sample.<device>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// Unique sample id (the poll job's id): the recorder stores each id once.
    pub id: String,
    /// The device polled.
    pub device: DeviceId,
    /// When the agent answered, Unix milliseconds.
    pub time_ms: u64,
    /// sysUpTime.0 in hundredths of a second, when the agent returned it.
    pub uptime_ticks: Option<u32>,
    /// Every OID asked for, with its value and type.
    pub values: Vec<VarBind>,
    /// The interfaces polled (copied from the poll job): ifIndex, stable key and speed, so
    /// history follows an interface by key across renumbering.
    #[serde(default)]
    pub interfaces: Vec<PolledInterface>,
    /// How long the poll took, from its first request to its last answer, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Retries, timeouts and bad replies on the way (absent when there were none).
    #[serde(default, skip_serializing_if = "PollStats::is_clean")]
    pub stats: PollStats,
    /// SNMPv3: the agent's snmpEngineID, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_id: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a poll met at the SNMP level besides its answer: the device's poll statistics are
/// summed from these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollStats {
    /// Requests sent again after a timeout or a bad reply.
    #[serde(default)]
    pub retries: u32,
    /// Requests that got no usable reply in time.
    #[serde(default)]
    pub timeouts: u32,
    /// SNMPv3: times the agent's engine was discovered again because it no longer answered
    /// as known (it rebooted, its clock moved: not in time window, or its engine ID
    /// changed), each followed by the request once more.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resyncs: u32,
    /// Replies thrown away, by kind: `malformed` (could not be decoded: truncated, corrupted,
    /// padded), `wrong_request_id` (another request's: duplicated, late or forged),
    /// `community_mismatch`, `unexpected_oids` (not what was asked).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub bad_replies: std::collections::BTreeMap<String, u32>,
}

impl PollStats {
    /// Nothing to report.
    pub fn is_clean(&self) -> bool {
        self.retries == 0 && self.timeouts == 0 && self.resyncs == 0 && self.bad_replies.is_empty()
    }

    /// Counts one bad reply of `kind`.
    pub fn bad_reply(&mut self, kind: &str) {
        *self.bad_replies.entry(kind.to_owned()).or_default() += 1;
    }
}

/// A poll that did not produce a sample, on `netpulse.failure.<device>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollFailure {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The poll job's id.
    pub job_id: String,
    /// The device polled.
    pub device: DeviceId,
    /// When the poll gave up, Unix milliseconds.
    pub time_ms: u64,
    /// Why, for a human ("timeout", "agent returned error tooBig", ...).
    pub reason: String,
    /// Retries, timeouts and bad replies on the way (absent when there were none).
    #[serde(default, skip_serializing_if = "PollStats::is_clean")]
    pub stats: PollStats,
}

/// A poller's answer to a test poll (`netpulse.test.<device>`): what the poll read, which
/// was published nowhere else, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum PollTestOutcome {
    /// The agent answered.
    Polled {
        /// What a normal poll would have published.
        sample: Sample,
        /// How long the poll took, milliseconds.
        duration_ms: u64,
    },
    /// The poll failed.
    Failed {
        /// The poll's error, exactly as a [`PollFailure`] would carry it.
        reason: String,
    },
}

/// Whether a device answers its polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reachability {
    /// Not polled yet (or not since the scheduler started).
    Unknown,
    /// The last poll succeeded.
    Up,
    /// `down_after` polls in a row failed.
    Down,
}

/// A device's reachability changed, on `netpulse.status.<device>`; the current one of every
/// device is also kept in the `netpulse_status` key-value bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachabilityChanged {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The device.
    pub device: DeviceId,
    /// The new state.
    pub state: Reachability,
    /// The state before.
    pub previous: Reachability,
    /// When it changed, Unix milliseconds.
    pub time_ms: u64,
    /// Why: "poll succeeded", or the reason of the last failed poll.
    pub reason: String,
    /// Failed polls in a row when this was published.
    pub consecutive_failures: u32,
}

/// A device's current reachability and last poll error, as kept in the `netpulse_status`
/// bucket (key = device id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The device.
    pub device: DeviceId,
    /// Its reachability.
    pub state: Reachability,
    /// Since when, Unix milliseconds.
    pub since_ms: u64,
    /// Why it entered that state.
    pub reason: String,
    /// Failed polls in a row.
    pub consecutive_failures: u32,
    /// The reason of the latest failed poll while failures continue ("authentication
    /// failed", "unknown user", "timeout"...), shown from the first failure on, before the
    /// device counts as down; `None` once a poll succeeds.
    pub last_error: Option<String>,
}

/// Interface counters found in a sample: one entry per ifIndex with both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceCounters {
    /// ifIndex.
    pub index: u32,
    /// Received octets and the counter's width in bits.
    pub in_octets: (u64, u32),
    /// Sent octets and the counter's width in bits.
    pub out_octets: (u64, u32),
}

/// Error and discard counters found in a sample for one interface: each a counter reading
/// with its width in bits (Counter32 in IF-MIB), `None` when the sample does not hold it (not
/// polled: the device's `poll_errors` is off, or the agent lacks it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceErrors {
    /// ifIndex.
    pub index: u32,
    /// ifInErrors: received packets with errors.
    pub in_errors: Option<(u64, u32)>,
    /// ifOutErrors: packets not sent because of errors.
    pub out_errors: Option<(u64, u32)>,
    /// ifInDiscards: received error-free packets dropped.
    pub in_discards: Option<(u64, u32)>,
    /// ifOutDiscards: error-free packets dropped before sending.
    pub out_discards: Option<(u64, u32)>,
}

impl InterfaceErrors {
    /// The four readings in a fixed order: in errors, out errors, in discards, out discards.
    pub fn readings(&self) -> [Option<(u64, u32)>; 4] {
        [
            self.in_errors,
            self.out_errors,
            self.in_discards,
            self.out_discards,
        ]
    }
}

impl Sample {
    /// Whether a polled interface no longer exists at its ifIndex: the agent answered
    /// noSuchInstance or noSuchObject for one of its octet counters.
    pub fn interfaces_vanished(&self) -> bool {
        let columns = [
            oids::if_hc_in_octets(),
            oids::if_hc_out_octets(),
            oids::if_in_octets(),
            oids::if_out_octets(),
        ];
        self.values.iter().any(|vb| {
            matches!(
                vb.value,
                SnmpValue::NoSuchInstance | SnmpValue::NoSuchObject
            ) && columns.iter().any(|c| vb.oid.index_under(c).is_some())
        })
    }

    /// The error and discard counters of each interface in this sample, by ifIndex, in
    /// ascending order: one entry per ifIndex with at least one of them.
    pub fn interface_errors(&self) -> Vec<InterfaceErrors> {
        use std::collections::BTreeMap;
        let columns = [
            oids::if_in_errors(),
            oids::if_out_errors(),
            oids::if_in_discards(),
            oids::if_out_discards(),
        ];
        let mut by_index: BTreeMap<u32, InterfaceErrors> = BTreeMap::new();
        for vb in &self.values {
            let Some(counter) = vb.value.as_counter() else {
                continue;
            };
            for (n, column) in columns.iter().enumerate() {
                let Some(index) = vb.oid.index_under(column) else {
                    continue;
                };
                let entry = by_index.entry(index).or_insert(InterfaceErrors {
                    index,
                    ..Default::default()
                });
                let slot = match n {
                    0 => &mut entry.in_errors,
                    1 => &mut entry.out_errors,
                    2 => &mut entry.in_discards,
                    _ => &mut entry.out_discards,
                };
                *slot = Some(counter);
            }
        }
        by_index.into_values().collect()
    }

    /// The numeric values of this sample that are not an interface's counters or status:
    /// sysUpTime.0 (always polled) and the device's numeric extra OIDs, in the sample's
    /// order. Values under the interface columns of [`oids::interface_columns`] count as an
    /// interface's when their ifIndex is one the sample covers (or the sample names no
    /// interfaces, as older ones did not); strings, OIDs, addresses and errors are left out.
    pub fn numeric_values(&self) -> Vec<&VarBind> {
        let columns = oids::interface_columns();
        let indexes: std::collections::HashSet<u32> =
            self.interfaces.iter().map(|i| i.index).collect();
        let covered = |index: u32| indexes.is_empty() || indexes.contains(&index);
        self.values
            .iter()
            .filter(|vb| vb.value.as_counter().is_some() || vb.value.as_gauge().is_some())
            .filter(|vb| {
                !columns
                    .iter()
                    .any(|c| vb.oid.index_under(c).is_some_and(covered))
            })
            .collect()
    }

    /// The octet counters of each interface in this sample, by ifIndex, in ascending order.
    /// 64-bit counters are preferred; 32-bit ones are used where only they are present.
    pub fn interface_counters(&self) -> Vec<InterfaceCounters> {
        use std::collections::BTreeMap;
        let columns = [
            (oids::if_hc_in_octets(), true),
            (oids::if_hc_out_octets(), false),
            (oids::if_in_octets(), true),
            (oids::if_out_octets(), false),
        ];
        type Pair = (Option<(u64, u32)>, Option<(u64, u32)>);
        let mut by_index: BTreeMap<u32, Pair> = BTreeMap::new();
        for vb in &self.values {
            let Some(counter) = vb.value.as_counter() else {
                continue;
            };
            for (column, inbound) in &columns {
                if let Some(index) = vb.oid.index_under(column) {
                    let slot = by_index.entry(index).or_default();
                    let side = if *inbound { &mut slot.0 } else { &mut slot.1 };
                    // Keep a 64-bit reading over a 32-bit one.
                    if side.is_none_or(|(_, bits)| bits < counter.1) {
                        *side = Some(counter);
                    }
                }
            }
        }
        by_index
            .into_iter()
            .filter_map(|(index, pair)| match pair {
                (Some(i), Some(o)) => Some(InterfaceCounters {
                    index,
                    in_octets: i,
                    out_octets: o,
                }),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).expect("oid")
    }

    fn sample() -> Sample {
        Sample {
            engine_id: Default::default(),
            schema: SCHEMA_VERSION,
            id: "core-1-1764323456000".into(),
            device: DeviceId::parse("core-1").expect("id"),
            time_ms: 1_764_323_456_000,
            uptime_ticks: Some(12345),
            values: vec![
                VarBind {
                    oid: oids::sys_uptime(),
                    value: SnmpValue::Timeticks(12345),
                },
                VarBind {
                    oid: oid("1.3.6.1.2.1.31.1.1.1.6.1"),
                    value: SnmpValue::Counter64(5665),
                },
                VarBind {
                    oid: oid("1.3.6.1.2.1.31.1.1.1.10.1"),
                    value: SnmpValue::Counter64(7000),
                },
                VarBind {
                    oid: oid("1.3.6.1.2.1.31.1.1.1.6.2"),
                    value: SnmpValue::NoSuchInstance,
                },
                VarBind {
                    oid: oid("1.3.6.1.2.1.1.5.0"),
                    value: SnmpValue::OctetString("<b>r1</b>".into()),
                },
            ],
            interfaces: vec![],
            duration_ms: None,
            stats: Default::default(),
        }
    }

    #[test]
    fn sample_round_trips_and_reads_like_documented() {
        let s = sample();
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["schema"], 1);
        assert_eq!(json["values"][1]["oid"], "1.3.6.1.2.1.31.1.1.1.6.1");
        assert_eq!(json["values"][1]["type"], "counter64");
        assert_eq!(json["values"][1]["value"], 5665);
        assert_eq!(json["values"][3]["type"], "no_such_instance");
        let back: Sample = serde_json::from_value(json).expect("back");
        assert_eq!(back, s);
    }

    #[test]
    fn poll_job_and_failure_round_trip() {
        let job = PollJob {
            schema: SCHEMA_VERSION,
            job_id: "core-1-1".into(),
            device: DeviceId::parse("core-1").expect("id"),
            target: AgentTarget {
                address: Address::parse("[2001:db8::1]:1161").expect("addr"),
                version: SnmpVersion::V1,
                community: Community::parse("public").expect("community"),
                v3: None,
                timeout_ms: 2000,
                retries: 1,
            },
            oids: vec![oids::sys_uptime()],
            interfaces: vec![],
            deadline_ms: 5,
            live: false,
            record: false,
        };
        let text = serde_json::to_string(&job).expect("json");
        assert_eq!(serde_json::from_str::<PollJob>(&text).expect("back"), job);
        let failure = PollFailure {
            schema: SCHEMA_VERSION,
            job_id: "core-1-1".into(),
            device: DeviceId::parse("core-1").expect("id"),
            time_ms: 9,
            reason: "timeout".into(),
            stats: Default::default(),
        };
        let text = serde_json::to_string(&failure).expect("json");
        assert_eq!(
            serde_json::from_str::<PollFailure>(&text).expect("back"),
            failure
        );
    }

    #[test]
    fn test_poll_outcomes_round_trip() {
        for outcome in [
            PollTestOutcome::Polled {
                sample: sample(),
                duration_ms: 12,
            },
            PollTestOutcome::Failed {
                reason: "timeout".into(),
            },
        ] {
            let json = serde_json::to_value(&outcome).expect("json");
            assert!(json["outcome"].is_string(), "{json}");
            assert_eq!(
                serde_json::from_value::<PollTestOutcome>(json).expect("back"),
                outcome
            );
        }
    }

    #[test]
    fn reachability_round_trips() {
        let change = ReachabilityChanged {
            schema: SCHEMA_VERSION,
            device: DeviceId::parse("core-1").expect("id"),
            state: Reachability::Down,
            previous: Reachability::Up,
            time_ms: 5,
            reason: "timeout".into(),
            consecutive_failures: 3,
        };
        let json = serde_json::to_value(&change).expect("json");
        assert_eq!(json["state"], "down");
        assert_eq!(
            serde_json::from_value::<ReachabilityChanged>(json).expect("back"),
            change
        );
    }

    #[test]
    fn messages_with_unsafe_device_ids_are_refused() {
        let text = r#"{"schema":1,"id":"x","device":"../../etc","time_ms":1,"uptime_ticks":null,"values":[]}"#;
        assert!(serde_json::from_str::<Sample>(text).is_err());
    }

    fn varbind(oid_text: &str, value: SnmpValue) -> VarBind {
        VarBind {
            oid: oid(oid_text),
            value,
        }
    }

    #[test]
    fn interface_errors_are_decoded_per_index() {
        let mut s = sample();
        s.values.extend([
            varbind("1.3.6.1.2.1.2.2.1.14.1", SnmpValue::Counter32(7)),
            varbind("1.3.6.1.2.1.2.2.1.20.1", SnmpValue::Counter32(8)),
            varbind("1.3.6.1.2.1.2.2.1.13.1", SnmpValue::Counter32(9)),
            varbind("1.3.6.1.2.1.2.2.1.19.1", SnmpValue::Counter32(u32::MAX)),
            // Interface 3: the agent lacks ifOutDiscards, and ifInErrors is no counter.
            varbind("1.3.6.1.2.1.2.2.1.14.3", SnmpValue::Integer(5)),
            varbind("1.3.6.1.2.1.2.2.1.20.3", SnmpValue::Counter32(1)),
            varbind("1.3.6.1.2.1.2.2.1.19.3", SnmpValue::NoSuchInstance),
            // Not an interface's column (ifInUnknownProtos), nor a table row.
            varbind("1.3.6.1.2.1.2.2.1.15.1", SnmpValue::Counter32(3)),
            varbind("1.3.6.1.2.1.2.2.1.14", SnmpValue::Counter32(3)),
        ]);
        assert_eq!(
            s.interface_errors(),
            vec![
                InterfaceErrors {
                    index: 1,
                    in_errors: Some((7, 32)),
                    out_errors: Some((8, 32)),
                    in_discards: Some((9, 32)),
                    out_discards: Some((u64::from(u32::MAX), 32)),
                },
                InterfaceErrors {
                    index: 3,
                    in_errors: None,
                    out_errors: Some((1, 32)),
                    in_discards: None,
                    out_discards: None,
                },
            ]
        );
        assert_eq!(
            s.interface_errors()[0].readings()[3],
            Some((u64::from(u32::MAX), 32))
        );
        // Without error counters (poll_errors off, or an older sample): nothing.
        assert!(sample().interface_errors().is_empty());
    }

    #[test]
    fn numeric_values_leave_out_the_interfaces_columns() {
        let mut s = sample();
        s.interfaces = vec![PolledInterface {
            index: 1,
            key: "eth0".into(),
            speed_bps: 0,
        }];
        s.values.extend([
            varbind("1.3.6.1.2.1.2.2.1.8.1", SnmpValue::Integer(1)),
            varbind("1.3.6.1.2.1.2.2.1.14.1", SnmpValue::Counter32(7)),
            // Columns of an interface the sample does not cover are extra OIDs.
            varbind("1.3.6.1.2.1.2.2.1.8.4", SnmpValue::Integer(2)),
            varbind("1.3.6.1.4.1.2021.10.1.5.1", SnmpValue::Integer(42)),
            varbind("1.3.6.1.2.1.6.9.0", SnmpValue::Unsigned32(12)),
            varbind("1.3.6.1.2.1.4.3.0", SnmpValue::Counter32(99)),
            varbind("1.3.6.1.2.1.1.1.0", SnmpValue::OctetString("7".into())),
            varbind("1.3.6.1.2.1.1.2.0", SnmpValue::NoSuchObject),
        ]);
        let found: Vec<(String, &str)> = s
            .numeric_values()
            .iter()
            .map(|vb| (vb.oid.to_string(), vb.value.type_name()))
            .collect();
        assert_eq!(
            found,
            [
                ("1.3.6.1.2.1.1.3.0".to_owned(), "timeticks"),
                ("1.3.6.1.2.1.2.2.1.8.4".to_owned(), "integer"),
                ("1.3.6.1.4.1.2021.10.1.5.1".to_owned(), "integer"),
                ("1.3.6.1.2.1.6.9.0".to_owned(), "unsigned32"),
                ("1.3.6.1.2.1.4.3.0".to_owned(), "counter32"),
            ]
        );
        // Type names are the serialized ones.
        for vb in &s.values {
            let json = serde_json::to_value(vb).expect("json");
            assert_eq!(json["type"], vb.value.type_name());
        }
    }

    #[test]
    fn interface_counters_pair_directions() {
        let counters = sample().interface_counters();
        assert_eq!(
            counters,
            vec![InterfaceCounters {
                index: 1,
                in_octets: (5665, 64),
                out_octets: (7000, 64)
            }]
        );
    }
}
