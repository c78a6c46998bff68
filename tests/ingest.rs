//! The ingestion API and the pipeline behind it, on SQLite and PostgreSQL.

mod common;

use common::{actions_of, message, settled, TestApp, WAIT};
use replyd::domain::Role;
use reqwest::Method;
use serde_json::json;

both_backends!(
    a_message_is_stored_classified_decided_and_acknowledged,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let (status, body) = app
            .post_messages(
                &ingest,
                &message(
                    "shop",
                    "review",
                    "r-1",
                    "Love this bike, the best purchase I made this year!",
                ),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["duplicate"], false);
        let id = body["id"].as_str().unwrap().to_owned();

        let done = app.wait_for_message(&viewer, &id, WAIT, settled).await;
        assert_eq!(done["message"]["stage"], "done", "{done}");
        assert!(done["classification"]["intent"]["label"].is_string());
        assert!(!done["decision"]["reasons"].as_array().unwrap().is_empty());
        let actions = done["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 1, "{done}");
        let ack = &actions[0];
        // The decision says what was decided; the action, what became of it.
        let decided = done["decision"]["reasons"].to_string();
        if ack["status"] != "held" {
            assert!(decided.contains("acknowledge: auto-send"), "{decided}");
        }
        assert!(!decided.contains("pending"), "{decided}");
        assert_eq!(ack["kind"], "acknowledge");
        // No connector configured for `shop`: recorded as a dry run, never dropped.
        assert_eq!(ack["status"], "dry_run");
        assert_eq!(ack["attempts"], 1);
        assert!(ack["text"].as_str().unwrap().contains("Sam"), "{ack}");
        app.shutdown().await;
    }
);

both_backends!(
    the_same_message_twice_is_stored_and_processed_once,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let msg = message(
            "shop",
            "dm",
            "dup-1",
            "Waar blijft mijn bestelling? Al twee weken te laat.",
        );
        let (_, first) = app.post_messages(&ingest, &msg).await;
        let (status, second) = app.post_messages(&ingest, &msg).await;
        assert_eq!(status, 202);
        assert_eq!(second["duplicate"], true);
        assert_eq!(first["id"], second["id"]);
        // Also inside one batch.
        let (_, batch) = app.post_messages(&ingest, &json!([msg, msg])).await;
        assert!(batch["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["duplicate"] == true));

        let id = first["id"].as_str().unwrap();
        let done = app.wait_for_message(&viewer, id, WAIT, settled).await;
        let acks = actions_of(&done)
            .iter()
            .filter(|(k, _)| k == "acknowledge")
            .count();
        assert_eq!(acks, 1, "{done}");
        let (_, list) = app.get_json(&viewer, "/v1/messages?platform=shop").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        app.shutdown().await;
    }
);

both_backends!(an_invalid_batch_stores_nothing, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let good = message("shop", "comment", "ok-1", "Nice!");
    let mut bad = message("shop", "comment", "bad-1", "Nice!");
    bad["kind"] = json!("tweet");
    let (status, body) = app.post_messages(&ingest, &json!([good, bad])).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field");
    assert_eq!(body["error"]["field"], "kind");
    assert_eq!(body["error"]["index"], 1);
    let (_, list) = app.get_json(&viewer, "/v1/messages").await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");

    let mut missing = message("shop", "comment", "m-1", "x");
    missing.as_object_mut().unwrap().remove("text");
    let (status, body) = app.post_messages(&ingest, &missing).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "missing_field");
    assert_eq!(body["error"]["field"], "text");
    assert!(
        body["error"].get("index").is_none(),
        "single objects carry no index"
    );

    let too_many: Vec<_> = (0..1001)
        .map(|i| message("shop", "comment", &format!("n{i}"), "hi"))
        .collect();
    let (status, body) = app.post_messages(&ingest, &json!(too_many)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "batch_too_large");
    app.shutdown().await;
});

both_backends!(
    authentication_and_limits_answer_with_json_errors,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let viewer = app.token(Role::Viewer).await;
        let ingest = app.token(Role::Ingest).await;
        let msg = message("shop", "comment", "auth-1", "hello");

        let response = app
            .client
            .post(app.url("/v1/messages"))
            .json(&msg)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");

        let (status, _) = app.post_messages("rpd_not_a_real_token", &msg).await;
        assert_eq!(status, 401);

        let (status, body) = app.post_messages(&viewer, &msg).await;
        assert_eq!(status, 403);
        assert_eq!(body["error"]["code"], "forbidden");

        let (status, _) = app.get_json(&ingest, "/v1/messages").await;
        assert_eq!(status, 403, "ingest tokens cannot read messages back");

        let huge = "x".repeat(1024 * 1024 + 1);
        let response = app
            .request(Method::POST, "/v1/messages", &ingest)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "body_too_large");

        let response = app
            .request(Method::POST, "/v1/messages", &ingest)
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_json");
        app.shutdown().await;
    }
);

both_backends!(
    spam_is_removed_and_never_acknowledged,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let (_, body) = app
            .post_messages(
                &ingest,
                &message(
                    "shop",
                    "comment",
                    "spam-1",
                    "Want 50k followers? Promote your page with us, check my profile bit.ly/xyz",
                ),
            )
            .await;
        let done = app
            .wait_for_message(&viewer, body["id"].as_str().unwrap(), WAIT, settled)
            .await;
        let kinds: Vec<String> = actions_of(&done).into_iter().map(|(k, _)| k).collect();
        assert!(!kinds.contains(&"acknowledge".to_owned()), "{done}");
        assert!(
            kinds.contains(&"delete".to_owned()) && kinds.contains(&"block".to_owned()),
            "{done}"
        );
        app.shutdown().await;
    }
);

both_backends!(messages_list_filters_and_pages, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let batch: Vec<_> = (0..5)
        .map(|i| {
            message(
                if i % 2 == 0 { "shop" } else { "forum" },
                "comment",
                &format!("p{i}"),
                "hallo",
            )
        })
        .collect();
    let (status, _) = app.post_messages(&ingest, &json!(batch)).await;
    assert_eq!(status, 202);
    let (_, page1) = app.get_json(&viewer, "/v1/messages?limit=2").await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .get_json(&viewer, &format!("/v1/messages?limit=2&cursor={cursor}"))
        .await;
    let (_, page3) = app
        .get_json(
            &viewer,
            &format!(
                "/v1/messages?limit=2&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
        )
        .await;
    let mut ids: Vec<String> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(ids.len(), 5);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "pages never repeat a message");
    let (_, shop) = app.get_json(&viewer, "/v1/messages?platform=shop").await;
    assert_eq!(shop["items"].as_array().unwrap().len(), 3);
    // Search ignores case and accents in any script SQLite's LOWER does
    // not fold, and `%` and `_` are characters, not wildcards.
    let texts = [
        "Über die Lieferung bin ich sauer",
        "ÉTÉ 2026: 50% korting op alles",
        "500 korting",
        "order_nr 7 klopt niet",
        "ordernr 8",
    ];
    let batch: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| message("search", "dm", &format!("s{i}"), text))
        .collect();
    let (status, _) = app.post_messages(&ingest, &json!(batch)).await;
    assert_eq!(status, 202);
    for (q, expected) in [
        ("%C3%BCber", vec![texts[0]]),
        ("UBER%20DIE", vec![texts[0]]),
        ("%C3%A9t%C3%A9", vec![texts[1]]),
        ("50%25", vec![texts[1]]),
        ("order_nr", vec![texts[3]]),
        ("%25", vec![texts[1]]),
    ] {
        let (status, found) = app
            .get_json(&viewer, &format!("/v1/messages?platform=search&q={q}"))
            .await;
        assert_eq!(status, 200, "{found}");
        let found: Vec<&str> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(found, expected, "q={q}");
    }
    let (status, body) = app.get_json(&viewer, "/v1/messages?intent=angry").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "intent");
    app.shutdown().await;
});

both_backends!(
    a_snapshot_does_not_see_a_later_commit,
    |backend| async move {
        // The message view reads a message and its actions in one snapshot:
        // read one by one, it showed an acknowledgement already sent beside
        // the stage from before the commit that did both.
        use replyd::domain::{MessageId, Stage};
        use replyd::store::messages;

        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let (_, body) = app
            .post_messages(&ingest, &message("shop", "review", "s-1", "Top service!"))
            .await;
        let id: MessageId = body["id"].as_str().unwrap().parse().unwrap();
        app.wait_for_message(&viewer, id.as_str(), WAIT, settled)
            .await;

        let db = replyd::store::Db::connect(&app.database_url).await.unwrap();
        let mut snapshot = db.snapshot().await.unwrap();
        let before = messages::get(&mut snapshot, &id).await.unwrap().stage;
        let mut writer = db.conn().await.unwrap();
        messages::set_stage(&mut writer, &id, Stage::Received)
            .await
            .unwrap();
        assert_eq!(
            messages::get(&mut writer, &id).await.unwrap().stage,
            Stage::Received
        );
        assert_eq!(
            messages::get(&mut snapshot, &id).await.unwrap().stage,
            before
        );
        assert_ne!(before, Stage::Received);
        snapshot.rollback().await.unwrap();
        drop(writer);
        db.close().await;
        app.shutdown().await;
    }
);

both_backends!(
    a_nul_character_is_dropped_not_the_batch,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let mut with_nul = message(
            "shop",
            "dm",
            "nul\u{0}-1",
            "Where is my order?\u{0} Two weeks late.",
        );
        with_nul["author"]["name"] = json!("Sam\u{0}");
        let batch = json!([
            message("shop", "dm", "plain-1", "Where is my order?"),
            with_nul
        ]);
        let (status, body) = app.post_messages(&ingest, &batch).await;
        assert_eq!(status, 202, "{body}");
        let id = body["results"][1]["id"].as_str().unwrap().to_owned();
        let stored = app.wait_for_message(&viewer, &id, WAIT, settled).await;
        assert_eq!(
            stored["message"]["text"],
            "Where is my order? Two weeks late."
        );
        assert_eq!(stored["message"]["external_id"], "nul-1");
        assert_eq!(stored["message"]["author"]["name"], "Sam");
        // The same message again is recognised as the one already stored.
        let (_, again) = app.post_messages(&ingest, &batch).await;
        assert_eq!(again["results"][1]["duplicate"], true, "{again}");
        assert_eq!(again["results"][1]["id"], id.as_str());
        app.shutdown().await;
    }
);

both_backends!(
    a_message_whose_processing_fails_for_good_is_marked_failed_with_its_reason,
    |backend| async move {
        // Every reply template of this brand's English file is broken: it
        // names a variable that does not exist, which only shows when drafting.
        let prompts = tempfile::tempdir().unwrap();
        let builtin = include_str!("../prompts/replies/en.toml");
        let mut table: toml::Table = builtin.parse().unwrap();
        for (_, group) in table.iter_mut() {
            for (_, entry) in group.as_table_mut().unwrap().iter_mut() {
                entry["variants"] = toml::Value::Array(vec!["Hi {{ no_such_thing }}".into()]);
            }
        }
        std::fs::write(prompts.path().join("en.toml"), table.to_string()).unwrap();
        let dir = prompts.path().to_owned();
        let app = TestApp::spawn_with(backend, move |c| c.prompts_dir = Some(dir)).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let (status, body) = app
            .post_messages(
                &ingest,
                &message(
                    "shop",
                    "review",
                    "broken-1",
                    "Love this bike, the best purchase I made this year!",
                ),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let id = body["id"].as_str().unwrap();
        let failed = app
            .wait_for_message(&viewer, id, WAIT, |m| {
                m["message"]["stage"] != "received" && m["message"]["stage"] != "classified"
            })
            .await;
        assert_eq!(failed["message"]["stage"], "failed", "{failed}");
        let reasons = failed["decision"]["reasons"].as_array().unwrap();
        assert!(
            reasons[0]
                .as_str()
                .unwrap()
                .starts_with("processing failed: "),
            "{failed}"
        );
        assert!(failed["actions"].as_array().unwrap().is_empty(), "{failed}");
        // A failed message is not a backlog: it adds no lag.
        let (status, ready) = app.get_json(&viewer, "/readyz").await;
        assert_eq!(status, 200, "{ready}");
        assert_eq!(ready["lag_ms"], 0, "{ready}");
        app.shutdown().await;
    }
);

/// Two sources sending the same messages in opposite orders at once (a
/// retry racing its original, two relays of one feed): on PostgreSQL both
/// are answered, and each message is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_batches_in_opposite_orders_are_both_accepted_on_postgres() {
    let app = TestApp::spawn_with(common::Backend::Postgres, |c| c.model.enabled = false).await;
    let ingest = app.token(Role::Ingest).await;
    const ROUNDS: usize = 5;
    const SIZE: usize = 100;
    for round in 0..ROUNDS {
        let forward: Vec<_> = (0..SIZE)
            .map(|i| message("shop", "comment", &format!("o-{round}-{i}"), "Nice!"))
            .collect();
        let backward: Vec<_> = forward.iter().rev().cloned().collect();
        let (forward, backward) = (json!(forward), json!(backward));
        let ((status_a, a), (status_b, b)) = tokio::join!(
            app.post_messages(&ingest, &forward),
            app.post_messages(&ingest, &backward),
        );
        assert_eq!(status_a, 202, "round {round}: {a}");
        assert_eq!(status_b, 202, "round {round}: {b}");
        for i in 0..SIZE {
            let (x, y) = (&a["results"][i], &b["results"][SIZE - 1 - i]);
            assert_eq!(x["id"], y["id"], "round {round}, message {i}");
            assert_ne!(x["duplicate"], y["duplicate"], "round {round}: {x} {y}");
        }
    }
    let db = replyd::store::Db::connect(&app.database_url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(stored, (ROUNDS * SIZE) as i64);
    db.close().await;
    app.shutdown().await;
}
