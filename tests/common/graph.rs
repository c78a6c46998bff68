//! A local stand-in for Meta's Graph API: checks paths, parameters, tokens
//! and bodies as the real one would, keeps what was posted (so replies can
//! be read back), records every call, and misbehaves on request: HTTP
//! errors, Graph error codes, and answers that never come.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The Facebook page and Instagram account the Meta tests connect.
pub const FB: &str = "1001";
pub const IG: &str = "17841400000000001";

/// replyd's `[meta]` section for the fake server at `graph_url`: both
/// accounts above, with limits generous enough that only a test's own
/// faults slow it down.
pub fn meta_config(graph_url: String, app_secret: &str) -> replyd::config::MetaConfig {
    use replyd::config::{MetaConfig, MetaPageConfig, MetaPlatform, Secret};
    let page = |id: &str, platform, token: &str| MetaPageConfig {
        id: id.into(),
        platform,
        access_token: Secret::new(token),
        calls_per_minute: None,
    };
    MetaConfig {
        app_secret: Secret::new(app_secret),
        verify_token: Secret::new("verify-me"),
        graph_url,
        calls_per_minute: 6000,
        slow_down_at: 75,
        default_pause_secs: 1,
        max_pause_secs: None,
        pages: vec![
            page(FB, MetaPlatform::Facebook, "fb-token"),
            page(IG, MetaPlatform::Instagram, "ig-token"),
        ],
    }
}

pub const VERSION: &str = "v21.0";

#[derive(Debug, Clone)]
pub struct GraphCall {
    pub method: Method,
    /// Without the version prefix: `12_34/comments`.
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Value,
    pub at: Instant,
    /// The wall clock at arrival, in ms since the Unix epoch: the unit
    /// replyd stores pauses in.
    pub at_ms: i64,
    /// What the fake answered.
    pub status: u16,
}

/// One stretch of an outage: how long it lasts and how every call in it
/// (reads too, as Meta refuses them alike) is answered.
#[derive(Debug, Clone, Copy)]
pub enum Phase {
    /// The Graph API is down: this HTTP status, Graph error code 2.
    Down(Duration, u16),
    /// The page is over its limit: HTTP 429, Graph code 32, `X-App-Usage`
    /// and `X-Business-Use-Case-Usage` at 100% with this many minutes
    /// (Meta's unit) in `estimated_time_to_regain_access`.
    Throttled(Duration, u64),
}

impl Phase {
    fn lasts(&self) -> Duration {
        match self {
            Phase::Down(d, _) | Phase::Throttled(d, _) => *d,
        }
    }
}

/// Phases run back to back from the first call after they are set; then
/// the fake recovers.
#[derive(Default)]
struct Outage {
    phases: Vec<Phase>,
    started: Option<Instant>,
}

impl Outage {
    fn phase_at(&mut self, now: Instant) -> Option<Phase> {
        if self.phases.is_empty() {
            return None;
        }
        let started = *self.started.get_or_insert(now);
        let mut end = started;
        for phase in &self.phases {
            end += phase.lasts();
            if now < end {
                return Some(*phase);
            }
        }
        None
    }
}

/// Misbehaviour for one upcoming write (POST or DELETE; reads are never
/// disturbed, so a test's faults land on the calls it means).
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this HTTP status with an empty Graph error.
    Http(u16),
    /// Answer a Graph error with this code (HTTP 400, or 429 for code 4...).
    Code(i64),
    /// Do what was asked, then answer only after this long (past the
    /// client's timeout): the call landed, its answer was lost.
    Hang(Duration),
}

#[derive(Default)]
struct State {
    /// Replies per comment: (id, text, from).
    replies: HashMap<String, Vec<(String, String, String)>>,
    /// Messages sent per page and recipient (user id, or `comment:<id>`):
    /// (id, text, when).
    messages: HashMap<(String, String), Vec<(String, String, DateTime<Utc>)>>,
    /// Comment id → its author, for comments a test announced.
    authors: HashMap<String, String>,
    /// Comment author id → the id their DMs come from, where they differ.
    messaging_ids: HashMap<String, String>,
    /// Reply id → the top-level comment it answers (Instagram files
    /// replies to a reply under that comment).
    parents: HashMap<String, String>,
    /// Comment id → who its one private reply reached.
    private_replies: HashMap<String, String>,
    hidden: HashSet<String>,
    /// Comments the page liked.
    liked: HashSet<String>,
    deleted: HashSet<String>,
    blocked: Vec<(String, Value)>,
    /// Unblocks per page: (page, `user` or `psid`, the id).
    unblocked: Vec<(String, String, String)>,
    next_id: u64,
}

impl State {
    /// What the page sent `user`, as Graph lists a conversation's messages.
    fn conversation(&self, page: &str, user: &str) -> Vec<Value> {
        self.messages
            .get(&(page.to_owned(), user.to_owned()))
            .into_iter()
            .flatten()
            .map(|(id, text, at)| {
                json!({"id": format!("m_{id}"), "message": text, "from": {"id": page},
                "created_time": at.format("%Y-%m-%dT%H:%M:%S%z").to_string()})
            })
            .collect()
    }
}

#[derive(Clone, Default)]
pub struct FakeGraph {
    /// Page id → access token it expects.
    pub tokens: Arc<Mutex<HashMap<String, String>>>,
    pub calls: Arc<Mutex<Vec<GraphCall>>>,
    /// Calls the fake refused as malformed, with why: tests expect none.
    pub invalid: Arc<Mutex<Vec<String>>>,
    pub faults: Arc<Mutex<VecDeque<Fault>>>,
    /// Sent as `X-Business-Use-Case-Usage` on every answer, when set.
    pub usage_header: Arc<Mutex<Option<String>>>,
    outage: Arc<Mutex<Outage>>,
    state: Arc<Mutex<State>>,
}

impl FakeGraph {
    pub fn new(pages: &[(&str, &str)]) -> Self {
        let graph = FakeGraph::default();
        graph.tokens.lock().unwrap().extend(
            pages
                .iter()
                .map(|(id, token)| (id.to_string(), token.to_string())),
        );
        graph
    }

    /// Serves on a free port; returns the `graph_url` to configure.
    pub async fn start(&self) -> String {
        let this = self.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let this = this.clone();
            async move { this.handle(req).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/{VERSION}")
    }

    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults.lock().unwrap().extend(faults);
    }

    /// Starts an outage at the next call: each phase for its time, then
    /// normal service.
    pub fn outage(&self, phases: impl IntoIterator<Item = Phase>) {
        *self.outage.lock().unwrap() = Outage {
            phases: phases.into_iter().collect(),
            started: None,
        };
    }

    pub fn calls(&self) -> Vec<GraphCall> {
        self.calls.lock().unwrap().clone()
    }

    /// Successful calls that changed something (POST or DELETE).
    pub fn writes(&self) -> Vec<GraphCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != Method::GET && c.status == 200)
            .collect()
    }

    /// How many successful writes went to `path`.
    pub fn writes_to(&self, path: &str) -> usize {
        self.writes().iter().filter(|c| c.path == path).count()
    }

    /// Successful writes per effect on the platform (a public reply, private
    /// reply or DM with its text, a hide, a delete), for those done more
    /// than once. Blocks are left out: replyd repeats a block by design,
    /// since blocking twice changes nothing.
    pub fn repeated_effects(&self) -> Vec<(String, usize)> {
        let mut per_effect: HashMap<String, usize> = HashMap::new();
        for call in self.writes() {
            if call.path.ends_with("/blocked") {
                continue;
            }
            *per_effect
                .entry(format!("{} {} {}", call.method, call.path, call.body))
                .or_default() += 1;
        }
        let mut repeated: Vec<_> = per_effect.into_iter().filter(|(_, n)| *n > 1).collect();
        repeated.sort();
        repeated
    }

    pub fn replies_to(&self, comment: &str) -> Vec<(String, String, String)> {
        self.state
            .lock()
            .unwrap()
            .replies
            .get(comment)
            .cloned()
            .unwrap_or_default()
    }

    /// Tells the fake who wrote a comment (Meta knows; the fake learns it
    /// here), so private replies to it land in that user's conversation.
    pub fn commented(&self, comment: &str, author: &str) {
        self.state
            .lock()
            .unwrap()
            .authors
            .insert(comment.into(), author.into());
    }

    /// Gives a comment author another id in Messenger, as Facebook does (a
    /// page-scoped id): private replies to their comments reach that id,
    /// and the Send API answers with it.
    pub fn messaging_id(&self, author: &str, psid: &str) {
        self.state
            .lock()
            .unwrap()
            .messaging_ids
            .insert(author.into(), psid.into());
    }

    /// Tells the fake that `reply` answers the top-level comment `parent`.
    pub fn reply_in_thread(&self, reply: &str, parent: &str) {
        self.state
            .lock()
            .unwrap()
            .parents
            .insert(reply.into(), parent.into());
    }

    /// A message the page sent `user` `ago`, before the test began.
    pub fn messaged_earlier(&self, page: &str, user: &str, text: &str, ago: Duration) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = format!("earlier{}", state.next_id);
        state
            .messages
            .entry((page.into(), user.into()))
            .or_default()
            .push((id, text.into(), Utc::now() - ago));
    }

    /// Forgets every message the page sent `user` (as if a send never left).
    pub fn forget_messages(&self, page: &str, user: &str) {
        self.state
            .lock()
            .unwrap()
            .messages
            .remove(&(page.into(), user.into()));
    }

    pub fn hide(&self, comment: &str) {
        self.state.lock().unwrap().hidden.insert(comment.into());
    }

    pub fn is_hidden(&self, comment: &str) -> bool {
        self.state.lock().unwrap().hidden.contains(comment)
    }

    pub fn is_liked(&self, comment: &str) -> bool {
        self.state.lock().unwrap().liked.contains(comment)
    }

    pub fn is_deleted(&self, comment: &str) -> bool {
        self.state.lock().unwrap().deleted.contains(comment)
    }

    pub fn blocked(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().blocked.clone()
    }

    pub fn unblocked(&self) -> Vec<(String, String, String)> {
        self.state.lock().unwrap().unblocked.clone()
    }

    pub fn assert_all_valid(&self) {
        let invalid = self.invalid.lock().unwrap();
        assert!(invalid.is_empty(), "malformed Graph calls: {invalid:?}");
    }

    async fn handle(&self, req: axum::extract::Request) -> Response {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        let query: HashMap<String, String> = parts
            .uri
            .query()
            .map(|q| {
                url_pairs(q)
                    .into_iter()
                    .collect::<HashMap<String, String>>()
            })
            .unwrap_or_default();
        let prefix = format!("/{VERSION}/");
        let path = parts
            .uri
            .path()
            .strip_prefix(&prefix)
            .unwrap_or("")
            .to_owned();
        let arrived = Instant::now();
        let phase = self.outage.lock().unwrap().phase_at(arrived);
        let fault = if parts.method == Method::GET || phase.is_some() {
            None
        } else {
            self.faults.lock().unwrap().pop_front()
        };
        let mut headers = HeaderMap::new();
        let (status, answer) = match (&phase, &fault) {
            (Some(Phase::Down(_, code)), _) => (
                *code,
                json!({"error": {"message": "fake outage", "type": "OAuthException", "code": 2, "is_transient": true}}),
            ),
            (Some(Phase::Throttled(_, minutes)), _) => {
                let page = self.page_of(&parts.headers).unwrap_or_default();
                headers.insert(
                    "x-app-usage",
                    r#"{"call_count":100,"total_cputime":40,"total_time":55}"#
                        .parse()
                        .unwrap(),
                );
                headers.insert(
                    "x-business-use-case-usage",
                    json!({page: [{"type": "pages", "call_count": 100, "total_cputime": 30,
                                   "total_time": 45, "estimated_time_to_regain_access": minutes}]})
                    .to_string()
                    .parse()
                    .unwrap(),
                );
                (
                    429,
                    json!({"error": {"message": "(#32) Page request limit reached", "type": "OAuthException", "code": 32, "fbtrace_id": "Afake"}}),
                )
            }
            (None, Some(Fault::Http(code))) => (
                *code,
                json!({"error": {"message": "fake failure", "type": "OAuthException", "code": 2}}),
            ),
            (None, Some(Fault::Code(code))) => {
                let http = if *code == 4 { 429 } else { 400 };
                (
                    http,
                    json!({"error": {"message": format!("fake error {code}"), "type": "OAuthException", "code": code, "fbtrace_id": "Afake"}}),
                )
            }
            (None, Some(Fault::Hang(_)) | None) => {
                match self.check_and_apply(&parts.method, &path, &query, &parts.headers, &body) {
                    Ok(answer) => (200, answer),
                    Err((status, code, why)) => {
                        if code != 100 || !why.starts_with("gone") {
                            self.invalid
                                .lock()
                                .unwrap()
                                .push(format!("{} {path}: {why}", parts.method));
                        }
                        (
                            status,
                            json!({"error": {"message": why, "type": "GraphMethodException", "code": code}}),
                        )
                    }
                }
            }
        };
        self.calls.lock().unwrap().push(GraphCall {
            method: parts.method.clone(),
            path,
            query,
            body,
            at: arrived,
            at_ms: chrono::Utc::now().timestamp_millis(),
            status,
        });
        if let Some(Fault::Hang(d)) = fault {
            tokio::time::sleep(d).await;
        }
        let mut response =
            (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response();
        if let Some(usage) = self.usage_header.lock().unwrap().clone() {
            response
                .headers_mut()
                .insert("x-business-use-case-usage", usage.parse().unwrap());
        }
        response.headers_mut().extend(headers);
        response
    }

    /// The page whose token authorises the call.
    fn page_of(&self, headers: &HeaderMap) -> Result<String, (u16, i64, String)> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or((401, 190, "no bearer token".to_owned()))?;
        self.tokens
            .lock()
            .unwrap()
            .iter()
            .find(|(_, t)| t.as_str() == token)
            .map(|(p, _)| p.clone())
            .ok_or((401, 190, "unknown access token".to_owned()))
    }

    /// Checks a call the way Graph would and applies it. Errors are
    /// `(http status, graph code, why)`.
    fn check_and_apply(
        &self,
        method: &Method,
        path: &str,
        query: &HashMap<String, String>,
        headers: &HeaderMap,
        body: &Value,
    ) -> Result<Value, (u16, i64, String)> {
        let bad = |why: &str| Err((400, 100, why.to_owned()));
        if query.contains_key("access_token") {
            return bad("the token must not travel in the URL");
        }
        let page = self.page_of(headers)?;
        let segments: Vec<&str> = path.split('/').collect();
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let new_id = format!("{}_{}", 9_000_000 + state.next_id, state.next_id);
        let text_of = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        match (method.clone(), segments.as_slice()) {
            (Method::POST, [comment, edge @ ("comments" | "replies")]) => {
                let Some(text) = text_of(&body["message"]) else {
                    return bad("a reply needs `message`");
                };
                if state.deleted.contains(*comment) {
                    return bad("gone: comment deleted");
                }
                // "Replies to a reply will be added to the top-level comment."
                let thread = match state.parents.get(*comment) {
                    Some(parent) if *edge == "replies" => parent.clone(),
                    _ => comment.to_string(),
                };
                state
                    .replies
                    .entry(thread)
                    .or_default()
                    .push((new_id.clone(), text, page.clone()));
                Ok(json!({"id": new_id}))
            }
            (Method::GET, [comment, "comments" | "replies"]) => {
                let text_field = if path.ends_with("replies") {
                    "text"
                } else {
                    "message"
                };
                let data: Vec<Value> = state
                    .replies
                    .get(*comment)
                    .into_iter()
                    .flatten()
                    .map(|(id, text, from)| json!({"id": id, text_field: text, "from": {"id": from}}))
                    .collect();
                Ok(json!({"data": data}))
            }
            (Method::POST, [page_id, "messages"]) => {
                if *page_id != page {
                    return Err((403, 200, format!("token of {page} used for page {page_id}")));
                }
                let Some(text) = text_of(&body["message"]["text"]) else {
                    return bad("a message needs message.text");
                };
                let recipient = if let Some(comment) = body["recipient"]["comment_id"].as_str() {
                    if state.private_replies.contains_key(comment) {
                        return Err((400, 10900, "Activity already replied to".into()));
                    }
                    // As on Meta, a private reply opens the conversation
                    // with the comment's author, where it can be read back.
                    let recipient = match state.authors.get(comment) {
                        Some(author) => state.messaging_ids.get(author).unwrap_or(author).clone(),
                        None => format!("comment:{comment}"),
                    };
                    state
                        .private_replies
                        .insert(comment.to_owned(), recipient.clone());
                    recipient
                } else if let Some(id) = body["recipient"]["id"].as_str() {
                    match (body["messaging_type"].as_str(), body["tag"].as_str()) {
                        (Some("RESPONSE"), None) | (Some("MESSAGE_TAG"), Some("HUMAN_AGENT")) => {}
                        other => return bad(&format!("bad messaging_type/tag {other:?}")),
                    }
                    id.to_owned()
                } else {
                    return bad("a message needs recipient.id or recipient.comment_id");
                };
                state
                    .messages
                    .entry((page.clone(), recipient.clone()))
                    .or_default()
                    .push((new_id.clone(), text, Utc::now()));
                Ok(json!({"recipient_id": recipient, "message_id": format!("m_{new_id}")}))
            }
            (Method::GET, [page_id, "conversations"]) => {
                let Some(user) = query.get("user_id") else {
                    return bad("conversations need user_id");
                };
                let messages = state.conversation(page_id, user);
                Ok(json!({"data": [{"id": "t_1", "messages": {"data": messages}}]}))
            }
            (Method::POST, [page_id, "blocked"]) => {
                if *page_id != page {
                    return Err((403, 200, format!("token of {page} used for page {page_id}")));
                }
                let ids = body["user"].as_array().or_else(|| body["psid"].as_array());
                if ids.is_none_or(|ids| ids.is_empty()) {
                    return bad("blocking needs user or psid");
                }
                state.blocked.push((page_id.to_string(), body.clone()));
                Ok(json!({"success": true}))
            }
            // Unblocking takes its id as a parameter: `user` (or `uid`,
            // `asid`) for a person, `psid` for a Messenger user.
            (Method::DELETE, [page_id, "blocked"]) => {
                if *page_id != page {
                    return Err((403, 200, format!("token of {page} used for page {page_id}")));
                }
                if !body.is_null() {
                    return bad("unblocking takes no body");
                }
                let found = ["user", "psid"]
                    .into_iter()
                    .find_map(|field| query.get(field).map(|id| (field, id.clone())));
                let Some((field, id)) = found else {
                    return bad("unblocking needs user or psid");
                };
                state
                    .unblocked
                    .push((page_id.to_string(), field.to_owned(), id));
                Ok(json!({"success": true}))
            }
            // Facebook only: Instagram has no like for a comment.
            (Method::POST, [comment, "likes"]) => {
                if state.deleted.contains(*comment) {
                    return Err((400, 100, "gone: object does not exist".into()));
                }
                state.liked.insert(comment.to_string());
                Ok(json!({"success": true}))
            }
            (Method::POST, [comment]) => {
                // Facebook's field is `is_hidden`, Instagram's `hide`;
                // false shows the comment again.
                let hide = body["is_hidden"]
                    .as_bool()
                    .or_else(|| body["hide"].as_bool());
                match hide {
                    Some(true) => state.hidden.insert(comment.to_string()),
                    Some(false) => state.hidden.remove(*comment),
                    None => return bad("expected is_hidden or hide, true or false"),
                };
                Ok(json!({"success": true}))
            }
            (Method::DELETE, [comment]) => {
                if !state.deleted.insert(comment.to_string()) {
                    return Err((400, 100, "gone: already deleted".into()));
                }
                Ok(json!({"success": true}))
            }
            (Method::GET, [comment])
                if query
                    .get("fields")
                    .is_some_and(|f| f.starts_with("private_reply_conversation")) =>
            {
                let Some(user) = state.private_replies.get(*comment) else {
                    return Ok(json!({"id": comment}));
                };
                Ok(json!({"id": comment, "private_reply_conversation": {
                    "id": format!("t_{user}"),
                    "participants": {"data": [{"id": page}, {"id": user}]},
                    "messages": {"data": state.conversation(&page, user)},
                }}))
            }
            (Method::GET, [comment]) => {
                if state.deleted.contains(*comment) {
                    return Err((400, 100, "gone: object does not exist".into()));
                }
                let hidden = state.hidden.contains(*comment);
                let liked = state.liked.contains(*comment);
                Ok(
                    json!({"id": comment, "hidden": hidden, "is_hidden": hidden, "user_likes": liked}),
                )
            }
            _ => bad("no such Graph path"),
        }
    }
}

/// A Facebook `feed` change announcing a new comment, written now.
pub fn comment(page_id: &str, id: &str, author: &str, text: &str) -> Value {
    json!({"field": "feed", "value": {
        "from": {"id": author, "name": "Someone"}, "item": "comment", "verb": "add",
        "comment_id": id, "post_id": format!("{page_id}_1"), "parent_id": format!("{page_id}_1"),
        "message": text, "created_time": chrono::Utc::now().timestamp()}})
}

/// POSTs a webhook notification to `base_url`'s `/webhooks/meta`, signed
/// with `app_secret` as Meta signs it.
pub async fn post_signed(
    client: &reqwest::Client,
    base_url: &str,
    app_secret: &str,
    payload: &Value,
) -> (u16, Value) {
    let body = serde_json::to_vec(payload).unwrap();
    let signature =
        replyd::ingest::meta_webhook::signature(&replyd::config::Secret::new(app_secret), &body);
    let response = client
        .post(format!("{base_url}/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The Facebook page, its token and the app secret of [`daemon_config`].
pub const DAEMON_PAGE: &str = "1001";
pub const DAEMON_APP_SECRET: &str = "replica-app-secret";

/// Writes a `replyd.toml` (in `dir`) for `replyd serve` processes that answer
/// [`DAEMON_PAGE`] through the fake at `graph_url`. The rules classifier
/// keeps thousands of classifications cheap (these tests are about claiming
/// and delivering, which do not depend on the classifier), every kind of
/// action goes out without a reviewer, and leases and backoffs are short
/// so a killed process's work is taken over within seconds.
pub fn daemon_config(
    dir: &std::path::Path,
    database_url: &str,
    graph_url: &str,
    calls_per_minute: u32,
) -> std::path::PathBuf {
    let path = dir.join("replyd.toml");
    std::fs::write(
        &path,
        format!(
            "database_url = \"{database_url}\"\n\
             [model]\nenabled = false\n\
             [policy]\nmin_confidence = 0.0\n\
             auto_send = [\"acknowledge\", \"reply\", \"private_reply\", \"hide\", \"delete\", \"block\"]\n\
             [pipeline]\npoll_interval_ms = 100\nlease_secs = 5\n\
             [delivery]\nbackoff_base_ms = 50\nbackoff_max_ms = 500\ntimeout_secs = 5\n\
             [meta]\napp_secret = \"{DAEMON_APP_SECRET}\"\nverify_token = \"v\"\n\
             graph_url = \"{graph_url}\"\ncalls_per_minute = {calls_per_minute}\n\
             [[meta.pages]]\nid = \"{DAEMON_PAGE}\"\nplatform = \"facebook\"\naccess_token = \"page-token\"\n"
        ),
    )
    .unwrap();
    path
}

/// A fake serving [`DAEMON_PAGE`].
pub fn daemon_graph() -> FakeGraph {
    FakeGraph::new(&[(DAEMON_PAGE, "page-token")])
}

/// `a=1&b=x%20y` → pairs, percent-decoded (enough for the fields replyd sends).
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
