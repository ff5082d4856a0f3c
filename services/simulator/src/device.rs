//! One simulated device: its clock, interfaces, counters and misbehaviour switches, and the
//! value of every object it serves at a given instant.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::config::SimConfig;
use crate::counters::{splitmix64, OctetCounter};
use crate::lldp::{self, LldpObject, LocPortColumn, Neighbour, PortIdentity};
use crate::mib::{if_index, IfColumn, MibTable, MibView, Object};
use crate::value::Value;

/// sysObjectID of every simulated device (net-snmp's Linux agent OID).
const SYS_OBJECT_ID: [u32; 10] = [1, 3, 6, 1, 4, 1, 8072, 3, 2, 10];
/// ifType ethernetCsmacd(6).
const ETHERNET_CSMACD: i64 = 6;
/// ifOperStatus / ifAdminStatus values.
const STATUS_UP: i64 = 1;
const STATUS_DOWN: i64 = 2;
/// sysServices: datalink and internet layers (2 + 4).
const SYS_SERVICES: i64 = 6;
const MTU: i64 = 1500;

/// One interface's changing state.
#[derive(Debug, Clone)]
struct InterfaceState {
    up: bool,
    /// sysUpTime (hundredths) of the last ifOperStatus change; 0 when none since boot.
    last_change: u32,
    inbound: OctetCounter,
    outbound: OctetCounter,
    /// Added (mod 2^32) to the 32-bit counters after `wrap_soon`; 0 otherwise.
    in_wrap_shift: u32,
    out_wrap_shift: u32,
}

/// The state of one device, kept behind its own lock.
#[derive(Debug)]
pub struct DeviceState {
    number: usize,
    booted: Instant,
    speed_bps: u64,
    /// The ifIndex offset set by renumbering (0 at start).
    offset: u32,
    /// The OIDs served, shared with every device of the same shape.
    table: Arc<MibTable>,
    /// What the device sees across its links, by local interface position.
    neighbours: Vec<Neighbour>,
    /// The neighbours' lldpRemTable rows, served along with `table`; `None` without links.
    neighbour_rows: Option<MibTable>,
    /// How long to wait before answering.
    pub delay: Duration,
    /// Whether requests go unanswered.
    pub silent: bool,
    /// Texts that replace the generated sysName, sysDescr, sysLocation and ifAlias (to test
    /// how device-provided strings are shown).
    pub texts: DeviceTexts,
    interfaces: Vec<InterfaceState>,
}

/// Device-provided texts set by [`crate::Control::set_texts`] and
/// [`crate::Control::update_texts`]; `None` keeps the generated text. The body of
/// `POST /devices/{n}/texts`, every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceTexts {
    /// sysName.0 (and lldpLocSysName.0, and lldpRemSysName on the neighbours).
    pub sys_name: Option<String>,
    /// sysDescr.0 (and lldpLocSysDesc.0, and lldpRemSysDesc on the neighbours).
    pub sys_descr: Option<String>,
    /// sysLocation.0.
    pub sys_location: Option<String>,
    /// ifAlias of every interface.
    pub if_alias: Option<String>,
}

impl DeviceTexts {
    /// Takes every text `update` gives, keeping the others.
    pub fn update(&mut self, update: DeviceTexts) {
        let take = |mine: &mut Option<String>, given: Option<String>| {
            if given.is_some() {
                *mine = given;
            }
        };
        take(&mut self.sys_name, update.sys_name);
        take(&mut self.sys_descr, update.sys_descr);
        take(&mut self.sys_location, update.sys_location);
        take(&mut self.if_alias, update.if_alias);
    }
}

impl DeviceState {
    /// Device `number` as configured, booted at `now`, serving `table`.
    pub fn new(number: usize, config: &SimConfig, table: Arc<MibTable>, now: Instant) -> Self {
        let interfaces = (0..config.interfaces)
            .map(|position| {
                let seed = ((number as u64) << 32) | ((position as u64) << 1);
                InterfaceState {
                    up: true,
                    last_change: 0,
                    inbound: OctetCounter::new(config.in_bps, config.noise, mix(seed)),
                    outbound: OctetCounter::new(config.out_bps, config.noise, mix(seed | 1)),
                    in_wrap_shift: 0,
                    out_wrap_shift: 0,
                }
            })
            .collect();
        Self {
            number,
            booted: now,
            speed_bps: config.speed_bps,
            offset: 0,
            table,
            neighbours: Vec::new(),
            neighbour_rows: None,
            delay: Duration::ZERO,
            silent: false,
            texts: DeviceTexts::default(),
            interfaces,
        }
    }

    /// The OIDs this device serves.
    pub fn table(&self) -> MibView<'_> {
        MibView::new(&self.table, self.neighbour_rows.as_ref())
    }

    /// Reports `neighbours` in LLDP-MIB from now on (none: no lldpRemTable rows at all).
    pub fn set_neighbours(&mut self, neighbours: Vec<Neighbour>) {
        self.neighbours = neighbours;
        self.build_neighbour_rows();
    }

    fn build_neighbour_rows(&mut self) {
        self.neighbour_rows = if self.neighbours.is_empty() {
            None
        } else {
            Some(MibTable::neighbour_rows(&self.neighbours, self.offset))
        };
    }

    /// What the device tells a neighbour cabled to the interface at `position`; `address`
    /// is where the device answers.
    pub fn port_identity(&self, position: usize, address: IpAddr) -> Option<PortIdentity> {
        (position < self.interfaces.len()).then(|| PortIdentity {
            chassis_id: lldp::chassis_id(self.number),
            sys_name: self.sys_name(),
            sys_descr: self.sys_descr(),
            port_name: port_name(position),
            port_descr: self.port_descr(position),
            if_index: if_index(position, self.offset),
            address,
        })
    }

    /// The device's sysName.
    pub fn sys_name(&self) -> String {
        match &self.texts.sys_name {
            Some(name) => name.clone(),
            None => format!("sim-{}", self.number),
        }
    }

    fn sys_descr(&self) -> String {
        match &self.texts.sys_descr {
            Some(descr) => descr.clone(),
            None => format!("netpulse simulated device {}", self.number),
        }
    }

    fn port_descr(&self, position: usize) -> String {
        format!("sim-{} port {}", self.number, position)
    }

    /// Number of interfaces.
    pub fn interface_count(&self) -> usize {
        self.interfaces.len()
    }

    /// Serves `table`, built for `offset`, from now on.
    pub fn renumber(&mut self, offset: u32, table: Arc<MibTable>) {
        self.offset = offset;
        self.table = table;
        self.build_neighbour_rows();
    }

    /// Restarts the clock and every counter, as a reboot does.
    pub fn reboot(&mut self, now: Instant) {
        self.booted = now;
        for interface in &mut self.interfaces {
            interface.inbound.restart();
            interface.outbound.restart();
            interface.last_change = 0;
            interface.in_wrap_shift = 0;
            interface.out_wrap_shift = 0;
        }
    }

    /// Brings the interface at `position` up or down; a down interface's counters stop.
    /// Returns `false` when there is no such interface.
    pub fn set_oper_status(&mut self, position: usize, up: bool, now: Instant) -> bool {
        let seconds = self.seconds(now);
        let ticks = self.uptime_ticks(now);
        let Some(interface) = self.interfaces.get_mut(position) else {
            return false;
        };
        if interface.up != up {
            interface.up = up;
            interface.last_change = ticks;
            interface.inbound.set_running(seconds, up);
            interface.outbound.set_running(seconds, up);
        }
        true
    }

    /// Sets the mean traffic of every interface from `now` on.
    pub fn set_rate(&mut self, in_bps: u64, out_bps: u64, now: Instant) {
        let seconds = self.seconds(now);
        for interface in &mut self.interfaces {
            interface.inbound.set_rate(seconds, in_bps);
            interface.outbound.set_rate(seconds, out_bps);
        }
    }

    /// Shifts every 32-bit octet counter so it wraps within `within` even at the slowest the
    /// traffic wobbles; the 64-bit counters are untouched.
    pub fn wrap_soon(&mut self, within: Duration, now: Instant) {
        let seconds = self.seconds(now);
        let window = within.as_secs_f64();
        for interface in &mut self.interfaces {
            interface.in_wrap_shift = wrap_shift(&interface.inbound, seconds, window);
            interface.out_wrap_shift = wrap_shift(&interface.outbound, seconds, window);
        }
    }

    /// The value of `object` at `now`.
    pub fn value(&self, object: Object, now: Instant) -> Value {
        match object {
            Object::SysDescr => text(self.sys_descr()),
            Object::SysObjectId => Value::ObjectIdentifier(SYS_OBJECT_ID.to_vec()),
            Object::SysUpTime => Value::TimeTicks(self.uptime_ticks(now)),
            Object::SysContact => text("netpulse operators".to_owned()),
            Object::SysName => text(self.sys_name()),
            Object::SysLocation => match &self.texts.sys_location {
                Some(location) => text(location.clone()),
                None => text(format!("netpulse lab, rack {}", self.number / 40)),
            },
            Object::SysServices => Value::Integer(SYS_SERVICES),
            Object::IfNumber => Value::Integer(i64::try_from(self.interfaces.len()).unwrap_or(0)),
            Object::Interface { column, position } => self.interface_value(column, position, now),
            Object::Lldp(object) => self.lldp_value(object),
        }
    }

    fn lldp_value(&self, object: LldpObject) -> Value {
        let present = |position: usize| position < self.interfaces.len();
        match object {
            LldpObject::LocChassisIdSubtype => Value::Integer(lldp::CHASSIS_ID_MAC_ADDRESS),
            LldpObject::LocChassisId => Value::OctetString(lldp::chassis_id(self.number).to_vec()),
            LldpObject::LocSysName => text(self.sys_name()),
            LldpObject::LocSysDesc => text(self.sys_descr()),
            LldpObject::LocPort { position, .. } if !present(position) => Value::NoSuchInstance,
            LldpObject::LocPort { column, position } => match column {
                LocPortColumn::IdSubtype => Value::Integer(lldp::PORT_ID_INTERFACE_NAME),
                LocPortColumn::Id => text(port_name(position)),
                LocPortColumn::Desc => text(self.port_descr(position)),
            },
            LldpObject::Remote { column, neighbour } => self
                .neighbours
                .get(neighbour)
                .map_or(Value::NoSuchInstance, |seen| {
                    seen.remote.remote_value(column)
                }),
            LldpObject::RemoteManAddr { column, neighbour } => self
                .neighbours
                .get(neighbour)
                .map_or(Value::NoSuchInstance, |seen| {
                    seen.remote.man_addr_value(column)
                }),
        }
    }

    fn interface_value(&self, column: IfColumn, position: usize, now: Instant) -> Value {
        let Some(interface) = self.interfaces.get(position) else {
            return Value::NoSuchInstance;
        };
        let seconds = || self.seconds(now);
        match column {
            IfColumn::Index => Value::Integer(i64::from(if_index(position, self.offset))),
            IfColumn::Descr => text(self.port_descr(position)),
            IfColumn::Type => Value::Integer(ETHERNET_CSMACD),
            IfColumn::Mtu => Value::Integer(MTU),
            IfColumn::Speed => Value::Gauge32(u32::try_from(self.speed_bps).unwrap_or(u32::MAX)),
            IfColumn::PhysAddress => {
                Value::OctetString(mac_address(self.number, position).to_vec())
            }
            IfColumn::AdminStatus => Value::Integer(STATUS_UP),
            IfColumn::OperStatus => {
                Value::Integer(if interface.up { STATUS_UP } else { STATUS_DOWN })
            }
            IfColumn::LastChange => Value::TimeTicks(interface.last_change),
            IfColumn::InOctets => Value::Counter32(
                low32(interface.inbound.at(seconds())).wrapping_add(interface.in_wrap_shift),
            ),
            IfColumn::OutOctets => Value::Counter32(
                low32(interface.outbound.at(seconds())).wrapping_add(interface.out_wrap_shift),
            ),
            IfColumn::Name => text(port_name(position)),
            IfColumn::HcInOctets => Value::Counter64(interface.inbound.at(seconds())),
            IfColumn::HcOutOctets => Value::Counter64(interface.outbound.at(seconds())),
            IfColumn::HighSpeed => {
                Value::Gauge32(u32::try_from(self.speed_bps / 1_000_000).unwrap_or(u32::MAX))
            }
            IfColumn::Alias => match &self.texts.if_alias {
                Some(alias) => text(alias.clone()),
                None => text(format!("uplink {position}")),
            },
        }
    }

    fn seconds(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.booted).as_secs_f64()
    }

    /// sysUpTime: hundredths of a second since boot, modulo 2^32.
    fn uptime_ticks(&self, now: Instant) -> u32 {
        low32((now.saturating_duration_since(self.booted).as_millis() / 10) as u64)
    }
}

/// The shift that puts a 32-bit view of `counter` `(1 − noise) × rate × window` bytes short of
/// wrapping at `seconds` after boot.
fn wrap_shift(counter: &OctetCounter, seconds: f64, window: f64) -> u32 {
    let distance = (counter.bytes_per_second() * counter.slowest_share() * window)
        .clamp(1.0, f64::from(u32::MAX)) as u32;
    // 2^32 − distance, as a u32.
    let target = distance.wrapping_neg();
    target.wrapping_sub(low32(counter.at(seconds)))
}

/// ifName of the interface at `position`.
fn port_name(position: usize) -> String {
    format!("eth{position}")
}

/// A locally administered MAC address unique to the device and position.
fn mac_address(device: usize, position: usize) -> [u8; 6] {
    let device = (device as u32).to_be_bytes();
    let position = (position as u16).to_be_bytes();
    [
        0x02,
        device[1],
        device[2],
        device[3],
        position[0],
        position[1],
    ]
}

fn text(value: String) -> Value {
    Value::OctetString(value.into_bytes())
}

fn low32(value: u64) -> u32 {
    (value & u64::from(u32::MAX)) as u32
}

fn mix(seed: u64) -> u64 {
    let mut state = seed;
    splitmix64(&mut state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(config: &SimConfig, now: Instant) -> DeviceState {
        let table = Arc::new(MibTable::build(config.interfaces, 0));
        DeviceState::new(5, config, table, now)
    }

    fn counter32(value: Value) -> u32 {
        match value {
            Value::Counter32(value) => value,
            other => panic!("expected a Counter32, got {other:?}"),
        }
    }

    fn counter64(value: Value) -> u64 {
        match value {
            Value::Counter64(value) => value,
            other => panic!("expected a Counter64, got {other:?}"),
        }
    }

    fn cell(column: IfColumn, position: usize) -> Object {
        Object::Interface { column, position }
    }

    #[test]
    fn identity_values() {
        let start = Instant::now();
        let sim = device(&SimConfig::default(), start);
        assert_eq!(sim.value(Object::SysName, start), text("sim-5".to_owned()));
        assert_eq!(
            sim.value(cell(IfColumn::Descr, 2), start),
            text("sim-5 port 2".to_owned())
        );
        assert_eq!(
            sim.value(cell(IfColumn::Name, 3), start),
            text("eth3".to_owned())
        );
        assert_eq!(
            sim.value(cell(IfColumn::Speed, 0), start),
            Value::Gauge32(1_000_000_000)
        );
        assert_eq!(
            sim.value(cell(IfColumn::HighSpeed, 0), start),
            Value::Gauge32(1_000)
        );
        assert_eq!(
            sim.value(cell(IfColumn::PhysAddress, 1), start),
            Value::OctetString(vec![2, 0, 0, 5, 0, 1])
        );
        assert_eq!(
            sim.value(Object::SysUpTime, start + Duration::from_millis(12_345)),
            Value::TimeTicks(1_234)
        );
    }

    #[test]
    fn wrap_soon_wraps_the_32_bit_counter_only() {
        let start = Instant::now();
        let mut sim = device(&SimConfig::default(), start);
        let now = start + Duration::from_secs(30);
        sim.wrap_soon(Duration::from_secs(10), now);
        let before = counter32(sim.value(cell(IfColumn::InOctets, 0), now));
        assert!(before > u32::MAX - 12_500_000, "{before}");
        let later = now + Duration::from_secs(10);
        let after = counter32(sim.value(cell(IfColumn::InOctets, 0), later));
        assert!(after < before, "{after} should have wrapped past {before}");
        let hc_now = counter64(sim.value(cell(IfColumn::HcInOctets, 0), now));
        let hc_later = counter64(sim.value(cell(IfColumn::HcInOctets, 0), later));
        assert_eq!(hc_later - hc_now, u64::from(after.wrapping_sub(before)));
    }

    #[test]
    fn a_down_interface_stops_counting_and_records_the_change() {
        let start = Instant::now();
        let mut sim = device(&SimConfig::default(), start);
        let down_at = start + Duration::from_secs(3);
        assert!(sim.set_oper_status(1, false, down_at));
        assert!(!sim.set_oper_status(9, false, down_at));
        let frozen = counter64(sim.value(cell(IfColumn::HcOutOctets, 1), down_at));
        let later = down_at + Duration::from_secs(60);
        assert_eq!(
            counter64(sim.value(cell(IfColumn::HcOutOctets, 1), later)),
            frozen
        );
        assert_eq!(
            sim.value(cell(IfColumn::OperStatus, 1), later),
            Value::Integer(2)
        );
        assert_eq!(
            sim.value(cell(IfColumn::LastChange, 1), later),
            Value::TimeTicks(300)
        );
        assert!(counter64(sim.value(cell(IfColumn::HcOutOctets, 0), later)) > frozen);
    }

    #[test]
    fn reboot_restarts_the_clock_and_the_counters() {
        let start = Instant::now();
        let mut sim = device(&SimConfig::default(), start);
        let now = start + Duration::from_secs(3_600);
        sim.set_oper_status(0, false, now - Duration::from_secs(10));
        sim.reboot(now);
        assert_eq!(sim.value(Object::SysUpTime, now), Value::TimeTicks(0));
        assert_eq!(
            sim.value(cell(IfColumn::HcInOctets, 1), now),
            Value::Counter64(0)
        );
        assert_eq!(
            sim.value(cell(IfColumn::LastChange, 0), now),
            Value::TimeTicks(0)
        );
        let soon = now + Duration::from_secs(1);
        assert!(counter64(sim.value(cell(IfColumn::HcInOctets, 1), soon)) < 1_500_000);
    }
}
