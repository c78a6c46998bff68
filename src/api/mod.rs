//! The HTTP surface: ingestion, reading messages back, and operations.

mod error;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Deserialize;
use serde_json::json;

pub use error::{ApiError, ErrorBody};

use crate::auth::Caller;
use crate::domain::{Intent, MessageId, Platform, Role, Stage};
use crate::ingest;
use crate::pipeline::Ctx;
use crate::store::{actions, jobs, messages};

/// Requests larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub metrics: PrometheusHandle,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/v1/messages",
            post(ingest::generic::post_messages).get(list_messages),
        )
        .route("/v1/messages/{id}", get(get_message))
        .route(
            "/webhooks/meta",
            get(ingest::meta::verify_subscription)
                .post(ingest::meta::post_webhook)
                // Signed by Meta, not token-authenticated; up to 1,000 entries.
                .layer(DefaultBodyLimit::max(ingest::meta::MAX_WEBHOOK_BYTES)),
        )
        .merge(crate::leads::api::routes())
        .merge(crate::review::api::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

const READERS: &[Role] = &[Role::Reviewer, Role::Viewer];

async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(READERS)?;
    let id: MessageId = id.parse().map_err(|_| ApiError::not_found("message"))?;
    let mut conn = state.ctx.db.conn().await?;
    let message = messages::get(&mut conn, &id).await?;
    let classification = messages::classification(&mut conn, &id).await?;
    let decision = messages::decision(&mut conn, &id).await?;
    let actions = actions::for_message(&mut conn, &id).await?;
    Ok(Json(json!({
        "message": message,
        "classification": classification,
        "decision": decision,
        "actions": actions,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    platform: Option<String>,
    intent: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(READERS)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let bad = |field: &str, e: crate::domain::ParseError| {
        ApiError::bad_request("invalid_query", e.message).field(field)
    };
    let filter = messages::MessageFilter {
        stage: query
            .status
            .map(|s| s.parse::<Stage>())
            .transpose()
            .map_err(|e| bad("status", e))?,
        platform: query
            .platform
            .map(|s| s.parse::<Platform>())
            .transpose()
            .map_err(|e| bad("platform", e))?,
        intent: query
            .intent
            .map(|s| s.parse::<Intent>())
            .transpose()
            .map_err(|e| bad("intent", e))?,
        search: query.q.filter(|q| !q.is_empty()),
        before: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: query.limit.unwrap_or(50).clamp(1, 500),
    };
    let mut conn = state.ctx.db.conn().await?;
    let items = messages::list(&mut conn, &filter).await?;
    let next_cursor = (items.len() == filter.limit as usize)
        .then(|| items.last())
        .flatten()
        .map(|last| encode_cursor(last.message.received_at, last.message.id.as_str()));
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })))
}

pub(crate) fn encode_cursor(at: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    let invalid = || {
        ApiError::bad_request("invalid_query", "cursor is not one this API gave").field("cursor")
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let (at, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, id.to_owned()))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers; reports the model queue and the lag of
/// the oldest message not yet decided on.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let ctx = &state.ctx;
    let db_ok = ctx.db.ping().await.is_ok();
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
