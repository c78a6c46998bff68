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
    cursor_param, next_cursor, query_param, ApiError, ApiJson, ApiJsonOrEmpty, ApiQuery, AppState,
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
    let mut conn = state.ctx.db.conn().await?;
    let items = reviews::list(&mut conn, &filter).await?;
    let next = next_review_cursor(&filter, &items);
    Ok(Json(json!({ "items": items, "next_cursor": next })))
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
