//! Interoperability with net-snmp's snmpd: SNMP v1, v2c and v3 at every security level, and
//! the error an operator sees for a wrong community, a wrong password or an unknown user.

use std::time::Duration;

use netpulse_poller::snmp::{Agent, Credentials, Snmp2Agent, SnmpError};
use netpulse_shared::messages::SnmpValue;
use netpulse_shared::snmp::{Address, Community, Oid};
use netpulse_shared::test_util::{Snmpd, SNMPD_V3_USERS};
use netpulse_shared::usm::UsmUser;
use serde_json::json;

fn oids(list: &[&str]) -> Vec<Oid> {
    list.iter().map(|o| Oid::parse(o).expect("oid")).collect()
}

fn agent(snmpd: &Snmpd, credentials: Credentials) -> Snmp2Agent {
    let address = Address::parse(&snmpd.address()).expect("address");
    Snmp2Agent::new(address, credentials, Duration::from_millis(500), 1)
}

fn user(name: &str, auth: Option<&str>, privacy: Option<&str>, password: &str) -> UsmUser {
    let mut v3 = json!({"user": name});
    if let Some(a) = auth {
        v3["auth_protocol"] = json!(a);
        v3["auth_password"] = json!(password);
    }
    if let Some(p) = privacy {
        v3["priv_protocol"] = json!(p);
        v3["priv_password"] = json!("privpass123");
    }
    UsmUser::from_json(&v3).expect("v3 user")
}

const UPTIME: &str = "1.3.6.1.2.1.1.3.0";
const IF_HC_IN_1: &str = "1.3.6.1.2.1.31.1.1.1.6.1";
const IF_IN_1: &str = "1.3.6.1.2.1.2.2.1.10.1";

#[tokio::test]
async fn every_version_and_security_level_polls() {
    let snmpd = Snmpd::start();
    let public = Community::parse("public").expect("community");

    let got = agent(&snmpd, Credentials::V1(public.clone()))
        .get(&oids(&[UPTIME, IF_IN_1]))
        .await
        .expect("v1");
    assert!(matches!(got[0].value, SnmpValue::Timeticks(_)), "{got:?}");
    assert!(matches!(got[1].value, SnmpValue::Counter32(_)), "{got:?}");

    let got = agent(&snmpd, Credentials::V2c(public))
        .get(&oids(&[UPTIME, IF_HC_IN_1]))
        .await
        .expect("v2c");
    assert!(matches!(got[1].value, SnmpValue::Counter64(_)), "{got:?}");

    for (name, auth, privacy) in SNMPD_V3_USERS {
        let got = agent(
            &snmpd,
            Credentials::V3(user(name, auth, privacy, "authpass123")),
        )
        .get(&oids(&[UPTIME, IF_HC_IN_1]))
        .await
        .unwrap_or_else(|e| panic!("v3 user {name}: {e}"));
        assert!(
            matches!(got[1].value, SnmpValue::Counter64(_)),
            "{name}: {got:?}"
        );
    }
}

#[tokio::test]
async fn wrong_credentials_say_what_is_wrong() {
    let snmpd = Snmpd::start();
    let wrong = Community::parse("not-the-community").expect("community");
    let err = agent(&snmpd, Credentials::V2c(wrong))
        .get(&oids(&[UPTIME]))
        .await
        .expect_err("wrong community");
    // An agent drops requests with an unknown community without a word.
    assert_eq!(err, SnmpError::Timeout);

    let err = agent(
        &snmpd,
        Credentials::V3(user("shaaes", Some("sha"), Some("aes"), "wrongpass99")),
    )
    .get(&oids(&[UPTIME]))
    .await
    .expect_err("wrong password");
    assert_eq!(err.to_string(), "authentication failed");

    let err = agent(
        &snmpd,
        Credentials::V3(user("nobody", Some("sha"), Some("aes"), "authpass123")),
    )
    .get(&oids(&[UPTIME]))
    .await
    .expect_err("unknown user");
    assert_eq!(err.to_string(), "unknown user");
}
