//! Sign-in and roles: every route refuses strangers, each role gets exactly its rights,
//! cookies need a same-origin proof for changes, logins are rate-limited, SNMP secrets never
//! leave the gateway, and every change is audited.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use netpulse_tests::{http, login, Services, Stack, ADMIN_PASSWORD};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Every route and method of the API (and /ws), with a body where one is expected.
fn routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    let device = json!({"name": "x", "address": "192.0.2.1"});
    let user = json!({"username": "someone", "password": "long enough pass", "role": "viewer"});
    vec![
        ("GET", "/api/devices", None),
        ("POST", "/api/devices", Some(device)),
        ("GET", "/api/devices/core-1", None),
        (
            "PATCH",
            "/api/devices/core-1",
            Some(json!({"interval": 20})),
        ),
        ("DELETE", "/api/devices/core-1", None),
        ("GET", "/api/devices/core-1/interfaces", None),
        ("POST", "/api/devices/core-1/discover", None),
        ("GET", "/api/me", None),
        ("POST", "/api/logout", None),
        ("GET", "/api/users", None),
        ("POST", "/api/users", Some(user)),
        (
            "PATCH",
            "/api/users/someone",
            Some(json!({"role": "operator"})),
        ),
        ("DELETE", "/api/users/someone", None),
        ("GET", "/api/audit", None),
        ("GET", "/ws", None),
    ]
}

fn body(b: &Option<Value>) -> Option<Vec<u8>> {
    b.as_ref().map(|v| v.to_string().into_bytes())
}

#[tokio::test]
async fn every_route_needs_a_session_and_each_role_gets_its_rights() {
    let stack = Stack::start(Services::default()).await;
    let created = stack
        .http(
            "POST",
            "/api/devices",
            Some(
                json!({"name": "core-1", "address": "192.0.2.1"})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(created.status, 201);

    for (method, path, b) in routes() {
        let anonymous = http(stack.gateway, method, path, body(&b).as_deref(), &[]).await;
        assert_eq!(
            anonymous.status,
            401,
            "{method} {path} without credentials: {}",
            anonymous.text()
        );
        let forged = stack
            .http_as("0123456789abcdef", method, path, body(&b).as_deref())
            .await;
        assert_eq!(forged.status, 401, "{method} {path} with a made-up token");
    }

    let viewer = stack.user("vera", "viewer").await;
    let operator = stack.user("otto", "operator").await;
    let mutating_devices = [
        ("POST", "/api/devices"),
        ("PATCH", "/api/devices/core-1"),
        ("DELETE", "/api/devices/core-1"),
        ("POST", "/api/devices/core-1/discover"),
    ];
    for (method, path, b) in routes() {
        if path == "/ws" || path == "/api/logout" {
            continue;
        }
        let as_viewer = stack
            .http_as(&viewer, method, path, body(&b).as_deref())
            .await;
        let is_device_change = mutating_devices.contains(&(method, path));
        let is_admin_only = path.starts_with("/api/users") || path == "/api/audit";
        if is_device_change || is_admin_only {
            assert_eq!(
                as_viewer.status,
                403,
                "viewer {method} {path}: {}",
                as_viewer.text()
            );
        } else {
            assert_eq!(
                as_viewer.status,
                200,
                "viewer {method} {path}: {}",
                as_viewer.text()
            );
        }
        if is_admin_only {
            let as_operator = stack
                .http_as(&operator, method, path, body(&b).as_deref())
                .await;
            assert_eq!(
                as_operator.status,
                403,
                "operator {method} {path}: {}",
                as_operator.text()
            );
        }
    }
    let me = stack.http_as(&viewer, "GET", "/api/me", None).await.json();
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("vera"), Some("viewer"))
    );
    let added = stack
        .http_as(
            &operator,
            "POST",
            "/api/devices",
            Some(
                json!({"name": "edge", "address": "192.0.2.2"})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(added.status, 201, "an operator adds devices");

    // Logging out ends the session.
    assert_eq!(
        stack
            .http_as(&viewer, "POST", "/api/logout", None)
            .await
            .status,
        204
    );
    assert_eq!(
        stack
            .http_as(&viewer, "GET", "/api/devices", None)
            .await
            .status,
        401
    );
    stack.stop().await;
}

#[tokio::test]
async fn snmp_secrets_never_leave_the_gateway() {
    let stack = Stack::start(Services::default()).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_request())
        .await
        .expect("ws");
    let secrets = ["c0mmunity-s3cret", "auth-s3cret-pw", "priv-s3cret-pw"];
    let v2 = json!({"name": "v2", "address": "192.0.2.1", "community": secrets[0]});
    let v3 = json!({"name": "v3", "address": "192.0.2.2", "version": "3",
                    "v3": {"user": "mon", "auth_protocol": "sha", "auth_password": secrets[1],
                           "priv_protocol": "aes", "priv_password": secrets[2]}});
    let mut bodies = Vec::new();
    for device in [v2, v3] {
        let created = stack
            .http("POST", "/api/devices", Some(device.to_string().as_bytes()))
            .await;
        assert_eq!(created.status, 201);
        bodies.push(created.text());
    }
    for path in [
        "/api/devices",
        "/api/devices/v2",
        "/api/devices/v3",
        "/api/devices/v3/interfaces",
        "/api/audit",
    ] {
        bodies.push(stack.http("GET", path, None).await.text());
    }
    // An update that leaves the secrets out keeps them, and does not show them either.
    let patched = stack
        .http(
            "PATCH",
            "/api/devices/v3",
            Some(
                json!({"interval": 30, "v3": {"user": "mon2"}})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    bodies.push(patched.text());
    let js = async_nats::jetstream::new(stack.nats.clone());
    let stored = js
        .get_key_value("netpulse_devices")
        .await
        .expect("bucket")
        .get("v3")
        .await
        .expect("get")
        .expect("v3");
    let stored: Value = serde_json::from_slice(&stored).expect("json");
    assert_eq!(stored["interval"], 30);
    assert_eq!(stored["v3"]["user"], "mon2");
    assert!(
        stored.to_string().contains(secrets[1]) && stored.to_string().contains(secrets[2]),
        "secrets kept"
    );
    let shown = stack.get_json("/api/devices/v3").await;
    assert_eq!(shown["community_set"], true);
    assert_eq!(shown["v3"]["auth_password_set"], true);
    assert_eq!(shown["v3"]["priv_password_set"], true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout_at(deadline, socket.next()).await
    {
        bodies.push(text.to_string());
    }
    assert!(
        bodies.iter().any(|b| b.contains("device_added")),
        "the live stream was read"
    );
    for text in &bodies {
        for secret in secrets {
            assert!(!text.contains(secret), "secret {secret} leaked in {text}");
        }
    }
    stack.stop().await;
}

/// Logs in and returns the session cookie.
async fn cookie(stack: &Stack, username: &str, password: &str) -> String {
    let body = json!({"username": username, "password": password}).to_string();
    let answer = http(
        stack.gateway,
        "POST",
        "/api/login",
        Some(body.as_bytes()),
        &[],
    )
    .await;
    assert_eq!(answer.status, 200);
    let set = answer.header("set-cookie").expect("a cookie").to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().expect("name=value").to_owned()
}

#[tokio::test]
async fn a_cookie_needs_same_origin_proof_for_changes() {
    let stack = Stack::start(Services::default()).await;
    let session = cookie(&stack, "admin", ADMIN_PASSWORD).await;
    let origin = format!("http://{}", stack.gateway);
    let device = json!({"name": "csrf", "address": "192.0.2.1"}).to_string();
    let post = |headers: Vec<(&'static str, String)>| {
        let device = device.clone();
        let gateway = stack.gateway;
        async move {
            let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            http(
                gateway,
                "POST",
                "/api/devices",
                Some(device.as_bytes()),
                &refs,
            )
            .await
        }
    };
    let bare = post(vec![("Cookie", session.clone())]).await;
    assert_eq!(bare.status, 403, "no Origin: {}", bare.text());
    let foreign = post(vec![
        ("Cookie", session.clone()),
        ("Origin", "http://evil.example".into()),
    ])
    .await;
    assert_eq!(foreign.status, 403, "foreign Origin");
    let reads = http(
        stack.gateway,
        "GET",
        "/api/devices",
        None,
        &[("Cookie", &session)],
    )
    .await;
    assert_eq!(reads.status, 200, "reads need no proof");
    let same = post(vec![
        ("Cookie", session.clone()),
        ("Origin", origin.clone()),
    ])
    .await;
    assert_eq!(same.status, 201, "same origin: {}", same.text());
    // A cross-site page cannot open the live stream with the cookie either.
    let mut request = format!("ws://{}/ws", stack.gateway)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("cookie", session.parse().expect("header"));
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().expect("header"));
    assert!(
        tokio_tungstenite::connect_async(request).await.is_err(),
        "cross-site /ws refused"
    );
    stack.stop().await;
}

#[tokio::test]
async fn logins_are_rate_limited_and_the_limit_resets() {
    let stack = Stack::start(Services::default()).await;
    stack.user("rita", "viewer").await;
    // A wrong name and a wrong password get the same answer.
    let wrong_user = login(stack.gateway, "nobody-here", "whatever-password")
        .await
        .expect_err("refused");
    let wrong_password = login(stack.gateway, "rita", "whatever-password")
        .await
        .expect_err("refused");
    assert_eq!(
        (wrong_user.status, wrong_user.text()),
        (wrong_password.status, wrong_password.text())
    );
    assert_eq!(wrong_user.status, 401);
    // Five failures from one address (the default limit) lock it out.
    for _ in 0..3 {
        assert_eq!(
            login(stack.gateway, "rita", "still-wrong-pass")
                .await
                .expect_err("refused")
                .status,
            401
        );
    }
    let limited = login(stack.gateway, "rita", "rita-password-1")
        .await
        .expect_err("rate limited");
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert!(limited
        .header("retry-after")
        .and_then(|s| s.parse::<u64>().ok())
        .is_some_and(|s| s >= 1));
    // The test gateway locks out for 2 s.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(
        login(stack.gateway, "rita", "rita-password-1")
            .await
            .is_ok(),
        "the limit resets"
    );
    stack.stop().await;
}

#[tokio::test]
async fn users_are_managed_by_admins_and_changes_are_audited() {
    let stack = Stack::start(Services::default()).await;
    let bad_role =
        json!({"username": "z", "password": "long enough pass", "role": "root"}).to_string();
    let refused = stack
        .http("POST", "/api/users", Some(bad_role.as_bytes()))
        .await;
    assert_eq!(
        (refused.status, refused.json()["field"].as_str()),
        (400, Some("role"))
    );
    let short = json!({"username": "z", "password": "short", "role": "viewer"}).to_string();
    assert_eq!(
        stack
            .http("POST", "/api/users", Some(short.as_bytes()))
            .await
            .json()["field"],
        "password"
    );
    let token = stack.user("paula", "viewer").await;
    let promoted = stack
        .http(
            "PATCH",
            "/api/users/paula",
            Some(json!({"role": "operator"}).to_string().as_bytes()),
        )
        .await;
    assert_eq!(promoted.json()["role"], "operator");
    let listed = stack.get_json("/api/users").await;
    assert!(
        !listed.to_string().contains("argon2"),
        "no hashes in answers"
    );
    // A password change ends the user's sessions.
    let changed = stack
        .http(
            "PATCH",
            "/api/users/paula",
            Some(
                json!({"password": "a brand new pass"})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(
        stack.http_as(&token, "GET", "/api/me", None).await.status,
        401
    );
    // The last admin stays.
    let last = stack.http("DELETE", "/api/users/admin", None).await;
    assert_eq!(last.status, 409, "{}", last.text());
    assert_eq!(
        stack.http("DELETE", "/api/users/paula", None).await.status,
        204
    );

    let audit = stack.get_json("/api/audit").await;
    let actions: Vec<(String, String, String)> = audit
        .as_array()
        .expect("list")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["target"].as_str().unwrap_or_default().to_owned(),
                e["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for wanted in [
        ("login", "admin", "ok"),
        ("user.add", "paula", "ok"),
        ("user.update", "paula", "ok"),
        ("user.delete", "paula", "ok"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, t, o)| (a.as_str(), t.as_str(), o.as_str()) == wanted),
            "{wanted:?} not in {actions:?}"
        );
    }
    assert!(
        actions
            .iter()
            .any(|(a, t, o)| a == "user.delete" && t == "admin" && o != "ok"),
        "refusals are audited"
    );
    stack.stop().await;
}

/// A /ws request carrying a session cookie, from this origin.
fn ws_with_cookie(
    stack: &Stack,
    session: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://{}/ws", stack.gateway)
        .into_client_request()
        .expect("request");
    let headers = request.headers_mut();
    headers.insert("cookie", session.parse().expect("header"));
    let origin = format!("http://{}", stack.gateway);
    headers.insert("origin", origin.parse().expect("header"));
    request
}

/// GET /api/me with a session cookie: the status.
async fn me_status(stack: &Stack, session: &str) -> u16 {
    http(
        stack.gateway,
        "GET",
        "/api/me",
        None,
        &[("Cookie", session)],
    )
    .await
    .status
}

#[tokio::test]
async fn sessions_survive_a_gateway_restart_until_logout() {
    let mut stack = Stack::start(Services::default()).await;
    let session = cookie(&stack, "admin", ADMIN_PASSWORD).await;
    let token = session
        .strip_prefix("netpulse_session=")
        .expect("cookie value")
        .to_owned();
    let rita = stack.user("rita", "viewer").await;
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_with_cookie(&stack, &session))
        .await
        .expect("ws");

    stack.restart_gateway().await;
    // The browser sees its socket close, and can reconnect by itself.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "/ws still open after the gateway stopped");
    assert_eq!(
        me_status(&stack, &session).await,
        200,
        "same token after restart"
    );
    let me = http(
        stack.gateway,
        "GET",
        "/api/me",
        None,
        &[("Cookie", &session)],
    )
    .await;
    assert_eq!(me.json()["username"], "admin");
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_with_cookie(&stack, &session))
        .await
        .expect("a new /ws after restart");
    assert_eq!(
        stack.http_as(&rita, "GET", "/api/me", None).await.status,
        200
    );

    // The bucket names sessions by a hash of their token, and holds no token.
    let js = async_nats::jetstream::new(stack.nats.clone());
    let bucket = js
        .get_key_value("netpulse_sessions")
        .await
        .expect("sessions bucket");
    let keys: Vec<String> = bucket
        .keys()
        .await
        .expect("keys")
        .try_collect()
        .await
        .expect("keys");
    assert!(keys.len() >= 3, "admin twice and rita: {keys:?}");
    for key in &keys {
        assert_ne!(key, &token);
        let value = bucket.get(key).await.expect("get").expect("value");
        let value: Value = serde_json::from_slice(&value).expect("json");
        assert!(!value.to_string().contains(&token), "{value}");
        assert!(value["created_ms"].is_u64() && value["last_seen_ms"].is_u64());
    }

    // Logout ends the session, also for the next gateway.
    let origin = format!("http://{}", stack.gateway);
    let logout = http(
        stack.gateway,
        "POST",
        "/api/logout",
        None,
        &[("Cookie", &session), ("Origin", &origin)],
    )
    .await;
    assert_eq!(logout.status, 204, "{}", logout.text());
    assert_eq!(me_status(&stack, &session).await, 401, "logged out");
    // A password change ends the user's older sessions, on a gateway that read them from
    // the bucket.
    let changed = stack
        .http(
            "PATCH",
            "/api/users/rita",
            Some(
                json!({"password": "rita-new-password"})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(
        stack.http_as(&rita, "GET", "/api/me", None).await.status,
        401
    );

    stack.restart_gateway().await;
    let _ = socket.close(None).await;
    assert_eq!(
        me_status(&stack, &session).await,
        401,
        "still out after restart"
    );
    assert_eq!(
        stack.http_as(&rita, "GET", "/api/me", None).await.status,
        401
    );
    assert_eq!(
        stack.http("GET", "/api/me", None).await.status,
        200,
        "others stay in"
    );
    stack.stop().await;
}

#[tokio::test]
async fn every_gateway_honours_a_session_and_its_end() {
    let stack = Stack::start(Services::default()).await;
    let second = stack.second_gateway().await;
    let other = second.address;
    let token = login(stack.gateway, "admin", ADMIN_PASSWORD)
        .await
        .expect("login");
    let bearer = format!("Bearer {token}");
    let me_on = |address| {
        let bearer = bearer.clone();
        async move {
            http(
                address,
                "GET",
                "/api/me",
                None,
                &[("Authorization", &bearer)],
            )
            .await
            .status
        }
    };
    assert_eq!(
        me_on(other).await,
        200,
        "opened on one, honoured on the other"
    );
    let logout = http(
        stack.gateway,
        "POST",
        "/api/logout",
        None,
        &[("Authorization", &bearer)],
    )
    .await;
    assert_eq!(logout.status, 204);
    assert_eq!(me_on(stack.gateway).await, 401);
    // The other gateway reads the bucket again within a few seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while me_on(other).await != 401 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other gateway still honours a closed session"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    second.stop().await;
    stack.stop().await;
}

/// Waits for a session to be refused: a gateway re-reads a cached session from the bucket
/// within 5 s.
async fn refused_soon(stack: &Stack, session: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(7);
    while me_status(stack, session).await != 401 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session is still honoured 7 s after it was ended"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn the_command_line_ends_the_sessions_of_a_changed_or_deleted_user() {
    let stack = Stack::start(Services::default()).await;
    let ann = format!("netpulse_session={}", stack.user("ann", "operator").await);
    let bob = format!("netpulse_session={}", stack.user("bob", "viewer").await);
    let admin_cli = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(netpulse_tests::binary("netpulse-gateway"))
            .arg("user")
            .args(args)
            .env("NETPULSE_NATS__URL", &stack.recorder_nats.url)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run netpulse-gateway");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin.as_bytes())
            .expect("password on stdin");
        let output = child.wait_with_output().expect("netpulse-gateway ends");
        assert!(
            output.status.success(),
            "user {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(me_status(&stack, &ann).await, 200);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_with_cookie(&stack, &ann))
        .await
        .expect("ws");
    let said = admin_cli(&["passwd", "ann"], "a-new-password-2\n");
    assert!(said.contains("sessions ended"), "{said}");
    refused_soon(&stack, &ann).await;
    // Its open live stream ends too.
    let closed = tokio::time::timeout(Duration::from_secs(12), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "/ws still open after its session ended");
    login(stack.gateway, "ann", "a-new-password-2")
        .await
        .expect("the new password works");
    assert_eq!(me_status(&stack, &bob).await, 200);
    admin_cli(&["del", "bob"], "");
    refused_soon(&stack, &bob).await;
    stack.stop().await;
}
