//! History queries: rates over a range from the stored samples, downsampled with min/avg/max,
//! with the 95th percentile, equal to a brute-force computation over the raw files.

use std::time::Duration;

use netpulse_shared::history;
use netpulse_shared::interfaces::InterfaceRef;
use netpulse_shared::messages::Sample;
use netpulse_shared::test_util::Snmpd;
use netpulse_tests::Stack;
use serde_json::json;

fn stored(stack: &Stack, device: &str) -> Vec<Sample> {
    let mut samples: Vec<Sample> = std::fs::read_dir(stack.data_dir.join("devices").join(device))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|f| {
            std::fs::read_to_string(f.path())
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    samples.sort_by_key(|s| s.time_ms);
    samples
}

#[tokio::test]
async fn history_answers_with_rates_spreads_and_the_95th_percentile() {
    let agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    let device =
        json!({"name": "hist", "address": agent.address(), "interval": 1, "interfaces": [1]});
    assert_eq!(
        stack
            .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
            .await
            .status,
        201
    );
    // Let a few samples reach disk.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while stored(&stack, "hist").len() < 6 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "samples did not reach disk"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let samples = stored(&stack, "hist");
    let (from_ms, to_ms) = (samples[0].time_ms, samples[samples.len() - 1].time_ms + 1);
    let path = format!(
        "/api/devices/hist/history?interface=1&from={}&to={}&max_points=3",
        from_ms as f64 / 1000.0,
        to_ms as f64 / 1000.0
    );
    let answer = stack.get_json(&path).await;
    let points = answer["points"].as_array().expect("points");
    assert!(!points.is_empty() && points.len() <= 3, "{answer}");
    assert!(
        points.iter().any(|p| p["in_bps"]["max"].is_number()),
        "{answer}"
    );
    for point in points.iter().filter(|p| !p["in_bps"].is_null()) {
        let (min, avg, max) = (
            point["in_bps"]["min"].as_f64(),
            point["in_bps"]["avg"].as_f64(),
            point["in_bps"]["max"].as_f64(),
        );
        assert!(min <= avg && avg <= max, "{point}");
    }

    // Brute force over the same raw files (the API's range may have more samples by now,
    // so compare on the samples inside it).
    let now = stored(&stack, "hist");
    let rates = history::rates(&now, &InterfaceRef::Index(1));
    let inside: Vec<f64> = rates
        .iter()
        .filter(|r| r.time_ms >= from_ms && r.time_ms < to_ms)
        .map(|r| r.in_bps)
        .collect();
    let expected = history::percentile95(&inside);
    assert_eq!(answer["p95_in_bps"].as_f64(), expected, "{answer}");

    // By interface name, once discovery has named it; and RFC 3339 times.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let named = stack
            .http(
                "GET",
                "/api/devices/hist/history?interface=lo&from=1970-01-01T00:00:00Z",
                None,
            )
            .await;
        if named.status == 200
            && named.json()["points"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| !x["in_bps"].is_null()))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no history by name: {}",
            named.text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    for (query, field) in [
        ("", "interface"),
        ("interface=1&from=yesterday", "from"),
        ("interface=1&max_points=0", "max_points"),
        ("interface=1&from=2000&to=1000", "from"),
        ("interface=1&colour=red", "colour"),
    ] {
        let refused = stack
            .http("GET", &format!("/api/devices/hist/history?{query}"), None)
            .await;
        assert_eq!(
            (refused.status, refused.json()["field"].as_str()),
            (400, Some(field)),
            "{query}"
        );
    }
    assert_eq!(
        stack
            .http("GET", "/api/devices/nope/history?interface=1", None)
            .await
            .status,
        404
    );
    stack.stop().await;
}
