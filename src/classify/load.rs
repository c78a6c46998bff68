//! The local model as the daemon and the commands load it: the ensemble's
//! encoders with their adapters, each member's heads, the risk exemplars
//! embedded once into the model cache, and the classifier started on its
//! own batching thread. The CLI's commands (`classify/commands.rs`, and
//! `training/commands.rs` for eval and train) only call into here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};

use super::heads::Heads;
use super::local::assemble;
use super::model::{self, Adapters, Encoder, EncoderEnsemble, EncoderOptions};
use super::nearest::Exemplars;
use super::rules::Rules;
use crate::config::Config;
use crate::domain::Classification;

/// The encoders, their heads and the rules, loaded for one command.
pub struct LocalModel {
    pub encoders: EncoderEnsemble,
    /// One per encoder, in the same order.
    pub heads: Vec<Heads>,
    pub rules: Rules,
    pub exemplars: Exemplars,
    pub toxicity_threshold: f32,
}

impl LocalModel {
    /// Fetches the base weights when they are missing, saying so.
    pub fn load(config: &Config) -> anyhow::Result<LocalModel> {
        let (encoders, heads) = load_members(config)?;
        let exemplars = risk_exemplars(config, &encoders)?;
        Ok(LocalModel {
            encoders,
            heads,
            rules: Rules::new(&config.rules)?,
            exemplars,
            toxicity_threshold: config.policy.toxicity_threshold,
        })
    }

    pub fn classify_batch(
        &self,
        texts: &[(&str, Option<&str>)],
    ) -> anyhow::Result<Vec<Classification>> {
        let plain: Vec<&str> = texts.iter().map(|(t, _)| *t).collect();
        let embeddings = self.encoders.embed(&plain)?;
        Ok(texts
            .iter()
            .zip(embeddings)
            .map(|((text, lang), embeddings)| {
                assemble(
                    &self.heads,
                    &self.rules,
                    &self.exemplars,
                    self.toxicity_threshold,
                    text,
                    *lang,
                    &embeddings,
                )
            })
            .collect())
    }
}

/// The configured ensemble: the first member (`model.adapters_dir` /
/// `model.heads_dir`, else the built-in ones) and, unless `model.ensemble`
/// or `model.adapters` is off, the second (`model.second_adapters_dir` /
/// `model.second_heads_dir`, else the built-in second member, when the
/// binary has one), the cores shared out between them. Fetches the base
/// weights when missing.
pub fn load_members(config: &Config) -> anyhow::Result<(EncoderEnsemble, Vec<Heads>)> {
    let second = second_member(config)?;
    let files = model::ensure_model(&cache_dir(config)).context("fetching the model")?;
    let options = EncoderOptions {
        threads: model::threads_per_member(1 + usize::from(second.is_some())),
        ..encoder_options(config)
    };
    let load = |adapters: Option<&Adapters>| {
        Encoder::load_with_adapters(&files.model, &files.tokenizer, options, adapters)
    };
    let mut encoders = vec![load(load_adapters(config)?.as_ref()).context("loading the encoder")?];
    let mut heads = vec![load_heads(config.model.heads_dir.as_deref())?];
    if let Some((adapters, second_heads)) = second {
        encoders.push(load(Some(&adapters)).context("loading the ensemble's second encoder")?);
        heads.push(second_heads);
    }
    Ok((EncoderEnsemble::new(encoders)?, heads))
}

/// The heads in `dir`, else the first member's built-in heads.
fn load_heads(dir: Option<&Path>) -> anyhow::Result<Heads> {
    match dir {
        Some(dir) => {
            Heads::load_dir(dir).with_context(|| format!("loading heads from {}", dir.display()))
        }
        None => Ok(Heads::builtin()),
    }
}

/// The second member's adapters and heads, if the ensemble has one.
fn second_member(config: &Config) -> anyhow::Result<Option<(Adapters, Heads)>> {
    let m = &config.model;
    if !m.ensemble || !m.adapters {
        return Ok(None);
    }
    match (&m.second_adapters_dir, &m.second_heads_dir) {
        (Some(adapters), Some(heads)) => {
            let adapters = Adapters::load_dir(adapters)
                .with_context(|| format!("loading adapters from {}", adapters.display()))?;
            Ok(Some((adapters, load_heads(Some(heads.as_path()))?)))
        }
        (Some(_), None) | (None, Some(_)) => bail!(
            "model.second_adapters_dir and model.second_heads_dir must be set together: heads only fit the encoder they were trained on"
        ),
        (None, None) => builtin_second_member(),
    }
}

// `BUILTIN_SECOND: Option<(&[u8], &[u8])>`: the second member's adapters
// and heads files, when the repository had both at build time (`build.rs`).
include!(concat!(env!("OUT_DIR"), "/builtin_second.rs"));

fn builtin_second_member() -> anyhow::Result<Option<(Adapters, Heads)>> {
    let Some((adapters, heads)) = BUILTIN_SECOND else {
        return Ok(None);
    };
    let adapters =
        Adapters::from_safetensors(adapters).context("loading the built-in second adapters")?;
    let heads = Heads::from_safetensors(heads).context("loading the built-in second heads")?;
    Ok(Some((adapters, heads)))
}

/// The first member's encoder at the configured precision (the fastest for
/// this CPU unless `model.precision` says otherwise) with the configured
/// adapters merged, fetching the base weights when missing.
pub fn load_encoder(config: &Config) -> anyhow::Result<Encoder> {
    let files = model::ensure_model(&cache_dir(config)).context("fetching the model")?;
    let adapters = load_adapters(config)?;
    Encoder::load_with_adapters(
        &files.model,
        &files.tokenizer,
        encoder_options(config),
        adapters.as_ref(),
    )
    .context("loading the encoder")
}

pub(crate) fn encoder_options(config: &Config) -> EncoderOptions {
    EncoderOptions {
        precision: config.model.precision.unwrap_or_default(),
        ..EncoderOptions::default()
    }
}

/// `model.adapters_dir`'s adapters, else the built-in ones if the binary
/// has any; none when `model.adapters` is off.
pub fn load_adapters(config: &Config) -> anyhow::Result<Option<Adapters>> {
    if !config.model.adapters {
        return Ok(None);
    }
    match &config.model.adapters_dir {
        Some(dir) => Adapters::load_dir(dir)
            .map(Some)
            .with_context(|| format!("loading adapters from {}", dir.display())),
        None => Adapters::builtin().context("loading the built-in adapters"),
    }
}

/// Names the encoder's weights for the embedding cache and the heads'
/// manifest: cached embeddings are only reused by the same weights
/// (adapters included) at the same precision. Without adapters the name is
/// the one caches had before adapters existed, so they stay valid.
pub(crate) fn encoder_id(encoder: &Encoder) -> String {
    let base = format!(
        "{}:{:?}",
        model::fetch::MODEL_SHA256,
        encoder.options().precision
    );
    match encoder.adapters_id() {
        Some(adapters) => format!("{base}:lora-{adapters}"),
        None => base,
    }
}

pub fn cache_dir(config: &Config) -> PathBuf {
    config
        .model
        .cache_dir
        .clone()
        .unwrap_or_else(model::default_cache_dir)
}

/// Loads the model once for the daemon, on the batching thread.
pub fn start_classifier(
    config: &Config,
    rules: Arc<Rules>,
) -> anyhow::Result<super::local::ModelClassifier> {
    let (encoders, heads) = load_members(config)?;
    let exemplars = risk_exemplars(config, &encoders)?;
    tracing::info!(
        members = encoders.len(),
        threads_each = encoders.members()[0].options().threads,
        precision = ?encoders.members()[0].options().precision,
        "model loaded"
    );
    let handle = model::ModelHandle::start(
        encoders,
        model::BatcherConfig {
            max_batch_tokens: config.model.max_batch_tokens,
            max_batch_size: config.model.max_batch_size,
            queue_capacity: config.model.queue_capacity,
        },
    );
    Ok(super::local::ModelClassifier::new(
        handle,
        Arc::new(heads),
        rules,
        Arc::new(exemplars),
        config.policy.toxicity_threshold,
    ))
}

/// The built-in risk exemplars, embedded by the first member. Embeddings
/// are kept in the model cache, so only a first start (or new weights)
/// computes them.
pub fn risk_exemplars(config: &Config, encoders: &EncoderEnsemble) -> anyhow::Result<Exemplars> {
    let mut rows = super::nearest::parse_exemplars(super::nearest::BUILTIN)
        .map_err(|e| anyhow::anyhow!("models/data/risk_train.jsonl: {e}"))?;
    rows.extend(
        super::nearest::parse_everyday(super::nearest::EVERYDAY)
            .map_err(|e| anyhow::anyhow!("models/data/intents_train.jsonl: {e}"))?,
    );
    let first = &encoders.members()[0];
    let mut cache =
        super::embedding_cache::EmbeddingCache::open(&cache_dir(config), &encoder_id(first))?;
    let texts: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    let embedded = cache.fill(&texts, &mut |batch: &[&str]| {
        first.embed(batch).map_err(|e| e.to_string())
    })?;
    if embedded > 0 {
        tracing::info!(exemplars = embedded, "embedded the risk exemplars");
    }
    let labelled = rows
        .iter()
        .map(|(text, risk)| {
            let v = cache
                .get(text)
                .ok_or_else(|| anyhow::anyhow!("risk exemplar not embedded: {text}"))?;
            Ok((v.to_vec(), *risk))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Exemplars::new(labelled))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member_ids(config: &Config) -> Vec<Option<String>> {
        let (encoders, heads) = load_members(config).unwrap();
        assert_eq!(encoders.len(), heads.len(), "one set of heads per encoder");
        encoders
            .members()
            .iter()
            .map(|e| e.adapters_id().map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_built_in_ensemble_has_two_differently_tuned_members() {
        let (adapters, heads) = builtin_second_member()
            .unwrap()
            .expect("the repository ships a second member");
        assert_eq!(heads.dim(), model::DIM);
        let first = Adapters::builtin().unwrap().expect("built-in adapters");
        assert_ne!(adapters.id(), first.id());

        let mut config = Config::default();
        let both = member_ids(&config);
        assert_eq!(both, vec![Some(first.id()), Some(adapters.id())]);

        config.model.ensemble = false;
        assert_eq!(member_ids(&config), vec![Some(first.id())]);

        // Without adapters the second member's heads fit nothing.
        config.model.ensemble = true;
        config.model.adapters = false;
        assert_eq!(member_ids(&config), vec![None]);
    }

    #[test]
    fn a_configured_second_member_replaces_the_built_in_one() {
        let dir = std::env::temp_dir()
            .join(format!("replyd-load-{}", std::process::id()))
            .join("second-member");
        let adapters_dir = dir.join("adapters");
        let heads_dir = dir.join("heads");
        std::fs::create_dir_all(&adapters_dir).unwrap();
        std::fs::create_dir_all(&heads_dir).unwrap();
        // The first member's files stand in for a retrained second member.
        let first = Adapters::builtin().unwrap().expect("built-in adapters");
        std::fs::write(
            adapters_dir.join("adapters.safetensors"),
            include_bytes!("../../models/adapters/adapters.safetensors"),
        )
        .unwrap();
        std::fs::write(
            heads_dir.join(super::super::heads::HEADS_FILE),
            include_bytes!("../../models/heads/heads.safetensors"),
        )
        .unwrap();
        let mut config = Config::default();
        config.model.second_adapters_dir = Some(adapters_dir);
        config.model.second_heads_dir = Some(heads_dir.clone());
        assert_eq!(
            member_ids(&config),
            vec![Some(first.id()), Some(first.id())]
        );

        config.model.second_heads_dir = None;
        let err = load_members(&config).unwrap_err().to_string();
        assert!(err.contains("second_heads_dir"), "{err}");

        config.model.second_heads_dir = Some(dir.join("missing"));
        let err = format!("{:#}", load_members(&config).unwrap_err());
        assert!(err.contains("missing"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
