//! Facebook and Instagram end to end: signed webhooks in, Graph API calls
//! out, against a local fake Graph API, on SQLite and PostgreSQL.

mod common;
#[path = "common/graph.rs"]
mod graph;

use std::time::{Duration, Instant};

use common::{settled, TestApp, WAIT};
use graph::{comment, FakeGraph, Fault, Phase, FB, IG};
use replyd::config::Secret;
use replyd::deliver::DeliverAction;
use replyd::domain::{ActionKind, ActionStatus, MessageId, Role};
use replyd::ingest::meta_webhook::{refresh_times, signature};
use replyd::store::actions::{self, NewAction};
use replyd::store::Db;
use replyd::worker::BackgroundJob;
use serde_json::{json, Value};

const APP_SECRET: &str = "app-secret-for-tests";
/// A shop owner who wants to resell, and whose last order arrived broken.
/// A lead that is also a complaint: lead detection must see the business
/// through the complaint (two collaboration words and a shop).
const STOCKIST_COMPLAINT: &str = "Wij zijn een fietsenwinkel in Utrecht en willen graag wederverkoper worden, een samenwerking dus, maar onze laatste bestelling kwam kapot aan en niemand reageert op onze mails!";

struct Meta {
    app: TestApp,
    graph: FakeGraph,
    viewer: String,
}

async fn spawn(backend: common::Backend) -> Meta {
    spawn_with(backend, |_| {}).await
}

async fn spawn_with(
    backend: common::Backend,
    configure: impl FnOnce(&mut replyd::config::Config),
) -> Meta {
    let graph = FakeGraph::new(&[(FB, "fb-token"), (IG, "ig-token")]);
    let graph_url = graph.start().await;
    let app = TestApp::spawn_with(backend, |c| {
        c.delivery.timeout_secs = 2;
        c.meta = Some(graph::meta_config(graph_url, APP_SECRET));
        configure(c);
    })
    .await;
    let viewer = app.token(Role::Viewer).await;
    Meta { app, graph, viewer }
}

/// A sample payload from `tests/fixtures/meta/`, dated now.
fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/meta/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    refresh_times(&mut value, chrono::Utc::now().timestamp_millis());
    value
}

impl Meta {
    async fn post_raw(&self, body: &[u8], signature: Option<String>) -> (u16, Value) {
        let mut request = self
            .app
            .client
            .post(self.app.url("/webhooks/meta"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_webhook(&self, payload: &Value) -> (u16, Value) {
        graph::post_signed(&self.app.client, &self.app.url(""), APP_SECRET, payload).await
    }

    async fn stored(&self) -> Vec<Value> {
        let (status, body) = self
            .app
            .get_json(&self.viewer, "/v1/messages?limit=500")
            .await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().unwrap().clone()
    }

    /// Waits for the message with this external id to be stored and settled.
    async fn settled(&self, external_id: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        let id = loop {
            let found = self
                .stored()
                .await
                .into_iter()
                .find(|m| m["external_id"] == external_id);
            if let Some(m) = found {
                break m["id"].as_str().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "{external_id} never stored");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        self.app
            .wait_for_message(&self.viewer, &id, WAIT, settled)
            .await
    }

    async fn action(&self, message_id: &str, kind: &str, until: impl Fn(&Value) -> bool) -> Value {
        let done = self
            .app
            .wait_for_message(&self.viewer, message_id, WAIT, |m| {
                m["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["kind"] == kind && until(a))
            })
            .await;
        done["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == kind)
            .unwrap()
            .clone()
    }

    /// Puts a sent action back to `sending` and queues its delivery again:
    /// the state a process that died between marking it and recording the
    /// answer leaves behind.
    async fn resume_as_sending(&self, action_id: &str) {
        let db = Db::connect(&self.app.database_url).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query("UPDATE actions SET status = 'sending', sent_at = NULL, external_ref = NULL WHERE id = $1")
            .bind(action_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        let job = DeliverAction {
            action_id: action_id.parse().unwrap(),
        };
        job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        db.close().await;
    }

    /// Plans an action directly, as the policy or a reviewer would, and
    /// queues its delivery.
    async fn seed_action(
        &self,
        message_id: &str,
        kind: ActionKind,
        text: Option<&str>,
        approved_by: Option<&str>,
    ) {
        let db = Db::connect(&self.app.database_url).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        let message_id: MessageId = message_id.parse().unwrap();
        let status = if approved_by.is_some() {
            ActionStatus::Approved
        } else {
            ActionStatus::Pending
        };
        let new = NewAction {
            kind,
            status,
            text: text.map(str::to_owned),
            draft_source: Some("reviewer".into()),
            reasons: vec!["seeded by the test".into()],
        };
        let id = actions::insert(&mut tx, &message_id, &new)
            .await
            .unwrap()
            .expect("a new action");
        if let Some(reviewer) = approved_by {
            sqlx::query("UPDATE actions SET decided_by = $1 WHERE id = $2")
                .bind(reviewer)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        let job = DeliverAction { action_id: id };
        job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        db.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_handshake_echoes_the_challenge_only_for_the_verify_token() {
    let meta = spawn(common::Backend::Sqlite).await;
    let get = |query: &'static str| {
        let url = meta.app.url(&format!("/webhooks/meta?{query}"));
        let client = meta.app.client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(
        get("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444").await,
        (200, "1158201444".to_owned())
    );
    assert_eq!(
        get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
            .await
            .0,
        403
    );
    assert_eq!(
        get("hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1")
            .await
            .0,
        403
    );
    assert_eq!(
        get("hub.mode=subscribe&hub.verify_token=verify-me").await.0,
        403
    );
    meta.app.shutdown().await;
}

both_backends!(
    forged_or_malformed_webhooks_store_nothing,
    |backend| async move {
        let meta = spawn(backend).await;
        let body = serde_json::to_vec(&fixture("facebook_comment.json")).unwrap();
        let forged = signature(&Secret::new("not-the-app-secret"), &body);
        assert_eq!(meta.post_raw(&body, Some(forged)).await.0, 401);
        assert_eq!(meta.post_raw(&body, None).await.0, 401);
        let mut tampered = body.clone();
        let signed = signature(&Secret::new(APP_SECRET), &body);
        tampered.extend_from_slice(b" ");
        assert_eq!(
            meta.post_raw(&tampered, Some(signed)).await.0,
            401,
            "signed over other bytes"
        );

        let not_json = b"{\"object\": \"page\", \"entry\": [".to_vec();
        let signed = signature(&Secret::new(APP_SECRET), &not_json);
        assert_eq!(meta.post_raw(&not_json, Some(signed)).await.0, 400);
        let (status, body) = meta
            .post_webhook(&json!({"object": "page", "entry": "x"}))
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"]["code"].is_string(),
            "the API's error shape: {body}"
        );
        let (status, _) = meta
        .post_webhook(&json!({"object": "permissions", "entry": [{"id": "1", "time": 1, "changes": [{"field": "x", "value": {}}]}]}))
        .await;
        assert_eq!(status, 200, "unknown objects are acknowledged");

        assert!(meta.stored().await.is_empty(), "nothing stored");
        assert!(meta.graph.calls().is_empty());
        meta.app.shutdown().await;
    }
);

both_backends!(
    a_comment_gets_exactly_one_public_acknowledgement,
    |backend| async move {
        let meta = spawn(backend).await;
        let payload = fixture("facebook_comment.json");
        let (status, body) = meta.post_webhook(&payload).await;
        assert_eq!((status, body["new"].as_u64()), (200, Some(1)), "{body}");
        let done = meta.settled("5550001_7770001").await;
        assert_eq!(done["message"]["platform"], "facebook");
        assert_eq!(done["message"]["page_id"], FB);
        assert_eq!(done["message"]["thread_id"], "1001_5550001");
        let ack = &done["actions"][0];
        assert_eq!(
            (ack["kind"].as_str(), ack["status"].as_str()),
            (Some("acknowledge"), Some("sent")),
            "{done}"
        );

        // Meta redelivers: the same comment is not answered again.
        let (status, body) = meta.post_webhook(&payload).await;
        assert_eq!((status, body["new"].as_u64()), (200, Some(0)), "{body}");

        // A reply in the thread is answered; the page's own comment and a like are not.
        meta.post_webhook(&fixture("facebook_comment_reply.json"))
            .await;
        let reply = meta.settled("5550001_7770002").await;
        assert_eq!(reply["message"]["parent_id"], "5550001_7770001");
        assert_eq!(
            meta.stored().await.len(),
            2,
            "the page's own comment is not stored"
        );

        tokio::time::sleep(Duration::from_millis(500)).await;
        let writes = meta.graph.writes();
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert_eq!(writes[0].path, "5550001_7770001/comments");
        assert_eq!(writes[0].body["message"], ack["text"]);
        assert_eq!(
            ack["external_ref"],
            meta.graph.replies_to("5550001_7770001")[0].0.as_str()
        );
        assert_eq!(writes[1].path, "5550001_7770002/comments");
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

both_backends!(
    a_dm_gets_exactly_one_dm_reply_on_both_platforms,
    |backend| async move {
        let meta = spawn(backend).await;
        meta.post_webhook(&fixture("messenger_dm.json")).await;
        meta.post_webhook(&fixture("instagram_dm.json")).await;
        meta.post_webhook(&fixture("instagram_comment.json")).await;
        let dm = meta.settled("m_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789").await;
        assert_eq!(dm["message"]["kind"], "dm");
        assert_eq!(dm["actions"][0]["status"], "sent", "{dm}");
        let ig_dm = meta
            .settled("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAx")
            .await;
        assert_eq!(ig_dm["message"]["platform"], "instagram");
        let ig_comment = meta.settled("17900000000000001").await;
        assert_eq!(ig_comment["actions"][0]["status"], "sent", "{ig_comment}");
        assert_eq!(meta.stored().await.len(), 3, "the echo is not stored");

        let writes = meta.graph.writes();
        let to = |path: &str| {
            writes
                .iter()
                .filter(|c| c.path == path)
                .cloned()
                .collect::<Vec<_>>()
        };
        let fb = to("1001/messages");
        assert_eq!(fb.len(), 1, "{writes:?}");
        assert_eq!(fb[0].body["recipient"]["id"], "6100000000000001");
        assert_eq!(fb[0].body["messaging_type"], "RESPONSE");
        assert_eq!(fb[0].body["message"]["text"], dm["actions"][0]["text"]);
        let ig = to("17841400000000001/messages");
        assert_eq!(ig.len(), 1, "{writes:?}");
        assert_eq!(ig[0].body["recipient"]["id"], "1122334455667701");
        assert_eq!(
            to("17900000000000001/replies").len(),
            1,
            "Instagram replies edge"
        );
        assert_eq!(writes.len(), 3, "{writes:?}");
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

both_backends!(
    a_comment_leads_answer_by_dm_joins_the_lead,
    |backend| async move {
        let meta = spawn(backend).await;
        let sales = meta.app.token(Role::Sales).await;
        // On Facebook the commenter's Messenger id is not their comment id.
        let (author, psid) = ("701", "6100000000000701");
        meta.graph.commented("1_lead", author);
        meta.graph.messaging_id(author, psid);
        let now = chrono::Utc::now().timestamp_millis();
        meta.post_webhook(&json!({"object": "page", "entry": [{"id": FB, "time": now, "changes": [
            comment(FB, "1_lead", author,
                "Wij hebben een cadeauwinkel en zoeken een samenwerking: kunnen we wederverkoper worden?"),
        ]}]}))
        .await;
        let done = meta.settled("1_lead").await;
        let prequalify = done["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "prequalify")
            .unwrap_or_else(|| panic!("no prequalify: {done}"));
        assert_eq!(prequalify["status"], "sent", "{done}");
        let (status, body) = meta.app.get_json(&sales, "/v1/leads").await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{body}");
        let lead_id = items[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(items[0]["dm_author_id"], psid, "{body}");

        // Someone else's DM with an address does not join it; the answer
        // from the id the private reply reached does, with no lead words.
        let dm = |sender: &str, mid: &str, text: &str| {
            json!({"object": "page", "entry": [{"id": FB, "time": now, "messaging": [
                {"sender": {"id": sender}, "recipient": {"id": FB}, "timestamp": now,
                 "message": {"mid": mid, "text": text}}]}]})
        };
        meta.post_webhook(&dm(
            "6100000000000999",
            "m_stranger",
            "Mijn adres is piet@voorbeeld.nl, waar blijft mijn pakket?",
        ))
        .await;
        meta.settled("m_stranger").await;
        meta.post_webhook(&dm(
            psid,
            "m_answer",
            "Ons e-mailadres is inkoop@cadeauwinkel.nl, we hebben twee winkels in Utrecht.",
        ))
        .await;
        let answer = meta.settled("m_answer").await;
        let reasons = answer["decision"]["reasons"].to_string();
        assert!(reasons.contains("follow-up of lead"), "{answer}");

        let (status, body) = meta
            .app
            .get_json(&sales, &format!("/v1/leads/{lead_id}"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["lead"]["email"], "inkoop@cadeauwinkel.nl", "{body}");
        assert_eq!(body["lead"]["status"], "qualified", "{body}");
        let texts: Vec<&str> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts.len(), 2, "{body}");
        assert!(texts.iter().any(|t| t.contains("inkoop@")), "{body}");
        let (_, body) = meta.app.get_json(&sales, "/v1/leads").await;
        assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

both_backends!(
    a_complaining_stockist_is_asked_the_sales_questions_in_the_dm_the_apology_opened,
    |backend| async move {
        // The apology is the private reply here, so it goes out on its own.
        let meta = spawn_with(backend, |c| {
            c.policy.auto_send.push(ActionKind::PrivateReply);
        })
        .await;
        let sales = meta.app.token(Role::Sales).await;
        let (author, psid) = ("702", "6100000000000702");
        meta.graph.commented("1_stockist", author);
        meta.graph.messaging_id(author, psid);
        let now = chrono::Utc::now().timestamp_millis();
        meta.post_webhook(
            &json!({"object": "page", "entry": [{"id": FB, "time": now, "changes": [
                comment(FB, "1_stockist", author, STOCKIST_COMPLAINT),
            ]}]}),
        )
        .await;
        let done = meta.settled("1_stockist").await;
        let kinds: Vec<&str> = done["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap())
            .collect();
        // Meta takes one private reply per comment: the apology is it, and
        // no sales questions are planned that could only fail beside it.
        assert!(kinds.contains(&"private_reply"), "{done}");
        assert!(!kinds.contains(&"prequalify"), "{done}");
        let apology = meta
            .action(
                done["message"]["id"].as_str().unwrap(),
                "private_reply",
                |a| a["status"] == "sent",
            )
            .await;
        assert!(apology["external_ref"].as_str().is_some(), "{apology}");
        let (_, body) = meta.app.get_json(&sales, "/v1/leads").await;
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{body} {done}");
        assert_eq!(items[0]["status"], "new", "{body}");
        assert_eq!(items[0]["dm_author_id"], psid, "{body}");
        let lead_id = items[0]["id"].as_str().unwrap().to_owned();

        // Their answer to the apology, by DM: the lead's questions are
        // drafted there, for a person to send when the moment is right.
        meta.post_webhook(&json!({"object": "page", "entry": [{"id": FB, "time": now, "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": FB}, "timestamp": now,
             "message": {"mid": "m_order", "text": "Het ordernummer is 48213, het gaat om twee fietsen."}}]}]}))
        .await;
        let answer = meta.settled("m_order").await;
        let reasons = answer["decision"]["reasons"].to_string();
        assert!(reasons.contains("follow-up of lead"), "{answer}");
        let prequalify = answer["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "prequalify")
            .unwrap_or_else(|| panic!("no sales questions in the DM: {answer}"));
        assert_eq!(prequalify["status"], "held", "{answer}");
        let (_, body) = meta
            .app
            .get_json(&sales, &format!("/v1/leads/{lead_id}"))
            .await;
        assert_eq!(body["lead"]["status"], "prequalifying", "{body}");
        assert_eq!(body["messages"].as_array().unwrap().len(), 2, "{body}");
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

both_backends!(
    trolls_are_hidden_and_hate_is_deleted_and_blocked,
    |backend| async move {
        let meta = spawn(backend).await;
        let now = chrono::Utc::now().timestamp();
        meta.post_webhook(
            &json!({"object": "page", "entry": [{"id": FB, "time": now, "changes": [
                comment(FB, "1_troll", "501", "What a bunch of clowns, you are all stupid idiots"),
                comment(FB, "1_hate", "502", "immigrants are vermin, stupid clowns"),
            ]}]}),
        )
        .await;
        meta.post_webhook(&json!({"object": "instagram", "entry": [{"id": IG, "time": now, "changes": [
        {"field": "comments", "value": {"id": "1790000000000099", "text": "What a bunch of clowns, you are all stupid idiots",
         "from": {"id": "503", "username": "troll"}, "media": {"id": "1800", "media_product_type": "FEED"}}}
    ]}]}))
    .await;
        let troll = meta.settled("1_troll").await;
        assert_eq!(
            common::actions_of(&troll),
            vec![("hide".into(), "sent".into())],
            "{troll}"
        );
        let hate = meta.settled("1_hate").await;
        let mut hate_actions = common::actions_of(&hate);
        hate_actions.sort();
        assert_eq!(
            hate_actions,
            vec![
                ("block".into(), "sent".into()),
                ("delete".into(), "sent".into())
            ],
            "{hate}"
        );
        let ig_troll = meta.settled("1790000000000099").await;
        assert_eq!(
            common::actions_of(&ig_troll),
            vec![("hide".into(), "sent".into())]
        );

        assert!(meta.graph.is_hidden("1_troll"));
        assert!(meta.graph.is_hidden("1790000000000099"));
        assert!(meta.graph.is_deleted("1_hate"));
        let blocked = meta.graph.blocked();
        assert_eq!(blocked, vec![(FB.to_owned(), json!({"user": ["502"]}))]);
        let writes = meta.graph.writes();
        let hide_fb = writes.iter().find(|c| c.path == "1_troll").unwrap();
        assert_eq!(hide_fb.body, json!({"is_hidden": true}));
        let hide_ig = writes
            .iter()
            .find(|c| c.path == "1790000000000099")
            .unwrap();
        assert_eq!(hide_ig.body, json!({"hide": true}));
        assert_eq!(writes.len(), 4, "{writes:?}");
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

both_backends!(
    a_rate_limit_storm_delays_but_loses_nothing,
    |backend| async move {
        // One job at a time, so each refusal is met by the next call and the
        // pauses add up instead of overlapping.
        let meta = spawn_with(backend, |c| c.pipeline.concurrency = 1).await;
        meta.graph.fail_next([
            Fault::Code(613),
            Fault::Code(4),
            Fault::Http(429),
            Fault::Code(32),
            Fault::Code(17),
            // Page tokens fall under Meta's business use case limits.
            Fault::Code(80001),
            Fault::Code(80006),
        ]);
        let now = chrono::Utc::now().timestamp_millis();
        let events: Vec<Value> = (0..10)
        .map(|i| {
            json!({"sender": {"id": format!("61000000000001{i:02}")}, "recipient": {"id": FB},
                   "timestamp": now, "message": {"mid": format!("m_storm_{i}"), "text": "Thanks, love it! Amazing bike and super fast delivery."}})
        })
        .collect();
        let started = Instant::now();
        let (status, _) = meta
            .post_webhook(
                &json!({"object": "page", "entry": [{"id": FB, "time": now, "messaging": events}]}),
            )
            .await;
        assert_eq!(status, 200);
        for i in 0..10 {
            let done = meta.settled(&format!("m_storm_{i}")).await;
            assert_eq!(done["actions"][0]["status"], "sent", "{done}");
        }
        assert!(
            started.elapsed() >= Duration::from_secs(6),
            "each refusal paused the page"
        );

        let calls = meta.graph.calls();
        let sends: Vec<_> = calls.iter().filter(|c| c.path == "1001/messages").collect();
        assert_eq!(sends.iter().filter(|c| c.status != 200).count(), 7);
        let mut recipients: Vec<_> = sends
            .iter()
            .filter(|c| c.status == 200)
            .map(|c| c.body["recipient"]["id"].as_str().unwrap().to_owned())
            .collect();
        recipients.sort();
        recipients.dedup();
        assert_eq!(recipients.len(), 10, "every DM answered once");
        assert_eq!(sends.len(), 17, "nothing sent twice: {sends:?}");
        // Nothing went out while the page was paused (1 s, the configured default).
        for (i, refused) in calls.iter().enumerate().filter(|(_, c)| c.status != 200) {
            if let Some(next) = calls.get(i + 1) {
                let gap = next.at.duration_since(refused.at);
                assert!(
                    gap >= Duration::from_millis(900),
                    "call {gap:?} after a refusal"
                );
            }
        }
        // The pause is kept in the database, for restarts and other replicas.
        let db = Db::connect(&meta.app.database_url).await.unwrap();
        let paused: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meta_pauses WHERE page_id = $1")
            .bind(FB)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(paused, 1);
        db.close().await;
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

both_backends!(
    after_an_outage_every_action_goes_out_once_and_none_while_paused,
    |backend| async move {
        // Meta's estimates come in whole minutes; the operator's cap keeps
        // this pause to seconds. It outlasts the throttled phase, so a
        // replyd that called during its pause would get through, and be seen.
        const PAUSE_SECS: u64 = 4;
        const THROTTLED: Duration = Duration::from_millis(1500);
        let meta = spawn_with(backend, |c| {
            c.meta.as_mut().unwrap().max_pause_secs = Some(PAUSE_SECS);
            // The 5xx phases use attempts (50-500 ms apart here); a pause does not.
            c.delivery.max_attempts = 30;
        })
        .await;
        meta.graph.outage([
            Phase::Down(Duration::from_millis(1000), 500),
            Phase::Down(Duration::from_millis(1000), 503),
            Phase::Throttled(THROTTLED, 1),
        ]);
        let now = chrono::Utc::now();
        let mut changes: Vec<Value> = (0..10)
            .map(|i| {
                comment(
                    FB,
                    &format!("1_out_{i}"),
                    &format!("70{i}"),
                    "Thanks, love it! Amazing bike and super fast delivery.",
                )
            })
            .collect();
        changes.push(comment(
            FB,
            "1_out_troll",
            "720",
            "What a bunch of clowns, you are all stupid idiots",
        ));
        changes.push(comment(
            FB,
            "1_out_hate",
            "721",
            "immigrants are vermin, stupid clowns",
        ));
        let dms: Vec<Value> = (0..4)
            .map(|i| {
                json!({"sender": {"id": format!("61000000000009{i:02}")}, "recipient": {"id": FB},
                       "timestamp": now.timestamp_millis(),
                       "message": {"mid": format!("m_out_{i}"), "text": "Thanks, love it! Amazing bike and super fast delivery."}})
            })
            .collect();
        let (status, body) = meta
            .post_webhook(&json!({"object": "page", "entry": [
                {"id": FB, "time": now.timestamp(), "changes": changes},
                {"id": FB, "time": now.timestamp_millis(), "messaging": dms}]}))
            .await;
        assert_eq!((status, body["new"].as_u64()), (200, Some(16)), "{body}");

        let mut ids: Vec<String> = (0..10).map(|i| format!("1_out_{i}")).collect();
        ids.extend(["1_out_troll".into(), "1_out_hate".into()]);
        ids.extend((0..4).map(|i| format!("m_out_{i}")));
        let mut actions = 0;
        for id in &ids {
            let done = meta.settled(id).await;
            for action in done["actions"].as_array().unwrap() {
                assert_eq!(action["status"], "sent", "{done}");
                actions += 1;
            }
        }

        let calls = meta.graph.calls();
        let refused = |code: u16| calls.iter().filter(|c| c.status == code).count();
        assert!(refused(500) > 0 && refused(503) > 0, "the outage was met");
        let throttled: Vec<_> = calls.iter().filter(|c| c.status == 429).collect();
        assert!(!throttled.is_empty(), "the rate limit was met");
        assert!(
            meta.graph.repeated_effects().is_empty(),
            "done twice: {:?}",
            meta.graph.repeated_effects()
        );
        assert_eq!(meta.graph.writes().len(), actions, "every action once");

        // The pause replyd stored: from the first refusal to `paused_until`,
        // capped, and kept in the database for every replica.
        let db = Db::connect(&meta.app.database_url).await.unwrap();
        let paused_until: i64 =
            sqlx::query_scalar("SELECT paused_until FROM meta_pauses WHERE page_id = $1")
                .bind(FB)
                .fetch_one(db.pool())
                .await
                .unwrap();
        db.close().await;
        let first = throttled.first().unwrap().at_ms;
        let last = throttled.last().unwrap().at_ms;
        let cap = PAUSE_SECS as i64 * 1000;
        assert!(
            (last + cap..last + cap + 2000).contains(&paused_until),
            "a {cap} ms pause from the last refusal, not Meta's minute: {}",
            paused_until - last
        );
        assert!(
            last - first < cap,
            "every refusal fell inside the first pause, so it is one window"
        );
        let during: Vec<_> = calls
            .iter()
            .filter(|c| c.status == 200 && (first..paused_until).contains(&c.at_ms))
            .map(|c| (c.method.clone(), c.path.clone(), c.at_ms - first))
            .collect();
        assert!(during.is_empty(), "called while paused: {during:?}");
        assert!(
            calls
                .iter()
                .any(|c| c.status == 200 && c.at_ms >= paused_until),
            "delivered after the pause"
        );
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

both_backends!(
    concurrent_callers_of_two_replicas_each_get_their_own_slot,
    |backend| async move {
        use replyd::store::meta::{call_schedule, reserve_call};
        let dir = tempfile::tempdir().unwrap();
        let url = common::fresh_database(backend, dir.path()).await;
        // Two pools on one database stand for two replicas.
        let replicas = [
            Db::connect(&url).await.unwrap(),
            Db::connect(&url).await.unwrap(),
        ];
        replicas[0].migrate().await.unwrap();
        let (now, interval) = (1_700_000_000_000_000_i64, 250);
        let mut callers = tokio::task::JoinSet::new();
        for i in 0..40 {
            let db = replicas[i % 2].clone();
            callers.spawn(async move {
                let mut conn = db.conn().await.unwrap();
                reserve_call(&mut conn, FB, now, interval, i64::MAX)
                    .await
                    .unwrap()
                    .unwrap()
            });
        }
        let mut slots = callers.join_all().await;
        slots.sort();
        let expected: Vec<i64> = (1..=40).map(|k| now + k * interval).collect();
        assert_eq!(slots, expected, "40 calls, 40 distinct consecutive slots");

        let mut conn = replicas[1].conn().await.unwrap();
        let booked = now + 40 * interval;
        assert_eq!(
            reserve_call(&mut conn, FB, now, interval, booked - 1)
                .await
                .unwrap(),
            None,
            "a caller that would wait too long takes no slot"
        );
        assert_eq!(call_schedule(&mut conn, FB).await.unwrap(), Some(booked));
        assert_eq!(
            reserve_call(&mut conn, IG, now, interval, now)
                .await
                .unwrap(),
            Some(now + interval),
            "each page has its own budget"
        );
        let later = now + 3_600_000_000;
        assert_eq!(
            reserve_call(&mut conn, FB, later, interval, later)
                .await
                .unwrap(),
            Some(later + interval),
            "beyond the burst, idle time is not banked"
        );
        drop(conn);
        for db in replicas {
            db.close().await;
        }
    }
);

both_backends!(
    a_lost_answer_or_a_crash_between_send_and_record_sends_nothing_twice,
    |backend| async move {
        let meta = spawn(backend).await;
        // A 5xx, then a reply that lands but whose answer never arrives.
        meta.graph
            .fail_next([Fault::Http(500), Fault::Hang(Duration::from_secs(4))]);
        meta.post_webhook(&fixture("facebook_comment.json")).await;
        let done = meta.settled("5550001_7770001").await;
        let ack = &done["actions"][0];
        assert_eq!(ack["status"], "sent", "{done}");
        assert_eq!(
            meta.graph.replies_to("5550001_7770001").len(),
            1,
            "one reply on the platform"
        );
        assert_eq!(
            ack["external_ref"],
            meta.graph.replies_to("5550001_7770001")[0].0.as_str()
        );
        let posts = meta
            .graph
            .calls()
            .into_iter()
            .filter(|c| c.path == "5550001_7770001/comments" && c.method == "POST")
            .count();
        assert_eq!(posts, 2, "the 500 and the reply that landed; no third");

        // A DM reply sent, then the process dies before recording it: the
        // action is still `sending` when its job runs again.
        meta.post_webhook(&fixture("messenger_dm.json")).await;
        let dm = meta.settled("m_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789").await;
        meta.resume_as_sending(dm["actions"][0]["id"].as_str().unwrap())
            .await;
        let reconciled = meta
            .action(dm["message"]["id"].as_str().unwrap(), "acknowledge", |a| {
                a["status"] == "sent" && !a["external_ref"].is_null()
            })
            .await;
        assert!(reconciled["external_ref"]
            .as_str()
            .unwrap()
            .starts_with("m_"));
        assert_eq!(
            meta.graph.writes_to("1001/messages"),
            1,
            "read back from the conversation, not resent"
        );
        assert!(meta
            .graph
            .calls()
            .iter()
            .any(|c| c.path == "1001/conversations"
                && c.query.get("user_id").map(String::as_str) == Some("6100000000000001")));
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

both_backends!(
    an_interrupted_reply_is_read_back_where_meta_files_it,
    |backend| async move {
        let meta = spawn(backend).await;
        let now = chrono::Utc::now().timestamp();
        // Facebook: the private reply pre-qualifying a lead reached the
        // commenter's Messenger id, and the process died before recording
        // it. Meta takes one private reply per comment.
        let (author, psid) = ("702", "6100000000000702");
        meta.graph.commented("1_broken", author);
        meta.graph.messaging_id(author, psid);
        meta.post_webhook(&json!({"object": "page", "entry": [{"id": FB, "time": now, "changes": [
            comment(FB, "1_broken", author,
                "Wij hebben een fietsenwinkel en zoeken een samenwerking: kunnen we wederverkoper worden?"),
        ]}]}))
        .await;
        let done = meta.settled("1_broken").await;
        let private = done["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "prequalify")
            .unwrap_or_else(|| panic!("no private reply: {done}"));
        assert_eq!(private["status"], "sent", "{done}");
        meta.resume_as_sending(private["id"].as_str().unwrap())
            .await;
        let reconciled = meta
            .action(done["message"]["id"].as_str().unwrap(), "prequalify", |a| {
                a["status"] == "sent" && !a["external_ref"].is_null()
            })
            .await;
        assert!(
            reconciled["external_ref"]
                .as_str()
                .unwrap()
                .starts_with("m_"),
            "{reconciled}"
        );
        assert_eq!(meta.graph.writes_to(&format!("{FB}/messages")), 1);

        // Instagram files a reply to a reply under the top-level comment;
        // the answer to the POST is lost on the way back.
        meta.graph
            .reply_in_thread("1790000000000201", "1790000000000200");
        meta.graph.fail_next([Fault::Hang(Duration::from_secs(4))]);
        meta.post_webhook(&json!({"object": "instagram", "entry": [{"id": IG, "time": now, "changes": [
            {"field": "comments", "value": {"id": "1790000000000201", "parent_id": "1790000000000200",
             "text": "Wat een prachtige fiets, echt superblij mee!",
             "from": {"id": "504", "username": "sanne"}, "media": {"id": "1800", "media_product_type": "FEED"}}}
        ]}]}))
        .await;
        let praise = meta.settled("1790000000000201").await;
        assert_eq!(
            common::actions_of(&praise),
            vec![("acknowledge".into(), "sent".into())],
            "{praise}"
        );
        assert_eq!(
            meta.graph.replies_to("1790000000000200").len(),
            1,
            "one reply in the thread"
        );
        let posts = meta
            .graph
            .calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path.ends_with("/replies"))
            .count();
        assert_eq!(posts, 1, "read back from the thread, not sent again");
        meta.graph.assert_all_valid();
        meta.app.shutdown().await;
    }
);

/// Acknowledgements repeat word for word: reading a DM back, an earlier one
/// with the same words is not taken for this action's send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_dm_with_the_same_words_is_not_taken_for_this_send() {
    let meta = spawn(common::Backend::Sqlite).await;
    meta.post_webhook(&fixture("messenger_dm.json")).await;
    let dm = meta.settled("m_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789").await;
    let ack = &dm["actions"][0];
    assert_eq!(ack["status"], "sent", "{dm}");
    // The process died after marking the action `sending`, before its POST
    // left; the user had the same words from the page an hour ago.
    let user = "6100000000000001";
    meta.graph.forget_messages(FB, user);
    meta.graph.messaged_earlier(
        FB,
        user,
        ack["text"].as_str().unwrap(),
        Duration::from_secs(3600),
    );
    meta.resume_as_sending(ack["id"].as_str().unwrap()).await;
    let resent = meta
        .action(dm["message"]["id"].as_str().unwrap(), "acknowledge", |a| {
            a["status"] == "sent" && !a["external_ref"].is_null()
        })
        .await;
    let external_ref = resent["external_ref"].as_str().unwrap();
    assert!(!external_ref.contains("earlier"), "{resent}");
    assert_eq!(
        meta.graph.writes_to("1001/messages"),
        2,
        "sent again, since it never left"
    );
    meta.graph.assert_all_valid();
    meta.app.shutdown().await;
}

/// An ingest token is for bringing messages in: it must not make replyd
/// delete, hide or block anything on a page, nor take a comment's id before
/// Meta's webhook brings it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facebook_message_from_the_generic_api_gets_no_action_on_meta() {
    let meta = spawn(common::Backend::Sqlite).await;
    let ingest = meta.app.token(Role::Ingest).await;
    let hate = json!({"platform": "facebook", "kind": "comment", "external_id": "1001_4242",
                      "author": {"id": "6100000000000009", "name": "Someone"},
                      "text": "immigrants are vermin, stupid clowns"});
    let (status, body) = meta
        .app
        .post_messages(
            &ingest,
            &json!([{"platform": "shop", "kind": "dm", "external_id": "s-1",
            "author": {"id": "a"}, "text": "Hi!"}, hate]),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "meta_platform", "{body}");
    assert_eq!(body["error"]["index"], 1, "{body}");
    assert!(
        meta.stored().await.is_empty(),
        "nothing of the batch is stored"
    );

    // One that came in before Meta was configured, through the API, is
    // still never acted on as the page.
    let db = Db::connect(&meta.app.database_url).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let (id, _) = replyd::store::messages::insert(
        &mut tx,
        &replyd::store::messages::NewMessage {
            platform: "facebook".parse().unwrap(),
            kind: replyd::domain::Kind::Comment,
            external_id: "1001_4242".into(),
            thread_id: None,
            parent_id: None,
            page_id: None,
            author: replyd::store::messages::Author {
                id: "6100000000000009".into(),
                name: None,
                handle: None,
            },
            text: hate["text"].as_str().unwrap().into(),
            lang: None,
            url: None,
            meta: json!({}),
            created_at: None,
            source: "api",
        },
    )
    .await
    .unwrap();
    let job = replyd::pipeline::ProcessMessage { message_id: id };
    job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    db.close().await;
    let done = meta.settled("1001_4242").await;
    let actions = done["actions"].as_array().unwrap();
    assert!(
        actions.iter().any(|a| a["kind"] == "delete"),
        "the playbook still plans the removal: {done}"
    );
    for action in actions {
        assert_eq!(action["status"], "skipped", "{done}");
        assert!(
            action["last_error"]
                .as_str()
                .unwrap()
                .contains("generic API"),
            "{action}"
        );
    }
    assert!(meta.graph.calls().is_empty(), "{:?}", meta.graph.calls());
    meta.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_fails_at_once_and_keeps_the_error() {
    let meta = spawn(common::Backend::Sqlite).await;
    meta.graph.fail_next([Fault::Code(190)]);
    meta.post_webhook(&fixture("messenger_dm.json")).await;
    let dm = meta.settled("m_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789").await;
    let ack = &dm["actions"][0];
    assert_eq!(ack["status"], "failed", "{dm}");
    let error = ack["last_error"].as_str().unwrap();
    assert!(
        error.contains("190") && error.contains("access token"),
        "{error}"
    );
    assert!(!error.contains("fb-token"), "tokens never leak into errors");
    assert_eq!(meta.graph.calls().len(), 1, "not retried");
    meta.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_rules_refuse_with_their_reason() {
    let meta = spawn(common::Backend::Sqlite).await;
    let now = chrono::Utc::now();

    // A DM whose sender last wrote two days ago: no automated reply...
    let two_days_ago = (now - chrono::Duration::days(2)).timestamp_millis();
    meta.post_webhook(&json!({"object": "page", "entry": [{"id": FB, "time": two_days_ago, "messaging": [
        {"sender": {"id": "777"}, "recipient": {"id": FB}, "timestamp": two_days_ago,
         "message": {"mid": "m_old", "text": "Thanks, love it! Amazing bike and super fast delivery."}}]}]}))
        .await;
    let old = meta.settled("m_old").await;
    let ack = &old["actions"][0];
    assert_eq!(ack["status"], "skipped", "{old}");
    assert!(
        ack["last_error"].as_str().unwrap().contains("24-hour"),
        "{ack}"
    );
    // ...but a reviewer's answer goes out tagged HUMAN_AGENT.
    let old_id = old["message"]["id"].as_str().unwrap();
    meta.seed_action(
        old_id,
        ActionKind::DmReply,
        Some("Sorry for the wait!"),
        Some("reviewer-1"),
    )
    .await;
    meta.action(old_id, "dm_reply", |a| a["status"] == "sent")
        .await;
    let tagged = meta
        .graph
        .writes()
        .into_iter()
        .find(|c| c.path == "1001/messages")
        .unwrap();
    assert_eq!(tagged.body["messaging_type"], "MESSAGE_TAG");
    assert_eq!(tagged.body["tag"], "HUMAN_AGENT");

    // One private reply per comment, within 7 days of it.
    let fresh = now.timestamp();
    let eight_days_ago = (now - chrono::Duration::days(8)).timestamp();
    let mut stale = comment(FB, "1_stale", "601", "Posted this on my birthday");
    stale["value"]["created_time"] = json!(eight_days_ago);
    meta.post_webhook(
        &json!({"object": "page", "entry": [{"id": FB, "time": fresh, "changes": [
        comment(FB, "1_fresh", "600", "Posted this on my birthday"), stale]}]}),
    )
    .await;
    let fresh_id = meta.settled("1_fresh").await["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stale_id = meta.settled("1_stale").await["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    meta.seed_action(
        &fresh_id,
        ActionKind::PrivateReply,
        Some("Could you DM us your order number?"),
        None,
    )
    .await;
    let private = meta
        .action(&fresh_id, "private_reply", |a| a["status"] == "sent")
        .await;
    assert!(private["external_ref"].as_str().unwrap().starts_with("m_"));
    meta.seed_action(
        &fresh_id,
        ActionKind::Prequalify,
        Some("What are you looking for?"),
        None,
    )
    .await;
    let second = meta
        .action(&fresh_id, "prequalify", |a| a["status"] == "skipped")
        .await;
    assert!(
        second["last_error"]
            .as_str()
            .unwrap()
            .contains("one per comment"),
        "{second}"
    );
    meta.seed_action(&stale_id, ActionKind::PrivateReply, Some("Hello?"), None)
        .await;
    let late = meta
        .action(&stale_id, "private_reply", |a| a["status"] == "skipped")
        .await;
    assert!(
        late["last_error"].as_str().unwrap().contains("7 days"),
        "{late}"
    );

    // No reply to a hidden Instagram comment.
    meta.graph.hide("17900000000000001");
    meta.post_webhook(&fixture("instagram_comment.json")).await;
    let hidden = meta.settled("17900000000000001").await;
    let ack = &hidden["actions"][0];
    assert_eq!(ack["status"], "skipped", "{hidden}");
    assert!(
        ack["last_error"].as_str().unwrap().contains("hidden"),
        "{ack}"
    );

    let writes = meta.graph.writes();
    let private_replies: Vec<_> = writes
        .iter()
        .filter(|c| c.body["recipient"]["comment_id"].is_string())
        .collect();
    assert_eq!(private_replies.len(), 1, "{writes:?}");
    assert_eq!(
        private_replies[0].body["recipient"]["comment_id"],
        "1_fresh"
    );
    // The two neutral comments are liked; nothing else is written.
    let likes = writes.iter().filter(|c| c.path.ends_with("/likes")).count();
    assert_eq!(likes, 2, "{writes:?}");
    assert!(meta.graph.is_liked("1_fresh") && meta.graph.is_liked("1_stale"));
    assert_eq!(
        writes.len() - likes,
        2,
        "the HUMAN_AGENT reply and one private reply: {writes:?}"
    );
    meta.graph.assert_all_valid();
    meta.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_simulate_sends_a_correctly_signed_sample_that_is_answered() {
    let meta = spawn(common::Backend::Sqlite).await;
    let sample = format!(
        "{}/tests/fixtures/meta/messenger_dm.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let run = |secret: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_replyd"))
            .args(["meta", "simulate", "--now", "--url"])
            .arg(meta.app.url(""))
            .args(["--app-secret", secret])
            .arg(&sample)
            .output()
            .expect("replyd runs")
    };
    let forged = run("not-the-app-secret");
    assert!(!forged.status.success(), "a wrong secret is refused");
    assert!(
        meta.stored().await.is_empty(),
        "a forged webhook stores nothing"
    );

    let out = run(APP_SECRET);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sample: Value = serde_json::from_str(&std::fs::read_to_string(&sample).unwrap()).unwrap();
    let mid = sample["entry"][0]["messaging"][0]["message"]["mid"]
        .as_str()
        .unwrap();
    let done = meta.settled(mid).await;
    assert!(
        done["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["status"] == "sent"),
        "the simulated DM is answered through the Graph API: {done}"
    );
}
