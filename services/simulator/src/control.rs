//! [`Control`]: the handle tests and the HTTP API use to make devices misbehave.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::device::{DeviceState, DeviceTexts};
use crate::lldp::{format_mac, Neighbour, PortIdentity};
use crate::mib::{clamp_offset, MibTable};
use crate::wiring::{Link, LinkDescription, Port, PortDescription, Wiring, WiringError};

/// A control naming a device or interface that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlError {
    /// No device with this number.
    NoSuchDevice {
        /// The number asked for.
        device: usize,
    },
    /// The device has no interface at this position.
    NoSuchInterface {
        /// The device.
        device: usize,
        /// The position asked for (0-based).
        interface: usize,
    },
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::NoSuchDevice { device } => write!(f, "no device {device}"),
            ControlError::NoSuchInterface { device, interface } => {
                write!(f, "device {device} has no interface {interface}")
            }
        }
    }
}

impl std::error::Error for ControlError {}

/// One device: its state behind a lock only ever held for a request's computation.
#[derive(Debug)]
pub(crate) struct Device {
    state: Mutex<DeviceState>,
}

impl Device {
    pub(crate) fn new(state: DeviceState) -> Self {
        Self {
            state: Mutex::new(state),
        }
    }

    /// The state, even if a panic once happened while it was held (it stays consistent:
    /// every change is a plain field update).
    pub(crate) fn lock(&self) -> MutexGuard<'_, DeviceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// MIB tables by ifIndex offset, shared by every device with that offset.
#[derive(Debug)]
pub(crate) struct TableCache {
    interfaces: usize,
    tables: Mutex<HashMap<u32, Arc<MibTable>>>,
}

impl TableCache {
    pub(crate) fn new(interfaces: usize) -> Self {
        Self {
            interfaces,
            tables: Mutex::new(HashMap::new()),
        }
    }

    /// The table for `offset` (already clamped), built on first use.
    pub(crate) fn table(&self, offset: u32) -> Arc<MibTable> {
        let mut tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        tables
            .entry(offset)
            .or_insert_with(|| Arc::new(MibTable::build(self.interfaces, offset)))
            .clone()
    }
}

/// What every control handle shares.
#[derive(Debug)]
pub(crate) struct Devices {
    pub(crate) devices: Vec<Arc<Device>>,
    pub(crate) addresses: Vec<SocketAddr>,
    pub(crate) tables: TableCache,
    /// The links. Held while neighbours are refreshed, one device lock at a time, so
    /// refreshes never interleave and no two device locks are ever held together.
    pub(crate) wiring: Mutex<Wiring>,
}

/// A cloneable handle on a running simulator's devices. Devices are numbered from 0 in
/// address order; interfaces by their 0-based position on the device.
#[derive(Debug, Clone)]
pub struct Control {
    shared: Arc<Devices>,
}

impl Control {
    pub(crate) fn new(shared: Arc<Devices>) -> Self {
        Self { shared }
    }

    /// Number of devices.
    pub fn device_count(&self) -> usize {
        self.shared.devices.len()
    }

    /// Every device's address, indexed by device number.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.shared.addresses.clone()
    }

    /// Shifts the device's 32-bit ifInOctets / ifOutOctets so they wrap past 2^32 within
    /// `within` at the current rate. The 64-bit counters keep counting as before.
    pub fn wrap_soon(&self, device: usize, within: Duration) -> Result<(), ControlError> {
        self.with(device, |state| state.wrap_soon(within, Instant::now()))
    }

    /// Reboots the device: sysUpTime and every counter restart from 0, ifLastChange too.
    pub fn reboot(&self, device: usize) -> Result<(), ControlError> {
        self.with(device, |state| state.reboot(Instant::now()))
    }

    /// Gives every interface of the device ifIndex `position + 1 + offset` (names and
    /// descriptions stay). `0` restores the original numbering. Offsets that would push an
    /// ifIndex past 2147483647 are lowered to the largest that does not.
    pub fn renumber(&self, device: usize, offset: u32) -> Result<(), ControlError> {
        let offset = clamp_offset(self.device_state(device)?.interface_count(), offset);
        let table = self.shared.tables.table(offset);
        self.with(device, |state| state.renumber(offset, table))?;
        self.refresh_around(device);
        Ok(())
    }

    /// Sets ifOperStatus of one interface: up(1) or down(2). A down interface's counters
    /// hold still; ifLastChange records the moment.
    pub fn set_oper_status(
        &self,
        device: usize,
        interface: usize,
        up: bool,
    ) -> Result<(), ControlError> {
        let found = self.with(device, |state| {
            state.set_oper_status(interface, up, Instant::now())
        })?;
        if found {
            Ok(())
        } else {
            Err(ControlError::NoSuchInterface { device, interface })
        }
    }

    /// Answers the device's requests `delay` late (other requests and devices are not held
    /// up). `Duration::ZERO` answers at once again.
    pub fn set_delay(&self, device: usize, delay: Duration) -> Result<(), ControlError> {
        self.with(device, |state| state.delay = delay)
    }

    /// Drops every request to the device (`true`) or answers again (`false`).
    pub fn set_silent(&self, device: usize, silent: bool) -> Result<(), ControlError> {
        self.with(device, |state| state.silent = silent)
    }

    /// Replaces the device's sysDescr, sysLocation and every ifAlias (e.g. with hostile
    /// markup, to check it is shown as text).
    pub fn set_texts(
        &self,
        device: usize,
        sys_descr: &str,
        sys_location: &str,
        if_alias: &str,
    ) -> Result<(), ControlError> {
        self.update_texts(
            device,
            DeviceTexts {
                sys_name: None,
                sys_descr: Some(sys_descr.to_owned()),
                sys_location: Some(sys_location.to_owned()),
                if_alias: Some(if_alias.to_owned()),
            },
        )
    }

    /// Replaces the device's sysName, which its neighbours report as lldpRemSysName.
    pub fn set_sys_name(&self, device: usize, sys_name: &str) -> Result<(), ControlError> {
        self.update_texts(
            device,
            DeviceTexts {
                sys_name: Some(sys_name.to_owned()),
                ..DeviceTexts::default()
            },
        )
    }

    /// Replaces each text `texts` gives (the others stay); the neighbours' LLDP rows follow.
    pub fn update_texts(&self, device: usize, texts: DeviceTexts) -> Result<(), ControlError> {
        self.with(device, |state| state.texts.update(texts))?;
        self.refresh_around(device);
        Ok(())
    }

    /// Every link, both ends described as the devices now tell them.
    pub fn links(&self) -> Vec<LinkDescription> {
        let links = self.wiring().links().to_vec();
        links
            .into_iter()
            .filter_map(|link| {
                Some(LinkDescription {
                    a: self.describe(link.a)?,
                    b: self.describe(link.b)?,
                })
            })
            .collect()
    }

    /// Cables two interfaces: each reports the other in lldpRemTable from now on.
    pub fn add_link(&self, link: Link) -> Result<(), WiringError> {
        let mut wiring = self.wiring();
        wiring.add(link)?;
        self.refresh(&wiring, [link.a.device, link.b.device].into());
        Ok(())
    }

    /// Unplugs a link (given in either direction); both ends forget each other.
    pub fn remove_link(&self, link: Link) -> Result<(), WiringError> {
        let mut wiring = self.wiring();
        let removed = wiring.remove(link)?;
        self.refresh(&wiring, [removed.a.device, removed.b.device].into());
        Ok(())
    }

    /// Makes every linked device report its neighbours (at start).
    pub(crate) fn refresh_all(&self) {
        let wiring = self.wiring();
        let devices = wiring
            .links()
            .iter()
            .flat_map(|link| link.ends())
            .map(|port| port.device)
            .collect();
        self.refresh(&wiring, devices);
    }

    /// After `device` changed what it tells: it and every device cabled to it.
    fn refresh_around(&self, device: usize) {
        let wiring = self.wiring();
        let mut devices: BTreeSet<usize> = wiring
            .peers_of(device)
            .into_iter()
            .map(|(_, peer)| peer.device)
            .collect();
        devices.insert(device);
        self.refresh(&wiring, devices);
    }

    /// Gives each of `devices` a fresh copy of what its neighbours tell.
    fn refresh(&self, wiring: &Wiring, devices: BTreeSet<usize>) {
        for device in devices {
            let neighbours: Vec<Neighbour> = wiring
                .peers_of(device)
                .into_iter()
                .filter_map(|(local_position, peer)| {
                    Some(Neighbour {
                        local_position,
                        remote: self.identity(peer)?,
                    })
                })
                .collect();
            if let Ok(mut state) = self.device_state(device) {
                state.set_neighbours(neighbours);
            }
        }
    }

    /// What the device at `port` tells about it.
    fn identity(&self, port: Port) -> Option<PortIdentity> {
        let address = self.shared.addresses.get(port.device)?.ip();
        let state = self.device_state(port.device).ok()?;
        state.port_identity(port.interface, address)
    }

    fn describe(&self, port: Port) -> Option<PortDescription> {
        let identity = self.identity(port)?;
        Some(PortDescription {
            device: port.device,
            interface: port.interface,
            if_index: identity.if_index,
            if_name: identity.port_name,
            sys_name: identity.sys_name,
            chassis_id: format_mac(&identity.chassis_id),
        })
    }

    fn wiring(&self) -> MutexGuard<'_, Wiring> {
        self.shared
            .wiring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the mean traffic of every interface of the device, bits per second.
    pub fn set_rate(&self, device: usize, in_bps: u64, out_bps: u64) -> Result<(), ControlError> {
        self.with(device, |state| {
            state.set_rate(in_bps, out_bps, Instant::now())
        })
    }

    fn device_state(&self, device: usize) -> Result<MutexGuard<'_, DeviceState>, ControlError> {
        self.shared
            .devices
            .get(device)
            .map(|found| found.lock())
            .ok_or(ControlError::NoSuchDevice { device })
    }

    fn with<T>(
        &self,
        device: usize,
        change: impl FnOnce(&mut DeviceState) -> T,
    ) -> Result<T, ControlError> {
        let mut state = self.device_state(device)?;
        Ok(change(&mut state))
    }
}
