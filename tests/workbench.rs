//! The reviewer's workbench through the real daemon: a person's moderation
//! actions (against the fake Graph API, and dry without a connector), the
//! refusals of what a platform cannot do, the guardrails on a person's
//! reply, the conversation and author profile, and corrections of the
//! model's reading, on SQLite and PostgreSQL.

mod common;
#[path = "common/graph.rs"]
mod graph;

use std::time::Duration;

use common::{message, post_settled, settled, TestApp, WAIT};
use graph::{comment, FakeGraph, GraphCall, FB, IG};
use replyd::domain::Role;
use replyd::store::Db;
use reqwest::Method;
use serde_json::{json, Value};

const APP_SECRET: &str = "workbench-app-secret";

struct Meta {
    app: TestApp,
    graph: FakeGraph,
    reviewer: String,
}

async fn spawn_meta(backend: common::Backend) -> Meta {
    let graph = FakeGraph::new(&[(FB, "fb-token"), (IG, "ig-token")]);
    let graph_url = graph.start().await;
    let app = TestApp::spawn_with(backend, |c| {
        c.delivery.timeout_secs = 2;
        c.meta = Some(graph::meta_config(graph_url, APP_SECRET));
    })
    .await;
    let reviewer = app.token(Role::Reviewer).await;
    Meta {
        app,
        graph,
        reviewer,
    }
}

impl Meta {
    async fn post_webhook(&self, payload: &Value) {
        let (status, body) =
            graph::post_signed(&self.app.client, &self.app.url(""), APP_SECRET, payload).await;
        assert_eq!(status, 200, "{body}");
    }

    /// The stored message with this external id, once the pipeline settled it.
    async fn settled(&self, external_id: &str) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        let id = loop {
            let (_, body) = self
                .app
                .get_json(&self.reviewer, "/v1/messages?limit=500")
                .await;
            let found = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["external_id"] == external_id)
                .map(|m| m["id"].as_str().unwrap().to_owned());
            if let Some(id) = found {
                break id;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{external_id} never stored"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        self.app
            .wait_for_message(&self.reviewer, &id, WAIT, settled)
            .await
    }

    /// Asks for an action as the reviewer: the answer, and the Graph writes
    /// it made.
    async fn act(&self, id: &str, body: Value) -> (u16, Value, Vec<GraphCall>) {
        let before = self.graph.writes().len();
        let (status, answer) = self
            .app
            .post_json(&self.reviewer, &format!("/v1/messages/{id}/actions"), body)
            .await;
        let writes = self.graph.writes()[before..].to_vec();
        (status, answer, writes)
    }
}

fn id_of(message: &Value) -> String {
    message["message"]["id"].as_str().unwrap().to_owned()
}

// Each kind of action a person may ask for, on a Facebook comment, makes
// the Graph call that does it, once, and answers what came of it.
both_backends!(
    each_action_goes_out_through_the_graph_api,
    |backend| async move {
        let meta = spawn_meta(backend).await;
        let now = chrono::Utc::now().timestamp();
        let (cid, author) = ("5550001_8880001", "24000000000801");
        meta.graph.commented(cid, author);
        meta.post_webhook(&json!({"object": "page", "entry": [{"id": FB, "time": now, "changes": [
            comment(FB, cid, author, "Love this bike! Amazing service and super fast delivery."),
        ]}]}))
        .await;
        let id = id_of(&meta.settled(cid).await);

        let single = |writes: &[GraphCall]| -> GraphCall {
            assert_eq!(writes.len(), 1, "one Graph write: {writes:?}");
            writes[0].clone()
        };
        let expect_sent = |status: u16, answer: &Value| {
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["status"], "sent", "{answer}");
            assert_eq!(answer["sent"], true, "{answer}");
            assert_eq!(answer["dry_run"], false, "{answer}");
            assert_eq!(answer["action"]["requested_by"], "token:test-reviewer");
        };

        let (status, answer, writes) = meta.act(&id, json!({"kind": "like"})).await;
        expect_sent(status, &answer);
        let call = single(&writes);
        assert_eq!(
            (call.method, call.path.as_str()),
            (Method::POST, &*format!("{cid}/likes"))
        );
        assert!(meta.graph.is_liked(cid));

        let (status, answer, writes) = meta.act(&id, json!({"kind": "hide"})).await;
        expect_sent(status, &answer);
        let call = single(&writes);
        assert_eq!((call.method, call.path.as_str()), (Method::POST, cid));
        assert_eq!(call.body, json!({"is_hidden": true}));
        assert!(meta.graph.is_hidden(cid));

        let (status, answer, writes) = meta.act(&id, json!({"kind": "unhide"})).await;
        expect_sent(status, &answer);
        let call = single(&writes);
        assert_eq!((call.method, call.path.as_str()), (Method::POST, cid));
        assert_eq!(call.body, json!({"is_hidden": false}));
        assert!(!meta.graph.is_hidden(cid), "shown again");

        // Hidden again after an unhide: a person may repeat a kind.
        let (status, answer, writes) = meta.act(&id, json!({"kind": "hide"})).await;
        expect_sent(status, &answer);
        assert_eq!(single(&writes).body, json!({"is_hidden": true}));
        let (status, answer, _) = meta.act(&id, json!({"kind": "unhide"})).await;
        expect_sent(status, &answer);

        let reply = "Thank you, Sanne! Enjoy the rides.";
        let (status, answer, writes) = meta.act(&id, json!({"kind": "reply", "text": reply})).await;
        expect_sent(status, &answer);
        let call = single(&writes);
        assert_eq!(
            (call.method, call.path.as_str()),
            (Method::POST, &*format!("{cid}/comments"))
        );
        assert_eq!(call.body["message"], reply);
        assert!(meta
            .graph
            .replies_to(cid)
            .iter()
            .any(|(_, text, from)| text == reply && from == FB));

        let private =
            "Thanks again! If anything is ever wrong with the bike, just message us here.";
        let (status, answer, writes) = meta
            .act(&id, json!({"kind": "private_reply", "text": private}))
            .await;
        expect_sent(status, &answer);
        let call = single(&writes);
        assert_eq!(
            (call.method, call.path.as_str()),
            (Method::POST, &*format!("{FB}/messages"))
        );
        assert_eq!(call.body["recipient"]["comment_id"], cid);
        assert_eq!(call.body["message"]["text"], private);
        // Meta allows one private reply per comment: a second is refused
        // by the platform's rule, sent nowhere, and says why.
        let (status, answer, writes) = meta
            .act(
                &id,
                json!({"kind": "private_reply", "text": "One more thing, Sanne."}),
            )
            .await;
        assert_eq!(status, 409, "{answer}");
        assert_eq!(answer["error"]["code"], "not_possible");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("one per comment"),
            "{answer}"
        );
        assert!(writes.is_empty(), "{writes:?}");

        let (status, answer, writes) = meta.act(&id, json!({"kind": "block"})).await;
        expect_sent(status, &answer);
        let call = single(&writes);
        assert_eq!(
            (call.method, call.path.as_str()),
            (Method::POST, &*format!("{FB}/blocked"))
        );
        assert_eq!(call.body, json!({"user": [author]}));

        let (status, answer, writes) = meta.act(&id, json!({"kind": "unblock"})).await;
        expect_sent(status, &answer);
        let call = single(&writes);
        assert_eq!(
            (call.method, call.path.as_str()),
            (Method::DELETE, &*format!("{FB}/blocked"))
        );
        assert_eq!(call.query.get("user").map(String::as_str), Some(author));
        assert_eq!(
            call.body,
            Value::Null,
            "unblocking takes parameters, not a body"
        );
        assert_eq!(
            meta.graph.unblocked(),
            vec![(FB.to_owned(), "user".to_owned(), author.to_owned())]
        );

        let (status, answer, writes) = meta.act(&id, json!({"kind": "delete"})).await;
        expect_sent(status, &answer);
        let call = single(&writes);
        assert_eq!((call.method, call.path.as_str()), (Method::DELETE, cid));
        assert!(meta.graph.is_deleted(cid));
        meta.graph.assert_all_valid();

        // The message's stage stays the pipeline's; every person's action is
        // on it, asked for and decided by the reviewer.
        let (_, detail) = meta
            .app
            .get_json(&meta.reviewer, &format!("/v1/messages/{id}"))
            .await;
        assert_eq!(detail["message"]["stage"], "done");
        let by_hand: Vec<&Value> = detail["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["requested_by"] == "token:test-reviewer")
            .collect();
        assert_eq!(by_hand.len(), 11, "{detail}");

        // The audit log names who did each, about this message.
        let db = Db::connect(&meta.app.database_url).await.unwrap();
        let entries: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT actor, action, target FROM audit_log WHERE action LIKE 'moderation.%' ORDER BY at, id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        db.close().await;
        let actions: Vec<&str> = entries.iter().map(|(_, a, _)| a.as_str()).collect();
        assert_eq!(
            actions,
            [
                "moderation.like",
                "moderation.hide",
                "moderation.unhide",
                "moderation.hide",
                "moderation.unhide",
                "moderation.reply",
                "moderation.private_reply",
                "moderation.private_reply",
                "moderation.block",
                "moderation.unblock",
                "moderation.delete",
            ]
        );
        assert!(entries
            .iter()
            .all(|(actor, _, target)| actor == "token:test-reviewer"
                && target.as_deref() == Some(id.as_str())));
        meta.app.shutdown().await;
    }
);

// What a platform cannot do is refused before anything is stored or
// sent, with the reason; a malformed request names its field.
both_backends!(
    impossible_actions_are_refused_with_their_reason,
    |backend| async move {
        let meta = spawn_meta(backend).await;
        let now = chrono::Utc::now().timestamp_millis();
        meta.post_webhook(&json!({"object": "instagram", "entry": [{"id": IG, "time": now, "changes": [
            {"field": "comments", "value": {"id": "17900000000000777", "text": "Nice colours on this one",
             "from": {"id": "17841455500000777", "username": "sam"}, "media": {"id": "1800", "media_product_type": "FEED"}}}
        ]}]}))
        .await;
        meta.post_webhook(&json!({"object": "page", "entry": [{"id": FB, "time": now, "messaging": [
            {"sender": {"id": "6100000000000777"}, "recipient": {"id": FB}, "timestamp": now,
             "message": {"mid": "m_workbench_dm", "text": "Hello, is the shop open on Sunday?"}}]}]}))
        .await;
        let instagram = id_of(&meta.settled("17900000000000777").await);
        let dm = id_of(&meta.settled("m_workbench_dm").await);
        let before = meta.graph.writes().len();
        let count_actions = |detail: &Value| detail["actions"].as_array().unwrap().len();
        let (_, ig_before) = meta
            .app
            .get_json(&meta.reviewer, &format!("/v1/messages/{instagram}"))
            .await;
        let (_, dm_before) = meta
            .app
            .get_json(&meta.reviewer, &format!("/v1/messages/{dm}"))
            .await;

        for (id, kind, words) in [
            (&instagram, "like", "instagram has no likes"),
            (&instagram, "block", "Instagram has no API to block"),
            (&instagram, "unblock", "Instagram has no API to unblock"),
            (&dm, "hide", "DM cannot be hidden"),
            (&dm, "unhide", "DM cannot be hidden"),
            (&dm, "delete", "DM cannot be deleted"),
            (&dm, "like", "DM cannot be liked"),
        ] {
            let (status, answer, _) = meta.act(id, json!({"kind": kind})).await;
            assert_eq!(status, 409, "{kind}: {answer}");
            assert_eq!(answer["error"]["code"], "not_possible", "{kind}: {answer}");
            let said = answer["error"]["message"].as_str().unwrap();
            assert!(said.contains(words), "{kind}: {said}");
        }
        for (body, code, field) in [
            (json!({"kind": "acknowledge"}), "invalid_field", "kind"),
            (json!({"kind": "smile"}), "invalid_field", "kind"),
            (json!({"kind": "reply"}), "missing_field", "text"),
            (
                json!({"kind": "private_reply", "text": "   "}),
                "missing_field",
                "text",
            ),
            (
                json!({"kind": "hide", "text": "because"}),
                "invalid_field",
                "text",
            ),
        ] {
            let (status, answer, _) = meta.act(&dm, body.clone()).await;
            assert_eq!(status, 422, "{body}: {answer}");
            assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
            assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        }
        let (status, answer, _) = meta.act(&dm, json!({"kind": "like", "extra": 1})).await;
        assert_eq!(status, 400, "unknown fields are refused: {answer}");
        let (status, _, _) = meta
            .act(
                "0190f1a2-0000-7000-8000-000000000000",
                json!({"kind": "like"}),
            )
            .await;
        assert_eq!(status, 404);

        assert_eq!(meta.graph.writes().len(), before, "nothing was sent");
        let (_, ig_after) = meta
            .app
            .get_json(&meta.reviewer, &format!("/v1/messages/{instagram}"))
            .await;
        let (_, dm_after) = meta
            .app
            .get_json(&meta.reviewer, &format!("/v1/messages/{dm}"))
            .await;
        assert_eq!(
            count_actions(&ig_after),
            count_actions(&ig_before),
            "nothing stored"
        );
        assert_eq!(
            count_actions(&dm_after),
            count_actions(&dm_before),
            "nothing stored"
        );
        meta.app.shutdown().await;
    }
);

// Without a connector a person's action is recorded as a dry run and the
// answer says so; only reviewers and admins act; a hostile reply is
// refused by the guardrails and nothing is stored.
both_backends!(roles_guardrails_and_honest_dry_runs, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    let admin = app.token(Role::Admin).await;
    let (id, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &message("shop", "comment", "c-dry", "Where do you ship from?"),
    )
    .await;
    let path = format!("/v1/messages/{id}/actions");

    for role in [Role::Viewer, Role::Sales, Role::Ingest] {
        let token = app.token(role).await;
        for (route, body) in [
            (path.clone(), json!({"kind": "like"})),
            (
                format!("/v1/messages/{id}/classification"),
                json!({"intent": "question"}),
            ),
        ] {
            let (status, answer) = app.post_json(&token, &route, body).await;
            assert_eq!(status, 403, "{role} on {route}: {answer}");
            assert_eq!(answer["error"]["code"], "forbidden", "{answer}");
            assert!(answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(role.as_str()));
        }
    }
    let (status, _) = app
        .post_json("rpd_wrong", &path, json!({"kind": "like"}))
        .await;
    assert_eq!(status, 401);

    let (_, before) = app.get_json(&reviewer, &format!("/v1/messages/{id}")).await;
    let hostile = "Shut up, you stupid idiot. Nobody cares about your whining.";
    let (status, answer) = app
        .post_json(&reviewer, &path, json!({"kind": "reply", "text": hostile}))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "guardrails", "{answer}");
    assert_eq!(answer["error"]["field"], "text", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hostile"),
        "{answer}"
    );
    let (_, after) = app.get_json(&reviewer, &format!("/v1/messages/{id}")).await;
    assert_eq!(after["actions"], before["actions"], "nothing stored");

    for (token, actor) in [
        (&reviewer, "token:test-reviewer"),
        (&admin, "token:test-admin"),
    ] {
        let (status, answer) = app.post_json(token, &path, json!({"kind": "like"})).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["dry_run"], true, "{answer}");
        assert_eq!(answer["sent"], false, "a dry run is no success: {answer}");
        assert_eq!(answer["status"], "dry_run", "{answer}");
        assert!(
            answer["note"]
                .as_str()
                .unwrap()
                .contains("nothing was sent"),
            "{answer}"
        );
        assert_eq!(answer["action"]["requested_by"], actor);
    }
    let reply = "We ship from our warehouse in Utrecht.";
    let (status, answer) = app
        .post_json(&reviewer, &path, json!({"kind": "reply", "text": reply}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (
            answer["dry_run"].as_bool(),
            answer["action"]["text"].as_str()
        ),
        (Some(true), Some(reply))
    );

    let db = Db::connect(&app.database_url).await.unwrap();
    let entries: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT actor, action, details FROM audit_log WHERE target = $1 ORDER BY at, id",
    )
    .bind(&id)
    .fetch_all(db.pool())
    .await
    .unwrap();
    db.close().await;
    let seen: Vec<(&str, &str)> = entries
        .iter()
        .map(|(a, b, _)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("token:test-reviewer", "moderation.like"),
            ("token:test-admin", "moderation.like"),
            ("token:test-reviewer", "moderation.reply"),
        ]
    );
    assert!(entries[2].2.contains(reply), "{entries:?}");
    assert!(
        entries[0].2.contains("dry_run"),
        "the connector is named: {entries:?}"
    );
    app.shutdown().await;
});

// The conversation holds the author's messages of the thread and what the
// brand did in answer, in order, with who did it; the author's profile
// lists their messages newest first with what replyd made of each.
both_backends!(conversation_and_author_profile, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    let in_thread = |external: &str, author: &str, text: &str| {
        let mut m = message("shop", "dm", external, text);
        m["thread_id"] = json!("dm-thread-1");
        m["author"] = json!({"id": author, "name": author});
        m["lang"] = json!("en");
        m
    };
    let (first, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &in_thread("d-1", "kim", "Hi, my order 5521 has not arrived yet."),
    )
    .await;
    post_settled(
        &app,
        &ingest,
        &reviewer,
        &in_thread("d-x", "someone-else", "Do you sell gift cards?"),
    )
    .await;
    let (second, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &in_thread("d-2", "kim", "It was due last Friday."),
    )
    .await;
    let text = "Sorry Kim, we are checking with the courier now.";
    let (status, answer) = app
        .post_json(
            &reviewer,
            &format!("/v1/messages/{first}/actions"),
            json!({"kind": "reply", "text": text}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (third, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &in_thread("d-3", "kim", "Thanks, I will wait."),
    )
    .await;

    let (status, body) = app
        .get_json(&reviewer, &format!("/v1/messages/{third}/conversation"))
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    let messages: Vec<&str> = items
        .iter()
        .filter(|t| t["type"] == "message")
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [first.as_str(), second.as_str(), third.as_str()],
        "only kim's, in order: {body}"
    );
    assert!(
        items.iter().all(|t| t["author"]["id"] != "someone-else"),
        "{body}"
    );
    let ats: Vec<i64> = items.iter().map(|t| t["at"].as_i64().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "in order: {ats:?}");
    let ours = items
        .iter()
        .position(|t| t["type"] == "reply" && t["text"] == text)
        .unwrap_or_else(|| panic!("the reviewer's reply is in the thread: {body}"));
    assert_eq!(items[ours]["by"], "token:test-reviewer");
    assert_eq!(items[ours]["origin"], "workbench");
    assert_eq!(items[ours]["status"], "dry_run");
    assert_eq!(items[ours]["message_id"], first.as_str());
    let pos = |id: &str| {
        items
            .iter()
            .position(|t| t["type"] == "message" && t["id"] == id)
            .unwrap()
    };
    assert!(
        pos(&second) < ours && ours < pos(&third),
        "sent between the 2nd and 3rd message: {body}"
    );
    // Every action on kim's messages is there as the brand's, but drafts
    // still held or rejected (never the brand's words).
    let mut expected = Vec::new();
    let mut never = Vec::new();
    for id in [&first, &second, &third] {
        let (_, detail) = app.get_json(&reviewer, &format!("/v1/messages/{id}")).await;
        for a in detail["actions"].as_array().unwrap() {
            let id = a["id"].as_str().unwrap().to_owned();
            if a["status"] == "held" || a["status"] == "rejected" || a["kind"] == "lead_handoff" {
                never.push(id);
            } else {
                expected.push(id);
            }
        }
    }
    let mut shown: Vec<String> = items
        .iter()
        .filter(|t| t["type"] != "message")
        .map(|t| t["action_id"].as_str().unwrap().to_owned())
        .collect();
    shown.sort();
    expected.sort();
    assert_eq!(shown, expected, "{body}");
    assert!(never.iter().all(|id| !shown.contains(id)));
    for t in items
        .iter()
        .filter(|t| t["type"] != "message" && t["origin"] == "pipeline")
    {
        assert_eq!(t["by"], "replyd", "{t}");
    }
    assert!(items
        .iter()
        .any(|t| t["current"] == true && t["id"] == third.as_str()));

    let (status, profile) = app.get_json(&reviewer, "/v1/authors/shop/kim").await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["author"]["id"], "kim");
    assert_eq!(profile["message_count"], 3);
    let listed: Vec<&str> = profile["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [third.as_str(), second.as_str(), first.as_str()],
        "newest first"
    );
    let newest = &profile["messages"][0];
    assert!(newest["intent"].is_string(), "{profile}");
    assert!(newest["sentiment"].is_string(), "{profile}");
    assert!(newest["decision"].is_string(), "{profile}");
    assert!(newest["stage"].is_string(), "{profile}");
    assert!(profile["lead"].is_null(), "{profile}");
    let (status, _) = app
        .get_json(&reviewer, "/v1/authors/shop/nobody-here")
        .await;
    assert_eq!(status, 404);

    // An author with an open lead shows it.
    let mut lead = message(
        "shop",
        "dm",
        "l-1",
        "We run three cafés and are looking for a partnership as a wholesale customer.",
    );
    lead["author"] = json!({"id": "cafe-noord", "name": "Cafe Noord"});
    lead["lang"] = json!("en");
    post_settled(&app, &ingest, &reviewer, &lead).await;
    let (_, profile) = app.get_json(&reviewer, "/v1/authors/shop/cafe-noord").await;
    assert!(profile["lead"]["id"].is_string(), "{profile}");

    for role in [Role::Sales, Role::Ingest] {
        let token = app.token(role).await;
        let (status, _) = app.get_json(&token, "/v1/authors/shop/kim").await;
        assert_eq!(status, 403, "{role}");
        let (status, _) = app
            .get_json(&token, &format!("/v1/messages/{third}/conversation"))
            .await;
        assert_eq!(status, 403, "{role}");
    }
    let viewer = app.token(Role::Viewer).await;
    let (status, _) = app
        .get_json(&viewer, &format!("/v1/messages/{third}/conversation"))
        .await;
    assert_eq!(status, 200);
    app.shutdown().await;
});

// A correction is stored with who and when, shown on the message, and
// exported as a labelled example; an unknown value names its field.
both_backends!(
    corrections_are_stored_shown_and_exported,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let reviewer = app.token(Role::Reviewer).await;
        let mut m = message(
            "shop",
            "comment",
            "c-fix",
            "Great, another week without my bike. Thanks a lot.",
        );
        m["lang"] = json!("en");
        let (id, before) = post_settled(&app, &ingest, &reviewer, &m).await;
        assert!(before["correction"].is_null(), "{before}");
        let path = format!("/v1/messages/{id}/classification");

        for (body, field) in [
            (json!({"intent": "angry"}), "intent"),
            (json!({"sentiment": "furious"}), "sentiment"),
            (json!({"flags": ["pii", "rude"]}), "flags"),
            (json!({}), "intent"),
        ] {
            let (status, answer) = app.post_json(&reviewer, &path, body.clone()).await;
            assert_eq!(status, 422, "{body}: {answer}");
            assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        }
        let (status, answer) = app
            .post_json(
                &reviewer,
                &path,
                json!({"intent": "complaint", "flags": ["offensive", "pii", "pii"]}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["correction"]["flags"],
            json!(["pii", "offensive"]),
            "deduplicated, in the flags' order"
        );

        let (_, detail) = app.get_json(&reviewer, &format!("/v1/messages/{id}")).await;
        let correction = &detail["correction"];
        assert_eq!(correction["intent"], "complaint", "{detail}");
        assert!(
            correction["sentiment"].is_null(),
            "left to the model: {detail}"
        );
        assert_eq!(correction["corrected_by"], "token:test-reviewer");
        assert!(correction["created_at"].as_i64().unwrap() > 0);
        assert!(
            detail["classification"]["intent"]["label"].is_string(),
            "the model's reading is kept beside it"
        );

        let export = |token: String| {
            let app = &app;
            async move {
                let response = app
                    .request(Method::GET, "/v1/corrections.jsonl", &token)
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            }
        };
        let (status, body) = export(reviewer.clone()).await;
        assert_eq!(status, 200, "{body}");
        let lines: Vec<Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{body}");
        assert_eq!(
            lines[0]["text"],
            "Great, another week without my bike. Thanks a lot."
        );
        assert_eq!(lines[0]["intent"], "complaint");
        assert_eq!(lines[0]["flags"], json!(["pii", "offensive"]));
        assert_eq!(
            lines[0]["sentiment"], detail["classification"]["sentiment"]["label"],
            "the model's, uncorrected"
        );
        assert_eq!(lines[0]["lang"], "en");
        assert_eq!(lines[0]["corrected"], json!(["intent", "flags"]));

        // A later correction wins; the export keeps one example per message.
        let (status, _) = app
            .post_json(
                &reviewer,
                &path,
                json!({"sentiment": "negative", "flags": []}),
            )
            .await;
        assert_eq!(status, 200);
        let (_, body) = export(reviewer.clone()).await;
        let lines: Vec<Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{body}");
        assert_eq!(lines[0]["sentiment"], "negative");
        assert_eq!(
            lines[0]["intent"], "complaint",
            "the earlier correction's intent holds"
        );
        assert_eq!(lines[0]["flags"], json!([]));
        assert_eq!(
            lines[0]["corrected"],
            json!(["intent", "sentiment", "flags"])
        );
        let (_, detail) = app.get_json(&reviewer, &format!("/v1/messages/{id}")).await;
        assert_eq!(detail["corrections"].as_array().unwrap().len(), 2);
        assert_eq!(detail["correction"]["sentiment"], "negative");
        assert_eq!(detail["correction"]["intent"], "complaint");

        let viewer = app.token(Role::Viewer).await;
        assert_eq!(export(viewer).await.0, 403);
        let db = Db::connect(&app.database_url).await.unwrap();
        let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'classification.correct' AND actor = 'token:test-reviewer' AND target = $1",
    )
    .bind(&id)
    .fetch_one(db.pool())
    .await
    .unwrap();
        db.close().await;
        assert_eq!(audited, 2);
        app.shutdown().await;
    }
);

// Migration 0009 rebuilds `actions` and `reviews` on a database that holds
// them: every row and id is kept, a review still references its action, the
// pipeline's `(message, kind)` stays unique while a person's actions may
// repeat, and a review of no action is still refused.
both_backends!(
    the_actions_rebuild_keeps_every_row_and_reference,
    |backend| async move {
        use sqlx::Connection;
        let dir = tempfile::tempdir().unwrap();
        let url = common::fresh_database(backend, dir.path()).await;
        let url = match backend {
            common::Backend::Sqlite => format!("{url}?mode=rwc"),
            common::Backend::Postgres => url,
        };
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        if backend == common::Backend::Sqlite {
            sqlx::raw_sql("PRAGMA foreign_keys = ON")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&migrations)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        // The migrations before 0009 set the scene, 0009 is the rebuild, and
        // the ones after it are not this test's.
        let (before, rebuild): (Vec<_>, Vec<_>) = files
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_str().unwrap() < "0010")
            .partition(|p| p.file_name().unwrap().to_str().unwrap() < "0009");
        assert_eq!(rebuild.len(), 1, "{rebuild:?}");
        for file in &before {
            let sql = std::fs::read_to_string(file).unwrap();
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
        }
        let (m, a1, a2, r) = (
            "0190f1a2-0000-7000-8000-00000000000a",
            "0190f1a2-0000-7000-8000-00000000000b",
            "0190f1a2-0000-7000-8000-00000000000c",
            "0190f1a2-0000-7000-8000-00000000000d",
        );
        sqlx::raw_sql(&format!(
            "INSERT INTO messages (id, platform, kind, external_id, author_id, text, meta, source, \
             received_at, stage, stage_at) VALUES ('{m}', 'shop', 'comment', 'x-1', 'kim', 'hi', '{{}}', \
             'api', 1, 'decided', 1);
             INSERT INTO actions (id, message_id, kind, status, text, reasons, attempts, decided_by, \
             created_at, updated_at, sent_at) VALUES
             ('{a1}', '{m}', 'hide', 'sent', NULL, '[\"hidden\"]', 1, NULL, 2, 3, 3),
             ('{a2}', '{m}', 'reply', 'held', 'Hello', '[\"held\"]', 0, NULL, 2, 2, NULL);
             INSERT INTO reviews (id, action_id, message_id, status, reasons, original_text, created_at) \
             VALUES ('{r}', '{a2}', '{m}', 'held', '[\"held\"]', 'Hello', 2);"
        ))
        .execute(&mut conn)
        .await
        .unwrap();

        let sql = std::fs::read_to_string(&rebuild[0]).unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::raw_sql(&sql).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();

        let rows: Vec<(String, String, String, Option<String>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, kind, status, text, attempts, sent_at FROM actions ORDER BY id",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec![
                (a1.into(), "hide".into(), "sent".into(), None, 1, Some(3)),
                (
                    a2.into(),
                    "reply".into(),
                    "held".into(),
                    Some("Hello".into()),
                    0,
                    None
                ),
            ]
        );
        let joined: (String, String) = sqlx::query_as(
            "SELECT r.id, a.kind FROM reviews r JOIN actions a ON a.id = r.action_id",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(joined, (r.to_owned(), "reply".to_owned()));

        let insert = |id: &str, requested_by: Option<&str>| {
            let requested = requested_by.map_or("NULL".to_owned(), |p| format!("'{p}'"));
            format!(
                "INSERT INTO actions (id, message_id, kind, status, reasons, created_at, updated_at, requested_by) \
                 VALUES ('{id}', '{m}', 'hide', 'approved', '[]', 4, 4, {requested})"
            )
        };
        // A person hides again, twice: allowed.
        for id in [
            "0190f1a2-0000-7000-8000-0000000000e1",
            "0190f1a2-0000-7000-8000-0000000000e2",
        ] {
            sqlx::raw_sql(&insert(id, Some("console:sam")))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        // The pipeline planning a second hide conflicts, and the insert the
        // pipeline makes skips it quietly.
        assert!(
            sqlx::raw_sql(&insert("0190f1a2-0000-7000-8000-0000000000e3", None))
                .execute(&mut conn)
                .await
                .is_err(),
            "(message, kind) is unique for the pipeline"
        );
        let skipped = sqlx::raw_sql(&format!(
            "{} ON CONFLICT (message_id, kind) WHERE requested_by IS NULL DO NOTHING",
            insert("0190f1a2-0000-7000-8000-0000000000e4", None)
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        assert_eq!(skipped.rows_affected(), 0);
        assert!(
            sqlx::raw_sql(&format!(
                "INSERT INTO reviews (id, action_id, message_id, status, reasons, created_at) \
                 VALUES ('0190f1a2-0000-7000-8000-0000000000f1', '0190f1a2-0000-7000-8000-0000000000ff', '{m}', 'held', '[]', 5)"
            ))
            .execute(&mut conn)
            .await
            .is_err(),
            "a review of no action is refused"
        );
        conn.close().await.unwrap();
    }
);
