//! What discovery found on every device, held by the gateway from its watch of the
//! `netpulse_interfaces` bucket (the one the metrics follow, `crate::metrics::follow`) and prepared once per discovery for the fleet's searches: each
//! interface's texts in lower case, the device's neighbours.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use async_nats::jetstream::kv;
use netpulse_shared::device::DeviceId;
use netpulse_shared::discovery::{DeviceInterfaces, Neighbour};
use netpulse_shared::interfaces::Interface;

/// One interface of a discovery, with its texts in lower case for searching.
#[derive(Debug, Clone)]
pub struct IndexedInterface {
    /// As discovery found it.
    pub interface: Interface,
    /// Its stable key (ifName, else ifDescr).
    pub key: String,
    /// The key, in lower case.
    pub key_lower: String,
    /// ifAlias, in lower case.
    pub alias_lower: String,
    /// ifDescr, in lower case.
    pub descr_lower: String,
}

/// A device's discovery, prepared for the fleet's searches.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// sysName as the device reports it.
    pub system_name: String,
    /// sysName in lower case.
    pub system_name_lower: String,
    /// The device's own LLDP chassis ID, when it has LLDP.
    pub chassis_id: String,
    /// Its interfaces by ifIndex.
    pub interfaces: Vec<IndexedInterface>,
    /// Its LLDP and CDP neighbours.
    pub neighbours: Vec<Neighbour>,
}

impl Found {
    /// `found` prepared for searching.
    pub fn new(found: DeviceInterfaces) -> Self {
        let mut interfaces: Vec<IndexedInterface> = found
            .interfaces
            .into_iter()
            .map(|interface| {
                let key = interface.key();
                IndexedInterface {
                    key_lower: key.to_lowercase(),
                    alias_lower: interface.alias.to_lowercase(),
                    descr_lower: interface.descr.to_lowercase(),
                    key,
                    interface,
                }
            })
            .collect();
        interfaces.sort_by_key(|i| i.interface.index);
        Self {
            system_name_lower: found.system.name.to_lowercase(),
            system_name: found.system.name,
            chassis_id: found.chassis_id,
            interfaces,
            neighbours: found.neighbours,
        }
    }

    /// The interface with ifIndex `index`.
    pub fn interface(&self, index: u32) -> Option<&IndexedInterface> {
        self.interfaces
            .binary_search_by_key(&index, |i| i.interface.index)
            .ok()
            .map(|at| &self.interfaces[at])
    }
}

/// Every device's discovery as the watch of the `netpulse_interfaces` bucket last told.
#[derive(Debug, Clone, Default)]
pub struct HeldInterfaces(Arc<RwLock<HashMap<DeviceId, Arc<Found>>>>);

impl HeldInterfaces {
    /// A device's discovery, stored or changed.
    pub fn put(&self, device: DeviceId, found: DeviceInterfaces) {
        let found = Arc::new(Found::new(found));
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(device, found);
    }

    /// A device's discovery deleted.
    pub fn remove(&self, device: &DeviceId) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(device);
    }

    /// A device's discovery, if there is one.
    pub fn get(&self, device: &DeviceId) -> Option<Arc<Found>> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(device)
            .cloned()
    }

    /// `f` of every discovery held (a read lock is held meanwhile: keep `f` short).
    pub fn read<R>(&self, f: impl FnOnce(&HashMap<DeviceId, Arc<Found>>) -> R) -> R {
        f(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// A change of the `netpulse_interfaces` bucket, as its watch tells it.
    pub(crate) fn apply(&self, entry: &kv::Entry) {
        let Ok(id) = DeviceId::parse(&entry.key) else {
            return;
        };
        match serde_json::from_slice::<DeviceInterfaces>(&entry.value) {
            Ok(found) if entry.operation == kv::Operation::Put && found.device == id => {
                self.put(id, found);
            }
            _ => self.remove(&id),
        }
    }
}
