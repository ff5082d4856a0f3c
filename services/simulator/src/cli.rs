//! Command-line flags of the `netpulse-sim` binary.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use crate::config::SimConfig;
use crate::wiring::{parse_links, Link, Topology, Wiring, WiringError};

/// Usage text printed for `--help` and after a bad flag.
pub const USAGE: &str = "\
usage: netpulse-sim [flags]

  --devices N        simulated devices (default 3)
  --interfaces M     interfaces per device (default 4)
  --base-port P      UDP port of device 0, device n on P+n; 0 = any free ports (default 16100)
  --bind IP          address the devices listen on (default 127.0.0.1)
  --community C      read community (default public)
  --in-bps X         mean inbound bits/s per interface (default 10000000)
  --out-bps Y        mean outbound bits/s per interface (default 4000000)
  --noise F          relative traffic wobble, 0 to 0.95 (default 0.1)
  --speed-bps S      interface speed, bits/s (default 1000000000)
  --lldp T           ring, line or none: cable each device's last interface to the next
                     device's first (ring: the last device back to 0); default none
  --links L          more cables, DEVICE:INTERFACE-DEVICE:INTERFACE[,...], numbers from 0
                     (interface i is eth<i>), e.g. 0:3-1:0,1:3-2:0; each end reports the
                     other in LLDP-MIB
  --control ADDR     HTTP control API address (default 127.0.0.1:9161)
  --help             this text
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the simulator.
    Run(Options),
    /// Print [`USAGE`] and exit.
    Help,
}

/// Settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The devices to simulate.
    pub simulation: SimConfig,
    /// Where the HTTP control API listens.
    pub control: SocketAddr,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            simulation: SimConfig::default(),
            control: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9161),
        }
    }
}

/// A flag the binary does not understand, or a value it cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// Not a known flag.
    UnknownFlag(String),
    /// A flag given without its value.
    MissingValue(String),
    /// A value that does not parse for its flag.
    BadValue {
        /// The flag.
        flag: String,
        /// What was given.
        value: String,
    },
    /// A link that does not read or cannot be made.
    BadLink {
        /// The flag that asked for it.
        flag: String,
        /// What is wrong, naming the part.
        error: WiringError,
    },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::UnknownFlag(flag) => write!(f, "unknown flag {flag}"),
            UsageError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            UsageError::BadValue { flag, value } => write!(f, "bad value {value:?} for {flag}"),
            UsageError::BadLink { flag, error } => write!(f, "{flag}: {error}"),
        }
    }
}

impl std::error::Error for UsageError {}

/// Reads the flags (without the program name). Flags take their value as the next argument
/// or after `=` (`--devices=10`).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, UsageError> {
    let mut options = Options::default();
    let mut topology = Topology::None;
    let mut links: Vec<Link> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let sim = &mut options.simulation;
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| UsageError::MissingValue(flag.clone()))
        };
        match flag.as_str() {
            "--devices" => sim.devices = parsed(&flag, value()?)?,
            "--interfaces" => sim.interfaces = parsed(&flag, value()?)?,
            "--base-port" => sim.base_port = parsed(&flag, value()?)?,
            "--bind" => sim.bind_ip = parsed(&flag, value()?)?,
            "--community" => sim.community = value()?,
            "--in-bps" => sim.in_bps = parsed(&flag, value()?)?,
            "--out-bps" => sim.out_bps = parsed(&flag, value()?)?,
            "--noise" => sim.noise = noise(&flag, value()?)?,
            "--speed-bps" => sim.speed_bps = parsed(&flag, value()?)?,
            "--control" => options.control = parsed(&flag, value()?)?,
            "--lldp" => topology = parsed(&flag, value()?)?,
            "--links" => links.extend(
                parse_links(&value()?).map_err(|error| UsageError::BadLink { flag, error })?,
            ),
            _ => return Err(UsageError::UnknownFlag(flag)),
        }
    }
    options.simulation.links = wire(&options.simulation, topology, links)?;
    Ok(Command::Run(options))
}

/// The topology's links, then the listed ones, checked against the devices and each other.
fn wire(sim: &SimConfig, topology: Topology, links: Vec<Link>) -> Result<Vec<Link>, UsageError> {
    let mut wiring = Wiring::new(sim.devices, sim.interfaces);
    let ready_made = topology.links(sim.devices, sim.interfaces);
    for (flag, link) in ready_made
        .into_iter()
        .map(|link| ("--lldp", link))
        .chain(links.into_iter().map(|link| ("--links", link)))
    {
        wiring.add(link).map_err(|error| UsageError::BadLink {
            flag: flag.to_owned(),
            error,
        })?;
    }
    Ok(wiring.links().to_vec())
}

fn parsed<T: FromStr>(flag: &str, value: String) -> Result<T, UsageError> {
    value.parse().map_err(|_| UsageError::BadValue {
        flag: flag.to_owned(),
        value,
    })
}

fn noise(flag: &str, value: String) -> Result<f64, UsageError> {
    match value.parse::<f64>() {
        Ok(noise) if (0.0..=1.0).contains(&noise) => Ok(noise),
        _ => Err(UsageError::BadValue {
            flag: flag.to_owned(),
            value,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn no_flags_means_the_defaults() {
        let Ok(Command::Run(options)) = run(&[]) else {
            panic!("expected a run");
        };
        assert_eq!(options, Options::default());
        assert_eq!(options.simulation.devices, 3);
        assert_eq!(options.simulation.interfaces, 4);
        assert_eq!(options.simulation.base_port, 16100);
        assert_eq!(options.control.to_string(), "127.0.0.1:9161");
    }

    #[test]
    fn every_flag_is_read() {
        let parsed = run(&[
            "--devices",
            "5000",
            "--interfaces=8",
            "--base-port",
            "0",
            "--community",
            "lab",
            "--control",
            "127.0.0.1:0",
            "--in-bps",
            "1000",
            "--out-bps",
            "2000",
            "--noise",
            "0",
            "--speed-bps",
            "100000000",
            "--bind",
            "127.0.0.2",
        ]);
        let Ok(Command::Run(options)) = parsed else {
            panic!("expected a run, got {parsed:?}");
        };
        let sim = &options.simulation;
        assert_eq!((sim.devices, sim.interfaces, sim.base_port), (5000, 8, 0));
        assert_eq!(sim.community, "lab");
        assert_eq!(
            (sim.in_bps, sim.out_bps, sim.speed_bps),
            (1000, 2000, 100_000_000)
        );
        assert_eq!(sim.noise, 0.0);
        assert_eq!(sim.bind_ip.to_string(), "127.0.0.2");
        assert_eq!(options.control.port(), 0);
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(run(&["--help"]), Ok(Command::Help));
        assert_eq!(
            run(&["--color"]),
            Err(UsageError::UnknownFlag("--color".to_owned()))
        );
        assert_eq!(
            run(&["--devices"]),
            Err(UsageError::MissingValue("--devices".to_owned()))
        );
        assert_eq!(
            run(&["--base-port", "70000"]),
            Err(UsageError::BadValue {
                flag: "--base-port".to_owned(),
                value: "70000".to_owned()
            })
        );
        assert!(run(&["--noise", "1.5"]).is_err());
    }

    fn links(options: Result<Command, UsageError>) -> Vec<String> {
        let Ok(Command::Run(options)) = options else {
            panic!("expected a run, got {options:?}");
        };
        options
            .simulation
            .links
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn lldp_and_links_wire_the_devices_whatever_the_flag_order() {
        assert_eq!(
            links(run(&["--lldp", "ring", "--devices", "4"])),
            ["0:3-1:0", "1:3-2:0", "2:3-3:0", "3:3-0:0"]
        );
        assert_eq!(
            links(run(&["--lldp=line", "--interfaces", "2"])),
            ["0:1-1:0", "1:1-2:0"]
        );
        assert_eq!(
            links(run(&[
                "--links",
                "0:1-1:1,1:2-2:1",
                "--lldp",
                "none",
                "--links=2:0-0:0"
            ])),
            ["0:1-1:1", "1:2-2:1", "2:0-0:0"]
        );
        assert_eq!(
            links(run(&["--lldp", "ring", "--links", "0:1-2:1"])),
            ["0:3-1:0", "1:3-2:0", "2:3-0:0", "0:1-2:1"]
        );
        assert!(links(run(&[])).is_empty());
    }

    #[test]
    fn bad_links_name_the_bad_part() {
        let error = |args: &[&str]| match run(args) {
            Err(error) => error.to_string(),
            Ok(command) => panic!("{args:?} should fail, got {command:?}"),
        };
        assert_eq!(
            error(&["--links", "0:1-1:1,1:2"]),
            "--links: \"1:2\" is not a link DEVICE:INTERFACE-DEVICE:INTERFACE (such as 0:3-1:0)"
        );
        assert_eq!(
            error(&["--links", "0:1-one:1"]),
            "--links: \"one:1\" is not a link end DEVICE:INTERFACE (such as 1:0, both from 0)"
        );
        assert_eq!(
            error(&["--links", "0:1-1:1,2:1-1:1"]),
            "--links: interface 1:1 is already in link 0:1-1:1"
        );
        assert_eq!(
            error(&["--links", "1:2-1:2"]),
            "--links: link 1:2-1:2 would join interface 1:2 to itself"
        );
        assert_eq!(
            error(&["--links", "0:4-1:0"]),
            "--links: link end 0:4: device 0 has no interface 4 (it has 4, from 0)"
        );
        assert_eq!(
            error(&["--devices", "2", "--links", "0:0-2:0"]),
            "--links: link end 2:0: no device 2 (there are 2, from 0)"
        );
        assert_eq!(
            error(&["--lldp", "ring", "--links", "1:0-2:1"]),
            "--links: interface 1:0 is already in link 0:3-1:0"
        );
        assert_eq!(
            error(&["--lldp", "ring", "--interfaces", "1"]),
            "--lldp: interface 1:0 is already in link 0:0-1:0"
        );
        assert_eq!(error(&["--lldp", "star"]), "bad value \"star\" for --lldp");
        assert_eq!(error(&["--links"]), "--links needs a value");
    }
}
