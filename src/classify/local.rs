//! The local model as a [`Classifier`]: e5 embeddings from the batching
//! model thread, the trained heads on top, and the rules layer beside them.

use std::sync::Arc;

use super::heads::Heads;
use super::model::{ModelError, ModelHandle};
use super::rules::Rules;
use super::{detect_lang, merge_flags, BoxFuture, ClassifyError, Classifier};
use crate::domain::Classification;

pub struct ModelClassifier {
    handle: ModelHandle,
    heads: Arc<Heads>,
    rules: Arc<Rules>,
    toxicity_threshold: f32,
    name: String,
}

impl ModelClassifier {
    pub fn new(handle: ModelHandle, heads: Arc<Heads>, rules: Arc<Rules>, toxicity_threshold: f32) -> Self {
        ModelClassifier {
            handle,
            heads,
            rules,
            toxicity_threshold,
            name: "multilingual-e5-small+heads".into(),
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
            let embedding = self.handle.embed(text.to_owned()).await.map_err(|e| match e {
                ModelError::Overloaded(_) => ClassifyError::Overloaded,
                other => ClassifyError::Failed(other.to_string()),
            })?;
            let output = self
                .heads
                .predict(&[embedding])
                .pop()
                .ok_or_else(|| ClassifyError::Failed("heads returned nothing".into()))?;
            let hits = self.rules.scan(text);
            Ok(Classification {
                lang: detect_lang(text, lang_hint),
                sentiment: output.sentiment,
                intent: output.intent,
                toxicity: output.toxicity,
                flags: merge_flags(Rules::flags(&hits), output.toxicity, self.toxicity_threshold),
                rules: hits,
                classifier: self.name.clone(),
            })
        })
    }

    fn queue_depth(&self) -> usize {
        self.handle.queue_depth()
    }
}
