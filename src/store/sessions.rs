//! Console sessions. The cookie holds a 256-bit random id; the table holds
//! its hash, so a leaked table signs nobody in. A session dies with its
//! expiry, on sign-out, or when its token is revoked.

use sqlx::Row;

use super::{now_ms, AnyConnection, StoreError};
use crate::domain::Role;

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_id: String,
    pub name: String,
    pub role: Role,
    pub csrf: String,
}

pub async fn insert(
    conn: &mut AnyConnection,
    id_hash: &str,
    token_id: &str,
    csrf: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    // Signing in is a good moment to forget sessions that ran out.
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (id_hash, token_id, csrf, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(token_id)
    .bind(csrf)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The live session with this id hash, if it has not expired and its token
/// is not revoked.
pub async fn find(
    conn: &mut AnyConnection,
    id_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT s.token_id, t.name, t.role, s.csrf FROM sessions s \
         JOIN api_tokens t ON t.id = s.token_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND t.revoked_at IS NULL",
    )
    .bind(id_hash)
    .bind(now_ms())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(SessionRecord {
            token_id: r.try_get("token_id")?,
            name: r.try_get("name")?,
            role: r.try_get::<String, _>("role")?.parse()?,
            csrf: r.try_get("csrf")?,
        })
    })
    .transpose()
}

pub async fn delete(conn: &mut AnyConnection, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
