//! The console over HTTP: sign-in and sessions, CSRF, every role against
//! every route (API and pages), and what the pages show.

mod common;

use common::{held_question, message, post_settled, settled, Backend, TestApp, WAIT};
use replyd::domain::Role;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NOBODY: &str = "0190f1a2-0000-7000-8000-000000000000";

/// A signed-in browser, without the browser: a session cookie and the
/// page's CSRF token.
struct Session {
    client: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in_response(app: &TestApp, token: &str) -> reqwest::Response {
    plain_client()
        .post(app.url("/login"))
        .form(&[("token", token), ("next", "/dashboard")])
        .send()
        .await
        .unwrap()
}

impl Session {
    async fn start(app: &TestApp, token: &str) -> Session {
        let response = sign_in_response(app, token).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let mut session = Session {
            client: plain_client(),
            base: format!("http://{}", app.addr),
            cookie,
            csrf: String::new(),
        };
        let (status, page) = session.get("/").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        // Every page carries the session's CSRF token for its forms.
        let (_, page) = session.get("/assets/console.css").await;
        assert!(page.contains("font"));
        for path in ["/queue", "/leads"] {
            let (status, page) = session.get(path).await;
            if status == StatusCode::OK {
                session.csrf = csrf_of(&page);
                break;
            }
        }
        assert!(!session.csrf.is_empty(), "no page showed a CSRF token");
        session
    }

    async fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self.request(Method::GET, path).await.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Submits a form the way the console's pages do, CSRF token included.
    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let mut all = vec![("_csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let response = self
            .request(Method::POST, path)
            .await
            .form(&all)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        (status, location.unwrap_or(body))
    }
}

fn csrf_of(page: &str) -> String {
    let start = page
        .find("name=\"csrf-token\" content=\"")
        .expect("csrf meta tag")
        + 27;
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

async fn review_ids(app: &TestApp, token: &str) -> Vec<String> {
    let (_, body) = app.get_json(token, "/v1/reviews?status=held").await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(sessions_sign_in_expire_and_sign_out, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let reviewer = app.token(Role::Reviewer).await;
    let ingest = app.token(Role::Ingest).await;

    let response = sign_in_response(&app, &reviewer).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/dashboard");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for part in [
        "replyd_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=43200",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains(&reviewer), "the cookie is not the token");

    let response = sign_in_response(&app, "rpd_not-a-token").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert!(response.text().await.unwrap().contains("unknown"));
    let response = sign_in_response(&app, &ingest).await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "ingest tokens have no console"
    );

    // Without a session every page sends the browser to sign in.
    let response = plain_client()
        .get(app.url("/queue?platform=shop"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/login?next=%2Fqueue%3Fplatform%3Dshop"
    );
    // A bearer token does not open pages either: forms need a session.
    let response = plain_client()
        .get(app.url("/queue"))
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let session = Session::start(&app, &reviewer).await;
    assert_eq!(session.get("/queue").await.0, StatusCode::OK);
    // The session also authenticates reads of the API (the console's CSV link).
    let (status, _) = session.get("/v1/reviews").await;
    assert_eq!(status, StatusCode::OK);

    // An expired session is no session.
    let db = replyd::store::Db::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE sessions SET expires_at = 0")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(session.get("/queue").await.0, StatusCode::SEE_OTHER);
    assert_eq!(session.get("/v1/reviews").await.0, StatusCode::UNAUTHORIZED);

    // Sign-out ends the session on the server, not only in the browser.
    let session = Session::start(&app, &reviewer).await;
    let (status, location) = session.post_form("/logout", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/login");
    assert_eq!(session.get("/queue").await.0, StatusCode::SEE_OTHER);

    // Revoking the token ends its sessions.
    let session = Session::start(&app, &reviewer).await;
    sqlx::query("UPDATE api_tokens SET revoked_at = 1")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(session.get("/queue").await.0, StatusCode::SEE_OTHER);

    // Sessions are stored hashed.
    let stored: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let cookie_value = session.cookie.split_once('=').unwrap().1;
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|h| h != cookie_value && h.len() == 64));

    // A client that keeps guessing is slowed down.
    let mut last = StatusCode::OK;
    for _ in 0..25 {
        last = sign_in_response(&app, "rpd_guess").await.status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_only_returns_to_a_path_of_this_site() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let reviewer = app.token(Role::Reviewer).await;
    // Browsers drop the tab, which would leave `//evil.example`.
    for next in [
        "/\t/evil.example",
        "/\n",
        "//evil.example",
        "/\\evil.example",
    ] {
        let response = plain_client()
            .post(app.url("/login"))
            .form(&[("token", reviewer.as_str()), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(response.headers()[LOCATION], "/", "{next:?}");
    }
    // Signed in, the sign-in page sends the browser on at once.
    let session = Session::start(&app, &reviewer).await;
    for next in ["/%0A", "/%09/evil.example", "/%0D%0ASet-Cookie:x=1"] {
        let response = session
            .request(Method::GET, &format!("/login?next={next}"))
            .await
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(response.headers()[LOCATION], "/", "{next}");
    }
}

both_backends!(state_changes_need_the_csrf_token, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    held_question(
        &app,
        &ingest,
        &reviewer,
        "c-1",
        "Do you ship your bikes to Norway?",
    )
    .await;
    let ids = review_ids(&app, &reviewer).await;
    let id = &ids[0];
    let session = Session::start(&app, &reviewer).await;
    let path = format!("/queue/{id}");

    // A form without the token, or with another one, is refused...
    let response = session
        .request(Method::POST, &path)
        .await
        .form(&[("verdict", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = session
        .request(Method::POST, &path)
        .await
        .form(&[("verdict", "approve"), ("_csrf", "csrf_guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("CSRF"));
    // ...so is one from another site, even with the token...
    let response = session
        .request(Method::POST, &path)
        .await
        .header("Origin", "https://evil.example")
        .form(&[("verdict", "approve"), ("_csrf", session.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // ...and cookie calls to the JSON API need the X-CSRF-Token header.
    let api = format!("/v1/reviews/{id}/approve");
    let response = session
        .request(Method::POST, &api)
        .await
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf");
    assert_eq!(
        review_ids(&app, &reviewer).await,
        ids,
        "nothing was decided"
    );

    // With the token it goes through, once.
    let response = session
        .request(Method::POST, &api)
        .await
        .header("X-CSRF-Token", &session.csrf)
        .json(&json!({"text": "Yes, we ship to Norway."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(review_ids(&app, &reviewer).await.is_empty());

    // Bearer-token calls carry no cookie and need no CSRF token.
    held_question(
        &app,
        &ingest,
        &reviewer,
        "c-2",
        "Do you ship your bikes to Iceland?",
    )
    .await;
    let next = review_ids(&app, &reviewer).await;
    let response = app
        .request(
            Method::POST,
            &format!("/v1/reviews/{}/reject", next[0]),
            &reviewer,
        )
        .json(&json!({"reason": "answered by phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
});

#[derive(Clone, Copy)]
enum Body {
    None,
    Json(fn() -> Value),
    Form(&'static [(&'static str, &'static str)]),
}

/// One route and the roles the issue says may use it (admin always may).
struct Route {
    method: Method,
    path: &'static str,
    body: Body,
    allowed: &'static [Role],
}

const READ_MESSAGES: &[Role] = &[Role::Admin, Role::Reviewer, Role::Viewer];
const READ_REVIEWS: &[Role] = READ_MESSAGES;
const DECIDE: &[Role] = &[Role::Admin, Role::Reviewer];
const READ_LEADS: &[Role] = &[Role::Admin, Role::Sales, Role::Viewer];
const WORK_LEADS: &[Role] = &[Role::Admin, Role::Sales];
const ADMIN: &[Role] = &[Role::Admin];
const INGEST: &[Role] = &[Role::Admin, Role::Ingest];

fn new_message() -> Value {
    json!({"platform": "shop", "kind": "comment", "external_id": unique_external_id(), "author": {"id": "a"}, "text": "hello"})
}

fn unique_external_id() -> String {
    format!(
        "m-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn r(method: Method, path: &'static str, body: Body, allowed: &'static [Role]) -> Route {
    Route {
        method,
        path,
        body,
        allowed,
    }
}

fn api_routes() -> Vec<Route> {
    use Body::*;
    vec![
        r(Method::POST, "/v1/messages", Json(new_message), INGEST),
        r(Method::GET, "/v1/messages", None, READ_MESSAGES),
        r(Method::GET, "/v1/messages/{message}", None, READ_MESSAGES),
        r(Method::GET, "/v1/reviews", None, READ_REVIEWS),
        r(
            Method::POST,
            "/v1/reviews/{nobody}/approve",
            Json(|| json!({})),
            DECIDE,
        ),
        r(
            Method::POST,
            "/v1/reviews/{nobody}/reject",
            Json(|| json!({"reason": "x"})),
            DECIDE,
        ),
        r(
            Method::POST,
            "/v1/reviews/approve",
            Json(|| json!({"ids": [NOBODY]})),
            DECIDE,
        ),
        r(
            Method::POST,
            "/v1/reviews/reject",
            Json(|| json!({"ids": [NOBODY], "reason": "x"})),
            DECIDE,
        ),
        r(
            Method::POST,
            "/v1/messages/{nobody}/actions",
            Json(|| json!({"kind": "like"})),
            DECIDE,
        ),
        r(
            Method::POST,
            "/v1/messages/{nobody}/classification",
            Json(|| json!({"intent": "question"})),
            DECIDE,
        ),
        r(
            Method::GET,
            "/v1/messages/{message}/conversation",
            None,
            READ_MESSAGES,
        ),
        r(
            Method::GET,
            "/v1/authors/shop/author-m-1",
            None,
            READ_MESSAGES,
        ),
        r(Method::GET, "/v1/corrections.jsonl", None, DECIDE),
        r(
            Method::PATCH,
            "/v1/messages/{nobody}",
            Json(|| json!({"labels": ["x"]})),
            DECIDE,
        ),
        r(
            Method::POST,
            "/v1/messages/{nobody}/notes",
            Json(|| json!({"text": "x"})),
            DECIDE,
        ),
        r(Method::GET, "/v1/saved-replies", None, DECIDE),
        r(Method::GET, "/v1/saved-replies/{nobody}", None, DECIDE),
        r(
            Method::POST,
            "/v1/saved-replies",
            Json(|| json!({"name": "x", "lang": "en", "text": "Hi"})),
            ADMIN,
        ),
        r(
            Method::PUT,
            "/v1/saved-replies/{nobody}",
            Json(|| json!({"name": "y", "lang": "en", "text": "Hi"})),
            ADMIN,
        ),
        r(Method::DELETE, "/v1/saved-replies/{nobody}", None, ADMIN),
        r(Method::GET, "/v1/leads", None, READ_LEADS),
        r(Method::GET, "/v1/leads.csv", None, READ_LEADS),
        r(Method::GET, "/v1/leads/{nobody}", None, READ_LEADS),
        r(
            Method::PATCH,
            "/v1/leads/{nobody}",
            Json(|| json!({"owner": "kim"})),
            WORK_LEADS,
        ),
    ]
}

fn page_routes() -> Vec<Route> {
    use Body::*;
    vec![
        r(Method::GET, "/queue", None, READ_REVIEWS),
        r(
            Method::POST,
            "/queue/{nobody}",
            Form(&[("verdict", "approve")]),
            DECIDE,
        ),
        r(
            Method::POST,
            "/queue/bulk",
            Form(&[("verdict", "reject"), ("reason", "x"), ("ids", NOBODY)]),
            DECIDE,
        ),
        r(Method::GET, "/inbox", None, READ_MESSAGES),
        r(Method::GET, "/messages/{message}", None, READ_MESSAGES),
        r(
            Method::POST,
            "/messages/{nobody}/actions",
            Form(&[("kind", "like")]),
            DECIDE,
        ),
        r(
            Method::POST,
            "/messages/{nobody}/classification",
            Form(&[("intent", "question")]),
            DECIDE,
        ),
        r(
            Method::POST,
            "/messages/{nobody}/context",
            Form(&[("owner", ""), ("labels", "x")]),
            DECIDE,
        ),
        r(
            Method::POST,
            "/messages/{nobody}/notes",
            Form(&[("text", "x")]),
            DECIDE,
        ),
        r(Method::GET, "/dashboard", None, READ_MESSAGES),
        r(Method::GET, "/leads", None, READ_LEADS),
        r(Method::GET, "/leads/{nobody}", None, READ_LEADS),
        r(
            Method::POST,
            "/leads/{nobody}",
            Form(&[("status", "won")]),
            WORK_LEADS,
        ),
        r(Method::GET, "/audit", None, ADMIN),
        r(Method::GET, "/tokens", None, ADMIN),
        r(
            Method::POST,
            "/tokens",
            Form(&[("name", "script"), ("role", "viewer")]),
            ADMIN,
        ),
        r(Method::POST, "/tokens/{nobody}/revoke", Form(&[]), ADMIN),
    ]
}

fn path_of(route: &Route, message_id: &str) -> String {
    route
        .path
        .replace("{nobody}", NOBODY)
        .replace("{message}", message_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    let (message_id, _) =
        held_question(&app, &ingest, &reviewer, "m-1", "Where is my order?").await;
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((*role, app.token(*role).await));
    }
    let mut failures = Vec::new();

    for route in api_routes() {
        let path = path_of(&route, &message_id);
        let send = |auth: Option<&str>| {
            let mut request = app.client.request(route.method.clone(), app.url(&path));
            if let Some(token) = auth {
                request = request.bearer_auth(token);
            }
            match route.body {
                Body::Json(body) => request.json(&body()),
                _ => request,
            }
            .send()
        };
        let status = send(None).await.unwrap().status();
        if status != StatusCode::UNAUTHORIZED {
            failures.push(format!("{} {path} without a token: {status}", route.method));
        }
        let status = send(Some("rpd_wrong")).await.unwrap().status();
        if status != StatusCode::UNAUTHORIZED {
            failures.push(format!(
                "{} {path} with a wrong token: {status}",
                route.method
            ));
        }
        for (role, token) in &tokens {
            let status = send(Some(token)).await.unwrap().status();
            let allowed = route.allowed.contains(role);
            let refused = status == StatusCode::FORBIDDEN;
            if allowed == refused || status.is_server_error() || status == StatusCode::UNAUTHORIZED
            {
                failures.push(format!(
                    "{} {path} as {role}: {status} (allowed: {allowed})",
                    route.method
                ));
            }
        }
    }

    for (role, token) in &tokens {
        if *role == Role::Ingest {
            continue; // refused at sign-in, asserted in the session test
        }
        let session = Session::start(&app, token).await;
        for route in page_routes() {
            let path = path_of(&route, &message_id);
            let (status, _) = match route.body {
                Body::Form(fields) => session.post_form(&path, fields).await,
                _ => session.get(&path).await,
            };
            let allowed = route.allowed.contains(role);
            let refused = status == StatusCode::FORBIDDEN;
            if allowed == refused
                || status.is_server_error()
                || status == StatusCode::SEE_OTHER && route.method == Method::GET
            {
                failures.push(format!(
                    "page {} {path} as {role}: {status} (allowed: {allowed})",
                    route.method
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "role matrix broken:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_reads_only_the_messages_behind_its_leads() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ingest = app.token(Role::Ingest).await;
    let viewer = app.token(Role::Viewer).await;
    let sales = app.token(Role::Sales).await;
    let lead_message = {
        let mut m = message(
            "shop",
            "dm",
            "l-1",
            "We run three cafés and are looking for a partnership as a wholesale customer.",
        );
        m["lang"] = json!("en");
        let (_, body) = app.post_messages(&ingest, &m).await;
        body["id"].as_str().unwrap().to_owned()
    };
    app.wait_for_message(&viewer, &lead_message, WAIT, settled)
        .await;
    let (other, _) =
        held_question(&app, &ingest, &viewer, "q-1", "Is the shop open on Sunday?").await;

    let (status, _) = app
        .get_json(&sales, &format!("/v1/messages/{lead_message}"))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json(&sales, &format!("/v1/messages/{other}")).await;
    assert_eq!(status, 403);
    let session = Session::start(&app, &sales).await;
    let (status, page) = session.get(&format!("/messages/{lead_message}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("wholesale customer"));
    let (status, _) = session.get(&format!("/messages/{other}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

both_backends!(pages_show_what_happened, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let admin = app.token(Role::Admin).await;
    let hostile = "<script>alert('x')</script> where is my parcel?";
    let (_, body) = app
        .post_messages(&ingest, &message("shop", "comment", "p-1", hostile))
        .await;
    let first = body["id"].as_str().unwrap().to_owned();
    app.wait_for_message(&admin, &first, WAIT, settled).await;
    let (question, _) = held_question(
        &app,
        &ingest,
        &admin,
        "p-2",
        "Do you ship your bikes to Norway?",
    )
    .await;
    let session = Session::start(&app, &admin).await;

    let (status, inbox) = session.get("/inbox?q=parcel").await;
    assert_eq!(status, StatusCode::OK);
    assert!(inbox.contains("&lt;script&gt;"), "customer text is escaped");
    assert!(!inbox.contains("<script>alert"));
    assert!(!inbox.contains("Norway"), "the search filters");
    let (status, _) = session.get("/inbox?intent=nonsense").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, queue) = session.get("/queue").await;
    assert_eq!(status, StatusCode::OK);
    assert!(queue.contains("Norway"));
    assert!(queue.contains("Held because"));
    assert!(
        queue.contains("No connector is configured for shop: every action there is a dry run."),
        "{queue}"
    );
    let (_, filtered) = session.get("/queue?platform=elsewhere").await;
    assert!(!filtered.contains("Norway"));

    // Approve with an edit through the form; the queue reports it and the
    // timeline shows the delivery.
    let (_, held_items) = app.get_json(&admin, "/v1/reviews?status=held").await;
    let id = held_items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["message_id"] == question.as_str())
        .expect("the question's reply is held")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let edited = "Yes! We ship to Norway in about a week.";
    let (status, location) = session
        .post_form(
            &format!("/queue/{id}"),
            &[
                ("verdict", "approve"),
                ("text", edited),
                ("return", "platform=shop"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.starts_with("/queue?platform=shop&notice=approved"),
        "{location}"
    );
    let (_, queue) = session.get(&location).await;
    assert!(queue.contains("Approved: the reply is on its way."));
    let done = app
        .wait_for_message(&admin, &question, WAIT, |m| {
            m["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["text"] == edited && a["status"] == "dry_run")
        })
        .await;
    assert!(done["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["decided_by"] == "console:test-admin"));
    let (_, timeline) = session.get(&format!("/messages/{question}")).await;
    // No connector: the reply was recorded as a dry run and reads as one.
    assert!(timeline.contains("Dry run, not sent: reply"), "{timeline}");
    assert!(!timeline.contains("Delivered: reply"), "{timeline}");
    assert!(timeline.contains("dry run, not sent</span>"), "{timeline}");
    assert!(timeline.contains("id=\"dry-run-banner\""), "{timeline}");
    assert!(timeline.contains("Review approved by console:test-admin"));

    // The dashboard counts both messages and times the first responses.
    let (status, dashboard) = session.get("/dashboard?days=7").await;
    assert_eq!(status, StatusCode::OK);
    assert!(dashboard.contains("<p class=\"big\">2</p>"), "two messages");
    assert!(dashboard.contains("Time to first response"));
    let times = &dashboard[dashboard.find("Time to first response").unwrap()..];
    // Only delivered actions are timed: a dry run never reached anyone.
    assert!(
        !times.contains("<th scope=\"row\">shop</th>"),
        "dry runs are not first responses: {times}"
    );
    assert!(
        times.contains("Nothing answered in this window."),
        "{times}"
    );
    assert_eq!(
        session.get("/dashboard?days=0").await.0,
        StatusCode::BAD_REQUEST
    );

    // The audit log shows the human actions.
    let (_, audit) = session.get("/audit").await;
    assert!(audit.contains("review.approved"));
    assert!(audit.contains("console.sign_in"));

    // Tokens are shown once when created, and can be revoked.
    let (status, page) = session
        .post_form("/tokens", &[("name", "zapier"), ("role", "ingest")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let start = page.find("id=\"new-token\">").unwrap() + 15;
    let token = &page[start..start + page[start..].find('<').unwrap()];
    assert!(token.starts_with("rpd_"));
    let (status, _) = app
        .post_messages(token, &message("shop", "comment", "p-3", "hi"))
        .await;
    assert_eq!(status, 202, "the new token works");
    let (_, list) = session.get("/tokens").await;
    assert!(!list.contains(token), "never shown again");
    // A new token is the least privileged unless someone chooses otherwise.
    assert!(list.contains("<option selected>viewer</option>"), "{list}");
    assert_eq!(list.matches(" selected>").count(), 1);
});

// The message page's workbench: a moderation button, a reply the
// guardrails refuse (shown inline, the text kept), a reply that goes out,
// and a correction; each result or refusal on the page itself.
both_backends!(
    the_message_page_moderates_and_corrects,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let reviewer = app.token(Role::Reviewer).await;
        let (id, _) = post_settled(
            &app,
            &ingest,
            &reviewer,
            &message("shop", "comment", "w-1", "Is the blue one back in stock?"),
        )
        .await;
        let session = Session::start(&app, &reviewer).await;
        let page_path = format!("/messages/{id}");
        let (status, page) = session.get(&page_path).await;
        assert_eq!(status, StatusCode::OK);
        for needle in [
            "id=\"act-like\"",
            "id=\"act-reply\"",
            "id=\"save-correction\"",
            "Conversation with",
            "recorded as a dry run",
        ] {
            assert!(page.contains(needle), "{needle}");
        }

        let (status, location) = session
            .post_form(&format!("{page_path}/actions"), &[("kind", "hide")])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        assert!(
            location.starts_with(&format!("{page_path}?done=")),
            "{location}"
        );
        let (_, page) = session.get(&location).await;
        assert!(page.contains("Hide: recorded as a dry run"), "{page}");
        assert!(page.contains("nothing was sent"));

        let hostile = "Shut up, you stupid idiot.";
        let (status, page) = session
            .post_form(
                &format!("{page_path}/actions"),
                &[("kind", "reply"), ("text", hostile)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(
            page.contains("Not done: the reply fails the guardrails"),
            "{page}"
        );
        assert!(page.contains("hostile"), "{page}");
        assert!(page.contains(hostile), "the text is kept to fix: {page}");
        let (status, page) = session
            .post_form(
                &format!("{page_path}/actions"),
                &[("kind", "delete"), ("text", "x")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("a delete takes no text"), "{page}");

        let (status, location) = session
            .post_form(
                &format!("{page_path}/actions"),
                &[
                    ("kind", "reply"),
                    ("text", "Yes, it is back in stock since Monday."),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        let (_, page) = session.get(&location).await;
        assert!(page.contains("Reply: recorded as a dry run"), "{page}");
        assert!(page.contains("Yes, it is back in stock since Monday."));
        assert!(
            page.contains("console:test-reviewer"),
            "who replied shows in the conversation"
        );

        let (status, location) = session
            .post_form(
                &format!("{page_path}/classification"),
                &[
                    ("intent", "question"),
                    ("sentiment", "neutral"),
                    ("flags_given", "1"),
                    ("flags", "lead"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        let (_, page) = session.get(&location).await;
        assert!(page.contains("Correction saved"), "{page}");
        assert!(
            page.contains("Corrected by <strong>console:test-reviewer</strong>"),
            "{page}"
        );
        let (_, detail) = app.get_json(&reviewer, &format!("/v1/messages/{id}")).await;
        assert_eq!(detail["correction"]["flags"], json!(["lead"]));
        let (status, page) = session
            .post_form(
                &format!("{page_path}/classification"),
                &[("intent", "angry")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("unknown value `angry`"), "{page}");

        // A viewer reads the page without the workbench's forms.
        let viewer = app.token(Role::Viewer).await;
        let session = Session::start(&app, &viewer).await;
        let (_, page) = session.get(&page_path).await;
        assert!(page.contains("Conversation with"));
        assert!(!page.contains("act-like") && !page.contains("save-correction"));
    }
);

// Ownership and context on the message page: owner and labels, a note
// (refused when too long, shown inline), the saved replies in the reply
// form filled in for the message, and owner and labels in the inbox.
both_backends!(the_message_page_keeps_context, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    let admin = app.token(Role::Admin).await;
    let (id, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &message("shop", "comment", "ctx-1", "Is the blue one back in stock?"),
    )
    .await;
    let (status, answer) = app
        .post_json(
            &admin,
            "/v1/saved-replies",
            json!({"name": "Back soon", "lang": "en", "text": "Hi {{ name }}, it is back next week."}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let session = Session::start(&app, &reviewer).await;
    let page_path = format!("/messages/{id}");
    let (_, page) = session.get(&page_path).await;
    assert!(page.contains("id=\"saved-reply\""), "{page}");
    assert!(
        page.contains("data-text=\"Hi Sam, it is back next week.\""),
        "the saved reply is filled in for the message: {page}"
    );
    assert!(page.contains("<option value=\"test-admin\">test-admin</option>"));

    let (status, location) = session
        .post_form(
            &format!("{page_path}/context"),
            &[("owner", "test-admin"), ("labels", "Stock, VIP")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let (_, page) = session.get(&location).await;
    assert!(page.contains("Owner and labels saved."), "{page}");
    assert!(
        page.contains("<strong id=\"owner\">test-admin</strong>"),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"badge label\">vip</span>"),
        "{page}"
    );
    let (status, page) = session
        .post_form(
            &format!("{page_path}/context"),
            &[("owner", "ghost"), ("labels", "x")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("no console user is named `ghost`"), "{page}");

    let (status, location) = session
        .post_form(
            &format!("{page_path}/notes"),
            &[("text", "Supplier says Thursday")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let (_, page) = session.get(&location).await;
    assert!(page.contains("nothing was sent"), "{page}");
    assert!(
        page.contains("<strong>console:test-reviewer</strong>: Supplier says Thursday"),
        "{page}"
    );
    let long = "x".repeat(2001);
    let (status, page) = session
        .post_form(&format!("{page_path}/notes"), &[("text", &long)])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("at most 2000 characters"), "{page}");

    let (_, inbox) = session.get("/inbox?label=stock").await;
    assert!(inbox.contains(&format!("/messages/{id}")), "{inbox}");
    assert!(
        inbox.contains("<span class=\"owner\">test-admin</span>"),
        "{inbox}"
    );
    let (_, inbox) = session.get("/inbox?label=other").await;
    assert!(!inbox.contains(&format!("/messages/{id}")), "{inbox}");

    // A viewer sees owner, labels and notes, without the forms.
    let viewer = app.token(Role::Viewer).await;
    let session = Session::start(&app, &viewer).await;
    let (_, page) = session.get(&page_path).await;
    assert!(page.contains("Supplier says Thursday"));
    assert!(!page.contains("id=\"note-add\"") && !page.contains("id=\"ctx-save\""));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_refuses_an_edit_the_guardrails_refuse() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    held_question(
        &app,
        &ingest,
        &reviewer,
        "g-1",
        "Do you ship your bikes to Norway?",
    )
    .await;
    let ids = review_ids(&app, &reviewer).await;
    let session = Session::start(&app, &reviewer).await;
    let (status, page) = session
        .post_form(
            &format!("/queue/{}", ids[0]),
            &[
                ("verdict", "approve"),
                ("text", "So sorry! We will refund you the full price."),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("money_promise"), "{page}");
    assert_eq!(review_ids(&app, &reviewer).await, ids, "still held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_sees_a_lead_message_without_its_neighbours_or_review_notes() {
    // Nothing goes out alone, so the lead's replies wait for a reviewer.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.policy.auto_send.clear()).await;
    let ingest = app.token(Role::Ingest).await;
    let reviewer = app.token(Role::Reviewer).await;
    let sales = app.token(Role::Sales).await;
    let in_thread = |id: &str, author: &str, text: &str| {
        let mut m = message("shop", "comment", id, text);
        m["thread_id"] = json!("post-1");
        m["author"] = json!({"id": author, "name": author});
        m["lang"] = json!("en");
        m
    };
    post_settled(
        &app,
        &ingest,
        &reviewer,
        &in_thread(
            "t-1",
            "Priya",
            "My order 5531 never came, Priya from Utrecht here.",
        ),
    )
    .await;
    let (lead, _) = post_settled(
        &app,
        &ingest,
        &reviewer,
        &in_thread(
            "t-2",
            "Cafe Noord",
            "We run three cafés and are looking for a partnership as a wholesale customer.",
        ),
    )
    .await;
    let (_, queue) = app.get_json(&reviewer, "/v1/reviews").await;
    let review = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["message_id"] == lead.as_str())
        .expect("a reply to the lead is held")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .request(
            Method::POST,
            &format!("/v1/reviews/{review}/reject"),
            &reviewer,
        )
        .json(&json!({"reason": "internal note: check their credit first"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let reviewer_view = Session::start(&app, &reviewer).await;
    let (_, page) = reviewer_view.get(&format!("/messages/{lead}")).await;
    assert!(
        page.contains("Priya from Utrecht"),
        "reviewers see the thread"
    );
    assert!(page.contains("check their credit"), "and the review notes");

    let session = Session::start(&app, &sales).await;
    let (status, page) = session.get(&format!("/messages/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("wholesale customer"));
    assert!(!page.contains("Priya from Utrecht"), "{page}");
    assert!(!page.contains("check their credit"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_forms_from_the_public_url_are_accepted() {
    let public = "https://replyd.example.com";
    for (configured, expected) in [
        (false, StatusCode::FORBIDDEN),
        (true, StatusCode::SEE_OTHER),
    ] {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            if configured {
                c.console.public_urls = vec![format!("{public}/")];
            }
        })
        .await;
        let reviewer = app.token(Role::Reviewer).await;
        let session = Session::start(&app, &reviewer).await;
        // The proxy forwards to the daemon's own address, which is the Host.
        let response = session
            .request(Method::POST, "/logout")
            .await
            .header("Origin", public)
            .form(&[("_csrf", session.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "configured: {configured}");
        let response = session
            .request(Method::POST, "/logout")
            .await
            .header("Origin", "https://evil.example")
            .form(&[("_csrf", session.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
}

// PostgreSQL's text cannot hold U+0000: a NUL in any parameter is a 400
// naming it, on both databases alike, never a 500 from one of them.
both_backends!(
    a_nul_in_any_query_or_form_parameter_is_refused_by_name,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let admin = app.token(Role::Admin).await;
        for (path, field) in [
            ("/v1/messages?q=a%00b", "q"),
            ("/v1/messages?cursor=%00", "cursor"),
            ("/v1/reviews?cursor=x%00", "cursor"),
            ("/v1/leads?cursor=%00", "cursor"),
            ("/v1/leads.csv?status=%00", "status"),
        ] {
            let (status, body) = app.get_json(&admin, path).await;
            assert_eq!(status, 400, "{path}: {body}");
            assert_eq!(body["error"]["field"], field, "{path}: {body}");
        }
        let session = Session::start(&app, &admin).await;
        for path in ["/inbox?q=%00", "/queue?cursor=%00", "/inbox?cursor=a%00"] {
            let (status, page) = session.get(path).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {page}");
            assert!(page.contains("NUL"), "{path}: {page}");
        }
        let (status, page) = session
            .post_form("/tokens", &[("name", "ci\0bot"), ("role", "viewer")])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
        let response = app
            .request(Method::POST, "/v1/reviews/approve", &admin)
            .json(&json!({"ids": ["\u{0}", NOBODY]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        for result in body["results"].as_array().unwrap() {
            assert_eq!(result["code"], "not_found", "{body}");
        }
        app.shutdown().await;
    }
);

/// Behind a proxy every user shares one address: those who sign in must
/// not use up the others' attempts. Only failures count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_failed_sign_ins_count_towards_the_limit() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let reviewer = app.token(Role::Reviewer).await;
    for round in 0..30 {
        let response = sign_in_response(&app, &reviewer).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "round {round}");
    }
    for round in 0..20 {
        let response = sign_in_response(&app, &format!("rpd_wrong{round:03}")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "round {round}");
    }
    let response = sign_in_response(&app, "rpd_wrong999").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let response = sign_in_response(&app, &reviewer).await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "an address that failed 20 times waits, whatever it tries next"
    );
    app.shutdown().await;
}

/// Pages, the page that shows a new token once, exports and API answers
/// stay out of browser and proxy caches; the static assets may be kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_but_the_assets_may_be_cached() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.token(Role::Admin).await;
    let session = Session::start(&app, &admin).await;
    for path in ["/inbox", "/queue", "/leads", "/tokens", "/dashboard"] {
        let response = session
            .request(Method::GET, path)
            .await
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let mut all = vec![("_csrf", session.csrf.as_str())];
    all.extend_from_slice(&[("name", "ci"), ("role", "viewer")]);
    let shown = session
        .request(Method::POST, "/tokens")
        .await
        .form(&all)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    assert_eq!(shown.headers()["cache-control"], "no-store");
    assert!(
        shown.text().await.unwrap().contains("rpd_"),
        "the new token"
    );
    for path in ["/v1/leads.csv", "/v1/messages"] {
        let response = app.request(Method::GET, path, &admin).send().await.unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let css = session
        .request(Method::GET, "/assets/console.css")
        .await
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["cache-control"], "max-age=300");
    app.shutdown().await;
}

/// The audit log reads as what happened: each id opens its page, a change
/// shows what it was and what it became, and whatever a person typed (a
/// lead's notes, a token's name) stays text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_links_its_ids_and_shows_changes_as_before_and_after() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ingest = app.token(Role::Ingest).await;
    let admin = app.token(Role::Admin).await;
    let mut lead_message = message(
        "shop",
        "dm",
        "a-1",
        "We run three cafés and are looking for a partnership as a wholesale customer.",
    );
    lead_message["lang"] = json!("en");
    post_settled(&app, &ingest, &admin, &lead_message).await;
    let (_, leads) = app.get_json(&admin, "/v1/leads").await;
    let lead = leads["items"][0]["id"].as_str().expect("a lead").to_owned();
    let (_, before) = app.get_json(&admin, &format!("/v1/leads/{lead}")).await;
    let status_before = before["lead"]["status"].as_str().unwrap().to_owned();
    assert_ne!(status_before, "lost");
    let hostile = "<script>alert('notes')</script>";
    let response = app
        .request(Method::PATCH, &format!("/v1/leads/{lead}"), &admin)
        .json(&json!({"status": "lost", "owner": "sam", "notes": hostile}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let (question, _) = held_question(
        &app,
        &ingest,
        &admin,
        "a-2",
        "Do you ship your bikes to Norway?",
    )
    .await;
    let review = review_ids(&app, &admin).await[0].clone();
    let response = app
        .request(
            Method::POST,
            &format!("/v1/reviews/{review}/approve"),
            &admin,
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let session = Session::start(&app, &admin).await;
    let (status, _) = session
        .post_form(
            "/tokens",
            &[("name", "<img src=x onerror=alert(1)>"), ("role", "viewer")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, audit) = session.get("/audit").await;
    assert_eq!(status, StatusCode::OK);
    let lead_entry = &audit[audit.find("lead.update").expect("the lead's change")..];
    let lead_entry = &lead_entry[..lead_entry.find("</tr>").unwrap()];
    assert!(
        lead_entry.contains(&format!("<a href=\"/leads/{lead}\">{lead}</a>")),
        "{lead_entry}"
    );
    for (field, was, is) in [
        ("status", status_before.as_str(), "lost"),
        ("owner", "–", "sam"),
    ] {
        assert!(
            lead_entry.contains(&format!("<dt>{field}</dt><dd class=\"change\">"))
                && lead_entry.contains(&format!("<del>{was}</del>"))
                && lead_entry.contains(&format!("<ins>{is}</ins>")),
            "{field}: {was} → {is} in {lead_entry}"
        );
    }
    assert!(
        lead_entry
            .contains("<ins>&lt;script&gt;alert(&#x27;notes&#x27;)&lt;&#x2f;script&gt;</ins>"),
        "{lead_entry}"
    );
    let review_entry = &audit[audit.find("review.approved").expect("the approval")..];
    let review_entry = &review_entry[..review_entry.find("</tr>").unwrap()];
    assert!(
        review_entry.contains(&format!("<a href=\"/messages/{question}\">{question}</a>")),
        "{review_entry}"
    );
    assert!(
        review_entry.contains("<dt>edited</dt><dd>no</dd>"),
        "{review_entry}"
    );
    let token_entry = &audit[audit.find("token.create").expect("the new token")..];
    let token_entry = &token_entry[..token_entry.find("</tr>").unwrap()];
    assert!(
        token_entry.contains("<a href=\"/tokens#token-"),
        "{token_entry}"
    );
    assert!(
        token_entry.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{token_entry}"
    );
    assert!(audit.contains("console.sign_in"));
    for raw in ["<script>alert", "<img src", "&quot;before&quot;", "{&quot;"] {
        assert!(!audit.contains(raw), "`{raw}` on the audit page");
    }
    // The token's link lands on its row.
    let anchor_start = token_entry.find("/tokens#").unwrap() + "/tokens#".len();
    let anchor =
        &token_entry[anchor_start..anchor_start + token_entry[anchor_start..].find('"').unwrap()];
    let (_, tokens) = session.get("/tokens").await;
    assert!(
        tokens.contains(&format!("<tr id=\"{anchor}\">")),
        "{anchor}"
    );
    app.shutdown().await;
}

both_backends!(
    the_lead_board_warns_when_no_sales_destination_is_configured,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let sales = app.token(Role::Sales).await;
        let session = Session::start(&app, &sales).await;
        let (status, board) = session.get("/leads").await;
        assert_eq!(status, StatusCode::OK);
        assert!(board.contains("id=\"no-lead-destination\""), "{board}");
        assert!(
            board.contains("No sales destination is configured"),
            "{board}"
        );
        app.shutdown().await;

        let app = TestApp::spawn_with(backend, |c| {
            c.leads
                .webhooks
                .push(replyd::config::LeadWebhookConfig::json(
                    "http://127.0.0.1:9/crm",
                    replyd::config::Secret::new("s"),
                ))
        })
        .await;
        let sales = app.token(Role::Sales).await;
        let session = Session::start(&app, &sales).await;
        let (status, board) = session.get("/leads").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!board.contains("no-lead-destination"), "{board}");
        app.shutdown().await;
    }
);

both_backends!(
    the_queue_puts_urgent_flags_then_overdue_answers_first,
    |backend| async move {
        let app = TestApp::spawn_with(backend, |c| {
            c.sla.default_minutes = 60;
            c.sla.platforms.insert("shop".into(), 45);
        })
        .await;
        let ingest = app.token(Role::Ingest).await;
        let reviewer = app.token(Role::Reviewer).await;
        // Posted in this order; the queue used to show them so.
        let (fresh, _) = held_question(
            &app,
            &ingest,
            &reviewer,
            "o-1",
            "Do you also ship your bikes to Norway?",
        )
        .await;
        let mut old = message(
            "shop",
            "dm",
            "o-2",
            "Do you also ship your bikes to Iceland?",
        );
        let three_hours_ago = chrono::Utc::now() - chrono::Duration::hours(3);
        old["created_at"] = json!(three_hours_ago.to_rfc3339());
        let (old, _) = post_settled(&app, &ingest, &reviewer, &old).await;
        let (press, _) = held_question(&app, &ingest, &reviewer, "o-3",
            "I'm a journalist at De Volkskrant writing an article about bike theft. Could your press office comment?").await;

        let (status, body) = app.get_json(&reviewer, "/v1/reviews?status=held").await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        let order: Vec<&str> = items
            .iter()
            .map(|i| i["message_id"].as_str().unwrap())
            .collect();
        let mut expected = vec![press.as_str(), old.as_str(), fresh.as_str()];
        expected.dedup();
        // Each message may hold more than one action; their order is by message.
        let mut seen: Vec<&str> = order.clone();
        seen.dedup();
        assert_eq!(seen, expected, "{body}");
        let of = |id: &str| {
            items
                .iter()
                .find(|i| i["message_id"] == id)
                .unwrap()
                .clone()
        };
        let p = of(&press);
        assert!(
            p["flags"].as_array().unwrap().contains(&json!("press")),
            "{p}"
        );
        assert_eq!(p["priority"], "urgent", "{p}");
        assert_eq!(p["overdue"], false, "{p}");
        let o = of(&old);
        assert_eq!(o["priority"], "normal", "{o}");
        assert_eq!(o["overdue"], true, "{o}");
        // Due 45 minutes (shop's target) after the platform's own time.
        assert_eq!(
            o["due_at"].as_i64().unwrap(),
            three_hours_ago.timestamp_millis() + 45 * 60_000,
            "{o}"
        );
        let f = of(&fresh);
        assert_eq!(f["overdue"], false, "{f}");
        assert_eq!(
            f["due_at"].as_i64().unwrap(),
            f["received_at"].as_i64().unwrap() + 45 * 60_000,
            "{f}"
        );

        // A page at a time, the cursor carries on where the order left off.
        let (_, first) = app
            .get_json(&reviewer, "/v1/reviews?status=held&limit=1")
            .await;
        let cursor = first["next_cursor"].as_str().expect("more to come");
        let (_, second) = app
            .get_json(
                &reviewer,
                &format!("/v1/reviews?status=held&limit=1&cursor={cursor}"),
            )
            .await;
        assert_eq!(first["items"][0]["id"], items[0]["id"]);
        assert_eq!(second["items"][0]["id"], items[1]["id"], "{second}");

        // The console shows the same order, the overdue item marked.
        let session = Session::start(&app, &reviewer).await;
        let (status, page) = session.get("/queue").await;
        assert_eq!(status, StatusCode::OK);
        let at = |review: &Value| {
            page.find(&format!("id=\"review-{}\"", review["id"].as_str().unwrap()))
                .unwrap()
        };
        assert!(at(&p) < at(&o) && at(&o) < at(&f), "{page}");
        let overdue_tag = format!(
            "class=\"item priority-normal overdue\" tabindex=\"0\" id=\"review-{}\"",
            o["id"].as_str().unwrap()
        );
        assert!(page.contains(&overdue_tag), "{page}");
        assert!(page.contains("<span class=\"badge overdue\""), "{page}");
        assert_eq!(
            page.matches("<span class=\"badge overdue\"").count(),
            items.iter().filter(|i| i["overdue"] == true).count()
        );
        assert!(page.contains("badge priority priority-urgent"), "{page}");
        app.shutdown().await;
    }
);

both_backends!(
    only_delivered_actions_are_timed_and_a_connected_platform_has_no_banner,
    |backend| async move {
        let receiver = common::Recorder::default();
        let addr = receiver.start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.connectors
                .webhook
                .push(replyd::config::WebhookConnectorConfig {
                    platform: "shop".parse().unwrap(),
                    url: format!("http://{addr}/replyd"),
                    secret: replyd::config::Secret::new("webhook-secret"),
                })
        })
        .await;
        let ingest = app.token(Role::Ingest).await;
        let admin = app.token(Role::Admin).await;
        let (id, done) = post_settled(
            &app,
            &ingest,
            &admin,
            &message(
                "shop",
                "comment",
                "t-1",
                "Super service, thank you so much!",
            ),
        )
        .await;
        assert_eq!(done["actions"][0]["status"], "sent", "{done}");
        let session = Session::start(&app, &admin).await;
        let (_, dashboard) = session.get("/dashboard?days=7").await;
        let times = &dashboard[dashboard.find("Time to first response").unwrap()..];
        assert!(times.contains("<th scope=\"row\">shop</th>"), "{times}");
        let (_, page) = session.get(&format!("/messages/{id}")).await;
        assert!(page.contains("Delivered: acknowledge"), "{page}");
        assert!(!page.contains("dry-run-banner"), "{page}");
        let (_, queue) = session.get("/queue").await;
        assert!(!queue.contains("dry-run-banner"), "{queue}");
        app.shutdown().await;
    }
);
