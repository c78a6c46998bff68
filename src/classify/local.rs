//! The local model as a [`Classifier`]: e5 embeddings from the batching
//! model thread (one per ensemble member), each member's trained heads on
//! top, combined by `HeadOutput::ensemble`, and the rules layer beside
//! them.

use std::sync::Arc;

use super::heads::Heads;
use super::model::{ModelError, ModelHandle};
use super::nearest::Exemplars;
use super::rules::Rules;
use super::{detect_lang, merge_flags, BoxFuture, Classifier, ClassifyError};
use crate::domain::Classification;

const CLASSIFIER_NAME: &str = "multilingual-e5-small+heads";

/// What a classification records as its classifier: the model, and how
/// many fine-tunes of it voted.
fn classifier_name(members: usize) -> String {
    match members {
        1 => CLASSIFIER_NAME.to_owned(),
        n => format!("{CLASSIFIER_NAME} ensemble of {n}"),
    }
}

pub struct ModelClassifier {
    handle: ModelHandle,
    /// One per ensemble member, in the order the handle's embeddings come.
    heads: Arc<Vec<Heads>>,
    rules: Arc<Rules>,
    /// Read with the first member's embedding.
    exemplars: Arc<Exemplars>,
    toxicity_threshold: f32,
    name: String,
}

impl ModelClassifier {
    pub fn new(
        handle: ModelHandle,
        heads: Arc<Vec<Heads>>,
        rules: Arc<Rules>,
        exemplars: Arc<Exemplars>,
        toxicity_threshold: f32,
    ) -> Self {
        ModelClassifier {
            name: classifier_name(heads.len()),
            handle,
            heads,
            rules,
            exemplars,
            toxicity_threshold,
        }
    }
}

impl Classifier for ModelClassifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn classify<'a>(
        &'a self,
        text: &'a str,
        lang_hint: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Classification, ClassifyError>> {
        Box::pin(async move {
            let embeddings = self
                .handle
                .embed(text.to_owned())
                .await
                .map_err(|e| match e {
                    ModelError::Overloaded(_) => ClassifyError::Overloaded,
                    other => ClassifyError::Failed(other.to_string()),
                })?;
            Ok(assemble(
                &self.heads,
                &self.rules,
                &self.exemplars,
                self.toxicity_threshold,
                text,
                lang_hint,
                &embeddings,
            ))
        })
    }

    fn queue_depth(&self) -> usize {
        self.handle.queue_depth()
    }
}

/// One message's classification from its embeddings (one per ensemble
/// member, read by that member's heads): the heads' combined scores, the
/// rules' hits, and the flags both raise.
pub fn assemble(
    heads: &[Heads],
    rules: &Rules,
    exemplars: &Exemplars,
    toxicity_threshold: f32,
    text: &str,
    lang_hint: Option<&str>,
    embeddings: &[Vec<f32>],
) -> Classification {
    let output = Heads::predict_members(heads, embeddings);
    let hits = rules.scan(text);
    let nearest: Vec<_> = embeddings
        .first()
        .map(|e| exemplars.read(e).into_iter().map(|n| n.record()).collect())
        .unwrap_or_default();
    let mut flags = Rules::flags(&hits);
    flags.extend(nearest.iter().map(|n| n.flag));
    Classification {
        lang: detect_lang(text, lang_hint),
        sentiment: output.sentiment,
        intent: output.intent,
        toxicity: output.toxicity,
        flags: merge_flags(flags, output.toxicity, toxicity_threshold),
        rules: hits,
        nearest,
        classifier: classifier_name(heads.len()),
    }
}
