//! The local model as a [`Classifier`]: e5 embeddings from the batching
//! model thread, the trained heads on top, and the rules layer beside them.

use std::sync::Arc;

use super::heads::Heads;
use super::model::{ModelError, ModelHandle};
use super::rules::Rules;
use super::{detect_lang, merge_flags, BoxFuture, Classifier, ClassifyError};
use crate::domain::Classification;

const CLASSIFIER_NAME: &str = "multilingual-e5-small+heads";

pub struct ModelClassifier {
    handle: ModelHandle,
    heads: Arc<Heads>,
    rules: Arc<Rules>,
    toxicity_threshold: f32,
    name: String,
}

impl ModelClassifier {
    pub fn new(
        handle: ModelHandle,
        heads: Arc<Heads>,
        rules: Arc<Rules>,
        toxicity_threshold: f32,
    ) -> Self {
        ModelClassifier {
            handle,
            heads,
            rules,
            toxicity_threshold,
            name: CLASSIFIER_NAME.into(),
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
            let embedding = self
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
                self.toxicity_threshold,
                text,
                lang_hint,
                embedding,
            ))
        })
    }

    fn queue_depth(&self) -> usize {
        self.handle.queue_depth()
    }
}

/// One message's classification from its embedding: the heads' scores, the
/// rules' hits, and the flags both raise.
pub fn assemble(
    heads: &Heads,
    rules: &Rules,
    toxicity_threshold: f32,
    text: &str,
    lang_hint: Option<&str>,
    embedding: Vec<f32>,
) -> Classification {
    let output = heads
        .predict(&[embedding])
        .pop()
        .expect("one output per embedding");
    let hits = rules.scan(text);
    Classification {
        lang: detect_lang(text, lang_hint),
        sentiment: output.sentiment,
        intent: output.intent,
        toxicity: output.toxicity,
        flags: merge_flags(Rules::flags(&hits), output.toxicity, toxicity_threshold),
        rules: hits,
        classifier: CLASSIFIER_NAME.into(),
    }
}
