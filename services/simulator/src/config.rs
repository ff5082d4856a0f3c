//! What to simulate: how many devices, how they are reached, how fast their counters grow.

use std::net::{IpAddr, Ipv4Addr};

use crate::wiring::Link;

/// Settings of a [`Simulator`](crate::Simulator) run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Number of devices, each on its own UDP socket.
    pub devices: usize,
    /// Interfaces per device.
    pub interfaces: usize,
    /// Port of device 0; device `n` listens on `base_port + n`. `0` lets the system pick a
    /// free port for every device (read them back from [`Simulator::addresses`]).
    ///
    /// [`Simulator::addresses`]: crate::Simulator::addresses
    pub base_port: u16,
    /// Address every device binds to. Default `127.0.0.1`.
    pub bind_ip: IpAddr,
    /// The read community; requests with any other are dropped unanswered.
    pub community: String,
    /// Mean inbound traffic per interface, bits per second.
    pub in_bps: u64,
    /// Mean outbound traffic per interface, bits per second.
    pub out_bps: u64,
    /// Relative wobble of the traffic around its mean, `0.0..=0.95` (larger is clamped).
    pub noise: f64,
    /// Interface speed in bits per second (ifSpeed, ifHighSpeed).
    pub speed_bps: u64,
    /// Cables between interfaces, which both ends report in LLDP-MIB. Every port must exist
    /// and be in at most one link ([`Wiring`](crate::wiring::Wiring) checks).
    pub links: Vec<Link>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            devices: 3,
            interfaces: 4,
            base_port: 16100,
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            community: "public".to_owned(),
            in_bps: 10_000_000,
            out_bps: 4_000_000,
            noise: 0.1,
            speed_bps: 1_000_000_000,
            links: Vec::new(),
        }
    }
}
