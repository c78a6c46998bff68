//! The inbox, a message's timeline, the dashboard, and the admin pages.

use axum::extract::{Path, State};
use axum::response::{Html, Redirect};
use minijinja::context;
use serde::Serialize;

use super::{render, ConsoleError, FormFields, PageResult, QueryFields, User};
use crate::auth::{generate_token, hash_token, Permission};
use crate::domain::{Intent, MessageId, Role, Stage};
use crate::store::{actions, audit, leads, messages, reviews, stats, tokens};
use crate::web::routes::messages::MessageQuery;
use crate::web::{next_cursor, ApiError, AppState};

pub async fn inbox(
    State(state): State<AppState>,
    user: User,
    QueryFields(fields): QueryFields,
) -> PageResult {
    user.require(Permission::ReadMessages)?;
    let query = MessageQuery {
        status: fields.owned("status"),
        platform: fields.owned("platform"),
        intent: fields.owned("intent"),
        q: fields.owned("q"),
        label: fields.owned("label"),
        owner: fields.owned("owner"),
        cursor: fields.owned("cursor"),
        limit: None,
    };
    let filter = query.to_filter()?;
    let mut conn = state.ctx.db.conn().await?;
    let items = messages::list(&mut conn, &filter).await?;
    let next = next_cursor(&items, filter.limit, |m| {
        (m.message.received_at, m.message.id.as_str())
    })
    .map(|cursor| {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &query.status),
            ("platform", &query.platform),
            ("intent", &query.intent),
            ("label", &query.label),
            ("owner", &query.owner),
            ("q", &query.q),
        ] {
            if let Some(v) = v {
                out.append_pair(k, v);
            }
        }
        out.append_pair("cursor", &cursor);
        out.finish()
    });
    render(
        "inbox.html",
        context! {
            layout => user.layout("inbox"),
            items,
            query,
            next,
            platforms => stats::platforms(&mut conn).await?,
            intents => Intent::ALL,
            stages => Stage::ALL,
        },
    )
}

/// One moment in a message's life.
#[derive(Serialize)]
struct Event {
    at: i64,
    what: String,
    detail: Option<String>,
    status: Option<String>,
}

pub async fn message(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    QueryFields(fields): QueryFields,
) -> PageResult {
    let id: MessageId = id.parse().map_err(|_| ApiError::not_found("message"))?;
    let notice = super::workbench::notice(&state, &id, &fields).await?;
    message_page(&state, &user, &id, notice, None).await
}

/// The message page, with what a workbench form came to (`notice`) and the
/// reply text to keep in its field after a refusal.
pub(super) async fn message_page(
    state: &AppState,
    user: &User,
    id: &MessageId,
    notice: Option<super::workbench::Notice>,
    reply_text: Option<String>,
) -> PageResult {
    let id = id.clone();
    // One snapshot: the parts below must agree with each other.
    let mut conn = state.ctx.db.snapshot().await?;
    if !user.caller.may_read_message(&mut conn, &id).await? {
        return Err(ConsoleError::Forbidden(user.caller.role));
    }
    let message = messages::get(&mut conn, &id).await?;
    let classification = messages::classification(&mut conn, &id).await?;
    let classified_at = messages::classified_at(&mut conn, &id).await?;
    let decision = messages::decision(&mut conn, &id).await?;
    let actions = actions::for_message(&mut conn, &id).await?;
    // Sales opens a lead's message, not the review queue's notes on it...
    let reviews = if user.caller.may(Permission::ReadReviews) {
        reviews::for_message(&mut conn, &id).await?
    } else {
        Vec::new()
    };
    let lead = leads::for_message(&mut conn, &id).await?;
    let mut context = match &message.thread_id {
        Some(thread) => {
            messages::thread_context(
                &mut conn,
                message.platform.as_str(),
                thread,
                message.received_at,
                5,
            )
            .await?
        }
        None => Vec::new(),
    };
    // ...nor the other customers' messages around it: only those behind a
    // lead, as for any message it opens.
    if !user.caller.may(Permission::ReadMessages) {
        let mut visible = Vec::with_capacity(context.len());
        for m in context {
            if leads::for_message(&mut conn, &m.id).await?.is_some() {
                visible.push(m);
            }
        }
        context = visible;
    }

    let mut timeline = vec![Event {
        at: message.received_at,
        what: format!("Received through {}", message.source),
        detail: None,
        status: None,
    }];
    if let (Some(c), Some(at)) = (&classification, classified_at) {
        timeline.push(Event {
            at,
            what: format!("Classified by {}", c.classifier),
            detail: Some(format!(
                "{} ({:.0}%), {}",
                c.intent.label,
                c.intent.confidence() * 100.0,
                c.sentiment.label
            )),
            status: None,
        });
    }
    if let Some(d) = &decision {
        timeline.push(Event {
            at: d.created_at,
            what: "Decided".into(),
            detail: Some(d.summary.clone()),
            status: None,
        });
    }
    for a in &actions {
        timeline.push(Event {
            at: a.created_at,
            what: format!("Planned: {}", a.kind.as_str().replace('_', " ")),
            detail: a.text.clone(),
            status: Some(a.status.as_str().into()),
        });
        if let Some(sent) = a.sent_at {
            timeline.push(Event {
                at: sent,
                // A dry run was recorded, never sent: it does not read as
                // delivered.
                what: if a.status == crate::domain::ActionStatus::DryRun {
                    format!("Dry run, not sent: {}", a.kind.as_str().replace('_', " "))
                } else {
                    format!("Delivered: {}", a.kind.as_str().replace('_', " "))
                },
                detail: a.external_ref.clone().map(|r| format!("platform id {r}")),
                status: Some(a.status.as_str().into()),
            });
        } else if a.status.is_final() && a.updated_at > a.created_at {
            timeline.push(Event {
                at: a.updated_at,
                what: format!("{}: {}", a.status, a.kind.as_str().replace('_', " ")),
                detail: a.last_error.clone(),
                status: Some(a.status.as_str().into()),
            });
        }
    }
    for r in &reviews {
        if let Some(at) = r.decided_at {
            timeline.push(Event {
                at,
                what: format!(
                    "Review {} by {}",
                    r.status,
                    r.reviewer.as_deref().unwrap_or("?")
                ),
                detail: r.note.clone(),
                status: None,
            });
        }
    }
    timeline.sort_by_key(|e| e.at);
    let bench = super::workbench::panel(state, user, &mut conn, &message).await?;
    let corrections = crate::store::corrections::for_message(&mut conn, &id).await?;
    let dry_run = crate::workbench::dry_run(&state.ctx, &message);
    render(
        "message.html",
        context! {
            dry_run,
            notice,
            reply_text,
            bench,
            correction => crate::store::corrections::merged(&corrections),
            layout => user.layout(if user.caller.may(Permission::ReadMessages) { "inbox" } else { "leads" }),
            message,
            classification,
            decision,
            actions,
            reviews,
            lead,
            context,
            timeline,
            can_review => user.caller.may(Permission::ReadReviews),
        },
    )
}

pub async fn dashboard(
    State(state): State<AppState>,
    user: User,
    QueryFields(fields): QueryFields,
) -> PageResult {
    user.require(Permission::ReadMessages)?;
    let days = match fields.get("days") {
        None => 7,
        Some(d) => d
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=90).contains(d))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_query", "days is a whole number from 1 to 90")
                    .field("days")
            })?,
    };
    let since = stats::since_days(days);
    let mut conn = state.ctx.db.conn().await?;
    let volume = stats::volume(&mut conn, since).await?;
    let response_times = stats::response_times(&mut conn, since).await?;
    let held = stats::held(&mut conn).await?;
    let (failed_total, failures) = stats::failures(&mut conn, since, 20).await?;
    render(
        "dashboard.html",
        context! {
            layout => user.layout("dashboard"),
            days,
            volume,
            response_times,
            held,
            failed_total,
            failures,
        },
    )
}

pub async fn audit(
    State(state): State<AppState>,
    user: User,
    QueryFields(fields): QueryFields,
) -> PageResult {
    user.require(Permission::ReadAudit)?;
    let before = crate::web::cursor_param(&fields.owned("before"))?;
    let mut conn = state.ctx.db.conn().await?;
    let entries = audit::page(&mut conn, before, 100).await?;
    let next = next_cursor(&entries, 100, |e| (e.at, e.id.as_str()));
    render(
        "audit.html",
        context! {
            layout => user.layout("audit"),
            entries => super::audit_log::rows(entries),
            next,
        },
    )
}

pub async fn tokens(State(state): State<AppState>, user: User) -> PageResult {
    tokens_page(&state, &user, None).await
}

async fn tokens_page(
    state: &AppState,
    user: &User,
    created: Option<(String, String)>,
) -> PageResult {
    user.require(Permission::ManageTokens)?;
    let mut conn = state.ctx.db.conn().await?;
    let list = tokens::list(&mut conn).await?;
    render(
        "tokens.html",
        context! {
            layout => user.layout("tokens"),
            tokens => list,
            roles => Role::ALL,
            created,
        },
    )
}

/// Creates a token and shows it once; only its hash is kept.
pub async fn create_token(
    State(state): State<AppState>,
    user: User,
    form: FormFields,
) -> Result<Html<String>, ConsoleError> {
    user.require(Permission::ManageTokens)?;
    let name = form
        .get("name")
        .filter(|n| n.chars().count() <= 100)
        .ok_or_else(|| {
            ApiError::bad_request("invalid_field", "a name of 1 to 100 characters").field("name")
        })?
        .to_owned();
    let role: Role =
        form.get("role")
            .unwrap_or_default()
            .parse()
            .map_err(|e: crate::domain::ParseError| {
                ApiError::bad_request("invalid_field", e.message).field("role")
            })?;
    let token = generate_token();
    let mut tx = state.ctx.db.begin_durable().await?;
    let id = tokens::insert(&mut tx, &name, role, &hash_token(&token)).await?;
    audit::record(
        &mut tx,
        &user.caller.actor(),
        "token.create",
        Some(&id),
        &serde_json::json!({ "name": name, "role": role }),
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    tokens_page(&state, &user, Some((name, token))).await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> Result<Redirect, ConsoleError> {
    user.require(Permission::ManageTokens)?;
    let mut tx = state.ctx.db.begin_durable().await?;
    if !tokens::revoke(&mut tx, &id).await? {
        return Err(ApiError::not_found("live token").into());
    }
    audit::record(
        &mut tx,
        &user.caller.actor(),
        "token.revoke",
        Some(&id),
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(Redirect::to("/tokens"))
}
