//! Spreading the forward passes over threads: a batch cut into passes of
//! similar lengths, run by as many threads as there are, and a lone message
//! cut by its token rows so that it does not leave every other core idle.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use candle_core::Tensor;

use super::super::ModelError;
use super::{attend, Encoder, SMALL_ATTENTION_MAX_LEN};

/// Most padding a forward pass may carry, as a fraction of its longest
/// sequence: a shorter sequence starts a new pass instead.
pub(super) const MAX_PADDING_FRACTION: f32 = 0.25;

/// Cuts sequence lengths, sorted longest first, into forward passes: each
/// within `max_tokens` padded tokens and `MAX_PADDING_FRACTION` padding.
/// With several threads, no pass may hold more than a thread's share of the
/// padded tokens: the threads claim passes one by one, and a batch whose
/// lengths mostly fall in one bucket (the usual case for short messages)
/// otherwise became one big pass for one thread while the other finished a
/// small one and sat idle (61 of 64 messages on one core). Passes come back
/// costliest first, the order that lets claiming balance the threads.
/// Returns ranges into the sorted order.
pub(super) fn plan_passes(
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

/// Runs `run` on every pass, on up to `threads` threads, and returns the
/// results in the order of `passes`.
pub(super) fn run_passes<T: Clone + Send>(
    passes: &[Range<usize>],
    threads: usize,
    run: impl Fn(&Range<usize>) -> Result<T, ModelError> + Sync,
) -> Result<Vec<T>, ModelError> {
    if passes.len() == 1 || threads == 1 {
        return passes.iter().map(run).collect();
    }
    // Passes are claimed from a shared counter, costliest first, so a
    // thread that finishes early takes the next one.
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; passes.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(passes.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
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
        .collect()
}

impl Encoder {
    /// [`Encoder::forward_mean`] for one sequence, its token rows shared by
    /// `parts` threads. Every step of a layer but attention is row-wise, so
    /// each thread runs the usual candle ops on its own rows; the threads meet
    /// once per layer, when each needs every row's keys and values. The
    /// results are those of the unsplit pass: candle quantizes activations
    /// row by row, so no row sees another thread's numbers.
    pub(super) fn forward_mean_split(
        &self,
        seq: &[u32],
        parts: usize,
    ) -> Result<Vec<f32>, ModelError> {
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
pub(super) fn row_parts(len: usize, threads: usize) -> usize {
    if len > SMALL_ATTENTION_MAX_LEN {
        return 1;
    }
    threads.min(len / MIN_ROWS_PER_THREAD).max(1)
}

/// `0..len` cut into `parts` contiguous, near-equal ranges.
pub(super) fn row_ranges(len: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    (0..parts)
        .map(|p| p * len / parts..(p + 1) * len / parts)
        .collect()
}
