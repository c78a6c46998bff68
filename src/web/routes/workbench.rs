//! The reviewer's workbench over HTTP: a person's moderation actions on a
//! message, the conversation it belongs to, its author's profile, and
//! corrections of the model's reading (with their export as labelled
//! examples). The work is `crate::workbench`'s; this maps it to answers.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{Caller, Permission};
use crate::domain::{ActionKind, ActionStatus, MessageId, Platform};
use crate::store::actions::{self, StoredAction};
use crate::store::messages::{self, StoredMessage};
use crate::store::{corrections, leads, AnyConnection, StoreError};
use crate::web::{ApiError, ApiJson, AppState};
use crate::workbench::{self, ActionRequest, CorrectionRequest};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/messages/{id}/actions", post(post_action))
        .route("/v1/messages/{id}/conversation", get(get_conversation))
        .route("/v1/messages/{id}/classification", post(post_correction))
        .route("/v1/authors/{platform}/{author_id}", get(get_author))
        .route("/v1/corrections.jsonl", get(export_corrections))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    kind: String,
    text: Option<String>,
}

async fn post_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    // Refused in this order: who may act, then what was sent.
    body: Result<ApiJson<ActionBody>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Moderate)?;
    let ApiJson(body) = body?;
    let request = ActionRequest {
        kind: body.kind,
        text: body.text,
    };
    let action = workbench::act(
        &state.ctx,
        &id,
        &request,
        &caller.actor(),
        workbench::WAIT_FOR_DELIVERY,
    )
    .await?;
    let (status, answer) = action_answer(&action)?;
    Ok((status, Json(answer)).into_response())
}

/// What a person's action came to, honestly: sent, recorded only (no
/// connector), refused by the platform, failed, or still on its way.
pub fn action_answer(action: &StoredAction) -> Result<(StatusCode, Value), ApiError> {
    let why = action.last_error.as_deref().unwrap_or("no reason given");
    let answer = |note: Option<&str>| {
        json!({
            "action": action,
            "status": action.status,
            "sent": action.status == ActionStatus::Sent,
            "dry_run": action.status == ActionStatus::DryRun,
            "note": note,
        })
    };
    match action.status {
        ActionStatus::Sent => Ok((StatusCode::OK, answer(None))),
        ActionStatus::DryRun => Ok((
            StatusCode::OK,
            answer(Some(
                "no connector is configured for this platform: recorded as a dry run, nothing was sent",
            )),
        )),
        ActionStatus::Skipped => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_possible",
            format!("the platform's rules refuse this: {why}"),
        )),
        ActionStatus::Failed => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "delivery_failed",
            format!("sending failed: {why}"),
        )),
        _ => Ok((
            StatusCode::ACCEPTED,
            answer(Some(
                "not sent yet: delivery goes on, and the message's actions show when it is sent",
            )),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    intent: Option<String>,
    sentiment: Option<String>,
    flags: Option<Vec<String>>,
}

async fn post_correction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<CorrectionBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Moderate)?;
    let ApiJson(body) = body?;
    let request = CorrectionRequest {
        intent: body.intent,
        sentiment: body.sentiment,
        flags: body.flags,
    };
    let correction = workbench::correct(&state.ctx, &id, &request, &caller.actor()).await?;
    Ok(Json(json!({ "correction": correction })))
}

/// One moment of a conversation: a message of the customer's, or what the
/// brand did in answer (a reply, or a like, hide...).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Turn {
    Message {
        at: i64,
        #[serde(flatten)]
        message: StoredMessage,
        /// The message the conversation was asked for.
        current: bool,
    },
    Reply(BrandTurn),
    Moderation(BrandTurn),
}

#[derive(Debug, Serialize)]
pub struct BrandTurn {
    pub at: i64,
    pub action_id: String,
    pub message_id: String,
    pub kind: ActionKind,
    pub text: Option<String>,
    pub status: ActionStatus,
    /// `pipeline` (replyd alone), `review` (a held draft a person approved)
    /// or `workbench` (a person's own).
    pub origin: &'static str,
    /// `replyd`, or the person (`token:<name>`, `console:<name>`).
    pub by: String,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

impl Turn {
    fn at(&self) -> i64 {
        match self {
            Turn::Message { at, .. } => *at,
            Turn::Reply(t) | Turn::Moderation(t) => t.at,
        }
    }
}

/// The conversation of `message`: its author's messages on its platform
/// (in its thread, when it has one) and what the brand did in answer, in
/// order. Drafts still held or rejected were never the brand's words.
/// `lead_messages_only` keeps to messages behind a lead (what sales reads).
pub async fn conversation(
    conn: &mut AnyConnection,
    message: &StoredMessage,
    lead_messages_only: bool,
) -> Result<Vec<Turn>, StoreError> {
    let mut customer = messages::conversation(
        conn,
        &message.platform,
        &message.author.id,
        message.thread_id.as_deref(),
        200,
    )
    .await?;
    if lead_messages_only {
        let mut visible = Vec::with_capacity(customer.len());
        for m in customer {
            if leads::for_message(conn, &m.id).await?.is_some() {
                visible.push(m);
            }
        }
        customer = visible;
    }
    let ids: Vec<&str> = customer.iter().map(|m| m.id.as_str()).collect();
    let done = actions::for_messages(conn, &ids).await?;
    let mut turns: Vec<Turn> = Vec::with_capacity(customer.len() + done.len());
    for a in done {
        if matches!(a.status, ActionStatus::Held | ActionStatus::Rejected)
            || a.kind == ActionKind::LeadHandoff
        {
            continue;
        }
        let (origin, by) = match (&a.requested_by, &a.decided_by) {
            (Some(person), _) => ("workbench", person.clone()),
            (None, Some(person)) => ("review", person.clone()),
            (None, None) => ("pipeline", "replyd".to_owned()),
        };
        let turn = BrandTurn {
            at: a.sent_at.unwrap_or(a.created_at),
            action_id: a.id.to_string(),
            message_id: a.message_id.to_string(),
            kind: a.kind,
            text: a.text,
            status: a.status,
            origin,
            by,
            sent_at: a.sent_at,
            last_error: a.last_error,
        };
        turns.push(if a.kind.carries_text() {
            Turn::Reply(turn)
        } else {
            Turn::Moderation(turn)
        });
    }
    for m in customer {
        turns.push(Turn::Message {
            at: m.received_at,
            current: m.id == message.id,
            message: m,
        });
    }
    // A message comes before what answered it, even within one millisecond.
    turns.sort_by_key(|t| (t.at(), !matches!(t, Turn::Message { .. })));
    Ok(turns)
}

async fn get_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: MessageId = id.parse().map_err(|_| ApiError::not_found("message"))?;
    let mut conn = state.ctx.db.snapshot().await?;
    if !caller.may_read_message(&mut conn, &id).await? {
        return Err(ApiError::forbidden(caller.role));
    }
    let message = messages::get(&mut conn, &id).await?;
    let lead_only = !caller.may(Permission::ReadMessages);
    let items = conversation(&mut conn, &message, lead_only).await?;
    Ok(Json(json!({
        "message_id": message.id,
        "platform": message.platform,
        "thread_id": message.thread_id,
        "author": message.author,
        "items": items,
    })))
}

/// An author's profile: who they are, their messages on the platform with
/// what replyd made of each (newest first), and their open lead.
pub async fn author_profile(
    conn: &mut AnyConnection,
    platform: &Platform,
    author_id: &str,
    limit: u32,
) -> Result<Option<Value>, StoreError> {
    let messages = messages::by_author(conn, platform, author_id, limit).await?;
    let Some(newest) = messages.first() else {
        return Ok(None);
    };
    let count = messages::count_by_author(conn, platform, author_id).await?;
    let lead = leads::find_open(conn, platform, author_id, 0).await?;
    Ok(Some(json!({
        "platform": platform,
        "author": newest.summary.message.author,
        "message_count": count,
        "messages": messages,
        "lead": lead,
    })))
}

async fn get_author(
    State(state): State<AppState>,
    caller: Caller,
    Path((platform, author_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadMessages)?;
    let platform: Platform = platform
        .parse()
        .map_err(|_| ApiError::not_found("author"))?;
    let mut conn = state.ctx.db.snapshot().await?;
    author_profile(&mut conn, &platform, &author_id, 100)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("author"))
}

async fn export_corrections(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::Moderate)?;
    let mut conn = state.ctx.db.conn().await?;
    let examples = corrections::export(&mut conn).await?;
    let mut body = String::new();
    for example in &examples {
        body.push_str(&serde_json::to_string(example).expect("plain values serialize"));
        body.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"corrections.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}
