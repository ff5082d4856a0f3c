//! Device logs end to end: real syslog from util-linux `logger` (UDP and TCP, RFC 3164 and
//! RFC 5424, octet counting and newline framing) and real notifications from net-snmp's
//! `snmptrap` and `snmpinform`, each found with its fields parsed through the API and on /ws
//! within 2 s; unknown sources, floods and garbage.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use netpulse_tests::{next_live, Services, Socket, Stack};
use serde_json::{json, Value};

async fn stack() -> Stack {
    Stack::start(Services {
        pipeline: true,
        pollers: 1,
        logs: true,
        ..Default::default()
    })
    .await
}

async fn live(stack: &Stack) -> Socket {
    tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("ws")
        .0
}

/// Runs a command to completion off the async threads; panics with its output on failure.
async fn run(program: &str, args: Vec<String>) {
    let name = program.to_owned();
    let output = tokio::task::spawn_blocking(move || Command::new(&name).args(&args).output())
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"));
    assert!(
        output.status.success(),
        "{program} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The entry carrying `marker` on /ws and through the API, each within 2 s of sending.
async fn find(stack: &Stack, socket: &mut Socket, device: &str, marker: &str) -> (Value, Value) {
    let sent = tokio::time::Instant::now();
    let on_ws = next_live(socket, Duration::from_secs(2), |m| {
        m["type"] == "log"
            && m["device"] == device
            && m["message"].as_str().is_some_and(|t| t.contains(marker))
    })
    .await
    .unwrap_or_else(|| panic!("{marker}: not on /ws within 2 s"));
    let deadline = sent + Duration::from_secs(2);
    loop {
        let answer = stack
            .get_json(&format!("/api/devices/{device}/logs?q={marker}"))
            .await;
        if let Some(entry) = answer["entries"].as_array().and_then(|e| e.first()) {
            return (on_ws, entry.clone());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{marker}: not in the API within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn logger(server: SocketAddr, flags: &[&str], message: &str) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--server".into(),
        server.ip().to_string(),
        "--port".into(),
        server.port().to_string(),
    ];
    args.extend(flags.iter().map(|f| (*f).to_owned()));
    args.push(message.into());
    args
}

#[tokio::test]
async fn syslog_and_notifications_are_parsed_stored_and_streamed() {
    let stack = stack().await;
    let syslog = stack.syslog.expect("syslog address");
    let traps = stack.traps.expect("trap address");
    // A device at 127.0.0.1: everything sent from loopback is its. Nothing answers SNMP
    // there, so it also goes down: that transition is on its timeline too.
    stack
        .add_device(json!({"name": "switch 1", "address": "127.0.0.1:9", "interval": 1}))
        .await;
    let mut socket = live(&stack).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let cases: [(&[&str], &str); 5] = [
        (
            &["--udp", "--rfc3164", "-t", "bgpd", "-p", "local0.warning"],
            "m-udp-3164",
        ),
        (
            &[
                "--udp",
                "--rfc5424",
                "-t",
                "sshd",
                "-p",
                "auth.err",
                "--msgid",
                "LOGIN",
                "--sd-id",
                "origin@32473",
                "--sd-param",
                "ip=\"192.0.2.9\"",
            ],
            "m-udp-5424",
        ),
        (
            &["--tcp", "--rfc3164", "-t", "ospfd", "-p", "daemon.notice"],
            "m-tcp-3164",
        ),
        (
            &[
                "--tcp",
                "--rfc5424",
                "--octet-count",
                "-t",
                "ntpd",
                "-p",
                "user.info",
                "--msgid",
                "SYNC",
            ],
            "m-tcp-5424-octets",
        ),
        (
            &["--tcp", "--rfc5424", "-t", "lldpd", "-p", "local7.crit"],
            "m-tcp-5424-lines",
        ),
    ];
    for (flags, marker) in cases {
        run(
            "logger",
            logger(syslog, flags, &format!("{marker} link state changed")),
        )
        .await;
        let (on_ws, stored) = find(&stack, &mut socket, "switch-1", marker).await;
        for entry in [&on_ws, &stored] {
            assert_eq!(entry["kind"], "syslog", "{marker}: {entry}");
            assert_eq!(
                entry["message"],
                format!("{marker} link state changed"),
                "{entry}"
            );
            assert!(entry["time_ms"].as_u64().is_some(), "{entry}");
            assert!(entry.get("parse_error").is_none(), "{marker}: {entry}");
        }
        let (app, severity, facility) = (&stored["app"], &stored["severity"], &stored["facility"]);
        match marker {
            "m-udp-3164" => assert_eq!(
                (app, severity, facility),
                (&json!("bgpd"), &json!("warning"), &json!(16))
            ),
            "m-udp-5424" => {
                assert_eq!(
                    (app, severity, facility),
                    (&json!("sshd"), &json!("error"), &json!(4))
                );
                assert_eq!(stored["msgid"], "LOGIN");
                let sd = stored["structured_data"].as_str().unwrap_or_default();
                assert!(sd.contains("[origin@32473 ip=\"192.0.2.9\"]"), "{sd}");
                assert!(stored["host"].is_string());
            }
            "m-tcp-3164" => assert_eq!((app, severity), (&json!("ospfd"), &json!("notice"))),
            "m-tcp-5424-octets" => {
                assert_eq!(
                    (app, severity, &stored["msgid"]),
                    (&json!("ntpd"), &json!("info"), &json!("SYNC"))
                );
            }
            _ => assert_eq!(
                (app, severity, facility),
                (&json!("lldpd"), &json!("critical"), &json!(23))
            ),
        }
    }

    // SNMP notifications.
    let target = traps.to_string();
    run(
        "snmptrap",
        [
            "-v",
            "2c",
            "-c",
            "public",
            &target,
            "",
            "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.1.2",
            "i",
            "2",
            "1.3.6.1.2.1.2.2.1.2.2",
            "s",
            "trap-v2c eth1",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    let (_, trap) = find(&stack, &mut socket, "switch-1", "trap-v2c").await;
    assert_eq!(trap["kind"], "trap");
    assert_eq!(trap["severity"], "warning");
    assert_eq!(trap["trap"]["trap_oid"], "1.3.6.1.6.3.1.1.5.3");
    assert_eq!(trap["trap"]["version"], "2c");
    assert_eq!(trap["trap"]["pdu"], "trap");
    assert!(
        trap["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("linkDown")),
        "{trap}"
    );
    let varbinds = trap["trap"]["varbinds"].as_array().expect("varbinds");
    assert_eq!(
        varbinds[0],
        json!({"oid": "1.3.6.1.2.1.2.2.1.1.2", "type": "integer", "value": 2})
    );

    run(
        "snmptrap",
        [
            "-v",
            "1",
            "-c",
            "public",
            &target,
            "1.3.6.1.4.1.8072.2.3",
            "127.0.0.1",
            "6",
            "17",
            "",
            "1.3.6.1.2.1.1.5.0",
            "s",
            "trap-v1 fan failed",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    let (_, v1) = find(&stack, &mut socket, "switch-1", "trap-v1").await;
    assert_eq!(v1["trap"]["version"], "1");
    assert_eq!(v1["trap"]["trap_oid"], "1.3.6.1.4.1.8072.2.3.0.17");

    // An inform is acknowledged: snmpinform exits 0 only once it has its answer.
    run(
        "snmpinform",
        [
            "-v",
            "2c",
            "-c",
            "public",
            "-t",
            "2",
            "-r",
            "1",
            &target,
            "",
            "1.3.6.1.6.3.1.1.5.4",
            "1.3.6.1.2.1.2.2.1.2.2",
            "s",
            "inform-v2c eth1",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    let (_, inform) = find(&stack, &mut socket, "switch-1", "inform-v2c").await;
    assert_eq!(inform["trap"]["pdu"], "inform");
    assert_eq!(inform["severity"], "notice");

    // Garbage is kept raw with the reason, and the receiver goes on.
    let garbage = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("socket");
    garbage
        .send_to(b"\x00\xff\xfe garbage-syslog \x01", syslog)
        .await
        .expect("send");
    garbage
        .send_to(b"\x30\x03\x02\x01", traps)
        .await
        .expect("send");
    let (_, bad) = find(&stack, &mut socket, "switch-1", "garbage-syslog").await;
    assert!(bad["parse_error"].is_string(), "{bad}");
    assert!(bad["raw"].is_string(), "{bad}");
    let answer = stack
        .get_json("/api/devices/switch-1/logs?q=undecodable")
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut undecodable = answer["entries"].as_array().cloned().unwrap_or_default();
    while undecodable.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bad trap was not kept"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        undecodable = stack
            .get_json("/api/devices/switch-1/logs?q=undecodable")
            .await["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
    }
    assert!(undecodable[0]["parse_error"].is_string());

    // One timeline: the device also went down (nothing answers SNMP there).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let timeline = stack
            .get_json("/api/devices/switch-1/logs?limit=1000")
            .await;
        let kinds: Vec<&str> = timeline["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        if kinds.contains(&"status") && kinds.contains(&"config") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no status or config entry: {kinds:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Filters: severity and newest first.
    let warnings = stack
        .get_json("/api/devices/switch-1/logs?severity=warning&limit=1000")
        .await;
    let entries = warnings["entries"].as_array().expect("entries");
    let order = ["emergency", "alert", "critical", "error", "warning"];
    assert!(entries
        .iter()
        .all(|e| order.contains(&e["severity"].as_str().unwrap_or(""))));
    let times: Vec<u64> = entries
        .iter()
        .filter_map(|e| e["time_ms"].as_u64())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    for (query, field) in [
        ("severity=loud", "severity"),
        ("limit=0", "limit"),
        ("from=later", "from"),
        ("colour=red", "colour"),
        ("before=yesterday", "before"),
    ] {
        let refused = stack
            .http("GET", &format!("/api/devices/switch-1/logs?{query}"), None)
            .await;
        assert_eq!(
            (refused.status, refused.json()["field"].as_str()),
            (400, Some(field)),
            "{query}"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn unknown_sources_are_listed_and_a_flood_is_cut_without_holding_others_back() {
    let stack = stack().await;
    let syslog = stack.syslog.expect("syslog address");
    stack
        .add_device(json!({"name": "quiet", "address": "127.0.0.1:9", "interval": 3600}))
        .await;
    stack
        .add_device(json!({"name": "loud", "address": "127.0.0.3:9", "interval": 3600}))
        .await;
    let mut socket = live(&stack).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A source that is no device's.
    let stranger = tokio::net::UdpSocket::bind("127.0.0.2:0")
        .await
        .expect("127.0.0.2");
    stranger
        .send_to(b"<12>Nov 28 10:00:00 mystery app: who am I", syslog)
        .await
        .expect("send");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let sources = stack.get_json("/api/logs/unknown-sources").await;
        if let Some(source) = sources
            .as_array()
            .and_then(|s| s.iter().find(|s| s["address"] == "127.0.0.2"))
        {
            assert_eq!(source["count"], 1);
            assert_eq!(source["recent"][0]["text"], "who am I");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "unknown source not listed: {sources}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let viewer = stack.user("vic", "viewer").await;
    assert_eq!(
        stack
            .http_as(&viewer, "GET", "/api/logs/unknown-sources", None)
            .await
            .status,
        403
    );

    // A flood from one device: cut to the rate, counted, and the quiet device still heard.
    let loud = tokio::net::UdpSocket::bind("127.0.0.3:0")
        .await
        .expect("127.0.0.3");
    for n in 0..6000 {
        let line = format!("<14>Nov 28 10:00:00 loud app: flood {n}");
        loud.send_to(line.as_bytes(), syslog).await.expect("send");
    }
    let quiet = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("socket");
    quiet
        .send_to(b"<13>Nov 28 10:00:01 quiet app: quiet-heard", syslog)
        .await
        .expect("send");
    let (_, heard) = find(&stack, &mut socket, "quiet", "quiet-heard").await;
    assert_eq!(heard["message"], "quiet-heard");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let report = stack.get_json("/api/devices/loud/logs?q=dropped").await;
        if let Some(entry) = report["entries"].as_array().and_then(|e| e.first()) {
            let text = entry["message"].as_str().unwrap_or_default();
            let dropped: u64 = text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert!(dropped > 1000, "{text}");
            assert_eq!(entry["severity"], "warning");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no report of dropped messages"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stack.stop().await;
}
