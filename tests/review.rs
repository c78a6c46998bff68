//! The review API: reviewers approve (with edits) or reject what the risk
//! gate held; every role is allowed or refused as documented.

mod common;

use common::{held_question, TestApp, WAIT};
use replyd::domain::Role;
use serde_json::json;

/// A question nobody can answer from the facts: its reply is held.
const QUESTION: &str = "Do you also ship your bikes to Norway?";

both_backends!(
    reviewers_approve_with_edits_and_reject_with_reasons,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let reviewer = app.token(Role::Reviewer).await;
        let (first, done) = held_question(&app, &ingest, &viewer, "q-1", QUESTION).await;
        assert!(
            done["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["status"] == "held"),
            "{done}"
        );
        held_question(&app, &ingest, &viewer, "q-2", QUESTION).await;

        let (status, queue) = app.get_json(&reviewer, "/v1/reviews?status=held").await;
        assert_eq!(status, 200, "{queue}");
        let items = queue["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2, "{queue}");
        assert!(items[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("held")));
        assert!(items[0]["text"].as_str().unwrap().contains("Norway"));
        let (a, b) = (
            items[0]["id"].as_str().unwrap(),
            items[1]["id"].as_str().unwrap(),
        );

        let edited = "Yes, we ship to Norway; delivery takes about a week.";
        let (status, body) = app
            .post_json(
                &reviewer,
                &format!("/v1/reviews/{a}/approve"),
                json!({"text": edited}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let delivered = app
            .wait_for_message(&viewer, &first, WAIT, |m| {
                m["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["kind"] == "reply" && a["status"] == "dry_run")
            })
            .await;
        let reply = delivered["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "reply")
            .unwrap()
            .clone();
        assert_eq!(reply["text"], edited);
        assert_eq!(reply["decided_by"], "token:test-reviewer");

        let (status, _) = app
            .post_json(&reviewer, &format!("/v1/reviews/{a}/approve"), json!({}))
            .await;
        assert_eq!(status, 409, "a decided review cannot be decided again");
        let (status, _) = app
            .post_json(&reviewer, &format!("/v1/reviews/{b}/reject"), json!({}))
            .await;
        assert_eq!(status, 400, "a rejection needs its reason");
        let (status, _) = app
            .post_json(
                &reviewer,
                &format!("/v1/reviews/{b}/reject"),
                json!({"reason": "we don't ship there"}),
            )
            .await;
        assert_eq!(status, 200);
        let (_, rejected) = app.get_json(&reviewer, "/v1/reviews?status=rejected").await;
        assert_eq!(rejected["items"][0]["note"], "we don't ship there");
        let (_, held) = app.get_json(&reviewer, "/v1/reviews").await;
        assert!(held["items"].as_array().unwrap().is_empty());
        app.shutdown().await;
    }
);

both_backends!(only_reviewers_and_admins_decide, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    held_question(&app, &ingest, &viewer, "q-3", QUESTION).await;
    let (_, queue) = app.get_json(&viewer, "/v1/reviews").await;
    let id = queue["items"][0]["id"].as_str().unwrap().to_owned();
    for role in [Role::Sales, Role::Ingest] {
        let token = app.token(role).await;
        let (status, _) = app.get_json(&token, "/v1/reviews").await;
        assert_eq!(status, 403, "{role} reads the queue");
    }
    for role in [Role::Viewer, Role::Sales, Role::Ingest] {
        let token = app.token(role).await;
        let (status, _) = app
            .post_json(&token, &format!("/v1/reviews/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, 403, "{role} approves");
        let (status, _) = app
            .post_json(
                &token,
                "/v1/reviews/reject",
                json!({"ids": [id], "reason": "x"}),
            )
            .await;
        assert_eq!(status, 403, "{role} bulk-rejects");
    }
    let admin = app.token(Role::Admin).await;
    let (status, body) = app
        .post_json(
            &admin,
            "/v1/reviews/approve",
            json!({"ids": [id, "no-such-review"]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["results"][0]["ok"], true, "{body}");
    assert_eq!(body["results"][1]["ok"], false, "{body}");
    app.shutdown().await;
});

both_backends!(
    an_edit_passes_the_guardrails_and_a_rejection_needs_a_reason,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let reviewer = app.token(Role::Reviewer).await;
        let (message_id, _) = held_question(&app, &ingest, &viewer, "g-1", QUESTION).await;
        let (_, queue) = app.get_json(&reviewer, "/v1/reviews").await;
        let id = queue["items"][0]["id"].as_str().unwrap().to_owned();
        let approve = format!("/v1/reviews/{id}/approve");

        for (text, check) in [
            (
                "Sorry! We will refund you the full price.".to_owned(),
                "money_promise",
            ),
            ("Mail me at sam.jansen@example.com".to_owned(), "pii_echo"),
            (
                "Everything is on https://evil.example/norway".to_owned(),
                "link_not_allowed",
            ),
            ("Yes. ".repeat(1001), "too_long"),
        ] {
            let (status, body) = app
                .post_json(&reviewer, &approve, json!({"text": text}))
                .await;
            assert_eq!(status, 422, "{check}: {body}");
            assert_eq!(body["error"]["code"], "guardrails", "{body}");
            assert_eq!(body["error"]["field"], "text", "{body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(check), "{check}: {message}");
        }
        let (_, queue) = app.get_json(&reviewer, "/v1/reviews").await;
        assert_eq!(queue["items"][0]["id"], id.as_str(), "still held");

        // Rejections need a reason, one at a time as in bulk.
        for reason in ["", "  "] {
            let (status, body) = app
                .post_json(
                    &reviewer,
                    &format!("/v1/reviews/{id}/reject"),
                    json!({ "reason": reason }),
                )
                .await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["error"]["field"], "reason", "{body}");
        }

        // The reviewer states facts the facts file lacks.
        let edited = "Yes, we ship to Norway; it takes 5 working days.";
        let (status, body) = app
            .post_json(&reviewer, &approve, json!({"text": edited}))
            .await;
        assert_eq!(status, 200, "{body}");
        let done = app
            .wait_for_message(&viewer, &message_id, WAIT, |m| {
                m["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["kind"] == "reply" && a["status"] == "dry_run")
            })
            .await;
        assert!(done["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["text"] == edited));
        app.shutdown().await;
    }
);

both_backends!(
    a_nul_character_in_a_decision_is_refused_naming_its_field,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let reviewer = app.token(Role::Reviewer).await;
        held_question(&app, &ingest, &viewer, "nul-q", QUESTION).await;
        let (_, queue) = app.get_json(&reviewer, "/v1/reviews").await;
        let id = queue["items"][0]["id"].as_str().unwrap().to_owned();

        let refusals = [
            (
                "approve",
                json!({"text": "Yes, we ship\u{0} to Norway."}),
                "text",
            ),
            ("reject", json!({"reason": "not\u{0} there"}), "reason"),
        ];
        for (verdict, body, field) in refusals {
            let path = format!("/v1/reviews/{id}/{verdict}");
            let (status, body) = app.post_json(&reviewer, &path, body).await;
            assert_eq!(status, 400, "{verdict}: {body}");
            assert_eq!(body["error"]["code"], "invalid_field", "{body}");
            assert_eq!(body["error"]["field"], field, "{body}");
        }
        let (status, body) = app
            .post_json(
                &reviewer,
                "/v1/reviews/reject",
                json!({"ids": [id], "reason": "not\u{0} there"}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["field"], "reason", "{body}");

        // Still waiting for a decision, which a clean one then makes.
        let (status, body) = app
            .post_json(
                &reviewer,
                &format!("/v1/reviews/{id}/reject"),
                json!({"reason": "not there"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        app.shutdown().await;
    }
);
