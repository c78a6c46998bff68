//! The offline tools' command line: `eval` (the classifier scored on
//! labelled rows) and `train` (heads, and with `--adapters` the encoder's
//! LoRA adapters).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde_json::json;

use super::eval::EvalReport;
use super::finetune::{FinetuneOptions, FinetuneParams};
use crate::classify::load::{cache_dir, encoder_id, encoder_options, load_encoder, LocalModel};
use crate::classify::model::lora::StoredAs;
use crate::classify::model::{self, Encoder, EncoderOptions, Precision};
use crate::config::Config;
use crate::domain::{Classification, Intent, Sentiment};

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
    let mut show = |task: &str, n: usize, report: EvalReport| -> anyhow::Result<()> {
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
            EvalReport::compute(Sentiment::ALL, &sentiment)?,
        )?;
    }
    if !polarity.is_empty() {
        show(
            "sentiment_polarity",
            polarity.len(),
            EvalReport::compute(&[Sentiment::Negative, Sentiment::Positive], &polarity)?,
        )?;
    }
    if !intent.is_empty() {
        show(
            "intent",
            intent.len(),
            EvalReport::compute(Intent::ALL, &intent)?,
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
