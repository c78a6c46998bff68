//! The encoder's 8-bit matmul: `y = x · Wᵀ + b` with `W` and `x` in int8,
//! one scale per 32 values on both sides, on AVX-512 VNNI or AVX-VNNI.
//!
//! candle's packed integer kernels did this job before, and three things
//! about them cost a fifth of a lone message's time and a third of a
//! batch's: they quantize activations in
//! blocks of 256, so the encoder's 384-wide inputs had to be zero-padded to
//! 512 (a third more integer work on three of a layer's four matmuls); their
//! activation quantizer is scalar (16 % of the time on its own); and every
//! matmul went through two extra tensor copies (the smoothing factors and the
//! padding). Here the input is quantized once, smoothing folded in, in
//! blocks of 32 that divide every width of the model, and the bias is the
//! accumulators' starting value.
//!
//! Layout: the weight is cut into tiles of 16 output columns by 32 inputs.
//! A tile stores its values offset by +128 (`vpdpbusd` multiplies unsigned
//! by signed bytes), four consecutive inputs of one column side by side, so
//! one instruction multiplies four inputs into sixteen columns. The offset is
//! taken back out with each activation block's sum. Up to four input rows
//! share each loaded weight register.
//!
//! Every CPU runs the same arithmetic: the portable loop below is the
//! reference, and the vector kernels are bit for bit equal to it (integer sums
//! are exact; the float steps happen in the same order, with the same fused
//! multiply-add).

/// Values per quantization block, on both sides.
const BLOCK: usize = 32;
/// Output columns per tile: one 512-bit register of i32 or f32.
const COLUMNS: usize = 16;
/// Input rows that share one pass over a weight tile.
const MAX_ROWS: usize = 4;
/// Rows whose quantized activations stay in the nearer caches while every
/// column tile passes over them (32 rows of the widest input are 48 KiB):
/// a batch's thousand rows would otherwise be fetched again from further
/// out for each tile.
const ROWS_PER_CHUNK: usize = 32;
/// Weights are stored as `w + OFFSET` in a `u8`.
const OFFSET: i32 = 128;

/// 16 output columns × 32 inputs. Values are grouped by four inputs:
/// `values[g * 64 + c * 4 + i]` is column `c`'s input `4g + i`, plus 128.
#[repr(C, align(64))]
#[derive(Clone)]
struct Tile {
    values: [u8; BLOCK * COLUMNS],
    scales: [f32; COLUMNS],
}

/// Why a weight cannot take the 8-bit form.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Int8Error {
    #[error("a {outputs}x{inputs} weight: outputs must be a multiple of {COLUMNS} and inputs of {BLOCK}")]
    Shape { outputs: usize, inputs: usize },
    #[error("an input of {values} values is not a whole number of {width}-wide rows")]
    Rows { values: usize, width: usize },
    #[error("{what} has {got} values, expected {expected}")]
    Length {
        what: &'static str,
        got: usize,
        expected: usize,
    },
}

/// A linear layer in 8 bits.
pub(crate) struct Int8Linear {
    outputs: usize,
    inputs: usize,
    /// `[column tile][input block]`.
    tiles: Vec<Tile>,
    /// Multiplies each input channel before quantization (the weight's
    /// columns were divided by the same factors): SmoothQuant's rescaling,
    /// which moves outlier channels' range into the weight.
    input_scale: Option<Vec<f32>>,
}

/// Rows of activations in 8 bits, one scale and one sum per 32 values.
struct QuantizedRows {
    values: Vec<i8>,
    scales: Vec<f32>,
    /// Each block's sum of quantized values, to take the weights' offset back out.
    sums: Vec<i32>,
    blocks_per_row: usize,
}

impl Int8Linear {
    /// Quantizes `weight` (`[outputs, inputs]`, row-major, already multiplied
    /// column by column by `1 / input_scale` where one is given).
    pub(crate) fn new(
        weight: &[f32],
        outputs: usize,
        inputs: usize,
        input_scale: Option<Vec<f32>>,
    ) -> Result<Int8Linear, Int8Error> {
        if outputs % COLUMNS != 0 || inputs % BLOCK != 0 || outputs == 0 || inputs == 0 {
            return Err(Int8Error::Shape { outputs, inputs });
        }
        check_length("weight", weight.len(), outputs * inputs)?;
        if let Some(scale) = &input_scale {
            check_length("input scale", scale.len(), inputs)?;
        }
        let blocks = inputs / BLOCK;
        let mut tiles = Vec::with_capacity(outputs / COLUMNS * blocks);
        for first_column in (0..outputs).step_by(COLUMNS) {
            for block in 0..blocks {
                let mut tile = Tile {
                    values: [0; BLOCK * COLUMNS],
                    scales: [0.0; COLUMNS],
                };
                for c in 0..COLUMNS {
                    let row = (first_column + c) * inputs + block * BLOCK;
                    let (scale, quantized) = quantize_block(&weight[row..row + BLOCK]);
                    tile.scales[c] = scale;
                    for (i, q) in quantized.iter().enumerate() {
                        tile.values[(i / 4) * 64 + c * 4 + i % 4] = (*q as i32 + OFFSET) as u8;
                    }
                }
                tiles.push(tile);
            }
        }
        Ok(Int8Linear {
            outputs,
            inputs,
            tiles,
            input_scale,
        })
    }

    pub(crate) fn inputs(&self) -> usize {
        self.inputs
    }

    pub(crate) fn outputs(&self) -> usize {
        self.outputs
    }

    /// `x · Wᵀ + bias` for `x` of `[rows, inputs]`, into a new `[rows, outputs]`.
    pub(crate) fn forward(&self, x: &[f32], bias: &[f32]) -> Result<Vec<f32>, Int8Error> {
        if x.len() % self.inputs != 0 {
            return Err(Int8Error::Rows {
                values: x.len(),
                width: self.inputs,
            });
        }
        check_length("bias", bias.len(), self.outputs)?;
        let rows = x.len() / self.inputs;
        let quantized = QuantizedRows::new(x, self.inputs, self.input_scale.as_deref());
        let mut out = vec![0f32; rows * self.outputs];
        self.multiply(Kernel::best(), &quantized, bias, &mut out);
        Ok(out)
    }

    fn multiply(&self, kernel: Kernel, x: &QuantizedRows, bias: &[f32], out: &mut [f32]) {
        // The vector kernels read and write through raw pointers.
        assert_eq!(bias.len(), self.outputs);
        assert_eq!(out.len(), x.rows() * self.outputs);
        assert_eq!(x.blocks_per_row * BLOCK, self.inputs);
        match kernel {
            Kernel::Portable => self.multiply_portable(x, bias, out),
            // SAFETY: `Kernel::best` and `Kernel::available` only name a
            // kernel whose features the CPU has.
            #[cfg(target_arch = "x86_64")]
            Kernel::AvxVnni => unsafe { self.multiply_avxvnni(x, bias, out) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe { self.multiply_vnni512(x, bias, out) },
        }
    }

    /// One tile column's tiles, one per input block.
    fn column_tiles(&self, tile_column: usize) -> &[Tile] {
        let blocks = self.inputs / BLOCK;
        &self.tiles[tile_column * blocks..(tile_column + 1) * blocks]
    }

    /// The reference: what the vector kernels compute, one value at a time.
    fn multiply_portable(&self, x: &QuantizedRows, bias: &[f32], out: &mut [f32]) {
        for row in 0..x.rows() {
            for column in 0..self.outputs {
                let (tile_column, c) = (column / COLUMNS, column % COLUMNS);
                let mut acc = bias[column];
                for (block, tile) in self.column_tiles(tile_column).iter().enumerate() {
                    let activations = x.block(row, block);
                    let mut sum = 0i32;
                    for (i, a) in activations.iter().enumerate() {
                        sum += tile.values[(i / 4) * 64 + c * 4 + i % 4] as i32 * *a as i32;
                    }
                    let (a_scale, a_sum) = x.block_scale_and_sum(row, block);
                    let exact = (sum - OFFSET * a_sum) as f32;
                    acc = exact.mul_add(tile.scales[c] * a_scale, acc);
                }
                out[row * self.outputs + column] = acc;
            }
        }
    }

    /// The order the vector kernels take the work in: `(tile column, first
    /// row, rows)`, at most `max_rows` rows at a time.
    fn passes(
        &self,
        rows: usize,
        max_rows: usize,
    ) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..rows).step_by(ROWS_PER_CHUNK).flat_map(move |chunk| {
            let chunk_end = (chunk + ROWS_PER_CHUNK).min(rows);
            (0..self.outputs / COLUMNS).flat_map(move |tile_column| {
                (chunk..chunk_end)
                    .step_by(max_rows)
                    .map(move |row| (tile_column, row, (chunk_end - row).min(max_rows)))
            })
        })
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn multiply_vnni512(&self, x: &QuantizedRows, bias: &[f32], out: &mut [f32]) {
        for (tile_column, row, take) in self.passes(x.rows(), MAX_ROWS) {
            match take {
                4 => self.tile_rows_vnni512::<4>(x, bias, tile_column, row, out),
                3 => self.tile_rows_vnni512::<3>(x, bias, tile_column, row, out),
                2 => self.tile_rows_vnni512::<2>(x, bias, tile_column, row, out),
                _ => self.tile_rows_vnni512::<1>(x, bias, tile_column, row, out),
            }
        }
    }

    /// [`Int8Linear::multiply_vnni512`] in 256-bit registers, for CPUs with
    /// AVX-VNNI but not AVX-512 (Intel's client cores since Alder Lake, its
    /// E-core Xeons). Sixteen of them hold half of what the 512-bit kernel
    /// keeps in registers, so it takes two rows at a time.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,avxvnni")]
    unsafe fn multiply_avxvnni(&self, x: &QuantizedRows, bias: &[f32], out: &mut [f32]) {
        for (tile_column, row, take) in self.passes(x.rows(), 2) {
            match take {
                2 => self.tile_rows_avxvnni::<2>(x, bias, tile_column, row, out),
                _ => self.tile_rows_avxvnni::<1>(x, bias, tile_column, row, out),
            }
        }
    }

    /// Sixteen output columns of `ROWS` rows as two halves of eight.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,avxvnni")]
    #[inline]
    unsafe fn tile_rows_avxvnni<const ROWS: usize>(
        &self,
        x: &QuantizedRows,
        bias: &[f32],
        tile_column: usize,
        first_row: usize,
        out: &mut [f32],
    ) {
        use std::arch::x86_64::*;
        let bias = bias.as_ptr().add(tile_column * COLUMNS);
        let mut acc = [[_mm256_loadu_ps(bias), _mm256_loadu_ps(bias.add(8))]; ROWS];
        for (block, tile) in self.column_tiles(tile_column).iter().enumerate() {
            let mut sums = [[_mm256_setzero_si256(); 2]; ROWS];
            let row_values = x.block_starts::<ROWS>(first_row, block);
            for group in 0..BLOCK / 4 {
                let at = tile.values.as_ptr().add(group * 64);
                let weights = [
                    _mm256_load_si256(at as *const _),
                    _mm256_load_si256(at.add(32) as *const _),
                ];
                for r in 0..ROWS {
                    let four = (row_values[r].add(group * 4) as *const i32).read_unaligned();
                    let four = _mm256_set1_epi32(four);
                    for half in 0..2 {
                        sums[r][half] = _mm256_dpbusd_avx_epi32(sums[r][half], weights[half], four);
                    }
                }
            }
            for r in 0..ROWS {
                let (a_scale, a_sum) = x.block_scale_and_sum(first_row + r, block);
                for half in 0..2 {
                    let weight_scales = _mm256_load_ps(tile.scales.as_ptr().add(half * 8));
                    let exact = _mm256_sub_epi32(sums[r][half], _mm256_set1_epi32(OFFSET * a_sum));
                    let scales = _mm256_mul_ps(weight_scales, _mm256_set1_ps(a_scale));
                    acc[r][half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(exact), scales, acc[r][half]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let at = out
                .as_mut_ptr()
                .add((first_row + r) * self.outputs + tile_column * COLUMNS);
            _mm256_storeu_ps(at, acc[0]);
            _mm256_storeu_ps(at.add(8), acc[1]);
        }
    }

    /// Sixteen output columns of `ROWS` rows, starting at `first_row`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    unsafe fn tile_rows_vnni512<const ROWS: usize>(
        &self,
        x: &QuantizedRows,
        bias: &[f32],
        tile_column: usize,
        first_row: usize,
        out: &mut [f32],
    ) {
        use std::arch::x86_64::*;
        let bias = _mm512_loadu_ps(bias.as_ptr().add(tile_column * COLUMNS));
        let mut acc = [bias; ROWS];
        for (block, tile) in self.column_tiles(tile_column).iter().enumerate() {
            let mut sums = [_mm512_setzero_si512(); ROWS];
            let row_values = x.block_starts::<ROWS>(first_row, block);
            for group in 0..BLOCK / 4 {
                let weights = _mm512_load_si512(tile.values.as_ptr().add(group * 64) as *const _);
                for r in 0..ROWS {
                    // Four activations, the same for every column.
                    let four = (row_values[r].add(group * 4) as *const i32).read_unaligned();
                    sums[r] = _mm512_dpbusd_epi32(sums[r], weights, _mm512_set1_epi32(four));
                }
            }
            let weight_scales = _mm512_load_ps(tile.scales.as_ptr());
            for r in 0..ROWS {
                let (a_scale, a_sum) = x.block_scale_and_sum(first_row + r, block);
                let exact = _mm512_sub_epi32(sums[r], _mm512_set1_epi32(OFFSET * a_sum));
                let scales = _mm512_mul_ps(weight_scales, _mm512_set1_ps(a_scale));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), scales, acc[r]);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let at = (first_row + r) * self.outputs + tile_column * COLUMNS;
            _mm512_storeu_ps(out.as_mut_ptr().add(at), *acc);
        }
    }
}

impl QuantizedRows {
    /// Quantizes `x` (`[rows, width]`), each value first multiplied by its
    /// channel's `scale` where one is given.
    fn new(x: &[f32], width: usize, scale: Option<&[f32]>) -> QuantizedRows {
        let blocks = x.len() / BLOCK;
        let mut rows = QuantizedRows {
            values: vec![0; x.len()],
            scales: vec![0.0; blocks],
            sums: vec![0; blocks],
            blocks_per_row: width / BLOCK,
        };
        #[cfg(target_arch = "x86_64")]
        if avx512_quantizer() {
            // SAFETY: the CPU has AVX-512F and BW, all the function uses.
            unsafe { rows.fill_avx512(x, width, scale) };
            return rows;
        }
        rows.fill_portable(x, width, scale);
        rows
    }

    fn fill_portable(&mut self, x: &[f32], width: usize, scale: Option<&[f32]>) {
        let mut scaled = [0f32; BLOCK];
        for (block, chunk) in x.chunks_exact(BLOCK).enumerate() {
            let chunk = match scale {
                Some(scale) => {
                    let first = (block * BLOCK) % width;
                    for ((s, v), f) in scaled.iter_mut().zip(chunk).zip(&scale[first..]) {
                        *s = v * f;
                    }
                    &scaled
                }
                None => chunk,
            };
            let (s, q) = quantize_block(chunk);
            self.scales[block] = s;
            self.sums[block] = q.iter().map(|&v| v as i32).sum();
            for (dst, v) in self.values[block * BLOCK..(block + 1) * BLOCK]
                .iter_mut()
                .zip(q)
            {
                *dst = v;
            }
        }
    }

    /// [`QuantizedRows::fill_portable`] sixteen values at a time: the
    /// quantizer is on every matmul's path, and one value at a time it took
    /// a fifth as long as the integer products themselves. Same operations,
    /// same rounding (the vector unit rounds to nearest even), same results.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn fill_avx512(&mut self, x: &[f32], width: usize, scale: Option<&[f32]>) {
        use std::arch::x86_64::*;
        let sign = _mm512_set1_ps(-0.0);
        for (block, chunk) in x.chunks_exact(BLOCK).enumerate() {
            let mut low = _mm512_loadu_ps(chunk.as_ptr());
            let mut high = _mm512_loadu_ps(chunk.as_ptr().add(16));
            if let Some(scale) = scale {
                let first = (block * BLOCK) % width;
                low = _mm512_mul_ps(low, _mm512_loadu_ps(scale.as_ptr().add(first)));
                high = _mm512_mul_ps(high, _mm512_loadu_ps(scale.as_ptr().add(first + 16)));
            }
            let largest = _mm512_reduce_max_ps(_mm512_max_ps(
                _mm512_andnot_ps(sign, low),
                _mm512_andnot_ps(sign, high),
            ));
            let destination = self.values.as_mut_ptr().add(block * BLOCK);
            if largest == 0.0 || !largest.is_finite() {
                // Already zero: the values were allocated zeroed.
                continue;
            }
            let inverse = _mm512_set1_ps(127.0 / largest);
            let (q_low, q_high) = (round_avx512(low, inverse), round_avx512(high, inverse));
            _mm_storeu_si128(destination as *mut __m128i, _mm512_cvtepi32_epi8(q_low));
            _mm_storeu_si128(
                destination.add(16) as *mut __m128i,
                _mm512_cvtepi32_epi8(q_high),
            );
            self.scales[block] = largest / 127.0;
            self.sums[block] = _mm512_reduce_add_epi32(_mm512_add_epi32(q_low, q_high));
        }
    }

    fn rows(&self) -> usize {
        self.scales.len() / self.blocks_per_row.max(1)
    }

    /// Where block `block` of `ROWS` rows from `first_row` on starts.
    fn block_starts<const ROWS: usize>(&self, first_row: usize, block: usize) -> [*const i8; ROWS] {
        std::array::from_fn(|r| self.block(first_row + r, block).as_ptr())
    }

    fn block(&self, row: usize, block: usize) -> &[i8] {
        let at = (row * self.blocks_per_row + block) * BLOCK;
        &self.values[at..at + BLOCK]
    }

    fn block_scale_and_sum(&self, row: usize, block: usize) -> (f32, i32) {
        let at = row * self.blocks_per_row + block;
        (self.scales[at], self.sums[at])
    }
}

/// `v · inverse` rounded to nearest even and clamped to ±127, as
/// [`quantize_block`] does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn round_avx512(
    v: std::arch::x86_64::__m512,
    inverse: std::arch::x86_64::__m512,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    let q = _mm512_cvtps_epi32(_mm512_mul_ps(v, inverse));
    _mm512_max_epi32(
        _mm512_min_epi32(q, _mm512_set1_epi32(127)),
        _mm512_set1_epi32(-127),
    )
}

/// Symmetric 8-bit quantization of one block: `v ≈ scale · q`, `q` in
/// -127..=127, rounded to nearest (ties to even, as the vector unit does).
fn quantize_block(values: &[f32]) -> (f32, [i8; BLOCK]) {
    let largest = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mut q = [0i8; BLOCK];
    if largest == 0.0 || !largest.is_finite() {
        return (0.0, q);
    }
    let scale = largest / 127.0;
    let inverse = 127.0 / largest;
    for (q, v) in q.iter_mut().zip(values) {
        *q = (v * inverse).round_ties_even().clamp(-127.0, 127.0) as i8;
    }
    (scale, q)
}

fn check_length(what: &'static str, got: usize, expected: usize) -> Result<(), Int8Error> {
    if got == expected {
        Ok(())
    } else {
        Err(Int8Error::Length {
            what,
            got,
            expected,
        })
    }
}

/// Which loop multiplies: the portable one, or a vector kernel the CPU has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    AvxVnni,
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

impl Kernel {
    /// Every kernel this CPU can run, the fastest last.
    fn available() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("avxvnni")
            {
                kernels.push(Kernel::AvxVnni);
            }
            if avx512_quantizer() && is_x86_feature_detected!("avx512vnni") {
                kernels.push(Kernel::Avx512Vnni);
            }
        }
        kernels
    }

    /// The fastest kernel this CPU can run (checked once).
    fn best() -> Kernel {
        use std::sync::OnceLock;
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| *Kernel::available().last().expect("the portable loop"))
    }
}

/// Whether this CPU runs a vector kernel rather than the portable loop.
pub(crate) fn vector_kernel_runs() -> bool {
    Kernel::best() != Kernel::Portable
}

/// Whether the activations are quantized with AVX-512 (checked once).
#[cfg(target_arch = "x86_64")]
fn avx512_quantizer() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values spread over [-1, 1].
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 20001) as f32 / 10000.0 - 1.0
            })
            .collect()
    }

    fn reference(w: &[f32], b: &[f32], x: &[f32], outputs: usize, inputs: usize) -> Vec<f32> {
        let rows = x.len() / inputs;
        let mut y = vec![0f32; rows * outputs];
        for r in 0..rows {
            for o in 0..outputs {
                let dot: f64 = (0..inputs)
                    .map(|i| w[o * inputs + i] as f64 * x[r * inputs + i] as f64)
                    .sum();
                y[r * outputs + o] = dot as f32 + b[o];
            }
        }
        y
    }

    fn relative_error(got: &[f32], expected: &[f32]) -> f32 {
        let norm = expected.iter().map(|v| v * v).sum::<f32>().sqrt();
        let error = got
            .iter()
            .zip(expected)
            .map(|(a, e)| (a - e) * (a - e))
            .sum::<f32>()
            .sqrt();
        error / norm
    }

    #[test]
    fn the_product_is_close_to_the_float_one() {
        let (outputs, inputs) = (48, 96);
        let w = values(outputs * inputs, 1);
        let b = values(outputs, 2);
        let x = values(7 * inputs, 3);
        let layer = Int8Linear::new(&w, outputs, inputs, None).unwrap();
        let y = layer.forward(&x, &b).unwrap();
        let error = relative_error(&y, &reference(&w, &b, &x, outputs, inputs));
        assert!(error < 0.01, "relative error {error}");
    }

    /// With an input channel a hundred times the others (as LayerNorm
    /// outputs have), the scale moves its range into the weight: the
    /// product stays the same and loses less to rounding.
    #[test]
    fn the_input_scale_keeps_the_product_and_tames_an_outlier_channel() {
        let (outputs, inputs, outlier) = (32, 64, 5);
        let w = values(outputs * inputs, 4);
        let mut x = values(6 * inputs, 5);
        for row in x.chunks_exact_mut(inputs) {
            row[outlier] *= 100.0;
        }
        let zero = vec![0f32; outputs];
        let expected = reference(&w, &zero, &x, outputs, inputs);
        let plain = Int8Linear::new(&w, outputs, inputs, None).unwrap();
        let plain_error = relative_error(&plain.forward(&x, &zero).unwrap(), &expected);
        let factors: Vec<f32> = (0..inputs)
            .map(|i| if i == outlier { 0.1 } else { 1.0 })
            .collect();
        // The layer multiplies its input by the factors and is given the
        // weight divided by them.
        let divided: Vec<f32> = w
            .iter()
            .enumerate()
            .map(|(i, v)| v / factors[i % inputs])
            .collect();
        let smoothed = Int8Linear::new(&divided, outputs, inputs, Some(factors)).unwrap();
        let smoothed_error = relative_error(&smoothed.forward(&x, &zero).unwrap(), &expected);
        assert!(smoothed_error < 0.01, "relative error {smoothed_error}");
        assert!(
            smoothed_error < plain_error / 2.0,
            "smoothed {smoothed_error}, plain {plain_error}"
        );
    }

    /// Every kernel this CPU has against the portable loop, for every count
    /// of rows a pass over a tile can take, a remainder, and more than one
    /// chunk.
    #[test]
    fn the_vector_kernel_computes_the_portable_values() {
        let (outputs, inputs) = (48, 160);
        let w = values(outputs * inputs, 6);
        let b = values(outputs, 7);
        let layer = Int8Linear::new(&w, outputs, inputs, None).unwrap();
        let kernels = Kernel::available();
        eprintln!("kernels on this CPU: {kernels:?}");
        for rows in [1, 2, 3, 4, 5, 11, ROWS_PER_CHUNK + 5] {
            let mut x = values(rows * inputs, 8 + rows as u32);
            // An all-zero block, a huge value and an outlier.
            x[..BLOCK].fill(0.0);
            x[BLOCK] = 3.0e30;
            x[2 * BLOCK + 9] = -60.0;
            let quantized = QuantizedRows::new(&x, inputs, None);
            let mut portable = vec![0f32; rows * outputs];
            layer.multiply_portable(&quantized, &b, &mut portable);
            for &kernel in &kernels {
                let mut vector = vec![f32::NAN; rows * outputs];
                layer.multiply(kernel, &quantized, &b, &mut vector);
                for (i, (v, p)) in vector.iter().zip(&portable).enumerate() {
                    assert_eq!(
                        v.to_bits(),
                        p.to_bits(),
                        "{kernel:?}, rows {rows}, value {i}: {v} vs {p}"
                    );
                }
            }
            let dispatched = layer.forward(&x, &b).unwrap();
            assert_eq!(dispatched, portable);
        }
    }

    /// The quantizer this CPU runs against the portable one, with and
    /// without channel scales, over zero, huge, infinite and halfway values.
    #[test]
    fn the_vector_quantizer_computes_the_portable_values() {
        let width = 96;
        let mut x = values(5 * width, 21);
        x[..BLOCK].fill(0.0);
        x[4 * BLOCK + 1] = 45.0;
        x[BLOCK + 3] = 3.0e30;
        x[2 * BLOCK + 7] = f32::INFINITY;
        // Exactly halfway between two steps once scaled by 127 / 127.
        x[3 * BLOCK] = 127.0;
        x[3 * BLOCK + 1] = 2.5;
        x[3 * BLOCK + 2] = -3.5;
        let factors: Vec<f32> = (0..width).map(|i| 0.25 + (i % 7) as f32 * 0.5).collect();
        for scale in [None, Some(factors.as_slice())] {
            let dispatched = QuantizedRows::new(&x, width, scale);
            let mut portable = QuantizedRows {
                values: vec![0; x.len()],
                scales: vec![0.0; x.len() / BLOCK],
                sums: vec![0; x.len() / BLOCK],
                blocks_per_row: width / BLOCK,
            };
            portable.fill_portable(&x, width, scale);
            assert_eq!(dispatched.values, portable.values);
            assert_eq!(dispatched.sums, portable.sums);
            let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dispatched.scales), bits(&portable.scales));
        }
        let plain = QuantizedRows::new(&x, width, None);
        assert_eq!(&plain.values[3 * BLOCK..3 * BLOCK + 3], &[127, 2, -4]);
        assert_eq!(
            plain.block_scale_and_sum(0, 2),
            (0.0, 0),
            "an infinite block is zeroed"
        );
    }

    #[test]
    fn blocks_quantize_symmetrically_and_round_to_even() {
        let mut block = [0f32; BLOCK];
        block[0] = 127.0;
        block[1] = -127.0;
        block[2] = 2.5;
        block[3] = 3.5;
        block[4] = -0.5;
        let (scale, q) = quantize_block(&block);
        assert_eq!(scale, 1.0);
        assert_eq!(&q[..5], &[127, -127, 2, 4, 0]);
        assert_eq!(quantize_block(&[0.0; BLOCK]), (0.0, [0; BLOCK]));
    }

    #[test]
    fn shapes_the_kernel_cannot_tile_are_refused() {
        assert_eq!(
            Int8Linear::new(&[0.0; 20 * 32], 20, 32, None).err(),
            Some(Int8Error::Shape {
                outputs: 20,
                inputs: 32
            })
        );
        let layer = Int8Linear::new(&[0.0; 16 * 32], 16, 32, None).unwrap();
        assert_eq!(
            layer.forward(&[0.0; 40], &[0.0; 16]).err(),
            Some(Int8Error::Rows {
                values: 40,
                width: 32
            })
        );
        assert!(layer.forward(&[0.0; 64], &[0.0; 15]).is_err());
    }
}
