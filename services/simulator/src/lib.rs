//! netpulse-simulator: an SNMP v2c / v1 agent serving many synthetic devices from one process.
//!
//! Each device answers on its own UDP socket with a system group, ifNumber, ifTable and
//! ifXTable whose octet counters grow with time at a configured rate, and LLDP-MIB: its own
//! chassis and ports, and the devices cabled to it ([`wiring`]). A [`Control`] handle
//! makes devices misbehave the way real ones do: counter wraps, reboots, ifIndex renumbering,
//! flapping interfaces, slow or silent agents; it also re-cables devices at run time.
//!
//! - [`config`]: what to simulate ([`SimConfig`]).
//! - [`server`]: [`Simulator`], the sockets and their tasks.
//! - [`control`]: [`Control`], the misbehaviour switches.
//! - [`http`]: the HTTP control API the binary serves.
//! - [`wiring`]: which interfaces are cabled together, as LLDP-MIB reports it.
//! - [`cli`]: the binary's flags.
//! - [`ber`] and [`value`]: the BER writer responses are encoded with, and the SNMP values.
//!
//! Inside: `agent` answers one request, `mib` is the sorted OID table, `lldp` the LLDP-MIB
//! objects, `device` holds one device's state and values, `counters` the traffic model.
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
mod lldp;
mod mib;
pub mod server;
pub mod value;
pub mod wiring;

pub use config::SimConfig;
pub use control::{Control, ControlError};
pub use device::DeviceTexts;
pub use server::Simulator;
