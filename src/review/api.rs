//! `/v1/reviews`: the review queue's API, for the console and for scripts.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{decide, ReviewError, Verdict};
use crate::api::{decode_cursor, encode_cursor, ApiError, AppState};
use crate::auth::Caller;
use crate::domain::Role;
use crate::store::reviews;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/reviews", get(list))
        .route("/v1/reviews/approve", post(approve_many))
        .route("/v1/reviews/reject", post(reject_many))
        .route("/v1/reviews/{id}/approve", post(approve))
        .route("/v1/reviews/{id}/reject", post(reject))
}

/// Who may read the queue, and who may decide.
const READERS: &[Role] = &[Role::Reviewer, Role::Viewer];
const DECIDERS: &[Role] = &[Role::Reviewer];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    platform: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(READERS)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let status = query.status.unwrap_or_else(|| "held".into());
    if !["held", "approved", "rejected"].contains(&status.as_str()) {
        return Err(
            ApiError::bad_request("invalid_query", "status is held, approved or rejected")
                .field("status"),
        );
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut conn = state.ctx.db.conn().await?;
    let items = reviews::list(&mut conn, &status, query.platform.as_deref(), after, limit).await?;
    let next_cursor = (items.len() == limit as usize)
        .then(|| items.last())
        .flatten()
        .map(|last| encode_cursor(last.created_at, &last.id));
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManyBody {
    ids: Vec<String>,
    reason: Option<String>,
}

fn to_api(e: ReviewError) -> ApiError {
    match e {
        ReviewError::NotHeld(_) => {
            ApiError::new(axum::http::StatusCode::CONFLICT, "not_held", e.to_string())
        }
        ReviewError::EmptyText => {
            ApiError::bad_request("invalid_field", e.to_string()).field("text")
        }
        ReviewError::Store(s) => s.into(),
    }
}

fn json_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))
}

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(DECIDERS)?;
    let body: ApproveBody = json_body(&body)?;
    decide(
        &state.ctx,
        &id,
        &Verdict::Approve { text: body.text },
        &caller.actor(),
    )
    .await
    .map_err(to_api)?;
    Ok(Json(json!({ "id": id, "status": "approved" })))
}

async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<RejectBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(DECIDERS)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request("invalid_body", e.body_text()))?;
    decide(
        &state.ctx,
        &id,
        &Verdict::Reject {
            reason: body.reason,
        },
        &caller.actor(),
    )
    .await
    .map_err(to_api)?;
    Ok(Json(json!({ "id": id, "status": "rejected" })))
}

async fn many(
    state: &AppState,
    caller: &Caller,
    ids: &[String],
    verdict: Verdict,
) -> Json<serde_json::Value> {
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let outcome = decide(&state.ctx, id, &verdict, &caller.actor()).await;
        results.push(match outcome {
            Ok(()) => json!({ "id": id, "ok": true }),
            Err(e) => json!({ "id": id, "ok": false, "error": e.to_string() }),
        });
    }
    Json(json!({ "results": results }))
}

async fn approve_many(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ManyBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(DECIDERS)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request("invalid_body", e.body_text()))?;
    Ok(many(&state, &caller, &body.ids, Verdict::Approve { text: None }).await)
}

async fn reject_many(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ManyBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(DECIDERS)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request("invalid_body", e.body_text()))?;
    let reason = body
        .reason
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("missing_field", "a rejection needs a reason").field("reason")
        })?;
    Ok(many(&state, &caller, &body.ids, Verdict::Reject { reason }).await)
}
