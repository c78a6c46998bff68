//! The model's command-line tools, run as a user runs them: the real binary,
//! the real model (fetched into the cache by the test command).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn replyd(args: &[&str], stdin: &str) -> Output {
    replyd_with(args, stdin, &[])
}

fn replyd_with(args: &[&str], stdin: &str, env: &[(&str, String)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_replyd"))
        .args(args)
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "replyd {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn sums_to_one(scores: &Value) -> bool {
    let total: f64 = scores
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    (total - 1.0).abs() < 1e-3
}

#[test]
fn classify_jsonl_answers_every_line_in_order_and_names_the_bad_one() {
    let input = [
        r#"{"id": "a", "text": "Mijn bestelling is kapot aangekomen en niemand reageert. Belachelijk!"}"#,
        r#"{"id": 2, "text": "not json"#,
        r#"{"id": "c", "text": "Wir möchten gern eine Partnerschaft mit Ihrer Marke besprechen.", "lang": "de"}"#,
        r#"{"id": "d"}"#,
        r#"{"id": "e", "text": "Mail me at jan.jansen@example.com, I want my refund"}"#,
    ]
    .join("\n");
    let lines = json_lines(&replyd(&["classify", "--jsonl"], &input));
    assert_eq!(lines.len(), 5, "{lines:#?}");

    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["lang"], "nl");
    assert_eq!(lines[0]["sentiment"]["label"], "negative");
    assert_eq!(lines[0]["intent"]["label"], "complaint");
    assert!(sums_to_one(&lines[0]["sentiment"]["scores"]));
    assert!(sums_to_one(&lines[0]["intent"]["scores"]));
    assert_eq!(
        lines[0]["intent"]["scores"].as_object().unwrap().len(),
        8,
        "every intent scored"
    );

    assert_eq!(lines[1]["error"]["line"], 2, "{}", lines[1]);
    assert_eq!(lines[3]["error"]["line"], 4, "a line without text");
    assert!(lines[3]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("text"));

    assert_eq!(lines[2]["id"], "c");
    assert_eq!(lines[2]["lang"], "de");
    assert_eq!(lines[2]["intent"]["label"], "lead");

    assert_eq!(lines[4]["id"], "e");
    assert!(
        lines[4]["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("pii")),
        "{}",
        lines[4]
    );
    assert!(
        lines[4]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "pii.email" && r["match"] == "j***@example.com"),
        "the rule is named and the address masked: {}",
        lines[4]["rules"]
    );
}

#[test]
fn the_built_in_ensemble_averages_its_members_sentiment_and_keeps_the_rest_of_the_first() {
    let input = [
        r#"{"id": 1, "text": "Het pakket kwam een week te laat, maar de fiets zelf is prima."}"#,
        r#"{"id": 2, "text": "Ok, thanks. Not what I hoped for, but fine I guess."}"#,
    ]
    .join("\n");
    let classify =
        |env: &[(&str, String)]| json_lines(&replyd_with(&["classify", "--jsonl"], &input, env));
    let root = env!("CARGO_MANIFEST_DIR");
    let alone = || ("REPLYD_MODEL__ENSEMBLE", "false".to_owned());
    let both = classify(&[]);
    let first = classify(&[alone()]);
    let second = classify(&[
        alone(),
        (
            "REPLYD_MODEL__ADAPTERS_DIR",
            format!("{root}/models/second/adapters"),
        ),
        (
            "REPLYD_MODEL__HEADS_DIR",
            format!("{root}/models/second/heads"),
        ),
    ]);
    for (i, row) in both.iter().enumerate() {
        assert_ne!(
            first[i]["sentiment"]["scores"], second[i]["sentiment"]["scores"],
            "the members are different models"
        );
        for (class, p) in row["sentiment"]["scores"].as_object().unwrap() {
            let mean = (first[i]["sentiment"]["scores"][class].as_f64().unwrap()
                + second[i]["sentiment"]["scores"][class].as_f64().unwrap())
                / 2.0;
            assert!(
                (p.as_f64().unwrap() - mean).abs() < 2e-3,
                "text {i}, sentiment {class}: {p} is not the members' mean {mean}"
            );
        }
        for (class, p) in row["intent"]["scores"].as_object().unwrap() {
            let own = first[i]["intent"]["scores"][class].as_f64().unwrap();
            assert!(
                (p.as_f64().unwrap() - own).abs() < 2e-3,
                "text {i}, intent {class}: {p} is not the first member's {own}"
            );
        }
        for signal in ["hate", "offensive"] {
            let own = first[i]["toxicity"][signal].as_f64().unwrap();
            assert!((row["toxicity"][signal].as_f64().unwrap() - own).abs() < 2e-3);
        }
    }
}

#[test]
fn eval_reports_sentiment_and_polarity_per_language() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reviews.jsonl");
    let rows = [
        (
            "Prachtige lamp, snel geleverd en heel goed verpakt. Aanrader!",
            "positive",
            "nl",
        ),
        (
            "Na twee dagen kapot en de klantenservice reageert niet. Nooit meer.",
            "negative",
            "nl",
        ),
        (
            "Absolutely love this jacket, warm and it fits perfectly.",
            "positive",
            "en",
        ),
        (
            "Terrible quality, the zipper broke the first time I used it.",
            "negative",
            "en",
        ),
        ("Wanneer gaan jullie open op zondag?", "neutral", "nl"),
    ];
    let text: String = rows
        .iter()
        .map(|(t, s, l)| {
            serde_json::json!({"text": t, "sentiment": s, "lang": l}).to_string() + "\n"
        })
        .collect();
    std::fs::write(&file, text).unwrap();

    let out = replyd(&["eval", file.to_str().unwrap(), "--json"], "");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sentiment"]["rows"], 5);
    assert_eq!(report["sentiment"]["per_lang"]["nl"]["rows"], 3);
    // Polarity scores only the rows whose writer took a side.
    assert_eq!(report["sentiment_polarity"]["rows"], 4);
    assert_eq!(report["sentiment_polarity"]["accuracy"], 1.0, "{report}");
    assert!(
        report.get("intent").is_none(),
        "no intent labels, no intent report"
    );
}

#[test]
fn eval_names_the_file_and_line_of_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.jsonl");
    std::fs::write(
        &file,
        "{\"text\": \"fine\", \"sentiment\": \"positive\"}\n{\"text\": \"x\", \"sentiment\": \"furious\"}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_replyd"))
        .args(["eval", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.jsonl:2:") && err.contains("furious"),
        "{err}"
    );
}
