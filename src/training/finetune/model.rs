//! What `train --adapters` trains: the encoder as a differentiable function
//! of its adapters over the frozen f32 weights, the throwaway task heads
//! that give it a loss, and the optimisers that step both.

use std::collections::BTreeMap;

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Storage, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::Rng;

use super::super::fit::{weighted_loss_sum, Kind, TrainLayer};
use super::{FinetuneError, Item};
use crate::classify::heads::{Dense, Head, Heads};
use crate::classify::model::encoder::FrozenLayer;
use crate::classify::model::lora::{Adapters, LayerAdapters, LowRank, Target};
use crate::classify::model::Encoder;
use crate::domain::{Intent, Sentiment};

/// `x·W` with `W` frozen. A plain matmul would also compute `W`'s gradient
/// in the backward pass (candle computes one for every operand): one of
/// the three matmuls per weight, thrown away.
struct FrozenMatmul(Tensor);

impl CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(data), Some((start, end))) = (storage, layout.contiguous_offsets())
        else {
            candle_core::bail!("frozen-matmul takes a contiguous f32 input");
        };
        let x = Tensor::from_slice(&data[start..end], layout.shape(), &Device::Cpu)?;
        let y = x.matmul(&self.0)?;
        let shape = y.shape().clone();
        let (storage, _) = y.storage_and_layout();
        match &*storage {
            Storage::Cpu(CpuStorage::F32(v)) => Ok((CpuStorage::F32(v.clone()), shape)),
            _ => candle_core::bail!("frozen-matmul runs on the CPU"),
        }
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.matmul(&self.0.t()?)?))
    }
}

/// LayerNorm from differentiable ops (the encoder's fused one has no
/// backward pass).
fn layer_norm(x: &Tensor, [w, b]: [&Tensor; 2], eps: f64) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    centred
        .broadcast_div(&(var + eps)?.sqrt()?)?
        .broadcast_mul(w)?
        .broadcast_add(b)
}

/// One adapted weight's factors as trainable variables.
struct LoraVars {
    a: Var,
    b: Var,
}

/// The encoder with adapters kept apart from the frozen weights, as a
/// differentiable function of the adapters.
pub(crate) struct Trainable<'e> {
    encoder: &'e Encoder,
    frozen: Vec<FrozenLayer<'e>>,
    /// By layer; `None` for layers left alone.
    lora: Vec<Option<[LoraVars; 4]>>,
    rank: usize,
    alpha: f32,
}

impl<'e> Trainable<'e> {
    /// Fresh adapters on the top `layers` layers: B zero, so the adapted
    /// encoder starts as the frozen one; A random (like torch's default
    /// linear initialisation), since with both zero neither would get a
    /// gradient.
    pub fn fresh(
        encoder: &'e Encoder,
        rank: usize,
        alpha: f32,
        layers: usize,
        rng: &mut impl Rng,
    ) -> Result<Self, FinetuneError> {
        let cfg = encoder.config();
        if layers == 0 || layers > cfg.layers {
            return Err(FinetuneError::Settings(format!(
                "--layers must be between 1 and {}, not {layers}",
                cfg.layers
            )));
        }
        let map = (cfg.layers - layers..cfg.layers)
            .map(|l| {
                let factors = Target::ALL.map(|t| {
                    let (out, inputs) = t.dims(cfg.hidden, cfg.intermediate);
                    let bound = 1.0 / (inputs as f32).sqrt();
                    LowRank {
                        a: (0..rank * inputs)
                            .map(|_| rng.gen_range(-bound..bound))
                            .collect(),
                        b: vec![0.0; out * rank],
                    }
                });
                (l, factors)
            })
            .collect();
        let adapters = Adapters::new(rank, alpha, cfg.hidden, cfg.intermediate, map)?;
        Self::from_adapters(encoder, &adapters)
    }

    /// Continues from `adapters` (which must fit `encoder`).
    pub fn from_adapters(encoder: &'e Encoder, adapters: &Adapters) -> Result<Self, FinetuneError> {
        let cfg = encoder.config();
        adapters.check_fits(cfg)?;
        let dev = Device::Cpu;
        let mut lora: Vec<Option<[LoraVars; 4]>> = (0..cfg.layers).map(|_| None).collect();
        for layer in adapters.layer_indices() {
            let mut vars = Vec::with_capacity(4);
            for t in Target::ALL {
                let (out, inputs) = t.dims(cfg.hidden, cfg.intermediate);
                let f = adapters.get(layer, t).expect("listed layer");
                vars.push(LoraVars {
                    a: Var::from_tensor(&Tensor::from_slice(
                        &f.a,
                        (adapters.rank(), inputs),
                        &dev,
                    )?)?,
                    b: Var::from_tensor(&Tensor::from_slice(&f.b, (out, adapters.rank()), &dev)?)?,
                });
            }
            lora[layer] = Some(
                vars.try_into()
                    .unwrap_or_else(|_| unreachable!("four targets")),
            );
        }
        Ok(Trainable {
            encoder,
            frozen: encoder.frozen_layers()?,
            lora,
            rank: adapters.rank(),
            alpha: adapters.alpha(),
        })
    }

    /// The layers that carry adapters.
    pub fn adapted_layers(&self) -> Vec<usize> {
        self.lora
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|_| i))
            .collect()
    }

    pub fn vars(&self) -> Vec<Var> {
        self.lora
            .iter()
            .flatten()
            .flat_map(|f| f.iter().flat_map(|v| [v.a.clone(), v.b.clone()]))
            .collect()
    }

    /// The adapters as they stand.
    pub fn adapters(&self) -> Result<Adapters, FinetuneError> {
        let cfg = self.encoder.config();
        let mut map = BTreeMap::new();
        for (layer, vars) in self.lora.iter().enumerate() {
            let Some(vars) = vars else { continue };
            let mut factors = Vec::with_capacity(4);
            for v in vars {
                factors.push(LowRank {
                    a: v.a.as_tensor().flatten_all()?.to_vec1()?,
                    b: v.b.as_tensor().flatten_all()?.to_vec1()?,
                });
            }
            let factors: LayerAdapters = factors
                .try_into()
                .unwrap_or_else(|_| unreachable!("four targets"));
            map.insert(layer, factors);
        }
        Ok(Adapters::new(
            self.rank,
            self.alpha,
            cfg.hidden,
            cfg.intermediate,
            map,
        )?)
    }

    fn linear(&self, x: &Tensor, layer: usize, target: Target) -> candle_core::Result<Tensor> {
        let i = target.index();
        let fl = &self.frozen[layer];
        let base = x
            .contiguous()?
            .apply_op1(FrozenMatmul(fl.weights[i].clone()))?
            .broadcast_add(fl.biases[i])?;
        match &self.lora[layer] {
            Some(vars) => {
                let v = &vars[i];
                let scale = f64::from(self.alpha) / self.rank as f64;
                base + (x
                    .matmul(&v.a.as_tensor().t()?)?
                    .matmul(&v.b.as_tensor().t()?)?
                    * scale)?
            }
            None => Ok(base),
        }
    }

    /// L2-normalised mean-pooled embeddings `[b, H]` of token sequences
    /// (already `<s> … </s>`, at most 512 tokens), as `Encoder::embed`
    /// computes them for one window.
    pub fn embed(&self, seqs: &[&[u32]]) -> Result<Tensor, FinetuneError> {
        let cfg = self.encoder.config();
        let (h, nh) = (cfg.hidden, cfg.heads);
        let hd = h / nh;
        let b = seqs.len();
        let l = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        if b == 0 || l == 0 {
            return Err(FinetuneError::Settings("an empty batch".into()));
        }
        let eps = f64::from(cfg.eps);
        let (mut x, mask) = self.encoder.embedding_layer(seqs)?;
        let scale = 1.0 / (hd as f64).sqrt();
        for (li, fl) in self.frozen.iter().enumerate() {
            let qkv = self.linear(&x, li, Target::Qkv)?;
            let qkv = qkv.reshape((b, l, 3, nh, hd))?.permute((2, 0, 3, 1, 4))?; // [3, b, nh, l, hd]
            let q = (qkv.get(0)?.contiguous()? * scale)?;
            let k = qkv.get(1)?.contiguous()?;
            let v = qkv.get(2)?.contiguous()?;
            let att = q.matmul(&k.t()?)?.broadcast_add(&mask)?;
            let att = candle_nn::ops::softmax(&att, D::Minus1)?;
            let ctx = att.matmul(&v)?.transpose(1, 2)?.reshape((b * l, h))?;
            let ao = self.linear(&ctx, li, Target::AttnOut)?;
            x = layer_norm(&(x + ao)?, fl.attn_norm, eps)?;
            let mid = self.linear(&x, li, Target::FfnIn)?.gelu_erf()?;
            let fo = self.linear(&mid, li, Target::FfnOut)?;
            x = layer_norm(&(x + fo)?, fl.out_norm, eps)?;
        }
        let dev = Device::Cpu;
        let mut keep = vec![0f32; b * l];
        for (si, s) in seqs.iter().enumerate() {
            keep[si * l..si * l + s.len()].fill(1.0);
        }
        let keep = Tensor::from_vec(keep, (b, l, 1), &dev)?;
        let lens: Vec<f32> = seqs.iter().map(|s| s.len() as f32).collect();
        let lens = Tensor::from_vec(lens, (b, 1), &dev)?;
        let mean = x
            .reshape((b, l, h))?
            .broadcast_mul(&keep)?
            .sum(1)?
            .broadcast_div(&lens)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        Ok(mean.broadcast_div(&norm)?)
    }
}

/// The heads that give the adapters a loss, then are thrown away.
pub(crate) struct TaskHeads {
    sentiment: TrainLayer,
    intent: TrainLayer,
    toxicity: Option<TrainLayer>,
}

/// The embedding is a unit vector over 384 dimensions: scaled by √384 its
/// components are about unit size, which the heads' initialisation and
/// learning rate assume.
fn input_scale(dim: usize) -> f64 {
    (dim as f64).sqrt()
}

impl TaskHeads {
    pub fn new(dim: usize, toxicity: bool, rng: &mut impl Rng) -> candle_core::Result<Self> {
        let dev = Device::Cpu;
        Ok(TaskHeads {
            sentiment: TrainLayer::new(dim, Sentiment::ALL.len(), rng, &dev)?,
            intent: TrainLayer::new(dim, Intent::ALL.len(), rng, &dev)?,
            toxicity: if toxicity {
                Some(TrainLayer::new(dim, 2, rng, &dev)?)
            } else {
                None
            },
        })
    }

    pub fn vars(&self) -> Vec<Var> {
        [
            Some(&self.sentiment),
            Some(&self.intent),
            self.toxicity.as_ref(),
        ]
        .into_iter()
        .flatten()
        .flat_map(|l| [l.w.clone(), l.b.clone()])
        .collect()
    }

    /// The weighted mean of every labelled (row, task) loss in the batch.
    pub fn loss(&self, emb: &Tensor, items: &[&Item]) -> Result<Tensor, FinetuneError> {
        let dev = Device::Cpu;
        let n = items.len();
        let x = (emb * input_scale(emb.dim(1)?))?;
        let mut total: Option<Tensor> = None;
        let mut weight = 0f32;
        let mut add = |layer: &TrainLayer,
                       kind: Kind,
                       y: Vec<f32>,
                       w: Vec<f32>|
         -> Result<(), FinetuneError> {
            let sum_w: f32 = w.iter().sum();
            if sum_w == 0.0 {
                return Ok(());
            }
            let shape = match kind {
                Kind::Softmax(_) => (n, 1),
                Kind::Sigmoid(k) => (n, k),
            };
            let (y, w) = (
                Tensor::from_vec(y, shape, &dev)?,
                Tensor::from_vec(w, shape, &dev)?,
            );
            let (y, w) = match kind {
                Kind::Softmax(_) => (y.squeeze(1)?, w.squeeze(1)?),
                Kind::Sigmoid(_) => (y, w),
            };
            let loss = weighted_loss_sum(kind, &layer.forward(&x)?, &y, &w)?;
            total = Some(match total.take() {
                Some(t) => (t + loss)?,
                None => loss,
            });
            weight += sum_w;
            Ok(())
        };
        // Rows without the task's label weigh nothing in its loss.
        let classes = |class_of: &dyn Fn(&Item) -> Option<usize>| -> (Vec<f32>, Vec<f32>) {
            items
                .iter()
                .map(|it| class_of(it).map_or((0.0, 0.0), |c| (c as f32, it.weight)))
                .unzip()
        };
        let (y, w) = classes(&|it| {
            let s = it.sentiment?;
            Sentiment::ALL.iter().position(|x| *x == s)
        });
        add(&self.sentiment, Kind::Softmax(Sentiment::ALL.len()), y, w)?;
        let (y, w) = classes(&|it| {
            let i = it.intent?;
            Intent::ALL.iter().position(|x| *x == i)
        });
        add(&self.intent, Kind::Softmax(Intent::ALL.len()), y, w)?;
        if let Some(layer) = &self.toxicity {
            let mut y = Vec::with_capacity(2 * n);
            let mut w = Vec::with_capacity(2 * n);
            for it in items {
                for signal in [it.hate, it.offensive] {
                    y.push(f32::from(u8::from(signal == Some(true))));
                    w.push(if signal.is_some() { it.weight } else { 0.0 });
                }
            }
            add(layer, Kind::Sigmoid(2), y, w)?;
        }
        match total {
            Some(t) => Ok((t / f64::from(weight))?),
            None => Err(FinetuneError::Settings(
                "a batch without any label the heads learn".into(),
            )),
        }
    }

    /// As plain heads (temperature 1), to score embeddings with the code
    /// the real heads use.
    pub fn to_heads(&self, dim: usize) -> Result<Heads, FinetuneError> {
        let scale = input_scale(dim) as f32;
        let dense = |l: &TrainLayer| -> candle_core::Result<Dense> {
            let weight: Vec<f32> = l.w.as_tensor().flatten_all()?.to_vec1()?;
            Ok(Dense {
                weight: weight.iter().map(|v| v * scale).collect(),
                bias: l.b.as_tensor().to_vec1()?,
                inputs: dim,
            })
        };
        let head = |layer: Dense, temperatures: usize| Head {
            layers: vec![layer],
            temperature: vec![1.0; temperatures],
        };
        let toxicity = match &self.toxicity {
            Some(l) => dense(l)?,
            None => Dense {
                weight: vec![0.0; 2 * dim],
                bias: vec![0.0; 2],
                inputs: dim,
            },
        };
        Ok(Heads {
            sentiment: head(dense(&self.sentiment)?, 1),
            intent: head(dense(&self.intent)?, 1),
            toxicity: head(toxicity, 2),
        })
    }
}

/// The adapters, the heads and their optimisers.
pub(crate) struct Learner<'e> {
    pub model: Trainable<'e>,
    pub heads: TaskHeads,
    adapters_opt: AdamW,
    heads_opt: AdamW,
    learning_rate: f64,
    head_learning_rate: f64,
}

impl<'e> Learner<'e> {
    pub fn new(
        model: Trainable<'e>,
        heads: TaskHeads,
        learning_rate: f64,
        head_learning_rate: f64,
        weight_decay: f64,
    ) -> candle_core::Result<Self> {
        let params = |lr| ParamsAdamW {
            lr,
            weight_decay,
            ..Default::default()
        };
        Ok(Learner {
            adapters_opt: AdamW::new(model.vars(), params(learning_rate))?,
            heads_opt: AdamW::new(heads.vars(), params(head_learning_rate))?,
            model,
            heads,
            learning_rate,
            head_learning_rate,
        })
    }

    /// One optimisation step on `items` with the learning rates scaled by
    /// `lr_factor`; returns the loss before the step.
    pub fn step(&mut self, items: &[&Item], lr_factor: f64) -> Result<f32, FinetuneError> {
        let seqs: Vec<&[u32]> = items.iter().map(|it| it.ids.as_slice()).collect();
        let emb = self.model.embed(&seqs)?;
        let loss = self.heads.loss(&emb, items)?;
        let grads = loss.backward()?;
        self.adapters_opt
            .set_learning_rate(self.learning_rate * lr_factor);
        self.heads_opt
            .set_learning_rate(self.head_learning_rate * lr_factor);
        self.adapters_opt.step(&grads)?;
        self.heads_opt.step(&grads)?;
        Ok(loss.to_scalar::<f32>()?)
    }
}
