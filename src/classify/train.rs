//! `replyd train`: fits the classification heads on labelled JSONL files.
//!
//! The steps, each kept apart so the CLI can pass in the real encoder and
//! tests a fake one:
//! 1. read the files (`text`, optional `lang`, and any of the labels
//!    `sentiment`, `intent`, `hate`, `offensive`: a row feeds every head it
//!    has a label for);
//! 2. embed every distinct text once, through a cache file keyed by the
//!    text's SHA-256, so a rerun only embeds what changed;
//! 3. carve a validation split out of the training rows (by text hash, so a
//!    duplicated text never sits on both sides), train each head with
//!    candle-nn (AdamW, weight decay, class weights, early stopping on the
//!    split's macro-F1), then fit its temperature on the same split;
//! 4. score the evaluation files (never trained on) and write
//!    `heads.safetensors` and `manifest.json`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::eval::{EvalError, EvalReport};
use super::heads::{Dense, Head, Heads, HeadsError, HEADS_FILE};
use crate::domain::{Intent, Sentiment};

/// Width of multilingual-e5-small's embedding, and so of the cache records.
pub const EMBED_DIM: usize = 384;
pub const MANIFEST_FILE: &str = "manifest.json";
/// Texts handed to the encoder per call (and appended to the cache per write).
const EMBED_BATCH: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    #[error("encoder failed: {0}")]
    Embed(String),
    #[error("no {0} labels in the training files")]
    NoData(&'static str),
    #[error("training failed: {0}")]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Heads(#[from] HeadsError),
    #[error("evaluation failed: {0}")]
    Eval(#[from] EvalError),
    #[error("cannot write the manifest: {0}")]
    Json(#[from] serde_json::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The knobs of one training run; all of them go into the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HyperParams {
    /// Hidden width per head; 0 makes that head a linear layer.
    pub hidden_sentiment: usize,
    pub hidden_intent: usize,
    pub hidden_toxicity: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Dropout on the hidden layer (and, at half the rate, on the input).
    pub dropout: f32,
    pub batch_size: usize,
    pub max_epochs: usize,
    /// Epochs without a better validation macro-F1 before stopping.
    pub patience: usize,
    /// Share of the training rows held out for early stopping and the
    /// temperature.
    pub validation_fraction: f64,
    /// Loss weight of the project's own labelled messages relative to the
    /// public tweets, for heads that learn from both (in-domain rows are few).
    pub own_data_weight: f32,
    /// Networks trained per head (different seeds) and averaged.
    pub ensemble: usize,
    pub seed: u64,
}

impl Default for HyperParams {
    fn default() -> Self {
        HyperParams {
            hidden_sentiment: 256,
            hidden_intent: 128,
            hidden_toxicity: 128,
            learning_rate: 5e-4,
            weight_decay: 5e-2,
            dropout: 0.5,
            batch_size: 128,
            max_epochs: 80,
            patience: 10,
            validation_fraction: 0.12,
            own_data_weight: 5.0,
            ensemble: 3,
            seed: 17,
        }
    }
}

impl HyperParams {
    /// Whether `text` falls in the validation split carved from the
    /// training rows.
    pub fn holds_out(&self, text: &str) -> bool {
        in_validation(text, self.validation_fraction, self.seed)
    }
}

/// The project's own labelled messages that are learnt from (in the project's
/// data folder); their rows get `own_data_weight`. Dutch has no public
/// labelled set, so `sentiment_nl_train.jsonl` (Dutch reviews, comments and
/// DMs) anchors the Dutch transfer beside the intent messages' own Dutch.
/// (`intents_slang_train.jsonl` is not among them: heads trained with it
/// read slang praise better and one threat worse; see
/// docs/classification.md.)
pub const OWN_TRAIN_FILES: &[&str] = &["intents_train.jsonl", "sentiment_nl_train.jsonl"];

#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Labelled files to learn from (a validation split is carved out).
    pub train_files: Vec<PathBuf>,
    /// Labelled files only scored, never learnt from.
    pub eval_files: Vec<PathBuf>,
    /// Files whose rows count as the project's own messages for
    /// `own_data_weight` (matched by file name).
    pub own_files: Vec<String>,
    pub out_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// Names the encoder (e.g. its file's hash), so a cache built with one
    /// model is never read for another.
    pub encoder_id: String,
    pub hyper: HyperParams,
    /// Use only the rows whose embedding is already cached, embedding
    /// nothing: a quick retrain, or a run on a machine too slow to embed
    /// every file. The manifest records the rows each file contributed.
    pub cached_only: bool,
}

impl TrainOptions {
    /// The standard set: public tweets from `shared_data`, the project's own
    /// messages from `own_data`; held-out sets only for evaluation.
    pub fn standard(
        shared_data: &Path,
        own_data: &Path,
        out_dir: &Path,
        cache_dir: &Path,
        encoder_id: &str,
    ) -> Self {
        let shared = |f: &str| shared_data.join(f);
        let own = |f: &str| own_data.join(f);
        TrainOptions {
            train_files: vec![
                shared("sentiment_tweets_train.jsonl"),
                shared("hate_tweets_train.jsonl"),
                shared("offensive_tweets_train.jsonl"),
                // English product/film/restaurant review sentences: the only
                // review-domain labels there are, and reviews are a message
                // kind replyd answers (they lift the Dutch reviews through
                // the multilingual embedding).
                shared("reviews_en_uci.jsonl"),
            ]
            .into_iter()
            .chain(OWN_TRAIN_FILES.iter().map(|f| own(f)))
            .collect(),
            eval_files: vec![
                shared("sentiment_tweets_val.jsonl"),
                shared("hate_tweets_val.jsonl"),
                shared("offensive_tweets_val.jsonl"),
                own("intents_heldout.jsonl"),
                own("reviews_nl.jsonl"),
            ],
            own_files: OWN_TRAIN_FILES.iter().map(|f| f.to_string()).collect(),
            out_dir: out_dir.to_owned(),
            cache_dir: cache_dir.to_owned(),
            encoder_id: encoder_id.to_owned(),
            hyper: HyperParams::default(),
            cached_only: false,
        }
    }
}

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Example {
    pub text: String,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub sentiment: Option<Sentiment>,
    #[serde(default)]
    pub intent: Option<Intent>,
    #[serde(default)]
    pub hate: Option<bool>,
    #[serde(default)]
    pub offensive: Option<bool>,
}

/// Provenance of a data file, for the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileInfo {
    pub path: String,
    pub sha256: String,
    pub rows: usize,
    /// Rows that took part (all of them unless the run was `cached_only`).
    pub rows_used: usize,
    /// `train` or `eval`.
    pub role: &'static str,
}

/// The form in which two texts count as the same message: case and runs of
/// whitespace ignored. A few public rows sit in both a training and an
/// evaluation split; training skips every text an evaluation file holds.
pub fn text_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Reads a JSONL file of examples, hashing its bytes for the manifest.
pub fn read_examples(path: &Path) -> Result<(Vec<Example>, String), TrainError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|e| TrainError::Parse {
        path: path.display().to_string(),
        line: 0,
        message: e.to_string(),
    })?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Example = serde_json::from_str(line).map_err(|e| TrainError::Parse {
            path: path.display().to_string(),
            line: i + 1,
            message: e.to_string(),
        })?;
        rows.push(row);
    }
    Ok((rows, sha))
}

fn text_hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Embeddings already computed, in `{cache_dir}/embeddings-{encoder_id}.bin`:
/// records of `[sha256(text) 32 bytes][EMBED_DIM × f32 LE]`, appended as
/// they are computed so an interrupted run keeps its work.
pub struct EmbeddingCache {
    path: PathBuf,
    map: HashMap<[u8; 32], Vec<f32>>,
}

const RECORD: usize = 32 + 4 * EMBED_DIM;

impl EmbeddingCache {
    pub fn open(cache_dir: &Path, encoder_id: &str) -> Result<Self, TrainError> {
        std::fs::create_dir_all(cache_dir).map_err(io_err(cache_dir))?;
        let path = cache_dir.join(format!("embeddings-{encoder_id}.bin"));
        let mut map = HashMap::new();
        if path.exists() {
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            for rec in bytes.chunks_exact(RECORD) {
                let mut key = [0u8; 32];
                key.copy_from_slice(&rec[..32]);
                let v = rec[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                map.insert(key, v);
            }
            // A run killed mid-write leaves a partial record; drop it so the
            // next append stays aligned.
            let whole = (bytes.len() / RECORD * RECORD) as u64;
            if whole != bytes.len() as u64 {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_err(&path))?;
                f.set_len(whole).map_err(io_err(&path))?;
            }
        }
        Ok(EmbeddingCache { path, map })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.map.get(&text_hash(text)).map(Vec::as_slice)
    }

    /// Embeds the texts not cached yet; returns how many it embedded.
    pub fn fill(
        &mut self,
        texts: &[&str],
        embed: &mut dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>, String>,
    ) -> Result<usize, TrainError> {
        let mut seen = HashSet::new();
        let missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !self.map.contains_key(&text_hash(t)) && seen.insert(*t))
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        for (n, chunk) in missing.chunks(EMBED_BATCH).enumerate() {
            let vectors = embed(chunk).map_err(TrainError::Embed)?;
            if vectors.len() != chunk.len() {
                return Err(TrainError::Embed(format!(
                    "asked for {} embeddings, got {}",
                    chunk.len(),
                    vectors.len()
                )));
            }
            let mut buf = Vec::with_capacity(chunk.len() * RECORD);
            for (text, v) in chunk.iter().zip(vectors) {
                if v.len() != EMBED_DIM {
                    return Err(TrainError::Embed(format!(
                        "embedding has {} dimensions, expected {EMBED_DIM}",
                        v.len()
                    )));
                }
                let key = text_hash(text);
                buf.extend_from_slice(&key);
                buf.extend(v.iter().flat_map(|x| x.to_le_bytes()));
                self.map.insert(key, v);
            }
            file.write_all(&buf).map_err(io_err(&self.path))?;
            if n % 20 == 0 {
                tracing::info!(
                    done = n * EMBED_BATCH + chunk.len(),
                    of = missing.len(),
                    "embedding"
                );
            }
        }
        Ok(missing.len())
    }
}

/// A row ready for a head: its embedding, label and loss weight.
struct Row<'a> {
    x: &'a [f32],
    weight: f32,
    /// Held out for early stopping and calibration.
    validation: bool,
}

/// What a head predicts, and so how it is trained and calibrated.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// One of `n` classes, softmax.
    Softmax(usize),
    /// `n` independent yes/no signals, sigmoids; a row may lack some.
    Sigmoid(usize),
}

/// The rows of one head. `y` holds the class index (softmax), or for
/// sigmoids one target per signal with NaN for "not labelled".
struct HeadSet<'a> {
    rows: Vec<Row<'a>>,
    y: Vec<Vec<f32>>,
}

impl<'a> HeadSet<'a> {
    fn new() -> Self {
        HeadSet {
            rows: Vec::new(),
            y: Vec::new(),
        }
    }

    fn push(&mut self, row: Row<'a>, y: Vec<f32>) {
        self.rows.push(row);
        self.y.push(y);
    }

    fn len(&self) -> usize {
        self.rows.len()
    }
}

/// The per-head sets built from examples.
struct Sets<'a> {
    sentiment: HeadSet<'a>,
    intent: HeadSet<'a>,
    toxicity: HeadSet<'a>,
}

fn class_index<L: PartialEq>(all: &[L], l: &L) -> f32 {
    all.iter().position(|c| c == l).unwrap_or(0) as f32
}

fn bool_target(b: Option<bool>) -> f32 {
    match b {
        Some(true) => 1.0,
        Some(false) => 0.0,
        None => f32::NAN,
    }
}

fn build_sets<'a>(
    examples: &[(&'a Example, f32)],
    cache: &'a EmbeddingCache,
    hyper: &HyperParams,
) -> Sets<'a> {
    let mut sets = Sets {
        sentiment: HeadSet::new(),
        intent: HeadSet::new(),
        toxicity: HeadSet::new(),
    };
    for (ex, weight) in examples {
        // Every text was embedded before the sets are built.
        let Some(x) = cache.get(&ex.text) else {
            continue;
        };
        let validation = in_validation(&ex.text, hyper.validation_fraction, hyper.seed);
        let row = || Row {
            x,
            weight: *weight,
            validation,
        };
        if let Some(s) = ex.sentiment {
            sets.sentiment
                .push(row(), vec![class_index(Sentiment::ALL, &s)]);
        }
        if let Some(i) = ex.intent {
            sets.intent.push(row(), vec![class_index(Intent::ALL, &i)]);
        }
        if ex.hate.is_some() || ex.offensive.is_some() {
            sets.toxicity
                .push(row(), vec![bool_target(ex.hate), bool_target(ex.offensive)]);
        }
    }
    sets
}

/// Whether a text belongs to the validation split: a function of the text
/// alone, so duplicates land together and reruns split the same way.
fn in_validation(text: &str, fraction: f64, seed: u64) -> bool {
    let h = text_hash(text);
    let v = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]) ^ seed;
    // Mix so the seed changes the split, then map to [0, 1).
    let mixed = v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (mixed as f64 / (1u64 << 53) as f64) < fraction
}

/// How one head's training went.
#[derive(Debug, Clone, Serialize)]
pub struct FitInfo {
    pub train_rows: usize,
    pub validation_rows: usize,
    /// Hidden width of each member network (0: linear).
    pub hidden: usize,
    /// Networks averaged into the head.
    pub ensemble: usize,
    /// Per member.
    pub epochs_run: Vec<usize>,
    pub best_epoch: Vec<usize>,
    pub member_validation_macro_f1: Vec<f64>,
    /// Of the merged head (mean F1 of the signals for toxicity).
    pub validation_macro_f1: f64,
    pub temperature: Vec<f32>,
    /// Validation negative log-likelihood before and after the temperature.
    pub nll_uncalibrated: f64,
    pub nll_calibrated: f64,
    /// Expected calibration error (15 bins) before and after, for the
    /// softmax heads.
    pub ece_uncalibrated: Option<f64>,
    pub ece_calibrated: Option<f64>,
    pub seconds: f64,
}

/// A trainable dense layer; initialised from the run's seed so a run is
/// reproducible (candle's own initialisers draw from an unseeded RNG).
pub(crate) struct TrainLayer {
    pub(crate) w: Var,
    pub(crate) b: Var,
}

impl TrainLayer {
    pub(crate) fn new(
        inputs: usize,
        outputs: usize,
        rng: &mut impl Rng,
        dev: &Device,
    ) -> candle_core::Result<Self> {
        // Kaiming-uniform bound, as torch's nn.Linear.
        let bound = 1.0 / (inputs as f32).sqrt();
        let w: Vec<f32> = (0..inputs * outputs)
            .map(|_| rng.gen_range(-bound..bound))
            .collect();
        let b: Vec<f32> = (0..outputs).map(|_| rng.gen_range(-bound..bound)).collect();
        Ok(TrainLayer {
            w: Var::from_tensor(&Tensor::from_vec(w, (outputs, inputs), dev)?)?,
            b: Var::from_tensor(&Tensor::from_vec(b, outputs, dev)?)?,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(&self.w.as_tensor().t()?)?
            .broadcast_add(self.b.as_tensor())
    }
}

struct Trainer<'a> {
    kind: Kind,
    hyper: &'a HyperParams,
    dev: Device,
    mean: Vec<f32>,
    std: Vec<f32>,
    layers: Vec<TrainLayer>,
    rng: rand::rngs::StdRng,
}

impl Trainer<'_> {
    fn standardised(&self, rows: &[&Row<'_>]) -> candle_core::Result<Tensor> {
        let mut data = Vec::with_capacity(rows.len() * EMBED_DIM);
        for r in rows {
            data.extend(
                r.x.iter()
                    .zip(&self.mean)
                    .zip(&self.std)
                    .map(|((v, m), s)| (v - m) / s),
            );
        }
        Tensor::from_vec(data, (rows.len(), EMBED_DIM), &self.dev)
    }

    /// Dropout with the run's RNG (inverted: scaled at train time).
    fn dropout(&mut self, x: &Tensor, p: f32) -> candle_core::Result<Tensor> {
        if p <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 / (1.0 - p);
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| if self.rng.gen::<f32>() < p { 0.0 } else { keep })
            .collect();
        x.mul(&Tensor::from_vec(mask, x.shape(), &self.dev)?)
    }

    fn forward(&mut self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let p = if train { self.hyper.dropout } else { 0.0 };
        let mut h = self.dropout(x, p / 2.0)?;
        for i in 0..self.layers.len() {
            h = self.layers[i].forward(&h)?;
            if i + 1 < self.layers.len() {
                h = h.relu()?;
                h = self.dropout(&h, p)?;
            }
        }
        Ok(h)
    }

    /// Weighted loss: class-balanced cross-entropy, or masked, class-balanced
    /// binary cross-entropy. `w` already folds in the class weights.
    fn loss(&self, logits: &Tensor, y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
        weighted_loss_sum(self.kind, logits, y, w)? / w.sum_all()?.to_scalar::<f32>()? as f64
    }

    /// The trained layers as plain `f32`, the standardisation folded into
    /// layer 0: W'x + b' = W((x - mean) / std) + b.
    fn export(&self) -> candle_core::Result<Vec<Dense>> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let w: Vec<Vec<f32>> = l.w.as_tensor().to_vec2()?;
            let mut b: Vec<f32> = l.b.as_tensor().to_vec1()?;
            let inputs = w.first().map_or(0, Vec::len);
            let mut flat = Vec::with_capacity(w.len() * inputs);
            for (o, row) in w.iter().enumerate() {
                if i == 0 {
                    let mut shift = 0.0;
                    for (j, v) in row.iter().enumerate() {
                        flat.push(v / self.std[j]);
                        shift += v * self.mean[j] / self.std[j];
                    }
                    b[o] -= shift;
                } else {
                    flat.extend_from_slice(row);
                }
            }
            out.push(Dense {
                weight: flat,
                bias: b,
                inputs,
            });
        }
        Ok(out)
    }
}

/// The sum of the rows' losses times their weights `w` (0 for a row or
/// signal without a label): cross-entropy against the class index `y`
/// (softmax), or binary cross-entropy against the 0/1 targets `y`, one
/// column per signal (sigmoids).
pub(crate) fn weighted_loss_sum(
    kind: Kind,
    logits: &Tensor,
    y: &Tensor,
    w: &Tensor,
) -> candle_core::Result<Tensor> {
    match kind {
        Kind::Softmax(_) => {
            let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
            let picked = logp
                .gather(&y.to_dtype(DType::U32)?.unsqueeze(1)?, 1)?
                .squeeze(1)?;
            (picked * w)?.sum_all()?.neg()
        }
        Kind::Sigmoid(_) => {
            // max(x,0) - x*y + log(1 + exp(-|x|)), stable for any x.
            let bce = ((logits.relu()? - (logits * y)?)?
                + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
            (bce * w)?.sum_all()
        }
    }
}

/// Per-row loss weights: the row's own weight times its class weight, where
/// each class (or each signal's yes/no) weighs inversely to its frequency.
fn loss_weights(kind: Kind, set: &HeadSet<'_>, idx: &[usize]) -> (Vec<f32>, Vec<f32>) {
    match kind {
        Kind::Softmax(n) => {
            let mut count = vec![0f32; n];
            for &i in idx {
                count[set.y[i][0] as usize] += set.rows[i].weight;
            }
            let total: f32 = count.iter().sum();
            let cw: Vec<f32> = count
                .iter()
                .map(|c| {
                    if *c > 0.0 {
                        total / (n as f32 * c)
                    } else {
                        0.0
                    }
                })
                .collect();
            let y = idx.iter().map(|&i| set.y[i][0]).collect();
            let w = idx
                .iter()
                .map(|&i| set.rows[i].weight * cw[set.y[i][0] as usize])
                .collect();
            (y, w)
        }
        Kind::Sigmoid(n) => {
            let (mut pos, mut neg) = (vec![0f32; n], vec![0f32; n]);
            for &i in idx {
                for (k, t) in set.y[i].iter().enumerate() {
                    if *t == 1.0 {
                        pos[k] += set.rows[i].weight;
                    } else if *t == 0.0 {
                        neg[k] += set.rows[i].weight;
                    }
                }
            }
            let mut y = Vec::with_capacity(idx.len() * n);
            let mut w = Vec::with_capacity(idx.len() * n);
            for &i in idx {
                for (k, t) in set.y[i].iter().enumerate() {
                    let total = pos[k] + neg[k];
                    let cw = match *t {
                        t if t == 1.0 && pos[k] > 0.0 => total / (2.0 * pos[k]),
                        t if t == 0.0 && neg[k] > 0.0 => total / (2.0 * neg[k]),
                        // Not labelled for this signal: no loss.
                        _ => 0.0,
                    };
                    y.push(if t.is_nan() { 0.0 } else { *t });
                    w.push(set.rows[i].weight * cw);
                }
            }
            (y, w)
        }
    }
}

/// Macro-F1 (softmax) or mean F1 of the signals at 0.5 (sigmoids) of
/// `logits` on the rows `idx`; the early-stopping criterion.
fn selection_score(
    kind: Kind,
    set: &HeadSet<'_>,
    idx: &[usize],
    logits: &[Vec<f32>],
) -> Result<f64, EvalError> {
    match kind {
        Kind::Softmax(n) => {
            let rows: Vec<(usize, usize, Option<&str>)> = idx
                .iter()
                .zip(logits)
                .map(|(&i, l)| (set.y[i][0] as usize, argmax(l), None))
                .collect();
            Ok(EvalReport::compute(&(0..n).collect::<Vec<_>>(), &rows)?.macro_f1)
        }
        Kind::Sigmoid(n) => {
            let mut sum = 0.0;
            for k in 0..n {
                let rows: Vec<(bool, bool, Option<&str>)> = idx
                    .iter()
                    .zip(logits)
                    .filter(|(&i, _)| !set.y[i][k].is_nan())
                    .map(|(&i, l)| (set.y[i][k] == 1.0, l[k] > 0.0, None))
                    .collect();
                sum += EvalReport::compute(&[false, true], &rows)?
                    .class("true")
                    .map_or(0.0, |c| c.f1);
            }
            Ok(sum / n as f64)
        }
    }
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// One trained network of a head, before merging and calibration.
struct Member {
    layers: Vec<Dense>,
    best_score: f64,
    best_epoch: usize,
    epochs_run: usize,
}

/// Mean and standard deviation of each input dimension over `idx`.
fn input_stats(set: &HeadSet<'_>, idx: &[usize]) -> (Vec<f32>, Vec<f32>) {
    let mut mean = vec![0f32; EMBED_DIM];
    let mut sq = vec![0f32; EMBED_DIM];
    for &i in idx {
        for (j, v) in set.rows[i].x.iter().enumerate() {
            mean[j] += v;
            sq[j] += v * v;
        }
    }
    let n = idx.len().max(1) as f32;
    let std = mean
        .iter_mut()
        .zip(&sq)
        .map(|(m, s)| {
            *m /= n;
            (s / n - *m * *m).max(1e-8).sqrt()
        })
        .collect();
    (mean, std)
}

/// Trains one network with early stopping on the validation rows.
fn fit_member(
    kind: Kind,
    set: &HeadSet<'_>,
    train_idx: &[usize],
    val_idx: &[usize],
    hidden: usize,
    hyper: &HyperParams,
    seed: u64,
) -> Result<Member, TrainError> {
    let outputs = match kind {
        Kind::Softmax(n) | Kind::Sigmoid(n) => n,
    };
    // Standardise inputs: the embedding's components are tiny (unit norm over
    // 384 dimensions), which slows AdamW and makes weight decay uneven.
    let (mean, std) = input_stats(set, train_idx);
    let dev = Device::Cpu;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sizes: Vec<usize> = if hidden > 0 {
        vec![EMBED_DIM, hidden, outputs]
    } else {
        vec![EMBED_DIM, outputs]
    };
    let layers = sizes
        .windows(2)
        .map(|w| TrainLayer::new(w[0], w[1], &mut rng, &dev))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let vars: Vec<Var> = layers
        .iter()
        .flat_map(|l| [l.w.clone(), l.b.clone()])
        .collect();
    let mut t = Trainer {
        kind,
        hyper,
        dev,
        mean,
        std,
        layers,
        rng,
    };
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: hyper.learning_rate,
            weight_decay: hyper.weight_decay,
            ..Default::default()
        },
    )?;

    let val_rows: Vec<&Row<'_>> = val_idx.iter().map(|&i| &set.rows[i]).collect();
    let val_x = t.standardised(&val_rows)?;
    let mut best: Option<(f64, usize, Vec<Dense>)> = None;
    let mut order = train_idx.to_vec();
    let mut epochs_run = 0;
    for epoch in 1..=hyper.max_epochs {
        epochs_run = epoch;
        order.shuffle(&mut t.rng);
        for batch in order.chunks(hyper.batch_size.max(1)) {
            let rows: Vec<&Row<'_>> = batch.iter().map(|&i| &set.rows[i]).collect();
            let x = t.standardised(&rows)?;
            let (y, w) = loss_weights(kind, set, batch);
            let (y, w) = match kind {
                Kind::Softmax(_) => (
                    Tensor::from_vec(y, batch.len(), &t.dev)?,
                    Tensor::from_vec(w, batch.len(), &t.dev)?,
                ),
                Kind::Sigmoid(k) => (
                    Tensor::from_vec(y, (batch.len(), k), &t.dev)?,
                    Tensor::from_vec(w, (batch.len(), k), &t.dev)?,
                ),
            };
            let logits = t.forward(&x, true)?;
            let loss = t.loss(&logits, &y, &w)?;
            opt.backward_step(&loss)?;
        }
        let val_logits: Vec<Vec<f32>> = t.forward(&val_x, false)?.to_vec2()?;
        let score = selection_score(kind, set, val_idx, &val_logits)?;
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, epoch, t.export()?));
        } else if best
            .as_ref()
            .is_some_and(|(_, e, _)| epoch - e >= hyper.patience)
        {
            break;
        }
    }
    let (best_score, best_epoch, layers) = match best {
        Some(b) => b,
        None => (0.0, 0, t.export()?),
    };
    Ok(Member {
        layers,
        best_score,
        best_epoch,
        epochs_run,
    })
}

/// Averages the members' logits by building one wider network: hidden units
/// side by side, output weights scaled by 1/K. Exact, and the file format
/// and the inference code stay those of a single network.
fn merge_members(members: &[Member]) -> Vec<Dense> {
    let k = members.len() as f32;
    if members.len() == 1 {
        return members[0].layers.clone();
    }
    let first = &members[0].layers;
    if first.len() == 1 {
        // Linear members: the average of linear maps is a linear map.
        let mut layer = first[0].clone();
        for v in layer.weight.iter_mut().chain(layer.bias.iter_mut()) {
            *v /= k;
        }
        for m in &members[1..] {
            for (a, b) in layer.weight.iter_mut().zip(&m.layers[0].weight) {
                *a += b / k;
            }
            for (a, b) in layer.bias.iter_mut().zip(&m.layers[0].bias) {
                *a += b / k;
            }
        }
        return vec![layer];
    }
    let inputs = first[0].inputs;
    let outputs = first[1].outputs();
    let hidden: usize = members.iter().map(|m| m.layers[0].outputs()).sum();
    let mut w0 = Vec::with_capacity(hidden * inputs);
    let mut b0 = Vec::with_capacity(hidden);
    for m in members {
        w0.extend_from_slice(&m.layers[0].weight);
        b0.extend_from_slice(&m.layers[0].bias);
    }
    let mut w1 = Vec::with_capacity(outputs * hidden);
    let mut b1 = vec![0f32; outputs];
    for o in 0..outputs {
        for m in members {
            let l = &m.layers[1];
            w1.extend(
                l.weight[o * l.inputs..(o + 1) * l.inputs]
                    .iter()
                    .map(|v| v / k),
            );
            b1[o] += l.bias[o] / k;
        }
    }
    vec![
        Dense {
            weight: w0,
            bias: b0,
            inputs,
        },
        Dense {
            weight: w1,
            bias: b1,
            inputs: hidden,
        },
    ]
}

/// Trains one head (an ensemble of `hyper.ensemble` networks merged into
/// one) and calibrates it on its validation rows.
fn fit_head(
    kind: Kind,
    set: &HeadSet<'_>,
    val_mask: &[bool],
    hidden: usize,
    hyper: &HyperParams,
    salt: u64,
) -> Result<(Head, FitInfo), TrainError> {
    let start = Instant::now();
    let train_idx: Vec<usize> = (0..set.len()).filter(|&i| !val_mask[i]).collect();
    let val_idx: Vec<usize> = (0..set.len()).filter(|&i| val_mask[i]).collect();
    let outputs = match kind {
        Kind::Softmax(n) | Kind::Sigmoid(n) => n,
    };
    let members = (0..hyper.ensemble.max(1) as u64)
        .map(|m| {
            fit_member(
                kind,
                set,
                &train_idx,
                &val_idx,
                hidden,
                hyper,
                hyper.seed ^ (salt << 32) ^ m,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut layers = merge_members(&members);
    layers.iter_mut().for_each(Dense::round_to_f16);
    let mut head = Head {
        layers,
        temperature: vec![
            1.0;
            if matches!(kind, Kind::Sigmoid(_)) {
                outputs
            } else {
                1
            }
        ],
    };

    // Calibrate on the validation rows with the exported (plain f32) head,
    // so the temperature fits exactly what runs in production.
    let val_logits: Vec<Vec<f32>> = val_idx
        .iter()
        .map(|&i| head.logits(set.rows[i].x))
        .collect();
    let targets: Vec<&Vec<f32>> = val_idx.iter().map(|&i| &set.y[i]).collect();
    let (temperature, nll_before, nll_after) = calibrate(kind, &val_logits, &targets);
    head.temperature = temperature.clone();
    let (ece_before, ece_after) = match kind {
        Kind::Softmax(_) => (
            Some(ece(&val_logits, &targets, 1.0)),
            Some(ece(&val_logits, &targets, temperature[0])),
        ),
        Kind::Sigmoid(_) => (None, None),
    };
    let info = FitInfo {
        train_rows: train_idx.len(),
        validation_rows: val_idx.len(),
        hidden,
        ensemble: members.len(),
        epochs_run: members.iter().map(|m| m.epochs_run).collect(),
        best_epoch: members.iter().map(|m| m.best_epoch).collect(),
        member_validation_macro_f1: members.iter().map(|m| m.best_score).collect(),
        validation_macro_f1: selection_score(kind, set, &val_idx, &val_logits)?,
        temperature,
        nll_uncalibrated: nll_before,
        nll_calibrated: nll_after,
        ece_uncalibrated: ece_before,
        ece_calibrated: ece_after,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((head, info))
}

fn log_softmax_at(logits: &[f32], t: f32, k: usize) -> f64 {
    let scaled: Vec<f64> = logits.iter().map(|l| *l as f64 / t as f64).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + scaled.iter().map(|s| (s - max).exp()).sum::<f64>().ln();
    scaled[k] - lse
}

/// Mean negative log-likelihood of output `k` (sigmoid) or of the softmax.
fn nll(kind: Kind, logits: &[Vec<f32>], targets: &[&Vec<f32>], t: f32, k: usize) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for (l, y) in logits.iter().zip(targets) {
        match kind {
            Kind::Softmax(_) => sum -= log_softmax_at(l, t, y[0] as usize),
            Kind::Sigmoid(_) => {
                if y[k].is_nan() {
                    continue;
                }
                let z = l[k] as f64 / t as f64;
                // -log σ(z) for yes, -log(1-σ(z)) = -log σ(-z) for no.
                let s = if y[k] == 1.0 { z } else { -z };
                sum += (-s).max(0.0) + (1.0 + (-s.abs()).exp()).ln();
            }
        }
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Temperature scaling (Guo et al., 2017): the T > 0 minimising validation
/// NLL, by golden-section search over log T (NLL is unimodal in it).
fn fit_temperature(f: impl Fn(f32) -> f64) -> f32 {
    let (mut a, mut b) = ((0.05f64).ln(), (20.0f64).ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let at = |x: f64| f(x.exp() as f32);
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (at(c), at(d));
    for _ in 0..60 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = at(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = at(d);
        }
    }
    ((a + b) / 2.0).exp() as f32
}

/// Returns the temperatures and the mean NLL before and after.
fn calibrate(kind: Kind, logits: &[Vec<f32>], targets: &[&Vec<f32>]) -> (Vec<f32>, f64, f64) {
    if logits.is_empty() {
        let n = if let Kind::Sigmoid(n) = kind { n } else { 1 };
        return (vec![1.0; n], 0.0, 0.0);
    }
    match kind {
        Kind::Softmax(_) => {
            let t = fit_temperature(|t| nll(kind, logits, targets, t, 0));
            (
                vec![t],
                nll(kind, logits, targets, 1.0, 0),
                nll(kind, logits, targets, t, 0),
            )
        }
        Kind::Sigmoid(n) => {
            let ts: Vec<f32> = (0..n)
                .map(|k| fit_temperature(|t| nll(kind, logits, targets, t, k)))
                .collect();
            let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
            let before = mean(&|k| nll(kind, logits, targets, 1.0, k));
            let after = mean(&|k| nll(kind, logits, targets, ts[k], k));
            (ts, before, after)
        }
    }
}

/// Expected calibration error of the softmax's top class, 15 equal bins.
fn ece(logits: &[Vec<f32>], targets: &[&Vec<f32>], t: f32) -> f64 {
    const BINS: usize = 15;
    let mut conf = [0f64; BINS];
    let mut acc = [0f64; BINS];
    let mut count = [0usize; BINS];
    for (l, y) in logits.iter().zip(targets) {
        let k = argmax(l);
        let p = log_softmax_at(l, t, k).exp();
        let bin = ((p * BINS as f64) as usize).min(BINS - 1);
        conf[bin] += p;
        acc[bin] += f64::from(u8::from(k == y[0] as usize));
        count[bin] += 1;
    }
    let n = logits.len().max(1) as f64;
    (0..BINS)
        .filter(|&b| count[b] > 0)
        .map(|b| (acc[b] - conf[b]).abs() / n)
        .sum()
}

/// Scores of one evaluation file for one signal.
#[derive(Debug, Clone, Serialize)]
pub struct FileEval {
    pub file: String,
    /// `sentiment`, `sentiment_polarity` (argmax over negative/positive on
    /// the non-neutral rows), `intent`, `hate` or `offensive`.
    pub signal: String,
    pub report: EvalReport,
}

/// Scores `heads` on every labelled signal of `examples`.
pub fn evaluate_examples(
    heads: &Heads,
    file: &str,
    examples: &[Example],
    embeddings: &dyn Fn(&str) -> Option<Vec<f32>>,
) -> Result<Vec<FileEval>, TrainError> {
    let mut sent = Vec::new();
    let mut polarity = Vec::new();
    let mut intent = Vec::new();
    let mut hate = Vec::new();
    let mut offensive = Vec::new();
    for ex in examples {
        let Some(x) = embeddings(&ex.text) else {
            continue;
        };
        let out = heads.try_predict_one(&x)?;
        let lang = ex.lang.clone();
        if let Some(gold) = ex.sentiment {
            sent.push((gold, out.sentiment.label, lang.clone()));
            if gold != Sentiment::Neutral {
                polarity.push((gold, out.sentiment.polarity(), lang.clone()));
            }
        }
        if let Some(gold) = ex.intent {
            intent.push((gold, out.intent.label, lang.clone()));
        }
        if let Some(gold) = ex.hate {
            hate.push((gold, out.toxicity.hate >= 0.5, lang.clone()));
        }
        if let Some(gold) = ex.offensive {
            offensive.push((gold, out.toxicity.offensive >= 0.5, lang.clone()));
        }
    }
    let mut evals = Vec::new();
    let mut add = |signal: &str, report: Result<EvalReport, EvalError>| -> Result<(), TrainError> {
        match report {
            Ok(report) => {
                evals.push(FileEval {
                    file: file.to_owned(),
                    signal: signal.to_owned(),
                    report,
                });
                Ok(())
            }
            // A file without this label simply has nothing to score.
            Err(EvalError::Empty) => Ok(()),
            Err(e) => Err(e.into()),
        }
    };
    add("sentiment", EvalReport::compute(Sentiment::ALL, &sent))?;
    add(
        "sentiment_polarity",
        EvalReport::compute(&[Sentiment::Negative, Sentiment::Positive], &polarity),
    )?;
    add("intent", EvalReport::compute(Intent::ALL, &intent))?;
    add("hate", EvalReport::compute(&[false, true], &hate))?;
    add("offensive", EvalReport::compute(&[false, true], &offensive))?;
    Ok(evals)
}

/// Everything a run produced; written as `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub format: &'static str,
    pub encoder_id: String,
    pub files: Vec<FileInfo>,
    pub hyper_params: HyperParams,
    /// Keyed by head: `sentiment`, `intent`, `toxicity`.
    pub fits: BTreeMap<String, FitInfo>,
    /// Scores on the validation split carved from the training files.
    pub validation: Vec<FileEval>,
    /// Scores on the evaluation files (never trained on).
    pub evaluation: Vec<FileEval>,
    pub texts_embedded: usize,
    pub embed_seconds: f64,
    pub train_seconds: f64,
}

impl TrainReport {
    /// The report of `signal` on the evaluation file named `file_name`.
    pub fn eval(&self, file_name: &str, signal: &str) -> Option<&EvalReport> {
        self.evaluation
            .iter()
            .find(|e| {
                e.signal == signal
                    && Path::new(&e.file)
                        .file_name()
                        .is_some_and(|f| f == file_name)
            })
            .map(|e| &e.report)
    }
}

/// Trains the heads and writes `heads.safetensors` and `manifest.json` into
/// `opts.out_dir`. `embed` is the encoder (texts in, 384-d vectors out).
pub fn train(
    opts: &TrainOptions,
    embed: &mut dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>, String>,
) -> Result<(Heads, TrainReport), TrainError> {
    let hyper = &opts.hyper;
    // Evaluation files are read first so training can skip their texts; the
    // manifest lists training files first.
    let mut eval_files = Vec::new();
    let mut eval_sets: Vec<(String, Vec<Example>)> = Vec::new();
    for path in &opts.eval_files {
        let (rows, sha) = read_examples(path)?;
        eval_files.push(FileInfo {
            path: path.display().to_string(),
            sha256: sha,
            rows: rows.len(),
            rows_used: 0,
            role: "eval",
        });
        eval_sets.push((path.display().to_string(), rows));
    }
    let held_out: HashSet<String> = eval_sets
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|e| text_key(&e.text)))
        .collect();
    let mut files = Vec::new();
    // (example, weight, index into `files`)
    let mut train_examples: Vec<(Example, f32, usize)> = Vec::new();
    for path in &opts.train_files {
        let (rows, sha) = read_examples(path)?;
        let own = path
            .file_name()
            .is_some_and(|f| opts.own_files.iter().any(|o| f == o.as_str()));
        let weight = if own { hyper.own_data_weight } else { 1.0 };
        let file = files.len();
        files.push(FileInfo {
            path: path.display().to_string(),
            sha256: sha,
            rows: rows.len(),
            rows_used: 0,
            role: "train",
        });
        train_examples.extend(
            rows.into_iter()
                .filter(|r| !held_out.contains(&text_key(&r.text)))
                .map(|r| (r, weight, file)),
        );
    }

    let embed_start = Instant::now();
    let mut cache = EmbeddingCache::open(&opts.cache_dir, &opts.encoder_id)?;
    let texts: Vec<&str> = train_examples
        .iter()
        .map(|(e, _, _)| e.text.as_str())
        .chain(
            eval_sets
                .iter()
                .flat_map(|(_, rows)| rows.iter().map(|e| e.text.as_str())),
        )
        .collect();
    let texts_embedded = if opts.cached_only {
        0
    } else {
        cache.fill(&texts, embed)?
    };
    let embed_seconds = embed_start.elapsed().as_secs_f64();
    for (e, _, file) in &train_examples {
        if cache.get(&e.text).is_some() {
            files[*file].rows_used += 1;
        }
    }
    for (mut info, (_, rows)) in eval_files.into_iter().zip(&eval_sets) {
        info.rows_used = rows.iter().filter(|e| cache.get(&e.text).is_some()).count();
        files.push(info);
    }

    let train_start = Instant::now();
    let refs: Vec<(&Example, f32)> = train_examples.iter().map(|(e, w, _)| (e, *w)).collect();
    let sets = build_sets(&refs, &cache, hyper);
    let specs: [(&str, &HeadSet<'_>, Kind, usize); 3] = [
        (
            Heads::SENTIMENT,
            &sets.sentiment,
            Kind::Softmax(Sentiment::ALL.len()),
            hyper.hidden_sentiment,
        ),
        (
            Heads::INTENT,
            &sets.intent,
            Kind::Softmax(Intent::ALL.len()),
            hyper.hidden_intent,
        ),
        (
            Heads::TOXICITY,
            &sets.toxicity,
            Kind::Sigmoid(2),
            hyper.hidden_toxicity,
        ),
    ];
    let mut trained = Vec::new();
    let mut fits = BTreeMap::new();
    for (salt, (name, set, kind, hidden)) in specs.into_iter().enumerate() {
        if set.len() == 0 {
            return Err(TrainError::NoData(name));
        }
        let val_mask: Vec<bool> = set.rows.iter().map(|r| r.validation).collect();
        tracing::info!(head = name, rows = set.len(), "training");
        let (head, info) = fit_head(kind, set, &val_mask, hidden, hyper, salt as u64)?;
        trained.push(head);
        fits.insert(name.to_owned(), info);
    }
    let [sentiment, intent, toxicity]: [Head; 3] =
        trained.try_into().map_err(|_| TrainError::NoData("all"))?;
    let heads = Heads {
        sentiment,
        intent,
        toxicity,
    };

    // The validation split, scored through the same path as the eval files.
    let val_examples: Vec<Example> = train_examples
        .iter()
        .filter(|(e, _, _)| in_validation(&e.text, hyper.validation_fraction, hyper.seed))
        .map(|(e, _, _)| e.clone())
        .collect();
    let lookup = |t: &str| cache.get(t).map(<[f32]>::to_vec);
    let validation = evaluate_examples(&heads, "validation split", &val_examples, &lookup)?;
    let mut evaluation = Vec::new();
    for (file, rows) in &eval_sets {
        evaluation.extend(evaluate_examples(&heads, file, rows, &lookup)?);
    }

    let report = TrainReport {
        format: "replyd-heads/1",
        encoder_id: opts.encoder_id.clone(),
        files,
        hyper_params: hyper.clone(),
        fits,
        validation,
        evaluation,
        texts_embedded,
        embed_seconds,
        train_seconds: train_start.elapsed().as_secs_f64(),
    };
    write_outputs(&opts.out_dir, &heads, &report)?;
    Ok((heads, report))
}

fn write_outputs(dir: &Path, heads: &Heads, report: &TrainReport) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut meta = HashMap::new();
    meta.insert("format".to_owned(), report.format.to_owned());
    meta.insert("encoder_id".to_owned(), report.encoder_id.clone());
    let bytes = heads.to_safetensors(meta)?;
    let path = dir.join(HEADS_FILE);
    std::fs::write(&path, bytes).map_err(io_err(&path))?;
    let path = dir.join(MANIFEST_FILE);
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(&path, json + "\n").map_err(io_err(&path))?;
    Ok(())
}

/// One line per scored file and signal, for the CLI.
impl std::fmt::Display for TrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<28} {:<19} {:>6} {:>8} {:>8} {:>9}",
            "file", "signal", "rows", "accuracy", "macro-F1", "lang-avg"
        )?;
        for e in self.validation.iter().chain(&self.evaluation) {
            let name = Path::new(&e.file)
                .file_name()
                .map_or(e.file.clone(), |n| n.to_string_lossy().into_owned());
            let avg = e
                .report
                .lang_average_macro_f1()
                .map_or("-".to_owned(), |a| format!("{a:.3}"));
            writeln!(
                f,
                "{:<28} {:<19} {:>6} {:>8.3} {:>8.3} {:>9}",
                name, e.signal, e.report.rows, e.report.accuracy, e.report.macro_f1, avg
            )?;
        }
        for (head, fit) in &self.fits {
            writeln!(
                f,
                "{head}: hidden {} x{}, best epochs {:?}, validation macro-F1 {:.3} (members {:.3?}), T {:?}, NLL {:.3} -> {:.3}, ECE {:.3?} -> {:.3?}",
                fit.hidden, fit.ensemble, fit.best_epoch, fit.validation_macro_f1, fit.member_validation_macro_f1, fit.temperature, fit.nll_uncalibrated, fit.nll_calibrated, fit.ece_uncalibrated, fit.ece_calibrated
            )?;
        }
        writeln!(
            f,
            "embedded {} texts in {:.0}s, trained in {:.0}s",
            self.texts_embedded, self.embed_seconds, self.train_seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in encoder: each text's vector sits near the centroid of the
    /// first word (its class), with noise from the text's hash.
    fn fake_embed(texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        Ok(texts
            .iter()
            .map(|t| {
                let word = t.split_whitespace().next().unwrap_or("");
                let centre = text_hash(word);
                let noise = text_hash(t);
                let v: Vec<f32> = (0..EMBED_DIM)
                    .map(|j| {
                        let c = centre[j % 32] as f32 / 255.0 - 0.5;
                        let n = noise[(j * 7) % 32] as f32 / 255.0 - 0.5;
                        c * if j < 64 { 1.0 } else { 0.0 } + 0.3 * n
                    })
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / norm).collect()
            })
            .collect())
    }

    /// The project's own messages never repeat a text of an evaluation file
    /// (the public splits' few shared tweets are skipped by `train`, but a
    /// copy in our own data would be our mistake), and all of them are
    /// trained on.
    #[test]
    fn own_training_data_shares_no_text_with_the_evaluation_files() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/data");
        let opts = TrainOptions::standard(&data, &data, Path::new("-"), Path::new("-"), "");
        let mut held_out = HashSet::new();
        for file in &opts.eval_files {
            held_out.extend(
                read_examples(file)
                    .unwrap()
                    .0
                    .iter()
                    .map(|e| text_key(&e.text)),
            );
        }
        for name in OWN_TRAIN_FILES {
            let file = data.join(name);
            assert!(opts.train_files.contains(&file), "{name} is trained on");
            let (rows, _) = read_examples(&file).unwrap();
            assert!(rows.len() > 200, "{name} has its rows");
            let leaked: Vec<&str> = rows
                .iter()
                .filter(|r| held_out.contains(&text_key(&r.text)))
                .map(|r| r.text.as_str())
                .collect();
            assert!(
                leaked.is_empty(),
                "{name} repeats evaluation texts: {leaked:?}"
            );
        }
    }

    fn write_jsonl(path: &Path, rows: &[serde_json::Value]) {
        let text: String = rows.iter().map(|r| r.to_string() + "\n").collect();
        std::fs::write(path, text).unwrap();
    }

    fn rows(n: usize, offset: usize) -> Vec<serde_json::Value> {
        let sentiments = ["negative", "neutral", "positive"];
        let intents = [
            "complaint",
            "feedback",
            "question",
            "praise",
            "lead",
            "troll",
            "spam",
            "other",
        ];
        (0..n)
            .map(|i| {
                let k = i + offset;
                let intent = intents[k % 8];
                serde_json::json!({
                    "text": format!("{intent} message number {k}"),
                    "lang": if k.is_multiple_of(2) { "nl" } else { "en" },
                    "intent": intent,
                    "sentiment": sentiments[(k % 8) % 3],
                    "hate": k % 8 == 5,
                    "offensive": k % 8 == 5 || k.is_multiple_of(8),
                })
            })
            .collect()
    }

    #[test]
    fn trains_writes_and_reuses_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let train_file = dir.path().join("train.jsonl");
        let eval_file = dir.path().join("heldout.jsonl");
        let held_out = rows(80, 1000);
        // One public-split accident: an evaluation text, recased and
        // respaced, among the training rows. It must not be learnt from.
        let mut train_rows = rows(400, 0);
        let mut copy = held_out[0].clone();
        copy["text"] = format!("  {} ", copy["text"].as_str().unwrap().to_uppercase()).into();
        train_rows.push(copy);
        write_jsonl(&train_file, &train_rows);
        write_jsonl(&eval_file, &held_out);
        let opts = TrainOptions {
            train_files: vec![train_file],
            eval_files: vec![eval_file.clone()],
            own_files: vec![],
            out_dir: dir.path().join("out"),
            cache_dir: dir.path().join("cache"),
            encoder_id: "fake".into(),
            hyper: HyperParams {
                hidden_sentiment: 16,
                hidden_intent: 0,
                hidden_toxicity: 8,
                // Fixed here so the test does not move with the defaults,
                // which are tuned for tens of thousands of rows.
                learning_rate: 3e-3,
                weight_decay: 1e-2,
                dropout: 0.1,
                max_epochs: 60,
                patience: 10,
                validation_fraction: 0.2,
                ensemble: 2,
                ..HyperParams::default()
            },
            cached_only: false,
        };
        let mut calls = 0;
        let mut embed = |t: &[&str]| {
            calls += t.len();
            fake_embed(t)
        };
        let (heads, report) = train(&opts, &mut embed).unwrap();
        assert_eq!(report.texts_embedded, 480);
        let intent = report.eval("heldout.jsonl", "intent").unwrap();
        assert!(intent.macro_f1 > 0.9, "{intent}");
        let hate = report.eval("heldout.jsonl", "hate").unwrap();
        assert!(hate.accuracy > 0.9, "{hate}");
        assert_eq!(
            heads.sentiment.layers[0].outputs(),
            32,
            "two members of 16 side by side"
        );

        // The written files load back to the same heads, and the manifest
        // names the data with its hash.
        let loaded = Heads::load_dir(&opts.out_dir).unwrap();
        assert_eq!(loaded, heads);
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(opts.out_dir.join(MANIFEST_FILE)).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["files"][0]["rows"], 401);
        assert_eq!(manifest["files"][0]["rows_used"], 400);
        assert_eq!(manifest["files"][1]["role"], "eval");
        assert_eq!(manifest["files"][0]["sha256"].as_str().unwrap().len(), 64);
        assert!(
            manifest["fits"]["intent"]["temperature"][0]
                .as_f64()
                .unwrap()
                > 0.0
        );

        // A rerun embeds nothing new.
        let (_, again) = train(&opts, &mut |t: &[&str]| {
            Err(format!("unexpected embed of {}", t.len()))
        })
        .unwrap();
        assert_eq!(again.texts_embedded, 0);
        assert_eq!(calls, 480);
    }

    #[test]
    fn merged_ensemble_averages_member_logits() {
        use rand::Rng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut member = |hidden: usize| Member {
            layers: vec![
                Dense {
                    weight: (0..hidden * 4).map(|_| rng.gen_range(-1.0..1.0)).collect(),
                    bias: (0..hidden).map(|_| rng.gen_range(-1.0..1.0)).collect(),
                    inputs: 4,
                },
                Dense {
                    weight: (0..3 * hidden).map(|_| rng.gen_range(-1.0..1.0)).collect(),
                    bias: (0..3).map(|_| rng.gen_range(-1.0..1.0)).collect(),
                    inputs: hidden,
                },
            ],
            best_score: 0.0,
            best_epoch: 0,
            epochs_run: 0,
        };
        let members = vec![member(5), member(5), member(5)];
        let head = |layers: Vec<Dense>| Head {
            layers,
            temperature: vec![1.0],
        };
        let merged = head(merge_members(&members));
        let x = [0.3, -0.2, 0.9, 0.1];
        let mut mean = vec![0f32; 3];
        for m in &members {
            for (a, b) in mean.iter_mut().zip(head(m.layers.clone()).logits(&x)) {
                *a += b / 3.0;
            }
        }
        for (a, b) in merged.logits(&x).iter().zip(&mean) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn temperature_recovers_a_known_scale() {
        // Logits that are 3x too confident: the fitted T should be about 3.
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut logits = Vec::new();
        let mut targets = Vec::new();
        for _ in 0..4000 {
            let z: Vec<f32> = (0..3).map(|_| rng.gen_range(-2.0f32..2.0)).collect();
            let p = crate::classify::heads::softmax(&z);
            let u: f32 = rng.gen();
            let y = if u < p[0] {
                0
            } else if u < p[0] + p[1] {
                1
            } else {
                2
            };
            logits.push(z.iter().map(|v| v * 3.0).collect::<Vec<f32>>());
            targets.push(vec![y as f32]);
        }
        let refs: Vec<&Vec<f32>> = targets.iter().collect();
        let (t, before, after) = calibrate(Kind::Softmax(3), &logits, &refs);
        assert!((t[0] - 3.0).abs() < 0.3, "{t:?}");
        assert!(after < before);
    }

    #[test]
    fn cache_survives_a_torn_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = EmbeddingCache::open(dir.path(), "x").unwrap();
        cache
            .fill(&["a", "b"], &mut |t: &[&str]| fake_embed(t))
            .unwrap();
        let path = dir.path().join("embeddings-x.bin");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        drop(f);
        let mut cache = EmbeddingCache::open(dir.path(), "x").unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, 2 * RECORD);
        let n = cache
            .fill(&["a", "c"], &mut |t: &[&str]| fake_embed(t))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(EmbeddingCache::open(dir.path(), "x").unwrap().len(), 3);
    }

    #[test]
    fn parse_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "{\"text\": \"ok\", \"intent\": \"question\"}\n{\"text\": \"x\", \"intent\": \"shouting\"}\n").unwrap();
        let err = read_examples(&path).unwrap_err().to_string();
        assert!(
            err.contains("bad.jsonl:2") && err.contains("shouting"),
            "{err}"
        );
    }
}
