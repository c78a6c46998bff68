//! The audit log: who did what to which record, never rewritten.

use serde::Serialize;
use sqlx::Row;

use super::{now_ms, to_json, AnyConnection, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
}

pub async fn record(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    target: Option<&str>,
    details: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(to_json(details))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Newest first, before `(at, id)` when paging back.
pub async fn page(
    conn: &mut AnyConnection,
    before: Option<(i64, String)>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let (at, id) = before.unwrap_or((i64::MAX, String::new()));
    let rows = sqlx::query(&format!(
        "SELECT id, at, actor, action, target, details FROM audit_log \
         WHERE at < $1 OR (at = $1 AND ($2 = '' OR id < $2)) ORDER BY at DESC, id DESC LIMIT {}",
        limit.clamp(1, 500)
    ))
    .bind(at)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                details: serde_json::from_str(&r.try_get::<String, _>("details")?)?,
            })
        })
        .collect()
}
