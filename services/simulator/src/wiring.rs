//! How simulated devices are cabled together: links between two interfaces, which each end
//! reports in its LLDP-MIB neighbour table.
//!
//! Ports are written `DEVICE:INTERFACE` with the 0-based numbers the control API uses
//! (interface `i` is `eth{i}`; its ifIndex is `i + 1` plus any renumbering offset, so a link
//! stays on the same interface when the device renumbers). A link is `A-B`, a list of links
//! `A-B,C-D`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One end of a link: an interface of a device, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Port {
    /// Device number (0-based).
    pub device: usize,
    /// Interface position on the device (0-based, as in `/devices/{n}/interfaces/{i}`).
    pub interface: usize,
}

/// A cable between two ports; `a-b` and `b-a` are the same link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// One end.
    pub a: Port,
    /// The other end.
    pub b: Port,
}

impl Link {
    /// Both ends.
    pub fn ends(self) -> [Port; 2] {
        [self.a, self.b]
    }

    /// The end across from `port`, when `port` is one of this link's ends.
    pub fn peer_of(self, port: Port) -> Option<Port> {
        if self.a == port {
            Some(self.b)
        } else if self.b == port {
            Some(self.a)
        } else {
            None
        }
    }

    /// Whether `other` joins the same two ports, in either direction.
    pub fn same_as(self, other: Link) -> bool {
        (self.a, self.b) == (other.a, other.b) || (self.a, self.b) == (other.b, other.a)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.device, self.interface)
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.a, self.b)
    }
}

impl FromStr for Port {
    type Err = WiringError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || WiringError::BadPort {
            part: text.to_owned(),
        };
        let (device, interface) = text.split_once(':').ok_or_else(bad)?;
        Ok(Port {
            device: number(device).ok_or_else(bad)?,
            interface: number(interface).ok_or_else(bad)?,
        })
    }
}

impl FromStr for Link {
    type Err = WiringError;

    /// `D:I-D:I`; a malformed end is named on its own.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (a, b) = text.split_once('-').ok_or_else(|| WiringError::BadSpec {
            part: text.to_owned(),
        })?;
        Ok(Link {
            a: a.parse()?,
            b: b.parse()?,
        })
    }
}

/// Only plain decimal digits (no sign, no spaces), so `--links` never reads more than it shows.
fn number(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads a comma-separated list of links (`0:3-1:0,1:3-2:0`); an empty text is no links.
pub fn parse_links(text: &str) -> Result<Vec<Link>, WiringError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(str::parse).collect()
}

/// A ready-made wiring: each device's last interface to the next device's first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Topology {
    /// No links.
    #[default]
    None,
    /// Device 0 to 1, 1 to 2, ... to the last.
    Line,
    /// A line whose last device is wired back to device 0 (from 3 devices on; two devices
    /// make a line).
    Ring,
}

impl Topology {
    /// The links of this topology over `devices` devices of `interfaces` interfaces each.
    /// With one interface a device uses it for both its neighbours, which the wiring then
    /// refuses: rings and lines of 3 or more devices need 2 interfaces.
    pub fn links(self, devices: usize, interfaces: usize) -> Vec<Link> {
        if self == Topology::None || devices < 2 || interfaces == 0 {
            return Vec::new();
        }
        let last = interfaces - 1;
        let link = |from: usize, to: usize| Link {
            a: Port {
                device: from,
                interface: last,
            },
            b: Port {
                device: to,
                interface: 0,
            },
        };
        let mut links: Vec<Link> = (0..devices - 1).map(|from| link(from, from + 1)).collect();
        if self == Topology::Ring && devices >= 3 {
            links.push(link(devices - 1, 0));
        }
        links
    }
}

impl FromStr for Topology {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(Topology::None),
            "line" => Ok(Topology::Line),
            "ring" => Ok(Topology::Ring),
            _ => Err(()),
        }
    }
}

/// A link as the control API lists it: both ends, each as its device now tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDescription {
    /// One end.
    pub a: PortDescription,
    /// The other end.
    pub b: PortDescription,
}

/// One end of a link and what LLDP says of it on the other end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortDescription {
    /// Device number.
    pub device: usize,
    /// Interface position (0-based).
    pub interface: usize,
    /// The interface's ifIndex now: its lldpLocPortNum, and the local port number indexing
    /// this device's lldpRemTable row for the link.
    pub if_index: u32,
    /// ifName, which is the LLDP port ID.
    pub if_name: String,
    /// sysName, which is the LLDP system name.
    pub sys_name: String,
    /// The LLDP chassis ID, a MAC address as `06:00:00:00:00:01`.
    pub chassis_id: String,
}

/// A link that cannot be made or unmade, or a text that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WiringError {
    /// Not `D:I-D:I`.
    BadSpec {
        /// The part that does not read.
        part: String,
    },
    /// A link end that is not `D:I`.
    BadPort {
        /// The part that does not read.
        part: String,
    },
    /// An end names a device that does not exist.
    NoSuchDevice {
        /// The end.
        port: Port,
        /// How many devices there are.
        devices: usize,
    },
    /// An end names an interface the device does not have.
    NoSuchInterface {
        /// The end.
        port: Port,
        /// How many interfaces each device has.
        interfaces: usize,
    },
    /// Both ends are the same interface.
    SamePort {
        /// The interface.
        port: Port,
    },
    /// An end is already cabled.
    PortInUse {
        /// The interface.
        port: Port,
        /// The link it is in.
        link: Link,
    },
    /// No such link to remove.
    NoSuchLink {
        /// The link asked for.
        link: Link,
    },
}

impl fmt::Display for WiringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WiringError::BadSpec { part } => write!(
                f,
                "{part:?} is not a link DEVICE:INTERFACE-DEVICE:INTERFACE (such as 0:3-1:0)"
            ),
            WiringError::BadPort { part } => write!(
                f,
                "{part:?} is not a link end DEVICE:INTERFACE (such as 1:0, both from 0)"
            ),
            WiringError::NoSuchDevice { port, devices } => write!(
                f,
                "link end {port}: no device {} (there are {devices}, from 0)",
                port.device
            ),
            WiringError::NoSuchInterface { port, interfaces } => write!(
                f,
                "link end {port}: device {} has no interface {} (it has {interfaces}, from 0)",
                port.device, port.interface
            ),
            WiringError::SamePort { port } => {
                write!(
                    f,
                    "link {port}-{port} would join interface {port} to itself"
                )
            }
            WiringError::PortInUse { port, link } => {
                write!(f, "interface {port} is already in link {link}")
            }
            WiringError::NoSuchLink { link } => write!(f, "no link {link}"),
        }
    }
}

impl std::error::Error for WiringError {}

/// The links of a run, each checked against the devices and the others: every port exists
/// and is in at most one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wiring {
    devices: usize,
    interfaces: usize,
    links: Vec<Link>,
}

impl Wiring {
    /// No links between `devices` devices of `interfaces` interfaces.
    pub fn new(devices: usize, interfaces: usize) -> Self {
        Self {
            devices,
            interfaces,
            links: Vec::new(),
        }
    }

    /// `links`, checked in order: the first that cannot be made is the error.
    pub fn with_links(
        devices: usize,
        interfaces: usize,
        links: &[Link],
    ) -> Result<Self, WiringError> {
        let mut wiring = Self::new(devices, interfaces);
        for link in links {
            wiring.add(*link)?;
        }
        Ok(wiring)
    }

    /// Every link, in the order made.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Adds `link` if both ends exist, differ and are free.
    pub fn add(&mut self, link: Link) -> Result<(), WiringError> {
        for port in link.ends() {
            if port.device >= self.devices {
                return Err(WiringError::NoSuchDevice {
                    port,
                    devices: self.devices,
                });
            }
            if port.interface >= self.interfaces {
                return Err(WiringError::NoSuchInterface {
                    port,
                    interfaces: self.interfaces,
                });
            }
        }
        if link.a == link.b {
            return Err(WiringError::SamePort { port: link.a });
        }
        for port in link.ends() {
            if let Some(existing) = self.link_at(port) {
                return Err(WiringError::PortInUse {
                    port,
                    link: existing,
                });
            }
        }
        self.links.push(link);
        Ok(())
    }

    /// Removes `link` (either direction); returns it as it was made.
    pub fn remove(&mut self, link: Link) -> Result<Link, WiringError> {
        let index = self
            .links
            .iter()
            .position(|made| made.same_as(link))
            .ok_or(WiringError::NoSuchLink { link })?;
        Ok(self.links.remove(index))
    }

    /// The link `port` is in.
    pub fn link_at(&self, port: Port) -> Option<Link> {
        self.links
            .iter()
            .copied()
            .find(|link| link.peer_of(port).is_some())
    }

    /// Each cabled interface of `device` with the port across, by interface position.
    pub fn peers_of(&self, device: usize) -> Vec<(usize, Port)> {
        let mut peers: Vec<(usize, Port)> = self
            .links
            .iter()
            .flat_map(|link| {
                link.ends()
                    .into_iter()
                    .filter(|end| end.device == device)
                    .filter_map(move |end| Some((end.interface, link.peer_of(end)?)))
            })
            .collect();
        peers.sort_unstable();
        peers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(device: usize, interface: usize) -> Port {
        Port { device, interface }
    }

    fn link(text: &str) -> Link {
        text.parse().expect("a link")
    }

    #[test]
    fn links_read_and_print_the_same() {
        assert_eq!(
            parse_links("0:3-1:0,1:3-2:0"),
            Ok(vec![
                Link {
                    a: port(0, 3),
                    b: port(1, 0)
                },
                Link {
                    a: port(1, 3),
                    b: port(2, 0)
                },
            ])
        );
        assert_eq!(link("12:0-7:5").to_string(), "12:0-7:5");
        assert_eq!(parse_links(""), Ok(Vec::new()));
    }

    #[test]
    fn a_bad_link_names_the_part_that_does_not_read() {
        let bad = |text: &str| match parse_links(text) {
            Err(WiringError::BadSpec { part } | WiringError::BadPort { part }) => part,
            other => panic!("{text}: expected a bad spec, got {other:?}"),
        };
        assert_eq!(bad("0:1-1:1,1:2"), "1:2");
        assert!(matches!(
            parse_links("0:1-1:1,1:2"),
            Err(WiringError::BadSpec { .. })
        ));
        assert!(matches!(
            parse_links("0:1-1:x"),
            Err(WiringError::BadPort { .. })
        ));
        assert_eq!(bad("0:1-1:x"), "1:x");
        assert_eq!(bad("0:1-1:1,"), "");
        assert_eq!(bad("0:-1-1:1"), "0:");
        assert_eq!(bad("0:+1-1:1"), "0:+1");
        assert_eq!(bad("a:1-1:1"), "a:1");
        assert_eq!(bad("0:1-1:1-2:2"), "1:1-2:2");
        assert!(WiringError::BadSpec {
            part: "1:2".to_owned()
        }
        .to_string()
        .starts_with("\"1:2\" is not a link"));
    }

    #[test]
    fn the_wiring_refuses_missing_reused_and_looped_ports() {
        let mut wiring = Wiring::new(3, 4);
        assert_eq!(wiring.add(link("0:3-1:0")), Ok(()));
        assert_eq!(
            wiring.add(link("1:0-2:0")),
            Err(WiringError::PortInUse {
                port: port(1, 0),
                link: link("0:3-1:0")
            })
        );
        assert_eq!(
            wiring.add(link("2:1-2:1")),
            Err(WiringError::SamePort { port: port(2, 1) })
        );
        assert_eq!(
            wiring.add(link("2:1-3:0")),
            Err(WiringError::NoSuchDevice {
                port: port(3, 0),
                devices: 3
            })
        );
        assert_eq!(
            wiring.add(link("2:4-1:1")),
            Err(WiringError::NoSuchInterface {
                port: port(2, 4),
                interfaces: 4
            })
        );
        // Two interfaces of one device may be cabled to each other.
        assert_eq!(wiring.add(link("2:1-2:2")), Ok(()));
        assert_eq!(wiring.peers_of(2), vec![(1, port(2, 2)), (2, port(2, 1))]);
        assert_eq!(wiring.peers_of(1), vec![(0, port(0, 3))]);
        assert_eq!(wiring.remove(link("1:0-0:3")), Ok(link("0:3-1:0")));
        assert_eq!(
            wiring.remove(link("1:0-0:3")),
            Err(WiringError::NoSuchLink {
                link: link("1:0-0:3")
            })
        );
        assert_eq!(wiring.links(), [link("2:1-2:2")]);
        assert_eq!(
            WiringError::PortInUse {
                port: port(1, 0),
                link: link("0:3-1:0")
            }
            .to_string(),
            "interface 1:0 is already in link 0:3-1:0"
        );
    }

    #[test]
    fn topologies_wire_last_interface_to_next_first() {
        assert_eq!(
            Topology::Ring.links(3, 4),
            parse_links("0:3-1:0,1:3-2:0,2:3-0:0").expect("links")
        );
        assert_eq!(
            Topology::Line.links(3, 4),
            parse_links("0:3-1:0,1:3-2:0").expect("links")
        );
        assert_eq!(Topology::Ring.links(2, 2), Topology::Line.links(2, 2));
        assert!(Topology::Ring.links(1, 4).is_empty());
        assert!(Topology::None.links(5, 4).is_empty());
        assert!(Wiring::with_links(3, 1, &Topology::Line.links(3, 1)).is_err());
        assert!(Wiring::with_links(5, 2, &Topology::Ring.links(5, 2)).is_ok());
        assert_eq!("ring".parse(), Ok(Topology::Ring));
        assert!("star".parse::<Topology>().is_err());
    }
}
