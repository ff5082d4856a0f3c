//! The simulator as a poller sees it: real UDP, snmp2's client, and the controls that make
//! devices misbehave.

mod support;

use std::time::{Duration, Instant};

use netpulse_simulator::ControlError;
use support::{
    cell, simulator, Answer, Client, IF_HC_IN_OCTETS, IF_INDEX, IF_IN_OCTETS, IF_NAME,
    IF_OPER_STATUS, SYS_NAME, SYS_UP_TIME,
};

#[tokio::test]
async fn every_device_answers_with_its_own_identity() {
    let sim = simulator(2, 3).await;
    let addresses = sim.addresses();
    assert_eq!(addresses.len(), 2);
    assert_ne!(addresses[0], addresses[1]);
    for (device, address) in addresses.into_iter().enumerate() {
        let mut client = Client::new(address).await;
        let varbinds = client
            .get(&[
                SYS_NAME,
                "1.3.6.1.2.1.1.2.0",
                "1.3.6.1.2.1.2.1.0",
                "1.3.6.1.2.1.2.2.1.2.3",
            ])
            .await
            .expect("an answer");
        let values: Vec<Answer> = varbinds.into_iter().map(|(_, value)| value).collect();
        assert_eq!(
            values,
            [
                Answer::Text(format!("sim-{device}")),
                Answer::Other("OBJECT IDENTIFIER: 1.3.6.1.4.1.8072.3.2.10".to_owned()),
                Answer::Integer(3),
                Answer::Text(format!("sim-{device} port 2")),
            ]
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn hc_counters_grow_at_the_configured_rate() {
    let sim = simulator(2, 3).await;
    let mut client = Client::new(sim.addresses()[0]).await;
    let octets = cell(IF_HC_IN_OCTETS, 2);
    let first = client.value(&octets).await.counter64();
    let first_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = client.value(&octets).await.counter64();
    let seconds = first_at.elapsed().as_secs_f64();
    let bytes_per_second = (second - first) as f64 / seconds;
    // 10 Mbit/s is 1.25 MB/s, give or take the 10 % noise and timing.
    assert!(
        (1_000_000.0..=1_500_000.0).contains(&bytes_per_second),
        "{bytes_per_second} B/s"
    );
    sim.stop().await;
}

#[tokio::test]
async fn get_next_and_get_bulk_walk_the_if_name_column_and_past_it() {
    let sim = simulator(2, 3).await;
    let mut client = Client::new(sim.addresses()[1]).await;
    let next = client.get_next(IF_NAME).await.expect("an answer");
    assert_eq!(next, [(cell(IF_NAME, 1), Answer::Text("eth0".to_owned()))]);

    let bulk = client.get_bulk(&[IF_NAME], 0, 5).await.expect("an answer");
    assert_eq!(bulk.len(), 5, "{bulk:?}");
    let names: Vec<&Answer> = bulk.iter().take(3).map(|(_, value)| value).collect();
    assert_eq!(
        names,
        [
            &Answer::Text("eth0".to_owned()),
            &Answer::Text("eth1".to_owned()),
            &Answer::Text("eth2".to_owned()),
        ]
    );
    assert!(bulk[..3].iter().all(|(oid, _)| oid.starts_with(IF_NAME)));
    assert_eq!(bulk[3].0, cell(IF_HC_IN_OCTETS, 1));
    assert!(matches!(bulk[3].1, Answer::Counter64(_)));
    sim.stop().await;
}

#[tokio::test]
async fn renumbering_moves_if_index_but_not_names() {
    let sim = simulator(2, 3).await;
    let control = sim.control();
    control.renumber(0, 100).expect("device 0 exists");
    let mut client = Client::new(sim.addresses()[0]).await;
    let indexes = client.get_bulk(&[IF_INDEX], 0, 3).await.expect("an answer");
    assert_eq!(
        indexes,
        [
            (cell(IF_INDEX, 101), Answer::Integer(101)),
            (cell(IF_INDEX, 102), Answer::Integer(102)),
            (cell(IF_INDEX, 103), Answer::Integer(103)),
        ]
    );
    assert_eq!(
        client.value(&cell(IF_NAME, 101)).await,
        Answer::Text("eth0".to_owned())
    );
    assert_eq!(
        client.value(&cell(IF_NAME, 1)).await,
        Answer::NoSuchInstance
    );

    let mut other = Client::new(sim.addresses()[1]).await;
    assert_eq!(
        other.value(&cell(IF_NAME, 1)).await,
        Answer::Text("eth0".to_owned())
    );

    control.renumber(0, 0).expect("device 0 exists");
    assert_eq!(
        client.value(&cell(IF_NAME, 1)).await,
        Answer::Text("eth0".to_owned())
    );
    sim.stop().await;
}

#[tokio::test]
async fn reboot_restarts_sys_up_time_and_counters() {
    let sim = simulator(2, 3).await;
    let mut client = Client::new(sim.addresses()[0]).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let before = client.value(SYS_UP_TIME).await.ticks();
    assert!(before >= 100, "{before}");
    let octets_before = client.value(&cell(IF_HC_IN_OCTETS, 1)).await.counter64();

    sim.control().reboot(0).expect("device 0 exists");
    let after = client.value(SYS_UP_TIME).await.ticks();
    assert!(after < 50, "{after}");
    let octets_after = client.value(&cell(IF_HC_IN_OCTETS, 1)).await.counter64();
    assert!(
        octets_after < octets_before,
        "{octets_after} >= {octets_before}"
    );

    let mut other = Client::new(sim.addresses()[1]).await;
    assert!(other.value(SYS_UP_TIME).await.ticks() >= 100);
    sim.stop().await;
}

#[tokio::test]
async fn silent_devices_and_wrong_communities_get_no_answer() {
    let sim = simulator(2, 3).await;
    let control = sim.control();
    let mut client = Client::new(sim.addresses()[0]).await;
    client.set_timeout(Duration::from_millis(500));

    control.set_silent(0, true).expect("device 0 exists");
    assert_eq!(client.get(&[SYS_NAME]).await, None);
    let mut other = Client::new(sim.addresses()[1]).await;
    assert!(other.get(&[SYS_NAME]).await.is_some());

    control.set_silent(0, false).expect("device 0 exists");
    assert!(client.get(&[SYS_NAME]).await.is_some());

    let mut stranger = Client::with_community(sim.addresses()[0], b"private").await;
    stranger.set_timeout(Duration::from_millis(500));
    assert_eq!(stranger.get(&[SYS_NAME]).await, None);
    sim.stop().await;
}

#[tokio::test]
async fn wrap_soon_wraps_counter32_while_counter64_keeps_counting() {
    let sim = simulator(2, 3).await;
    let mut client = Client::new(sim.addresses()[0]).await;
    let in32 = cell(IF_IN_OCTETS, 1);
    let in64 = cell(IF_HC_IN_OCTETS, 1);
    sim.control()
        .wrap_soon(0, Duration::from_secs(2))
        .expect("device 0 exists");
    let read =
        |varbinds: Vec<(String, Answer)>| (varbinds[0].1.counter32(), varbinds[1].1.counter64());
    let (low_before, high_before) = read(
        client
            .get(&[in32.as_str(), in64.as_str()])
            .await
            .expect("an answer"),
    );
    assert!(low_before > u32::MAX - 2_500_000, "{low_before}");
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    let (low_after, high_after) = read(
        client
            .get(&[in32.as_str(), in64.as_str()])
            .await
            .expect("an answer"),
    );
    assert!(
        low_after < low_before,
        "{low_after} did not wrap from {low_before}"
    );
    assert!(high_after > high_before);
    assert_eq!(
        u64::from(low_after.wrapping_sub(low_before)),
        high_after - high_before,
        "both counters saw the same traffic"
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_down_interface_reports_it_and_stops_counting() {
    let sim = simulator(1, 3).await;
    let control = sim.control();
    let mut client = Client::new(sim.addresses()[0]).await;
    control
        .set_oper_status(0, 1, false)
        .expect("interface 1 exists");
    assert_eq!(
        client.value(&cell(IF_OPER_STATUS, 2)).await,
        Answer::Integer(2)
    );
    assert_eq!(
        client.value(&cell(IF_OPER_STATUS, 1)).await,
        Answer::Integer(1)
    );
    let frozen = client.value(&cell(IF_HC_IN_OCTETS, 2)).await.counter64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        client.value(&cell(IF_HC_IN_OCTETS, 2)).await.counter64(),
        frozen
    );

    control
        .set_oper_status(0, 1, true)
        .expect("interface 1 exists");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        client.value(&cell(IF_OPER_STATUS, 2)).await,
        Answer::Integer(1)
    );
    assert!(client.value(&cell(IF_HC_IN_OCTETS, 2)).await.counter64() > frozen);

    assert_eq!(
        control.set_oper_status(0, 3, false),
        Err(ControlError::NoSuchInterface {
            device: 0,
            interface: 3
        })
    );
    assert_eq!(
        control.reboot(1),
        Err(ControlError::NoSuchDevice { device: 1 })
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_slow_device_holds_up_neither_its_other_requests_nor_other_devices() {
    let sim = simulator(2, 3).await;
    sim.control()
        .set_delay(0, Duration::from_millis(1_000))
        .expect("device 0 exists");
    let slow = sim.addresses()[0];
    let started = Instant::now();
    let slow_requests = (0..2).map(|_| {
        tokio::spawn(async move {
            let mut client = Client::new(slow).await;
            client.get(&[SYS_NAME]).await.expect("a late answer");
            started.elapsed()
        })
    });
    let slow_requests: Vec<_> = slow_requests.collect();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut fast = Client::new(sim.addresses()[1]).await;
    fast.get(&[SYS_NAME]).await.expect("an answer");
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );

    for request in slow_requests {
        let waited = request.await.expect("the request task");
        // Both answered about a second after they were sent, not one after the other.
        assert!(waited >= Duration::from_millis(950), "{waited:?}");
        assert!(waited < Duration::from_millis(1_800), "{waited:?}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn stop_closes_the_sockets() {
    let sim = simulator(3, 1).await;
    let addresses = sim.addresses();
    sim.stop().await;
    for address in addresses {
        std::net::UdpSocket::bind(address).expect("the port is free again");
    }
}

#[tokio::test]
async fn consecutive_base_ports() {
    let base = loop {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").expect("a free port");
        let port = probe.local_addr().expect("an address").port();
        drop(probe);
        let fits = (0..3).all(|n| std::net::UdpSocket::bind(("127.0.0.1", port + n)).is_ok());
        if port < 65_000 && fits {
            break port;
        }
    };
    let sim = netpulse_simulator::Simulator::start(netpulse_simulator::SimConfig {
        devices: 3,
        interfaces: 1,
        base_port: base,
        ..netpulse_simulator::SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let ports: Vec<u16> = sim
        .addresses()
        .iter()
        .map(|address| address.port())
        .collect();
    assert_eq!(ports, [base, base + 1, base + 2]);
    sim.stop().await;
}
