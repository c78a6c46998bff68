//! Leads end to end, on SQLite and PostgreSQL: detection and its negatives in
//! every language, pre-qualification, follow-ups, deduplication, the signed
//! and retried hand-off, and who may read and change leads.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{answer, settled, Recorder, TestApp, WAIT};
use replyd::config::{LeadEvent, LeadWebhookConfig, Secret, WebhookFormat};
use replyd::deliver::webhook::verify_signature;
use replyd::domain::Role;
use replyd::leads::DeliverLead;
use replyd::worker::BackgroundJob;
use reqwest::Method;
use serde_json::{json, Value};

fn dm(external_id: &str, author: &str, thread: &str, lang: &str, text: &str) -> Value {
    json!({
        "platform": "shop", "kind": "dm", "external_id": external_id, "thread_id": thread,
        "author": {"id": author, "name": "Robin Peeters"}, "text": text, "lang": lang,
    })
}

async fn post(app: &TestApp, token: &str, msg: &Value) -> String {
    let (status, body) = app.post_messages(token, msg).await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn leads(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = app.get_json(token, "/v1/leads").await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// A German shop owner's wholesale DM, settled: the lead it opens, by id.
async fn a_wholesale_lead(app: &TestApp, external_id: &str) -> String {
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let sales = app.token(Role::Sales).await;
    let msg = dm(
        external_id,
        "shop-owner",
        "t",
        "de",
        "Wir führen einen Laden in Köln und möchten Großhändler für Ihre Marke werden.",
    );
    let id = post(app, &ingest, &msg).await;
    app.wait_for_message(&viewer, &id, WAIT, settled).await;
    leads(app, &sales).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn action<'a>(body: &'a Value, kind: &str) -> Option<&'a Value> {
    body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind)
}

/// A lead and a non-lead per language, with a word of the pre-qualifying
/// message expected in that language.
const LANGUAGES: &[(&str, &str, &str, &str)] = &[
    (
        "nl",
        "Wij hebben een cadeauwinkel en zoeken een samenwerking: kunnen we wederverkoper worden?",
        "Geen interesse in een samenwerking, ik wil alleen weten waar mijn pakket is.",
        "zakelijk e-mailadres",
    ),
    (
        "en",
        "We run three cafés and are looking for a partnership as a wholesale customer.",
        "Collab? DM us to promote your page to 50k followers",
        "business e-mail",
    ),
    (
        "de",
        "Wir betreiben einen Feinkostladen und suchen eine Kooperation mit Ihrer Marke.",
        "Eure Partnerschaft mit diesem Wettanbieter ist unterirdisch.",
        "geschäftlichen E-Mail-Adresse",
    ),
    (
        "fr",
        "Nous avons une boutique à Lyon et cherchons un partenariat pour devenir revendeur.",
        "Collab ? On booste ton compte à 50k abonnés, écris-nous en DM",
        "adresse e-mail professionnelle",
    ),
    (
        "es",
        "Tenemos una tienda en Sevilla y buscamos una colaboración como distribuidor de vuestra marca.",
        "No me interesa colaborar, solo quiero saber dónde está mi pedido.",
        "correo electrónico profesional",
    ),
];

both_backends!(
    leads_are_detected_and_prequalified_in_every_language,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let sales = app.token(Role::Sales).await;
        for (lang, lead, not_lead, question) in LANGUAGES {
            let id = post(
                &app,
                &ingest,
                &dm(
                    &format!("{lang}-1"),
                    &format!("{lang}-a"),
                    &format!("{lang}-t1"),
                    lang,
                    lead,
                ),
            )
            .await;
            let done = app.wait_for_message(&viewer, &id, WAIT, settled).await;
            let pq = action(&done, "prequalify")
                .unwrap_or_else(|| panic!("{lang}: no prequalify: {done}"));
            assert_eq!(
                pq["status"], "dry_run",
                "{lang}: sent without a reviewer: {done}"
            );
            let text = pq["text"].as_str().unwrap();
            assert!(text.contains(question), "{lang}: {text}");
            assert!(text.contains("Robin"), "{lang}: {text}");
            assert!(
                action(&done, "acknowledge").is_none(),
                "a DM gets one answer: {done}"
            );

            let id = post(
                &app,
                &ingest,
                &dm(
                    &format!("{lang}-2"),
                    &format!("{lang}-b"),
                    &format!("{lang}-t2"),
                    lang,
                    not_lead,
                ),
            )
            .await;
            let done = app.wait_for_message(&viewer, &id, WAIT, settled).await;
            assert!(
                action(&done, "prequalify").is_none(),
                "{lang}: {not_lead}: {done}"
            );
        }
        let items = leads(&app, &sales).await;
        assert_eq!(
            items.len(),
            LANGUAGES.len(),
            "one lead per language: {items:?}"
        );
        for lead in &items {
            assert_eq!(lead["status"], "prequalifying", "{lead}");
            assert!(lead["score"].as_f64().unwrap() >= 0.5, "{lead}");
            let reasons = lead["reasons"].as_array().unwrap();
            assert!(
                reasons
                    .iter()
                    .any(|r| r.as_str().unwrap().contains("keyword")),
                "{lead}"
            );
            assert!(
                reasons
                    .iter()
                    .any(|r| r.as_str().unwrap().contains("p(lead)")),
                "{lead}"
            );
        }
        let langs: HashSet<&str> = items.iter().map(|l| l["lang"].as_str().unwrap()).collect();
        assert_eq!(langs.len(), LANGUAGES.len(), "{items:?}");
        app.shutdown().await;
    }
);

both_backends!(
    a_comment_lead_is_thanked_in_public_and_prequalified_in_private,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let msg = json!({
            "platform": "shop", "kind": "comment", "external_id": "c-1",
            "author": {"id": "fan-1", "name": "Kim"},
            "text": "Hi! I'm a creator on YouTube (80k) and would love to collab on your new range.",
            "lang": "en",
        });
        let id = post(&app, &ingest, &msg).await;
        let done = app.wait_for_message(&viewer, &id, WAIT, settled).await;
        assert!(action(&done, "acknowledge").is_some(), "{done}");
        let pq = action(&done, "prequalify").expect("prequalify");
        assert!(
            pq["reasons"].to_string().contains("private reply"),
            "{done}"
        );
        app.shutdown().await;
    }
);

both_backends!(
    follow_ups_attach_qualify_and_hand_off_signed_with_retries,
    |backend| async move {
        let receiver = Recorder::default();
        receiver.failures.lock().unwrap().extend([503, 500]);
        let addr = receiver.start().await;
        let app = TestApp::spawn_with(backend, |c| {
            // The hand-off alone: the other events have their own test.
            c.leads.webhooks.push(LeadWebhookConfig {
                events: vec![LeadEvent::Qualified],
                ..LeadWebhookConfig::json(
                    format!("http://{addr}/sales"),
                    Secret::new("sales-secret"),
                )
            })
        })
        .await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let sales = app.token(Role::Sales).await;
        let first = post(&app, &ingest, &dm("d-1", "buyer-1", "conv-1", "nl",
            "Wij hebben vier tuincentra en willen graag wederverkoper worden van jullie vogelhuisjes.")).await;
        app.wait_for_message(&viewer, &first, WAIT, settled).await;
        let lead_id = leads(&app, &sales).await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Someone else in another conversation does not attach.
        post(
            &app,
            &ingest,
            &dm("d-x", "other", "conv-9", "nl", "Wanneer gaan jullie open?"),
        )
        .await;
        let follow_up = post(&app, &ingest, &dm("d-2", "buyer-1", "conv-1", "nl",
            "Wij zijn Groen BV, budget rond 5000 euro, start in maart. Mail: inkoop@groen-tuin.nl, site www.groen-tuin.nl")).await;
        app.wait_for_message(&viewer, &follow_up, WAIT, settled)
            .await;

        let done = app
            .wait_for(&sales, &format!("/v1/leads/{lead_id}"), WAIT, |b| {
                b["lead"]["status"] == "handed_off"
            })
            .await;
        assert_eq!(done["lead"]["email"], "inkoop@groen-tuin.nl", "{done}");
        assert_eq!(done["lead"]["website"], "www.groen-tuin.nl", "{done}");
        let ids: Vec<&str> = done["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [first.as_str(), follow_up.as_str()], "{done}");
        assert_eq!(done["deliveries"][0]["status"], "delivered", "{done}");
        assert_eq!(done["deliveries"][0]["attempts"], 3, "{done}");

        let requests = receiver.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 3, "two failures, then success");
        let delivery_ids: HashSet<_> = requests
            .iter()
            .map(|r| r.headers["x-replyd-delivery"].clone())
            .collect();
        assert_eq!(
            delivery_ids.len(),
            1,
            "the delivery id is stable across retries"
        );
        let last = requests.last().unwrap();
        let signature = last.headers["x-replyd-signature"].to_str().unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!(verify_signature(
            &Secret::new("sales-secret"),
            signature,
            &last.body,
            now,
            300
        ));
        assert!(!verify_signature(
            &Secret::new("wrong"),
            signature,
            &last.body,
            now,
            300
        ));
        let body: Value = serde_json::from_slice(&last.body).unwrap();
        assert_eq!(body["lead"]["id"], lead_id.as_str());
        assert_eq!(
            body["delivery_id"],
            last.headers["x-replyd-delivery"].to_str().unwrap()
        );
        assert_eq!(body["messages"].as_array().unwrap().len(), 2, "{body}");

        // A run that stopped after recording the delivery but before marking
        // the lead handed off (as the process dying there would leave it):
        // its retry settles the lead without sending again.
        let db = replyd::store::Db::connect(&app.database_url).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query("UPDATE leads SET status = 'qualified', handed_off_at = NULL WHERE id = $1")
            .bind(&lead_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        let job = DeliverLead {
            delivery_id: done["deliveries"][0]["id"].as_str().unwrap().to_owned(),
        };
        job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        db.close().await;
        app.wait_for(&sales, &format!("/v1/leads/{lead_id}"), WAIT, |b| {
            b["lead"]["status"] == "handed_off"
        })
        .await;
        assert_eq!(receiver.requests.lock().unwrap().len(), 3, "not sent again");
        app.shutdown().await;
    }
);

both_backends!(
    one_open_lead_per_author_and_platform,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let sales = app.token(Role::Sales).await;
        let a = post(&app, &ingest, &dm("e-1", "agency-1", "t-a", "en",
            "We're a PR agency and would love a partnership with your brand for a creator campaign.")).await;
        app.wait_for_message(&viewer, &a, WAIT, settled).await;
        let b = post(
            &app,
            &ingest,
            &dm(
                "e-2",
                "agency-1",
                "t-b",
                "en",
                "Also interested in a sponsorship of our podcast, could you send a quote?",
            ),
        )
        .await;
        let second = app.wait_for_message(&viewer, &b, WAIT, settled).await;
        assert!(
            action(&second, "prequalify").is_none(),
            "asked once: {second}"
        );
        // The same author on another platform is another lead.
        let mut other = dm(
            "e-3",
            "agency-1",
            "t-c",
            "en",
            "We'd love a partnership with your brand, we're a PR agency.",
        );
        other["platform"] = json!("instagram");
        let c = post(&app, &ingest, &other).await;
        app.wait_for_message(&viewer, &c, WAIT, settled).await;

        let items = leads(&app, &sales).await;
        assert_eq!(items.len(), 2, "{items:?}");
        let shop = items.iter().find(|l| l["platform"] == "shop").unwrap();
        let (_, detail) = app
            .get_json(
                &sales,
                &format!("/v1/leads/{}", shop["id"].as_str().unwrap()),
            )
            .await;
        assert_eq!(detail["messages"].as_array().unwrap().len(), 2, "{detail}");
        let (_, filtered) = app
            .get_json(
                &sales,
                "/v1/leads?platform=instagram&status=prequalifying&min_score=0.5&since=2020-01-01",
            )
            .await;
        assert_eq!(filtered["items"].as_array().unwrap().len(), 1, "{filtered}");
        let (_, paged) = app.get_json(&sales, "/v1/leads?limit=1").await;
        let cursor = paged["next_cursor"].as_str().unwrap();
        let (_, next) = app
            .get_json(&sales, &format!("/v1/leads?limit=1&cursor={cursor}"))
            .await;
        assert_ne!(paged["items"][0]["id"], next["items"][0]["id"]);
        app.shutdown().await;
    }
);

both_backends!(
    sales_reads_and_updates_leads_ingest_cannot,
    |backend| async move {
        let receiver = Recorder::default();
        let addr = receiver.start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.leads.webhooks.push(LeadWebhookConfig {
                events: vec![LeadEvent::Qualified],
                ..LeadWebhookConfig::json(format!("http://{addr}/crm"), Secret::new("s"))
            })
        })
        .await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let sales = app.token(Role::Sales).await;
        let reviewer = app.token(Role::Reviewer).await;
        let lead_id = a_wholesale_lead(&app, "r-1").await;
        let path = format!("/v1/leads/{lead_id}");

        for token in [&ingest, &reviewer] {
            assert_eq!(app.get_json(token, "/v1/leads").await.0, 403);
            assert_eq!(app.get_json(token, &path).await.0, 403);
        }
        assert_eq!(app.get_json(&viewer, &path).await.0, 200);
        let patch =
            |token: &str, body: Value| answer(app.request(Method::PATCH, &path, token).json(&body));
        assert_eq!(patch(&viewer, json!({"owner": "me"})).await.0, 403);
        assert_eq!(patch(&ingest, json!({"owner": "me"})).await.0, 403);
        let (status, body) = patch(&sales, json!({"status": "handed_off"})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(patch(&sales, json!({"status": "maybe"})).await.0, 400);

        // Qualifying by hand hands the lead off.
        let (status, body) = patch(
            &sales,
            json!({"status": "qualified", "owner": "Eva", "notes": "Call on Monday"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["lead"]["owner"], "Eva");
        app.wait_for(&sales, &format!("/v1/leads/{lead_id}"), WAIT, |b| {
            b["lead"]["status"] == "handed_off"
        })
        .await;
        assert_eq!(receiver.requests.lock().unwrap().len(), 1);
        let (status, body) = patch(&sales, json!({"status": "won", "notes": null})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["lead"]["status"], "won");
        assert_eq!(body["lead"]["notes"], Value::Null);
        assert_eq!(body["lead"]["owner"], "Eva", "a missing field is left be");

        let db = replyd::store::Db::connect(&app.database_url).await.unwrap();
        let mut conn = db.conn().await.unwrap();
        let audit = replyd::store::audit::page(&mut conn, None, 10)
            .await
            .unwrap();
        let updates: Vec<_> = audit.iter().filter(|e| e.action == "lead.update").collect();
        assert_eq!(updates.len(), 2, "{audit:?}");
        assert_eq!(updates[0].details["after"]["status"], "won");
        assert_eq!(updates[0].actor, "token:test-sales");

        let response = app
            .request(Method::GET, "/v1/leads.csv", &sales)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        assert_eq!(response.headers()["cache-control"], "no-store");
        let csv = response.text().await.unwrap();
        let mut lines = csv.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("id,created_at,status"));
        assert!(header.ends_with(",kind,message_text"), "{header}");
        let row = lines.next().unwrap();
        assert!(row.contains(",\"won\","), "{csv}");
        assert!(
            row.contains(",\"dm\",\"Wir führen"),
            "the lead's kind: {row}"
        );
        assert!(
            row.ends_with(",\"Wir führen einen Laden in Köln und möchten Großhändler für Ihre Marke werden.\""),
            "sales reads what the prospect wrote: {row}"
        );

        // A spreadsheet splitting on `;` (the Dutch and German default), or
        // skipping blanks and line breaks, must still find no formula.
        let (status, body) = patch(
            &sales,
            json!({"notes": "a;=1+1", "owner": " \n=HYPERLINK(1)"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let csv = app
            .request(Method::GET, "/v1/leads.csv", &sales)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(csv.contains("\"a;=1+1\""), "{csv}");
        assert!(csv.contains("\"' \n=HYPERLINK(1)\""), "{csv}");
        let response = app
            .request(Method::GET, "/v1/leads.csv", &ingest)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        app.shutdown().await;
    }
);

both_backends!(
    a_later_review_by_the_same_author_is_not_taken_for_a_follow_up,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let viewer = app.token(Role::Viewer).await;
        let sales = app.token(Role::Sales).await;
        // Reviews have no thread: nothing ties the second to the first.
        let review = |external_id: &str, text: &str| {
            json!({"platform": "shop", "kind": "review", "external_id": external_id,
                   "author": {"id": "reviewer-9", "name": "Robin Peeters"}, "text": text, "lang": "en"})
        };
        let first = post(
            &app,
            &ingest,
            &review(
                "rv-1",
                "We run three cafés and are looking for a partnership as a wholesale customer.",
            ),
        )
        .await;
        app.wait_for_message(&viewer, &first, WAIT, settled).await;
        let lead = leads(&app, &sales).await;
        assert_eq!(lead.len(), 1, "{lead:?}");
        let lead_id = lead[0]["id"].as_str().unwrap().to_owned();
        let second = post(
            &app,
            &ingest,
            &review(
                "rv-2",
                "The delivery was quick, thanks. Questions? robin@example-cafes.nl",
            ),
        )
        .await;
        app.wait_for_message(&viewer, &second, WAIT, settled).await;
        let (status, detail) = app.get_json(&sales, &format!("/v1/leads/{lead_id}")).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["messages"].as_array().unwrap().len(), 1, "{detail}");
        assert!(detail["lead"]["email"].is_null(), "{detail}");
        app.shutdown().await;
    }
);

both_backends!(
    a_nul_character_in_a_lead_update_is_refused_naming_its_field,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let sales = app.token(Role::Sales).await;
        let lead_id = a_wholesale_lead(&app, "nul-1").await;
        let path = format!("/v1/leads/{lead_id}");
        for field in ["owner", "notes"] {
            let response = app
                .request(Method::PATCH, &path, &sales)
                .json(&json!({ field: "Eva\u{0}" }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{field}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "invalid_field", "{body}");
            assert_eq!(body["error"]["field"], field, "{body}");
        }
        let (_, lead) = app.get_json(&sales, &path).await;
        assert_eq!(lead["lead"]["owner"], Value::Null, "{lead}");
        assert_eq!(lead["lead"]["notes"], Value::Null, "{lead}");
        app.shutdown().await;
    }
);

/// Waits until the receiver has at least `n` requests.
async fn received(receiver: &Recorder, n: usize) -> Vec<common::Recorded> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let requests = receiver.requests.lock().unwrap().clone();
        if requests.len() >= n {
            return requests;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} requests arrived: {requests:?}",
            requests.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_backends!(
    sales_hears_of_every_event_as_json_or_slack,
    |backend| async move {
        let json_receiver = Recorder::default();
        let json_addr = json_receiver.start().await;
        let slack_receiver = Recorder::default();
        let slack_addr = slack_receiver.start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.console.public_urls = vec!["https://replyd.example.com".into()];
            c.leads.webhooks.push(LeadWebhookConfig::json(
                format!("http://{json_addr}/crm"),
                Secret::new("crm-secret"),
            ));
            c.leads.webhooks.push(LeadWebhookConfig {
                url: format!("http://{slack_addr}/services/T/B/x"),
                secret: Secret::default(),
                events: vec![LeadEvent::Created, LeadEvent::Closed],
                format: WebhookFormat::Slack,
            });
        })
        .await;
        let sales = app.token(Role::Sales).await;
        let lead_id = a_wholesale_lead(&app, "ev-1").await;
        let path = format!("/v1/leads/{lead_id}");
        received(&json_receiver, 1).await;
        received(&slack_receiver, 1).await;

        let patch = |body: Value| answer(app.request(Method::PATCH, &path, &sales).json(&body));
        let (status, body) = patch(json!({"owner": "Eva"})).await;
        assert_eq!(status, 200, "{body}");
        received(&json_receiver, 2).await;
        let (status, body) = patch(json!({"status": "qualified"})).await;
        assert_eq!(status, 200, "{body}");
        received(&json_receiver, 3).await;
        // The hand-off is the qualified event alone: the others do not hold
        // it back, and the Slack destination does not take it.
        app.wait_for(&sales, &path, WAIT, |b| b["lead"]["status"] == "handed_off")
            .await;
        let (status, body) = patch(json!({"status": "lost"})).await;
        assert_eq!(status, 200, "{body}");
        let json_requests = received(&json_receiver, 4).await;
        let slack_requests = received(&slack_receiver, 2).await;
        // Nothing more trickles in.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(json_receiver.requests.lock().unwrap().len(), 4);
        assert_eq!(slack_receiver.requests.lock().unwrap().len(), 2);

        let now = chrono::Utc::now().timestamp();
        let events: Vec<String> = json_requests
            .iter()
            .map(|r| {
                let signature = r.headers["x-replyd-signature"].to_str().unwrap();
                assert!(verify_signature(
                    &Secret::new("crm-secret"),
                    signature,
                    &r.body,
                    now,
                    300
                ));
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(body["lead"]["id"], lead_id.as_str(), "{body}");
                assert_eq!(
                    body["delivery_id"],
                    r.headers["x-replyd-delivery"].to_str().unwrap()
                );
                body["event"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            events,
            [
                "lead.created",
                "lead.updated",
                "lead.qualified",
                "lead.closed"
            ]
        );

        for (r, opening) in slack_requests
            .iter()
            .zip(["New lead on shop", "Lead closed on shop"])
        {
            assert_eq!(r.path, "/services/T/B/x");
            assert!(
                r.headers.get("x-replyd-signature").is_none(),
                "Slack is not signed"
            );
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let keys: Vec<&str> = body
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, ["text"], "a Slack incoming webhook's body: {body}");
            let text = body["text"].as_str().unwrap();
            assert!(text.starts_with(opening), "{text}");
            assert!(text.contains("> Wir führen einen Laden in Köln"), "{text}");
            assert!(
                text.contains(&format!("<https://replyd.example.com/leads/{lead_id}|")),
                "a link to the lead in the console: {text}"
            );
        }

        // Every delivery is on the lead, with its event.
        let (_, detail) = app.get_json(&sales, &path).await;
        let mut delivered: Vec<(String, String)> = detail["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["event"].as_str().unwrap().to_owned(),
                    d["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        delivered.sort();
        assert_eq!(delivered.len(), 6, "{detail}");
        assert!(delivered.iter().all(|(_, s)| s == "delivered"), "{detail}");
        app.shutdown().await;
    }
);
