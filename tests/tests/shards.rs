//! Recorder shards: JetStream splits the samples and logs streams by a stable hash of the
//! device id, as netpulse computes it; two shard processes each store only their devices,
//! queries for devices of both shards answer, and a shard away catches up.

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use netpulse_shared::shards::{shard_of, Shard};
use netpulse_shared::test_util::NatsServer;
use netpulse_shared::{bus, subjects};
use netpulse_tests::{RecorderProcess, Services, Stack};

#[tokio::test]
async fn jetstream_puts_each_device_on_the_shard_netpulse_computes() {
    const SHARDS: u32 = 3;
    let server = NatsServer::start();
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = jetstream::new(client.clone());
    bus::partition_streams(&js, 1, SHARDS)
        .await
        .expect("partitioned");
    let devices: Vec<String> = (0..30).map(|i| format!("dev-{i}")).collect();
    for device in &devices {
        for subject in [
            format!("netpulse.sample.{device}"),
            format!("netpulse.log.{device}"),
            format!("netpulse.status.{device}"),
        ] {
            js.publish(subject, "{}".into())
                .await
                .expect("publish")
                .await
                .expect("stored");
        }
    }
    let samples = bus::samples_stream(&js, 1).await.expect("samples");
    let logs = bus::logs_stream(&js, 1).await.expect("logs");
    for index in 0..SHARDS {
        let shard = Shard::new(index, SHARDS).expect("shard");
        for (stream, filter, per_device) in [
            (&samples, shard.samples_filter(), 1),
            (&logs, shard.logs_filter(), 2),
        ] {
            let reader = stream
                .create_consumer(consumer::pull::Config {
                    filter_subject: filter.clone(),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|e| panic!("a consumer on {filter}: {e}"));
            let mut got = Vec::new();
            let mut batch = reader
                .fetch()
                .max_messages(1000)
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .expect("fetch");
            while let Some(Ok(message)) = batch.next().await {
                let device = subjects::device_of(&message.subject).expect("a device");
                got.push(device.to_string());
            }
            got.sort();
            let mut expected: Vec<String> = devices
                .iter()
                .filter(|d| shard_of(d, SHARDS) == index)
                .flat_map(|d| std::iter::repeat_n(d.clone(), per_device))
                .collect();
            expected.sort();
            assert!(!expected.is_empty(), "shard {index} owns some devices");
            assert_eq!(got, expected, "shard {index} of {SHARDS}, filter {filter}");
        }
    }
}

/// Each device folder's name in a recorder's data folder.
fn devices_in(data_dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("devices")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn two_shards_each_keep_their_devices_answer_for_them_and_catch_up() {
    const DEVICES: usize = 12;
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 1,
        recorder_apart: true,
        ..Default::default()
    })
    .await;
    let _sim = stack.polled_simulator(DEVICES).await;
    let folders = [
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    ];
    let shard = |index: usize| {
        let index_text = index.to_string();
        RecorderProcess::start_replica(
            &stack,
            "",
            folders[index].path(),
            &[
                ("NETPULSE_RECORDER__SHARDS", "2"),
                ("NETPULSE_RECORDER__SHARD", index_text.as_str()),
            ],
        )
    };
    let _first = shard(0);
    let second = shard(1);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let from_ms = netpulse_shared::time::now_ms() - 4_000;
    let owner = |device: &str| shard_of(device, 2) as usize;
    let devices: Vec<String> = (0..DEVICES).map(|i| format!("d{i}")).collect();
    assert!(
        devices.iter().any(|d| owner(d) == 0) && devices.iter().any(|d| owner(d) == 1),
        "both shards own devices"
    );

    // Each device's files are on its shard only; queries for devices of both shards answer.
    for (index, folder) in folders.iter().enumerate() {
        let expected: Vec<String> = devices
            .iter()
            .filter(|d| owner(d) == index)
            .cloned()
            .collect();
        let mut found = devices_in(folder.path());
        found.retain(|d| devices.contains(d));
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        assert_eq!(found, expected_sorted, "the devices shard {index} keeps");
    }
    for device in &devices {
        stack.assert_no_holes(device, from_ms).await;
    }

    // The second shard away for 10 s: the first shard's devices still answer; back, the
    // second's devices are caught up, nothing lost.
    second.kill();
    let away = tokio::time::Instant::now();
    while away.elapsed() < Duration::from_secs(10) {
        for device in devices.iter().filter(|d| owner(d) == 0) {
            stack.assert_no_holes(device, from_ms).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _second = shard(1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for device in devices.iter().filter(|d| owner(d) == 1) {
        loop {
            let path = format!("/api/devices/{device}/history?interface=1&resolution=raw");
            let answered = stack.http("GET", &path, None).await.status == 200;
            if answered {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "shard 1 never answered again"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        stack.assert_no_holes(device, from_ms).await;
    }
    stack.stop().await;
}
