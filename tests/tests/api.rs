//! The device API against a real nats-server: what users get back for good and bad input,
//! and that bad input leaves the registry exactly as it was.

use netpulse_tests::{http, Services, Stack};
use serde_json::{json, Value};

async fn device_list(stack: &Stack) -> Value {
    stack.get_json("/api/devices").await
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named_and_nothing_stored() {
    let stack = Stack::start(Services::default()).await;
    let good = json!({"name": "core-1", "address": "192.0.2.1:161", "version": "2c", "community": "public",
                      "interval": 10, "interfaces": [1, 2], "oids": ["1.3.6.1.2.1.1.5.0"]});
    let created = stack
        .http("POST", "/api/devices", Some(good.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let before = device_list(&stack).await;
    assert_eq!(before.as_array().map(Vec::len), Some(1));

    let big_name = "x".repeat(70 * 1024);
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "missing name",
            json!({"address": "192.0.2.9"}).to_string(),
            400,
            "name",
        ),
        (
            "empty name",
            json!({"name": "", "address": "192.0.2.9"}).to_string(),
            400,
            "name",
        ),
        (
            "unparsable address",
            json!({"name": "n", "address": "not an address!"}).to_string(),
            400,
            "address",
        ),
        (
            "missing address",
            json!({"name": "n"}).to_string(),
            400,
            "address",
        ),
        (
            "bad port",
            json!({"name": "n", "address": "192.0.2.9:99999"}).to_string(),
            400,
            "address",
        ),
        (
            "port zero",
            json!({"name": "n", "address": "[2001:db8::1]:0"}).to_string(),
            400,
            "address",
        ),
        (
            "malformed OID",
            json!({"name": "n", "address": "192.0.2.9", "oids": ["1.3.6.x"]}).to_string(),
            400,
            "oids",
        ),
        (
            "interval zero",
            json!({"name": "n", "address": "192.0.2.9", "interval": 0}).to_string(),
            400,
            "interval",
        ),
        (
            "interval below 1 s",
            json!({"name": "n", "address": "192.0.2.9", "interval": 0.5}).to_string(),
            400,
            "interval",
        ),
        (
            "unknown version",
            json!({"name": "n", "address": "192.0.2.9", "version": "5"}).to_string(),
            400,
            "version",
        ),
        ("body not JSON", "{\"name\": \"n\",".to_owned(), 400, "body"),
        ("body not an object", "[]".to_owned(), 400, "body"),
        (
            "unknown field",
            json!({"name": "n", "address": "192.0.2.9", "comunity": "x"}).to_string(),
            400,
            "comunity",
        ),
        (
            "body over 64 KiB",
            json!({"name": big_name, "address": "192.0.2.9"}).to_string(),
            413,
            "body",
        ),
        ("duplicate name", good.to_string(), 409, "name"),
        (
            "duplicate name, other case",
            json!({"name": "CORE 1", "address": "192.0.2.9"}).to_string(),
            409,
            "name",
        ),
    ];
    for (what, body, status, field) in cases {
        let response = stack
            .http("POST", "/api/devices", Some(body.as_bytes()))
            .await;
        assert_eq!(response.status, status, "{what}: {}", response.text());
        let error = response.json();
        assert_eq!(error["field"], field, "{what}: {error}");
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {error}"
        );
        assert_eq!(
            device_list(&stack).await,
            before,
            "{what} changed the registry"
        );
    }

    // A large body sent without Content-Length (chunked) is refused as well.
    let body = json!({"name": "y".repeat(80 * 1024), "address": "192.0.2.9"}).to_string();
    let bearer = format!("Bearer {}", stack.token);
    let response = http(
        stack.gateway,
        "POST",
        "/api/devices",
        Some(body.as_bytes()),
        &[("Transfer-Encoding", "chunked"), ("Authorization", &bearer)],
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["field"], "body");
    assert_eq!(device_list(&stack).await, before);
    stack.stop().await;
}

#[tokio::test]
async fn devices_can_be_read_and_deleted_and_secrets_stay_hidden() {
    let stack = Stack::start(Services::default()).await;
    let body = json!({"name": "Edge <b>2</b>", "address": "[2001:db8::1]", "community": "s3cret"})
        .to_string();
    let created = stack
        .http("POST", "/api/devices", Some(body.as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let device = created.json();
    assert_eq!(device["id"], "edge-b-2-b");
    assert_eq!(device["name"], "Edge <b>2</b>");
    assert_eq!(device["address"], "[2001:db8::1]:161");
    assert_eq!(device["version"], "2c");
    assert_eq!(device["interval"], 10);
    assert!(!created.text().contains("s3cret"));

    let mut shown = stack.get_json("/api/devices/edge-b-2-b").await;
    // One device's page also has its poll statistics: none yet.
    let stats = shown
        .as_object_mut()
        .and_then(|d| d.remove("poll_stats"))
        .expect("poll_stats");
    assert_eq!(stats["polls"], 0);
    assert_eq!(stats["bad_replies"], json!({}));
    assert_eq!(shown, device);
    let listed = stack.http("GET", "/api/devices", None).await;
    assert!(!listed.text().contains("s3cret"));
    assert_eq!(listed.header("content-type"), Some("application/json"));

    let missing = stack.http("GET", "/api/devices/nope", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["field"], "id");
    let hostile = stack
        .http("DELETE", "/api/devices/..%2F..%2Fetc", None)
        .await;
    assert_eq!(hostile.status, 404);

    let deleted = stack.http("DELETE", "/api/devices/edge-b-2-b", None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        stack
            .http("DELETE", "/api/devices/edge-b-2-b", None)
            .await
            .status,
        404
    );
    assert_eq!(stack.get_json("/api/devices").await, json!([]));

    // SNMPv3: the level follows from the settings; passwords never come back.
    let v3 = json!({"name": "v3-router", "address": "192.0.2.7", "version": "3",
                    "v3": {"user": "mon", "auth_protocol": "sha256", "auth_password": "authsecret1",
                           "priv_protocol": "aes", "priv_password": "privsecret1"}});
    let created = stack
        .http("POST", "/api/devices", Some(v3.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let shown = created.json();
    assert_eq!(shown["v3"]["level"], "authPriv");
    assert_eq!(shown["v3"]["auth_protocol"], "sha256");
    let listed = stack.http("GET", "/api/devices", None).await.text();
    assert!(
        !listed.contains("authsecret1") && !listed.contains("privsecret1"),
        "{listed}"
    );

    // The same name can be added again once deleted.
    let again = stack
        .http("POST", "/api/devices", Some(body.as_bytes()))
        .await;
    assert_eq!(again.status, 201, "{}", again.text());
    stack.stop().await;
}

#[tokio::test]
async fn tags_come_back_normalised_and_a_bad_tag_creates_nothing() {
    let stack = Stack::start(Services::default()).await;
    let body = json!({"name": "core-1", "address": "192.0.2.1",
                      "tags": [" Core ", "site:par/1", "core"]});
    let created = stack
        .http("POST", "/api/devices", Some(body.to_string().as_bytes()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let shown = stack.get_json("/api/devices/core-1").await;
    assert_eq!(shown["tags"], json!(["core", "site:par/1"]));
    let before = device_list(&stack).await;
    assert_eq!(before[0]["tags"], json!(["core", "site:par/1"]));

    let too_many: Vec<String> = (0..17).map(|n| format!("t{n}")).collect();
    let too_long = "x".repeat(33);
    let too_long_quoted = format!("{too_long:?}");
    let cases = [
        ("a tag with a space", json!(["ok", "not ok"]), "\"not ok\""),
        (
            "a tag too long",
            json!([too_long]),
            too_long_quoted.as_str(),
        ),
        ("an empty tag", json!([""]), "\"\""),
        ("markup", json!(["<b>"]), "\"<b>\""),
        ("not a list", json!("core"), "list"),
        ("not strings", json!([7]), "7"),
        ("too many", json!(too_many), "at most 16"),
    ];
    for (what, tags, named) in cases {
        let body = json!({"name": "edge-1", "address": "192.0.2.2", "tags": tags}).to_string();
        let response = stack
            .http("POST", "/api/devices", Some(body.as_bytes()))
            .await;
        assert_eq!(response.status, 400, "{what}: {}", response.text());
        let error = response.json();
        assert_eq!(error["field"], "tags", "{what}: {error}");
        assert!(
            error["error"].as_str().is_some_and(|e| e.contains(named)),
            "{what}: {error}"
        );
        assert_eq!(
            device_list(&stack).await,
            before,
            "{what} changed the registry"
        );
        let missing = stack.http("GET", "/api/devices/edge-1", None).await;
        assert_eq!(missing.status, 404, "{what} created the device");
    }

    // A bad tag in a change is refused too, and the device keeps its tags.
    let changed = stack
        .http(
            "PATCH",
            "/api/devices/core-1",
            Some(br#"{"tags": ["core", "bad tag"]}"#),
        )
        .await;
    assert_eq!(changed.status, 400, "{}", changed.text());
    assert_eq!(changed.json()["field"], "tags");
    assert_eq!(device_list(&stack).await, before);
    stack.stop().await;
}

#[tokio::test]
async fn the_page_health_and_unknown_routes() {
    let stack = Stack::start(Services::default()).await;
    let health = stack.get_json("/healthz").await;
    assert_eq!(health["status"], "ok");

    let page = stack.http("GET", "/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("netpulse"));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|csp| csp.contains("script-src 'self'")));
    let chart = stack
        .http("GET", "/vendor/chart.js/chart.umd.js", None)
        .await;
    assert_eq!(
        chart.status, 200,
        "Chart.js is served from web/node_modules (run `make setup`)"
    );

    let unknown = stack.http("GET", "/api/nothing", None).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"].is_string());
    stack.stop().await;
}
