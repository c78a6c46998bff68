//! API tokens. Only a SHA-256 hash of each token is stored: tokens are 256
//! random bits, so a fast hash is enough and a leaked table reveals none.

use sqlx::Row;

use super::{now_ms, AnyConnection, StoreError};
use crate::domain::Role;

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
}

pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    role: Role,
    token_hash: &str,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(name)
    .bind(role.as_str())
    .bind(token_hash)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The live token with this hash, if any.
pub async fn find_by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(TokenRecord {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            role: r.try_get::<String, _>("role")?.parse()?,
        })
    })
    .transpose()
}

/// A token as the admin console lists it (never the token itself).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<TokenSummary>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, role, created_at, revoked_at FROM api_tokens \
         ORDER BY revoked_at IS NOT NULL, created_at DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenSummary {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get::<String, _>("role")?.parse()?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes a live token (its console sessions end with it); false if there
/// was none.
pub async fn revoke(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    let result =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(result.rows_affected() == 1)
}
