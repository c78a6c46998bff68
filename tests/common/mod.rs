//! Test harness: starts the real daemon on port 0 with a fresh database
//! (a SQLite file in a temp dir, or a new PostgreSQL database), plus local
//! HTTP servers standing in for what cannot be reached from here.
#![allow(dead_code)]

pub mod fake_llm;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use replyd::config::{Config, Overrides};
use replyd::domain::Role;
use replyd::startup::Application;
use replyd::store::{tokens, Db};
use reqwest::Method;
use serde_json::Value;
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("PG_TEST_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database URL no other test uses.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("replyd.db").display()),
        Backend::Postgres => {
            let name = format!("replyd_t_{}", uuid::Uuid::new_v4().simple());
            let admin = pg_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("PostgreSQL reachable (tests/run starts one)");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').expect("URL with a database").0;
            format!("{base}/{name}")
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub database_url: String,
    pub client: reqwest::Client,
    pub stop: CancellationToken,
    pub handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub dir: Arc<tempfile::TempDir>,
}

pub fn base_config(database_url: &str) -> Config {
    let mut config = Config::from_sources(
        std::path::Path::new("test.toml"),
        "",
        std::iter::empty(),
        &Overrides::default(),
    )
    .expect("default config");
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = replyd::config::Secret::new(database_url);
    config.pipeline.poll_interval_ms = 100;
    config.delivery.backoff_base_ms = 50;
    config.delivery.backoff_max_ms = 500;
    config
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let url = fresh_database(backend, dir.path()).await;
        Self::start(dir, &url, configure).await
    }

    /// Starts a daemon on an existing database (for restarts).
    pub async fn start(
        dir: Arc<tempfile::TempDir>,
        database_url: &str,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = base_config(database_url);
        configure(&mut config);
        let app = Application::build(config).await.expect("daemon starts");
        let addr = app.addr();
        let stop = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(stop.clone()));
        TestApp {
            addr,
            database_url: database_url.to_owned(),
            client: reqwest::Client::new(),
            stop,
            handle: Some(handle),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn token(&self, role: Role) -> String {
        let db = Db::connect(&self.database_url).await.unwrap();
        let token = replyd::auth::generate_token();
        let mut conn = db.conn().await.unwrap();
        tokens::insert(
            &mut conn,
            &format!("test-{role}"),
            role,
            &replyd::auth::hash_token(&token),
        )
        .await
        .unwrap();
        token
    }

    /// A request to the daemon's `path`, with `token` as the bearer.
    pub fn request(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// Sends a request with `body` as JSON (none when `None`), and answers
    /// as [`answer`] does.
    pub async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request).await
    }

    pub async fn post_messages(&self, token: &str, body: &Value) -> (u16, Value) {
        self.call(Method::POST, token, "/v1/messages", Some(body))
            .await
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (u16, Value) {
        self.call(Method::GET, token, path, None).await
    }

    pub async fn post_json(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, token, path, Some(&body)).await
    }

    /// Polls `path` until `done` holds for its body, or panics after
    /// `timeout`.
    pub async fn wait_for(
        &self,
        token: &str,
        path: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.get_json(token, path).await;
            assert_eq!(status, 200, "{body}");
            if done(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never reached the expected state: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_for_message(
        &self,
        token: &str,
        id: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_for(token, &format!("/v1/messages/{id}"), timeout, done)
            .await
    }

    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }
}

/// A message for `POST /v1/messages`.
pub fn message(platform: &str, kind: &str, external_id: &str, text: &str) -> Value {
    serde_json::json!({
        "platform": platform,
        "kind": kind,
        "external_id": external_id,
        "author": {"id": format!("author-{external_id}"), "name": "Sam Jansen"},
        "text": text,
    })
}

/// Sends a request: its status, and its JSON answer (null when it has none).
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// How long a test waits for the pipeline to get a message somewhere.
pub const WAIT: Duration = Duration::from_secs(60);

/// Posts one message and waits until the pipeline has settled it: its id,
/// and the message as it then reads.
pub async fn post_settled(
    app: &TestApp,
    ingest: &str,
    reader: &str,
    msg: &Value,
) -> (String, Value) {
    let (status, body) = app.post_messages(ingest, msg).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let done = app.wait_for_message(reader, &id, WAIT, settled).await;
    (id, done)
}

/// A question nobody answered yet, as a DM: its reply is held for a person.
pub async fn held_question(
    app: &TestApp,
    ingest: &str,
    reader: &str,
    external_id: &str,
    text: &str,
) -> (String, Value) {
    post_settled(
        app,
        ingest,
        reader,
        &message("shop", "dm", external_id, text),
    )
    .await
}

/// A message is settled when it is done, or decided with only held actions.
pub fn settled(body: &Value) -> bool {
    let stage = body["message"]["stage"].as_str().unwrap_or_default();
    stage == "done"
        || (stage == "decided"
            && body["actions"].as_array().is_some_and(|a| {
                a.iter()
                    .all(|x| x["status"] != "pending" && x["status"] != "sending")
            }))
}

pub fn actions_of(body: &Value) -> Vec<(String, String)> {
    body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A local HTTP server that records every request it gets and answers as
/// told: the stand-in for a brand's webhook receiver.
#[derive(Clone, Default)]
pub struct Recorder {
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// Status codes to answer with before answering 200, in order.
    pub failures: Arc<Mutex<Vec<u16>>>,
    /// How long each answer takes.
    pub delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Recorder {
    pub async fn start(&self) -> SocketAddr {
        use axum::response::IntoResponse;
        let this = self.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let this = this.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap()
                    .to_vec();
                this.requests.lock().unwrap().push(Recorded {
                    path: parts.uri.path().to_owned(),
                    headers: parts.headers,
                    body,
                });
                let delay = this.delay_ms.load(std::sync::atomic::Ordering::Relaxed);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                let failure = {
                    let mut f = this.failures.lock().unwrap();
                    (!f.is_empty()).then(|| f.remove(0))
                };
                match failure {
                    Some(code) => axum::http::StatusCode::from_u16(code)
                        .unwrap()
                        .into_response(),
                    None => axum::Json(serde_json::json!({"id": uuid::Uuid::new_v4().to_string()}))
                        .into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }
}

/// Action kinds that put words in front of a customer.
pub const TEXT_KINDS: &[&str] = &[
    "acknowledge",
    "reply",
    "private_reply",
    "dm_reply",
    "prequalify",
];

/// Statuses of an action that went (or, without a connector, would go) out.
pub const OUT: &[&str] = &["sent", "dry_run", "sending", "pending"];

/// Runs a test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(common::Backend::Postgres).await
            }
        }
    };
}

/// A free loopback port (for daemons started as separate processes).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `replyd` binary as a child process, for kill -9 tests.
pub struct Daemon {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl Daemon {
    pub async fn start(config_file: &std::path::Path) -> Daemon {
        Daemon::start_with_env(config_file, &[]).await
    }

    /// With these environment variables set (`RUST_LOG`...).
    pub async fn start_with_env(config_file: &std::path::Path, env: &[(&str, &str)]) -> Daemon {
        Daemon::start_with(config_file, env, |_| {}).await
    }

    /// With `prepare` applied to the command before it runs (limits...).
    pub async fn start_with(
        config_file: &std::path::Path,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&mut std::process::Command),
    ) -> Daemon {
        let port = free_port();
        let log_path = config_file.with_extension(format!("{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_replyd"));
        prepare(&mut command);
        let child = command
            .envs(env.iter().copied())
            .arg("--config")
            .arg(config_file)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("replyd binary runs");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(format!("http://{addr}/healthz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "daemon did not come up:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Daemon { child, addr }
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a token directly in a database (migrating it first).
pub async fn token_in(database_url: &str, role: Role) -> String {
    let db = Db::connect(database_url).await.unwrap();
    db.migrate().await.unwrap();
    let token = replyd::auth::generate_token();
    let mut conn = db.conn().await.unwrap();
    tokens::insert(
        &mut conn,
        &format!("test-{role}"),
        role,
        &replyd::auth::hash_token(&token),
    )
    .await
    .unwrap();
    // `close` waits for every checked-out connection: give ours back first.
    drop(conn);
    db.close().await;
    token
}
