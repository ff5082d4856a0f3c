//! A `/ws` client that stops reading while samples flood in: the gateway closes it with code
//! 4008 once a message has waited `gateway.ws_slow_client_ms` for it (and counts it in
//! `/metrics`), the close frame reaching it when it reads again, while a client that reads
//! goes on receiving throughout; a client that never reads and is sent nothing is found by
//! its unanswered pings and closed the same way. A client that asked for frames gets the flood coalesced:
//! about one frame a tick, with the latest sample. A client that sends more than the gateway
//! takes is closed with 1009 and told why.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use netpulse_shared::device::DeviceId;
use netpulse_tests::{Services, Stack};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// The gateway's limit for a slow client in this test.
const SLOW_MS: u64 = 1_500;

/// A sample of `device` with 20 interfaces, about 3 KB on `/ws`.
fn sample(device: &str, n: u64) -> Vec<u8> {
    let interfaces: Vec<serde_json::Value> = (1..=20)
        .map(|i| {
            serde_json::json!({"index": i, "key": format!("eth{i}"), "speed_bps": 1_000_000_000u64,
                "in_octets": n * 1_000 + i, "out_octets": n * 700 + i, "oper_status": 1})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schema": 2, "id": format!("flood-{n}"), "device": device,
        "time_ms": netpulse_shared::time::now_ms(), "uptime_ticks": n * 10,
        "interfaces": interfaces, "values": []
    }))
    .expect("json")
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_with_4008_and_the_others_keep_receiving() {
    let stack = Stack::start(Services {
        ws_slow_client_ms: Some(SLOW_MS),
        ..Default::default()
    })
    .await;
    // The slow client's socket takes little before the gateway's sends block.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let stream = socket.connect(stack.gateway).await.expect("connect");
    let (mut slow, _) = tokio_tungstenite::client_async(stack.ws_request(), stream)
        .await
        .expect("the slow client connects");
    let (mut steady, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("the steady client connects");
    let (mut framed, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("the framed client connects");
    let subscribe = || Message::text(r#"{"type": "subscribe", "kinds": ["sample"]}"#);
    slow.send(subscribe()).await.expect("subscribe");
    steady.send(subscribe()).await.expect("subscribe");
    framed
        .send(Message::text(
            r#"{"type": "subscribe", "kinds": ["sample"], "frames": true}"#,
        ))
        .await
        .expect("subscribe");
    // The framed client keeps each frame's tick and sample count; a sample alone is a fault.
    let framing = tokio::spawn(async move {
        let mut frames: Vec<(u64, usize)> = Vec::new();
        while let Some(Ok(message)) = framed.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(value["type"], "frame", "only frames: {text:.200}");
            let samples = value["samples"].as_array().expect("samples");
            frames.push((value["tick"].as_u64().expect("tick"), samples.len()));
        }
        frames
    });
    // The steady client counts what it receives, and when it last did.
    let received = Arc::new(AtomicU64::new(0));
    let last_ms = Arc::new(AtomicU64::new(0));
    let reading = tokio::spawn({
        let (received, last_ms) = (received.clone(), last_ms.clone());
        async move {
            while let Some(Ok(message)) = steady.next().await {
                if message.is_text() {
                    received.fetch_add(1, Ordering::Relaxed);
                    last_ms.store(netpulse_shared::time::now_ms(), Ordering::Relaxed);
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // About 6 MB a second of samples for 8 s.
    let flooding = Arc::new(AtomicBool::new(true));
    let device = DeviceId::parse("flood").expect("id");
    let flood = tokio::spawn({
        let (nats, flooding) = (stack.nats.clone(), flooding.clone());
        async move {
            let mut n = 0;
            while flooding.load(Ordering::Relaxed) {
                for _ in 0..100 {
                    n += 1;
                    let subject = netpulse_shared::subjects::sample(&device);
                    nats.publish(subject, sample("flood", n).into())
                        .await
                        .expect("publish");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let started = Instant::now();
    // Until the gateway says it closed a slow client (it waits 5 s for the close frame to be
    // read).
    let closed = "netpulse_websocket_slow_closed_total 1";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = stack.http("GET", "/metrics", None).await.text();
        if metrics.contains(closed) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never closed the slow client"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(SLOW_MS),
        "not before its message waited {SLOW_MS} ms"
    );
    let steady_before = received.load(Ordering::Relaxed);

    // The slow client reads again: what was under way, then the close frame.
    let mut close = None;
    let reading_slow = async {
        while let Some(message) = slow.next().await {
            match message {
                Ok(Message::Close(frame)) => {
                    close = frame;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), reading_slow)
        .await
        .expect("the slow client's connection ends");
    let frame = close.expect("a close frame reached the slow client");
    assert_eq!(frame.code, CloseCode::from(4008), "{frame:?}");
    assert!(frame.reason.contains("too slow"), "{frame:?}");

    // Meanwhile, and after, the steady client went on receiving.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let steady_after = received.load(Ordering::Relaxed);
    assert!(
        steady_before > 100,
        "the steady client received {steady_before} samples while the slow one was stuck"
    );
    assert!(
        steady_after > steady_before,
        "and more after ({steady_after})"
    );
    assert!(
        netpulse_shared::time::now_ms() - last_ms.load(Ordering::Relaxed) < 1_000,
        "its latest sample is recent"
    );
    println!(
        "slow client closed {:.1} s after the flood began; the steady client received {steady_after} samples",
        closed_after.as_secs_f64()
    );
    flooding.store(false, Ordering::Relaxed);
    flood.await.expect("flood");
    let flooded = started.elapsed().as_secs_f64();
    reading.abort();

    // A client that never reads, sent nothing: the gateway's pings go unanswered, and it is
    // closed within one and a half times the limit all the same.
    let (idle, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("the idle client connects");
    let connected = Instant::now();
    let closed = "netpulse_websocket_slow_closed_total 2";
    while !stack
        .http("GET", "/metrics", None)
        .await
        .text()
        .contains(closed)
    {
        assert!(
            connected.elapsed() < Duration::from_millis(SLOW_MS * 3 / 2 + 1_000),
            "the idle client is still open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(connected.elapsed() >= Duration::from_millis(SLOW_MS));
    drop(idle);

    // More than the gateway takes from a client: closed with 1009, saying why.
    let (mut talker, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("connects");
    let huge = format!(
        r#"{{"type": "subscribe", "devices": ["{}"]}}"#,
        "a".repeat(70_000)
    );
    talker.send(Message::text(huge)).await.expect("sent");
    let mut close = None;
    while let Some(Ok(message)) = talker.next().await {
        if let Message::Close(frame) = message {
            close = frame;
            break;
        }
    }
    let frame = close.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
    assert!(frame.reason.contains("at most 65536 bytes"), "{frame:?}");

    stack.stop().await;
    let frames = tokio::time::timeout(Duration::from_secs(10), framing)
        .await
        .expect("the framed client's connection ends")
        .expect("only frames");
    // Thousands of samples at a 1 s tick: one frame a tick, each with the device's latest.
    let ticks = flooded.ceil() as usize + 1;
    assert!(
        (2..=ticks).contains(&frames.len()),
        "{} frames in {flooded:.1} s: {frames:?}",
        frames.len()
    );
    assert!(frames.iter().all(|&(_, n)| n == 1), "{frames:?}");
    assert!(frames.windows(2).all(|w| w[0].0 < w[1].0), "{frames:?}");
    println!("the framed client got {} frames", frames.len());
}
