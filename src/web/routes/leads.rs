//! `/v1/leads`: the sales role reads and works its leads; the viewer reads.
//! Reviewers and ingest tokens have no access (leads hold contact details
//! that only sales needs).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Caller, Permission};
use crate::domain::{LeadId, LeadStatus, Platform};
use crate::leads::export::{parse_date, parse_until, to_csv, with_source_text};
use crate::leads::update::{update, LeadPatch};
use crate::store::leads::{self, LeadFilter};
use crate::web::{cursor_param, next_cursor, ApiError, ApiJson, ApiQuery, AppState};

/// Most leads one CSV export holds.
const MAX_EXPORT: u32 = 100_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/leads", get(list))
        .route("/v1/leads.csv", get(list_csv))
        .route("/v1/leads/{id}", get(get_one).patch(patch))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    platform: Option<String>,
    min_score: Option<f64>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn filter(q: ListQuery, default_limit: u32, max_limit: u32) -> Result<LeadFilter, ApiError> {
    let bad =
        |field: &str, message: String| ApiError::bad_request("invalid_query", message).field(field);
    let date = |field: &str, value: Option<String>, parse: fn(&str) -> Result<i64, String>| {
        value
            .map(|v| parse(&v))
            .transpose()
            .map_err(|m| bad(field, m))
    };
    if q.min_score.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
        return Err(bad("min_score", "must be between 0 and 1".into()));
    }
    Ok(LeadFilter {
        status: q
            .status
            .map(|s| s.parse::<LeadStatus>())
            .transpose()
            .map_err(|e| bad("status", e.message))?,
        platform: q
            .platform
            .map(|s| s.parse::<Platform>())
            .transpose()
            .map_err(|e| bad("platform", e.message))?,
        min_score: q.min_score,
        since: date("since", q.since, parse_date)?,
        until: date("until", q.until, parse_until)?,
        before: cursor_param(&q.cursor)?,
        limit: q.limit.unwrap_or(default_limit).clamp(1, max_limit),
    })
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadLeads)?;
    let filter = filter(query, 50, 500)?;
    let mut conn = state.ctx.db.conn().await?;
    let items = leads::list(&mut conn, &filter).await?;
    let next = next_cursor(&items, filter.limit, |l| (l.created_at, l.id.as_str()));
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

async fn list_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::ReadLeads)?;
    let filter = filter(query, MAX_EXPORT, MAX_EXPORT)?;
    let mut conn = state.ctx.db.conn().await?;
    let items = leads::list(&mut conn, &filter).await?;
    let rows = with_source_text(&mut conn, items).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leads.csv\"",
            ),
        ],
        to_csv(&rows),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadLeads)?;
    let id: LeadId = id.parse().map_err(|_| ApiError::not_found("lead"))?;
    let mut conn = state.ctx.db.conn().await?;
    let lead = leads::get(&mut conn, &id).await?;
    let messages = leads::messages(&mut conn, &id).await?;
    let deliveries = leads::deliveries(&mut conn, &id).await?;
    Ok(Json(json!({
        "lead": lead,
        "messages": messages,
        "deliveries": deliveries,
    })))
}

async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<LeadPatch>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::WorkLeads)?;
    let id: LeadId = id.parse().map_err(|_| ApiError::not_found("lead"))?;
    let lead = update(&state.ctx, &id, patch, &caller.actor()).await?;
    Ok(Json(json!({ "lead": lead })))
}
