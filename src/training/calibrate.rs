//! Temperature scaling of a trained head on its validation rows, and the
//! calibration error the manifest reports before and after.

use super::fit::{argmax, Kind};

fn log_softmax_at(logits: &[f32], t: f32, k: usize) -> f64 {
    let scaled: Vec<f64> = logits.iter().map(|l| *l as f64 / t as f64).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + scaled.iter().map(|s| (s - max).exp()).sum::<f64>().ln();
    scaled[k] - lse
}

/// Mean negative log-likelihood of output `k` (sigmoid) or of the softmax.
fn nll(kind: Kind, logits: &[Vec<f32>], targets: &[&Vec<f32>], t: f32, k: usize) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for (l, y) in logits.iter().zip(targets) {
        match kind {
            Kind::Softmax(_) => sum -= log_softmax_at(l, t, y[0] as usize),
            Kind::Sigmoid(_) => {
                if y[k].is_nan() {
                    continue;
                }
                let z = l[k] as f64 / t as f64;
                // -log σ(z) for yes, -log(1-σ(z)) = -log σ(-z) for no.
                let s = if y[k] == 1.0 { z } else { -z };
                sum += (-s).max(0.0) + (1.0 + (-s.abs()).exp()).ln();
            }
        }
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Temperature scaling (Guo et al., 2017): the T > 0 minimising validation
/// NLL, by golden-section search over log T (NLL is unimodal in it).
fn fit_temperature(f: impl Fn(f32) -> f64) -> f32 {
    let (mut a, mut b) = ((0.05f64).ln(), (20.0f64).ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let at = |x: f64| f(x.exp() as f32);
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (at(c), at(d));
    for _ in 0..60 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = at(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = at(d);
        }
    }
    ((a + b) / 2.0).exp() as f32
}

/// Returns the temperatures and the mean NLL before and after.
pub(super) fn calibrate(
    kind: Kind,
    logits: &[Vec<f32>],
    targets: &[&Vec<f32>],
) -> (Vec<f32>, f64, f64) {
    if logits.is_empty() {
        let n = if let Kind::Sigmoid(n) = kind { n } else { 1 };
        return (vec![1.0; n], 0.0, 0.0);
    }
    match kind {
        Kind::Softmax(_) => {
            let t = fit_temperature(|t| nll(kind, logits, targets, t, 0));
            (
                vec![t],
                nll(kind, logits, targets, 1.0, 0),
                nll(kind, logits, targets, t, 0),
            )
        }
        Kind::Sigmoid(n) => {
            let ts: Vec<f32> = (0..n)
                .map(|k| fit_temperature(|t| nll(kind, logits, targets, t, k)))
                .collect();
            let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
            let before = mean(&|k| nll(kind, logits, targets, 1.0, k));
            let after = mean(&|k| nll(kind, logits, targets, ts[k], k));
            (ts, before, after)
        }
    }
}

/// Expected calibration error of the softmax's top class, 15 equal bins.
pub(super) fn ece(logits: &[Vec<f32>], targets: &[&Vec<f32>], t: f32) -> f64 {
    const BINS: usize = 15;
    let mut conf = [0f64; BINS];
    let mut acc = [0f64; BINS];
    let mut count = [0usize; BINS];
    for (l, y) in logits.iter().zip(targets) {
        let k = argmax(l);
        let p = log_softmax_at(l, t, k).exp();
        let bin = ((p * BINS as f64) as usize).min(BINS - 1);
        conf[bin] += p;
        acc[bin] += f64::from(u8::from(k == y[0] as usize));
        count[bin] += 1;
    }
    let n = logits.len().max(1) as f64;
    (0..BINS)
        .filter(|&b| count[b] > 0)
        .map(|b| (acc[b] - conf[b]).abs() / n)
        .sum()
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn temperature_recovers_a_known_scale() {
        // Logits that are 3x too confident: the fitted T should be about 3.
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut logits = Vec::new();
        let mut targets = Vec::new();
        for _ in 0..4000 {
            let z: Vec<f32> = (0..3).map(|_| rng.gen_range(-2.0f32..2.0)).collect();
            let p = crate::classify::heads::softmax(&z);
            let u: f32 = rng.gen();
            let y = if u < p[0] {
                0
            } else if u < p[0] + p[1] {
                1
            } else {
                2
            };
            logits.push(z.iter().map(|v| v * 3.0).collect::<Vec<f32>>());
            targets.push(vec![y as f32]);
        }
        let refs: Vec<&Vec<f32>> = targets.iter().collect();
        let (t, before, after) = calibrate(Kind::Softmax(3), &logits, &refs);
        assert!((t[0] - 3.0).abs() < 0.3, "{t:?}");
        assert!(after < before);
    }
}
