//! The application's shared context: what every background job and every
//! request handler reads (the database, the configuration, the model, the
//! drafter, the platforms' connectors). Built once by `startup`, it lives
//! apart from any one stage so that no stage has to import another to
//! reach it. The classifier and the drafter are built here from a config,
//! for the daemon and the eval commands alike.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::classify::rules::Rules;
use crate::classify::{Classifier, RulesClassifier};
use crate::config::Config;
use crate::deliver::Connectors;
use crate::draft::facts::Facts;
use crate::draft::guardrails::Guardrails;
use crate::draft::llm::LlmDrafter;
use crate::draft::{Drafter, Templates};
use crate::store::Db;

/// Everything a job or a handler needs, shared by all of them.
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub classifier: Arc<dyn Classifier>,
    pub drafter: Drafter,
    pub connectors: Connectors,
    /// Wakes this process's idle workers when new work is committed.
    pub wake: Arc<Notify>,
}

pub type Ctx = Arc<Services>;

/// Why the classifier or the drafter could not be built from a config.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("rules: {0}")]
    Rules(String),
    #[error(transparent)]
    Templates(#[from] crate::draft::TemplateError),
    #[error(transparent)]
    Facts(#[from] crate::draft::facts::FactsError),
    #[error("llm: {0}")]
    Llm(#[from] crate::draft::llm::LlmError),
    #[error("model: {0}")]
    Model(String),
}

/// The classifier the configuration asks for (also used by `replyd leads eval`).
pub async fn build_classifier(
    config: &Config,
    rules: Arc<Rules>,
) -> Result<Arc<dyn Classifier>, BuildError> {
    if !config.model.enabled {
        tracing::warn!("model disabled: classifying with the rules layer's keyword heuristics");
        return Ok(Arc::new(RulesClassifier::new(rules)));
    }
    // Loading (and on first start fetching) the model blocks for a while.
    let config = config.clone();
    let classifier = tokio::task::spawn_blocking(move || {
        crate::classify::load::start_classifier(&config, rules)
    })
    .await
    .map_err(|e| BuildError::Model(e.to_string()))?
    .map_err(|e| BuildError::Model(format!("{e:#}")))?;
    Ok(Arc::new(classifier))
}

pub fn build_drafter(
    config: &Config,
    rules: Arc<Rules>,
    reader: Option<Arc<dyn Classifier>>,
) -> Result<Drafter, BuildError> {
    let prompts = config.prompts_dir.as_deref();
    Ok(Drafter {
        templates: Templates::load(prompts, config.brand.clone())?
            .with_questions(&config.leads.questions)?,
        llm: config
            .llm
            .as_ref()
            .map(|llm| LlmDrafter::new(llm, config.brand.clone(), prompts))
            .transpose()?,
        guardrails: Guardrails::new(&config.guardrails, rules)
            .and_then(|g| g.with_private_channel(&config.brand.channel))
            .map_err(|e| BuildError::Rules(e.to_string()))?,
        facts: match &config.facts_file {
            Some(path) => Facts::load(path)?,
            None => Facts::default(),
        },
        reader,
    })
}
