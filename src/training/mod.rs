//! Offline training and evaluation of the local model: what `replyd train`
//! and `replyd eval` run, and nothing the daemon needs. It builds on
//! `classify` (the encoder, the heads' format, the embedding cache); the
//! daemon never reaches in here.
//!
//! `train.rs` runs a heads training from the labelled files (`data.rs`)
//! through the embedding cache, fitting each head (`fit.rs`), calibrating
//! it (`calibrate.rs`) and writing the manifest (`report.rs`);
//! `finetune/` learns the encoder's LoRA adapters first; `eval.rs` holds
//! the metrics both report; `commands.rs` is their command line.

mod calibrate;
pub mod commands;
pub mod data;
pub mod eval;
pub mod finetune;
pub mod fit;
pub mod report;
pub mod train;
