//! The dashboard in a real headless Chromium (driven by web/tests/dashboard.mjs) against
//! the whole stack, a real snmpd, the logs receiver and the simulator: what an operator sees
//! and does on the page.
//!
//! The script asks for things only this side can do (restart the gateway, silence a
//! simulated device, tell when the scheduler last published a live poll job) with a line
//! `CONTROL <command> [args]` on its standard output, and waits for `OK [answer]` or
//! `ERR <message>` on its standard input.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use netpulse_shared::messages::PollJob;
use netpulse_shared::test_util::Snmpd;
use netpulse_simulator::{Control, SimConfig, Simulator};
use netpulse_tests::{Services, Stack};

/// The whole browser run, at most.
const RUN_LIMIT: Duration = Duration::from_secs(600);

#[tokio::test]
async fn the_dashboard_adds_a_device_and_draws_its_traffic_live() {
    let agent = Snmpd::start();
    // The logs receiver too: the page tails syslog sent from the test's own loopback addresses.
    let mut stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        logs: true,
        ..Default::default()
    })
    .await;
    let syslog = stack.syslog.expect("the logs receiver listens");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output_dir = root.join("target/test-output/browser");
    std::fs::create_dir_all(&output_dir).expect("create the test output folder");
    let base = format!("http://{}/", stack.gateway);
    let address = agent.address();
    stack.user("watcher", "viewer").await;
    // A device whose own texts are markup and script.
    let hostile = Simulator::start(SimConfig {
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
    // The device the page discovers, adds, watches live, and sees go down and up.
    let wall = Simulator::start(SimConfig {
        devices: 1,
        interfaces: 3,
        base_port: 0,
        ..Default::default()
    })
    .await
    .expect("simulator");
    let mut command = netpulse_tests::node::browser_check("tests/dashboard.mjs", &base);
    command
        .env("NETPULSE_VIEWER", "watcher:watcher-password-1")
        .env("NETPULSE_HOSTILE", hostile.addresses()[0].to_string())
        .env("NETPULSE_SIM", wall.addresses()[0].to_string())
        .env("NETPULSE_SYSLOG", syslog.to_string())
        .env("NETPULSE_TEST_OUTPUT", &output_dir)
        .arg(&address);
    if let Some(path) = std::env::var_os("NETPULSE_SCREENSHOT") {
        command.arg(path);
    }
    // Live poll jobs as the pollers see them, for `live-polls`.
    let live_polls = LivePolls::default();
    let mut jobs = stack
        .nats
        .subscribe("netpulse.poll.*")
        .await
        .expect("subscribe to poll jobs");
    let watching = tokio::spawn({
        let live_polls = live_polls.clone();
        async move {
            while let Some(message) = jobs.next().await {
                if let Ok(job) = serde_json::from_slice::<PollJob>(&message.payload) {
                    if job.live {
                        live_polls.seen(job.device.as_str());
                    }
                }
            }
        }
    });
    let started = Instant::now();
    let (success, stdout, stderr) = tokio::time::timeout(
        RUN_LIMIT,
        netpulse_tests::node::drive(&mut command, async |request| {
            Box::pin(control(request, &mut stack, &wall.control(), &live_polls)).await
        }),
    )
    .await
    .expect("the browser checks finish within 10 minutes");
    println!(
        "browser checks took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    watching.abort();
    assert!(success, "browser checks failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("live in and out points"));
    assert!(stdout.contains("live over /ws"));
    assert!(stdout.contains("new live points"));
    assert!(stdout.contains("reconnects by itself"));
    for shot in ["overview.png", "device.png"] {
        assert!(output_dir.join(shot).is_file(), "{shot} was written");
    }
    stack.stop().await;
}

/// When the last live-view poll job of each device was published, Unix milliseconds.
#[derive(Clone, Default)]
struct LivePolls(Arc<Mutex<HashMap<String, u64>>>);

impl LivePolls {
    fn seen(&self, device: &str) {
        let now = netpulse_shared::time::now_ms();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(device.to_owned(), now);
    }

    fn last(&self, device: &str) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(device)
            .copied()
    }
}

/// One command of the script: `restart-gateway`, `silence <n>` or `wake <n>` (answered
/// `OK`), or `live-polls <device id>` (answered `OK <Unix ms of its last live poll job>` or
/// `OK none`).
async fn control(
    request: &str,
    stack: &mut Stack,
    sim: &Control,
    live_polls: &LivePolls,
) -> Result<Option<String>, String> {
    let mut words = request.split_whitespace();
    let device = |word: Option<&str>| -> Result<usize, String> {
        word.and_then(|w| w.parse().ok())
            .ok_or_else(|| format!("a device number is needed: {request}"))
    };
    match words.next() {
        Some("restart-gateway") => {
            Box::pin(stack.restart_gateway()).await;
            Ok(None)
        }
        Some("silence") => sim
            .set_silent(device(words.next())?, true)
            .map(|()| None)
            .map_err(|e| e.to_string()),
        Some("wake") => sim
            .set_silent(device(words.next())?, false)
            .map(|()| None)
            .map_err(|e| e.to_string()),
        Some("live-polls") => {
            let id = words
                .next()
                .ok_or_else(|| format!("a device id is needed: {request}"))?;
            Ok(Some(
                live_polls
                    .last(id)
                    .map_or_else(|| "none".to_owned(), |ms| ms.to_string()),
            ))
        }
        _ => Err(format!("unknown command: {request}")),
    }
}
