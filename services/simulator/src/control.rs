//! [`Control`]: the handle tests and the HTTP API use to make devices misbehave.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::device::DeviceState;
use crate::mib::{clamp_offset, MibTable};

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
        self.with(device, |state| state.renumber(offset, table))
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
        let texts = crate::device::DeviceTexts {
            sys_descr: sys_descr.to_owned(),
            sys_location: sys_location.to_owned(),
            if_alias: if_alias.to_owned(),
        };
        self.with(device, |state| state.texts = Some(texts))
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
