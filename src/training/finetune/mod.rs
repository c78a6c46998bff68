//! `replyd train --adapters`: learns LoRA adapters for the encoder
//! (`model/lora.rs`) from the labelled messages, so the encoder itself
//! adapts to sentiment and intent instead of only the heads on top of it.
//!
//! The encoder's own forward pass is built for inference (attention as
//! plain loops, a fused layer-norm op, quantized matmuls) and has no
//! gradients, so training runs a second forward written with candle's
//! differentiable ops over the same frozen f32 weights, borrowed from an
//! F32 encoder (`Encoder::frozen_layers`). Only A and B are `Var`s; B
//! starts at zero, so step 0 computes exactly the frozen encoder.
//!
//! The loss comes from throwaway linear heads on the L2-normalised
//! embedding: sentiment (3-way cross-entropy), intent (8-way) and,
//! optionally, toxicity (hate and offensive, binary cross-entropy), a
//! weighted mean over every (row, label) pair in the batch. AdamW with a
//! linear warm-up and decay; batches hold texts of similar length (padding
//! is wasted work) and come in a random order each epoch.
//!
//! The heads are thrown away: the real ones are retrained on the adapted
//! encoder's embeddings by `train.rs`. They only score the adapters on the
//! validation files, through the adapted encoder as it will run in
//! production (weights merged, at the configured precision).
//!
//! This file runs the training (the data, the schedule, the report);
//! `model.rs` is what it trains: the differentiable encoder, the throwaway
//! heads and their optimisers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::data::{read_examples, text_key, Example, FileInfo};
use super::eval::EvalError;
use super::report::{evaluate_examples, FileEval, MANIFEST_FILE};
use super::train::{TrainError, OWN_TRAIN_FILES};
use crate::classify::model::lora::{AdapterError, Adapters, StoredAs, Target};
use crate::classify::model::{Encoder, ModelError};
use crate::domain::{Intent, Sentiment};

mod model;

use model::{Learner, TaskHeads, Trainable};

#[derive(Debug, thiserror::Error)]
pub enum FinetuneError {
    #[error(transparent)]
    Data(#[from] TrainError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Adapters(#[from] AdapterError),
    #[error("training failed: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("evaluation failed: {0}")]
    Eval(#[from] EvalError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the manifest: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Settings(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FinetuneError + '_ {
    move |source| FinetuneError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The knobs of one run; all of them go into the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinetuneParams {
    pub rank: usize,
    pub alpha: f32,
    /// Adapt the top `layers` layers of the encoder (all 12 by default: the
    /// top 4 alone barely moved sentiment).
    pub layers: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// The throwaway heads start from random weights and must keep up with
    /// the encoder, hence a higher rate than the adapters'.
    pub head_learning_rate: f64,
    pub weight_decay: f64,
    /// Share of the steps over which the learning rates ramp up from zero;
    /// they then fall linearly to zero at the last step.
    pub warmup_fraction: f64,
    /// Loss weight of the project's own labelled messages relative to the
    /// public tweets. Higher than the heads' weight: at 5 the encoder, pulled
    /// by 12k tweets against a few hundred customer messages, read a Dutch
    /// complaint with a phone number as spam; at 12 it keeps judging
    /// customer messages as they are meant while learning the tweets.
    pub own_data_weight: f32,
    /// Also learn from the hate and offensive tweets.
    pub toxicity: bool,
    /// Train on this many randomly chosen rows instead of all (short runs).
    pub sample: Option<usize>,
    /// Stop after this many steps.
    pub max_steps: Option<usize>,
    /// Longer texts are cut to their first tokens: the tweets and reviews
    /// rarely reach it, and attention's cost grows with its square.
    pub max_tokens: usize,
    pub seed: u64,
    pub stored_as: StoredAs,
    /// Share of the learnt change the stored adapters apply (their alpha is
    /// scaled by it): below 1 interpolates between the base and the tuned
    /// weights (weight-space ensembling, as in Wortsman et al.'s WiSE-FT).
    /// Half rescued adapters tuned with the own messages weighted 5, which
    /// fully merged deleted legitimate criticism; tuned with them weighted
    /// 12 the full change is safe and scores best, so 1 is the default.
    pub merge_scale: f32,
}

impl Default for FinetuneParams {
    fn default() -> Self {
        FinetuneParams {
            rank: 8,
            alpha: 16.0,
            layers: 12,
            epochs: 2,
            batch_size: 32,
            learning_rate: 5e-4,
            head_learning_rate: 2e-3,
            weight_decay: 0.01,
            warmup_fraction: 0.06,
            own_data_weight: 12.0,
            toxicity: false,
            sample: None,
            max_steps: None,
            max_tokens: 128,
            seed: 17,
            stored_as: StoredAs::F16,
            merge_scale: 1.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FinetuneOptions {
    pub train_files: Vec<PathBuf>,
    /// Only scored, never learnt from.
    pub validation_files: Vec<PathBuf>,
    /// File names whose rows get `own_data_weight`.
    pub own_files: Vec<String>,
    /// Where `adapters.safetensors` and `manifest.json` are written.
    pub out_dir: PathBuf,
    pub params: FinetuneParams,
    /// The settings of the heads trained on the adapted encoder afterwards.
    /// The rows their validation split holds out are left out here too:
    /// early stopping and the temperature must see text the encoder has not
    /// learnt, or the heads stop late and come out overconfident.
    pub heads: super::train::HyperParams,
}

impl FinetuneOptions {
    /// All the sentiment data (tweets and English review sentences) and the
    /// project's own messages; the tweet validation split and the Dutch
    /// reviews are only scored.
    pub fn standard(
        shared_data: &Path,
        own_data: &Path,
        out_dir: &Path,
        params: FinetuneParams,
    ) -> Self {
        let mut train_files = vec![
            shared_data.join("sentiment_tweets_train.jsonl"),
            shared_data.join("reviews_en_uci.jsonl"),
        ];
        train_files.extend(OWN_TRAIN_FILES.iter().map(|f| own_data.join(f)));
        if params.toxicity {
            train_files.push(shared_data.join("hate_tweets_train.jsonl"));
            train_files.push(shared_data.join("offensive_tweets_train.jsonl"));
        }
        FinetuneOptions {
            train_files,
            validation_files: vec![
                shared_data.join("sentiment_tweets_val.jsonl"),
                own_data.join("reviews_nl.jsonl"),
            ],
            own_files: OWN_TRAIN_FILES.iter().map(|f| f.to_string()).collect(),
            out_dir: out_dir.to_owned(),
            params,
            heads: super::train::HyperParams::default(),
        }
    }
}

/// A tokenized, labelled training row.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub ids: Vec<u32>,
    pub sentiment: Option<Sentiment>,
    pub intent: Option<Intent>,
    pub hate: Option<bool>,
    pub offensive: Option<bool>,
    pub weight: f32,
}

impl Item {
    /// Tokenized as the encoder does (`query: ` prefix, `<s> … </s>`), cut
    /// to `max_tokens` with `</s>` kept last.
    fn new(
        encoder: &Encoder,
        ex: &Example,
        weight: f32,
        max_tokens: usize,
    ) -> Result<Item, ModelError> {
        let mut ids = encoder.encode_ids(&ex.text)?;
        if ids.len() > max_tokens {
            let eos = ids[ids.len() - 1];
            ids.truncate(max_tokens - 1);
            ids.push(eos);
        }
        Ok(Item {
            ids,
            sentiment: ex.sentiment,
            intent: ex.intent,
            hate: ex.hate,
            offensive: ex.offensive,
            weight,
        })
    }
}

/// Linear warm-up over the first `warmup` steps, then linear decay to zero.
fn lr_factor(step: usize, total: usize, warmup: usize) -> f64 {
    if step < warmup {
        (step + 1) as f64 / warmup as f64
    } else {
        (total - step) as f64 / (total - warmup).max(1) as f64
    }
}

/// Batches of rows of similar length (indices into `items`).
fn length_batches(items: &[Item], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].ids.len());
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// CPU time used by this process so far (Linux; `None` elsewhere). On a
/// shared machine wall-clock time says more about the neighbours than about
/// the work; CPU-seconds per step is the cost that carries over.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may hold spaces;
    // utime and stime are the 14th and 15th fields, in USER_HZ (100) ticks.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Everything a run produced; written as `manifest.json` beside the adapters.
#[derive(Debug, Clone, Serialize)]
pub struct FinetuneReport {
    pub format: &'static str,
    pub base_model_sha256: String,
    /// `Adapters::id`, which names the adapted encoder in embedding caches
    /// and in the heads' manifest.
    pub adapters_id: String,
    pub adapters_sha256: String,
    pub adapters_bytes: usize,
    pub files: Vec<FileInfo>,
    pub params: FinetuneParams,
    pub adapted_layers: Vec<usize>,
    pub targets: Vec<&'static str>,
    pub trainable_parameters: usize,
    pub train_rows: usize,
    pub steps_per_epoch: usize,
    /// Batch size times the longest row, summed over an epoch's batches.
    pub padded_tokens_per_epoch: usize,
    pub steps: usize,
    pub train_seconds: f64,
    /// CPU time of the training steps (all threads), where the OS tells it.
    pub train_cpu_seconds: Option<f64>,
    pub messages_per_second: f64,
    pub padded_tokens_per_second: f64,
    /// Mean loss over the first and the last 20 steps (fewer in a short
    /// run, so the two never overlap).
    pub loss_start: f32,
    pub loss_end: f32,
    /// The throwaway heads on the adapted encoder (merged weights, at
    /// `evaluation_precision`), on files training never saw.
    pub evaluation_precision: String,
    pub validation: Vec<FileEval>,
}

impl std::fmt::Display for FinetuneReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "adapters {} ({} bytes): rank {}, layers {:?}, {} steps in {}, {:.1} messages/s, loss {:.3} -> {:.3}",
            self.adapters_id,
            self.adapters_bytes,
            self.params.rank,
            self.adapted_layers,
            self.steps,
            format_duration(self.train_seconds),
            self.messages_per_second,
            self.loss_start,
            self.loss_end
        )?;
        for e in &self.validation {
            let name = Path::new(&e.file)
                .file_name()
                .map_or(e.file.clone(), |n| n.to_string_lossy().into_owned());
            write!(
                f,
                "{name} {}: macro-F1 {:.3}, accuracy {:.3}",
                e.signal, e.report.macro_f1, e.report.accuracy
            )?;
            if let Some(avg) = e.report.lang_average_macro_f1() {
                let langs: Vec<String> = e
                    .report
                    .per_lang
                    .iter()
                    .map(|(l, m)| format!("{l} {:.3}", m.macro_f1))
                    .collect();
                write!(f, "; language average {avg:.3} ({})", langs.join(", "))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Reads the training files into tokenized rows, with their provenance.
fn load_items(
    opts: &FinetuneOptions,
    encoder: &Encoder,
) -> Result<(Vec<Item>, Vec<FileInfo>), FinetuneError> {
    let p = &opts.params;
    let mut items = Vec::new();
    let mut files = Vec::new();
    let mut origin = Vec::new();
    let mut scored_only = HashSet::new();
    for path in &opts.validation_files {
        scored_only.extend(read_examples(path)?.0.iter().map(|e| text_key(&e.text)));
    }
    for (fi, path) in opts.train_files.iter().enumerate() {
        let (rows, sha256) = read_examples(path)?;
        let own = path
            .file_name()
            .is_some_and(|f| opts.own_files.iter().any(|o| f == o.as_str()));
        let weight = if own { p.own_data_weight } else { 1.0 };
        files.push(FileInfo {
            path: path.display().to_string(),
            sha256,
            rows: rows.len(),
            rows_used: 0,
            role: "train",
        });
        for ex in &rows {
            let learnable = ex.sentiment.is_some()
                || ex.intent.is_some()
                || (p.toxicity && (ex.hate.is_some() || ex.offensive.is_some()));
            if learnable
                && !opts.heads.holds_out(&ex.text)
                && !scored_only.contains(&text_key(&ex.text))
            {
                items.push(Item::new(encoder, ex, weight, p.max_tokens)?);
                origin.push(fi);
            }
        }
    }
    if let Some(n) = p.sample.filter(|&n| n < items.len()) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(p.seed ^ 0x5a17);
        let mut keep: Vec<usize> = (0..items.len()).collect();
        keep.shuffle(&mut rng);
        keep.truncate(n);
        keep.sort_unstable();
        items = keep.iter().map(|&i| items[i].clone()).collect();
        origin = keep.iter().map(|&i| origin[i]).collect();
    }
    for fi in origin {
        files[fi].rows_used += 1;
    }
    if items.is_empty() {
        return Err(FinetuneError::Settings(
            "no labelled rows to train on".into(),
        ));
    }
    Ok((items, files))
}

/// Learns adapters on `base` (an F32 encoder without adapters), writes them
/// with their manifest into `opts.out_dir`, and scores them on the
/// validation files through `adapted`, which builds the production encoder
/// with given adapters merged. Returns that encoder and the report.
pub fn finetune(
    opts: &FinetuneOptions,
    base: &Encoder,
    adapted: &mut dyn FnMut(&Adapters) -> Result<Encoder, ModelError>,
) -> Result<(Encoder, FinetuneReport), FinetuneError> {
    let p = &opts.params;
    if p.batch_size == 0 || p.epochs == 0 || p.rank == 0 || p.max_tokens < 3 {
        return Err(FinetuneError::Settings(
            "batch size, epochs, rank must be at least 1 and max tokens at least 3".into(),
        ));
    }
    if !(p.merge_scale > 0.0 && p.merge_scale <= 1.0) {
        return Err(FinetuneError::Settings(format!(
            "merge scale {} is not in (0, 1]",
            p.merge_scale
        )));
    }
    let (items, mut files) = load_items(opts, base)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(p.seed);
    let model = Trainable::fresh(base, p.rank, p.alpha, p.layers, &mut rng)?;
    let adapted_layers = model.adapted_layers();
    let trainable_parameters = model
        .vars()
        .iter()
        .map(|v| v.as_tensor().elem_count())
        .sum();
    let heads = TaskHeads::new(base.config().hidden, p.toxicity, &mut rng)?;
    let mut learner = Learner::new(
        model,
        heads,
        p.learning_rate,
        p.head_learning_rate,
        p.weight_decay,
    )?;

    let mut batches = length_batches(&items, p.batch_size);
    let steps_per_epoch = batches.len();
    let total = (steps_per_epoch * p.epochs).min(p.max_steps.unwrap_or(usize::MAX));
    let warmup = ((total as f64 * p.warmup_fraction).round() as usize).max(1);
    // A step's cost follows its padded tokens far more than its rows: the
    // ETA counts tokens, so a few long batches early on do not skew it.
    let padded = |batch: &[usize]| {
        batch.len() * batch.iter().map(|&i| items[i].ids.len()).max().unwrap_or(0)
    };
    let tokens_per_epoch: usize = batches.iter().map(|b| padded(b)).sum();
    let expected_tokens = tokens_per_epoch as f64 * total as f64 / steps_per_epoch as f64;
    eprintln!(
        "fine-tuning: {} rows, {} trainable parameters (rank {}, layers {:?}), {} steps of {} ({} per epoch, {} padded tokens per epoch)",
        items.len(),
        trainable_parameters,
        p.rank,
        adapted_layers,
        total,
        p.batch_size,
        steps_per_epoch,
        tokens_per_epoch
    );
    let started = Instant::now();
    let cpu_start = process_cpu_seconds();
    let cpu_used = || Some(process_cpu_seconds()? - cpu_start?);
    let mut losses = Vec::with_capacity(total);
    let mut seen = 0usize;
    let mut tokens = 0usize;
    'epochs: for epoch in 0..p.epochs {
        batches.shuffle(&mut rng);
        for batch in &batches {
            let step = losses.len();
            if step >= total {
                break 'epochs;
            }
            let rows: Vec<&Item> = batch.iter().map(|&i| &items[i]).collect();
            let loss = learner.step(&rows, lr_factor(step, total, warmup))?;
            if !loss.is_finite() {
                return Err(FinetuneError::Settings(format!(
                    "the loss diverged at step {} ({loss}): try a lower learning rate",
                    step + 1
                )));
            }
            losses.push(loss);
            seen += rows.len();
            tokens += padded(batch);
            let done = step + 1;
            if done <= 10 || done % 10 == 0 || done == total {
                let elapsed = started.elapsed().as_secs_f64();
                let recent = &losses[losses.len().saturating_sub(20)..];
                let tokens_per_second = tokens as f64 / elapsed;
                let cpu = cpu_used().map_or(String::new(), |c| {
                    format!(" ({:.2} CPU-s/step)", c / done as f64)
                });
                eprintln!(
                    "step {done}/{total} (epoch {}/{}): loss {loss:.3}, mean of last {} {:.3}; {:.1} msgs/s, {:.0} tokens/s, {:.2} s/step{cpu}, ETA {}",
                    epoch + 1,
                    p.epochs,
                    recent.len(),
                    recent.iter().sum::<f32>() / recent.len() as f32,
                    seen as f64 / elapsed,
                    tokens_per_second,
                    elapsed / done as f64,
                    format_duration((expected_tokens - tokens as f64) / tokens_per_second),
                );
            }
        }
    }
    let train_seconds = started.elapsed().as_secs_f64();
    let train_cpu_seconds = cpu_used();

    // Written, then read back, so what is scored is what was stored (F16
    // rounding included).
    let mut metadata = HashMap::new();
    metadata.insert(
        "base_model_sha256".to_owned(),
        crate::classify::model::fetch::MODEL_SHA256.to_owned(),
    );
    let bytes = learner
        .model
        .adapters()?
        .scaled(p.merge_scale)?
        .to_safetensors(p.stored_as, metadata)?;
    std::fs::create_dir_all(&opts.out_dir).map_err(io_err(&opts.out_dir))?;
    let path = opts
        .out_dir
        .join(crate::classify::model::lora::ADAPTERS_FILE);
    std::fs::write(&path, &bytes).map_err(io_err(&path))?;
    let adapters = Adapters::from_safetensors(&bytes)?;

    eprintln!("scoring the adapters on the validation files");
    let encoder = adapted(&adapters)?;
    let heads = learner.heads.to_heads(base.config().hidden)?;
    let mut validation = Vec::new();
    for path in &opts.validation_files {
        let (rows, sha256) = read_examples(path)?;
        let mut embeddings = HashMap::new();
        for chunk in rows.chunks(32) {
            let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
            for (text, e) in texts.iter().zip(encoder.embed(&texts)?) {
                embeddings.insert(text.to_string(), e);
            }
        }
        files.push(FileInfo {
            path: path.display().to_string(),
            sha256,
            rows: rows.len(),
            rows_used: rows.len(),
            role: "eval",
        });
        let lookup = |t: &str| embeddings.get(t).cloned();
        validation.extend(evaluate_examples(
            &heads,
            &path.display().to_string(),
            &rows,
            &lookup,
        )?);
    }

    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    let window = (losses.len() / 2).clamp(1, 20).min(losses.len());
    let report = FinetuneReport {
        format: "replyd-adapters/1",
        base_model_sha256: crate::classify::model::fetch::MODEL_SHA256.to_owned(),
        adapters_id: adapters.id(),
        adapters_sha256: hex::encode(Sha256::digest(&bytes)),
        adapters_bytes: bytes.len(),
        files,
        params: p.clone(),
        adapted_layers,
        targets: Target::ALL.iter().map(|t| t.name()).collect(),
        trainable_parameters,
        train_rows: items.len(),
        steps_per_epoch,
        padded_tokens_per_epoch: tokens_per_epoch,
        steps: losses.len(),
        train_seconds,
        train_cpu_seconds,
        messages_per_second: seen as f64 / train_seconds.max(1e-9),
        padded_tokens_per_second: tokens as f64 / train_seconds.max(1e-9),
        loss_start: mean(&losses[..window]),
        loss_end: mean(&losses[losses.len() - window..]),
        evaluation_precision: format!("{:?}", encoder.options().precision),
        validation,
    };
    let path = opts.out_dir.join(MANIFEST_FILE);
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n").map_err(io_err(&path))?;
    Ok((encoder, report))
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::classify::model::lora::tests::random_adapters;
    use crate::classify::model::{fetch, EncoderOptions, Precision};

    fn model_image() -> Vec<u8> {
        let files = fetch::ensure_model(&fetch::default_cache_dir()).expect("model files");
        std::fs::read(&files.model).unwrap()
    }

    fn encoder(precision: Precision, adapters: Option<&Adapters>) -> Encoder {
        let opts = EncoderOptions {
            precision,
            ..Default::default()
        };
        Encoder::from_parts_with_adapters(model_image(), None, opts, adapters).unwrap()
    }

    /// The base F32 encoder, loaded once for all the tests here.
    fn base() -> &'static Encoder {
        static BASE: OnceLock<Encoder> = OnceLock::new();
        BASE.get_or_init(|| encoder(Precision::F32, None))
    }

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        d / (na * nb)
    }

    /// Of different lengths, so the batch is padded.
    const TEXTS: [&str; 4] = [
        "Mijn pakket is nog steeds niet aangekomen, wat is er aan de hand?",
        "Great service, thanks!",
        "¿Tenéis esta chaqueta en talla M?",
        "Das war leider gar nichts.",
    ];

    fn trainable_embeddings(t: &Trainable<'_>, texts: &[&str]) -> Vec<Vec<f32>> {
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|s| base().encode_ids(s).unwrap())
            .collect();
        let seqs: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        t.embed(&seqs).unwrap().to_vec2().unwrap()
    }

    #[test]
    fn zero_adapters_reproduce_the_encoder() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let t = Trainable::fresh(base(), 4, 8.0, 12, &mut rng).unwrap();
        let ours = trainable_embeddings(&t, &TEXTS);
        let reference = base().embed(&TEXTS).unwrap();
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| cos(a, b))
            .fold(1f32, f32::min);
        eprintln!("zero adapters vs Encoder::embed: worst cosine {worst}");
        assert!(worst >= 0.9999, "cosine {worst}");
    }

    #[test]
    fn merged_adapters_match_the_trainable_forward() {
        let adapters = random_adapters(&[0, 5, 11], 4, 0.1, 7);
        let t = Trainable::from_adapters(base(), &adapters).unwrap();
        let ours = trainable_embeddings(&t, &TEXTS);
        let merged = encoder(Precision::F32, Some(&adapters));
        assert_eq!(merged.adapters_id(), Some(adapters.id().as_str()));
        let merged_f32 = merged.embed(&TEXTS).unwrap();
        drop(merged);
        let int8 = encoder(Precision::Int8, Some(&adapters))
            .embed(&TEXTS)
            .unwrap();
        let frozen = base().embed(&TEXTS).unwrap();
        for i in 0..TEXTS.len() {
            let (trainable, moved, int8) = (
                cos(&ours[i], &merged_f32[i]),
                cos(&frozen[i], &merged_f32[i]),
                cos(&int8[i], &merged_f32[i]),
            );
            eprintln!("merged F32 vs trainable {trainable}, vs frozen {moved}, Int8 vs F32 {int8}");
            assert!(
                trainable >= 0.9999,
                "merged F32 vs trainable: cosine {trainable}"
            );
            // Not vacuous: the adapters do move the embedding.
            assert!(moved < 0.999, "adapters barely matter: cosine {moved}");
            assert!(int8 >= 0.995, "merged Int8 vs F32: cosine {int8}");
        }
    }

    #[test]
    fn a_few_steps_lower_the_loss() {
        // Two classes told apart by wording; the heads stay fixed (learning
        // rate 0), so only the adapters can lower the loss.
        let rows: Vec<(&str, Sentiment)> = vec![
            ("I love this, wonderful!", Sentiment::Positive),
            ("Absolutely great product", Sentiment::Positive),
            ("Fantastisch, dank jullie wel", Sentiment::Positive),
            ("This is awful and broken", Sentiment::Negative),
            ("Terrible service, never again", Sentiment::Negative),
            ("Slecht, echt waardeloos", Sentiment::Negative),
        ];
        let items: Vec<Item> = rows
            .iter()
            .map(|(text, s)| Item {
                ids: base().encode_ids(text).unwrap(),
                sentiment: Some(*s),
                intent: None,
                hate: None,
                offensive: None,
                weight: 1.0,
            })
            .collect();
        let refs: Vec<&Item> = items.iter().collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let model = Trainable::fresh(base(), 4, 8.0, 2, &mut rng).unwrap();
        let heads = TaskHeads::new(384, false, &mut rng).unwrap();
        let mut learner = Learner::new(model, heads, 5e-3, 0.0, 0.0).unwrap();
        let losses: Vec<f32> = (0..5).map(|_| learner.step(&refs, 1.0).unwrap()).collect();
        eprintln!("losses {losses:?}");
        assert!(losses.iter().all(|l| l.is_finite()));
        assert!(losses[4] < losses[0] - 0.01, "{losses:?}");
        let adapters = learner.model.adapters().unwrap();
        assert_eq!(adapters.layer_indices(), vec![10, 11]);
        let b = &adapters.get(11, Target::FfnOut).unwrap().b;
        assert!(b.iter().any(|v| *v != 0.0), "B never moved");
    }

    #[test]
    fn rows_the_heads_validate_on_and_validation_texts_are_not_learnt() {
        let dir = tempfile::tempdir().unwrap();
        let train = dir.path().join("sentiment_tweets_train.jsonl");
        let texts: Vec<String> = (0..40)
            .map(|i| format!("review number {i}: fine"))
            .collect();
        let lines: Vec<String> = texts
            .iter()
            .map(|t| {
                serde_json::json!({"text": t, "sentiment": "neutral", "lang": "en"}).to_string()
            })
            .collect();
        std::fs::write(&train, lines.join("\n")).unwrap();
        let heads = crate::training::train::HyperParams {
            validation_fraction: 0.5,
            ..Default::default()
        };
        // A training text that the validation file also holds (as public
        // splits sometimes do) is only scored.
        let shared = texts.iter().find(|t| !heads.holds_out(t)).unwrap().clone();
        let validation = dir.path().join("sentiment_tweets_val.jsonl");
        std::fs::write(
            &validation,
            &lines[texts.iter().position(|t| *t == shared).unwrap()],
        )
        .unwrap();
        let opts = FinetuneOptions {
            train_files: vec![train],
            validation_files: vec![validation],
            own_files: vec![],
            out_dir: dir.path().to_owned(),
            params: FinetuneParams::default(),
            heads: heads.clone(),
        };
        let (items, files) = load_items(&opts, base()).unwrap();
        let kept: Vec<&String> = texts
            .iter()
            .filter(|t| !heads.holds_out(t) && **t != shared)
            .collect();
        assert!(
            kept.len() > 5 && kept.len() < 35,
            "split of 40: {}",
            kept.len()
        );
        assert_eq!(items.len(), kept.len());
        assert_eq!(files[0].rows_used, kept.len());
        let expected: Vec<Vec<u32>> = kept.iter().map(|t| base().encode_ids(t).unwrap()).collect();
        let got: Vec<Vec<u32>> = items.iter().map(|i| i.ids.clone()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn batches_group_similar_lengths() {
        let item = |n: usize| Item {
            ids: vec![0; n],
            sentiment: None,
            intent: None,
            hate: None,
            offensive: None,
            weight: 1.0,
        };
        let items: Vec<Item> = [5, 40, 6, 41, 7, 42].into_iter().map(item).collect();
        let batches = length_batches(&items, 3);
        assert_eq!(batches, vec![vec![0, 2, 4], vec![1, 3, 5]]);
        assert_eq!(lr_factor(0, 100, 10), 0.1);
        assert_eq!(lr_factor(9, 100, 10), 1.0);
        assert!((lr_factor(55, 100, 10) - 0.5).abs() < 1e-9);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_its_own_cpu_time() {
        let before = process_cpu_seconds().unwrap();
        let mut x = 0u64;
        let t = Instant::now();
        while t.elapsed().as_millis() < 50 {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(process_cpu_seconds().unwrap() >= before);
    }
}
