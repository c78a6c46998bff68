//! The web layer: every route, the HTTP API's one error shape, the
//! extractors that read requests into domain types, and the console. The
//! domain modules beneath it know nothing of HTTP: they return their own
//! errors, which [`error`] maps to answers.

mod auth;
pub mod console;
mod error;
mod extract;
mod query;
mod routes;
pub mod serve;
mod unread_body;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

pub use error::{no_nul, ApiError, ErrorBody};
pub use extract::{nul_field, nul_refused, ApiBytes, ApiJson, ApiJsonOrEmpty, ApiQuery};
pub use query::{cursor_param, encode_cursor, next_cursor, query_param};

use crate::app::Ctx;

/// Requests larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub metrics: PrometheusHandle,
    /// Failed console sign-ins per client address and token prefix.
    pub sign_ins: std::sync::Arc<console::session::SignInFailures>,
    /// Turns to read a Meta webhook body (see `routes::meta_webhook`).
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
        .merge(routes::messages::routes())
        .merge(routes::meta_webhook::routes())
        .merge(routes::leads::routes())
        .merge(routes::reviews::routes())
        .merge(routes::workbench::routes())
        .merge(routes::context::routes())
        .merge(console::routes())
        .merge(routes::ops::routes())
        .fallback(|| async { ApiError::not_found("route") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            console::session::layer,
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
