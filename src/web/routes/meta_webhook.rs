//! `GET` and `POST /webhooks/meta`: Facebook page and Instagram account
//! webhooks, signed by Meta rather than token-authenticated. Checking the
//! signature and reading the payload is [`crate::ingest::meta_webhook`]'s.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::config::MetaConfig;
use crate::ingest;
use crate::ingest::meta_webhook::{
    parse_webhook, subscription_verified, verify_signature, well_formed_signature,
    MAX_WEBHOOK_BYTES, SIGNATURE_HEADER,
};
use crate::web::{ApiError, ApiQuery, AppState};

pub fn routes() -> Router<AppState> {
    // The route reads its own body: the signature is checked first.
    Router::new().route(
        "/webhooks/meta",
        get(verify_subscription).post(post_webhook),
    )
}

fn meta_config(state: &AppState) -> Result<&MetaConfig, ApiError> {
    // Without a [meta] section there is no secret to check against: the
    // route does not exist as far as callers can tell.
    state
        .ctx
        .config
        .meta
        .as_ref()
        .ok_or_else(|| ApiError::not_found("route"))
}

/// The subscription handshake: echoes Meta's challenge once its mode and
/// verify token check out.
async fn verify_subscription(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let meta = meta_config(&state)?;
    let param = |name: &str| query.get(name).map(String::as_str);
    let verified = subscription_verified(meta, param("hub.mode"), param("hub.verify_token"));
    match query.get("hub.challenge") {
        Some(challenge) if verified => Ok((StatusCode::OK, challenge.clone())),
        _ => {
            tracing::warn!("meta webhook verification refused: wrong mode or verify token");
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "verification refused",
            ))
        }
    }
}

/// Refused unsigned before the body is read, and with few bodies read at
/// once: unsigned or forged posts cannot fill memory.
async fn post_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let meta = meta_config(&state)?;
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let refuse = |signed: bool| {
        tracing::warn!(
            signed,
            "meta webhook refused: missing or wrong X-Hub-Signature-256"
        );
        ApiError::unauthorized("missing or wrong X-Hub-Signature-256")
    };
    if !well_formed_signature(header) {
        return Err(refuse(header.is_some()));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_WEBHOOK_BYTES) {
        return Err(too_large());
    }
    // A forged signature is only found out once the body is read: a few
    // are read at once, the rest wait their turn (and Meta retries a 503).
    // Half the body's deadline for the wait leaves the other half to read.
    let wait = std::time::Duration::from_secs(state.ctx.config.http.body_timeout_secs) / 2;
    let _turn = match tokio::time::timeout(wait, state.webhook_bodies.acquire()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            return Err(ApiError::unavailable(
                "too many webhook bodies in flight; retry shortly",
            ))
        }
    };
    let body = axum::body::to_bytes(body, MAX_WEBHOOK_BYTES)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                too_large()
            } else {
                ApiError::bad_request("invalid_body", "the webhook body could not be read")
            }
        })?;
    if !verify_signature(&meta.app_secret, header, &body) {
        return Err(refuse(true));
    }
    let messages = parse_webhook(&body)?;
    let accepted = ingest::accept(&state.ctx, &messages).await?;
    let new = accepted.iter().filter(|a| !a.duplicate).count();
    tracing::debug!(events = messages.len(), new, "meta webhook accepted");
    Ok((
        StatusCode::OK,
        Json(json!({ "received": messages.len(), "new": new })),
    ))
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "webhook body is over {} MiB",
            MAX_WEBHOOK_BYTES / (1024 * 1024)
        ),
    )
}
