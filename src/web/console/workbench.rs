//! The reviewer's workbench on the message page: the conversation with the
//! brand's replies, the author's panel, the moderation buttons and reply
//! form, and the correction form. The forms post here; a refusal is shown
//! on the page itself with its reason, a done action by a redirect back
//! to the page, which reads what came of it from the action.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::{ConsoleError, FormFields, User};
use crate::auth::Permission;
use crate::domain::{ActionId, ActionStatus, Flag, Intent, Lang, MessageId, Sentiment};
use crate::draft::DraftContext;
use crate::store::context::{self, Note};
use crate::store::messages::StoredMessage;
use crate::store::{actions, tokens, AnyConnection};
use crate::web::routes::workbench::{author_profile, conversation, Turn};
use crate::web::{ApiError, AppState};
use crate::workbench::context as wb_context;
use crate::workbench::{self, ActionRequest, CorrectionRequest, WorkbenchError, MANUAL_KINDS};

/// What a form came to, as the page says it: `ok`, `warn` (recorded but
/// not sent, or not sent yet) or `error`.
#[derive(Debug, Serialize)]
pub struct Notice {
    level: &'static str,
    text: String,
}

/// One moderation button: its kind, and why it is disabled, if it is.
#[derive(Debug, Serialize)]
struct Button {
    kind: &'static str,
    label: String,
    refused: Option<String>,
}

/// A saved reply offered in the reply form, its text filled in for the
/// message (or the reason it could not be).
#[derive(Debug, Serialize)]
struct Saved {
    name: String,
    text: String,
}

/// Everything the workbench adds to the message page.
#[derive(Debug, Serialize)]
pub struct Panel {
    conversation: Vec<Turn>,
    author: Option<serde_json::Value>,
    can_moderate: bool,
    buttons: Vec<Button>,
    replies: Vec<Button>,
    dry_run: bool,
    /// Owner and labels, the team's notes, who may own a message, and the
    /// saved replies in the message's language, rendered for it.
    owner: Option<String>,
    labels: Vec<String>,
    notes: Vec<Note>,
    users: Vec<String>,
    saved: Vec<Saved>,
    intents: &'static [Intent],
    sentiments: &'static [Sentiment],
    flags: &'static [Flag],
}

pub async fn panel(
    state: &AppState,
    user: &User,
    conn: &mut AnyConnection,
    message: &StoredMessage,
) -> Result<Panel, ConsoleError> {
    let reads_all = user.caller.may(Permission::ReadMessages);
    let conversation = conversation(conn, message, !reads_all).await?;
    let author = if reads_all {
        author_profile(conn, &message.platform, &message.author.id, 10).await?
    } else {
        None
    };
    let can_moderate = user.caller.may(Permission::Moderate);
    let (mut buttons, mut replies) = (Vec::new(), Vec::new());
    if can_moderate {
        for kind in MANUAL_KINDS {
            let button = Button {
                kind: kind.as_str(),
                label: label(kind.as_str()),
                refused: workbench::refusal(&state.ctx, *kind, message),
            };
            if kind.carries_text() {
                replies.push(button);
            } else {
                buttons.push(button);
            }
        }
    }
    let context = context::get(conn, &message.id).await?;
    let notes = context::notes(conn, &message.id).await?;
    let (mut users, mut saved) = (Vec::new(), Vec::new());
    if can_moderate {
        for token in tokens::list(conn).await? {
            if token.revoked_at.is_none() && !users.contains(&token.name) {
                users.push(token.name);
            }
        }
        users.sort();
        let lang = message
            .lang
            .as_deref()
            .and_then(Lang::from_tag)
            .unwrap_or(Lang::En);
        let draft_ctx = DraftContext {
            author_name: message.author.name.as_deref(),
            platform: &message.platform,
            kind: message.kind,
            seed: message.id.as_str(),
            answer: None,
            message_text: &message.text,
        };
        for reply in context::saved_replies(conn, Some(lang)).await? {
            let text = state
                .ctx
                .drafter
                .templates
                .render_saved(&reply.text, &draft_ctx)
                .unwrap_or(reply.text);
            saved.push(Saved {
                name: reply.name,
                text,
            });
        }
    }
    Ok(Panel {
        conversation,
        author,
        can_moderate,
        buttons,
        replies,
        owner: context.owner,
        labels: context.labels,
        notes,
        users,
        saved,
        dry_run: workbench::dry_run(&state.ctx, message),
        intents: Intent::ALL,
        sentiments: Sentiment::ALL,
        flags: Flag::ALL,
    })
}

fn label(kind: &str) -> String {
    let words = kind.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// What the page says after a redirect: read from the action (or the
/// correction) the query names, never from words in the link.
pub async fn notice(
    state: &AppState,
    message_id: &MessageId,
    fields: &FormFields,
) -> Result<Option<Notice>, ConsoleError> {
    if fields.get("context").is_some() {
        return Ok(Some(Notice {
            level: "ok",
            text: "Owner and labels saved.".into(),
        }));
    }
    if fields.get("noted").is_some() {
        return Ok(Some(Notice {
            level: "ok",
            text: "Note added. Notes stay inside replyd: nothing was sent.".into(),
        }));
    }
    if fields.get("corrected").is_some() {
        return Ok(Some(Notice {
            level: "ok",
            text: "Correction saved: it shows beside the model's reading and is kept as a labelled example.".into(),
        }));
    }
    let Some(done) = fields.get("done").and_then(|d| d.parse::<ActionId>().ok()) else {
        return Ok(None);
    };
    let mut conn = state.ctx.db.conn().await?;
    let action = match actions::get(&mut conn, &done).await {
        Ok(action) if &action.message_id == message_id => action,
        _ => return Ok(None),
    };
    let what = label(action.kind.as_str());
    let why = action.last_error.as_deref().unwrap_or("no reason given");
    let (level, text) = match action.status {
        ActionStatus::Sent => ("ok", format!("{what}: sent.")),
        ActionStatus::DryRun => (
            "warn",
            format!("{what}: recorded as a dry run. No connector is configured for this platform, so nothing was sent."),
        ),
        ActionStatus::Skipped => ("error", format!("{what}: the platform's rules refuse this: {why}")),
        ActionStatus::Failed => ("error", format!("{what}: sending failed: {why}")),
        _ => ("warn", format!("{what}: not sent yet; delivery goes on (reload to see).")),
    };
    Ok(Some(Notice { level, text }))
}

/// A refusal shown on the page, with the status it deserves; what is not a
/// refusal of the request (unknown message, storage) gets the error page.
async fn refused(
    state: &AppState,
    user: &User,
    id: &str,
    error: WorkbenchError,
    reply_text: Option<String>,
) -> Result<Response, ConsoleError> {
    let error = ApiError::from(error);
    let shown_inline = matches!(
        error.status,
        StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
    );
    let Some(id) = id.parse::<MessageId>().ok().filter(|_| shown_inline) else {
        return Err(error.into());
    };
    let notice = Notice {
        level: "error",
        text: format!("Not done: {}", error.body.message),
    };
    let page = super::pages::message_page(state, user, &id, Some(notice), reply_text).await?;
    Ok((error.status, page).into_response())
}

pub async fn act(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Response, ConsoleError> {
    user.require(Permission::Moderate)?;
    let text = form
        .all("text")
        .first()
        .map(|t| t.to_string())
        .filter(|t| !t.trim().is_empty());
    let request = ActionRequest {
        kind: form.owned("kind").unwrap_or_default(),
        text: text.clone(),
    };
    match workbench::act(
        &state.ctx,
        &id,
        &request,
        &user.caller.actor(),
        workbench::WAIT_FOR_DELIVERY,
    )
    .await
    {
        Ok(action) => Ok(Redirect::to(&format!(
            "/messages/{}?done={}#workbench",
            action.message_id, action.id
        ))
        .into_response()),
        Err(e) => refused(&state, &user, &id, e, text).await,
    }
}

pub async fn correct(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Response, ConsoleError> {
    user.require(Permission::Moderate)?;
    let request = CorrectionRequest {
        intent: form.owned("intent"),
        sentiment: form.owned("sentiment"),
        // The form always says which flags hold, none checked included.
        flags: form
            .get("flags_given")
            .map(|_| form.all("flags").iter().map(|f| f.to_string()).collect()),
    };
    match workbench::correct(&state.ctx, &id, &request, &user.caller.actor()).await {
        Ok(correction) => Ok(Redirect::to(&format!(
            "/messages/{}?corrected=1#classification",
            correction.message_id
        ))
        .into_response()),
        Err(e) => refused(&state, &user, &id, e, None).await,
    }
}

/// The owner select and the labels field (comma-separated).
pub async fn set_context(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Response, ConsoleError> {
    user.require(Permission::Moderate)?;
    let patch = wb_context::ContextPatch {
        owner: Some(form.owned("owner").filter(|o| !o.trim().is_empty())),
        labels: Some(
            form.owned("labels")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
    };
    match wb_context::set_context(&state.ctx, &id, &patch, &user.caller.actor()).await {
        Ok(_) => Ok(Redirect::to(&format!("/messages/{id}?context=1#context")).into_response()),
        Err(e) => refused(&state, &user, &id, e, None).await,
    }
}

pub async fn add_note(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Response, ConsoleError> {
    user.require(Permission::Moderate)?;
    let text = form.owned("text").unwrap_or_default();
    match wb_context::add_note(&state.ctx, &id, &text, &user.caller.actor()).await {
        Ok(note) => Ok(
            Redirect::to(&format!("/messages/{}?noted=1#notes", note.message_id)).into_response(),
        ),
        Err(e) => refused(&state, &user, &id, e, None).await,
    }
}
