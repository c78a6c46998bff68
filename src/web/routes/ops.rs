//! Operations: liveness, readiness and Prometheus metrics. Unauthenticated,
//! so they say what kind of trouble there is and keep its detail in the log.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::store::{actions, jobs, messages};
use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database takes a write; reports the model queue and the
/// lag of the oldest message not yet decided on.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let ctx = &state.ctx;
    let probe = tokio::time::timeout(std::time::Duration::from_secs(5), ctx.db.probe_write()).await;
    // The reason names the kind of failure; its detail stays in the log
    // (the route is unauthenticated).
    let refused = match probe {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database refused a write");
            Some(if e.is_unavailable() {
                "the database refuses writes (a full disk, an I/O error, a lock held too long or a read-only server)"
            } else {
                "the database refuses writes; see the log"
            })
        }
        Err(_) => Some("the database refuses writes: one did not commit within 5 s"),
    };
    let db_ok = refused.is_none();
    let lag_ms = match ctx.db.conn().await {
        Ok(mut conn) => messages::oldest_undecided_ms(&mut conn)
            .await
            .ok()
            .flatten(),
        Err(_) => None,
    };
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": db_ok,
            "database": db_ok,
            "reason": refused,
            "classifier": ctx.classifier.name(),
            "model_queue": ctx.classifier.queue_depth(),
            "lag_ms": lag_ms.unwrap_or(0),
        })),
    )
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    let ctx = &state.ctx;
    if let Ok(depth) = jobs::due_count(&ctx.db).await {
        metrics::gauge!("replyd_queue_depth").set(depth as f64);
    }
    if let Ok(mut conn) = ctx.db.conn().await {
        if let Ok(counts) = actions::count_by_status(&mut conn).await {
            for (status, kind, n) in counts {
                metrics::gauge!("replyd_actions", "status" => status.as_str(), "kind" => kind)
                    .set(n as f64);
            }
        }
        if let Ok(counts) = messages::stage_counts(&mut conn).await {
            for (stage, n) in counts {
                metrics::gauge!("replyd_messages", "stage" => stage.as_str()).set(n as f64);
            }
        }
        if let Ok(lag) = messages::oldest_undecided_ms(&mut conn).await {
            metrics::gauge!("replyd_lag_seconds").set(lag.unwrap_or(0) as f64 / 1000.0);
        }
    }
    metrics::gauge!("replyd_model_queue").set(ctx.classifier.queue_depth() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
