//! Helpers shared by the integration tests: a simulator on free ports and a small SNMP client
//! over `snmp2` that copies answers out at once and rebuilds its session after a timeout.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use netpulse_simulator::wiring::Link;
use netpulse_simulator::{SimConfig, Simulator};
use snmp2::{AsyncSession, Oid, Value};

/// How long a request may take before it counts as unanswered.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// OIDs the tests read.
pub const SYS_UP_TIME: &str = "1.3.6.1.2.1.1.3.0";
pub const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
pub const IF_INDEX: &str = "1.3.6.1.2.1.2.2.1.1";
pub const IF_OPER_STATUS: &str = "1.3.6.1.2.1.2.2.1.8";
pub const IF_IN_OCTETS: &str = "1.3.6.1.2.1.2.2.1.10";
pub const IF_NAME: &str = "1.3.6.1.2.1.31.1.1.1.1";
pub const IF_HC_IN_OCTETS: &str = "1.3.6.1.2.1.31.1.1.1.6";
pub const LLDP_LOC_CHASSIS_ID: &str = "1.0.8802.1.1.2.1.3.2.0";
/// lldpRemEntry; a row's index is `0.<local ifIndex>.1`.
pub const LLDP_REM_ENTRY: &str = "1.0.8802.1.1.2.1.4.1.1";
pub const LLDP_REM_CHASSIS_ID: &str = "1.0.8802.1.1.2.1.4.1.1.5";
pub const LLDP_REM_PORT_ID: &str = "1.0.8802.1.1.2.1.4.1.1.7";
pub const LLDP_REM_SYS_NAME: &str = "1.0.8802.1.1.2.1.4.1.1.9";
pub const LLDP_REM_MAN_ADDR_IF_ID: &str = "1.0.8802.1.1.2.1.4.2.1.4";

/// A simulator with `devices` × `interfaces` on free ports and default traffic.
pub async fn simulator(devices: usize, interfaces: usize) -> Simulator {
    netpulse_shared::telemetry::init_for_tests();
    Simulator::start(SimConfig {
        devices,
        interfaces,
        base_port: 0,
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts")
}

/// `prefix.index`.
pub fn cell(prefix: &str, index: u32) -> String {
    format!("{prefix}.{index}")
}

/// A simulator of `devices` × `interfaces` on free ports, cabled by `links`.
pub async fn linked_simulator(devices: usize, interfaces: usize, links: Vec<Link>) -> Simulator {
    netpulse_shared::telemetry::init_for_tests();
    Simulator::start(SimConfig {
        devices,
        interfaces,
        base_port: 0,
        links,
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts")
}

/// A value copied out of a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// OCTET STRING, as text.
    Text(String),
    /// INTEGER.
    Integer(i64),
    /// Counter32.
    Counter32(u32),
    /// Counter64.
    Counter64(u64),
    /// TimeTicks.
    TimeTicks(u32),
    /// Gauge32 / Unsigned32.
    Gauge32(u32),
    /// endOfMibView.
    EndOfMibView,
    /// noSuchObject.
    NoSuchObject,
    /// noSuchInstance.
    NoSuchInstance,
    /// Anything else, as snmp2 prints it.
    Other(String),
}

impl Answer {
    fn copied(value: &Value<'_>) -> Self {
        match value {
            Value::OctetString(bytes) => Answer::Text(String::from_utf8_lossy(bytes).into_owned()),
            Value::Integer(value) => Answer::Integer(*value),
            Value::Counter32(value) => Answer::Counter32(*value),
            Value::Counter64(value) => Answer::Counter64(*value),
            Value::Timeticks(value) => Answer::TimeTicks(*value),
            Value::Unsigned32(value) => Answer::Gauge32(*value),
            Value::EndOfMibView => Answer::EndOfMibView,
            Value::NoSuchObject => Answer::NoSuchObject,
            Value::NoSuchInstance => Answer::NoSuchInstance,
            other => Answer::Other(format!("{other:?}")),
        }
    }

    /// The Counter32 inside, or a panic naming what came instead.
    pub fn counter32(&self) -> u32 {
        match self {
            Answer::Counter32(value) => *value,
            other => panic!("expected a Counter32, got {other:?}"),
        }
    }

    /// The Counter64 inside, or a panic naming what came instead.
    pub fn counter64(&self) -> u64 {
        match self {
            Answer::Counter64(value) => *value,
            other => panic!("expected a Counter64, got {other:?}"),
        }
    }

    /// The TimeTicks inside, or a panic naming what came instead.
    pub fn ticks(&self) -> u32 {
        match self {
            Answer::TimeTicks(value) => *value,
            other => panic!("expected TimeTicks, got {other:?}"),
        }
    }
}

/// The varbinds of a response: dotted OID and value.
pub type Varbinds = Vec<(String, Answer)>;

/// An SNMPv2c client for one device.
pub struct Client {
    address: SocketAddr,
    community: Vec<u8>,
    timeout: Duration,
    session: AsyncSession,
}

impl Client {
    /// A client using community `public`.
    pub async fn new(address: SocketAddr) -> Self {
        Self::with_community(address, b"public").await
    }

    /// A client using `community`.
    pub async fn with_community(address: SocketAddr, community: &[u8]) -> Self {
        let session = AsyncSession::new_v2c(address, community, 1)
            .await
            .expect("a UDP session");
        Self {
            address,
            community: community.to_vec(),
            timeout: TIMEOUT,
            session,
        }
    }

    /// Waits `timeout` for each answer from now on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// GET; `None` when no answer came in time.
    pub async fn get(&mut self, oids: &[&str]) -> Option<Varbinds> {
        let oids: Vec<Oid<'static>> = oids.iter().map(|text| oid(text)).collect();
        let refs: Vec<&Oid<'_>> = oids.iter().collect();
        let outcome = match tokio::time::timeout(self.timeout, self.session.get_many(&refs)).await {
            Ok(result) => Some(result.map(copy_varbinds)),
            Err(_) => None,
        };
        self.settle(outcome).await
    }

    /// GETNEXT; `None` when no answer came in time.
    pub async fn get_next(&mut self, text: &str) -> Option<Varbinds> {
        let oid = oid(text);
        let outcome = match tokio::time::timeout(self.timeout, self.session.getnext(&oid)).await {
            Ok(result) => Some(result.map(copy_varbinds)),
            Err(_) => None,
        };
        self.settle(outcome).await
    }

    /// GETBULK; `None` when no answer came in time.
    pub async fn get_bulk(
        &mut self,
        oids: &[&str],
        non_repeaters: u32,
        max_repetitions: u32,
    ) -> Option<Varbinds> {
        let oids: Vec<Oid<'static>> = oids.iter().map(|text| oid(text)).collect();
        let refs: Vec<&Oid<'_>> = oids.iter().collect();
        let request = self.session.getbulk(&refs, non_repeaters, max_repetitions);
        let outcome = match tokio::time::timeout(self.timeout, request).await {
            Ok(result) => Some(result.map(copy_varbinds)),
            Err(_) => None,
        };
        self.settle(outcome).await
    }

    /// Every varbind under `prefix`, by GETNEXT, each of which must be answered.
    pub async fn walk(&mut self, prefix: &str) -> Varbinds {
        let mut walked = Varbinds::new();
        let mut last = prefix.to_owned();
        loop {
            let mut next = self.get_next(&last).await.expect("an answer");
            assert_eq!(next.len(), 1, "{next:?}");
            let (oid, value) = next.remove(0);
            if !oid.starts_with(&format!("{prefix}.")) {
                return walked;
            }
            last.clone_from(&oid);
            walked.push((oid, value));
        }
    }

    /// One value by GET, which must come.
    pub async fn value(&mut self, text: &str) -> Answer {
        let mut varbinds = self.get(&[text]).await.expect("an answer");
        assert_eq!(varbinds.len(), 1, "{varbinds:?}");
        let (oid, value) = varbinds.remove(0);
        assert_eq!(oid, text);
        value
    }

    async fn settle(
        &mut self,
        outcome: Option<Result<Varbinds, snmp2::Error>>,
    ) -> Option<Varbinds> {
        match outcome {
            Some(Ok(varbinds)) => Some(varbinds),
            Some(Err(error)) => panic!("SNMP request failed: {error}"),
            None => {
                // A late answer would otherwise be read as the next request's.
                self.session = AsyncSession::new_v2c(self.address, &self.community, 1)
                    .await
                    .expect("a UDP session");
                None
            }
        }
    }
}

fn copy_varbinds(pdu: snmp2::Pdu<'_>) -> Varbinds {
    assert_eq!(pdu.error_status, 0, "error-status {}", pdu.error_status);
    pdu.varbinds
        .map(|(oid, value)| (oid.to_id_string(), Answer::copied(&value)))
        .collect()
}

/// An OID from dotted text.
pub fn oid(text: &str) -> Oid<'static> {
    let arcs: Vec<u64> = text
        .split('.')
        .map(|arc| arc.parse().expect("a numeric arc"))
        .collect();
    Oid::from(&arcs).expect("a valid OID")
}
