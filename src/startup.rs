//! Builds the daemon from a `Config`: database, classifier, workers, HTTP
//! server; and stops it cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::app::Services;
use crate::classify::rules::Rules;
use crate::classify::{Classifier, RulesClassifier};
use crate::config::{Config, MetaPlatform};
use crate::deliver::meta::MetaConnector;
use crate::deliver::webhook::WebhookConnector;
use crate::deliver::{Connector, Connectors, DeliverAction};
use crate::draft::facts::Facts;
use crate::draft::guardrails::Guardrails;
use crate::draft::llm::LlmDrafter;
use crate::draft::{Drafter, Templates};
use crate::pipeline::ProcessMessage;
use crate::store::Db;
use crate::worker::Runner;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
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
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Application {
    /// Held while serving: a second process on the same SQLite file is refused.
    _writer_lock: Option<std::fs::File>,
    addr: SocketAddr,
    listener: tokio::net::TcpListener,
    state: AppState,
    runner: Runner<crate::app::Ctx>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let config = Arc::new(config);
        let db = Db::connect(config.database_url.expose()).await?;
        let writer_lock = db.lock_single_writer()?;
        db.migrate().await?;
        let rules =
            Arc::new(Rules::new(&config.rules).map_err(|e| StartupError::Rules(e.to_string()))?);
        let classifier = build_classifier(&config, rules.clone()).await?;
        let drafter = build_drafter(&config, rules.clone(), Some(classifier.clone()))?;
        let timeout = Duration::from_secs(config.delivery.timeout_secs);
        let mut connectors = Connectors::new();
        for hook in &config.connectors.webhook {
            connectors.insert(
                hook.platform.clone(),
                Arc::new(WebhookConnector::new(hook, timeout)),
            );
        }
        if let Some(meta) = &config.meta {
            // One connector for both platforms: it picks the page per message.
            let lease = Duration::from_secs(config.pipeline.lease_secs);
            let connector: Arc<dyn Connector> =
                MetaConnector::new(meta, db.clone(), timeout, lease);
            for platform in [MetaPlatform::Facebook, MetaPlatform::Instagram] {
                if meta.pages.iter().any(|p| p.platform == platform) {
                    connectors.insert(platform.platform(), connector.clone());
                }
            }
        }
        let wake = Arc::new(Notify::new());
        let ctx = Arc::new(Services {
            db: db.clone(),
            config: config.clone(),
            classifier,
            drafter,
            connectors,
            wake: wake.clone(),
        });
        let runner = Runner::new(db.clone(), ctx.clone(), wake.clone())
            .concurrency(config.pipeline.concurrency)
            .lease(Duration::from_secs(config.pipeline.lease_secs))
            .poll_interval(Duration::from_millis(config.pipeline.poll_interval_ms))
            .register::<ProcessMessage>()
            .register::<DeliverAction>()
            .register::<crate::leads::DeliverLead>();
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.listen,
            source,
        })?;
        db.listen_for_work(wake.clone()).await;
        Ok(Application {
            _writer_lock: writer_lock,
            addr,
            listener,
            state: AppState::new(ctx),
            runner,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `stop` is cancelled: then stops accepting requests,
    /// lets running jobs finish (up to 20 s) and releases the rest.
    pub async fn run_until_stopped(self, stop: CancellationToken) -> std::io::Result<()> {
        let Application {
            _writer_lock,
            listener,
            state,
            runner,
            addr,
        } = self;
        tracing::info!(%addr, classifier = state.ctx.classifier.name(), "replyd listening");
        let db = state.ctx.db.clone();
        let workers = tokio::spawn(runner.run(stop.clone(), Duration::from_secs(20)));
        let header_timeout = Duration::from_secs(state.ctx.config.http.header_timeout_secs);
        api::serve::serve(listener, api::router(state), header_timeout, stop.clone()).await;
        stop.cancel();
        let _ = workers.await;
        db.close().await;
        tracing::info!("replyd stopped");
        Ok(())
    }
}

/// The classifier the configuration asks for (also used by `replyd leads eval`).
pub async fn build_classifier(
    config: &Config,
    rules: Arc<Rules>,
) -> Result<Arc<dyn Classifier>, StartupError> {
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
    .map_err(|e| StartupError::Model(e.to_string()))?
    .map_err(|e| StartupError::Model(format!("{e:#}")))?;
    Ok(Arc::new(classifier))
}

pub(crate) fn build_drafter(
    config: &Config,
    rules: Arc<Rules>,
    reader: Option<Arc<dyn Classifier>>,
) -> Result<Drafter, StartupError> {
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
            .map_err(|e| StartupError::Rules(e.to_string()))?,
        facts: match &config.facts_file {
            Some(path) => Facts::load(path)?,
            None => Facts::default(),
        },
        reader,
    })
}
