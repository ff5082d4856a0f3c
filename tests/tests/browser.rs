//! The dashboard in a real headless Chromium (driven by web/tests/dashboard.mjs) against
//! the whole stack, a real snmpd and the logs receiver: what an operator sees and does on
//! the page.

use std::process::Command;

use netpulse_shared::test_util::Snmpd;
use netpulse_tests::{Services, Stack};

#[tokio::test]
async fn the_dashboard_adds_a_device_and_draws_its_traffic_live() {
    let agent = Snmpd::start();
    // The logs receiver too: the page tails syslog sent from the test's own loopback addresses.
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        logs: true,
        ..Default::default()
    })
    .await;
    let syslog = stack.syslog.expect("the logs receiver listens");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let base = format!("http://{}/", stack.gateway);
    let address = agent.address();
    stack.user("watcher", "viewer").await;
    // A device whose own texts are markup and script.
    let hostile = netpulse_simulator::Simulator::start(netpulse_simulator::SimConfig {
        devices: 1,
        interfaces: 1,
        base_port: 0,
        ..Default::default()
    })
    .await
    .expect("simulator");
    hostile
        .control()
        .set_texts(
            0,
            r#"<img src=x onerror="window.__pwned=1">router"#,
            "<script>window.__pwned=2</script>rack 1",
            r#"<img src=x onerror="window.__pwned=3"><script>window.__pwned=4</script>"#,
        )
        .expect("texts");
    let mut command = Command::new("node");
    command
        .current_dir(root.join("web"))
        .env(
            "NETPULSE_ADMIN",
            format!("admin:{}", netpulse_tests::ADMIN_PASSWORD),
        )
        .env("NETPULSE_VIEWER", "watcher:watcher-password-1")
        .env("NETPULSE_HOSTILE", hostile.addresses()[0].to_string())
        .env("NETPULSE_SYSLOG", syslog.to_string())
        .arg("tests/dashboard.mjs")
        .arg(&base)
        .arg(&address);
    if let Some(path) = std::env::var_os("NETPULSE_SCREENSHOT") {
        command.arg(path);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run node (is Node.js installed and `make setup` done?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("live in and out points"));
    assert!(stdout.contains("live over /ws"));
    stack.stop().await;
}
