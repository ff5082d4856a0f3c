//! Interface discovery against net-snmp's snmpd, with every SNMP version: interfaces listed
//! by name with their type, speed and status, selection by name, and the discovery API.

use std::time::Duration;

use netpulse_shared::test_util::Snmpd;
use netpulse_tests::{next_live, Stack};
use serde_json::{json, Value};

fn loopback(list: &Value) -> Value {
    list.as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == "lo"))
        .cloned()
        .unwrap_or_else(|| panic!("no 'lo' interface in {list}"))
}

#[tokio::test]
async fn interfaces_are_discovered_when_a_device_is_added_and_polled_by_default() {
    let agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("open /ws");
    let id = stack
        .add_device(json!({"name": "auto", "address": agent.address(), "interval": 1}))
        .await;

    // Discovery runs on its own once the device is added.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let list = loop {
        let list = stack
            .get_json(&format!("/api/devices/{id}/interfaces"))
            .await;
        if list.as_array().is_some_and(|l| !l.is_empty()) {
            break list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no interfaces discovered within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let lo = loopback(&list);
    assert_eq!(lo["index"], 1);
    assert_eq!(lo["type"], 24, "softwareLoopback");
    assert_eq!(lo["admin_status"], "up");
    assert_eq!(lo["hc_counters"], true);
    assert_eq!(
        lo["polled"], true,
        "admin-up interfaces are polled by default"
    );
    assert!(lo["speed_bps"].is_u64());
    for field in ["descr", "alias", "oper_status", "key"] {
        assert!(!lo[field].is_null(), "{field} missing in {lo}");
    }

    // Samples now name the interface.
    let named = next_live(&mut socket, Duration::from_secs(30), |m| {
        m["type"] == "sample"
            && m["device"] == id.as_str()
            && m["interfaces"]
                .as_array()
                .is_some_and(|l| l.iter().any(|i| i["name"] == "lo" && i["index"] == 1))
    })
    .await;
    assert!(named.is_some(), "no sample naming 'lo' within 30 s");
    stack.stop().await;
}

#[tokio::test]
async fn discovery_on_demand_with_v1_v2c_and_v3() {
    let agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    let v3 = |user: &str, auth: &str, password: &str| {
        json!({"user": user, "auth_protocol": auth, "auth_password": password,
               "priv_protocol": "aes", "priv_password": "privpass123"})
    };
    let devices = [
        ("v1", json!({"version": "1"}), false),
        ("v2c", json!({"version": "2c"}), true),
        (
            "v3-sha-aes",
            json!({"version": "3", "v3": v3("shaaes", "sha", "authpass123")}),
            true,
        ),
        (
            "v3-sha256-aes",
            json!({"version": "3", "v3": v3("sha256aes", "sha256", "authpass123")}),
            true,
        ),
    ];
    for (name, settings, hc) in devices {
        let mut device =
            json!({"name": name, "address": agent.address(), "interval": 60, "interfaces": ["lo"]});
        for (k, v) in settings.as_object().expect("object") {
            device[k] = v.clone();
        }
        let id = stack.add_device(device).await;
        let answer = stack
            .http("POST", &format!("/api/devices/{id}/discover"), None)
            .await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.text());
        let lo = loopback(&answer.json());
        assert_eq!(lo["polled"], true, "{name}: chosen by name");
        assert_eq!(
            lo["hc_counters"], hc,
            "{name}: SNMPv1 has no 64-bit counters"
        );
        let stored = stack
            .get_json(&format!("/api/devices/{id}/interfaces"))
            .await;
        assert_eq!(loopback(&stored)["name"], "lo");
    }

    let bad = json!({"name": "bad-password", "address": agent.address(), "version": "3",
                     "v3": v3("shaaes", "sha", "wrongpass99")});
    let id = stack.add_device(bad).await;
    let answer = stack
        .http("POST", &format!("/api/devices/{id}/discover"), None)
        .await;
    assert_eq!(answer.status, 502, "{}", answer.text());
    assert_eq!(
        answer.json()["error"],
        "discovery failed: authentication failed"
    );
    let missing = stack.http("POST", "/api/devices/nope/discover", None).await;
    assert_eq!(missing.status, 404);
    stack.stop().await;
}
