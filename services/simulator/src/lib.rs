//! netpulse-simulator: an SNMP v2c / v1 agent serving many synthetic devices from one process.
//!
//! Each device answers on its own UDP socket with a system group, ifNumber, ifTable and
//! ifXTable whose octet counters grow with time at a configured rate. A [`Control`] handle
//! makes devices misbehave the way real ones do: counter wraps, reboots, ifIndex renumbering,
//! flapping interfaces, slow or silent agents.
//!
//! - [`config`]: what to simulate ([`SimConfig`]).
//! - [`server`]: [`Simulator`], the sockets and their tasks.
//! - [`control`]: [`Control`], the misbehaviour switches.
//! - [`http`]: the HTTP control API the binary serves.
//! - [`cli`]: the binary's flags.
//! - [`ber`] and [`value`]: the BER writer responses are encoded with, and the SNMP values.
//!
//! Inside: `agent` answers one request, `mib` is the sorted OID table, `device` holds one
//! device's state and values, `counters` the traffic model.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use netpulse_simulator::{SimConfig, Simulator};
//!
//! let simulator = Simulator::start(SimConfig { base_port: 0, ..SimConfig::default() }).await?;
//! let first = simulator.addresses()[0];
//! simulator.control().reboot(0)?;
//! simulator.stop().await;
//! # let _ = first;
//! # Ok(())
//! # }
//! ```

mod agent;
pub mod ber;
pub mod cli;
pub mod config;
pub mod control;
mod counters;
mod device;
pub mod http;
mod mib;
pub mod server;
pub mod value;

pub use config::SimConfig;
pub use control::{Control, ControlError};
pub use server::Simulator;
