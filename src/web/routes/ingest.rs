//! `POST /v1/messages`: the generic JSON API any source can push into.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;

use crate::auth::{Caller, Permission};
use crate::ingest::{self, generic};
use crate::web::{ApiBytes, ApiError, AppState};

pub async fn post_messages(
    State(state): State<AppState>,
    caller: Caller,
    // Refused in this order: who may post, then what was posted.
    body: Result<ApiBytes, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::PostMessages)?;
    let ApiBytes(body) = body?;
    let (messages, is_array) = generic::parse_body(&body)?;
    generic::refuse_meta_platforms(&state.ctx.config, &messages, is_array)?;
    let accepted = ingest::accept(&state.ctx, &messages).await?;
    // A single message is answered as one, a batch with a result per message.
    let body = if is_array {
        serde_json::json!({ "results": accepted })
    } else {
        serde_json::to_value(&accepted[0]).expect("plain values")
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}
