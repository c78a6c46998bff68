//! The sales board: leads by status, a lead's detail, and its changes.

use axum::extract::{Path, State};
use axum::response::Redirect;
use minijinja::context;
use serde::Serialize;

use super::{render, ConsoleError, FormFields, PageResult, QueryFields, User};
use crate::auth::Permission;
use crate::domain::{LeadId, LeadStatus};
use crate::leads::update::{update as update_lead, LeadPatch};
use crate::store::leads::{self, LeadFilter, StoredLead};
use crate::store::stats;
use crate::web::{query_param, ApiError, AppState};

/// Most leads the board shows per column.
const PER_COLUMN: u32 = 100;

#[derive(Serialize)]
struct Column {
    status: LeadStatus,
    leads: Vec<StoredLead>,
}

pub async fn board(
    State(state): State<AppState>,
    user: User,
    QueryFields(fields): QueryFields,
) -> PageResult {
    user.require(Permission::ReadLeads)?;
    let platform = fields.get("platform").map(str::to_owned);
    let min_score = fields
        .get("min_score")
        .map(|s| {
            s.parse::<f64>()
                .ok()
                .filter(|s| (0.0..=1.0).contains(s))
                .ok_or_else(|| {
                    ApiError::bad_request("invalid_query", "a score between 0 and 1")
                        .field("min_score")
                })
        })
        .transpose()?;
    let mut conn = state.ctx.db.conn().await?;
    let mut columns = Vec::new();
    for status in LeadStatus::ALL {
        let filter = LeadFilter {
            status: Some(*status),
            platform: query_param("platform", &platform)?,
            min_score,
            limit: PER_COLUMN,
            ..LeadFilter::default()
        };
        columns.push(Column {
            status: *status,
            leads: leads::list(&mut conn, &filter).await?,
        });
    }
    let export_query = {
        let mut export = form_urlencoded::Serializer::new(String::new());
        if let Some(p) = &platform {
            export.append_pair("platform", p);
        }
        if let Some(s) = min_score {
            export.append_pair("min_score", &s.to_string());
        }
        export.finish()
    };
    let platforms = stats::platforms(&mut conn).await?;
    render(
        "leads.html",
        context! {
            layout => user.layout("leads"),
            columns,
            platform,
            min_score,
            export_query,
            platforms,
            no_destination => state.ctx.config.leads.webhooks.is_empty(),
        },
    )
}

pub async fn detail(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> PageResult {
    user.require(Permission::ReadLeads)?;
    let id: LeadId = id.parse().map_err(|_| ApiError::not_found("lead"))?;
    let mut conn = state.ctx.db.conn().await?;
    let lead = leads::get(&mut conn, &id).await?;
    let messages = leads::messages(&mut conn, &id).await?;
    let deliveries = leads::deliveries(&mut conn, &id).await?;
    // Sales moves a lead anywhere but `handed_off`, which replyd sets.
    let statuses: Vec<LeadStatus> = LeadStatus::ALL
        .iter()
        .copied()
        .filter(|s| *s != LeadStatus::HandedOff || lead.status == LeadStatus::HandedOff)
        .collect();
    render(
        "lead.html",
        context! {
            layout => user.layout("leads"),
            lead,
            messages,
            deliveries,
            statuses,
            can_work => user.caller.may(Permission::WorkLeads),
        },
    )
}

pub async fn update(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Redirect, ConsoleError> {
    user.require(Permission::WorkLeads)?;
    let id: LeadId = id.parse().map_err(|_| ApiError::not_found("lead"))?;
    let status = form
        .get("status")
        .map(str::parse::<LeadStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_field", e.message).field("status"))?;
    // A form always sends both fields: empty clears them.
    let text = |name: &str| Some(form.get(name).map(str::to_owned));
    let patch = LeadPatch {
        status: status.filter(|s| *s != LeadStatus::HandedOff),
        owner: text("owner"),
        notes: text("notes"),
    };
    update_lead(&state.ctx, &id, patch, &user.caller.actor())
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to(&format!("/leads/{id}")))
}
