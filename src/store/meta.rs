//! What the Meta connector keeps and asks: page pauses, the pages' shared
//! call budgets, and the facts its platform rules need (a user's last DM,
//! earlier private replies).

use super::{now_ms, AnyConnection, StoreError};
use crate::domain::{ActionId, Platform};

/// Pauses `page_id` until `until_ms` unless it is already paused longer.
pub async fn pause(
    conn: &mut AnyConnection,
    page_id: &str,
    until_ms: i64,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO meta_pauses (page_id, paused_until, reason, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (page_id) DO UPDATE SET \
           reason = CASE WHEN excluded.paused_until > meta_pauses.paused_until \
                         THEN excluded.reason ELSE meta_pauses.reason END, \
           paused_until = CASE WHEN excluded.paused_until > meta_pauses.paused_until \
                         THEN excluded.paused_until ELSE meta_pauses.paused_until END, \
           updated_at = excluded.updated_at",
    )
    .bind(page_id)
    .bind(until_ms)
    .bind(reason)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The end of the page's pause (ms), when it is paused now.
pub async fn paused_until(
    conn: &mut AnyConnection,
    page_id: &str,
) -> Result<Option<i64>, StoreError> {
    let until: Option<i64> =
        sqlx::query_scalar("SELECT paused_until FROM meta_pauses WHERE page_id = $1")
            .bind(page_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(until.filter(|&t| t > now_ms()))
}

/// Takes the next call slot of `page_id` under a budget of one call per
/// `interval_us`, unless the page's schedule already runs past `latest_us`
/// (then `None`, and nothing changes). Returns the page's new schedule: the
/// slot taken is one interval before it. Idle time is not banked: a page
/// whose schedule lies in the past starts again from `now_us`. One
/// statement, so concurrent callers in any number of processes each get
/// their own slot (PostgreSQL locks the row for the upsert; SQLite has one
/// writer).
pub async fn reserve_call(
    conn: &mut AnyConnection,
    page_id: &str,
    now_us: i64,
    interval_us: i64,
    latest_us: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO meta_budgets (page_id, next_at_us) VALUES ($1, $2 + $3) \
         ON CONFLICT (page_id) DO UPDATE SET next_at_us = \
           CASE WHEN meta_budgets.next_at_us > $2 THEN meta_budgets.next_at_us ELSE $2 END + $3 \
         WHERE meta_budgets.next_at_us <= $4 \
         RETURNING next_at_us",
    )
    .bind(page_id)
    .bind(now_us)
    .bind(interval_us)
    .bind(latest_us)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The page's call schedule (see [`reserve_call`]), if it has one.
pub async fn call_schedule(
    conn: &mut AnyConnection,
    page_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT next_at_us FROM meta_budgets WHERE page_id = $1")
            .bind(page_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// When the author last wrote to the brand in this DM conversation (ms):
/// the platform's own time where it gave one, else when replyd received it.
pub async fn last_dm_from(
    conn: &mut AnyConnection,
    platform: &Platform,
    thread_id: &str,
    author_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT MAX(COALESCE(created_at, received_at)) FROM messages \
         WHERE platform = $1 AND thread_id = $2 AND author_id = $3 AND kind = 'dm'",
    )
    .bind(platform.as_str())
    .bind(thread_id)
    .bind(author_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Whether another action already sent (or may have sent) a private reply
/// to this comment: Meta allows one per comment.
pub async fn other_private_reply(
    conn: &mut AnyConnection,
    platform: &Platform,
    comment_id: &str,
    except: &ActionId,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM actions a JOIN messages m ON m.id = a.message_id \
         WHERE m.platform = $1 AND m.external_id = $2 AND a.kind IN ('private_reply', 'prequalify') \
         AND a.status IN ('sending', 'sent') AND a.id <> $3",
    )
    .bind(platform.as_str())
    .bind(comment_id)
    .bind(except.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// Whether replyd hid this comment (an Instagram comment it hid takes no
/// reply): its latest hide or unhide that went out is a hide.
pub async fn hidden_by_us(
    conn: &mut AnyConnection,
    platform: &Platform,
    comment_id: &str,
) -> Result<bool, StoreError> {
    let latest: Option<String> = sqlx::query_scalar(
        "SELECT a.kind FROM actions a JOIN messages m ON m.id = a.message_id \
         WHERE m.platform = $1 AND m.external_id = $2 AND a.kind IN ('hide', 'unhide') \
         AND a.status IN ('sending', 'sent') \
         ORDER BY COALESCE(a.sent_at, a.updated_at) DESC, a.id DESC LIMIT 1",
    )
    .bind(platform.as_str())
    .bind(comment_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(latest.as_deref() == Some("hide"))
}
