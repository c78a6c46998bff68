//! The HTTP surface: ingestion, reading messages back, and operations.

mod error;
mod extract;
pub mod serve;
mod unread_body;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Deserialize;
use serde_json::json;

pub use error::{no_nul, ApiError, ErrorBody};
pub use extract::{nul_field, nul_refused, ApiJson, ApiQuery};

use crate::app::Ctx;
use crate::auth::{Caller, Permission};
use crate::domain::{Intent, MessageId, ParseError, Platform, Stage};
use crate::ingest;
use crate::store::{actions, jobs, messages};

/// Requests larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub metrics: PrometheusHandle,
    /// Failed console sign-ins per client address and token prefix.
    pub sign_ins: std::sync::Arc<crate::console::session::SignInFailures>,
    /// Turns to read a Meta webhook body (see `ingest::meta::post_webhook`).
    pub webhook_bodies: std::sync::Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(ctx: Ctx) -> AppState {
        AppState {
            webhook_bodies: std::sync::Arc::new(tokio::sync::Semaphore::new(
                ctx.config.http.webhook_bodies_in_flight.max(1),
            )),
            ctx,
            metrics: crate::telemetry::metrics(),
            sign_ins: Default::default(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let body_timeout = std::time::Duration::from_secs(state.ctx.config.http.body_timeout_secs);
    Router::new()
        .route(
            "/v1/messages",
            post(ingest::generic::post_messages).get(list_messages),
        )
        .route("/v1/messages/{id}", get(get_message))
        .route(
            "/webhooks/meta",
            // Signed by Meta, not token-authenticated; reads its own body.
            get(ingest::meta::verify_subscription).post(ingest::meta::post_webhook),
        )
        .merge(crate::leads::api::routes())
        .merge(crate::review::api::routes())
        .merge(crate::console::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::console::session::layer,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::map_response(security_headers))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            body_timeout,
            unread_body::close_if_unread,
        ))
        // The path only: a query can hold a secret (Meta's
        // `hub.verify_token`) or a customer's words (the inbox search).
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |request: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                },
            ),
        )
        .with_state(state)
}

async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: MessageId = id.parse().map_err(|_| ApiError::not_found("message"))?;
    // One snapshot: the parts below must agree with each other.
    let mut conn = state.ctx.db.snapshot().await?;
    may_read_message(&caller, &mut conn, &id).await?;
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

/// Reviewers and viewers read every message; sales only those behind a lead.
pub async fn may_read_message(
    caller: &Caller,
    conn: &mut crate::store::AnyConnection,
    id: &MessageId,
) -> Result<(), ApiError> {
    if caller.may(Permission::ReadMessages) {
        return Ok(());
    }
    caller.require(Permission::ReadLeads)?;
    match crate::store::leads::for_message(conn, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::forbidden(caller.role)),
    }
}

/// An optional query parameter of a domain type; empty (as a form sends an
/// unset field) counts as absent.
pub fn query_param<T: std::str::FromStr<Err = ParseError>>(
    field: &str,
    value: &Option<String>,
) -> Result<Option<T>, ApiError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(str::parse)
        .transpose()
        .map_err(|e: ParseError| ApiError::bad_request("invalid_query", e.message).field(field))
}

/// The message list's filters, shared by the API and the console's inbox.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    pub status: Option<String>,
    pub platform: Option<String>,
    pub intent: Option<String>,
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl MessageQuery {
    /// Empty fields (as a form sends them) count as absent.
    pub fn to_filter(&self) -> Result<messages::MessageFilter, ApiError> {
        Ok(messages::MessageFilter {
            stage: query_param::<Stage>("status", &self.status)?,
            platform: query_param::<Platform>("platform", &self.platform)?,
            intent: query_param::<Intent>("intent", &self.intent)?,
            search: self.q.clone().filter(|q| !q.trim().is_empty()),
            before: cursor_param(&self.cursor)?,
            limit: self.limit.unwrap_or(50).clamp(1, 500),
        })
    }
}

async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MessageQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadMessages)?;
    let filter = query.to_filter()?;
    let mut conn = state.ctx.db.conn().await?;
    let items = messages::list(&mut conn, &filter).await?;
    let next = next_cursor(&items, filter.limit, |m| {
        (m.message.received_at, m.message.id.as_str())
    });
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

/// Where the next page starts when this one was full: the `(time, id)` key
/// of its last item, as an opaque cursor.
pub fn next_cursor<T>(items: &[T], limit: u32, key: impl Fn(&T) -> (i64, &str)) -> Option<String> {
    let last = items.last().filter(|_| items.len() == limit as usize)?;
    let (at, id) = key(last);
    Some(encode_cursor(at, id))
}

/// An optional `cursor` parameter; empty counts as absent.
pub fn cursor_param(value: &Option<String>) -> Result<Option<(i64, String)>, ApiError> {
    value
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()
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

/// Every answer forbids framing and outside scripts (the console needs
/// nothing but its own origin), and none is kept by a browser or proxy
/// cache unless it says otherwise (only the console's static assets do):
/// pages, a new token shown once and exports hold customers' words.
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers
            .entry(name)
            .or_insert(header::HeaderValue::from_static(value));
    }
    response
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
