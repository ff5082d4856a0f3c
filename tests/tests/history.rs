//! History queries: rates over a range from the stored samples, downsampled with min/avg/max,
//! with the 95th percentile, equal to a brute-force computation over the raw files.

use std::time::Duration;

use netpulse_recorder::series;
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
    // Let a few samples reach disk: enough for rates even from an agent that caches its
    // counters for a few seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while stored(&stack, "hist").len() < 10 {
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
    let rates = series::rates(&now, &InterfaceRef::Index(1));
    let inside: Vec<f64> = rates
        .iter()
        .filter(|r| r.time_ms >= from_ms && r.time_ms < to_ms)
        .map(|r| r.in_bps)
        .collect();
    let expected = series::percentile95(&inside);
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

/// A sample of `device` at `time_ms` with interface 1 (eth0) at the given counters.
fn synthetic(device: &str, time_ms: u64, in_octets: u64, out_octets: u64) -> Sample {
    use netpulse_shared::device::DeviceId;
    use netpulse_shared::messages::{PolledInterface, SnmpValue, VarBind};
    use netpulse_shared::snmp::Oid;
    let counter = |column: u32, value: u64| VarBind {
        oid: Oid::parse(&format!("1.3.6.1.2.1.31.1.1.1.{column}.1")).expect("oid"),
        value: SnmpValue::Counter64(value),
    };
    Sample::from_answers(
        format!("{device}-synthetic-{time_ms}"),
        DeviceId::parse(device).expect("id"),
        time_ms,
        Some(u32::try_from(time_ms / 10 % 4_000_000_000).expect("ticks")),
        vec![counter(6, in_octets), counter(10, out_octets)],
        &[PolledInterface {
            index: 1,
            key: "eth0".into(),
            speed_bps: 0,
        }],
    )
}

#[tokio::test]
async fn long_ranges_come_from_rollups_equal_to_brute_force_and_in_pages() {
    let stack = Stack::pipeline().await;
    // The device exists but never answers: all its history is what this test publishes.
    stack
        .add_device(json!({"name": "synth", "address": "192.0.2.1:161", "interval": 3600}))
        .await;
    let now = netpulse_shared::time::now_ms();
    let first = now - 10 * 3_600_000;
    let (mut time, mut in_octets, mut out_octets) = (first, 0u64, 0u64);
    let mut samples = Vec::new();
    let mut seed = 0x2545_f491_u64;
    while time < now - 60_000 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        samples.push(synthetic("synth", time, in_octets, out_octets));
        let gap = 5_000 + seed % 700;
        time += gap;
        in_octets += (seed >> 20) % 5_000_000;
        out_octets += (seed >> 40) % 800_000;
    }
    // Published as the poller would, acked by JetStream.
    let js = async_nats::jetstream::new(stack.nats.clone());
    for chunk in samples.chunks(500) {
        let mut acks = Vec::new();
        for sample in chunk {
            let payload = serde_json::to_vec(sample).expect("json");
            acks.push(
                js.publish("netpulse.sample.synth", payload.into())
                    .await
                    .expect("publish"),
            );
        }
        for ack in acks {
            ack.await.expect("stored in the stream");
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while stored(&stack, "synth").len() < samples.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "samples did not reach disk"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rates = series::rates(&samples, &InterfaceRef::Index(1));
    let (from_ms, to_ms) = (first - 1_000, time);
    for (resolution, max_points, pages) in [
        ("raw", 5000, true),
        ("1m", 1000, false),
        ("5m", 100, false),
        ("1h", 20, false),
    ] {
        let answer = stack
            .get_json(&format!(
                "/api/devices/synth/history?interface=eth0&from={}&to={}&max_points={max_points}&resolution={resolution}",
                from_ms as f64 / 1000.0,
                to_ms as f64 / 1000.0,
            ))
            .await;
        assert_eq!(answer["resolution"], resolution);
        let step = answer["step_ms"].as_u64().expect("step");
        let points = answer["points"].as_array().expect("points");
        assert!(
            points.len() <= max_points,
            "{resolution}: {} points",
            points.len()
        );
        if pages {
            assert!(
                points.len() > history::PAGE_POINTS,
                "{resolution}: {} points fit in one page",
                points.len()
            );
        }
        for (k, point) in points.iter().enumerate() {
            let t = point["time_ms"].as_u64().expect("time");
            if k > 0 {
                assert_eq!(t, points[k - 1]["time_ms"].as_u64().expect("time") + step);
            }
            let inside: Vec<f64> = rates
                .iter()
                .filter(|r| r.time_ms >= t && r.time_ms < t + step)
                .map(|r| r.in_bps)
                .collect();
            if inside.is_empty() {
                assert!(point["in_bps"].is_null(), "{resolution}: {point}");
                continue;
            }
            let min = inside.iter().copied().fold(f64::INFINITY, f64::min);
            let max = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let avg = inside.iter().sum::<f64>() / inside.len() as f64;
            let got = &point["in_bps"];
            assert_eq!(
                (got["min"].as_f64(), got["max"].as_f64()),
                (Some(min), Some(max)),
                "{resolution}: {point}"
            );
            let got_avg = got["avg"].as_f64().expect("avg");
            assert!(
                (got_avg - avg).abs() <= avg * 1e-9,
                "{resolution}: {got_avg} != {avg}"
            );
        }
        // The 95th percentile: of the rates at raw resolution, of each period's average in
        // rollups.
        let period = match resolution {
            "1m" => 60_000,
            "5m" => 300_000,
            "1h" => 3_600_000,
            _ => 1,
        };
        let mut per_period: Vec<(u64, f64, u32)> = Vec::new();
        for rate in &rates {
            let start = rate.time_ms - rate.time_ms % period;
            match per_period.last_mut() {
                Some((p, sum, n)) if *p == start => {
                    *sum += rate.in_bps;
                    *n += 1;
                }
                _ => per_period.push((start, rate.in_bps, 1)),
            }
        }
        let averages: Vec<f64> = per_period
            .iter()
            .map(|(_, sum, n)| if *n == 1 { *sum } else { sum / f64::from(*n) })
            .collect();
        let expected = series::percentile95(&averages).expect("p95");
        let got = answer["p95_in_bps"].as_f64().expect("p95");
        assert!(
            (got - expected).abs() <= expected * 1e-9,
            "{resolution}: p95 {got} != {expected}"
        );
    }
    // The rollups are on disk, one JSON line per period.
    let folder = stack.data_dir.join("devices/synth");
    for prefix in ["rollup-1m-", "rollup-5m-", "rollup-1h-"] {
        assert!(
            std::fs::read_dir(&folder).expect("folder").any(|f| f
                .expect("file")
                .file_name()
                .to_string_lossy()
                .starts_with(prefix)),
            "no {prefix} file"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn a_deleted_device_keeps_its_history_until_it_is_deleted_too() {
    let agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    for name in ["kept", "dropped"] {
        stack
            .add_device(
                json!({"name": name, "address": agent.address(), "interval": 1, "interfaces": [1]}),
            )
            .await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // Enough samples for rates, even from an agent that caches its counters for seconds.
    while stored(&stack, "kept").len() < 10 || stored(&stack, "dropped").len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no samples stored");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A bad choice changes nothing.
    let refused = stack
        .http("DELETE", "/api/devices/kept?history=maybe", None)
        .await;
    assert_eq!(
        (refused.status, refused.json()["field"].as_str()),
        (400, Some("history"))
    );
    assert_eq!(
        stack.http("GET", "/api/devices/kept", None).await.status,
        200
    );

    let kept = stack.http("DELETE", "/api/devices/kept", None).await;
    assert_eq!(kept.status, 204, "{}", kept.text());
    let dropped = stack
        .http("DELETE", "/api/devices/dropped?history=delete", None)
        .await;
    assert_eq!(dropped.status, 204, "{}", dropped.text());
    assert!(!stack.data_dir.join("devices/dropped").exists());

    let removed = stack.get_json("/api/history/removed").await;
    let removed = removed.as_array().expect("list");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["id"], "kept");
    assert_eq!(removed[0]["address"], agent.address());
    let history = stack
        .get_json("/api/devices/kept/history?interface=1&from=1970-01-01T00:00:00Z")
        .await;
    assert!(
        history["points"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| !x["in_bps"].is_null())),
        "{history}"
    );
    assert_eq!(
        stack
            .http("GET", "/api/devices/dropped/history?interface=1", None)
            .await
            .status,
        404
    );
    // Viewers see kept histories but may not delete them.
    let viewer = stack.user("vera", "viewer").await;
    assert_eq!(
        stack
            .http_as(&viewer, "GET", "/api/history/removed", None)
            .await
            .status,
        200
    );
    assert_eq!(
        stack
            .http_as(&viewer, "DELETE", "/api/history/kept", None)
            .await
            .status,
        403
    );
    let forgotten = stack.http("DELETE", "/api/history/kept", None).await;
    assert_eq!(forgotten.status, 204, "{}", forgotten.text());
    assert!(!stack.data_dir.join("devices/kept").exists());
    assert_eq!(stack.get_json("/api/history/removed").await, json!([]),);
    assert_eq!(
        stack.http("DELETE", "/api/history/kept", None).await.status,
        404
    );
    stack.stop().await;
}

/// The points of `answer` that carry `field` as a spread, as (min, avg, max).
fn spreads(answer: &serde_json::Value, field: &str) -> Vec<(f64, f64, f64)> {
    answer["points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let s = &p[field];
            Some((s["min"].as_f64()?, s["avg"].as_f64()?, s["max"].as_f64()?))
        })
        .collect()
}

/// The values (averages) of an OID's series in `answer`.
fn oid_values(answer: &serde_json::Value, oid: &str) -> Vec<f64> {
    answer["oids"][oid]["points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["value"]["avg"].as_f64())
        .collect()
}

#[tokio::test]
async fn history_carries_errors_discards_and_extra_oid_series_from_a_real_agent() {
    const UPTIME: &str = "1.3.6.1.2.1.1.3.0"; // sysUpTime.0, TimeTicks
    const PROCESSES: &str = "1.3.6.1.2.1.25.1.6.0"; // hrSystemProcesses.0, Gauge32
    const RECEIVED: &str = "1.3.6.1.2.1.4.3.0"; // ipInReceives.0, Counter32
    const NAME: &str = "1.3.6.1.2.1.1.5.0"; // sysName.0, text
    let agent = Snmpd::start();
    let stack = Stack::pipeline().await;
    stack
        .add_device(
            json!({"name": "errs", "address": agent.address(), "interval": 1,
                           "interfaces": [1], "oids": [UPTIME, PROCESSES, RECEIVED, NAME]}),
        )
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while stored(&stack, "errs").len() < 12 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "samples did not reach disk"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let samples = stored(&stack, "errs");
    // Polled with the octets, decoded by the shared helper.
    let without = samples.iter().find(|s| s.interface_errors().len() != 1);
    assert!(
        without.is_none(),
        "every sample holds lo's error counters: {without:?}"
    );
    let (from_ms, to_ms) = (samples[0].time_ms, samples[samples.len() - 1].time_ms + 1);
    let range = format!(
        "from={}&to={}",
        from_ms as f64 / 1000.0,
        to_ms as f64 / 1000.0
    );

    // Errors and discards per second of the interface, and the OIDs' series, at raw
    // resolution and from (open) 1-minute rollups alike.
    for resolution in ["raw", "1m"] {
        let answer = stack
            .get_json(&format!(
                "/api/devices/errs/history?interface=1&oids=all&{range}&max_points=4&resolution={resolution}"
            ))
            .await;
        for field in [
            "in_errors_ps",
            "out_errors_ps",
            "in_discards_ps",
            "out_discards_ps",
        ] {
            let found = spreads(&answer, field);
            assert!(!found.is_empty(), "{resolution}: no {field} in {answer}");
            assert!(
                found
                    .iter()
                    .all(|&(min, avg, max)| 0.0 <= min && min <= avg && avg <= max),
                "{resolution}: {field} {found:?}"
            );
        }
        // Every point with bit rates has its error rates too (both come from the same steps).
        let points = answer["points"].as_array().expect("points");
        for point in points.iter().filter(|p| !p["in_bps"].is_null()) {
            assert!(point["in_errors_ps"].is_object(), "{point}");
        }
        let oids = answer["oids"].as_object().expect("oids");
        assert!(!oids.contains_key(NAME), "text has no series: {answer}");
        let uptime = &answer["oids"][UPTIME];
        assert_eq!(
            (uptime["type"].as_str(), uptime["per_second"].as_bool()),
            (Some("timeticks"), Some(false)),
            "{answer}"
        );
        assert_eq!(
            uptime["points"].as_array().map(Vec::len),
            Some(points.len()),
            "the same steps"
        );
        // sysUpTime grows through the range, within what the samples read.
        let ticks = oid_values(&answer, UPTIME);
        assert!(!ticks.is_empty(), "{answer}");
        assert!(ticks.windows(2).all(|w| w[0] <= w[1]), "{ticks:?}");
        let read: Vec<f64> = samples
            .iter()
            .filter_map(|s| s.uptime_ticks.map(f64::from))
            .collect();
        let (lowest, highest) = (read[0], read[read.len() - 1]);
        assert!(
            ticks.iter().all(|t| *t >= lowest && *t <= highest),
            "{ticks:?} outside {lowest}..{highest}"
        );
        assert_eq!(answer["oids"][PROCESSES]["type"], "unsigned32", "{answer}");
        assert!(oid_values(&answer, PROCESSES).iter().all(|n| *n >= 1.0));
        let received = &answer["oids"][RECEIVED];
        assert_eq!(
            (received["type"].as_str(), received["per_second"].as_bool()),
            (Some("counter32"), Some(true)),
            "{answer}"
        );
        assert!(
            oid_values(&answer, RECEIVED).iter().any(|r| *r > 0.0),
            "the agent receives our requests: {answer}"
        );
    }

    // OIDs alone, listed: no interface points.
    let answer = stack
        .get_json(&format!(
            "/api/devices/errs/history?oids={UPTIME},{NAME}&{range}&max_points=4"
        ))
        .await;
    assert_eq!(answer["points"], json!([]), "{answer}");
    assert_eq!(
        answer["oids"]
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec![UPTIME.to_owned()])
    );

    // Turned off: the next samples carry no error counters, and their steps no error rates.
    let changed = stack
        .http(
            "PATCH",
            "/api/devices/errs",
            Some(br#"{"poll_errors": false}"#),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(changed.json()["poll_errors"], false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let off_since = loop {
        let now = stored(&stack, "errs");
        let without: Vec<&Sample> = now
            .iter()
            .skip_while(|s| s.interfaces.iter().any(|i| i.in_errors.is_some()))
            .collect();
        if without.len() >= 6 {
            break without[0].time_ms;
        }
        assert!(tokio::time::Instant::now() < deadline, "still polled");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let answer = stack
        .get_json(&format!(
            "/api/devices/errs/history?interface=1&from={}&resolution=raw&max_points=1000",
            (off_since + 1) as f64 / 1000.0
        ))
        .await;
    assert!(
        spreads(&answer, "in_bps").len() >= 2,
        "rates go on: {answer}"
    );
    assert!(spreads(&answer, "in_errors_ps").is_empty(), "{answer}");

    // A deleted device's kept history still has its OIDs' series.
    let deleted = stack.http("DELETE", "/api/devices/errs", None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    let removed = stack.get_json("/api/history/removed").await;
    assert_eq!(
        removed[0]["oids"],
        json!([UPTIME, PROCESSES, RECEIVED, NAME])
    );
    let answer = stack
        .get_json(&format!("/api/devices/errs/history?oids=all&{range}"))
        .await;
    assert!(!oid_values(&answer, UPTIME).is_empty(), "{answer}");
    stack.stop().await;
}
