//! Ownership and context on the workbench through the real daemon: a
//! message's owner and labels (and the list's filters on them), internal
//! notes that are never sent, and the brand's saved replies checked as
//! templates, on SQLite and PostgreSQL.

mod common;

use common::{message, post_settled, TestApp};
use replyd::domain::Role;
use replyd::store::Db;
use reqwest::Method;
use serde_json::{json, Value};

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> (u16, Value) {
    app.call(
        Method::PATCH,
        token,
        &format!("/v1/messages/{id}"),
        Some(&body),
    )
    .await
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = Db::connect(&app.database_url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap();
    db.close().await;
    n
}

both_backends!(owner_and_labels, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    let admin = app.token(Role::Admin).await;
    let (id, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &message("shop", "comment", "c-own", "Where do you ship from?"),
    )
    .await;
    let (other, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &message("shop", "comment", "c-other", "Do you ship to Belgium?"),
    )
    .await;

    // Who may: reviewers and admins; the rest are refused before anything.
    for role in [Role::Viewer, Role::Sales, Role::Ingest] {
        let token = app.token(role).await;
        let (status, answer) = patch(&app, &token, &id, json!({"labels": ["x"]})).await;
        assert_eq!(status, 403, "{role}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }

    let (status, answer) = patch(
        &app,
        &reviewer,
        &id,
        json!({"owner": "test-admin", "labels": [" Urgent ", "Billing", "urgent"]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["owner"], "test-admin");
    assert_eq!(answer["labels"], json!(["urgent", "billing"]));
    assert_eq!(answer["context"]["updated_by"], "token:test-reviewer");
    assert!(answer["context"]["updated_at"].as_i64().unwrap() > 0);

    let (_, detail) = app.get_json(&reviewer, &format!("/v1/messages/{id}")).await;
    assert_eq!(detail["owner"], "test-admin", "{detail}");
    assert_eq!(detail["labels"], json!(["urgent", "billing"]));

    // Refusals name the field and change nothing.
    let too_many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
    for (body, field) in [
        (json!({"owner": "nobody-here"}), "owner"),
        (json!({"labels": too_many}), "labels"),
        (json!({"labels": ["x".repeat(41)]}), "labels"),
        (json!({"labels": ["   "]}), "labels"),
    ] {
        let (status, answer) = patch(&app, &admin, &id, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, answer) = patch(&app, &admin, &id, json!({"owner": "nobody-here"})).await;
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nobody-here"),
        "{status} {answer}"
    );
    let (_, detail) = app.get_json(&reviewer, &format!("/v1/messages/{id}")).await;
    assert_eq!(
        (&detail["owner"], &detail["labels"]),
        (&json!("test-admin"), &json!(["urgent", "billing"]))
    );
    // Exactly 20 labels of 40 characters are fine (on the other message).
    let twenty: Vec<String> = (0..20).map(|i| format!("{i:0>40}")).collect();
    let (status, answer) = patch(&app, &admin, &other, json!({"labels": twenty})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["labels"].as_array().unwrap().len(), 20);
    assert_eq!(answer["owner"], Value::Null);

    // The list filters by label (any case) and owner.
    let (status, list) = app.get_json(&reviewer, "/v1/messages?label=URGENT").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(ids(&list), [id.as_str()]);
    assert_eq!(list["items"][0]["owner"], "test-admin");
    assert_eq!(list["items"][0]["labels"], json!(["urgent", "billing"]));
    let (_, list) = app
        .get_json(&reviewer, "/v1/messages?owner=test-admin&label=billing")
        .await;
    assert_eq!(ids(&list), [id.as_str()]);
    let (_, list) = app
        .get_json(&reviewer, &format!("/v1/messages?label={:0>40}", 7))
        .await;
    assert_eq!(ids(&list), [other.as_str()]);
    let (_, list) = app.get_json(&reviewer, "/v1/messages?label=none").await;
    assert!(ids(&list).is_empty(), "{list}");
    let (_, list) = app.get_json(&reviewer, "/v1/messages").await;
    assert_eq!(ids(&list).len(), 2);

    // null unassigns; the labels stay.
    let (status, answer) = patch(&app, &admin, &id, json!({"owner": null})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["owner"], Value::Null);
    assert_eq!(answer["labels"], json!(["urgent", "billing"]));
    let (_, list) = app
        .get_json(&reviewer, "/v1/messages?owner=test-admin")
        .await;
    assert!(ids(&list).is_empty(), "{list}");

    // Audited with who, when, and what it was before.
    let db = Db::connect(&app.database_url).await.unwrap();
    let entries: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT actor, at, details FROM audit_log WHERE action = 'message.context' AND target = $1 ORDER BY at, id",
    )
    .bind(&id)
    .fetch_all(db.pool())
    .await
    .unwrap();
    db.close().await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0].0, "token:test-reviewer");
    assert_eq!(entries[1].0, "token:test-admin");
    assert!(entries[0].1 > 0);
    let last: Value = serde_json::from_str(&entries[1].2).unwrap();
    assert_eq!(last["owner_before"], "test-admin", "{last}");
    assert_eq!(last["owner"], Value::Null, "{last}");

    let (status, _) = patch(
        &app,
        &admin,
        "0190a000-0000-7000-8000-000000000000",
        json!({"labels": ["x"]}),
    )
    .await;
    assert_eq!(status, 404);
    app.shutdown().await;
});

both_backends!(notes_are_never_sent, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    let viewer = app.token(Role::Viewer).await;
    let (id, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &message("shop", "dm", "d-note", "My order 1234 never arrived"),
    )
    .await;
    let path = format!("/v1/messages/{id}/notes");
    let outgoing = "SELECT (SELECT COUNT(*) FROM actions) + (SELECT COUNT(*) FROM jobs) \
                    + (SELECT COUNT(*) FROM lead_deliveries)";
    let before = count(&app, outgoing).await;
    let actions_before = count(&app, "SELECT COUNT(*) FROM actions").await;

    let (status, answer) = app
        .post_json(
            &viewer,
            &path,
            json!({"text": "Checked with the warehouse"}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");

    let text = "Checked with the warehouse: it left on Monday. Call them back, not a reply.";
    let (status, answer) = app.post_json(&reviewer, &path, json!({"text": text})).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["note"]["text"], text);
    let (status, answer) = app
        .post_json(&reviewer, &path, json!({"text": "ö".repeat(2000)}))
        .await;
    assert_eq!(status, 201, "{answer}");

    for body in [json!({"text": "  "}), json!({"text": "x".repeat(2001)})] {
        let (status, answer) = app.post_json(&reviewer, &path, body).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["field"], "text", "{answer}");
    }

    let (_, detail) = app.get_json(&viewer, &format!("/v1/messages/{id}")).await;
    let notes = detail["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2, "{detail}");
    assert_eq!(notes[0]["text"], text);
    assert_eq!(notes[0]["author"], "token:test-reviewer");
    assert!(notes[0]["created_at"].as_i64().unwrap() > 0);

    // A note creates no action, no job and no delivery: nothing leaves.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(count(&app, outgoing).await, before);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM actions").await,
        actions_before
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'message.note'"
        )
        .await,
        2
    );
    let (status, _) = app
        .post_json(
            &reviewer,
            "/v1/messages/0190a000-0000-7000-8000-000000000000/notes",
            json!({"text": "hi"}),
        )
        .await;
    assert_eq!(status, 404);
    app.shutdown().await;
});

both_backends!(saved_replies, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let reviewer = app.token(Role::Reviewer).await;
    let admin = app.token(Role::Admin).await;
    let viewer = app.token(Role::Viewer).await;
    let good = json!({
        "name": "Shipping time",
        "lang": "en",
        "text": "Hi {{ name }}, {{ brand }} ships within two days.",
    });

    // Reviewers read; only admins write.
    let (status, answer) = app
        .post_json(&reviewer, "/v1/saved-replies", good.clone())
        .await;
    assert_eq!(status, 403, "{answer}");
    let (status, _) = app.get_json(&viewer, "/v1/saved-replies").await;
    assert_eq!(status, 403);

    let (status, answer) = app
        .post_json(&admin, "/v1/saved-replies", good.clone())
        .await;
    assert_eq!(status, 201, "{answer}");
    let id = answer["saved_reply"]["id"].as_str().unwrap().to_owned();
    assert_eq!(answer["saved_reply"]["created_by"], "token:test-admin");
    let (status, answer) = app
        .post_json(
            &admin,
            "/v1/saved-replies",
            json!({"name": "Levertijd", "lang": "nl", "text": "Hoi {{ name }}, binnen twee dagen."}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");

    let (status, list) = app.get_json(&reviewer, "/v1/saved-replies").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (_, list) = app.get_json(&reviewer, "/v1/saved-replies?lang=en").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["name"], "Shipping time");
    let (status, _) = app.get_json(&reviewer, "/v1/saved-replies?lang=xx").await;
    assert_eq!(status, 400);

    // Refused with the problem named.
    for (body, field, says) in [
        (
            json!({"name": "A", "lang": "en", "text": "Hi {{ customer }}"}),
            "text",
            "customer",
        ),
        (
            json!({"name": "A", "lang": "en", "text": "Hi {{ name "}),
            "text",
            "not a valid template",
        ),
        (
            json!({"name": "A", "lang": "en", "text": "{% if name %}Hi"}),
            "text",
            "not a valid template",
        ),
        (
            json!({"name": "A", "lang": "xx", "text": "Hi"}),
            "lang",
            "xx",
        ),
        (
            json!({"name": " ", "lang": "en", "text": "Hi"}),
            "name",
            "name",
        ),
        (
            json!({"name": "A", "lang": "en", "text": ""}),
            "text",
            "text",
        ),
    ] {
        let (status, answer) = app
            .post_json(&admin, "/v1/saved-replies", body.clone())
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(says),
            "{answer}"
        );
    }
    let (status, answer) = app
        .post_json(&admin, "/v1/saved-replies", good.clone())
        .await;
    assert_eq!(status, 409, "a second name in the same language: {answer}");

    let path = format!("/v1/saved-replies/{id}");
    let (status, answer) = app
        .call(
            Method::PUT,
            &reviewer,
            &path,
            Some(&json!({"name": "x", "lang": "en", "text": "y"})),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = app
        .call(
            Method::PUT,
            &admin,
            &path,
            Some(&json!({"name": "Shipping time", "lang": "en", "text": "Hi {{ nme }}"})),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = app
        .call(
            Method::PUT,
            &admin,
            &path,
            Some(&json!({"name": "Shipping", "lang": "de", "text": "Hallo {{ name }}!"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["saved_reply"]["lang"], "de");
    let (_, one) = app.get_json(&reviewer, &path).await;
    assert_eq!(one["saved_reply"]["text"], "Hallo {{ name }}!");

    let (status, _) = app.call(Method::DELETE, &reviewer, &path, None).await;
    assert_eq!(status, 403);
    let (status, _) = app.call(Method::DELETE, &admin, &path, None).await;
    assert_eq!(status, 204);
    let (status, _) = app.get_json(&reviewer, &path).await;
    assert_eq!(status, 404);
    let (status, _) = app.call(Method::DELETE, &admin, &path, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'saved_reply.%' AND actor = 'token:test-admin'"
        )
        .await,
        4
    );
    app.shutdown().await;
});
