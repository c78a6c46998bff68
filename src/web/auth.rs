//! Who is calling, read from the request: a bearer token, or else the
//! console session the session layer already resolved (and, for a
//! state-changing request, checked for CSRF). What a caller may do is
//! `crate::auth`'s to say.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{ApiError, AppState};
use crate::auth::{caller_for_token, Caller};

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
                ApiError::unauthorized("missing Authorization: Bearer token or console session")
            });
        };
        // The scheme's name is case-insensitive (RFC 7235): `bearer` too.
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("Authorization must be `Bearer <token>`"))?;
        let mut conn = state.ctx.db.conn().await?;
        caller_for_token(&mut conn, token)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))
    }
}
