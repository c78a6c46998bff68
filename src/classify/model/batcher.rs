//! Daemon-side runner for the encoder, after text-embeddings-inference's router.
//!
//! * The encoders (an [`EncoderEnsemble`]: one, or several fine-tunes of
//!   the same base model) are driven from one dedicated OS thread
//!   (`replyd-e5`), never from the tokio runtime; the ensemble runs its
//!   members side by side, and each spreads its forward passes over its
//!   share of the cores.
//! * Requests go through a **bounded** queue (`queue_capacity`). When it is
//!   full, [`ModelHandle::embed`] fails fast with [`ModelError::Overloaded`]
//!   instead of waiting: the caller sheds load (or retries) and latency stays
//!   bounded. Nothing blocks a tokio worker thread.
//! * Dynamic batching: while a batch runs, new requests accumulate; the next
//!   batch takes queued requests in FIFO order while the sum of their token
//!   counts stays within `max_batch_tokens` and their number within
//!   `max_batch_size` (a single over-budget request still runs, alone).
//!   There is no artificial wait: an idle worker starts on the first request
//!   immediately (lowest latency); under load batches fill up by themselves.
//! * Inside a batch, sequences are sorted by length and cut into sub-batches
//!   (see `Encoder::embed_tokenized`), so padding is minimal.
//! * Tokenization happens on the model thread too (it is ~1% of the work).
//! * Requests whose caller has gone away (future dropped) are skipped.
//! * The thread exits when the last `ModelHandle` clone is dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::encoder::Tokenized;
use super::ensemble::{EncoderEnsemble, MemberEmbeddings};
use super::ModelError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatcherConfig {
    /// Max sum of token counts of the requests in one batch.
    pub max_batch_tokens: usize,
    /// Max requests per batch.
    pub max_batch_size: usize,
    /// Max requests waiting (not yet taken into a batch). Beyond: `Overloaded`.
    pub queue_capacity: usize,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        BatcherConfig {
            max_batch_tokens: 2048,
            max_batch_size: 64,
            queue_capacity: 1024,
        }
    }
}

type Reply = oneshot::Sender<Result<MemberEmbeddings, ModelError>>;

struct Request {
    text: String,
    reply: Reply,
}

struct Shared {
    tx: SyncSender<Request>,
    depth: AtomicUsize,
    batches: AtomicU64,
    batched_requests: AtomicU64,
}

/// Cheap-to-clone handle to the model thread.
#[derive(Clone)]
pub struct ModelHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ModelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelHandle")
            .field("queue_depth", &self.queue_depth())
            .finish()
    }
}

impl ModelHandle {
    /// Move the encoders onto a dedicated thread and return a handle to it.
    pub fn start(encoders: EncoderEnsemble, cfg: BatcherConfig) -> ModelHandle {
        let cfg = BatcherConfig {
            max_batch_tokens: cfg.max_batch_tokens.max(1),
            max_batch_size: cfg.max_batch_size.max(1),
            queue_capacity: cfg.queue_capacity.max(1),
        };
        let (tx, rx) = sync_channel(cfg.queue_capacity);
        let shared = Arc::new(Shared {
            tx,
            depth: AtomicUsize::new(0),
            batches: AtomicU64::new(0),
            batched_requests: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("replyd-e5".into())
            .spawn(move || worker(encoders, cfg, rx, weak))
            .expect("spawn model thread");
        ModelHandle { shared }
    }

    /// Embed one text with every member of the ensemble (each 384-d,
    /// L2-normalised, `query: ` prefix added), in member order.
    /// Fails immediately with `Overloaded` when the queue is full.
    pub async fn embed(&self, text: String) -> Result<MemberEmbeddings, ModelError> {
        let (reply, rx) = oneshot::channel();
        let depth = self.shared.depth.fetch_add(1, Ordering::SeqCst);
        match self.shared.tx.try_send(Request { text, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.shared.depth.fetch_sub(1, Ordering::SeqCst);
                return Err(ModelError::Overloaded(depth));
            }
            Err(TrySendError::Disconnected(_)) => {
                self.shared.depth.fetch_sub(1, Ordering::SeqCst);
                return Err(ModelError::Stopped);
            }
        }
        rx.await.map_err(|_| ModelError::Stopped)?
    }

    /// Requests submitted but not yet taken into a batch.
    pub fn queue_depth(&self) -> usize {
        self.shared.depth.load(Ordering::SeqCst)
    }

    /// (batches run, requests embedded) since start.
    pub fn batch_stats(&self) -> (u64, u64) {
        (
            self.shared.batches.load(Ordering::Relaxed),
            self.shared.batched_requests.load(Ordering::Relaxed),
        )
    }
}

struct Pending {
    tok: Tokenized,
    cost: usize,
    reply: Reply,
}

fn worker(
    encoders: EncoderEnsemble,
    cfg: BatcherConfig,
    rx: Receiver<Request>,
    shared: std::sync::Weak<Shared>,
) {
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut pending_tokens = 0usize;
    // Tokenize a request and queue it (or answer a tokenizer error right away).
    let admit = |r: Request, pending: &mut VecDeque<Pending>, pending_tokens: &mut usize| {
        if r.reply.is_closed() {
            if let Some(s) = shared.upgrade() {
                s.depth.fetch_sub(1, Ordering::SeqCst);
            }
            return;
        }
        match encoders.tokenize(&r.text) {
            Ok(tok) => {
                let cost = tok.windows.iter().map(|w| w.len()).sum::<usize>().max(1);
                *pending_tokens += cost;
                pending.push_back(Pending {
                    tok,
                    cost,
                    reply: r.reply,
                });
            }
            Err(e) => {
                if let Some(s) = shared.upgrade() {
                    s.depth.fetch_sub(1, Ordering::SeqCst);
                }
                let _ = r.reply.send(Err(e));
            }
        }
    };
    loop {
        if pending.is_empty() {
            match rx.recv() {
                Ok(r) => admit(r, &mut pending, &mut pending_tokens),
                Err(_) => return, // all handles dropped
            }
        }
        // Pull what is waiting in the channel, but only as much as the next
        // batch can use: the rest stays in the bounded channel (back-pressure).
        while pending.len() < cfg.max_batch_size && pending_tokens < cfg.max_batch_tokens {
            match rx.try_recv() {
                Ok(r) => admit(r, &mut pending, &mut pending_tokens),
                Err(_) => break,
            }
        }
        // Form the batch: FIFO, within the token budget (at least one request).
        let mut batch: Vec<Pending> = Vec::new();
        let mut tokens = 0usize;
        while let Some(p) = pending.front() {
            if !batch.is_empty()
                && (batch.len() >= cfg.max_batch_size || tokens + p.cost > cfg.max_batch_tokens)
            {
                break;
            }
            let p = pending.pop_front().expect("front exists");
            pending_tokens -= p.cost;
            tokens += p.cost;
            if p.reply.is_closed() {
                if let Some(s) = shared.upgrade() {
                    s.depth.fetch_sub(1, Ordering::SeqCst);
                }
                continue; // caller gave up
            }
            batch.push(p);
        }
        if let Some(s) = shared.upgrade() {
            s.depth.fetch_sub(batch.len(), Ordering::SeqCst);
            s.batches.fetch_add(1, Ordering::Relaxed);
            s.batched_requests
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        if batch.is_empty() {
            continue;
        }
        let toks: Vec<Tokenized> = batch
            .iter_mut()
            .map(|p| {
                std::mem::replace(
                    &mut p.tok,
                    Tokenized {
                        windows: vec![],
                        n_tokens: 0,
                    },
                )
            })
            .collect();
        let started = std::time::Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            encoders.embed_tokenized(&toks)
        }))
        .unwrap_or_else(|_| Err(ModelError::Inference("encoder panicked".into())));
        tracing::debug!(
            batch = batch.len(),
            tokens,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "e5 batch"
        );
        match result {
            Ok(embs) => {
                for (p, e) in batch.into_iter().zip(embs) {
                    let _ = p.reply.send(Ok(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "e5 batch failed");
                for p in batch {
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{fetch, Encoder};
    use super::*;

    fn encoder() -> Encoder {
        let f = fetch::ensure_model(&fetch::default_cache_dir()).expect("model files");
        Encoder::load(&f.model, &f.tokenizer).unwrap()
    }

    fn texts() -> Vec<String> {
        let base = [
            "Waar blijft mijn pakket?",
            "Where is my order? It's been two weeks!!",
            "Ich möchte mein Abo kündigen.",
            "Merci pour votre aide 🙏",
            "¿Cuándo abren la tienda nueva?",
            "This product is amazing, love it 😍😍",
            "Worst customer service ever. Never again.",
            "Hoe kan ik mijn wachtwoord resetten?",
        ];
        (0..48)
            .map(|i| format!("{} #{i}", base[i % base.len()]))
            .collect()
    }

    #[test]
    fn concurrent_requests_are_batched_and_answered_correctly() {
        let enc = encoder();
        let texts = texts();
        let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let expected: Vec<Vec<f32>> = refs
            .iter()
            .map(|t| enc.embed(&[t]).unwrap().remove(0))
            .collect();
        let handle = ModelHandle::start(
            EncoderEnsemble::new(vec![enc]).unwrap(),
            BatcherConfig::default(),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let got: Vec<Vec<f32>> = rt.block_on(async {
            let tasks: Vec<_> = texts
                .iter()
                .map(|t| {
                    let h = handle.clone();
                    let t = t.clone();
                    tokio::spawn(async move { h.embed(t).await })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                let mut members = t.await.unwrap().unwrap();
                assert_eq!(members.len(), 1, "one embedding per member");
                out.push(members.remove(0));
            }
            out
        });
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            let c: f32 = g.iter().zip(e).map(|(a, b)| a * b).sum();
            assert!(
                c > 0.9999,
                "request {i} got someone else's / wrong answer: cos {c}"
            );
        }
        // distinct texts really got distinct answers
        let c01: f32 = got[0].iter().zip(&got[1]).map(|(a, b)| a * b).sum();
        assert!(c01 < 0.99);
        let (batches, reqs) = handle.batch_stats();
        eprintln!("{reqs} requests in {batches} batches");
        assert_eq!(reqs, texts.len() as u64);
        assert!(
            batches <= texts.len() as u64 / 2,
            "not batched: {batches} batches"
        );
        assert_eq!(handle.queue_depth(), 0);
    }

    #[test]
    fn types_are_thread_safe() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<EncoderEnsemble>();
        send_sync::<ModelHandle>();
        send_sync::<ModelError>();
    }

    #[test]
    fn full_queue_is_overloaded() {
        let handle = ModelHandle::start(
            EncoderEnsemble::new(vec![encoder()]).unwrap(),
            BatcherConfig {
                queue_capacity: 2,
                max_batch_size: 1,
                ..Default::default()
            },
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let results = rt.block_on(async {
            let futs: Vec<_> = (0..20)
                .map(|i| handle.embed(format!("bericht nummer {i}")))
                .collect();
            let mut out = Vec::new();
            // poll them all concurrently
            let joined = futures_join_all(futs).await;
            out.extend(joined);
            out
        });
        let overloaded = results
            .iter()
            .filter(|r| matches!(r, Err(ModelError::Overloaded(_))))
            .count();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        eprintln!("ok={ok} overloaded={overloaded}");
        assert!(overloaded > 0);
        assert!(ok > 0);
        assert_eq!(ok + overloaded, 20);
    }

    /// Minimal join_all without the `futures` crate.
    async fn futures_join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
        let mut set = Vec::new();
        for f in futs {
            set.push(Box::pin(f));
        }
        let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut done = true;
            for (i, f) in set.iter_mut().enumerate() {
                if out[i].is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => out[i] = Some(v),
                        std::task::Poll::Pending => done = false,
                    }
                }
            }
            if done {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        out.into_iter().map(|o| o.unwrap()).collect()
    }
}
