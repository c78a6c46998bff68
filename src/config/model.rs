//! `[model]`: the local classifier's encoder and its batching.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Classify with the local model. When false, only the rules layer and
    /// its keyword heuristics classify (useful on very small machines).
    pub enabled: bool,
    /// Where the base weights are fetched to (default `$XDG_CACHE_HOME/replyd`).
    pub cache_dir: Option<PathBuf>,
    /// Retrained heads to use instead of the ones built into the binary.
    pub heads_dir: Option<PathBuf>,
    /// Encoder adapters (from `replyd train --adapters`) to use instead of
    /// the ones built into the binary.
    pub adapters_dir: Option<PathBuf>,
    /// Apply the encoder adapters (the built-in ones, or `adapters_dir`'s);
    /// false runs the base encoder. Heads only fit the encoder they were
    /// trained on, so turning this off calls for heads trained without.
    /// Off, the ensemble's second member is left out too.
    pub adapters: bool,
    /// Run the ensemble's second member beside the first: sentiment
    /// averaged over both, intent and toxicity the first's. Better sentiment
    /// for twice the encoder's work per message. False runs the first
    /// member alone.
    pub ensemble: bool,
    /// A retrained second member (`replyd train --adapters` with
    /// `--adapters-out` and `--out`) instead of the built-in one: its
    /// adapters and the heads trained with them, set together.
    pub second_adapters_dir: Option<PathBuf>,
    pub second_heads_dir: Option<PathBuf>,
    /// Most tokens in one batch; bounds memory and latency.
    pub max_batch_tokens: usize,
    pub max_batch_size: usize,
    /// Requests waiting for the model beyond this are refused (and retried
    /// later by the pipeline) instead of piling up in memory.
    pub queue_capacity: usize,
    /// Matrix arithmetic of the encoder: "int8" (8-bit integer kernels,
    /// fastest on CPUs with AVX-512 VNNI or AVX-VNNI), "f32" (the reference) or "q4" (least
    /// memory). Unset: the fastest for this CPU.
    pub precision: Option<Precision>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            enabled: true,
            cache_dir: None,
            heads_dir: None,
            adapters_dir: None,
            adapters: true,
            ensemble: true,
            second_adapters_dir: None,
            second_heads_dir: None,
            max_batch_tokens: 4096,
            max_batch_size: 64,
            queue_capacity: 1024,
            precision: None,
        }
    }
}

/// Which matmul implementation the encoder uses. Unset, the encoder picks
/// the fastest for the CPU it runs on (`Precision::fastest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 4-bit weights, Q8 activations (candle `QMatMul`, same math as e5.c).
    /// Smallest memory (~95 MB RSS) but candle's CPU Q4_0 kernel is ~3x
    /// slower than the f32 GEMM here.
    Q4,
    /// 8-bit weights and activations, one scale per 32 values, on the
    /// project's own AVX-512 VNNI or AVX-VNNI kernels (`classify/model/int8.rs`). Fastest
    /// wherever the CPU has either; elsewhere the same arithmetic runs one
    /// value at a time, and F32 is faster.
    Int8,
    /// Weights dequantized once at load to f32 (exact Q4_0 values), f32 GEMMs
    /// (`gemm` crate, runtime AVX2/AVX-512 dispatch). The reference path;
    /// ~170 MB RSS.
    F32,
}
