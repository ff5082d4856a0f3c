//! netpulsectl against a running gateway: export and import round trips, and imports that
//! refuse bad rows, each reported with its line and field.

use netpulse_tests::{binary, Services, Stack, ADMIN_PASSWORD};
use serde_json::{json, Value};

/// What a run of netpulsectl gave: exit code, stdout, stderr.
struct Ran {
    code: i32,
    out: String,
    err: String,
}

async fn ctl(stack: &Stack, token: &str, args: &[&str]) -> Ran {
    let output = tokio::process::Command::new(binary("netpulsectl"))
        .args(args)
        .env("NETPULSE_URL", format!("http://{}", stack.gateway))
        .env("NETPULSE_TOKEN", token)
        .env("NETPULSE_PASSWORD", ADMIN_PASSWORD)
        .output()
        .await
        .expect("netpulsectl runs");
    Ran {
        code: output.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&output.stdout).into_owned(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every device with its secrets, as the admin export gives them.
async fn devices(stack: &Stack) -> Value {
    let answer = stack.http("GET", "/api/export/devices", None).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

async fn remove_all(stack: &Stack, token: &str) {
    let listed = ctl(stack, token, &["list", "--format", "json"]).await;
    assert_eq!(listed.code, 0, "{}", listed.err);
    let list: Value = serde_json::from_str(&listed.out).expect("json list");
    for device in list.as_array().expect("array") {
        let id = device["id"].as_str().expect("id");
        let removed = ctl(stack, token, &["remove", id, "--history", "delete"]).await;
        assert_eq!(removed.code, 0, "{}", removed.err);
    }
    assert_eq!(devices(stack).await, json!([]));
}

#[tokio::test]
async fn exports_import_back_as_they_were_and_bad_rows_import_nothing() {
    // The recorder too: removing a device with its history asks it to delete the history.
    let stack = Stack::start(Services {
        pipeline: true,
        pollers: 0,
        ..Default::default()
    })
    .await;
    let folder = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| folder.path().join(name).to_string_lossy().into_owned();

    let login = ctl(&stack, "", &["login", "admin"]).await;
    assert_eq!(login.code, 0, "{}", login.err);
    let token = login.out.trim().to_owned();

    // A first set, from a JSON file written by hand.
    let first = json!([
        {"name": "core-1", "address": "192.0.2.1", "interval": 30, "interfaces": ["eth0", 2],
         "community": "s3cret, with a comma", "oids": ["1.3.6.1.2.1.1.5.0"],
         "tags": ["Core", "site:par/1"]},
        {"name": "edge \"west\"", "address": "192.0.2.2:1161", "version": "1", "retries": 3,
         "log_sources": ["198.51.100.7"]},
        {"name": "v3-box", "address": "192.0.2.3", "version": "3", "live_interval_ms": 2000,
         "v3": {"user": "ops", "auth_protocol": "sha", "auth_password": "auth-pass-1",
                "priv_protocol": "aes", "priv_password": "priv-pass-1"}}
    ]);
    std::fs::write(path("first.json"), first.to_string()).expect("write");
    let imported = ctl(&stack, &token, &["import", &path("first.json")]).await;
    assert_eq!(imported.code, 0, "{}", imported.err);
    assert!(
        imported.out.contains("imported 3 devices"),
        "{}",
        imported.out
    );
    let before = devices(&stack).await;
    assert_eq!(before.as_array().map(Vec::len), Some(3));
    assert_eq!(before[0]["community"], "s3cret, with a comma");
    assert_eq!(before[0]["tags"], json!(["core", "site:par/1"]));

    let table = ctl(&stack, &token, &["list"]).await;
    assert!(table.out.contains("core-1") && table.out.contains("192.0.2.2:1161"));

    // Export in both formats, remove everything, import each back: the same devices.
    for (file, format) in [("all.json", "json"), ("all.csv", "csv")] {
        let exported = ctl(
            &stack,
            &token,
            &["export", "--format", format, "--output", &path(file)],
        )
        .await;
        assert_eq!(exported.code, 0, "{}", exported.err);
    }
    let csv = std::fs::read_to_string(path("all.csv")).expect("csv");
    assert!(
        csv.starts_with("name,address,version,community,interval"),
        "{csv}"
    );
    for file in ["all.json", "all.csv"] {
        remove_all(&stack, &token).await;
        let back = ctl(&stack, &token, &["import", &path(file)]).await;
        assert_eq!(back.code, 0, "{file}: {}", back.err);
        assert_eq!(devices(&stack).await, before, "{file} did not round trip");
    }

    // A CSV with bad rows: each reported with its line and field, and nothing imported.
    let bad = "name,address,interval,interfaces\n\
               fresh-1,192.0.2.11,60,eth0\n\
               ,192.0.2.12,60,\n\
               fresh-3,not-an-address!,60,\n\
               fresh-4,192.0.2.14,sometimes,\n\
               core-1,192.0.2.15,60,\n\
               fresh-1,192.0.2.16,60,\n\
               fresh-7,192.0.2.17,60,eth1;eth2\n";
    std::fs::write(path("bad.csv"), bad).expect("write");
    let refused = ctl(&stack, &token, &["import", &path("bad.csv")]).await;
    assert_eq!(refused.code, 1, "{}", refused.out);
    for (line, field) in [
        (3, "name"),
        (4, "address"),
        (5, "interval"),
        (6, "name"),
        (7, "name"),
    ] {
        assert!(
            refused.err.contains(&format!("line {line}: {field}:")),
            "line {line} ({field}) not reported:\n{}",
            refused.err
        );
    }
    assert!(refused.err.contains("already exists"), "{}", refused.err);
    assert!(refused.err.contains("nothing imported"), "{}", refused.err);
    assert_eq!(
        devices(&stack).await,
        before,
        "a refused import changed the registry"
    );

    // --skip-bad imports the good rows and still reports the others.
    let skipped = ctl(&stack, &token, &["import", &path("bad.csv"), "--skip-bad"]).await;
    assert_eq!(skipped.code, 0, "{}", skipped.err);
    assert!(
        skipped
            .out
            .contains("imported 2 devices, skipped 5 bad rows"),
        "{}",
        skipped.out
    );
    assert!(skipped.err.contains("line 4: address:"), "{}", skipped.err);
    let after = devices(&stack).await;
    let ids: Vec<&str> = after
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["core-1", "edge \"west\"", "fresh-1", "fresh-7", "v3-box"]
    );

    // A file that cannot be read at all is refused whole.
    std::fs::write(path("header.csv"), "name,adress\nx,192.0.2.1\n").expect("write");
    let header = ctl(&stack, &token, &["import", &path("header.csv")]).await;
    assert_eq!(header.code, 1);
    assert!(
        header.err.contains("line 1: unknown column \"adress\""),
        "{}",
        header.err
    );

    // Export carries secrets: admins only.
    let viewer = stack.user("val", "viewer").await;
    let denied = ctl(&stack, &viewer, &["export"]).await;
    assert_eq!(denied.code, 1);
    assert!(denied.err.contains("admin"), "{}", denied.err);
    // And no token at all says how to get one.
    let anonymous = ctl(&stack, "", &["list"]).await;
    assert_eq!(anonymous.code, 1);
    assert!(
        anonymous.err.contains("netpulsectl login"),
        "{}",
        anonymous.err
    );
    stack.stop().await;
}

#[tokio::test]
async fn netpulsectl_works_with_an_api_token_from_the_environment_or_a_file() {
    let stack = Stack::start(Services::default()).await;
    let login = ctl(&stack, "", &["login", "admin"]).await;
    assert_eq!(login.code, 0, "{}", login.err);
    let session = login.out.trim().to_owned();

    let made = ctl(
        &stack,
        &session,
        &[
            "token",
            "create",
            "provisioning",
            "--role",
            "operator",
            "--expires-days",
            "30",
        ],
    )
    .await;
    assert_eq!(made.code, 0, "{}", made.err);
    assert!(made.err.contains("shown only now"), "{}", made.err);
    let token = made.out.trim().to_owned();
    assert!(token.starts_with("np_"), "{token}");

    // NETPULSE_TOKEN: the token writes and reads.
    let added = ctl(&stack, &token, &["add", "core-1", "192.0.2.1"]).await;
    assert_eq!(added.code, 0, "{}", added.err);
    let listed = ctl(&stack, &token, &["list"]).await;
    assert!(listed.out.contains("core-1"), "{}", listed.out);

    // NETPULSE_TOKEN_FILE, and --token-file: the same token from a file.
    let folder = tempfile::tempdir().expect("temp dir");
    let file = folder.path().join("token");
    std::fs::write(&file, format!("{token}\n")).expect("write");
    let from_file = tokio::process::Command::new(binary("netpulsectl"))
        .args(["list"])
        .env("NETPULSE_URL", format!("http://{}", stack.gateway))
        .env_remove("NETPULSE_TOKEN")
        .env("NETPULSE_TOKEN_FILE", &file)
        .output()
        .await
        .expect("netpulsectl runs");
    assert!(from_file.status.success(), "{from_file:?}");
    assert!(String::from_utf8_lossy(&from_file.stdout).contains("core-1"));
    let flag = ctl(
        &stack,
        "",
        &["--token-file", &file.to_string_lossy(), "list"],
    )
    .await;
    assert_eq!(flag.code, 0, "{}", flag.err);

    // token list shows it without its secret; revoking it ends it.
    let tokens = ctl(&stack, &session, &["token", "list"]).await;
    assert_eq!(tokens.code, 0, "{}", tokens.err);
    assert!(
        tokens.out.contains("provisioning") && tokens.out.contains("operator"),
        "{}",
        tokens.out
    );
    let secret = token.rsplit('_').next().expect("secret");
    assert!(!tokens.out.contains(secret), "{}", tokens.out);
    let id = token.split('_').nth(1).expect("id");
    let revoked = ctl(&stack, &session, &["token", "revoke", id]).await;
    assert_eq!(revoked.code, 0, "{}", revoked.err);
    let refused = ctl(&stack, &token, &["list"]).await;
    assert_ne!(refused.code, 0);
    assert!(refused.err.contains("HTTP 401"), "{}", refused.err);
    stack.stop().await;
}
