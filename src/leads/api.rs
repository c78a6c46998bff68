//! `/v1/leads`: the sales role reads and works its leads; the viewer reads.
//! Reviewers and ingest tokens have no access (leads hold contact details
//! that only sales needs).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::api::{cursor_param, next_cursor, ApiError, ApiJson, ApiQuery, AppState};
use crate::app::Ctx;
use crate::auth::{Caller, Permission};
use crate::domain::{LeadId, LeadStatus, Platform};
use crate::store::leads::{self, LeadFilter, StoredLead};
use crate::store::{audit, StoreError};

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

/// `2026-01-01` (midnight UTC) or an RFC 3339 time, as ms since the epoch.
pub fn parse_date(s: &str) -> Result<i64, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_millis()
        })
        .map_err(|_| "expected a date (2026-01-01) or an RFC 3339 time".to_owned())
}

/// The start of an export as people type it: `7d` (the last seven days),
/// `12h`, `today`, `yesterday` (from midnight UTC), a date or an RFC 3339
/// time. `now` is in milliseconds since the epoch.
pub fn parse_since(s: &str, now: i64) -> Result<i64, String> {
    let s = s.trim();
    let day = 86_400_000;
    let midnight = now - now.rem_euclid(day);
    match s {
        "today" => return Ok(midnight),
        "yesterday" => return Ok(midnight - day),
        _ => {}
    }
    let relative = |unit: char, millis: i64| {
        s.strip_suffix(unit)
            .and_then(|n| n.parse::<u32>().ok())
            .map(|n| now - i64::from(n) * millis)
    };
    if let Some(at) = relative('d', day).or_else(|| relative('h', 3_600_000)) {
        return Ok(at);
    }
    parse_date(s).map_err(|_| {
        "expected 7d, 12h, today, yesterday, a date (2026-01-01) or an RFC 3339 time".to_owned()
    })
}

/// The end of a range: a bare date includes that whole day (`until=2026-01-31`
/// means up to the end of January 31st), as people mean it; a time is exact.
pub fn parse_until(s: &str) -> Result<i64, String> {
    let at = parse_date(s)?;
    let bare_date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
    Ok(if bare_date { at + 86_400_000 } else { at })
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

/// Each lead with the text of the message it was detected in: sales reads
/// what the prospect wrote, not only who they are.
pub async fn with_source_text(
    conn: &mut sqlx::AnyConnection,
    items: Vec<StoredLead>,
) -> Result<Vec<(StoredLead, String)>, crate::store::StoreError> {
    let mut rows = Vec::with_capacity(items.len());
    for lead in items {
        let text = crate::store::messages::get(conn, &lead.message_id)
            .await
            .map(|m| m.text)
            .unwrap_or_default();
        rows.push((lead, text));
    }
    Ok(rows)
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

/// `null` clears a field; a missing field leaves it be.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A change to a lead, from the API or the console.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    pub status: Option<LeadStatus>,
    #[serde(default, deserialize_with = "present")]
    pub owner: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub notes: Option<Option<String>>,
}

const MAX_NOTES_CHARS: usize = 10_000;

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

/// Changes status, owner or notes, and writes the change to the audit log.
/// Moving a lead to `qualified` by hand hands it off like replyd would,
/// unless it was handed off before; `handed_off` itself is replyd's to set.
pub async fn update(
    ctx: &Ctx,
    id: &LeadId,
    patch: LeadPatch,
    actor: &str,
) -> Result<StoredLead, ApiError> {
    if patch.status == Some(LeadStatus::HandedOff) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "handed_off is set by replyd once every sales webhook took the lead",
        )
        .field("status"));
    }
    let too_long = |v: &Option<Option<String>>, max: usize| {
        v.as_ref()
            .and_then(|v| v.as_ref())
            .is_some_and(|s| s.chars().count() > max)
    };
    if too_long(&patch.owner, 200) {
        return Err(
            ApiError::bad_request("invalid_field", "at most 200 characters").field("owner"),
        );
    }
    if too_long(&patch.notes, MAX_NOTES_CHARS) {
        return Err(
            ApiError::bad_request("invalid_field", "at most 10,000 characters").field("notes"),
        );
    }
    crate::api::no_nul("owner", patch.owner.as_ref().and_then(|o| o.as_deref()))?;
    crate::api::no_nul("notes", patch.notes.as_ref().and_then(|n| n.as_deref()))?;
    let mut tx = ctx.db.begin_durable().await?;
    let before = leads::get(&mut tx, id).await?;
    let mut queued = false;
    if let Some(to) = patch.status.filter(|s| *s != before.status) {
        if !leads::transition(&mut tx, id, &[before.status], to).await? {
            return Err(
                StoreError::Conflict("the lead changed meanwhile; try again".into()).into(),
            );
        }
        let handed_off_before = !leads::deliveries(&mut tx, id).await?.is_empty();
        if to == LeadStatus::Qualified && !handed_off_before {
            queued = super::handoff::queue(&mut tx, &ctx.config.leads, id).await?;
        }
    }
    leads::set_owner_and_notes(
        &mut tx,
        id,
        patch.owner.as_ref().map(|o| o.as_deref()),
        patch.notes.as_ref().map(|n| n.as_deref()),
    )
    .await?;
    let after = leads::get(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        "lead.update",
        Some(id.as_str()),
        &json!({
            "before": {"status": before.status, "owner": before.owner, "notes": before.notes},
            "after": {"status": after.status, "owner": after.owner, "notes": after.notes},
        }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    if queued {
        ctx.wake.notify_one();
    }
    Ok(after)
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "created_at",
    "status",
    "score",
    "platform",
    "author_id",
    "author_name",
    "email",
    "website",
    "owner",
    "notes",
    "message_id",
    "thread_id",
    "lang",
    "reasons",
    "message_text",
];

/// One row per lead; times in RFC 3339, reasons joined by `; `.
pub fn to_csv(rows: &[(StoredLead, String)]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for (l, text) in rows {
        let created = chrono::DateTime::from_timestamp_millis(l.created_at)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        let fields = [
            l.id.to_string(),
            created,
            l.status.to_string(),
            format!("{:.3}", l.score),
            l.platform.to_string(),
            l.author_id.clone(),
            l.author_name.clone().unwrap_or_default(),
            l.email.clone().unwrap_or_default(),
            l.website.clone().unwrap_or_default(),
            l.owner.clone().unwrap_or_default(),
            l.notes.clone().unwrap_or_default(),
            l.message_id.to_string(),
            l.thread_id.clone().unwrap_or_default(),
            l.lang.map(|x| x.to_string()).unwrap_or_default(),
            l.reasons.join("; "),
            text.clone(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// Quotes every field, so a spreadsheet whose separator is `;` (the Dutch
/// and German default) still reads `a;=1+1` as one cell, not as `a` and a
/// formula. A field whose first visible character is `=`, `+`, `-` or `@`,
/// or that starts with a tab or carriage return, is prefixed with `'`: a
/// spreadsheet may skip leading blanks and line breaks and run the formula
/// behind them (OWASP's CSV injection list).
fn csv_field(value: &str) -> String {
    let formula = value
        .trim_start_matches([' ', '\n', '\u{a0}'])
        .starts_with(['=', '+', '-', '@', '\t', '\r']);
    let guarded = if formula {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_what_people_type() {
        // 2026-03-10T15:30:00Z
        let now = 1_773_156_600_000;
        let day = 86_400_000;
        assert_eq!(parse_since("7d", now), Ok(now - 7 * day));
        assert_eq!(parse_since("12h", now), Ok(now - 12 * 3_600_000));
        assert_eq!(parse_since("today", now), Ok(1_773_100_800_000));
        assert_eq!(parse_since("yesterday", now), Ok(1_773_100_800_000 - day));
        assert_eq!(parse_since("2026-03-01", now), parse_date("2026-03-01"));
        for bad in ["last week", "7 days", "-3d", ""] {
            let err = parse_since(bad, now).unwrap_err();
            assert!(
                err.contains("7d") && err.contains("yesterday"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn csv_cells_a_semicolon_spreadsheet_would_split_stay_one_cell() {
        assert_eq!(csv_field("a;=1+1"), "\"a;=1+1\"");
    }

    #[test]
    fn csv_formulas_behind_blanks_tabs_and_line_breaks_are_defused() {
        assert_eq!(csv_field("\t=1+1"), "\"'\t=1+1\"");
        assert_eq!(csv_field("\r=1+1"), "\"'\r=1+1\"");
        assert_eq!(csv_field("  =1+1"), "\"'  =1+1\"");
        assert_eq!(csv_field("\n\n@SUM(A1)"), "\"'\n\n@SUM(A1)\"");
        assert_eq!(csv_field("a\tb"), "\"a\tb\"");
        assert_eq!(csv_field("a -b"), "\"a -b\"");
    }

    #[test]
    fn dates_parse_as_days_or_times() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_date("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_date("yesterday").is_err());
        // A day given as the end of a range is included whole.
        assert_eq!(parse_until("1970-01-01").unwrap(), 86_400_000);
        assert_eq!(parse_until("1970-01-01T00:00:01Z").unwrap(), 1000);
    }
}
