//! Builds the daemon from a `Config`: database, classifier, workers, HTTP
//! server; and stops it cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::app::{BuildError, Services};
use crate::classify::rules::Rules;
use crate::config::{Config, MetaPlatform};
use crate::deliver::graph::GraphConnector;
use crate::deliver::webhook::WebhookConnector;
use crate::deliver::{Connector, Connectors, DeliverAction};
use crate::pipeline::ProcessMessage;
use crate::store::Db;
use crate::web::{self, AppState};
use crate::worker::Runner;

// The daemon builds its classifier and drafter as the eval commands do;
// they live in `app` so that those commands need not depend on the daemon.
use crate::app::{build_classifier, build_drafter};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Build(#[from] BuildError),
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
            Arc::new(Rules::new(&config.rules).map_err(|e| BuildError::Rules(e.to_string()))?);
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
                GraphConnector::new(meta, db.clone(), timeout, lease);
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
        web::serve::serve(listener, web::router(state), header_timeout, stop.clone()).await;
        stop.cancel();
        let _ = workers.await;
        db.close().await;
        tracing::info!("replyd stopped");
        Ok(())
    }
}
