//! Fitting one head: an ensemble of small networks trained with candle-nn
//! (AdamW, weight decay, class weights, early stopping on the validation
//! split's macro-F1), merged into one network and calibrated.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::calibrate::{calibrate, ece};
use super::data::{in_validation, Example};
use super::eval::{EvalError, EvalReport};
use super::train::{HyperParams, TrainError};
use crate::classify::embedding_cache::{EmbeddingCache, EMBED_DIM};
use crate::classify::heads::{Dense, Head};
use crate::domain::{Intent, Sentiment};

/// A row ready for a head: its embedding, label and loss weight.
pub(super) struct Row<'a> {
    pub(super) x: &'a [f32],
    pub(super) weight: f32,
    /// Held out for early stopping and calibration.
    pub(super) validation: bool,
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
pub(super) struct HeadSet<'a> {
    pub(super) rows: Vec<Row<'a>>,
    pub(super) y: Vec<Vec<f32>>,
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

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// The per-head sets built from examples.
pub(super) struct Sets<'a> {
    pub(super) sentiment: HeadSet<'a>,
    pub(super) intent: HeadSet<'a>,
    pub(super) toxicity: HeadSet<'a>,
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

pub(super) fn build_sets<'a>(
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

pub(super) fn argmax(v: &[f32]) -> usize {
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
pub(super) fn fit_head(
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

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
}
