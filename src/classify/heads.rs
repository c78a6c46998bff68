//! The trained classification heads that turn one sentence embedding into
//! sentiment, intent and toxicity probabilities.
//!
//! Each head is a small stack of dense layers (a linear layer, or one hidden
//! layer with ReLU) followed by a temperature that calibrates its
//! probabilities. Everything is plain `f32` arithmetic over a few hundred
//! thousand weights, so a message costs microseconds next to the encoder's
//! milliseconds; candle is only used to train them (see `training/`).
//!
//! File layout (safetensors, little-endian F32 or F16), for each head
//! `sentiment` (3 outputs), `intent` (8) and `toxicity` (2: hate, offensive):
//! - `{head}.{i}.weight` `[out, in]` and `{head}.{i}.bias` `[out]` for
//!   layers `i = 0, 1, …`, ReLU between consecutive layers;
//! - `{head}.temperature`: `[1]` for the softmax heads, `[2]` for the
//!   toxicity sigmoids (one per signal, as they are calibrated separately).
//!
//! Any input normalisation used in training is folded into layer 0, so the
//! heads read the encoder's L2-normalised embedding as it is.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::tensor_file::{f16_bytes, floats, le_bytes, serialize, RawTensor};
use crate::domain::{Intent, Scored, Sentiment, Toxicity};

/// The file `load_dir` reads.
pub const HEADS_FILE: &str = "heads.safetensors";

/// The heads shipped in the binary, trained by `replyd train`.
static BUILTIN: &[u8] = include_bytes!("../../models/heads/heads.safetensors");

#[derive(Debug, thiserror::Error)]
pub enum HeadsError {
    #[error("cannot read heads file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not a valid safetensors file: {0}")]
    Format(String),
    #[error("heads file has no tensor `{0}`")]
    MissingTensor(String),
    #[error("tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    Shape {
        name: String,
        actual: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("tensor `{name}` has dtype {dtype}, expected F32 or F16")]
    Dtype { name: String, dtype: String },
    #[error("tensor `{name}` holds {what}")]
    Value { name: String, what: &'static str },
    #[error("embedding has {actual} dimensions, the heads expect {expected}")]
    Dimension { actual: usize, expected: usize },
}

/// What the heads say about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadOutput {
    pub sentiment: Scored<Sentiment>,
    pub intent: Scored<Intent>,
    pub toxicity: Toxicity,
}

impl HeadOutput {
    /// An ensemble's verdict. Sentiment is averaged over the members
    /// (probabilities, not votes: a confident member outweighs an unsure
    /// one, and the distribution still sums to 1), its label the most
    /// likely class of the averages. Intent and toxicity come from the
    /// first member alone, whose adapters are tuned for customer messages:
    /// averaging in the tweet-tuned second member cost 1.8 points of
    /// intent macro-F1 on the held-out set (1.9 on the Dutch rows) and
    /// gained nothing on hate or offensive tweets.
    ///
    /// # Panics
    /// On no outputs: an ensemble has at least one member.
    pub fn ensemble(outputs: &[HeadOutput]) -> HeadOutput {
        let first = outputs.first().expect("an ensemble has a member");
        let n = outputs.len() as f32;
        let sentiment: Vec<f32> = Sentiment::ALL
            .iter()
            .map(|s| outputs.iter().map(|o| o.sentiment.prob(*s)).sum::<f32>() / n)
            .collect();
        HeadOutput {
            sentiment: Scored::from_probs(Sentiment::ALL, &sentiment),
            intent: first.intent.clone(),
            toxicity: first.toxicity,
        }
    }
}

/// One dense layer, row-major `[out][in]` so each output is a contiguous
/// dot product (which the compiler vectorises).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub inputs: usize,
}

impl Dense {
    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    fn forward(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.weight
                .chunks_exact(self.inputs)
                .zip(&self.bias)
                .map(|(row, b)| b + dot(row, x)),
        );
    }

    /// Rounds every parameter to the nearest F16, the precision the file
    /// stores, so what training calibrates and scores is what ships.
    pub fn round_to_f16(&mut self) {
        for v in self.weight.iter_mut().chain(self.bias.iter_mut()) {
            *v = half::f16::from_f32(*v).to_f32();
        }
    }
}

/// A dot product over eight independent lanes: a plain `sum()` must add in
/// order, which keeps the compiler from using SIMD. The encoder's attention
/// uses it too.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// A stack of dense layers with ReLU between them, and its calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub layers: Vec<Dense>,
    /// Logits are divided by these before the softmax (one value) or the
    /// sigmoids (one per output).
    pub temperature: Vec<f32>,
}

impl Head {
    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs)
    }

    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, Dense::outputs)
    }

    /// Uncalibrated scores (before the temperature), used by training too.
    pub fn logits(&self, x: &[f32]) -> Vec<f32> {
        let mut cur = x.to_vec();
        let mut next = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            layer.forward(&cur, &mut next);
            if i + 1 < self.layers.len() {
                next.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            std::mem::swap(&mut cur, &mut next);
        }
        cur
    }

    fn temperature_of(&self, output: usize) -> f32 {
        self.temperature
            .get(output)
            .or(self.temperature.first())
            .copied()
            .unwrap_or(1.0)
    }

    pub fn softmax(&self, x: &[f32]) -> Vec<f32> {
        let t = self.temperature_of(0);
        softmax(&self.logits(x).iter().map(|l| l / t).collect::<Vec<_>>())
    }

    pub fn sigmoids(&self, x: &[f32]) -> Vec<f32> {
        self.logits(x)
            .iter()
            .enumerate()
            .map(|(i, l)| sigmoid(l / self.temperature_of(i)))
            .collect()
    }
}

pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The three heads; they share the encoder's embedding as input.
#[derive(Debug, Clone, PartialEq)]
pub struct Heads {
    pub sentiment: Head,
    pub intent: Head,
    pub toxicity: Head,
}

impl Heads {
    pub const SENTIMENT: &'static str = "sentiment";
    pub const INTENT: &'static str = "intent";
    pub const TOXICITY: &'static str = "toxicity";

    /// The heads compiled into the binary.
    pub fn builtin() -> Heads {
        // The bytes are produced by `replyd train` and checked by the tests,
        // so a failure here is a broken build, not a runtime condition.
        Heads::from_safetensors(BUILTIN).expect("built-in heads.safetensors is valid")
    }

    /// Reads `heads.safetensors` from a directory written by `replyd train`.
    pub fn load_dir(dir: &Path) -> Result<Heads, HeadsError> {
        let path = dir.join(HEADS_FILE);
        let bytes = std::fs::read(&path).map_err(|source| HeadsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Heads::from_safetensors(&bytes)
    }

    pub fn from_safetensors(bytes: &[u8]) -> Result<Heads, HeadsError> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| HeadsError::Format(e.to_string()))?;
        let heads = Heads {
            sentiment: read_head(&st, Self::SENTIMENT, Sentiment::ALL.len(), 1)?,
            intent: read_head(&st, Self::INTENT, Intent::ALL.len(), 1)?,
            toxicity: read_head(&st, Self::TOXICITY, 2, 2)?,
        };
        // All heads read the same embedding.
        let dim = heads.dim();
        for (name, head) in heads.named() {
            if head.inputs() != dim {
                let weight = format!("{name}.0.weight");
                return Err(HeadsError::Shape {
                    name: weight,
                    actual: vec![head.layers[0].outputs(), head.inputs()],
                    expected: vec![head.layers[0].outputs(), dim],
                });
            }
        }
        Ok(heads)
    }

    /// Serialises to the layout `from_safetensors` reads, with `metadata`
    /// in the file's header.
    pub fn to_safetensors(&self, metadata: HashMap<String, String>) -> Result<Vec<u8>, HeadsError> {
        // Weights as F16 (half the size, and far finer than the heads' own
        // error; training rounds them first so nothing shifts on reload),
        // temperatures as F32.
        let mut tensors: Vec<RawTensor> = Vec::new();
        for (name, head) in self.named() {
            for (i, l) in head.layers.iter().enumerate() {
                tensors.push((
                    format!("{name}.{i}.weight"),
                    Dtype::F16,
                    vec![l.outputs(), l.inputs],
                    f16_bytes(&l.weight),
                ));
                tensors.push((
                    format!("{name}.{i}.bias"),
                    Dtype::F16,
                    vec![l.outputs()],
                    f16_bytes(&l.bias),
                ));
            }
            tensors.push((
                format!("{name}.temperature"),
                Dtype::F32,
                vec![head.temperature.len()],
                le_bytes(&head.temperature),
            ));
        }
        serialize(&tensors, metadata).map_err(|e| HeadsError::Format(e.to_string()))
    }

    fn named(&self) -> [(&'static str, &Head); 3] {
        [
            (Self::SENTIMENT, &self.sentiment),
            (Self::INTENT, &self.intent),
            (Self::TOXICITY, &self.toxicity),
        ]
    }

    /// The embedding size the heads read.
    pub fn dim(&self) -> usize {
        self.sentiment.inputs()
    }

    /// Classifies one embedding.
    pub fn try_predict_one(&self, embedding: &[f32]) -> Result<HeadOutput, HeadsError> {
        if embedding.len() != self.dim() {
            return Err(HeadsError::Dimension {
                actual: embedding.len(),
                expected: self.dim(),
            });
        }
        let tox = self.toxicity.sigmoids(embedding);
        Ok(HeadOutput {
            sentiment: Scored::from_probs(Sentiment::ALL, &self.sentiment.softmax(embedding)),
            intent: Scored::from_probs(Intent::ALL, &self.intent.softmax(embedding)),
            toxicity: Toxicity {
                hate: tox[0],
                offensive: tox[1],
            },
        })
    }

    /// One text's output from an ensemble: each member's heads read that
    /// member's embedding, and [`HeadOutput::ensemble`] combines them.
    ///
    /// # Panics
    /// When the counts differ or an embedding has the wrong size: members
    /// and their heads are loaded together, so that is a programming error.
    pub fn predict_members(members: &[Heads], embeddings: &[Vec<f32>]) -> HeadOutput {
        assert_eq!(
            members.len(),
            embeddings.len(),
            "one embedding per ensemble member"
        );
        let outputs: Vec<HeadOutput> = members
            .iter()
            .zip(embeddings)
            .map(|(heads, e)| heads.predict_one(e))
            .collect();
        HeadOutput::ensemble(&outputs)
    }

    /// Classifies one embedding from the encoder.
    ///
    /// # Panics
    /// If the embedding does not have [`Heads::dim`] values: the encoder and
    /// the heads are built for one model, so that is a programming error.
    pub fn predict_one(&self, embedding: &[f32]) -> HeadOutput {
        match self.try_predict_one(embedding) {
            Ok(out) => out,
            Err(err) => panic!("{err}"),
        }
    }
}

fn read_f32(st: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>, HeadsError> {
    let view = st
        .tensor(name)
        .map_err(|_| HeadsError::MissingTensor(name.to_owned()))?;
    if view.shape() != shape {
        return Err(HeadsError::Shape {
            name: name.to_owned(),
            actual: view.shape().to_vec(),
            expected: shape.to_vec(),
        });
    }
    let values = floats(&view).ok_or_else(|| HeadsError::Dtype {
        name: name.to_owned(),
        dtype: format!("{:?}", view.dtype()),
    })?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(HeadsError::Value {
            name: name.to_owned(),
            what: "a value that is not finite",
        });
    }
    Ok(values)
}

/// The shape of a tensor, if present, so layers can be discovered in order.
fn shape_of(st: &SafeTensors<'_>, name: &str) -> Option<Vec<usize>> {
    st.tensor(name).ok().map(|v| v.shape().to_vec())
}

fn read_head(
    st: &SafeTensors<'_>,
    head: &str,
    outputs: usize,
    temperatures: usize,
) -> Result<Head, HeadsError> {
    let mut layers: Vec<Dense> = Vec::new();
    while let Some(shape) = shape_of(st, &format!("{head}.{}.weight", layers.len())) {
        let i = layers.len();
        let name = format!("{head}.{i}.weight");
        let [out, inputs] = shape[..] else {
            return Err(HeadsError::Shape {
                name,
                actual: shape,
                expected: vec![0, 0],
            });
        };
        // Each layer reads what the previous one wrote.
        if let Some(prev) = layers.last() {
            if inputs != prev.outputs() {
                return Err(HeadsError::Shape {
                    name,
                    actual: shape,
                    expected: vec![out, prev.outputs()],
                });
            }
        }
        let weight = read_f32(st, &name, &[out, inputs])?;
        let bias = read_f32(st, &format!("{head}.{i}.bias"), &[out])?;
        layers.push(Dense {
            weight,
            bias,
            inputs,
        });
    }
    let last = layers
        .last()
        .ok_or_else(|| HeadsError::MissingTensor(format!("{head}.0.weight")))?;
    if last.outputs() != outputs {
        let i = layers.len() - 1;
        return Err(HeadsError::Shape {
            name: format!("{head}.{i}.weight"),
            actual: vec![last.outputs(), last.inputs],
            expected: vec![outputs, last.inputs],
        });
    }
    let name = format!("{head}.temperature");
    let temperature = read_f32(st, &name, &[temperatures])?;
    if temperature.iter().any(|t| *t <= 0.0) {
        return Err(HeadsError::Value {
            name,
            what: "a temperature that is not positive",
        });
    }
    Ok(Head {
        layers,
        temperature,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    pub(crate) fn random_head(rng: &mut impl Rng, sizes: &[usize], temperatures: usize) -> Head {
        let layers = sizes
            .windows(2)
            .map(|w| Dense {
                weight: (0..w[0] * w[1]).map(|_| rng.gen_range(-0.2..0.2)).collect(),
                bias: (0..w[1]).map(|_| rng.gen_range(-0.1..0.1)).collect(),
                inputs: w[0],
            })
            .collect();
        Head {
            layers,
            temperature: vec![1.3; temperatures],
        }
    }

    pub(crate) fn random_heads(seed: u64) -> Heads {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        Heads {
            sentiment: random_head(&mut rng, &[384, 32, 3], 1),
            intent: random_head(&mut rng, &[384, 8], 1),
            toxicity: random_head(&mut rng, &[384, 16, 2], 2),
        }
    }

    fn random_embedding(rng: &mut impl Rng) -> Vec<f32> {
        let v: Vec<f32> = (0..384).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    fn rounded(mut heads: Heads) -> Heads {
        for head in [&mut heads.sentiment, &mut heads.intent, &mut heads.toxicity] {
            head.layers.iter_mut().for_each(Dense::round_to_f16);
        }
        heads
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..29).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..29).map(|i| 1.0 - i as f32 * 0.25).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    #[test]
    fn round_trips_and_predicts_distributions() {
        let heads = rounded(random_heads(7));
        let bytes = heads.to_safetensors(HashMap::new()).unwrap();
        let back = Heads::from_safetensors(&bytes).unwrap();
        assert_eq!(back, heads);

        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let embs: Vec<Vec<f32>> = (0..5).map(|_| random_embedding(&mut rng)).collect();
        let out: Vec<HeadOutput> = embs.iter().map(|e| back.predict_one(e)).collect();
        for o in &out {
            let s: f32 = o.sentiment.scores.values().sum();
            let i: f32 = o.intent.scores.values().sum();
            assert!((s - 1.0).abs() < 1e-5 && (i - 1.0).abs() < 1e-5);
            assert_eq!(o.intent.scores.len(), 8);
            assert!((0.0..=1.0).contains(&o.toxicity.hate));
            assert!((0.0..=1.0).contains(&o.toxicity.offensive));
        }
    }

    #[test]
    fn matches_a_hand_computed_mlp() {
        // in 2 → hidden 2 (ReLU) → out; hidden = relu([1,-1]·x + 0, [0.5,0.5]·x - 1)
        let head = Head {
            layers: vec![
                Dense {
                    weight: vec![1.0, -1.0, 0.5, 0.5],
                    bias: vec![0.0, -1.0],
                    inputs: 2,
                },
                Dense {
                    weight: vec![2.0, 1.0, -1.0, 3.0],
                    bias: vec![0.5, 0.0],
                    inputs: 2,
                },
            ],
            temperature: vec![2.0],
        };
        // x = [3, 1]: hidden = [2, relu(1)] = [2, 1]; logits = [2*2+1+0.5, -2+3] = [5.5, 1]
        assert_eq!(head.logits(&[3.0, 1.0]), vec![5.5, 1.0]);
        let p = head.softmax(&[3.0, 1.0]);
        let expect = 1.0 / (1.0 + (-(5.5f32 - 1.0) / 2.0).exp());
        assert!((p[0] - expect).abs() < 1e-6);
        // x = [0, 1]: hidden = [relu(-1), relu(-0.5)] = [0, 0]; logits = biases
        assert_eq!(head.logits(&[0.0, 1.0]), vec![0.5, 0.0]);
    }

    #[test]
    fn names_the_missing_tensor_and_the_bad_shape() {
        let mut heads = rounded(random_heads(3));
        heads.intent.layers[0] = Dense {
            weight: vec![0.0; 384 * 5],
            bias: vec![0.0; 5],
            inputs: 384,
        };
        let bytes = heads.to_safetensors(HashMap::new()).unwrap();
        let err = Heads::from_safetensors(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("intent.0.weight") && err.contains("[8, 384]"),
            "{err}"
        );

        let mut heads = random_heads(3);
        heads.toxicity.temperature = vec![1.0];
        let bytes = heads.to_safetensors(HashMap::new()).unwrap();
        let err = Heads::from_safetensors(&bytes).unwrap_err().to_string();
        assert!(err.contains("toxicity.temperature"), "{err}");

        let err = Heads::from_safetensors(b"nonsense").unwrap_err();
        assert!(matches!(err, HeadsError::Format(_)), "{err}");

        // A file with only the sentiment head names the first missing one.
        let tensors = vec![
            (
                "sentiment.0.weight".to_owned(),
                Dtype::F32,
                vec![3, 384],
                le_bytes(&[0.0; 3 * 384]),
            ),
            (
                "sentiment.0.bias".to_owned(),
                Dtype::F32,
                vec![3],
                le_bytes(&[0.0; 3]),
            ),
            (
                "sentiment.temperature".to_owned(),
                Dtype::F32,
                vec![1],
                le_bytes(&[1.0]),
            ),
        ];
        let bytes = serialize(&tensors, HashMap::new()).unwrap();
        let err = Heads::from_safetensors(&bytes).unwrap_err().to_string();
        assert_eq!(err, "heads file has no tensor `intent.0.weight`");
    }

    #[test]
    fn rejects_a_wrong_embedding_size() {
        let heads = random_heads(5);
        let err = heads.try_predict_one(&[0.0; 10]).unwrap_err();
        assert!(matches!(
            err,
            HeadsError::Dimension {
                actual: 10,
                expected: 384
            }
        ));
    }

    #[test]
    fn an_ensemble_averages_sentiment_and_takes_the_rest_from_its_first_member() {
        let members = [random_heads(1), random_heads(2)];
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let embeddings = vec![random_embedding(&mut rng), random_embedding(&mut rng)];
        let alone: Vec<HeadOutput> = members
            .iter()
            .zip(&embeddings)
            .map(|(h, e)| h.predict_one(e))
            .collect();
        let mean = Heads::predict_members(&members, &embeddings);
        for s in Sentiment::ALL {
            let want = (alone[0].sentiment.prob(*s) + alone[1].sentiment.prob(*s)) / 2.0;
            assert!((mean.sentiment.prob(*s) - want).abs() < 1e-6, "{s:?}");
        }
        assert_eq!(mean.intent, alone[0].intent);
        assert_ne!(alone[0].intent, alone[1].intent, "the members disagree");
        assert_eq!(mean.toxicity, alone[0].toxicity);
        assert_ne!(alone[0].toxicity, alone[1].toxicity);
        let total: f32 = mean.sentiment.scores.values().sum();
        assert!((total - 1.0).abs() < 1e-5, "sentiment sums to {total}");
        let best = Sentiment::ALL
            .iter()
            .copied()
            .max_by(|a, b| mean.sentiment.prob(*a).total_cmp(&mean.sentiment.prob(*b)))
            .unwrap();
        assert_eq!(mean.sentiment.label, best);
        // One member is its own ensemble.
        assert_eq!(HeadOutput::ensemble(&alone[..1]), alone[0]);
    }

    #[test]
    fn the_mean_can_disagree_with_a_vote() {
        // One member sure of negative, two leaning neutral: votes say
        // neutral, the probabilities say negative.
        let scored = |p: [f32; 3]| HeadOutput {
            sentiment: Scored::from_probs(Sentiment::ALL, &p),
            intent: Scored::from_probs(Intent::ALL, &[0.125; 8]),
            toxicity: Toxicity::default(),
        };
        let negative = Sentiment::ALL
            .iter()
            .position(|s| *s == Sentiment::Negative)
            .unwrap();
        let neutral = Sentiment::ALL
            .iter()
            .position(|s| *s == Sentiment::Neutral)
            .unwrap();
        let mut sure = [0.0; 3];
        sure[negative] = 0.98;
        sure[neutral] = 0.01;
        sure[3 - negative - neutral] = 0.01;
        let mut leaning = [0.0; 3];
        leaning[negative] = 0.3;
        leaning[neutral] = 0.4;
        leaning[3 - negative - neutral] = 0.3;
        let mean = HeadOutput::ensemble(&[scored(sure), scored(leaning), scored(leaning)]);
        assert_eq!(mean.sentiment.label, Sentiment::Negative);
    }

    #[test]
    fn builtin_heads_load() {
        let heads = Heads::builtin();
        assert_eq!(heads.dim(), 384);
    }
}
