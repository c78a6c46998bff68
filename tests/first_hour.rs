//! What a new user meets first, through the binary: the start summary in
//! the log (without colour codes when it goes to a file) and `replyd check`.

mod common;
#[allow(dead_code)]
#[path = "common/graph.rs"]
mod graph;

use std::process::Command;

use common::Daemon;

fn replyd_check(config: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_replyd"))
        .arg("--config")
        .arg(config)
        .arg("check")
        .env_remove("OPENAI_API_KEY")
        .envs(env.iter().copied())
        .output()
        .expect("replyd runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_says_what_is_on_and_fails_on_what_will_not_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replyd.db");
    let config = dir.path().join("replyd.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{}\"\n\
             [model]\nenabled = false\n\
             [brand]\nname = \"Fietsie\"\n\
             [llm]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"llama3.1\"\napi_key_env = \"FIRST_HOUR_LLM_KEY\"\n\
             [meta]\napp_secret = \"app-secret-value-123\"\nverify_token = \"v\"\n\
             [[meta.pages]]\nid = \"1001\"\nplatform = \"facebook\"\naccess_token = \"page-token-value-456\"\n\
             [[meta.pages]]\nid = \"2002\"\nplatform = \"instagram\"\naccess_token = \"ig-token\"\n",
            db.display()
        ),
    )
    .unwrap();

    let (code, stdout, stderr) = replyd_check(&config, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    for said in [
        "SQLite",
        "facebook: 1 page",
        "instagram: 1 page",
        "dry run",
        "llama3.1 at http://127.0.0.1:9/v1",
        "/console",
        "Fietsie",
    ] {
        assert!(stdout.contains(said), "`{said}` in {stdout}");
    }
    assert!(
        stdout.contains("problem: the LLM's key variable FIRST_HOUR_LLM_KEY is unset"),
        "{stdout}"
    );
    assert!(stderr.contains("1 problem"), "{stderr}");
    for secret in ["app-secret-value-123", "page-token-value-456"] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }

    // With the key set, nothing is wrong.
    let (code, stdout, _) = replyd_check(&config, &[("FIRST_HOUR_LLM_KEY", "sk-test")]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no problems found"), "{stdout}");
    assert!(!stdout.contains("sk-test"), "{stdout}");

    // A facts file that does not parse is found before serving.
    let facts = dir.path().join("facts.toml");
    std::fs::write(&facts, "[[fact]]\ntopic = \n").unwrap();
    let with_facts = format!(
        "facts_file = \"{}\"\n{}",
        facts.display(),
        std::fs::read_to_string(&config).unwrap()
    );
    std::fs::write(&config, with_facts).unwrap();
    let (code, stdout, _) = replyd_check(&config, &[("FIRST_HOUR_LLM_KEY", "sk-test")]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("facts.toml"),
        "the bad file is named: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_says_what_is_on_at_start_in_a_log_without_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("replyd.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{}\"\n[model]\nenabled = false\n",
            dir.path().join("replyd.db").display()
        ),
    )
    .unwrap();
    let daemon = Daemon::start_with_env(&config, &[("RUST_LOG", "info")]).await;
    let port = daemon.addr.port();
    drop(daemon);
    let log = std::fs::read_to_string(config.with_extension(format!("{port}.log"))).unwrap();
    assert!(log.contains("replyd configuration"), "{log}");
    assert!(log.contains("templates only"), "{log}");
    assert!(log.contains("dry run"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file: {log:?}"
    );
}

#[test]
fn check_refuses_a_page_without_an_access_token_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("replyd.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{}\"\n[model]\nenabled = false\n\
             [meta]\napp_secret = \"s\"\nverify_token = \"v\"\n\
             [[meta.pages]]\nid = \"2002\"\nplatform = \"instagram\"\naccess_token = \"\"\n",
            dir.path().join("replyd.db").display()
        ),
    )
    .unwrap();
    let (code, _, stderr) = replyd_check(&config, &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("meta.pages[0].access_token"), "{stderr}");
}

/// The README's dry run of a Meta setup, as written: the sample payload's
/// page is the example config's, and `meta simulate` finds the daemon at
/// the configured `listen` address and signs with the configured secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_simulate_reaches_the_configured_daemon_without_flags() {
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/replyd.example.toml"))
            .unwrap();
    assert!(
        example.contains("# id = \"1001\""),
        "the example config names the samples' page"
    );
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/meta/facebook_comment.json"
    ))
    .unwrap();
    assert!(fixture.contains("\"id\": \"1001\""));

    let graph = graph::daemon_graph();
    let graph_url = graph.start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("replyd.db").display());
    let config = graph::daemon_config(dir.path(), &url, &graph_url, 600);
    let daemon = Daemon::start(&config).await;
    let listen = daemon.addr.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_replyd"))
            .arg("--config")
            .arg(&config)
            .args(["meta", "simulate", "--now"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/meta/facebook_comment.json"
            ))
            .env("REPLYD_LISTEN", &listen)
            .env_remove("META_APP_SECRET")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("200 "), "{stdout}");
    drop(daemon);
}
