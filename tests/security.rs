//! Every route refuses a missing or wrong token, tokens are stored hashed,
//! and no secret reaches a log, an error body or `--help`.

mod common;

use common::{message, token_in, Backend, Daemon, TestApp};
use replyd::domain::Role;
use reqwest::Method;
use serde_json::json;

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/messages"),
    ("GET", "/v1/messages"),
    ("GET", "/v1/messages/0193b2c4-0000-7000-8000-000000000000"),
    ("GET", "/v1/leads"),
    ("GET", "/v1/leads.csv"),
    ("GET", "/v1/leads/0193b2c4-0000-7000-8000-000000000000"),
    ("PATCH", "/v1/leads/0193b2c4-0000-7000-8000-000000000000"),
];

both_backends!(
    every_route_refuses_a_missing_or_wrong_token,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let real = app.token(Role::Admin).await;
        for (method, path) in ROUTES {
            for token in [None, Some("rpd_0000"), Some(&real[..real.len() - 1])] {
                let mut request = app
                    .client
                    .request(method.parse().unwrap(), app.url(path))
                    .json(&json!({}));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized");
            }
        }
        app.shutdown().await;
    }
);

both_backends!(tokens_are_stored_only_as_hashes, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let token = app.token(Role::Ingest).await;
    let db = replyd::store::Db::connect(&app.database_url).await.unwrap();
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT name, role, token_hash FROM api_tokens")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].2, token);
    assert!(
        !rows[0].2.contains(&token[4..20]),
        "no part of the token is stored"
    );
    assert_eq!(rows[0].2, replyd::auth::hash_token(&token));
    db.close().await;
    app.shutdown().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_error_bodies_or_help() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database(Backend::Sqlite, dir.path()).await;
    let ingest = token_in(&url, Role::Ingest).await;
    let secrets = [
        "webhook-secret-6c1f",
        "meta-app-secret-91ab",
        "meta-verify-3d2e",
        "page-token-77aa",
    ];
    let config = dir.path().join("replyd.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{url}\"\nlog_format = \"json\"\n\
             [[connectors.webhook]]\nplatform = \"shop\"\nurl = \"http://127.0.0.1:9/x\"\nsecret = \"{}\"\n\
             [meta]\napp_secret = \"{}\"\nverify_token = \"{}\"\ngraph_url = \"http://127.0.0.1:9/v21.0\"\n\
             [[meta.pages]]\nid = \"1001\"\nplatform = \"facebook\"\naccess_token = \"{}\"\n",
            secrets[0], secrets[1], secrets[2], secrets[3]
        ),
    )
    .unwrap();
    // At debug level, where each request's span is logged too.
    let mut daemon = Daemon::start_with_env(&config, &[("RUST_LOG", "debug")]).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", daemon.addr);
    let mut bodies = Vec::new();
    // Requests that fail in every way a client can make them fail, and a
    // delivery that fails (nothing listens on port 9) so errors get logged.
    for (path, token, body) in [
        (
            "/v1/messages",
            Some(ingest.as_str()),
            json!(message("shop", "dm", "s-1", "Thanks, love it!")),
        ),
        ("/v1/messages", Some(secrets[0]), json!({})),
        (
            "/v1/messages",
            Some(ingest.as_str()),
            json!({"platform": secrets[1]}),
        ),
        (
            "/webhooks/meta",
            None,
            json!({"object": "page", "entry": []}),
        ),
    ] {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        bodies.push(request.send().await.unwrap().text().await.unwrap());
    }
    // Meta's subscription handshake carries the verify token in the query.
    let handshake = client
        .get(format!(
            "{base}/webhooks/meta?hub.mode=subscribe&hub.verify_token={}&hub.challenge=42",
            secrets[2]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.status(), 200);
    bodies.push(
        client
            .get(format!(
                "{base}/webhooks/meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    daemon.kill9();
    let logs: String = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(logs.contains("replyd listening"), "the log was captured");
    assert!(logs.contains("/webhooks/meta"), "requests were logged");
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret} in the log");
        assert!(
            bodies.iter().all(|b| !b.contains(secret)),
            "{secret} in a body: {bodies:?}"
        );
    }
    assert!(!logs.contains(&ingest), "a token in the log");

    let help = std::process::Command::new(env!("CARGO_BIN_EXE_replyd"))
        .arg("--help")
        .env(
            "DATABASE_URL",
            "postgres://bob:hunter2-pw@db.example/replyd",
        )
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--database-url"));
    assert!(!help.contains("hunter2-pw"), "{help}");
}

both_backends!(every_api_error_is_json, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let admin = app.token(Role::Admin).await;
    let nobody = "0193b2c4-0000-7000-8000-000000000000";
    let big = "x".repeat(2 * 1024 * 1024);
    let cases = [
        ("DELETE", format!("/v1/leads/{nobody}"), None, 405),
        ("PUT", "/v1/reviews".to_owned(), None, 405),
        ("GET", "/v1/messages/%FF".to_owned(), None, 400),
        ("GET", "/v1/leads/%FF%FE".to_owned(), None, 400),
        (
            "POST",
            format!("/v1/reviews/{nobody}/approve"),
            Some(format!("{{\"text\": \"{big}\"}}")),
            413,
        ),
        (
            "POST",
            format!("/v1/reviews/{nobody}/reject"),
            Some("{\"reason\": \"\"}".to_owned()),
            400,
        ),
    ];
    for (method, path, body, status) in cases {
        let mut request = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&admin);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: {content_type}"
        );
        if status == 405 {
            assert!(response.headers().contains_key("allow"), "{method} {path}");
        }
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "{method} {path}: {body}"
        );
    }
    app.shutdown().await;
});

#[tokio::test]
async fn config_errors_never_print_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("replyd.toml");
    let db = format!("sqlite://{}", dir.path().join("replyd.db").display());
    let run = |env: &[(&str, &str)]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_replyd"))
            .arg("--config")
            .arg(&config)
            .arg("migrate")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), stderr)
    };
    // An unterminated string: toml would quote the line it is on.
    std::fs::write(
        &config,
        format!("database_url = \"{db}\"\n[meta]\napp_secret = \"s3cr3t-app-7f1e\nverify_token = \"vt\"\n"),
    )
    .unwrap();
    let (ok, stderr) = run(&[]);
    assert!(!ok);
    assert!(!stderr.contains("s3cr3t-app-7f1e"), "{stderr}");
    assert!(
        stderr.contains("replyd.toml") && stderr.contains("line 3"),
        "{stderr}"
    );

    // A verify token of digits, given in the environment, is a string.
    std::fs::write(
        &config,
        format!(
            "database_url = \"{db}\"\n[meta]\napp_secret = \"app-secret\"\nverify_token = \"vt\"\n"
        ),
    )
    .unwrap();
    let (ok, stderr) = run(&[("REPLYD_META__VERIFY_TOKEN", "918273645")]);
    assert!(ok, "{stderr}");
    let (ok, stderr) = run(&[("REPLYD_PIPELINE__CONCURRENCY", "-918273645")]);
    assert!(!ok);
    assert!(stderr.contains("REPLYD_PIPELINE__CONCURRENCY"), "{stderr}");
    assert!(!stderr.contains("918273645"), "{stderr}");
}

/// A body refused before it is read (413) leaves a connection the server
/// will not reuse: the answer says `Connection: close`, so a keep-alive
/// client opens a new one for its next request instead of failing on the
/// dead one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_refusal_never_breaks_the_next_request_on_the_connection() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ingest = app.token(Role::Ingest).await;
    let admin = app.token(Role::Admin).await;
    // Twice the limit: the daemon stops reading long before the end.
    let too_big = format!(
        "{{\"text\": \"{}\"}}",
        "x".repeat(2 * replyd::web::MAX_BODY_BYTES)
    );
    for round in 0..200 {
        let refused = app
            .request(Method::POST, "/v1/messages", &ingest)
            .header("content-type", "application/json")
            .body(too_big.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the refusal itself: {e:?}"));
        assert_eq!(refused.status(), 413, "round {round}");
        assert_eq!(refused.headers()["connection"], "close", "round {round}");
        let next = app
            .request(Method::GET, "/v1/messages?limit=1", &admin)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the request after it: {e:?}"));
        assert_eq!(next.status(), 200, "round {round}");
        assert!(
            !next.headers().contains_key("connection"),
            "a request read whole keeps its connection (round {round})"
        );
    }
    app.shutdown().await;
}
