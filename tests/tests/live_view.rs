//! The one-second live view: while a browser shows a device, the scheduler polls it every
//! second besides its normal interval; the fast samples reach that browser and are not
//! stored; the fast polling stops within seconds after the last viewer leaves.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use netpulse_shared::messages::PollJob;
use netpulse_simulator::{SimConfig, Simulator};
use netpulse_tests::{next_live, Stack};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn showing_a_device_polls_it_every_second_until_the_page_closes() {
    let stack = Stack::pipeline().await;
    let sim = Simulator::start(SimConfig {
        devices: 1,
        interfaces: 2,
        base_port: 0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let id = stack
        .add_device(
            json!({"name": "watched", "address": sim.addresses()[0].to_string(), "interval": 60}),
        )
        .await;
    let mut jobs = stack
        .nats
        .subscribe(format!("netpulse.poll.{id}"))
        .await
        .expect("subscribe");
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("ws");
    // A bad subscription is refused with the reason and changes nothing.
    socket
        .send(Message::text(
            r#"{"type": "subscribe", "devices": ["not an id"]}"#,
        ))
        .await
        .expect("send");
    let refused = next_live(&mut socket, Duration::from_secs(5), |m| {
        m["type"] == "error"
    })
    .await
    .expect("an error answer");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("devices")),
        "{refused}"
    );

    socket
        .send(Message::text(
            json!({"type": "subscribe", "devices": [id], "kinds": ["sample", "status"]})
                .to_string(),
        ))
        .await
        .expect("subscribe");
    // Live jobs on the poll subject, about a second apart.
    let mut live_times = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while live_times.len() < 4 {
        let message = tokio::time::timeout_at(deadline, jobs.next())
            .await
            .expect("live poll jobs within 15 s")
            .expect("open");
        let job: PollJob = serde_json::from_slice(&message.payload).expect("a poll job");
        if job.live {
            live_times.push(netpulse_shared::time::now_ms());
        }
    }
    let gaps: Vec<u64> = live_times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| (500..=2_000).contains(g)),
        "live polls every second: {gaps:?}"
    );
    // The page gets a new point each second, with rates.
    let mut points = Vec::new();
    while points.len() < 3 {
        let sample = next_live(&mut socket, Duration::from_secs(5), |m| {
            m["type"] == "sample" && m["live"] == true && m["device"] == id.as_str()
        })
        .await
        .expect("live samples on /ws");
        points.push(sample["time_ms"].as_u64().expect("time"));
    }
    assert!(points.windows(2).all(|w| w[1] - w[0] < 2_500), "{points:?}");

    // The page goes back to the overview (all devices, no live view): fast polling stops
    // within 10 s while the socket stays open.
    socket
        .send(Message::text(
            json!({"type": "subscribe", "devices": "*", "live": []}).to_string(),
        ))
        .await
        .expect("subscribe");
    // An open page goes on reading (a client that reads nothing for 10 s is closed).
    let last = reading(&mut socket, last_live_poll(&mut jobs)).await;
    assert!(
        last <= Duration::from_secs(10),
        "live polls went on {last:?} after the page left the device"
    );

    // It opens the device page again: the live view comes back.
    socket
        .send(Message::text(
            json!({"type": "subscribe", "devices": "*", "live": [id]}).to_string(),
        ))
        .await
        .expect("subscribe");
    next_live(&mut socket, Duration::from_secs(10), |m| {
        m["type"] == "sample" && m["live"] == true && m["device"] == id.as_str()
    })
    .await
    .expect("live samples again");

    // The device asks to be polled no faster than every 2 s: the live view slows down.
    let patched = stack
        .http(
            "PATCH",
            &format!("/api/devices/{id}"),
            Some(br#"{"live_interval_ms": 2000}"#),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let settle = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::timeout_at(settle, jobs.next()).await.is_ok() {}
    let mut slow_times = Vec::new();
    let mut last_job = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while slow_times.len() < 3 {
        let message = tokio::time::timeout_at(deadline, jobs.next())
            .await
            .expect("live poll jobs at the device's pace")
            .expect("open");
        let job: PollJob = serde_json::from_slice(&message.payload).expect("a poll job");
        if job.live {
            slow_times.push(netpulse_shared::time::now_ms());
            last_job = Some(job);
        }
    }
    let gaps: Vec<u64> = slow_times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| (1_500..=3_000).contains(g)),
        "live polls every 2 s: {gaps:?}"
    );

    // With `scheduler.record_live`, a live job is marked to be stored: its sample goes into
    // the samples stream like a normal one, not to the live subject.
    let mut stored_samples = stack
        .nats
        .subscribe(format!("netpulse.sample.{id}"))
        .await
        .expect("subscribe");
    let mut job = last_job.expect("a live job seen");
    job.job_id = format!("{id}-live-recorded");
    job.deadline_ms = netpulse_shared::time::now_ms() + 5_000;
    job.record = true;
    stack
        .nats
        .publish(
            format!("netpulse.poll.{id}"),
            serde_json::to_vec(&job).expect("json").into(),
        )
        .await
        .expect("publish");
    let recorded = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(message) = stored_samples.next().await {
            let sample: serde_json::Value =
                serde_json::from_slice(&message.payload).expect("a sample");
            if sample["id"] == job.job_id.as_str() {
                return sample;
            }
        }
        panic!("sample subscription ended");
    })
    .await
    .expect("the recorded live poll's sample in the samples stream");
    assert_eq!(recorded["device"], id.as_str());

    // The page closes: fast polling stops within 10 s.
    socket.close(None).await.ok();
    drop(socket);
    let last = last_live_poll(&mut jobs).await;
    assert!(
        last <= Duration::from_secs(10),
        "live polls went on {last:?} after the page closed"
    );

    // The fast samples were shown, not stored: only the 60 s polls are on disk.
    let folder = stack.data_dir.join("devices").join(&id);
    let stored: usize = std::fs::read_dir(&folder)
        .map(|files| {
            files
                .flatten()
                .filter(|f| f.file_name().to_string_lossy().starts_with("samples-"))
                .map(|f| std::fs::read_to_string(f.path()).map_or(0, |t| t.lines().count()))
                .sum()
        })
        .unwrap_or(0);
    assert!(
        stored <= 2,
        "{stored} samples stored in well under two minutes at a 60 s interval"
    );
    stack.stop().await;
}

/// How long after now live poll jobs kept coming, watching for 14 s.
/// Runs `work` while reading, and dropping, what `socket` receives, as an open page does.
async fn reading<S, T>(socket: &mut S, work: impl std::future::Future<Output = T>) -> T
where
    S: futures::Stream + Unpin,
{
    let drain = async {
        while socket.next().await.is_some() {}
        std::future::pending::<()>().await;
    };
    tokio::select! {
        out = work => out,
        () = drain => unreachable!("pending never ends"),
    }
}

async fn last_live_poll(jobs: &mut async_nats::Subscriber) -> Duration {
    let since = tokio::time::Instant::now();
    let mut last_live = Duration::ZERO;
    while since.elapsed() < Duration::from_secs(14) {
        let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(500), jobs.next()).await
        else {
            continue;
        };
        let job: PollJob = serde_json::from_slice(&message.payload).expect("a poll job");
        if job.live {
            last_live = since.elapsed();
        }
    }
    last_live
}
