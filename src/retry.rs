//! The retry delay every retried piece of work shares. It stands alone so
//! that the configuration (whose delivery section sets its bounds) and the
//! job queue (which applies it) can both use it without one depending on
//! the other.

use std::time::Duration;

use rand::Rng;

/// `base * 2^attempt`, capped, then a uniformly random share of it, so
/// retries of many failures spread out instead of arriving together.
pub fn exponential_backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt.min(30)))
        .min(max);
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(ms / 2 + rand::thread_rng().gen_range(0..=ms / 2))
}
