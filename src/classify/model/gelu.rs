//! Exact-erf GELU, `x · Φ(x)`, from a table of the normal CDF Φ.
//!
//! candle's `gelu_erf` evaluates `erf` per element through the `libm` crate's
//! scalar code: a quarter of a forward pass's time once the matmuls are
//! integer. Φ is smooth, so a table with linear interpolation is as exact as
//! the f32 values it feeds (error below 2e-7, under a 4-bit weight's
//! rounding by orders of magnitude) at the cost of two loads per element.

use std::sync::OnceLock;

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

/// Φ is tabulated on [-RANGE, RANGE]; beyond it, Φ is 0 or 1 within f32.
const RANGE: f32 = 10.0;
/// Table points per unit of x.
const STEPS_PER_UNIT: f32 = 512.0;

fn normal_cdf_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let points = (2.0 * RANGE * STEPS_PER_UNIT) as usize + 2;
        (0..points)
            .map(|i| {
                let x = i as f64 / STEPS_PER_UNIT as f64 - RANGE as f64;
                (0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))) as f32
            })
            .collect()
    })
}

/// GELU of every value of `xs`, in place.
pub fn gelu_in_place(xs: &mut [f32]) {
    let table = normal_cdf_table();
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, all the function uses.
        return unsafe { gelu_avx512(xs, table) };
    }
    gelu_scalar(xs, table);
}

fn gelu_scalar(xs: &mut [f32], table: &[f32]) {
    let last = (table.len() - 2) as f32;
    for x in xs.iter_mut() {
        let position = ((*x + RANGE) * STEPS_PER_UNIT).clamp(0.0, last);
        let index = position as usize;
        let fraction = position - index as f32;
        let cdf = table[index] + fraction * (table[index + 1] - table[index]);
        *x *= cdf;
    }
}

/// [`gelu_scalar`] sixteen values at a time, the two table reads as
/// gathers: GELU took a tenth of a message's time one value at a time, under
/// a fiftieth this way. The same operations in the same order (no fused
/// multiply-add), so the results are bit for bit the scalar ones. Written
/// with intrinsics rather than left to the auto-vectoriser, which keeps
/// the loop scalar without AVX-512 in the build's target and below
/// `opt-level = 2` (the tests' build).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gelu_avx512(xs: &mut [f32], table: &[f32]) {
    use std::arch::x86_64::*;
    let last = _mm512_set1_ps((table.len() - 2) as f32);
    let range = _mm512_set1_ps(RANGE);
    let steps = _mm512_set1_ps(STEPS_PER_UNIT);
    let one = _mm512_set1_epi32(1);
    let mut chunks = xs.chunks_exact_mut(16);
    for chunk in &mut chunks {
        let x = _mm512_loadu_ps(chunk.as_ptr());
        let position = _mm512_mul_ps(_mm512_add_ps(x, range), steps);
        // max(NaN, 0) is 0: a NaN reads entry 0 and stays NaN through the
        // final product, as in the scalar loop.
        let position = _mm512_min_ps(_mm512_max_ps(position, _mm512_setzero_ps()), last);
        let index = _mm512_cvttps_epi32(position);
        let fraction = _mm512_sub_ps(position, _mm512_cvtepi32_ps(index));
        // SAFETY: `position` is in [0, len - 2], so `index + 1` is in
        // bounds.
        let low = _mm512_i32gather_ps::<4>(index, table.as_ptr());
        let high = _mm512_i32gather_ps::<4>(_mm512_add_epi32(index, one), table.as_ptr());
        let cdf = _mm512_add_ps(low, _mm512_mul_ps(fraction, _mm512_sub_ps(high, low)));
        _mm512_storeu_ps(chunk.as_mut_ptr(), _mm512_mul_ps(x, cdf));
    }
    gelu_scalar(chunks.into_remainder(), table);
}

/// The candle op for [`gelu_in_place`] (inference only: it has no gradient).
struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu-table"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("gelu-table needs a contiguous tensor");
        };
        let mut values = storage.as_slice::<f32>()?[start..end].to_vec();
        gelu_in_place(&mut values);
        Ok((CpuStorage::F32(values), layout.shape().clone()))
    }
}

/// `gelu(xs)` for an f32 tensor on the CPU.
pub fn gelu(xs: &Tensor) -> candle_core::Result<Tensor> {
    xs.apply_op1_no_bwd(&Gelu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_exact_erf_gelu() {
        let mut worst = 0f64;
        let mut x = -14.0f64;
        while x < 14.0 {
            let exact = x * 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
            let mut value = [x as f32];
            gelu_in_place(&mut value);
            worst = worst.max((value[0] as f64 - exact).abs() / x.abs().max(1.0));
            x += 0.000_37;
        }
        assert!(worst < 1e-6, "worst error {worst}");
    }

    #[test]
    fn the_vector_loop_computes_the_scalar_values() {
        // The values that are not numbers or lie far outside the table
        // first, so they go through the 16-value chunks, then the whole
        // table's range, ending in a remainder of 5 for the scalar tail.
        let values: Vec<f32> = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30]
            .into_iter()
            .chain((-20_000..20_000).map(|i| i as f32 / 1_537.0))
            .collect();
        let mut scalar = values.clone();
        gelu_scalar(&mut scalar, normal_cdf_table());
        let mut dispatched = values;
        gelu_in_place(&mut dispatched);
        for (a, b) in dispatched.iter().zip(&scalar) {
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{a} vs {b}"
            );
        }
    }

    #[test]
    fn agrees_with_candle_on_a_tensor() {
        let values: Vec<f32> = (-400..400).map(|i| i as f32 / 37.0).collect();
        let t = Tensor::from_vec(values, (20, 40), &candle_core::Device::Cpu).unwrap();
        let ours: Vec<f32> = gelu(&t).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let candle: Vec<f32> = t
            .gelu_erf()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (a, b) in ours.iter().zip(&candle) {
            assert!((a - b).abs() < 2e-6, "{a} vs {b}");
        }
    }
}
