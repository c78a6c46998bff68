//! Classification: sentiment, intent, toxicity and risk flags for a message.
//!
//! Two classifiers share one interface: the local model (`model`), and the
//! keyword heuristics of the rules layer for when the model is off. Both
//! run the rules layer, whose hits are always reported by name.

pub mod commands;
pub mod embedding_cache;
pub mod heads;
pub mod load;
pub mod local;
pub mod model;
pub mod nearest;
pub mod rules;
mod tensor_file;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::domain::{Classification, Flag, Lang, Toxicity};
use rules::Rules;

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// The model's queue is full; the pipeline retries later.
    #[error("classifier overloaded")]
    Overloaded,
    #[error("classifier failed: {0}")]
    Failed(String),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Classifier: Send + Sync {
    /// Recorded with every classification it makes.
    fn name(&self) -> &str;

    fn classify<'a>(
        &'a self,
        text: &'a str,
        lang_hint: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Classification, ClassifyError>>;

    /// Requests waiting for it (0 when it does not queue).
    fn queue_depth(&self) -> usize {
        0
    }
}

/// The language a reply should be written in: the source's tag when it names
/// a supported language, else a confident detection, else none.
pub fn detect_lang(text: &str, hint: Option<&str>) -> Option<Lang> {
    if let Some(lang) = hint.and_then(Lang::from_tag) {
        return Some(lang);
    }
    let supported = from_whatlang;
    let info = whatlang::detect(text)?;
    match supported(info.lang()) {
        Some(lang) => Some(lang),
        // Confidently another language: answer in English, the fallback.
        None if info.is_reliable() => None,
        // Short texts are often mistaken for a related language ("kapot
        // aan" for Afrikaans): choose among the languages replyd writes.
        None if text.split_whitespace().count() < 3 => None,
        None => ours().detect(text).and_then(|i| supported(i.lang())),
    }
}

/// A detector that chooses among the five languages replyd writes.
fn ours() -> whatlang::Detector {
    whatlang::Detector::with_allowlist(vec![
        whatlang::Lang::Nld,
        whatlang::Lang::Eng,
        whatlang::Lang::Deu,
        whatlang::Lang::Fra,
        whatlang::Lang::Spa,
    ])
}

fn from_whatlang(lang: whatlang::Lang) -> Option<Lang> {
    match lang {
        whatlang::Lang::Nld => Some(Lang::Nl),
        whatlang::Lang::Eng => Some(Lang::En),
        whatlang::Lang::Deu => Some(Lang::De),
        whatlang::Lang::Fra => Some(Lang::Fr),
        whatlang::Lang::Spa => Some(Lang::Es),
        _ => None,
    }
}

/// The language of `text` only when the detector is sure of it: used to
/// check drafts, where a wrong guess would hold a good reply.
pub fn detect_lang_confidently(text: &str) -> Option<Lang> {
    whatlang::detect(text)
        .filter(|i| i.is_reliable())
        .and_then(|i| from_whatlang(i.lang()))
}

/// Which of the five languages replyd writes `text` reads as, and how
/// sure the detector is (0..1), when the text is long enough to tell.
/// Checks an LLM's draft, whose own word for its language is no evidence.
pub fn detect_among_ours(text: &str) -> Option<(Lang, f64)> {
    if text.split_whitespace().count() < 4 {
        return None;
    }
    let info = ours().detect(text)?;
    Some((from_whatlang(info.lang())?, info.confidence()))
}

/// Flags implied by the toxicity scores, added to those the rules raised.
pub fn merge_flags(rule_flags: Vec<Flag>, toxicity: Toxicity, threshold: f32) -> Vec<Flag> {
    let mut flags = rule_flags;
    if toxicity.hate >= threshold {
        flags.push(Flag::Hate);
    }
    if toxicity.offensive >= threshold {
        flags.push(Flag::Offensive);
    }
    flags.sort();
    flags.dedup();
    flags
}

/// Classifies with the rules layer's keyword heuristics alone: transparent,
/// instant, and far less accurate than the model.
pub struct RulesClassifier {
    rules: Arc<Rules>,
}

impl RulesClassifier {
    pub fn new(rules: Arc<Rules>) -> Self {
        RulesClassifier { rules }
    }
}

impl Classifier for RulesClassifier {
    fn name(&self) -> &str {
        "rules"
    }

    fn classify<'a>(
        &'a self,
        text: &'a str,
        lang_hint: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Classification, ClassifyError>> {
        Box::pin(async move {
            let hits = self.rules.scan(text);
            let heuristic = rules::heuristic(text);
            let flags = Rules::flags(&hits);
            Ok(Classification {
                lang: detect_lang(text, lang_hint),
                sentiment: heuristic.sentiment,
                intent: heuristic.intent,
                toxicity: Toxicity::default(),
                flags,
                rules: hits,
                nearest: Vec::new(),
                classifier: self.name().to_owned(),
            })
        })
    }
}
