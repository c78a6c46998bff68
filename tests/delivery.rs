//! Delivery through the generic webhook connector, retries, and a kill -9
//! in the middle of the pipeline.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{message, settled, token_in, Backend, Daemon, Recorder, TestApp, WAIT};
use replyd::config::{Secret, WebhookConnectorConfig};
use replyd::deliver::webhook::verify_signature;
use replyd::domain::Role;
use serde_json::{json, Value};

fn webhook(platform: &str, addr: std::net::SocketAddr) -> WebhookConnectorConfig {
    WebhookConnectorConfig {
        platform: platform.parse().unwrap(),
        url: format!("http://{addr}/replyd"),
        secret: Secret::new("webhook-secret"),
    }
}

both_backends!(
    actions_are_posted_signed_and_retried_until_accepted,
    |backend| async move {
        let receiver = Recorder::default();
        receiver.failures.lock().unwrap().extend([503, 500]);
        let addr = receiver.start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.connectors.webhook.push(webhook("shop", addr))
        })
        .await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let (_, body) = app
            .post_messages(
                &ingest,
                &message(
                    "shop",
                    "comment",
                    "w-1",
                    "Super service, thank you so much!",
                ),
            )
            .await;
        let id = body["id"].as_str().unwrap();
        let done = app.wait_for_message(&viewer, id, WAIT, settled).await;
        let ack = &done["actions"][0];
        assert_eq!(ack["status"], "sent", "{done}");
        assert_eq!(ack["attempts"], 3, "two failures, then success: {done}");

        let requests = receiver.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 3);
        let keys: HashSet<_> = requests
            .iter()
            .map(|r| r.headers["idempotency-key"].clone())
            .collect();
        assert_eq!(
            keys.len(),
            1,
            "the idempotency key is stable across retries"
        );
        let last = requests.last().unwrap();
        let signature = last.headers["x-replyd-signature"].to_str().unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!(verify_signature(
            &Secret::new("webhook-secret"),
            signature,
            &last.body,
            now,
            300
        ));
        let sent: Value = serde_json::from_slice(&last.body).unwrap();
        assert_eq!(sent["action"]["kind"], "acknowledge");
        assert_eq!(sent["message"]["external_id"], "w-1");
        assert_eq!(sent["action"]["text"], ack["text"]);
        app.shutdown().await;
    }
);

both_backends!(
    a_receiver_that_refuses_marks_the_action_failed,
    |backend| async move {
        let receiver = Recorder::default();
        receiver.failures.lock().unwrap().extend([400]);
        let addr = receiver.start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.connectors.webhook.push(webhook("shop", addr))
        })
        .await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let (_, body) = app
            .post_messages(&ingest, &message("shop", "dm", "f-1", "Thanks, love it!"))
            .await;
        let done = app
            .wait_for_message(&viewer, body["id"].as_str().unwrap(), WAIT, settled)
            .await;
        let ack = &done["actions"][0];
        assert_eq!(ack["status"], "failed", "{done}");
        assert!(
            ack["last_error"].as_str().unwrap().contains("400"),
            "{done}"
        );
        assert_eq!(
            receiver.requests.lock().unwrap().len(),
            1,
            "a 4xx is not retried"
        );
        app.shutdown().await;
    }
);

both_backends!(
    a_kill_9_mid_pipeline_loses_nothing_and_repeats_nothing,
    |backend| async move {
        let receiver = Recorder::default();
        receiver.delay_ms.store(150, Ordering::Relaxed);
        let receiver_addr = receiver.start().await;
        let dir = tempfile::tempdir().unwrap();
        let database_url = common::fresh_database(backend, dir.path()).await;
        let ingest = token_in(&database_url, Role::Ingest).await;
        let viewer = token_in(&database_url, Role::Viewer).await;
        let config = dir.path().join("replyd.toml");
        std::fs::write(
        &config,
        format!(
            "database_url = \"{database_url}\"\n[pipeline]\npoll_interval_ms = 100\nlease_secs = 5\n\
             [delivery]\nbackoff_base_ms = 50\nbackoff_max_ms = 500\n\
             [[connectors.webhook]]\nplatform = \"shop\"\nurl = \"http://{receiver_addr}/replyd\"\nsecret = \"s\"\n"
        ),
    )
    .unwrap();

        let mut daemon = Daemon::start(&config).await;
        let client = reqwest::Client::new();
        let total = 60;
        let batch: Vec<_> = (0..total)
            .map(|i| {
                message(
                    "shop",
                    "comment",
                    &format!("k-{i}"),
                    "Thank you, great shop and lovely staff!",
                )
            })
            .collect();
        let response = client
            .post(format!("http://{}/v1/messages", daemon.addr))
            .bearer_auth(&ingest)
            .json(&json!(batch))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let accepted: Value = response.json().await.unwrap();
        let ids: Vec<String> = accepted["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();

        // Kill it while deliveries are in flight.
        let deadline = Instant::now() + WAIT;
        while receiver.requests.lock().unwrap().len() < 5 {
            assert!(Instant::now() < deadline, "no delivery started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        daemon.kill9();
        let delivered_before = receiver.requests.lock().unwrap().len();
        assert!(
            delivered_before < total,
            "the kill came too late to test anything"
        );

        receiver.delay_ms.store(0, Ordering::Relaxed);
        let daemon = Daemon::start(&config).await;
        let app = common::TestApp {
            addr: daemon.addr,
            database_url: database_url.clone(),
            client: client.clone(),
            stop: Default::default(),
            handle: None,
            dir: std::sync::Arc::new(tempfile::tempdir().unwrap()),
        };
        for id in &ids {
            let done = app.wait_for_message(&viewer, id, WAIT, settled).await;
            let actions = done["actions"].as_array().unwrap();
            assert_eq!(actions.len(), 1, "{done}");
            assert_eq!(actions[0]["status"], "sent", "{done}");
        }

        let requests = receiver.requests.lock().unwrap().clone();
        let mut per_key: HashMap<String, Vec<String>> = HashMap::new();
        for r in &requests {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            per_key
                .entry(r.headers["idempotency-key"].to_str().unwrap().to_owned())
                .or_default()
                .push(body["message"]["external_id"].as_str().unwrap().to_owned());
        }
        assert_eq!(per_key.len(), total, "every action reached the receiver");
        for (key, messages) in &per_key {
            assert!(
                messages.iter().all(|m| m == &messages[0]),
                "key {key} reused for another message"
            );
        }
        // A request cut off by the kill may be repeated, under the same key so
        // the receiver drops it; nothing else is ever sent twice.
        let repeats = requests.len() - per_key.len();
        assert!(repeats <= 16, "{repeats} repeats: more than were in flight");
        drop(daemon);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database(Backend::Sqlite, dir.path()).await;
    let config = dir.path().join("replyd.toml");
    std::fs::write(&config, format!("database_url = \"{url}\"\n")).unwrap();
    let first = Daemon::start(&config).await;
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_replyd"))
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another replyd process already serves"),
        "{stderr}"
    );
    drop(first);
}
