//! Weight preparation: an E5S1 file's 4-bit blocks turned, once at load,
//! into the form the configured precision multiplies with, adapters merged
//! in first (see the module docs of `encoder` for the three forms).

use std::sync::Arc;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

use super::super::e5s1::{E5s1, TensorView, Q4_BLOCK_BYTES, QK};
use super::super::int8::Int8Linear;
use super::super::lora::{Adapters, Target};
use super::super::ModelError;
use super::{with_values, Layer};
use crate::config::Precision;

/// The layers of `m`, each weight in `precision`'s form, with `adapters`
/// merged in first.
pub(super) fn layers(
    m: &E5s1<'_>,
    precision: Precision,
    adapters: Option<&Adapters>,
    device: &Device,
) -> Result<Vec<Layer>, ModelError> {
    let delta = |layer: usize, target: Target| -> Result<Option<Tensor>, ModelError> {
        Ok(match adapters {
            Some(a) => a.delta(layer, target, device)?,
            None => None,
        })
    };
    let (h, ff) = (m.config.hidden, m.config.intermediate);
    let mut layers = Vec::with_capacity(m.config.layers);
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
                precision,
                delta(li, Target::Qkv)?,
                device,
            )?,
            qkv_b: f32_tensor(&[&l.q_b, &l.k_b, &l.v_b], device)?,
            ao: q4_matmul(
                &[l.ao_w.data],
                h,
                h,
                None,
                precision,
                delta(li, Target::AttnOut)?,
                device,
            )?,
            ao_b: f32_tensor(&[&l.ao_b], device)?,
            aln_w: f32_tensor(&[&l.aln_w], device)?,
            aln_b: f32_tensor(&[&l.aln_b], device)?,
            fi: q4_matmul(
                &[l.fi_w.data],
                ff,
                h,
                Some(&attention_range),
                precision,
                delta(li, Target::FfnIn)?,
                device,
            )?,
            fi_b: f32_tensor(&[&l.fi_b], device)?,
            fo: q4_matmul(
                &[l.fo_w.data],
                h,
                ff,
                None,
                precision,
                delta(li, Target::FfnOut)?,
                device,
            )?,
            fo_b: f32_tensor(&[&l.fo_b], device)?,
            oln_w: f32_tensor(&[&l.oln_w], device)?,
            oln_b: f32_tensor(&[&l.oln_b], device)?,
        });
        input_range = layer_norm_range(&l.oln_w, &l.oln_b);
    }
    Ok(layers)
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
pub(super) enum Linear {
    Q4(QMatMul),
    Int8(Int8Linear),
    F32(Tensor),
}

impl Linear {
    /// `x · Wᵀ + b`.
    pub(super) fn forward_bias(&self, x: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
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

/// `|γ| + |β|` of a LayerNorm, per channel: a bound on its output's size.
fn layer_norm_range(gamma: &TensorView<'_>, beta: &TensorView<'_>) -> Vec<f32> {
    gamma
        .to_f32_vec()
        .iter()
        .zip(beta.to_f32_vec())
        .map(|(g, b)| g.abs() + b.abs())
        .collect()
}

pub(super) fn f32_tensor(parts: &[&TensorView<'_>], dev: &Device) -> Result<Tensor, ModelError> {
    let mut v = Vec::new();
    for p in parts {
        v.extend(p.to_f32_vec());
    }
    let n = v.len();
    Ok(Tensor::from_vec(v, n, dev)?)
}
