//! `/v1/reviews`: the review queue's API, for the console and for scripts.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Caller, Permission};
use crate::domain::ReviewStatus;
use crate::review::{decide, ReviewError, Verdict};
use crate::store::reviews::{self, ReviewFilter, ReviewItem};
use crate::web::{
    cursor_param, encode_cursor, next_cursor, query_param, ApiError, ApiJson, ApiJsonOrEmpty,
    ApiQuery, AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/reviews", get(list))
        .route("/v1/reviews/approve", post(approve_many))
        .route("/v1/reviews/reject", post(reject_many))
        .route("/v1/reviews/{id}/approve", post(approve))
        .route("/v1/reviews/{id}/reject", post(reject))
}

/// The queue's filters, shared by the API and the console's queue page.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    pub status: Option<String>,
    pub platform: Option<String>,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub flag: Option<String>,
    /// Only items waiting at least this many hours.
    pub older_than_hours: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl ReviewQuery {
    /// Empty fields (as a form sends them) count as absent.
    pub fn to_filter(&self) -> Result<ReviewFilter, ApiError> {
        let status = query_param("status", &self.status)?.unwrap_or(ReviewStatus::Held);
        let hours: Option<f64> = self
            .older_than_hours
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| v.parse::<f64>().ok().filter(|h| h.is_finite() && *h >= 0.0))
            .map(|h| {
                h.ok_or_else(|| {
                    ApiError::bad_request("invalid_query", "a number of hours, 0 or more")
                        .field("older_than_hours")
                })
            })
            .transpose()?;
        Ok(ReviewFilter {
            status,
            platform: query_param("platform", &self.platform)?,
            intent: query_param("intent", &self.intent)?,
            sentiment: query_param("sentiment", &self.sentiment)?,
            flag: query_param("flag", &self.flag)?,
            min_age_ms: hours.map(|h| (h * 3_600_000.0) as i64),
            after: cursor_param(&self.cursor)?,
            limit: self.limit.unwrap_or(50).clamp(1, 500),
        })
    }
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ReviewQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadReviews)?;
    let filter = query.to_filter()?;
    let (items, next) = if filter.status == ReviewStatus::Held {
        held_page(&state, &filter).await?
    } else {
        let mut conn = state.ctx.db.conn().await?;
        let items = reviews::list(&mut conn, &filter).await?;
        let next = next_review_cursor(&filter, &items);
        (items, next)
    };
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

/// Most held items the queue orders at once.
const QUEUE_MAX: u32 = 5000;

/// One page of the held items the filter matches, in the queue's order:
/// urgent flags first (self-harm, legal, press, threat), then other risk
/// flags, then the least time left against `[sla]`, then the longest held.
pub async fn held_page(
    state: &AppState,
    filter: &ReviewFilter,
) -> Result<(Vec<ReviewItem>, Option<String>), ApiError> {
    let mut conn = state.ctx.db.conn().await?;
    let items = reviews::held_unpaged(&mut conn, filter, QUEUE_MAX).await?;
    order_held(items, &state.ctx.config.sla, filter, crate::store::now_ms())
}

type QueueKey = (u8, i64, i64, String);

/// Ranks, orders and pages held items; each gets its `priority`, `due_at`
/// and `overdue`. The cursor is the last item's sort key, which depends on
/// stored times only, so pages stay put as the clock runs.
pub fn order_held(
    items: Vec<ReviewItem>,
    sla: &crate::config::SlaConfig,
    filter: &ReviewFilter,
    now: i64,
) -> Result<(Vec<ReviewItem>, Option<String>), ApiError> {
    use crate::review::sla::{sort_key, standing, Hours};
    // Checked at start: a configuration that does not parse never runs.
    let hours = sla
        .business_hours
        .as_ref()
        .and_then(|h| Hours::parse(h).ok());
    let mut keyed: Vec<(QueueKey, ReviewItem)> = items
        .into_iter()
        .map(|mut item| {
            let s = standing(
                sla,
                hours.as_ref(),
                &item.platform,
                &item.flags,
                item.message_created_at,
                item.received_at,
                now,
            );
            item.priority = Some(s.priority);
            item.due_at = Some(s.due_at);
            item.overdue = Some(s.overdue);
            (sort_key(&s, item.created_at, &item.id), item)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some((due, rest)) = &filter.after {
        let after = held_cursor(*due, rest)?;
        keyed.retain(|(k, _)| *k > after);
    }
    let limit = filter.limit.max(1) as usize;
    let more = keyed.len() > limit;
    keyed.truncate(limit);
    let next = keyed
        .last()
        .filter(|_| more)
        .map(|(k, _)| encode_cursor(k.1, &format!("{}|{}|{}", k.0, k.2, k.3)));
    Ok((keyed.into_iter().map(|(_, item)| item).collect(), next))
}

fn held_cursor(due: i64, rest: &str) -> Result<QueueKey, ApiError> {
    let invalid = || {
        ApiError::bad_request("invalid_query", "cursor is not one this API gave").field("cursor")
    };
    let mut parts = rest.splitn(3, '|');
    let rank = parts
        .next()
        .and_then(|r| r.parse().ok())
        .ok_or_else(invalid)?;
    let held = parts
        .next()
        .and_then(|h| h.parse().ok())
        .ok_or_else(invalid)?;
    let id = parts.next().ok_or_else(invalid)?;
    Ok((rank, due, held, id.to_owned()))
}

/// The queue pages by when items were held; decided items by the decision.
pub fn next_review_cursor(filter: &ReviewFilter, items: &[ReviewItem]) -> Option<String> {
    next_cursor(items, filter.limit, |item| {
        let at = match filter.status {
            ReviewStatus::Held => item.created_at,
            _ => item.decided_at.unwrap_or(item.created_at),
        };
        (at, item.id.as_str())
    })
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

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    // Refused in this order: who may decide, then what was sent.
    body: Result<ApiJsonOrEmpty<ApproveBody>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::DecideReviews)?;
    let ApiJsonOrEmpty(body) = body?;
    decide(
        &state.ctx,
        &id,
        &Verdict::Approve { text: body.text },
        &caller.actor(),
    )
    .await?;
    Ok(Json(json!({ "id": id, "status": "approved" })))
}

async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::DecideReviews)?;
    decide(
        &state.ctx,
        &id,
        &Verdict::Reject {
            reason: body.reason,
        },
        &caller.actor(),
    )
    .await?;
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
        results.push(result_of(id, outcome));
    }
    Json(json!({ "results": results }))
}

/// One id's line in a bulk answer, worded as a single call's error would be.
fn result_of(id: &str, outcome: Result<(), ReviewError>) -> serde_json::Value {
    match outcome.map_err(ApiError::from) {
        Ok(()) => json!({ "id": id, "ok": true }),
        Err(e) => json!({ "id": id, "ok": false, "code": e.body.code, "error": e.body.message }),
    }
}

async fn approve_many(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ManyBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::DecideReviews)?;
    Ok(many(&state, &caller, &body.ids, Verdict::Approve { text: None }).await)
}

async fn reject_many(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ManyBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::DecideReviews)?;
    let verdict = Verdict::Reject {
        reason: body.reason.unwrap_or_default(),
    };
    // Refused once for the whole request, not once per id.
    verdict.validate()?;
    Ok(many(&state, &caller, &body.ids, verdict).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn a_bulk_result_never_carries_a_storage_error() {
        let outcome = Err(ReviewError::Store(StoreError::Database(
            sqlx::Error::Protocol("relation reviews_secret does not exist".into()),
        )));
        let line = result_of("r1", outcome).to_string();
        assert!(!line.contains("reviews_secret"), "{line}");
        assert!(!line.contains("database"), "{line}");
        assert!(line.contains("internal error"), "{line}");
        let refused = result_of("r2", Err(ReviewError::NotHeld("r2".into())));
        assert_eq!(refused["code"], "not_held");
        assert_eq!(result_of("r3", Ok(()))["ok"], true);
    }
}
