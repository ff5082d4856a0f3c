//! API tokens: made by a signed-in user with a role no higher than theirs, accepted as a
//! bearer token on the API, /metrics and /ws, refused at once when revoked or expired, never
//! shown again after creation, and every use audited.

use std::time::Duration;

use netpulse_tests::{Services, Stack};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// POST /api/tokens as `session`: the status and the answer.
async fn make(stack: &Stack, session: &str, body: Value) -> (u16, Value) {
    let answer = stack
        .http_as(
            session,
            "POST",
            "/api/tokens",
            Some(body.to_string().as_bytes()),
        )
        .await;
    let json = serde_json::from_str(&answer.text()).unwrap_or(Value::Null);
    (answer.status, json)
}

async fn status(stack: &Stack, token: &str, method: &str, path: &str, body: Option<Value>) -> u16 {
    let body = body.map(|b| b.to_string().into_bytes());
    stack
        .http_as(token, method, path, body.as_deref())
        .await
        .status
}

/// Whether /ws accepts the bearer token.
async fn ws_opens(stack: &Stack, token: &str) -> bool {
    let mut request = format!("ws://{}/ws", stack.gateway)
        .into_client_request()
        .expect("request");
    let bearer = format!("Bearer {token}").parse().expect("header");
    request.headers_mut().insert("authorization", bearer);
    tokio_tungstenite::connect_async(request).await.is_ok()
}

#[tokio::test]
async fn a_token_acts_with_its_role_until_revoked_or_expired_and_is_never_shown_again() {
    let stack = Stack::start(Services::default()).await;
    let vera = stack.user("vera", "viewer").await;
    let otto = stack.user("otto", "operator").await;

    // A viewer cannot make a token above their role; bad input is named and changes nothing.
    let (code, refused) = make(&stack, &vera, json!({"name": "x", "role": "operator"})).await;
    assert_eq!(
        (code, refused["field"].as_str()),
        (400, Some("role")),
        "{refused}"
    );
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "a\u{7}b"}), "name"),
        (
            json!({"name": "x", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "expires_at": "yesterday"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"name": "x", "colour": "red"}), "colour"),
    ] {
        let (code, refused) = make(&stack, &vera, body.clone()).await;
        assert_eq!(
            (code, refused["field"].as_str()),
            (400, Some(field)),
            "{body}: {refused}"
        );
    }
    let listed = stack
        .http_as(&vera, "GET", "/api/tokens", None)
        .await
        .json();
    assert_eq!(listed, json!([]), "refused tokens are not made");

    // A viewer's token reads, everywhere a session does, and cannot write.
    let (code, made) = make(&stack, &vera, json!({"name": "wall screen"})).await;
    assert_eq!(code, 201, "{made}");
    assert_eq!(made["role"], "viewer", "the creator's role by default");
    let viewer_token = made["token"].as_str().expect("token shown once").to_owned();
    assert!(viewer_token.starts_with("np_"), "{viewer_token}");
    let viewer_id = made["id"].as_str().expect("id").to_owned();
    assert_eq!(
        status(&stack, &viewer_token, "GET", "/api/devices", None).await,
        200
    );
    assert_eq!(
        status(&stack, &viewer_token, "GET", "/metrics", None).await,
        200
    );
    assert!(ws_opens(&stack, &viewer_token).await, "/ws takes a token");
    let device = json!({"name": "core-1", "address": "192.0.2.1"});
    assert_eq!(
        status(
            &stack,
            &viewer_token,
            "POST",
            "/api/devices",
            Some(device.clone())
        )
        .await,
        403,
        "a viewer token cannot write"
    );
    let me = stack
        .http_as(&viewer_token, "GET", "/api/me", None)
        .await
        .json();
    assert_eq!(me["username"], "vera");
    // A token cannot make tokens.
    let (code, _) = make(&stack, &viewer_token, json!({"name": "child"})).await;
    assert_eq!(code, 403);

    // An operator's token writes; it falls to viewer with its owner.
    let (code, made) = make(
        &stack,
        &otto,
        json!({"name": "provisioning", "role": "operator"}),
    )
    .await;
    assert_eq!(code, 201, "{made}");
    let operator_token = made["token"].as_str().expect("token").to_owned();
    assert_eq!(
        status(
            &stack,
            &operator_token,
            "POST",
            "/api/devices",
            Some(device)
        )
        .await,
        201
    );
    let demoted = stack
        .http(
            "PATCH",
            "/api/users/otto",
            Some(json!({"role": "viewer"}).to_string().as_bytes()),
        )
        .await;
    assert_eq!(demoted.status, 200);
    assert_eq!(
        status(
            &stack,
            &operator_token,
            "PATCH",
            "/api/devices/core-1",
            Some(json!({"interval": 20}))
        )
        .await,
        403,
        "a token never does more than its owner may"
    );

    // The token text never appears again: not in the lists, not in the audit log.
    let own = stack
        .http_as(&vera, "GET", "/api/tokens", None)
        .await
        .json();
    assert_eq!(
        own.as_array().map(Vec::len),
        Some(1),
        "vera sees her own: {own}"
    );
    assert_eq!(own[0]["name"], "wall screen");
    assert!(own[0]["last_used_ms"].is_u64(), "last use recorded: {own}");
    let everyone = stack.get_json("/api/tokens").await;
    assert_eq!(
        everyone.as_array().map(Vec::len),
        Some(2),
        "an admin sees all"
    );
    let audit = stack.get_json("/api/audit").await;
    let secret = viewer_token.rsplit('_').next().expect("secret");
    for answer in [&own, &everyone, &audit] {
        let text = answer.to_string();
        assert!(
            !text.contains(secret),
            "a token's secret was shown again: {text}"
        );
        assert!(!text.contains("secret_sha256"), "{text}");
    }
    // Every use is audited, with what was asked.
    let uses: Vec<&Value> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter(|e| e["action"] == "token.use" && e["actor"] == "vera")
        .collect();
    let said = |what: &str, outcome: &str| {
        uses.iter().any(|e| {
            e["target"].as_str().is_some_and(|t| t.contains(what)) && e["outcome"] == outcome
        })
    };
    assert!(
        said("wall screen", "ok") && said("GET /api/devices", "ok"),
        "{uses:?}"
    );
    assert!(
        said("POST /api/devices", "the viewer role may not do this"),
        "{uses:?}"
    );
    assert!(
        said("GET /metrics", "ok") && said("GET /ws", "ok"),
        "{uses:?}"
    );

    // Someone else's token cannot be revoked (it does not exist for them); the owner's can,
    // and it is refused at once.
    let path = format!("/api/tokens/{viewer_id}");
    assert_eq!(status(&stack, &otto, "DELETE", &path, None).await, 404);
    assert_eq!(status(&stack, &vera, "DELETE", &path, None).await, 204);
    assert_eq!(
        status(&stack, &viewer_token, "GET", "/api/devices", None).await,
        401
    );
    assert_eq!(
        status(&stack, &viewer_token, "GET", "/metrics", None).await,
        401
    );
    assert!(
        !ws_opens(&stack, &viewer_token).await,
        "a revoked token opens no /ws"
    );

    // An expired token is refused at once, and says so.
    let soon = (std::time::SystemTime::now() + Duration::from_secs(2))
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs_f64()
        .to_string();
    let (code, made) = make(&stack, &vera, json!({"name": "short", "expires_at": soon})).await;
    assert_eq!(code, 201, "{made}");
    let short = made["token"].as_str().expect("token").to_owned();
    assert_eq!(
        status(&stack, &short, "GET", "/api/devices", None).await,
        200
    );
    let expires_ms = made["expires_ms"].as_u64().expect("expiry");
    while netpulse_shared::time::now_ms() < expires_ms {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = stack.http_as(&short, "GET", "/api/devices", None).await;
    assert_eq!(refused.status, 401);
    assert!(refused.text().contains("expired"), "{}", refused.text());

    // A deleted user's tokens go with them, and do not come back with a new user of the name.
    assert_eq!(
        status(&stack, &stack.token, "DELETE", "/api/users/otto", None).await,
        204
    );
    let _ = stack.user("otto", "operator").await;
    assert_eq!(
        status(&stack, &operator_token, "GET", "/api/devices", None).await,
        401
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_token_made_on_one_gateway_works_on_another_and_its_revocation_too() {
    let stack = Stack::start(Services::default()).await;
    let other = stack.second_gateway().await;
    let (code, made) = make(
        &stack,
        &stack.token,
        json!({"name": "ci", "role": "operator"}),
    )
    .await;
    assert_eq!(code, 201, "{made}");
    let token = made["token"].as_str().expect("token").to_owned();
    let on_other = |token: String| {
        let other = other.address;
        async move {
            let bearer = format!("Bearer {token}");
            netpulse_tests::http(
                other,
                "GET",
                "/api/devices",
                None,
                &[("Authorization", &bearer)],
            )
            .await
            .status
        }
    };
    assert_eq!(
        on_other(token.clone()).await,
        200,
        "at once, on the other gateway"
    );
    let id = made["id"].as_str().expect("id");
    assert_eq!(
        status(
            &stack,
            &stack.token,
            "DELETE",
            &format!("/api/tokens/{id}"),
            None
        )
        .await,
        204
    );
    let refused_within = async {
        while on_other(token.clone()).await != 401 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(1), refused_within)
        .await
        .expect("the other gateway refuses a revoked token within a second");
    other.stop().await;
    stack.stop().await;
}
