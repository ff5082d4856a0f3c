//! Messages carried over NATS. Every one is JSON with a `schema` version field.
//!
//! These are a public API: other programs subscribe to the same subjects. Add fields only in
//! a backward compatible way; a breaking change bumps [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};

use crate::device::{Device, DeviceId, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS};

use crate::snmp::{Address, Community, Oid, SnmpVersion};
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
    use crate::snmp::Oid;

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

/// The version of the sample message ([`Sample`]): 2 since samples are structured by
/// interface. Version 1 samples (a flat list of every OID polled) are still read: see
/// [`Sample`]'s deserialisation.
pub const SAMPLE_SCHEMA_VERSION: u32 = 2;

/// The result of one successful poll, on `netpulse.sample.<device>`.
///
/// The poller places every answer once: each polled interface's counters and status in
/// [`Sample::interfaces`], everything else (sysUpTime.0, the extra OIDs, and any interface
/// value of an unexpected type) in [`Sample::values`], so no consumer maps OIDs to
/// interfaces again. A version 1 sample (every answer in `values`) is placed the same way
/// when it is read, so old history files and old pollers are understood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SampleWire")]
pub struct Sample {
    /// Schema version ([`SAMPLE_SCHEMA_VERSION`]).
    pub schema: u32,
    /// Unique sample id (the poll job's id): the recorder stores each id once.
    pub id: String,
    /// The device polled.
    pub device: DeviceId,
    /// When the agent answered, Unix milliseconds.
    pub time_ms: u64,
    /// sysUpTime.0 in hundredths of a second, when the agent returned it.
    pub uptime_ticks: Option<u32>,
    /// The interfaces polled, each with what the agent answered for it: ifIndex, stable key
    /// and speed (copied from the poll job, so history follows an interface by key across
    /// renumbering), octet counters, oper status, errors and discards.
    pub interfaces: Vec<SampledInterface>,
    /// The answers that are not an interface's: sysUpTime.0, the device's extra OIDs, and
    /// interface values of a type the column does not have (shown as the agent sent them).
    pub values: Vec<VarBind>,
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

/// One polled interface in a [`Sample`]: who it is and what the agent answered for it.
/// A reading the agent did not give (not polled, absent, or of the wrong type) is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledInterface {
    /// ifIndex at the time of the poll.
    pub index: u32,
    /// Stable key: ifName, else ifDescr (see [`crate::interfaces::Interface::key`]).
    pub key: String,
    /// Speed in bits per second (0 when unknown).
    pub speed_bps: u64,
    /// Received octets (ifHCInOctets, or ifInOctets where only 32-bit counters are polled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_octets: Option<u64>,
    /// Sent octets (ifHCOutOctets or ifOutOctets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_octets: Option<u64>,
    /// The width of both octet counters in bits: 64, or 32 (Counter32) for SNMPv1 agents and
    /// interfaces without 64-bit counters.
    #[serde(default = "bits_64")]
    pub octet_bits: u32,
    /// ifOperStatus as the agent gave it (1 up, 2 down, 3 testing, 4 unknown, 5 dormant,
    /// 6 notPresent, 7 lowerLayerDown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oper_status: Option<i64>,
    /// ifInErrors (Counter32), when polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_errors: Option<u64>,
    /// ifOutErrors (Counter32), when polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_errors: Option<u64>,
    /// ifInDiscards (Counter32), when polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_discards: Option<u64>,
    /// ifOutDiscards (Counter32), when polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_discards: Option<u64>,
    /// The agent answered noSuchInstance or noSuchObject for an octet counter: the
    /// interface is no longer at this ifIndex (renumbered or removed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
}

fn bits_64() -> u32 {
    64
}

impl SampledInterface {
    /// An interface of a poll job, before anything is read for it.
    pub fn of(polled: &PolledInterface) -> Self {
        Self::new(polled.index, polled.key.clone(), polled.speed_bps)
    }

    /// Who this interface is, as a poll job names it.
    pub fn polled(&self) -> PolledInterface {
        PolledInterface {
            index: self.index,
            key: self.key.clone(),
            speed_bps: self.speed_bps,
        }
    }

    fn new(index: u32, key: String, speed_bps: u64) -> Self {
        Self {
            index,
            key,
            speed_bps,
            in_octets: None,
            out_octets: None,
            octet_bits: 64,
            oper_status: None,
            in_errors: None,
            out_errors: None,
            in_discards: None,
            out_discards: None,
            gone: false,
        }
    }

    /// Places one answer under one of the interface columns: whether it fitted. A counter
    /// of another width than the octet counter already placed, a second reading for the
    /// same column, or a value of the wrong type does not fit and stays a plain value; an
    /// error counter or status the agent lacks is simply absent.
    fn place(&mut self, column: Column, value: &SnmpValue) -> bool {
        let counter = value.as_counter();
        let missing = matches!(value, SnmpValue::NoSuchInstance | SnmpValue::NoSuchObject);
        match column {
            Column::InOctets | Column::OutOctets => {
                if missing {
                    self.gone = true;
                    return true;
                }
                let Some((reading, bits)) = counter else {
                    return false;
                };
                let (slot, other) = if column == Column::InOctets {
                    (&mut self.in_octets, self.out_octets)
                } else {
                    (&mut self.out_octets, self.in_octets)
                };
                if slot.is_some() || (other.is_some() && self.octet_bits != bits) {
                    return false;
                }
                *slot = Some(reading);
                self.octet_bits = bits;
                true
            }
            Column::OperStatus => match value {
                SnmpValue::Integer(code) if self.oper_status.is_none() => {
                    self.oper_status = Some(*code);
                    true
                }
                _ => missing,
            },
            Column::InErrors | Column::OutErrors | Column::InDiscards | Column::OutDiscards => {
                let slot = match column {
                    Column::InErrors => &mut self.in_errors,
                    Column::OutErrors => &mut self.out_errors,
                    Column::InDiscards => &mut self.in_discards,
                    _ => &mut self.out_discards,
                };
                match value {
                    SnmpValue::Counter32(n) if slot.is_none() => {
                        *slot = Some(u64::from(*n));
                        true
                    }
                    _ => missing,
                }
            }
        }
    }

    /// This interface's readings as the varbinds a poll GETs, for showing a poll as the
    /// agent answered it.
    fn varbinds(&self, out: &mut Vec<VarBind>) {
        let (in_column, out_column, wrap): (Oid, Oid, fn(u64) -> SnmpValue) =
            if self.octet_bits == 32 {
                (oids::if_in_octets(), oids::if_out_octets(), |n| {
                    SnmpValue::Counter32(u32::try_from(n).unwrap_or(u32::MAX))
                })
            } else {
                (
                    oids::if_hc_in_octets(),
                    oids::if_hc_out_octets(),
                    SnmpValue::Counter64,
                )
            };
        let index = self.index;
        for (column, reading) in [(in_column, self.in_octets), (out_column, self.out_octets)] {
            let value = match reading {
                Some(n) => wrap(n),
                None if self.gone => SnmpValue::NoSuchInstance,
                None => continue,
            };
            out.push(VarBind {
                oid: column.child(index),
                value,
            });
        }
        if let Some(code) = self.oper_status {
            out.push(VarBind {
                oid: oids::if_oper_status().child(index),
                value: SnmpValue::Integer(code),
            });
        }
        for (column, reading) in [
            (oids::if_in_discards(), self.in_discards),
            (oids::if_in_errors(), self.in_errors),
            (oids::if_out_discards(), self.out_discards),
            (oids::if_out_errors(), self.out_errors),
        ] {
            if let Some(n) = reading {
                out.push(VarBind {
                    oid: column.child(index),
                    value: SnmpValue::Counter32(u32::try_from(n).unwrap_or(u32::MAX)),
                });
            }
        }
    }
}

/// The IF-MIB columns a poll reads per interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    InOctets,
    OutOctets,
    OperStatus,
    InErrors,
    OutErrors,
    InDiscards,
    OutDiscards,
}

/// Which interface column `oid` is an instance of, and the ifIndex: ifTable
/// (1.3.6.1.2.1.2.2.1.C.N) or ifXTable (1.3.6.1.2.1.31.1.1.1.C.N), without building OIDs.
fn interface_column(oid: &Oid) -> Option<(Column, u32)> {
    const IF_ENTRY: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 2, 1];
    const IFX_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1];
    match oid.arcs() {
        [entry @ .., column, index] if entry == IF_ENTRY => {
            let column = match column {
                10 => Column::InOctets,
                16 => Column::OutOctets,
                8 => Column::OperStatus,
                13 => Column::InDiscards,
                14 => Column::InErrors,
                19 => Column::OutDiscards,
                20 => Column::OutErrors,
                _ => return None,
            };
            Some((column, *index))
        }
        [entry @ .., column, index] if entry == IFX_ENTRY => match column {
            6 => Some((Column::InOctets, *index)),
            10 => Some((Column::OutOctets, *index)),
            _ => None,
        },
        _ => None,
    }
}

/// A sample as it travels: version 2, or version 1 with every answer in `values`.
#[derive(Deserialize)]
struct SampleWire {
    #[serde(default = "schema_version")]
    schema: u32,
    id: String,
    device: DeviceId,
    time_ms: u64,
    uptime_ticks: Option<u32>,
    // Every version carries `values`: a line without it (a log entry) is not a sample.
    values: Vec<VarBind>,
    // The oldest samples name no interfaces.
    #[serde(default)]
    interfaces: Vec<SampledInterface>,
    #[serde(default)]
    duration_ms: Option<u64>,
    #[serde(default)]
    stats: PollStats,
    #[serde(default)]
    engine_id: Option<String>,
}

impl From<SampleWire> for Sample {
    fn from(wire: SampleWire) -> Self {
        let mut sample = if wire.schema >= 2 {
            Sample {
                schema: wire.schema,
                id: wire.id,
                device: wire.device,
                time_ms: wire.time_ms,
                uptime_ticks: wire.uptime_ticks,
                interfaces: wire.interfaces,
                values: wire.values,
                duration_ms: None,
                stats: PollStats::default(),
                engine_id: None,
            }
        } else {
            let polled: Vec<PolledInterface> = wire
                .interfaces
                .iter()
                .map(SampledInterface::polled)
                .collect();
            Sample::from_answers(
                wire.id,
                wire.device,
                wire.time_ms,
                wire.uptime_ticks,
                wire.values,
                &polled,
            )
        };
        sample.duration_ms = wire.duration_ms;
        sample.stats = wire.stats;
        sample.engine_id = wire.engine_id;
        sample
    }
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
    /// Builds the sample of a poll from the agent's answers, in the order they were asked:
    /// each answer under an interface column of an interface in `polled` is placed in that
    /// interface, the rest kept in [`Sample::values`]. With no `polled` interfaces (version 1
    /// samples from before polls named them) every interface column found is placed, under
    /// the key `#<ifIndex>`.
    pub fn from_answers(
        id: String,
        device: DeviceId,
        time_ms: u64,
        uptime_ticks: Option<u32>,
        answers: Vec<VarBind>,
        polled: &[PolledInterface],
    ) -> Self {
        let mut interfaces: Vec<SampledInterface> =
            polled.iter().map(SampledInterface::of).collect();
        // Polls list interfaces in ifIndex order; look them up by a sorted index anyway.
        let mut order: Vec<(u32, usize)> = interfaces
            .iter()
            .enumerate()
            .map(|(at, i)| (i.index, at))
            .collect();
        order.sort_unstable();
        let mut values = Vec::new();
        for answer in answers {
            let placed = interface_column(&answer.oid).is_some_and(|(column, index)| {
                let at = match order.binary_search_by_key(&index, |&(i, _)| i) {
                    Ok(found) => order[found].1,
                    Err(_) if polled.is_empty() => {
                        interfaces.push(SampledInterface::new(index, format!("#{index}"), 0));
                        let at = interfaces.len() - 1;
                        let slot = order.partition_point(|&(i, _)| i < index);
                        order.insert(slot, (index, at));
                        at
                    }
                    Err(_) => return false,
                };
                interfaces[at].place(column, &answer.value)
            });
            if !placed {
                values.push(answer);
            }
        }
        if polled.is_empty() {
            interfaces.sort_by_key(|i| i.index);
        }
        Sample {
            schema: SAMPLE_SCHEMA_VERSION,
            id,
            device,
            time_ms,
            uptime_ticks,
            interfaces,
            values,
            duration_ms: None,
            stats: PollStats::default(),
            engine_id: None,
        }
    }

    /// Every answer of this poll as a varbind, as the agent gave it: sysUpTime.0, then each
    /// interface's readings, then the other values. For showing one poll (a test poll), not
    /// for reading counters.
    pub fn varbinds(&self) -> Vec<VarBind> {
        let uptime = oids::sys_uptime();
        let mut out: Vec<VarBind> = self
            .values
            .iter()
            .filter(|vb| vb.oid == uptime)
            .cloned()
            .collect();
        for interface in &self.interfaces {
            interface.varbinds(&mut out);
        }
        out.extend(self.values.iter().filter(|vb| vb.oid != uptime).cloned());
        out
    }

    /// Whether a polled interface no longer exists at its ifIndex: the agent answered
    /// noSuchInstance or noSuchObject for one of its octet counters.
    pub fn interfaces_vanished(&self) -> bool {
        self.interfaces.iter().any(|i| i.gone)
    }

    /// The error and discard counters of each interface in this sample, by ifIndex, in
    /// ascending order: one entry per ifIndex with at least one of them.
    pub fn interface_errors(&self) -> Vec<InterfaceErrors> {
        let counter = |reading: Option<u64>| reading.map(|n| (n, 32));
        let mut found: Vec<InterfaceErrors> = self
            .interfaces
            .iter()
            .map(|i| InterfaceErrors {
                index: i.index,
                in_errors: counter(i.in_errors),
                out_errors: counter(i.out_errors),
                in_discards: counter(i.in_discards),
                out_discards: counter(i.out_discards),
            })
            .filter(|e| e.readings().iter().any(Option::is_some))
            .collect();
        found.sort_by_key(|e| e.index);
        found
    }

    /// The numeric values of this sample that are not an interface's counters or status:
    /// sysUpTime.0 (always polled) and the device's numeric extra OIDs, in the sample's
    /// order. A value under an interface column of an interface the sample covers (one of a
    /// type the column does not have) is left out, as are strings, OIDs, addresses and
    /// errors.
    pub fn numeric_values(&self) -> Vec<&VarBind> {
        self.values
            .iter()
            .filter(|vb| vb.value.as_counter().is_some() || vb.value.as_gauge().is_some())
            .filter(|vb| {
                interface_column(&vb.oid)
                    .is_none_or(|(_, index)| !self.interfaces.iter().any(|i| i.index == index))
            })
            .collect()
    }

    /// The octet counters of each interface in this sample, by ifIndex, in ascending order:
    /// those with both directions read.
    pub fn interface_counters(&self) -> Vec<InterfaceCounters> {
        let mut found: Vec<InterfaceCounters> = self
            .interfaces
            .iter()
            .filter_map(|i| {
                Some(InterfaceCounters {
                    index: i.index,
                    in_octets: (i.in_octets?, i.octet_bits),
                    out_octets: (i.out_octets?, i.octet_bits),
                })
            })
            .collect();
        found.sort_by_key(|c| c.index);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).expect("oid")
    }

    fn answers() -> Vec<VarBind> {
        vec![
            varbind("1.3.6.1.2.1.1.3.0", SnmpValue::Timeticks(12345)),
            varbind("1.3.6.1.2.1.31.1.1.1.6.1", SnmpValue::Counter64(5665)),
            varbind("1.3.6.1.2.1.31.1.1.1.10.1", SnmpValue::Counter64(7000)),
            varbind("1.3.6.1.2.1.2.2.1.8.1", SnmpValue::Integer(1)),
            varbind("1.3.6.1.2.1.31.1.1.1.6.2", SnmpValue::NoSuchInstance),
            varbind(
                "1.3.6.1.2.1.1.5.0",
                SnmpValue::OctetString("<b>r1</b>".into()),
            ),
        ]
    }

    fn polled(indexes: &[u32]) -> Vec<PolledInterface> {
        indexes
            .iter()
            .map(|&index| PolledInterface {
                index,
                key: format!("eth{index}"),
                speed_bps: 1_000_000_000,
            })
            .collect()
    }

    fn sample_of(answers: Vec<VarBind>, indexes: &[u32]) -> Sample {
        Sample::from_answers(
            "core-1-1764323456000".into(),
            DeviceId::parse("core-1").expect("id"),
            1_764_323_456_000,
            Some(12345),
            answers,
            &polled(indexes),
        )
    }

    fn sample() -> Sample {
        sample_of(answers(), &[1, 2])
    }

    #[test]
    fn sample_round_trips_and_reads_like_documented() {
        let s = sample();
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["schema"], 2);
        assert_eq!(
            json["interfaces"][0],
            serde_json::json!({"index": 1, "key": "eth1", "speed_bps": 1_000_000_000u64,
                "in_octets": 5665, "out_octets": 7000, "octet_bits": 64, "oper_status": 1})
        );
        assert_eq!(
            json["interfaces"][1],
            serde_json::json!({"index": 2, "key": "eth2", "speed_bps": 1_000_000_000u64,
                "octet_bits": 64, "gone": true})
        );
        assert_eq!(json["values"][0]["oid"], "1.3.6.1.2.1.1.3.0");
        assert_eq!(json["values"][0]["type"], "timeticks");
        assert_eq!(json["values"][1]["type"], "octet_string");
        assert_eq!(json["values"].as_array().map(Vec::len), Some(2));
        let back: Sample = serde_json::from_value(json).expect("back");
        assert_eq!(back, s);
        assert!(s.interfaces_vanished());
        // Shown as the agent answered, interfaces after sysUpTime.
        let shown: Vec<String> = s.varbinds().iter().map(|vb| vb.oid.to_string()).collect();
        assert_eq!(
            shown,
            [
                "1.3.6.1.2.1.1.3.0",
                "1.3.6.1.2.1.31.1.1.1.6.1",
                "1.3.6.1.2.1.31.1.1.1.10.1",
                "1.3.6.1.2.1.2.2.1.8.1",
                "1.3.6.1.2.1.31.1.1.1.6.2",
                "1.3.6.1.2.1.31.1.1.1.10.2",
                "1.3.6.1.2.1.1.5.0",
            ]
        );
    }

    #[test]
    fn version_1_samples_are_read_into_interfaces() {
        let v1 = serde_json::json!({
            "schema": 1, "id": "core-1-1", "device": "core-1", "time_ms": 5,
            "uptime_ticks": 12345, "duration_ms": 7,
            "values": serde_json::to_value(answers()).expect("json"),
            "interfaces": [{"index": 1, "key": "eth1", "speed_bps": 100}],
        });
        let s: Sample = serde_json::from_value(v1).expect("v1");
        assert_eq!(s.schema, SAMPLE_SCHEMA_VERSION);
        assert_eq!(s.duration_ms, Some(7));
        assert_eq!(s.interfaces.len(), 1);
        assert_eq!(s.interfaces[0].key, "eth1");
        assert_eq!(s.interfaces[0].in_octets, Some(5665));
        assert_eq!(s.interfaces[0].oper_status, Some(1));
        // ifIndex 2 was not one of the poll's interfaces: its answer stays a value.
        assert_eq!(s.values.len(), 3);
        // Older still: no interfaces named, every interface column is placed.
        let oldest = serde_json::json!({
            "id": "core-1-1", "device": "core-1", "time_ms": 5, "uptime_ticks": null,
            "values": serde_json::to_value(answers()).expect("json"),
        });
        let s: Sample = serde_json::from_value(oldest).expect("oldest");
        let keys: Vec<&str> = s.interfaces.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["#1", "#2"]);
        assert!(s.interfaces_vanished());
        assert_eq!(s.interface_counters().len(), 1);
        // A line of another kind with an id, a device and a time is no sample.
        let entry = serde_json::json!({"id": "config-1", "device": "core-1", "time_ms": 5});
        assert!(serde_json::from_value::<Sample>(entry).is_err());
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
        let text = r#"{"schema":2,"id":"x","device":"../../etc","time_ms":1,"uptime_ticks":null,"interfaces":[],"values":[]}"#;
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
        let mut answers = answers();
        answers.extend([
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
        let s = sample_of(answers, &[1, 2, 3]);
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
        // The wrong type stays a value, shown as sent; what the agent lacks is absent.
        let kept: Vec<String> = s.values.iter().map(|vb| vb.oid.to_string()).collect();
        assert!(
            kept.contains(&"1.3.6.1.2.1.2.2.1.14.3".to_owned()),
            "{kept:?}"
        );
        assert!(
            !kept.contains(&"1.3.6.1.2.1.2.2.1.19.3".to_owned()),
            "{kept:?}"
        );
        assert!(
            kept.contains(&"1.3.6.1.2.1.2.2.1.15.1".to_owned()),
            "{kept:?}"
        );
        // Without error counters (poll_errors off, or an older sample): nothing.
        assert!(sample().interface_errors().is_empty());
    }

    #[test]
    fn numeric_values_leave_out_the_interfaces_columns() {
        let mut answers = answers();
        answers.extend([
            varbind("1.3.6.1.2.1.2.2.1.14.1", SnmpValue::Counter32(7)),
            // A second reading of a column already placed is not an extra OID either.
            varbind("1.3.6.1.2.1.2.2.1.8.1", SnmpValue::Integer(1)),
            // Columns of an interface the sample does not cover are extra OIDs.
            varbind("1.3.6.1.2.1.2.2.1.8.4", SnmpValue::Integer(2)),
            varbind("1.3.6.1.4.1.2021.10.1.5.1", SnmpValue::Integer(42)),
            varbind("1.3.6.1.2.1.6.9.0", SnmpValue::Unsigned32(12)),
            varbind("1.3.6.1.2.1.4.3.0", SnmpValue::Counter32(99)),
            varbind("1.3.6.1.2.1.1.1.0", SnmpValue::OctetString("7".into())),
            varbind("1.3.6.1.2.1.1.2.0", SnmpValue::NoSuchObject),
        ]);
        let s = sample_of(answers, &[1]);
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
    fn octet_counters_of_two_widths_are_not_paired() {
        let s = sample_of(
            vec![
                varbind("1.3.6.1.2.1.2.2.1.10.1", SnmpValue::Counter32(10)),
                varbind("1.3.6.1.2.1.2.2.1.16.1", SnmpValue::Counter32(20)),
                varbind("1.3.6.1.2.1.31.1.1.1.6.2", SnmpValue::Counter64(1 << 40)),
                varbind("1.3.6.1.2.1.31.1.1.1.10.2", SnmpValue::Counter32(5)),
            ],
            &[1, 2],
        );
        assert_eq!(
            s.interface_counters(),
            vec![InterfaceCounters {
                index: 1,
                in_octets: (10, 32),
                out_octets: (20, 32),
            }]
        );
        assert_eq!(s.values.len(), 1, "{:?}", s.values);
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["interfaces"][0]["octet_bits"], 32);
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
