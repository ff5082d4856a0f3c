//! LLDP-MIB over SNMP: cabled devices report each other in lldpRemTable, and the wiring and
//! the names they report change at run time through the `Control` handle.

mod support;

use netpulse_simulator::wiring::{Link, Topology};
use support::{
    cell, linked_simulator, Answer, Client, LLDP_LOC_CHASSIS_ID, LLDP_REM_CHASSIS_ID,
    LLDP_REM_ENTRY, LLDP_REM_MAN_ADDR_IF_ID, LLDP_REM_PORT_ID, LLDP_REM_SYS_NAME, SYS_NAME,
};

/// `lldpRemX.0.<local port>.1`.
fn row(column: &str, local_port: u32) -> String {
    format!("{}.1", cell(&format!("{column}.0"), local_port))
}

fn text(value: &str) -> Answer {
    Answer::Text(value.to_owned())
}

/// The chassis ID of device `number` as the test client reads an OCTET STRING.
fn chassis(number: u8) -> Answer {
    Answer::Text(String::from_utf8_lossy(&[6, 0, 0, 0, 0, number]).into_owned())
}

fn link(text: &str) -> Link {
    text.parse().expect("a link")
}

#[tokio::test]
async fn each_device_of_a_ring_reports_both_neighbours() {
    let sim = linked_simulator(3, 4, Topology::Ring.links(3, 4)).await;
    for (device, address) in sim.addresses().into_iter().enumerate() {
        let before = (device + 2) % 3;
        let after = (device + 1) % 3;
        let mut client = Client::new(address).await;
        assert_eq!(
            client.value(LLDP_LOC_CHASSIS_ID).await,
            chassis(device as u8)
        );
        let names = client.walk(LLDP_REM_SYS_NAME).await;
        assert_eq!(
            names,
            [
                (row(LLDP_REM_SYS_NAME, 1), text(&format!("sim-{before}"))),
                (row(LLDP_REM_SYS_NAME, 4), text(&format!("sim-{after}"))),
            ],
            "device {device}"
        );
        let ports = client.walk(LLDP_REM_PORT_ID).await;
        assert_eq!(
            ports,
            [
                (row(LLDP_REM_PORT_ID, 1), text("eth3")),
                (row(LLDP_REM_PORT_ID, 4), text("eth0")),
            ],
            "device {device}"
        );
        let chassis_ids = client.walk(LLDP_REM_CHASSIS_ID).await;
        assert_eq!(
            chassis_ids,
            [
                (row(LLDP_REM_CHASSIS_ID, 1), chassis(before as u8)),
                (row(LLDP_REM_CHASSIS_ID, 4), chassis(after as u8)),
            ],
            "device {device}"
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn links_names_and_numbering_change_at_run_time() {
    let sim = linked_simulator(3, 2, vec![link("0:1-1:0")]).await;
    let control = sim.control();
    let addresses = sim.addresses();
    let mut first = Client::new(addresses[0]).await;
    let mut third = Client::new(addresses[2]).await;
    assert!(third.walk(LLDP_REM_ENTRY).await.is_empty());

    control.add_link(link("2:0-0:0")).expect("a free pair");
    assert_eq!(
        third.walk(LLDP_REM_SYS_NAME).await,
        [(row(LLDP_REM_SYS_NAME, 1), text("sim-0"))]
    );
    assert_eq!(first.walk(LLDP_REM_SYS_NAME).await.len(), 2);
    assert!(control.add_link(link("1:1-0:1")).is_err());

    // A hostile name travels to the neighbours as the device's own sysName changes.
    let hostile = "<img src=x onerror=alert(1)>";
    control.set_sys_name(0, hostile).expect("device 0");
    assert_eq!(first.value(SYS_NAME).await, text(hostile));
    assert_eq!(third.value(&row(LLDP_REM_SYS_NAME, 1)).await, text(hostile));

    // Renumbering moves the local port numbers and the neighbours' management ifIndex.
    control.renumber(0, 100).expect("device 0");
    assert_eq!(
        first.walk(LLDP_REM_SYS_NAME).await,
        [
            (row(LLDP_REM_SYS_NAME, 101), text("sim-2")),
            (row(LLDP_REM_SYS_NAME, 102), text("sim-1")),
        ]
    );
    let if_ids = third.walk(LLDP_REM_MAN_ADDR_IF_ID).await;
    assert_eq!(if_ids.len(), 1);
    assert_eq!(if_ids[0].1, Answer::Integer(101));

    control.remove_link(link("0:0-2:0")).expect("made above");
    assert!(third.walk(LLDP_REM_ENTRY).await.is_empty());
    let links = control.links();
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].a.device, links[0].a.interface), (0, 1));
    assert_eq!(links[0].a.if_index, 102);
    assert_eq!(links[0].a.sys_name, hostile);
    assert_eq!(links[0].b.chassis_id, "06:00:00:00:00:01");
    sim.stop().await;
}
