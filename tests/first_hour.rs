//! What a new user meets first, through the binary: the start summary in
//! the log (without colour codes when it goes to a file) and `replyd check`.

mod common;
#[allow(dead_code)]
#[path = "common/graph.rs"]
mod graph;

use std::process::Command;

use common::Daemon;

/// The exit code, stdout and stderr of a finished `replyd`.
fn finished(command: &mut Command) -> (i32, String, String) {
    let out = command.output().expect("replyd runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn replyd_check(config: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    finished(
        Command::new(env!("CARGO_BIN_EXE_replyd"))
            .arg("--config")
            .arg(config)
            .arg("check")
            .env_remove("OPENAI_API_KEY")
            .envs(env.iter().copied()),
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

fn replyd(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    finished(
        Command::new(env!("CARGO_BIN_EXE_replyd"))
            .current_dir(dir)
            .args(args)
            .env_remove("DATABASE_URL")
            .stdin(std::process::Stdio::null()),
    )
}

/// `replyd init` from a script: the file it writes names the brand, loads,
/// and `check` says honestly what it turns on (templates only; the pages
/// asked for run dry until their secrets are filled in).
#[test]
fn init_writes_a_config_that_check_accepts_and_never_overwrites_one() {
    let dir = tempfile::tempdir().unwrap();
    let brand = "Bakkerij \"De Korst\" & Zn";
    let (code, _, stderr) = replyd(
        dir.path(),
        &[
            "init",
            "--brand-name",
            brand,
            "--languages",
            "nl,en",
            "--platforms",
            "facebook,instagram",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let file = dir.path().join("replyd.toml");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("De Korst"), "{written}");
    assert!(written.contains("# platform = \"instagram\""), "{written}");
    assert!(
        stderr.contains("facebook and instagram run dry"),
        "{stderr}"
    );

    let (code, stdout, stderr) = replyd(dir.path(), &["--config", "replyd.toml", "check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for said in [
        "templates only",
        "dry run",
        "SQLite, replyd.db",
        brand,
        "no problems found",
    ] {
        assert!(stdout.contains(said), "`{said}` in {stdout}");
    }
    assert!(
        !stdout.contains("facebook: 1 page"),
        "no page is on before its token is: {stdout}"
    );

    // A second init keeps the file and says how to replace it.
    let (code, _, stderr) = replyd(dir.path(), &["init", "--yes"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("replyd.toml already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);
    let (code, _, stderr) = replyd(dir.path(), &["init", "--yes", "--force", "replyd.toml"]);
    assert_eq!(code, 0, "{stderr}");
    let replaced = std::fs::read_to_string(&file).unwrap();
    assert!(!replaced.contains("De Korst"), "{replaced}");
    assert!(replaced.contains("# name = \"Your brand\""), "{replaced}");
}

#[test]
fn init_names_a_bad_answer_and_the_good_ones_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("brand.toml");
    let path = file.to_str().unwrap();
    let (code, _, stderr) = replyd(
        dir.path(),
        &["init", path, "--yes", "--languages", "nl,klingon"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("unknown language `klingon`") && stderr.contains("nl, en, de, fr, es"),
        "{stderr}"
    );
    let (code, _, stderr) = replyd(
        dir.path(),
        &["init", path, "--yes", "--platforms", "facebok"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("unknown platform `facebok`") && stderr.contains("facebook, instagram"),
        "{stderr}"
    );
    // Nothing to ask on: a script names its answers or takes the defaults.
    let (code, _, stderr) = replyd(dir.path(), &["init", path, "--languages", "en"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--brand-name, --platforms") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert!(!file.exists());
}

/// One step of a shell walk-through: lines run together, and what they
/// should print (the comment lines right under them; `...` is anything).
#[derive(Debug, Default)]
struct Step {
    script: String,
    expected: Vec<String>,
}

/// The ```sh blocks between `<!-- walkthrough:start -->` and
/// `<!-- walkthrough:end -->`, as steps. A blank line or a comment above a
/// command separates steps; a here-document is taken as written.
fn walkthrough_steps(readme: &str) -> Vec<Step> {
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("the README marks its walk-through");
    let end = start
        + readme[start..]
            .find("<!-- walkthrough:end -->")
            .expect("the walk-through's end marker");
    let mut steps = Vec::new();
    let mut current: Option<Step> = None;
    let mut in_block = false;
    let mut heredoc_end: Option<String> = None;
    for line in readme[start..end].lines() {
        if !in_block {
            in_block = line.trim() == "```sh";
            continue;
        }
        if let Some(word) = &heredoc_end {
            let script = &mut current.as_mut().expect("a here-document's command").script;
            script.push_str(line);
            script.push('\n');
            if line.trim() == word {
                heredoc_end = None;
            }
            continue;
        }
        let text = line.trim_start();
        if text == "```" || text.is_empty() {
            steps.extend(current.take());
            in_block = text != "```";
            continue;
        }
        if let Some(comment) = text.strip_prefix('#') {
            // Under a command, a comment is what it prints; above one, prose.
            if let Some(step) = current.as_mut() {
                step.expected.push(comment.trim().to_owned());
            }
            continue;
        }
        if current.as_ref().is_some_and(|s| !s.expected.is_empty()) {
            steps.extend(current.take());
        }
        let step = current.get_or_insert_with(Step::default);
        step.script.push_str(line);
        step.script.push('\n');
        if let Some(at) = line.find("<<") {
            let word: String = line[at + 2..]
                .trim_start_matches('-')
                .trim_matches(|c| c == '\'' || c == '"' || c == ' ')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            heredoc_end = Some(word);
        }
    }
    steps.extend(current);
    steps
}

/// Whether `actual` reads as `expected`, where `...` stands for anything.
fn reads_as(actual: &str, expected: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    let (first, rest) = parts.split_first().unwrap();
    let Some(mut left) = actual.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return left.is_empty();
    };
    for part in middle {
        match left.find(part) {
            Some(at) => left = &left[at + part.len()..],
            None => return false,
        }
    }
    left.ends_with(last)
}

/// One bash for the whole walk-through, so its variables live from step
/// to step, as in a person's terminal.
struct Shell {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    dir: std::path::PathBuf,
}

const STEP_DONE: &str = "__walkthrough_step_done__";

/// Stand-ins for what a test machine lacks, and nothing more: the README's
/// `cargo run --release --` is the replyd under test; `serve` runs in the
/// background as in "another terminal", a second one stopping the first as
/// Ctrl-C would; `localhost:8080` is this test's port; and an error answer
/// fails the step, as a person reading it would see.
const SHIMS: &str = r#"
set -o pipefail
cargo() {
  if [ "$1 $2 $3" != "run --release --" ]; then echo "the walk-through runs cargo $*" >&2; return 97; fi
  shift 3
  replyd "$@"
}
replyd() {
  if [ "$1" != serve ]; then "$WALKTHROUGH_REPLYD" "$@"; return; fi
  if [ -n "$SERVE_PID" ]; then kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; fi
  "$WALKTHROUGH_REPLYD" "$@" </dev/null >>serve.log 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1800); do
    command curl -sf "http://$REPLYD_LISTEN/healthz" >/dev/null && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
curl() {
  command curl --fail-with-body --max-time 60 \
    --connect-to "localhost:8080:127.0.0.1:${REPLYD_LISTEN##*:}" "$@"
}
"#;

impl Shell {
    fn start(dir: &std::path::Path, port: u16) -> Shell {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc"])
            .current_dir(dir)
            // A fresh machine's environment: none of this one's REPLYD_*
            // or DATABASE_URL, only where programs and the model's cache are.
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", std::env::var("HOME").unwrap())
            .env("WALKTHROUGH_REPLYD", env!("CARGO_BIN_EXE_replyd"))
            .env("REPLYD_LISTEN", format!("127.0.0.1:{port}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(dir.join("shell.err")).unwrap())
            // Its own process group, so the daemon it started goes with it.
            .process_group(0);
        if let Ok(cache) = std::env::var("XDG_CACHE_HOME") {
            command.env("XDG_CACHE_HOME", cache);
        }
        let mut child = command.spawn().expect("bash runs");
        let stdin = child.stdin.take().unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut shell = Shell {
            child,
            stdin,
            stdout,
            dir: dir.to_owned(),
        };
        let (status, out) = shell.run(SHIMS);
        assert_eq!(status, 0, "{out}");
        shell
    }

    /// Runs `script`; its exit status and what it printed on stdout.
    fn run(&mut self, script: &str) -> (i32, String) {
        use std::io::{BufRead, Write};
        write!(
            self.stdin,
            "{{\n{script}\n}} </dev/null 2>>steps.err\n\
             __status=$?; echo; echo \"{STEP_DONE} $__status\"\n"
        )
        .unwrap();
        self.stdin.flush().unwrap();
        let mut printed = String::new();
        loop {
            let mut line = String::new();
            let read = self.stdout.read_line(&mut line).unwrap();
            assert!(read > 0, "the shell ended: {}", self.logs());
            if let Some(status) = line.strip_prefix(STEP_DONE) {
                return (status.trim().parse().unwrap(), printed.trim().to_owned());
            }
            printed.push_str(&line);
        }
    }

    /// The steps' errors and the daemon's log, for a failure's message.
    fn logs(&self) -> String {
        ["steps.err", "shell.err", "serve.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- {name}\n{}\n", tail.join("\n"))
            })
            .collect()
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Meta pages the walk-through's config names, with their tokens: the
/// Graph API knows them, as Meta does.
fn meta_pages_configured(dir: &std::path::Path) -> Vec<(String, String)> {
    let path = dir.join("replyd.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    replyd::config::Config::from_sources(
        &path,
        &text,
        std::iter::empty(),
        &replyd::config::Overrides::default(),
    )
    .ok()
    .and_then(|config| config.meta)
    .map(|meta| {
        meta.pages
            .iter()
            .map(|p| (p.id.clone(), p.access_token.expose().to_owned()))
            .collect()
    })
    .unwrap_or_default()
}

/// The README's walk-through, run as written on a fresh copy of the files
/// it names, ends with the configured page answering the simulated comment
/// through the (fake) Graph API. Should the README drift (a command, a
/// flag, a key, an answer it shows), a step fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walk_through_ends_with_a_page_answering_a_simulated_comment() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let steps = walkthrough_steps(&std::fs::read_to_string(root.join("README.md")).unwrap());
    assert!(steps.len() >= 8, "{steps:#?}");

    // The checkout: every file of the repository a step names.
    let checkout = tempfile::tempdir().unwrap();
    let mut simulated = Vec::new();
    for step in &steps {
        for word in step.script.split_whitespace() {
            let file = root.join(word);
            if word.contains('.') && file.is_file() {
                let copy = checkout.path().join(word);
                std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
                std::fs::copy(&file, &copy).unwrap();
                if step.script.contains("meta simulate") && word.ends_with(".json") {
                    simulated.push(copy);
                }
            }
        }
    }
    assert!(
        !simulated.is_empty(),
        "the walk-through simulates a comment"
    );

    let graph = graph::FakeGraph::default();
    let graph_url = graph.start().await;
    let dir = checkout.path().to_owned();
    let port = common::free_port();
    let fake = graph.clone();
    let shell = tokio::task::spawn_blocking(move || {
        let mut shell = Shell::start(&dir, port);
        let mut graph_url_set = false;
        for step in &steps {
            let pages = meta_pages_configured(&dir);
            if !pages.is_empty() && !graph_url_set {
                let (status, _) = shell.run(&format!("export REPLYD_META__GRAPH_URL={graph_url}"));
                assert_eq!(status, 0);
                graph_url_set = true;
            }
            fake.tokens.lock().unwrap().extend(pages);
            let (status, printed) = shell.run(&step.script);
            assert_eq!(
                status,
                0,
                "step failed:\n{}\nprinted: {printed}\n{}",
                step.script,
                shell.logs()
            );
            if !step.expected.is_empty() {
                let expected = step.expected.join("\n");
                assert!(
                    reads_as(&printed, &expected),
                    "step:\n{}\nprinted `{printed}`, the README shows `{expected}`",
                    step.script
                );
            }
        }
        assert!(graph_url_set, "the walk-through configures a Meta page");
        shell
    })
    .await
    .unwrap();

    for fixture in &simulated {
        let payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
        for entry in payload["entry"].as_array().unwrap() {
            for change in entry["changes"].as_array().unwrap() {
                let comment = change["value"]["comment_id"].as_str().expect("a comment");
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                let replies = loop {
                    let replies = graph.replies_to(comment);
                    if !replies.is_empty() {
                        break replies;
                    }
                    assert!(
                        std::time::Instant::now() < deadline,
                        "no reply to {comment} reached the Graph API: {:?}\n{}",
                        graph.calls(),
                        shell.logs()
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                };
                let (_, text, page) = &replies[0];
                assert_eq!(page, entry["id"].as_str().unwrap(), "the page answers");
                assert!(!text.trim().is_empty());
                assert_eq!(replies.len(), 1, "one answer: {replies:?}");
            }
        }
    }
    graph.assert_all_valid();
    drop(shell);
}

#[test]
fn the_walk_through_reader_keeps_steps_outputs_and_here_documents() {
    let readme = "prose\n<!-- walkthrough:start -->\n```sh\n# 1. Say hi.\necho hi \\\n  there\n# hi there\n\n\
                  cat > f <<'EOF'\n# kept\n\nx = 1\nEOF\nwc -l f\n```\n\n```toml\nnot = \"run\"\n```\n\
                  <!-- walkthrough:end -->\n```sh\nnot run\n```\n";
    let steps = walkthrough_steps(readme);
    assert_eq!(steps.len(), 2, "{steps:#?}");
    assert_eq!(steps[0].script, "echo hi \\\n  there\n");
    assert_eq!(steps[0].expected, vec!["hi there"]);
    assert_eq!(
        steps[1].script,
        "cat > f <<'EOF'\n# kept\n\nx = 1\nEOF\nwc -l f\n"
    );
    assert!(reads_as("200 {\"new\":1}", "200 {...}"));
    assert!(reads_as("{\"id\":\"0193abc\"}", "{\"id\":\"0193...\"}"));
    assert!(!reads_as("500 {}", "200 ..."));
    assert!(!reads_as("200 {} and more", "200 {}"));
}
