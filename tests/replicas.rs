//! Two `replyd` processes on one PostgreSQL database share the work; one is
//! killed with `kill -9` in the middle of 2,000 comments and restarted. Every
//! comment ends answered exactly once on the (fake) Graph API.

mod common;
#[path = "common/graph.rs"]
mod graph;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Backend, Daemon};
use graph::FakeGraph;
use replyd::config::Secret;
use replyd::ingest::meta::signature;
use serde_json::json;

const PAGE: &str = "1001";
const SECRET: &str = "replica-app-secret";
const TOTAL: usize = 2000;

async fn done_count(db: &replyd::store::Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE stage = 'done'")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_survive_a_kill_9_and_answer_every_comment_once() {
    let graph = FakeGraph::new(&[(PAGE, "page-token")]);
    let graph_url = graph.start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database(Backend::Postgres, dir.path()).await;
    let config = dir.path().join("replyd.toml");
    // The rules classifier keeps 2,000 classifications cheap: this test is
    // about claiming and delivering, which do not depend on the classifier.
    std::fs::write(
        &config,
        format!(
            "database_url = \"{url}\"\n\
             [model]\nenabled = false\n\
             [policy]\nmin_confidence = 0.0\n\
             [pipeline]\npoll_interval_ms = 100\nlease_secs = 5\n\
             [delivery]\nbackoff_base_ms = 50\nbackoff_max_ms = 500\ntimeout_secs = 5\n\
             [meta]\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\ngraph_url = \"{graph_url}\"\ncalls_per_minute = 600000\n\
             [[meta.pages]]\nid = \"{PAGE}\"\nplatform = \"facebook\"\naccess_token = \"page-token\"\n"
        ),
    )
    .unwrap();
    let mut first = Daemon::start(&config).await;
    let second = Daemon::start(&config).await;
    let client = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    for chunk in 0..(TOTAL / 100) {
        let changes: Vec<_> = (0..100)
            .map(|i| {
                let n = chunk * 100 + i;
                json!({"field": "feed", "value": {
                    "from": {"id": format!("u{n}"), "name": "Kim"}, "item": "comment", "verb": "add",
                    "comment_id": format!("{PAGE}_{n}"), "post_id": format!("{PAGE}_1"),
                    "parent_id": format!("{PAGE}_1"), "created_time": now,
                    "message": "Thanks, love it! Amazing bike and super fast delivery."}})
            })
            .collect();
        let body = serde_json::to_vec(
            &json!({"object": "page", "entry": [{"id": PAGE, "time": now, "changes": changes}]}),
        )
        .unwrap();
        let target = if chunk % 2 == 0 {
            first.addr
        } else {
            second.addr
        };
        let response = client
            .post(format!("http://{target}/webhooks/meta"))
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                signature(&Secret::new(SECRET), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    let deadline = Instant::now() + Duration::from_secs(300);
    while graph.writes().len() < 200 {
        assert!(Instant::now() < deadline, "no replies were sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill9();
    let at_kill = graph.writes().len();
    assert!(at_kill < TOTAL, "the kill came too late to test anything");
    let _restarted = Daemon::start(&config).await;

    let db = replyd::store::Db::connect(&url).await.unwrap();
    while (done_count(&db).await as usize) < TOTAL {
        assert!(
            Instant::now() < deadline,
            "only {} of {TOTAL} messages finished",
            done_count(&db).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut per_comment: HashMap<String, usize> = HashMap::new();
    for call in graph.writes() {
        *per_comment.entry(call.path.clone()).or_default() += 1;
    }
    assert_eq!(per_comment.len(), TOTAL, "every comment was answered");
    let twice: Vec<_> = per_comment.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "answered more than once: {twice:?}");
    for n in [0, TOTAL / 2, TOTAL - 1] {
        assert_eq!(graph.replies_to(&format!("{PAGE}_{n}")).len(), 1);
    }
    graph.assert_all_valid();
    db.close().await;
}
