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
