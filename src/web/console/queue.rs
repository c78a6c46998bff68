//! The review queue: held drafts with everything a reviewer needs to decide,
//! one at a time or in bulk.

use axum::extract::{Path, State};
use axum::response::Redirect;
use minijinja::context;
use serde::Serialize;

use super::{render, ConsoleError, FormFields, PageResult, QueryFields, User};
use crate::auth::Permission;
use crate::domain::{Flag, Intent, ReviewStatus, Sentiment};
use crate::review::{decide, ReviewError, Verdict};
use crate::store::messages::{self, StoredMessage};
use crate::store::reviews::{self, ReviewFilter, ReviewItem};
use crate::store::stats;
use crate::web::routes::reviews::{held_page, ReviewQuery};
use crate::web::{ApiError, AppState};

/// Earlier messages of the conversation shown above each item.
const CONTEXT_MESSAGES: u32 = 3;
/// Filters a decision returns to, in the order the form shows them.
const FILTER_KEYS: &[&str] = &[
    "platform",
    "intent",
    "sentiment",
    "flag",
    "older_than_hours",
];

#[derive(Serialize)]
struct QueueEntry {
    #[serde(flatten)]
    item: ReviewItem,
    context: Vec<StoredMessage>,
}

/// What the page says after a redirect: fixed texts chosen by a code, so a
/// link cannot put words of its own on the page.
fn notice_text(fields: &FormFields) -> Option<String> {
    let count = |key: &str| fields.get(key).and_then(|v| v.parse::<u32>().ok());
    let n = count("n").unwrap_or(1);
    let failed = match count("failed").unwrap_or(0) {
        0 => String::new(),
        f => format!(" {f} could not be (already decided?)."),
    };
    match fields.get("notice")? {
        "approved" => Some("Approved: the reply is on its way.".into()),
        "rejected" => Some("Rejected: nothing will be sent.".into()),
        "bulk_approved" => Some(format!("Approved {n}.{failed}")),
        "bulk_rejected" => Some(format!("Rejected {n}.{failed}")),
        _ => None,
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: User,
    QueryFields(fields): QueryFields,
) -> PageResult {
    user.require(Permission::ReadReviews)?;
    let query = ReviewQuery {
        platform: fields.owned("platform"),
        intent: fields.owned("intent"),
        sentiment: fields.owned("sentiment"),
        flag: fields.owned("flag"),
        older_than_hours: fields.owned("older_than_hours"),
        cursor: fields.owned("cursor"),
        ..ReviewQuery::default()
    };
    let filter = query.to_filter()?;
    let (items, next) = held_page(&state, &filter).await?;
    let mut conn = state.ctx.db.conn().await?;
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let context = match &item.thread_id {
            Some(thread) => {
                messages::thread_context(
                    &mut conn,
                    &item.platform,
                    thread,
                    item.received_at,
                    CONTEXT_MESSAGES,
                )
                .await?
            }
            None => Vec::new(),
        };
        entries.push(QueueEntry { item, context });
    }
    let recent = recently_decided(&mut conn).await?;
    let platforms = stats::platforms(&mut conn).await?;
    // Platforms whose actions only ever run dry: the page says so up top.
    let mut dry_platforms: Vec<String> = platforms
        .iter()
        .chain(entries.iter().map(|e| &e.item.platform))
        .filter(|p| {
            p.parse::<crate::domain::Platform>()
                .is_ok_and(|p| state.ctx.connectors.for_platform(&p).name() == "dry_run")
        })
        .cloned()
        .collect();
    dry_platforms.sort();
    dry_platforms.dedup();
    render(
        "queue.html",
        context! {
            layout => user.layout("queue"),
            can_decide => user.caller.may(Permission::DecideReviews),
            items => entries,
            recent,
            next_cursor => next,
            filters => filter_pairs(&query),
            return_to => return_query(&query),
            query,
            notice => notice_text(&fields),
            notice_message => fields.get("message"),
            platforms,
            dry_platforms,
            intents => Intent::ALL,
            sentiments => Sentiment::ALL,
            flags => Flag::ALL,
        },
    )
}

async fn recently_decided(
    conn: &mut crate::store::AnyConnection,
) -> Result<Vec<ReviewItem>, ConsoleError> {
    let mut recent = Vec::new();
    for status in [ReviewStatus::Approved, ReviewStatus::Rejected] {
        let mut filter = ReviewFilter::new(status);
        filter.limit = 8;
        recent.extend(reviews::list(conn, &filter).await?);
    }
    recent.sort_by_key(|d| std::cmp::Reverse(d.decided_at));
    recent.truncate(8);
    Ok(recent)
}

fn filter_pairs(query: &ReviewQuery) -> Vec<(&'static str, String)> {
    let value = |key: &str| match key {
        "platform" => query.platform.clone(),
        "intent" => query.intent.clone(),
        "sentiment" => query.sentiment.clone(),
        "flag" => query.flag.clone(),
        "older_than_hours" => query.older_than_hours.clone(),
        _ => None,
    };
    FILTER_KEYS
        .iter()
        .filter_map(|k| value(k).filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect()
}

/// The queue's current filters as a query string, for the way back.
fn return_query(query: &ReviewQuery) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in filter_pairs(query) {
        out.append_pair(k, &v);
    }
    out.finish()
}

/// Back to the queue with the filters the form came from (only known keys
/// survive) and a notice.
fn back_to_queue(form: &FormFields, notice: &[(&str, String)]) -> Redirect {
    let mut out = form_urlencoded::Serializer::new(String::new());
    let returned = form_urlencoded::parse(form.get("return").unwrap_or("").as_bytes());
    for (k, v) in returned {
        if FILTER_KEYS.contains(&k.as_ref()) {
            out.append_pair(&k, &v);
        }
    }
    for (k, v) in notice {
        out.append_pair(k, v);
    }
    Redirect::to(&format!("/queue?{}", out.finish()))
}

/// The API's wording, but for a race a person can act on.
fn to_console(e: ReviewError) -> ConsoleError {
    match e {
        ReviewError::NotHeld(_) => ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "not_held",
            "Someone already decided on this item.",
        )
        .into(),
        other => ApiError::from(other).into(),
    }
}

/// What the reviewer chose, from the button they pressed.
fn verdict(form: &FormFields, original: Option<&str>) -> Result<Verdict, ConsoleError> {
    match form.get("verdict") {
        Some("approve") => {
            // Sending the draft as it was is not an edit.
            let text = form
                .all("text")
                .first()
                .map(|t| t.replace("\r\n", "\n"))
                .filter(|t| Some(t.trim()) != original.map(str::trim));
            Ok(Verdict::Approve { text })
        }
        Some("reject") => match form.get("reason") {
            Some(reason) => Ok(Verdict::Reject {
                reason: reason.to_owned(),
            }),
            None => Err(
                ApiError::bad_request("missing_field", "A rejection needs a reason.")
                    .field("reason")
                    .into(),
            ),
        },
        _ => Err(ApiError::bad_request("invalid_field", "Approve or reject?")
            .field("verdict")
            .into()),
    }
}

pub async fn decide_one(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Redirect, ConsoleError> {
    user.require(Permission::DecideReviews)?;
    let item = {
        let mut conn = state.ctx.db.conn().await?;
        reviews::get(&mut conn, &id).await?
    };
    let verdict = verdict(&form, item.draft.as_deref())?;
    decide(&state.ctx, &id, &verdict, &user.caller.actor())
        .await
        .map_err(to_console)?;
    let notice = match verdict {
        Verdict::Approve { .. } => "approved",
        Verdict::Reject { .. } => "rejected",
    };
    Ok(back_to_queue(
        &form,
        &[("notice", notice.into()), ("message", item.message_id)],
    ))
}

pub async fn bulk(
    State(state): State<AppState>,
    user: User,
    form: FormFields,
) -> Result<Redirect, ConsoleError> {
    user.require(Permission::DecideReviews)?;
    let verdict = verdict(&form, None)?;
    let verdict = match verdict {
        // Bulk approval sends each draft as it stands.
        Verdict::Approve { .. } => Verdict::Approve { text: None },
        reject => reject,
    };
    let ids = form.all("ids");
    if ids.is_empty() {
        return Err(
            ApiError::bad_request("missing_field", "Select at least one item.")
                .field("ids")
                .into(),
        );
    }
    let (mut done, mut failed) = (0u32, 0u32);
    for id in ids {
        match decide(&state.ctx, id, &verdict, &user.caller.actor()).await {
            Ok(()) => done += 1,
            Err(ReviewError::Store(e)) => return Err(e.into()),
            Err(_) => failed += 1,
        }
    }
    let notice = match verdict {
        Verdict::Approve { .. } => "bulk_approved",
        Verdict::Reject { .. } => "bulk_rejected",
    };
    Ok(back_to_queue(
        &form,
        &[
            ("notice", notice.into()),
            ("n", done.to_string()),
            ("failed", failed.to_string()),
        ],
    ))
}
