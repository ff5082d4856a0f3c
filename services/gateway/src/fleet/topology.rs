//! `GET /api/topology`: the network as the devices' LLDP and CDP neighbour tables draw it.
//!
//! Each device is a node. A neighbour is matched to a device by its chassis ID (the device's
//! own lldpLocChassisId), else by its system name (sysName or the device's name, whole, before
//! its first dot, or a CDP device ID without its serial in brackets), else by its management
//! address (the device's address): each only when one device alone matches. A neighbour
//! matching no device becomes a placeholder node of its own, shared by every device that
//! sees it. A link joins two ends, each a node and, where known, one of its interfaces; the
//! same link reported by both ends (or by LLDP and CDP) is one link.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use netpulse_shared::discovery::{Neighbour, NeighbourProtocol};
use netpulse_shared::interfaces::IfStatus;
use netpulse_shared::messages::Reachability;
use netpulse_shared::snmp::Host;
use serde::Serialize;

use crate::fleet::found::Found;
use crate::fleet::ports::{with_fleet, Seen};
use crate::observed::Observed;

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A device netpulse polls.
    Device,
    /// A neighbour no device matches.
    Unknown,
}

/// A node of the map. Texts of placeholders are the neighbour tables': show them as text.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// The device id, or `neighbour:` and the neighbour's chassis ID or system name.
    pub id: String,
    /// Device or placeholder.
    pub kind: NodeKind,
    /// The device's name, or the neighbour's system name (else its chassis ID).
    pub name: String,
    /// A device's reachability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Reachability>,
    /// The system's description (a placeholder's platform as its neighbours report it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub platform: String,
    /// The chassis ID, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub chassis_id: String,
}

/// One end of a link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkEnd {
    /// The node's id.
    pub node: String,
    /// The interface's ifIndex, when the end is a device's interface netpulse knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_index: Option<u32>,
    /// The interface's stable key, else the port as the neighbour table names it.
    pub port: String,
}

impl LinkEnd {
    /// What tells this end from another of the same node.
    fn identity(&self) -> (String, String) {
        let port = self.if_index.map_or_else(
            || format!("port:{}", self.port.to_lowercase()),
            |i| format!("if:{i}"),
        );
        (self.node.clone(), port)
    }
}

/// A link's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Every known end is up.
    Up,
    /// An end's device is down, or an end's interface is not operationally up.
    Down,
    /// Nothing is known of its ends' state.
    Unknown,
}

/// A link between two nodes.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// Stable id: both ends' identities, in order.
    pub id: String,
    /// One end (the device that reported it, or the lesser end when both did).
    pub source: LinkEnd,
    /// The other end.
    pub target: LinkEnd,
    /// By which protocols it was learned.
    pub protocols: Vec<NeighbourProtocol>,
    /// The lower known speed of its ends, bits per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_bps: Option<u64>,
    /// Up, down or unknown.
    pub state: LinkState,
    /// The highest utilisation of its known ends at their latest samples, either direction.
    pub utilisation: Option<f64>,
}

/// The answer of `GET /api/topology`.
#[derive(Debug, Clone, Serialize)]
pub struct Topology {
    /// Devices and placeholders, by id.
    pub nodes: Vec<Node>,
    /// Links, by id.
    pub links: Vec<Link>,
}

/// Name forms a system may be known by: whole, before its first dot, and without a
/// bracketed serial (CDP device IDs read `name(SERIAL)`), all in lower case.
fn name_forms(name: &str) -> Vec<String> {
    let mut forms = Vec::new();
    let whole = name.trim().to_lowercase();
    if whole.is_empty() {
        return forms;
    }
    let unbracketed = match whole.find('(') {
        Some(at) if whole.ends_with(')') && at > 0 => whole[..at].trim().to_owned(),
        _ => whole.clone(),
    };
    for form in [whole.clone(), unbracketed.clone()] {
        if let Some((first, _)) = form.split_once('.') {
            if !first.is_empty() && first.parse::<u8>().is_err() {
                forms.push(first.to_owned());
            }
        }
        forms.push(form);
    }
    forms.sort();
    forms.dedup();
    forms
}

/// Which devices each chassis ID, name and address leads to.
#[derive(Default)]
struct Directory {
    chassis: HashMap<String, Vec<usize>>,
    names: HashMap<String, Vec<usize>>,
    addresses: HashMap<IpAddr, Vec<usize>>,
}

impl Directory {
    fn new(devices: &[Seen<'_>]) -> Self {
        let mut directory = Self::default();
        let add = |map: &mut HashMap<String, Vec<usize>>, key: String, at: usize| {
            let entry = map.entry(key).or_default();
            if !entry.contains(&at) {
                entry.push(at);
            }
        };
        for (at, seen) in devices.iter().enumerate() {
            if let Some(found) = seen.found {
                if !found.chassis_id.is_empty() {
                    add(&mut directory.chassis, found.chassis_id.to_lowercase(), at);
                }
                for form in name_forms(&found.system_name) {
                    add(&mut directory.names, form, at);
                }
            }
            for form in name_forms(seen.device.name.as_str()) {
                add(&mut directory.names, form, at);
            }
            let address = match &seen.device.address.host {
                Host::V4(ip) => Some(IpAddr::V4(*ip)),
                Host::V6(ip) => Some(IpAddr::V6(*ip)),
                Host::Name(_) => None,
            };
            if let Some(ip) = address {
                directory.addresses.entry(ip).or_default().push(at);
            }
        }
        directory
    }

    /// The one device `neighbour` names, if exactly one does by the first key that names
    /// any.
    fn find(&self, neighbour: &Neighbour) -> Option<usize> {
        let only = |candidates: Option<&Vec<usize>>| match candidates.map(Vec::as_slice) {
            Some([one]) => Some(Some(*one)),
            Some([_, _, ..]) => Some(None),
            _ => None,
        };
        if !neighbour.chassis_id.is_empty() {
            if let Some(found) = only(self.chassis.get(&neighbour.chassis_id.to_lowercase())) {
                return found;
            }
        }
        for form in name_forms(&neighbour.system_name) {
            if let Some(found) = only(self.names.get(&form)) {
                return found;
            }
        }
        let address = neighbour.address?;
        only(self.addresses.get(&address)).flatten()
    }
}

/// The interface of `found` a neighbour's port ID or description names.
fn port_on(found: &Found, port_id: &str, port_descr: &str) -> Option<u32> {
    for wanted in [port_id, port_descr] {
        let wanted = wanted.trim().to_lowercase();
        if wanted.is_empty() {
            continue;
        }
        let hit = found
            .interfaces
            .iter()
            .find(|i| i.key_lower == wanted)
            .or_else(|| found.interfaces.iter().find(|i| i.descr_lower == wanted))
            .or_else(|| {
                found
                    .interfaces
                    .iter()
                    .find(|i| i.interface.name.to_lowercase() == wanted)
            });
        if let Some(hit) = hit {
            return Some(hit.interface.index);
        }
    }
    None
}

/// The interface a neighbour entry is on, on its reporting device.
fn local_end(seen: &Seen<'_>, found: &Found, neighbour: &Neighbour) -> LinkEnd {
    let index = neighbour
        .local_if_index
        .filter(|i| found.interface(*i).is_some());
    LinkEnd {
        node: seen.device.id.to_string(),
        if_index: index,
        port: index
            .and_then(|i| found.interface(i))
            .map_or_else(|| neighbour.local_port.clone(), |i| i.key.clone()),
    }
}

fn placeholder_id(neighbour: &Neighbour) -> Option<String> {
    let key = if neighbour.chassis_id.is_empty() {
        neighbour.system_name.trim().to_lowercase()
    } else {
        neighbour.chassis_id.to_lowercase()
    };
    (!key.is_empty()).then(|| format!("neighbour:{key}"))
}

/// The topology of every device held, with each link's state and utilisation now.
pub fn topology(observed: &Observed) -> Topology {
    with_fleet(observed, |devices| {
        let directory = Directory::new(devices);
        let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
        for seen in devices {
            nodes.insert(
                seen.device.id.to_string(),
                Node {
                    id: seen.device.id.to_string(),
                    kind: NodeKind::Device,
                    name: seen.device.name.as_str().to_owned(),
                    state: Some(observed.metrics.reachability(&seen.device.id)),
                    platform: String::new(),
                    chassis_id: seen.found.map(|f| f.chassis_id.clone()).unwrap_or_default(),
                },
            );
        }
        let mut links: BTreeMap<String, Link> = BTreeMap::new();
        for (at, seen) in devices.iter().enumerate() {
            let Some(found) = seen.found else { continue };
            for neighbour in &found.neighbours {
                let local = local_end(seen, found, neighbour);
                let remote = match directory.find(neighbour) {
                    Some(other) => {
                        let there = &devices[other];
                        let on = there.found.and_then(|f| {
                            port_on(f, &neighbour.port_id, &neighbour.port_descr)
                                // Else the other device's own report of this link.
                                .or_else(|| reported_back(&directory, at, &local, f))
                        });
                        LinkEnd {
                            node: there.device.id.to_string(),
                            if_index: on,
                            port: on
                                .and_then(|i| there.found?.interface(i))
                                .map_or_else(|| remote_port(neighbour), |i| i.key.clone()),
                        }
                    }
                    None => {
                        let Some(id) = placeholder_id(neighbour) else {
                            continue;
                        };
                        let node = nodes.entry(id.clone()).or_insert_with(|| Node {
                            id: id.clone(),
                            kind: NodeKind::Unknown,
                            name: if neighbour.system_name.is_empty() {
                                neighbour.chassis_id.clone()
                            } else {
                                neighbour.system_name.clone()
                            },
                            state: None,
                            platform: neighbour.platform.clone(),
                            chassis_id: neighbour.chassis_id.clone(),
                        });
                        if node.platform.is_empty() {
                            node.platform = neighbour.platform.clone();
                        }
                        LinkEnd {
                            node: id,
                            if_index: None,
                            port: remote_port(neighbour),
                        }
                    }
                };
                add_link(&mut links, local, remote, neighbour.protocol);
            }
        }
        let by_id: HashMap<&str, &Seen<'_>> =
            devices.iter().map(|s| (s.device.id.as_str(), s)).collect();
        for link in links.values_mut() {
            measure(observed, &by_id, link);
        }
        Topology {
            nodes: nodes.into_values().collect(),
            links: links.into_values().collect(),
        }
    })
}

/// The remote port as a neighbour entry names it.
fn remote_port(neighbour: &Neighbour) -> String {
    if neighbour.port_id.is_empty() {
        neighbour.port_descr.clone()
    } else {
        neighbour.port_id.clone()
    }
}

/// The interface of the device whose discovery is `found` whose own neighbour entry names
/// the device at `here` on the port of `local`.
fn reported_back(
    directory: &Directory,
    here: usize,
    local: &LinkEnd,
    found: &Found,
) -> Option<u32> {
    let port = local.port.to_lowercase();
    found
        .neighbours
        .iter()
        .filter(|n| directory.find(n) == Some(here))
        .find(|n| n.port_id.to_lowercase() == port || n.port_descr.to_lowercase() == port)
        .and_then(|n| n.local_if_index.filter(|i| found.interface(*i).is_some()))
}

/// Adds the link between `a` and `b`, or the protocol to it when it is known already (from
/// the other end, or the other protocol). A half known end (no ifIndex) gives way to the
/// same link known with it.
fn add_link(
    links: &mut BTreeMap<String, Link>,
    a: LinkEnd,
    b: LinkEnd,
    protocol: NeighbourProtocol,
) {
    if a.node == b.node && a.identity() == b.identity() {
        return;
    }
    let (source, target) = if a.identity() <= b.identity() {
        (a, b)
    } else {
        (b, a)
    };
    let id = format!(
        "{}/{}--{}/{}",
        source.identity().0,
        source.identity().1,
        target.identity().0,
        target.identity().1
    );
    let add_protocol = |link: &mut Link| {
        if !link.protocols.contains(&protocol) {
            link.protocols.push(protocol);
            link.protocols.sort();
        }
    };
    if let Some(link) = links.get_mut(&id) {
        add_protocol(link);
        return;
    }
    // The same link with an end less well known (no ifIndex): keep the better known one.
    let twin = links
        .iter()
        .find(|(_, l)| {
            same_end(&l.source, &source) && same_end(&l.target, &target)
                || same_end(&l.source, &target) && same_end(&l.target, &source)
        })
        .map(|(key, _)| key.clone());
    let known = |a: &LinkEnd, b: &LinkEnd| {
        usize::from(a.if_index.is_some()) + usize::from(b.if_index.is_some())
    };
    let mut link = match twin.and_then(|key| links.remove(&key)) {
        Some(twin) if known(&twin.source, &twin.target) >= known(&source, &target) => twin,
        Some(twin) => Link {
            id,
            source,
            target,
            ..twin
        },
        None => Link {
            id,
            source,
            target,
            protocols: Vec::new(),
            speed_bps: None,
            state: LinkState::Unknown,
            utilisation: None,
        },
    };
    add_protocol(&mut link);
    links.insert(link.id.clone(), link);
}

/// Whether two ends may be the same: the same node, and the same interface where both know
/// it, else the same port name.
fn same_end(a: &LinkEnd, b: &LinkEnd) -> bool {
    a.node == b.node
        && match (a.if_index, b.if_index) {
            (Some(x), Some(y)) => x == y,
            _ => a.port.eq_ignore_ascii_case(&b.port),
        }
}

/// The link's speed, state and utilisation from its ends' latest samples and reachability.
fn measure(observed: &Observed, devices: &HashMap<&str, &Seen<'_>>, link: &mut Link) {
    let mut states = Vec::new();
    let mut speeds = Vec::new();
    let mut busiest: Option<f64> = None;
    for end in [&link.source, &link.target] {
        let Some(seen) = devices.get(end.node.as_str()) else {
            continue;
        };
        let reachability = observed.metrics.reachability(&seen.device.id);
        if reachability == Reachability::Down {
            states.push(LinkState::Down);
        }
        let Some(index) = end.if_index else { continue };
        let discovered = seen.found.and_then(|f| f.interface(index));
        let shown = seen.rates_of(index);
        let oper = shown
            .and_then(|s| s.oper_status)
            .or_else(|| discovered.map(|i| i.interface.oper_status));
        match oper {
            Some(IfStatus::Up) => states.push(LinkState::Up),
            Some(_) => states.push(LinkState::Down),
            None => {}
        }
        let speed = shown
            .and_then(|s| s.speed_bps)
            .or_else(|| discovered.map(|i| i.interface.speed_bps))
            .filter(|s| *s > 0);
        if let Some(speed) = speed {
            speeds.push(speed);
            if let Some(shown) = shown {
                for bps in [shown.in_bps, shown.out_bps].into_iter().flatten() {
                    let used = bps / speed as f64;
                    busiest = Some(busiest.map_or(used, |b| b.max(used)));
                }
            }
        }
    }
    link.speed_bps = speeds.into_iter().min();
    link.utilisation = busiest;
    link.state = if states.contains(&LinkState::Down) {
        LinkState::Down
    } else if states.is_empty() {
        LinkState::Unknown
    } else {
        LinkState::Up
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_known_whole_short_and_without_a_serial() {
        assert_eq!(
            name_forms("NWPU-CA-5548-02(SSI183706KA)"),
            ["nwpu-ca-5548-02", "nwpu-ca-5548-02(ssi183706ka)"]
        );
        assert_eq!(
            name_forms("core1.example.net"),
            ["core1", "core1.example.net"]
        );
        assert_eq!(
            name_forms("10.0.0.1"),
            ["10.0.0.1"],
            "an address is not cut"
        );
        assert!(name_forms("  ").is_empty());
    }
}
