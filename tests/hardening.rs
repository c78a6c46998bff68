//! A full disk, hostile clients and odd input leave replyd working: each
//! through the real daemon, on both databases where both apply.

mod common;
#[path = "common/graph.rs"]
mod graph;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{message, token_in, Backend, Daemon, TestApp};
use replyd::domain::Role;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes `head` and then up to `body_len` bytes of body in 64 KiB chunks,
/// `pause` apart, while reading the answer; returns the status line's code
/// (0 when the daemon closed without answering) once an answer arrives.
async fn raw_request(addr: SocketAddr, head: &str, body_len: usize, pause: Duration) -> u16 {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let send = async move {
        if writer.write_all(head.as_bytes()).await.is_ok() {
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(chunk.len());
                // The daemon may stop reading and close: its answer is
                // what the reader waits for.
                if writer.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                left -= n;
                tokio::time::sleep(pause).await;
            }
        }
        // Keep the connection open: only the daemon may end it.
        std::future::pending::<()>().await
    };
    let read = async move {
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let text = String::from_utf8_lossy(&answer);
        text.split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    };
    tokio::select! {
        status = read => status,
        _ = send => unreachable!("the sender never finishes"),
    }
}

/// The daemon's peak resident memory so far, from the kernel.
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kb / 1024.0
}

fn current_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kb / 1024.0
}

/// Sets the most bytes a file of `pid` may grow to (RLIMIT_FSIZE): past
/// it, a write fails as on a full disk.
fn limit_file_size(pid: u32, bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit reads `limit` and writes nothing back (null).
    let done = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// SQLite on a disk that fills up and then frees space: ingestion answers
/// 503 with `Retry-After` while it cannot write, `/readyz` says why, and
/// once there is room again ingestion works within seconds, without a
/// restart; nothing answered 202 is lost. The disk is a file-size limit on
/// the daemon process (RLIMIT_FSIZE): writes past it fail as they would on
/// a full filesystem, and raising it is freeing space.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_recovers_from_a_full_disk_without_a_restart() {
    let graph = graph::daemon_graph();
    let graph_url = graph.start().await;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("replyd.db");
    let url = format!("sqlite://{}", db_path.display());
    let ingest = token_in(&url, Role::Ingest).await;
    let reader = token_in(&url, Role::Viewer).await;
    let config = graph::daemon_config(dir.path(), &url, &graph_url, 600_000);
    let daemon = Daemon::start_with(&config, &[("RUST_LOG", "error")], |command| {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe calls between fork and exec. A
        // write past the limit then fails with EFBIG instead of killing
        // the process with SIGXFSZ.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    })
    .await;
    let pid = daemon.child.id();
    let base = format!("http://{}", daemon.addr);
    let client = reqwest::Client::new();
    let post = |n: usize| {
        let body = message(
            "shop",
            "review",
            &format!("full-{n}"),
            &format!("{n} {}", "Lang verhaal over de bestelling. ".repeat(250)),
        );
        let request = client
            .post(format!("{base}/v1/messages"))
            .bearer_auth(&ingest)
            .json(&body);
        async move { request.send().await.unwrap() }
    };

    let size = std::fs::metadata(&db_path).unwrap().len();
    limit_file_size(pid, size + 2 * 1024 * 1024);
    // RLIMIT_FSIZE limits each file, and SQLite writes two (the database
    // and its write-ahead log): a checkpoint that restarts the log can make
    // room again between a refused write and the next one. So the check is
    // "ready means writable": whenever /readyz says ready after a refusal,
    // the next write must be accepted; and /readyz must say not ready, with
    // its reason, at a refusal before the messages run out.
    let mut accepted = Vec::new();
    let mut n = 0;
    let mut not_ready_seen = false;
    while n < 4000 && !not_ready_seen {
        let response = post(n).await;
        n += 1;
        match response.status().as_u16() {
            202 => {
                accepted.push(
                    response.json::<Value>().await.unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
                continue;
            }
            503 => {}
            other => panic!("message {n}: {other} {}", response.text().await.unwrap()),
        }
        assert_eq!(response.headers()["retry-after"], "5");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        if ready.status() == 503 {
            let ready: Value = ready.json().await.unwrap();
            assert!(
                ready["reason"].as_str().unwrap().contains("refuses writes"),
                "{ready}"
            );
            not_ready_seen = true;
        } else {
            assert_eq!(ready.status(), 200);
            // Ready again: the database took the probe's write, so it
            // takes the next message too.
            let next = post(n).await;
            n += 1;
            assert_eq!(next.status(), 202, "ready, yet refusing writes");
            accepted.push(
                next.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    eprintln!("the disk filled after {} messages", accepted.len());
    assert!(
        not_ready_seen,
        "/readyz never said not ready in {n} messages"
    );
    assert!(
        !accepted.is_empty(),
        "the disk filled only after some messages"
    );

    limit_file_size(pid, libc::RLIM_INFINITY);
    let freed = Instant::now();
    loop {
        let response = post(100_000).await;
        if response.status() == 202 {
            break;
        }
        assert!(
            freed.elapsed() < Duration::from_secs(10),
            "ingestion still refused 10 s after space was freed: {}",
            response.text().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    for id in &accepted {
        let response = client
            .get(format!("{base}/v1/messages/{id}"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "message {id} answered 202 is kept");
    }
}

/// Unsigned webhook posts are refused before their bodies are read, and
/// only a few forged-but-well-formed ones are read at once: 48 hostile
/// 8 MiB posts at a time leave the daemon's memory nearly where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_webhook_bodies_cannot_fill_memory() {
    let graph = graph::daemon_graph();
    let graph_url = graph.start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("replyd.db").display());
    let config = graph::daemon_config(dir.path(), &url, &graph_url, 600_000);
    let daemon = Daemon::start(&config).await;
    let pid = daemon.child.id();
    let before = current_rss_mb(pid);
    let size = replyd::ingest::meta_webhook::MAX_WEBHOOK_BYTES;

    let unsigned = format!(
        "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {size}\r\n\r\n"
    );
    let posts = (0..48).map(|_| raw_request(daemon.addr, &unsigned, size, Duration::ZERO));
    for status in futures::future::join_all(posts).await {
        assert_eq!(status, 401, "refused on its missing signature");
    }
    let unsigned_peak = peak_rss_mb(pid) - before;
    eprintln!("unsigned: the daemon's peak grew by {unsigned_peak:.1} MB over {before:.1} MB");
    assert!(
        unsigned_peak < 64.0,
        "unsigned posts grew the daemon by {unsigned_peak:.0} MB"
    );

    let forged = format!(
        "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: sha256={}\r\nContent-Length: {size}\r\n\r\n",
        "0".repeat(64)
    );
    let posts = (0..48).map(|_| raw_request(daemon.addr, &forged, size, Duration::ZERO));
    for status in futures::future::join_all(posts).await {
        assert_eq!(status, 401, "refused on its wrong signature");
    }
    let forged_peak = peak_rss_mb(pid) - before;
    eprintln!("forged: the daemon's peak grew by {forged_peak:.1} MB over {before:.1} MB");
    assert!(
        forged_peak < 256.0,
        "forged posts grew the daemon by {forged_peak:.0} MB (48 read at once would be 768)"
    );

    let too_big = format!(
        "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: sha256={}\r\nContent-Length: {}\r\n\r\n",
        "0".repeat(64),
        size + 1
    );
    assert_eq!(
        raw_request(daemon.addr, &too_big, size + 1, Duration::ZERO).await,
        413
    );
}

/// A client sending its headers or its body a trickle at a time is cut off
/// at the deadline instead of holding a connection for as long as it likes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_slow_bodies_meet_a_deadline() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.http.header_timeout_secs = 1;
        config.http.body_timeout_secs = 2;
    })
    .await;
    let ingest = app.token(Role::Ingest).await;

    let started = Instant::now();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let mut closed = false;
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa" {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(
        closed || read.is_ok(),
        "the daemon still held a connection whose headers took {:?}",
        started.elapsed()
    );

    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ingest}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        1024 * 1024
    );
    let started = Instant::now();
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        raw_request(app.addr, &head, 1024 * 1024, Duration::from_millis(500)),
    )
    .await
    .expect("a slow body is answered at its deadline");
    assert_eq!(status, 408);
    assert!(started.elapsed() >= Duration::from_secs(2));
    app.shutdown().await;
}

both_backends!(
    odd_input_is_refused_by_name_or_kept_whole,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let ingest = app.token(Role::Ingest).await;
        let admin = app.token(Role::Admin).await;

        for text in ["\u{0}\u{0}\u{0}", "\u{200b}\u{feff}\u{2060} \n"] {
            let (status, body) = app
                .post_messages(&ingest, &message("shop", "review", "odd-1", text))
                .await;
            assert_eq!(status, 400, "{text:?}: {body}");
            assert_eq!(body["error"]["field"], "text", "{body}");
        }
        let mut long_name = message("shop", "review", "odd-2", "Fijne winkel");
        long_name["author"]["name"] = json!("n".repeat(200_000));
        let (status, body) = app.post_messages(&ingest, &long_name).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["field"], "author.name", "{body}");

        let batch = json!([
            message("shop", "review", "odd-3", "Snelle levering"),
            message("shop", "review", "odd-4", "Prima"),
            message("shop", "review", "odd-3", "Trage levering"),
        ]);
        let (status, body) = app.post_messages(&ingest, &batch).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "conflicting_duplicate");
        assert_eq!(body["error"]["index"], 2);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("0 and 2"),
            "{body}"
        );
        let (_, listed) = app.get_json(&admin, "/v1/messages").await;
        assert_eq!(
            listed["items"].as_array().unwrap().len(),
            0,
            "nothing of a refused batch is kept"
        );

        // The scheme of `Authorization` is case-insensitive (RFC 7235).
        for scheme in ["bearer", "BEARER", "Bearer"] {
            let response = app
                .client
                .get(app.url("/v1/messages"))
                .header("authorization", format!("{scheme} {admin}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{scheme}");
        }

        // An id no review has is not found; one that exists but was decided
        // is a conflict (tests/review.rs).
        for (verb, body) in [
            ("approve", json!({})),
            ("reject", json!({"reason": "spam"})),
        ] {
            let response = app
                .request(
                    Method::POST,
                    &format!("/v1/reviews/0193b2c4-0000-7000-8000-000000000000/{verb}"),
                    &admin,
                )
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{verb}");
        }
        app.shutdown().await;
    }
);
