//! Interoperability with net-snmp's command-line tools, when they are installed: a whole
//! walk with GETNEXT (v2c and v1) and with GETBULK must end cleanly and list every object,
//! and a ring of devices lists its LLDP neighbours.

mod support;

use std::net::SocketAddr;
use std::process::Output;
use std::time::Duration;

use netpulse_simulator::wiring::Topology;
use support::{linked_simulator, simulator};

/// Objects a 3-interface device serves: 8 scalars and 16 columns.
const SERVED: usize = 8 + 3 * 16;

/// mib-2, the subtree the first test walks.
const MIB_2: &str = "1.3.6.1.2.1";
/// lldpRemoteSystemsData: the neighbour tables.
const LLDP_REMOTE: &str = "1.0.8802.1.1.2.1.4";

/// Runs a net-snmp tool against `address` on `subtree`; `None` when the tool is not
/// installed.
async fn net_snmp(tool: &str, version: &str, address: SocketAddr, subtree: &str) -> Option<Output> {
    let run = tokio::process::Command::new(tool)
        .env("MIBS", "")
        .args([version, "-c", "public", "-On", "-t", "2", "-r", "1"])
        .arg(address.to_string())
        .arg(subtree)
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok(output)) => Some(output),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("{tool} is not installed; skipping");
            None
        }
        Ok(Err(error)) => panic!("{tool} did not run: {error}"),
        Err(_) => panic!("{tool} took too long"),
    }
}

/// The walk's `OID = value` lines, after checking it ended well.
fn walked(tool: &str, output: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{tool} failed: {stderr}\n{stdout}");
    // net-snmp's tools say once on a new machine that they created their state folder
    // (/var/lib/snmp/...): not a complaint about the walk.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with("Created directory:"))
        .collect();
    assert!(complaints.is_empty(), "{tool} complained: {stderr}");
    stdout
        .lines()
        .filter(|line| line.contains(" = "))
        .filter(|line| !line.contains("No more variables left"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn net_snmp_walks_every_object_and_ends_cleanly() {
    let sim = simulator(2, 3).await;
    let address = sim.addresses()[1];
    for tool in ["snmpwalk", "snmpbulkwalk"] {
        let Some(output) = net_snmp(tool, "-v2c", address, MIB_2).await else {
            return;
        };
        let lines = walked(tool, &output);
        assert_eq!(lines.len(), SERVED, "{tool}: {lines:#?}");
        assert_eq!(
            lines[0],
            r#".1.3.6.1.2.1.1.1.0 = STRING: "netpulse simulated device 1""#
        );
        for (position, name) in ["eth0", "eth1", "eth2"].iter().enumerate() {
            let expected = format!(
                r#".1.3.6.1.2.1.31.1.1.1.1.{} = STRING: "{name}""#,
                position + 1
            );
            assert!(
                lines.contains(&expected),
                "{tool}: no {expected} in {lines:#?}"
            );
        }
        assert!(lines.iter().any(|line| line.contains("Counter64")));
    }

    // SNMPv1 cannot carry Counter64: the walk goes round the two HC columns.
    let Some(output) = net_snmp("snmpwalk", "-v1", address, MIB_2).await else {
        return;
    };
    let lines = walked("snmpwalk -v1", &output);
    assert_eq!(lines.len(), SERVED - 2 * 3, "{lines:#?}");
    assert!(!lines.iter().any(|line| line.contains("Counter64")));
    sim.stop().await;
}

#[tokio::test]
async fn net_snmp_walks_the_lldp_neighbours_of_a_ring() {
    let sim = linked_simulator(3, 4, Topology::Ring.links(3, 4)).await;
    for (device, address) in sim.addresses().into_iter().enumerate() {
        let before = (device + 2) % 3;
        let after = (device + 1) % 3;
        for tool in ["snmpwalk", "snmpbulkwalk"] {
            let Some(output) = net_snmp(tool, "-v2c", address, LLDP_REMOTE).await else {
                return;
            };
            let lines = walked(tool, &output);
            // Two neighbours: 7 lldpRemTable columns and 2 lldpRemManAddrTable columns each.
            assert_eq!(lines.len(), 2 * 9, "{tool} on device {device}: {lines:#?}");
            for expected in [
                format!(r#".1.0.8802.1.1.2.1.4.1.1.9.0.1.1 = STRING: "sim-{before}""#),
                format!(r#".1.0.8802.1.1.2.1.4.1.1.9.0.4.1 = STRING: "sim-{after}""#),
                format!(".1.0.8802.1.1.2.1.4.1.1.5.0.1.1 = Hex-STRING: 06 00 00 00 00 0{before} "),
                format!(".1.0.8802.1.1.2.1.4.1.1.5.0.4.1 = Hex-STRING: 06 00 00 00 00 0{after} "),
                r#".1.0.8802.1.1.2.1.4.1.1.7.0.1.1 = STRING: "eth3""#.to_owned(),
                r#".1.0.8802.1.1.2.1.4.1.1.7.0.4.1 = STRING: "eth0""#.to_owned(),
                ".1.0.8802.1.1.2.1.4.2.1.3.0.4.1.1.4.127.0.0.1 = INTEGER: 2".to_owned(),
            ] {
                assert!(
                    lines.contains(&expected),
                    "{tool} on device {device}: no {expected} in {lines:#?}"
                );
            }
        }
    }
    sim.stop().await;
}
