//! Ownership and context over HTTP: a message's owner and labels (`PATCH
//! /v1/messages/{id}`), its internal notes, and the brand's saved replies.
//! The work is `crate::workbench::context`'s; this maps it to answers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use crate::auth::{Caller, Permission};
use crate::domain::Lang;
use crate::store::context;
use crate::web::{query_param, ApiError, ApiJson, ApiQuery, AppState};
use crate::workbench::context::{self as wb, ContextPatch, SavedReplyRequest};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/messages/{id}/notes", post(post_note))
        .route("/v1/saved-replies", get(list_saved).post(post_saved))
        .route(
            "/v1/saved-replies/{id}",
            put(put_saved).delete(delete_saved).get(get_saved),
        )
}

/// `null` unassigns; a missing field leaves the owner be.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextBody {
    #[serde(default, deserialize_with = "present")]
    owner: Option<Option<String>>,
    labels: Option<Vec<String>>,
}

pub async fn patch_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<ContextBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Moderate)?;
    let ApiJson(body) = body?;
    if body.owner.is_none() && body.labels.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            "give owner, labels or both",
        )
        .field("owner"));
    }
    let patch = ContextPatch {
        owner: body.owner,
        labels: body.labels,
    };
    let context = wb::set_context(&state.ctx, &id, &patch, &caller.actor()).await?;
    Ok(Json(json!({
        "owner": context.owner,
        "labels": context.labels,
        "context": context,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

async fn post_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<NoteBody>, ApiError>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::Moderate)?;
    let ApiJson(body) = body?;
    let note = wb::add_note(&state.ctx, &id, &body.text, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "note": note }))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedQuery {
    lang: Option<String>,
}

async fn list_saved(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SavedQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Moderate)?;
    let lang = query_param::<Lang>("lang", &query.lang)?;
    let mut conn = state.ctx.db.conn().await?;
    let items = context::saved_replies(&mut conn, lang).await?;
    Ok(Json(json!({ "items": items })))
}

async fn get_saved(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Moderate)?;
    let mut conn = state.ctx.db.conn().await?;
    let reply = context::saved_reply(&mut conn, &id).await?;
    Ok(Json(json!({ "saved_reply": reply })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedBody {
    name: String,
    lang: String,
    text: String,
}

impl From<SavedBody> for SavedReplyRequest {
    fn from(b: SavedBody) -> Self {
        SavedReplyRequest {
            name: b.name,
            lang: b.lang,
            text: b.text,
        }
    }
}

async fn post_saved(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<ApiJson<SavedBody>, ApiError>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageSavedReplies)?;
    let ApiJson(body) = body?;
    let reply = wb::save_reply(&state.ctx, None, &body.into(), &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "saved_reply": reply }))))
}

async fn put_saved(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<SavedBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageSavedReplies)?;
    let ApiJson(body) = body?;
    let reply = wb::save_reply(&state.ctx, Some(&id), &body.into(), &caller.actor()).await?;
    Ok(Json(json!({ "saved_reply": reply })))
}

async fn delete_saved(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageSavedReplies)?;
    wb::delete_reply(&state.ctx, &id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
