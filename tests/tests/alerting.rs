//! Alerting end to end: net-snmp's snmpd paused and resumed, the alerter as its own process
//! (killed, restarted, two of them), and real receivers: a webhook, an SMTP server
//! (aiosmtpd) and Prometheus' Alertmanager.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use netpulse_shared::test_util::{free_tcp_port, Snmpd};
use netpulse_tests::{http, Services, Stack, Webhook};
use serde_json::{json, Value};

/// A real SMTP server (aiosmtpd, installed by `make setup` into tools/smtp) that prints every
/// message it receives.
struct SmtpServer {
    port: u16,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> Self {
        let root = netpulse_shared::test_util::workspace_root();
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("mail.txt");
        let port = free_tcp_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .env("PYTHONPATH", root.join("tools/smtp"))
            .env("PYTHONUNBUFFERED", "1")
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (make setup installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            port,
            child,
            log,
            _dir: dir,
        }
    }

    fn mail(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_for(&self, text: &str) -> String {
        for _ in 0..300 {
            let mail = self.mail();
            if mail.contains(text) {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail with {text:?} within 30 s: {}", self.mail());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Prometheus' Alertmanager (Debian's prometheus-alertmanager), one node, every alert to a
/// receiver that sends nothing.
struct Alertmanager {
    address: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: quiet\n  group_wait: 1s\nreceivers:\n  - name: quiet\n",
        )
        .expect("config");
        let port = free_tcp_port();
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.path().display()))
            .arg(format!("--web.listen-address={address}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-alertmanager");
        for _ in 0..150 {
            if std::net::TcpStream::connect(address).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            address,
            child,
            _dir: dir,
        }
    }

    /// The alerts Alertmanager holds as active, through its own API.
    async fn active(&self) -> Vec<Value> {
        let answer = http(
            self.address,
            "GET",
            "/api/v2/alerts?active=true&silenced=false&inhibited=false",
            None,
            &[],
        )
        .await;
        if answer.status != 200 {
            return Vec::new();
        }
        answer.json().as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn stack() -> Stack {
    Stack::start(Services {
        pipeline: true,
        pollers: 1,
        nats_permissions: true,
        ..Default::default()
    })
    .await
}

/// Adds a device polled every second that is down after three missed polls.
async fn add_agent(stack: &Stack, name: &str, agent: &Snmpd) -> String {
    stack
        .add_device(
            json!({"name": name, "address": agent.address(), "interval": 1,
                           "timeout_ms": 300, "retries": 0, "interfaces": [1]}),
        )
        .await
}

/// The active alerts the API lists.
async fn active_alerts(stack: &Stack) -> Vec<Value> {
    stack
        .get_json("/api/alerts")
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_paused_agent_is_notified_firing_then_resolved_on_every_kind_of_channel() {
    let mut agent = Snmpd::start();
    let stack = stack().await;
    let hook = Webhook::start().await;
    let smtp = SmtpServer::start();
    let alertmanager = Alertmanager::start();
    let smtp_port = smtp.port.to_string();
    let _alerter = stack.alerter(&[
        ("NETPULSE_ALERTER__SMTP_HOST", "127.0.0.1"),
        ("NETPULSE_ALERTER__SMTP_PORT", &smtp_port),
        ("NETPULSE_ALERTER__SMTP_SECURITY", "none"),
        ("NETPULSE_ALERTER__SMTP_FROM", "netpulse@example.net"),
    ]);
    let id = add_agent(&stack, "core-1", &agent).await;
    let webhook = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "hook", "kind": "webhook", "url": hook.url()}),
        )
        .await;
    assert!(!webhook.to_string().contains("secret-token"), "{webhook}");
    let email = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "mail", "kind": "email", "to": ["oncall@example.net"]}),
        )
        .await;
    let am = stack.post_created("/api/alert-channels", json!({"name": "am", "kind": "alertmanager", "url": format!("http://{}", alertmanager.address)})).await;
    let rule = stack
        .post_created(
            "/api/alert-rules",
            json!({"name": "down", "kind": "device_down", "for_s": 0, "severity": "critical",
               "scope": {"devices": [id]}, "channels": [webhook["id"], email["id"], am["id"]]}),
        )
        .await;
    assert!(rule["id"].is_string());
    let listed = stack.get_json("/api/alert-channels").await;
    assert!(!listed.to_string().contains("secret-token"), "{listed}");
    stack.wait_until_up(&id).await;

    agent.pause();
    let firing = hook.wait_for("firing", 30).await;
    assert_eq!(firing["device"]["name"], "core-1");
    assert_eq!(firing["alert"]["severity"], "critical");
    assert!(
        firing["text"]
            .as_str()
            .unwrap_or_default()
            .contains("[FIRING]"),
        "{firing}"
    );
    assert_eq!(
        firing["link"],
        format!("http://{}/#/device/core-1", stack.gateway)
    );
    let alerts = active_alerts(&stack).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["state"], "firing");
    assert_eq!(alerts[0]["rule_name"], "down");
    let mail = smtp.wait_for("[FIRING] critical").await;
    assert!(
        mail.contains("oncall@example.net") && mail.contains("core-1"),
        "{mail}"
    );
    let mut in_am = Vec::new();
    for _ in 0..100 {
        in_am = alertmanager.active().await;
        if !in_am.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(in_am.len(), 1, "{in_am:?}");
    assert_eq!(in_am[0]["labels"]["alertname"], "down");
    assert_eq!(in_am[0]["labels"]["device"], "core-1");
    assert_eq!(in_am[0]["labels"]["severity"], "critical");

    agent.resume();
    let resolved = hook.wait_for("resolved", 30).await;
    assert_eq!(resolved["device"]["name"], "core-1");
    assert!(resolved["text"]
        .as_str()
        .unwrap_or_default()
        .contains("[RESOLVED]"));
    smtp.wait_for("[RESOLVED] critical").await;
    let mut gone = false;
    for _ in 0..100 {
        if alertmanager.active().await.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "Alertmanager still holds the alert as active");
    assert!(active_alerts(&stack).await.is_empty());
    let history = stack.get_json("/api/alerts?state=resolved").await;
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    assert_eq!(history[0]["device"], "core-1");
    // Exactly one of each.
    assert_eq!(hook.with_status("firing", true).len(), 1);
    assert_eq!(hook.with_status("resolved", true).len(), 1);
    let channels = stack.get_json("/api/alert-channels").await;
    for channel in channels.as_array().expect("list") {
        assert_eq!(channel["health"]["failing"], false, "{channel}");
    }
    // The device's timeline has the alert's transitions.
    let mut messages = Vec::new();
    for _ in 0..100 {
        let timeline = stack.get_json("/api/devices/core-1/logs?limit=100").await;
        messages = timeline["entries"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter(|e| e["kind"] == "alert")
                    .filter_map(|e| e["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if messages.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        messages.contains(&"alert firing: down: core-1 is down".to_owned())
            && messages.contains(&"alert resolved: down: core-1 is down".to_owned()),
        "{messages:?}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn two_alerters_notify_once_an_ack_stops_repeats_and_a_restart_loses_no_resolution() {
    let mut agent = Snmpd::start();
    let stack = stack().await;
    let hook = Webhook::start().await;
    let first = stack.alerter(&[]);
    let second = stack.alerter(&[]);
    let id = add_agent(&stack, "core-2", &agent).await;
    let webhook = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "hook", "kind": "webhook", "url": hook.url()}),
        )
        .await;
    // A channel nobody listens at: it shows as failing.
    let closed = format!("http://127.0.0.1:{}/hook", free_tcp_port());
    let broken = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "broken", "kind": "webhook", "url": closed}),
        )
        .await;
    stack.post_created("/api/alert-rules",
        json!({"name": "down", "kind": "device_down", "for_s": 0, "repeat_s": 2, "severity": "warning",
               "scope": "all", "channels": [webhook["id"], broken["id"]]}),
    )
    .await;
    stack.wait_until_up(&id).await;

    agent.pause();
    hook.wait_for("firing", 30).await;
    // Repeats come every 2 s, from one alerter only.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        hook.with_status("firing", false).len(),
        1,
        "one first notification"
    );
    let repeats = hook.with_status("firing", true).len() - 1;
    assert!((1..=3).contains(&repeats), "{repeats} repeats in 4.5 s");

    // Acknowledged: no more repeats.
    let alert = active_alerts(&stack).await.remove(0);
    let path = format!("/api/alerts/{}/ack", alert["id"].as_str().expect("id"));
    let acked = stack
        .http("POST", &path, Some(br#"{"comment": "looking"}"#))
        .await;
    assert_eq!(acked.status, 200, "{}", acked.text());
    assert_eq!(acked.json()["acked_by"], "admin");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after_ack = hook.with_status("firing", true).len();
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert_eq!(
        hook.with_status("firing", true).len(),
        after_ack,
        "repeated after the ack"
    );
    assert_eq!(active_alerts(&stack).await[0]["acked_by"], "admin");

    // The broken channel is failing, in the API and in /metrics; the other is not.
    let channels = stack.get_json("/api/alert-channels").await;
    let health = |name: &str| {
        channels
            .as_array()
            .and_then(|l| l.iter().find(|c| c["name"] == name))
            .map(|c| c["health"].clone())
            .unwrap_or_default()
    };
    assert_eq!(health("broken")["failing"], true, "{channels}");
    assert!(health("broken")["last_error"].is_string(), "{channels}");
    assert_eq!(health("hook")["failing"], false, "{channels}");
    let metrics = stack.http("GET", "/metrics", None).await.text();
    let failing = format!(
        "netpulse_alert_channel_failing{{channel=\"{}\",name=\"broken\",kind=\"webhook\"}} 1",
        broken["id"].as_str().unwrap_or_default()
    );
    assert!(metrics.contains(&failing), "{metrics}");
    assert!(
        metrics.contains("netpulse_alerts{state=\"firing\",severity=\"warning\"} 1"),
        "{metrics}"
    );

    // Both alerters die mid-firing; the device comes back while none runs.
    first.kill();
    second.kill();
    agent.resume();
    stack.wait_until_up(&id).await;
    assert!(hook.with_status("resolved", true).is_empty());
    let _third = stack.alerter(&[]);
    hook.wait_for("resolved", 30).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(hook.with_status("resolved", true).len(), 1);
    assert_eq!(
        hook.with_status("firing", true).len(),
        after_ack,
        "no firing sent again"
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_silence_holds_notifications_until_it_ends_and_viewers_cannot_write() {
    let mut agent = Snmpd::start();
    let stack = stack().await;
    let hook = Webhook::start().await;
    let _alerter = stack.alerter(&[]);
    let id = add_agent(&stack, "core-3", &agent).await;
    let webhook = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "hook", "kind": "webhook", "url": hook.url()}),
        )
        .await;
    let rule = stack
        .post_created(
            "/api/alert-rules",
            json!({"name": "down", "kind": "device_down", "for_s": 0, "severity": "critical",
               "scope": {"devices": [id]}, "channels": [webhook["id"]]}),
        )
        .await;
    // Bad input names its field and changes nothing.
    for (body, field) in [
        (
            json!({"name": "x", "kind": "device_down", "severity": "loud", "scope": "all", "channels": []}),
            "severity",
        ),
        (
            json!({"name": "x", "kind": "device_down", "severity": "info", "scope": "all", "channels": ["nope"]}),
            "channels",
        ),
    ] {
        let answer = stack
            .http(
                "POST",
                "/api/alert-rules",
                Some(body.to_string().as_bytes()),
            )
            .await;
        assert_eq!(answer.status, 400, "{}", answer.text());
        assert_eq!(answer.json()["field"], field);
    }
    assert_eq!(
        stack
            .get_json("/api/alert-rules")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    stack.wait_until_up(&id).await;

    let now = netpulse_shared::time::now_ms() / 1000;
    stack.post_created("/api/silences",
        json!({"scope": {"devices": [id]}, "from": now - 1, "to": now + 12, "comment": "maintenance"}),
    )
    .await;
    agent.pause();
    // Fires, silenced: recorded, not notified.
    let mut silenced = false;
    for _ in 0..100 {
        let alerts = active_alerts(&stack).await;
        if alerts
            .first()
            .is_some_and(|a| a["state"] == "firing" && a["silenced"] == true)
        {
            silenced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(silenced, "{:?}", active_alerts(&stack).await);
    assert!(hook.with_status("firing", true).is_empty());
    // When the silence ends and it still fires, it is notified.
    let fired = hook.wait_for("firing", 30).await;
    assert!(netpulse_shared::time::now_ms() / 1000 >= now + 12);
    assert_eq!(fired["alert"]["rule"], rule["id"]);
    agent.resume();
    hook.wait_for("resolved", 30).await;

    // A viewer reads but may not write.
    let viewer = stack.user("val", "viewer").await;
    let answer = stack
        .http_as(
            &viewer,
            "POST",
            "/api/silences",
            Some(
                json!({"scope": {"devices": [id]}, "to": now + 60})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        stack
            .http_as(&viewer, "GET", "/api/alert-rules", None)
            .await
            .status,
        200
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_weekly_window_holds_notifications_until_it_closes() {
    let mut agent = Snmpd::start();
    let stack = stack().await;
    let hook = Webhook::start().await;
    let _alerter = stack.alerter(&[]);
    let id = add_agent(&stack, "core-4", &agent).await;
    let webhook = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "hook", "kind": "webhook", "url": hook.url()}),
        )
        .await;
    stack
        .post_created(
            "/api/alert-rules",
            json!({"name": "down", "kind": "device_down", "for_s": 0, "severity": "critical",
               "scope": {"devices": [id]}, "channels": [webhook["id"]]}),
        )
        .await;
    stack.wait_until_up(&id).await;
    // A weekly window of one minute starting this minute, today, in Paris time: it closes
    // within a minute.
    let now = jiff::Zoned::now().in_tz("Europe/Paris").expect("zone");
    let mut seconds_left = 60 - u64::try_from(now.second()).unwrap_or(0);
    if seconds_left < 10 {
        // Too close to the minute's end to see the alert held first: wait for the next one.
        tokio::time::sleep(Duration::from_secs(seconds_left + 1)).await;
        seconds_left = 60;
    }
    let now = jiff::Zoned::now().in_tz("Europe/Paris").expect("zone");
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [now.weekday().to_monday_zero_offset() as usize];
    let silence = stack
        .post_created(
            "/api/silences",
            json!({"scope": {"rules": []  , "devices": [id]}, "comment": "weekly",
               "weekly": {"days": [day], "time": format!("{:02}:{:02}", now.hour(), now.minute()),
                          "duration_s": 60, "time_zone": "Europe/Paris"}}),
        )
        .await;
    assert!(silence["weekly"].is_object(), "{silence}");
    let listed = stack.get_json("/api/silences").await;
    assert_eq!(listed[0]["active"], true, "{listed}");
    agent.pause();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        hook.with_status("firing", true).is_empty(),
        "notified inside the window"
    );
    hook.wait_for("firing", seconds_left + 15).await;
    agent.resume();
    stack.stop().await;
}

/// Simulated devices of two 10 Mbit/s interfaces, steady (no noise), at `in_bps` in.
async fn simulator(devices: usize, in_bps: u64) -> netpulse_simulator::Simulator {
    netpulse_simulator::Simulator::start(netpulse_simulator::SimConfig {
        devices,
        interfaces: 2,
        base_port: 0,
        in_bps,
        out_bps: 100_000,
        noise: 0.0,
        speed_bps: 10_000_000,
        ..Default::default()
    })
    .await
    .expect("simulator")
}

/// Waits `seconds` and says whether a body with `status` came meanwhile.
async fn quiet_for(hook: &Webhook, status: &str, seconds: u64) -> bool {
    let before = hook.with_status(status, true).len();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    hook.with_status(status, true).len() == before
}

#[tokio::test]
async fn utilisation_fires_above_its_threshold_and_clears_only_below_the_lower_one() {
    let sim = simulator(1, 2_000_000).await;
    let stack = stack().await;
    let hook = Webhook::start().await;
    let _alerter = stack.alerter(&[]);
    let id = stack
        .add_device(
            json!({"name": "uplink-1", "address": sim.addresses()[0].to_string(), "interval": 1}),
        )
        .await;
    let webhook = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "hook", "kind": "webhook", "url": hook.url()}),
        )
        .await;
    stack
        .post_created(
            "/api/alert-rules",
            json!({"name": "hot", "kind": "utilisation", "direction": "in", "above_pct": 80,
               "clear_below_pct": 50, "for_s": 0, "severity": "warning",
               "scope": {"devices": [id]}, "channels": [webhook["id"]]}),
        )
        .await;
    // 20%: nothing.
    assert!(quiet_for(&hook, "firing", 6).await);
    // 90% on both interfaces: one notification listing both.
    sim.control().set_rate(0, 9_000_000, 100_000).expect("rate");
    let firing = hook.wait_for("firing", 30).await;
    let ports = firing["interfaces"].as_array().cloned().unwrap_or_default();
    assert!(!ports.is_empty(), "{firing}");
    let value = firing["value"].as_f64().expect("value");
    assert!((80.0..=100.0).contains(&value), "{value}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        hook.with_status("firing", true).len(),
        1,
        "one notification for every port"
    );
    let alert = active_alerts(&stack).await.remove(0);
    assert_eq!(alert["interfaces"], json!(["eth0", "eth1"]), "{alert}");
    // 65%: below the threshold but above the clear level: still firing.
    sim.control().set_rate(0, 6_500_000, 100_000).expect("rate");
    assert!(
        quiet_for(&hook, "resolved", 8).await,
        "cleared above clear_below_pct"
    );
    assert_eq!(active_alerts(&stack).await[0]["state"], "firing");
    // 30%: cleared.
    sim.control().set_rate(0, 3_000_000, 100_000).expect("rate");
    hook.wait_for("resolved", 30).await;
    assert!(active_alerts(&stack).await.is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn an_interface_flapped_once_alerts_once_and_a_flapping_one_is_marked_flapping() {
    let sim = simulator(2, 1_000_000).await;
    let stack = stack().await;
    let hook = Webhook::start().await;
    let _alerter = stack.alerter(&[]);
    let once = stack
        .add_device(
            json!({"name": "edge-1", "address": sim.addresses()[0].to_string(), "interval": 1}),
        )
        .await;
    let flappy = stack
        .add_device(
            json!({"name": "edge-2", "address": sim.addresses()[1].to_string(), "interval": 1}),
        )
        .await;
    let webhook = stack
        .post_created(
            "/api/alert-channels",
            json!({"name": "hook", "kind": "webhook", "url": hook.url()}),
        )
        .await;
    stack.post_created("/api/alert-rules",
        json!({"name": "port down", "kind": "interface_down", "for_s": 0, "severity": "warning",
               "flap_threshold": 3, "flap_window_s": 60, "scope": "all", "channels": [webhook["id"]]}),
    )
    .await;
    let about = |device: &str, status: &str| {
        hook.with_status(status, true)
            .into_iter()
            .filter(|b| b["device"]["id"] == device)
            .collect::<Vec<_>>()
    };
    // Seen up first.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let control = sim.control();
    // edge-1: eth1 goes down once and comes back.
    control.set_oper_status(0, 1, false).expect("down");
    hook.wait_for("firing", 30).await;
    control.set_oper_status(0, 1, true).expect("up");
    hook.wait_for("resolved", 30).await;
    let firing = about(&once, "firing");
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0]["interfaces"], json!(["eth1"]));
    assert_eq!(firing[0]["alert"]["flapping"], false);
    assert_eq!(about(&once, "resolved").len(), 1);

    // edge-2: eth0 flaps, each state held for two polls.
    for _ in 0..4 {
        control.set_oper_status(1, 0, false).expect("down");
        tokio::time::sleep(Duration::from_millis(2200)).await;
        control.set_oper_status(1, 0, true).expect("up");
        tokio::time::sleep(Duration::from_millis(2200)).await;
    }
    let flapping: Vec<_> = about(&flappy, "firing")
        .into_iter()
        .filter(|b| b["alert"]["flapping"] == true)
        .collect();
    assert_eq!(
        flapping.len(),
        1,
        "told once that it flaps: {:?}",
        about(&flappy, "firing")
    );
    assert!(flapping[0]["text"]
        .as_str()
        .unwrap_or_default()
        .contains("[FLAPPING]"));
    let alerts = active_alerts(&stack).await;
    let alert = alerts
        .iter()
        .find(|a| a["device"] == flappy.as_str())
        .expect("kept while flapping");
    assert_eq!(alert["flapping"], true, "{alert}");
    // Not notified again while it goes on flapping.
    let told = about(&flappy, "firing").len() + about(&flappy, "resolved").len();
    control.set_oper_status(1, 0, false).expect("down");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    control.set_oper_status(1, 0, true).expect("up");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        about(&flappy, "firing").len() + about(&flappy, "resolved").len(),
        told
    );
    stack.stop().await;
}
