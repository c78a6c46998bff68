//! `GET /v1/messages` and `GET /v1/messages/{id}`: reading messages back
//! with what replyd made of them. (`POST /v1/messages` is [`super::ingest`].)

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Caller, Permission};
use crate::domain::{Intent, MessageId, Platform, Stage};
use crate::store::{actions, context, corrections, messages};
use crate::web::{cursor_param, next_cursor, query_param, ApiError, ApiQuery, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/messages",
            get(list_messages).post(super::ingest::post_messages),
        )
        .route(
            "/v1/messages/{id}",
            get(get_message).patch(super::context::patch_message),
        )
}

async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: MessageId = id.parse().map_err(|_| ApiError::not_found("message"))?;
    // One snapshot: the parts below must agree with each other.
    let mut conn = state.ctx.db.snapshot().await?;
    if !caller.may_read_message(&mut conn, &id).await? {
        return Err(ApiError::forbidden(caller.role));
    }
    let message = messages::get(&mut conn, &id).await?;
    let classification = messages::classification(&mut conn, &id).await?;
    let decision = messages::decision(&mut conn, &id).await?;
    let actions = actions::for_message(&mut conn, &id).await?;
    let corrections = corrections::for_message(&mut conn, &id).await?;
    let context = context::get(&mut conn, &id).await?;
    let notes = context::notes(&mut conn, &id).await?;
    Ok(Json(json!({
        "owner": context.owner,
        "labels": context.labels,
        "context": context,
        "notes": notes,
        "message": message,
        "classification": classification,
        "correction": corrections::merged(&corrections),
        "corrections": corrections,
        "decision": decision,
        "actions": actions,
    })))
}

/// The message list's filters, shared by the API and the console's inbox.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    pub status: Option<String>,
    pub platform: Option<String>,
    pub intent: Option<String>,
    pub q: Option<String>,
    pub label: Option<String>,
    pub owner: Option<String>,
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
            label: self
                .label
                .as_deref()
                .map(|l| l.trim().to_lowercase())
                .filter(|l| !l.is_empty()),
            owner: self
                .owner
                .as_deref()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty()),
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
