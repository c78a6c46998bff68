//! Builds the daemon from a `Config`: database, classifier, workers, HTTP
//! server; and stops it cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::classify::rules::Rules;
use crate::classify::{Classifier, RulesClassifier};
use crate::config::Config;
use crate::deliver::webhook::WebhookConnector;
use crate::deliver::{Connectors, DeliverAction};
use crate::draft::Templates;
use crate::pipeline::{ProcessMessage, Services};
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
    #[error("model: {0}")]
    Model(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Application {
    addr: SocketAddr,
    listener: tokio::net::TcpListener,
    state: AppState,
    runner: Runner<crate::pipeline::Ctx>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let config = Arc::new(config);
        let db = Db::connect(config.database_url.expose()).await?;
        db.migrate().await?;
        let rules =
            Arc::new(Rules::new(&config.rules).map_err(|e| StartupError::Rules(e.to_string()))?);
        let classifier = build_classifier(&config, rules)?;
        let templates = Templates::load(config.prompts_dir.as_deref(), config.brand.clone())?
            .with_questions(&config.leads.questions)?;
        let timeout = Duration::from_secs(config.delivery.timeout_secs);
        let mut connectors = Connectors::new();
        for hook in &config.connectors.webhook {
            connectors.insert(
                hook.platform.clone(),
                Arc::new(WebhookConnector::new(hook, timeout)),
            );
        }
        let wake = Arc::new(Notify::new());
        let ctx = Arc::new(Services {
            db: db.clone(),
            config: config.clone(),
            classifier,
            templates,
            connectors,
            wake: wake.clone(),
        });
        let runner = Runner::new(db, ctx.clone(), wake)
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
        Ok(Application {
            addr,
            listener,
            state: AppState {
                ctx,
                metrics: crate::telemetry::metrics(),
            },
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
            listener,
            state,
            runner,
            addr,
        } = self;
        tracing::info!(%addr, classifier = state.ctx.classifier.name(), "replyd listening");
        let db = state.ctx.db.clone();
        let workers = tokio::spawn(runner.run(stop.clone(), Duration::from_secs(20)));
        let server_stop = stop.clone();
        let served = axum::serve(listener, api::router(state))
            .with_graceful_shutdown(async move { server_stop.cancelled().await })
            .await;
        stop.cancel();
        let _ = workers.await;
        db.close().await;
        tracing::info!("replyd stopped");
        served
    }
}

/// The classifier the configuration asks for (also used by `replyd leads eval`).
pub fn build_classifier(
    config: &Config,
    rules: Arc<Rules>,
) -> Result<Arc<dyn Classifier>, StartupError> {
    let _ = &config.model;
    Ok(Arc::new(RulesClassifier::new(rules)))
}
