//! Several fine-tunes of the one base encoder, run side by side.
//!
//! Encoders fine-tuned apart are good at different things: the shipped
//! pair are one tuned to keep customer messages' intent right and one that
//! reads tweets' sentiment better; the heads combine their opinions (see
//! `HeadOutput::ensemble` and docs/classification.md, Accuracy). Every member
//! embeds every text, so the encoder's work grows with the number of
//! members; the tokenizer is the base model's, so a text is tokenized
//! once.
//!
//! The members run at the same time, each on its share of the cores
//! ([`threads_per_member`]): they do exactly the same amount of work, so
//! the cores stay evenly busy without meeting at any barrier, where one
//! encoder on all the cores must share a lone message's rows out and meet
//! its other threads once per layer.

use super::encoder::{Encoder, Tokenized};
use super::ModelError;

/// One text's embeddings, one per member, in member order.
pub type MemberEmbeddings = Vec<Vec<f32>>;

/// The threads each of `members` encoders gets (its
/// `EncoderOptions::threads`): the cores shared out, at least one each.
pub fn threads_per_member(members: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / members.max(1)).max(1)
}

/// The members of an ensemble: at least one, all built on the same base
/// model (so one tokenization fits them all).
#[derive(Debug)]
pub struct EncoderEnsemble {
    members: Vec<Encoder>,
}

impl EncoderEnsemble {
    /// # Errors
    /// When `members` is empty, or when they do not share one base model's
    /// configuration (their token ids would mean different things).
    pub fn new(members: Vec<Encoder>) -> Result<EncoderEnsemble, ModelError> {
        let Some(first) = members.first() else {
            return Err(ModelError::Inference(
                "an ensemble needs at least one encoder".into(),
            ));
        };
        if let Some(other) = members.iter().find(|m| m.config() != first.config()) {
            return Err(ModelError::Inference(format!(
                "ensemble members are built on different base models ({:?} and {:?})",
                first.config(),
                other.config()
            )));
        }
        Ok(EncoderEnsemble { members })
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn members(&self) -> &[Encoder] {
        &self.members
    }

    /// Tokenizes as every member would (they share the base tokenizer).
    pub fn tokenize(&self, text: &str) -> Result<Tokenized, ModelError> {
        self.members[0].tokenize(text)
    }

    /// Each text's embeddings, one per member.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<MemberEmbeddings>, ModelError> {
        let toks = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>, _>>()?;
        self.embed_tokenized(&toks)
    }

    /// [`EncoderEnsemble::embed`] for already tokenized texts. The first
    /// member runs on the calling thread, the others each on a thread of
    /// their own, all at once.
    pub fn embed_tokenized(&self, toks: &[Tokenized]) -> Result<Vec<MemberEmbeddings>, ModelError> {
        let (first, others) = self.members.split_first().expect("at least one member");
        let per_member: Vec<Result<Vec<Vec<f32>>, ModelError>> = std::thread::scope(|scope| {
            let running: Vec<_> = others
                .iter()
                .map(|member| scope.spawn(move || member.embed_tokenized(toks)))
                .collect();
            let mut results = vec![first.embed_tokenized(toks)];
            results.extend(running.into_iter().map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|_| Err(ModelError::Inference("encoder panicked".into())))
            }));
            results
        });
        let mut per_text: Vec<MemberEmbeddings> = (0..toks.len())
            .map(|_| Vec::with_capacity(self.members.len()))
            .collect();
        for member in per_member {
            for (text, embedding) in per_text.iter_mut().zip(member?) {
                text.push(embedding);
            }
        }
        Ok(per_text)
    }
}

#[cfg(test)]
mod tests {
    use super::super::lora::tests::random_adapters;
    use super::super::{fetch, EncoderOptions, Precision};
    use super::*;

    fn files() -> fetch::ModelFiles {
        fetch::ensure_model(&fetch::default_cache_dir()).expect("model files")
    }

    fn load(adapters: Option<&super::super::Adapters>) -> Encoder {
        let f = files();
        let opts = EncoderOptions {
            precision: Precision::F32,
            ..EncoderOptions::default()
        };
        Encoder::load_with_adapters(&f.model, &f.tokenizer, opts, adapters).unwrap()
    }

    #[test]
    fn each_text_gets_every_members_own_embedding_in_member_order() {
        let adapters = random_adapters(&[10, 11], 4, 0.05, 7);
        let base = load(None);
        let tuned = load(Some(&adapters));
        let texts = ["Waar blijft mijn pakket?", "Merci pour votre aide 🙏"];
        let want_base = base.embed(&texts).unwrap();
        let want_tuned = tuned.embed(&texts).unwrap();
        let ensemble = EncoderEnsemble::new(vec![base, tuned]).unwrap();
        assert_eq!(ensemble.len(), 2);
        let got = ensemble.embed(&texts).unwrap();
        assert_eq!(got.len(), texts.len());
        for (i, members) in got.iter().enumerate() {
            assert_eq!(members.len(), 2);
            assert_eq!(members[0], want_base[i], "text {i}, member 0");
            assert_eq!(members[1], want_tuned[i], "text {i}, member 1");
        }
        // The adapters really make a second opinion.
        assert_ne!(got[0][0], got[0][1]);
    }

    #[test]
    fn members_share_the_cores_out() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads_per_member(1), cores);
        assert_eq!(threads_per_member(2), (cores / 2).max(1));
        assert_eq!(threads_per_member(cores * 4), 1, "never none");
    }

    #[test]
    fn an_empty_ensemble_is_refused() {
        let err = EncoderEnsemble::new(Vec::new()).unwrap_err();
        assert!(err.to_string().contains("at least one encoder"), "{err}");
    }
}
