//! Who is calling and what they may do: API tokens, console sessions, and
//! the one permission matrix both are checked against.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::api::{ApiError, AppState};
use crate::domain::Role;
use crate::store::tokens;

/// A fresh secret: 256 random bits, prefixed so it is recognisable in a
/// secret scanner.
pub fn generate_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// A fresh API token.
pub fn generate_token() -> String {
    generate_secret("rpd")
}

/// Tokens and session ids are 256 random bits, so a fast hash is enough
/// and a leaked table reveals none of them.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Everything a role can be allowed to do. [`Permission::granted_to`] is the
/// whole access policy of the API and the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Post messages to the generic ingestion API.
    PostMessages,
    /// The inbox, message pages and the dashboard.
    ReadMessages,
    /// The review queue, read only.
    ReadReviews,
    /// Approve, edit or reject held drafts.
    DecideReviews,
    /// Leads and the messages behind them, read only.
    ReadLeads,
    /// Change a lead's status, owner and notes.
    WorkLeads,
    /// The audit log of human actions.
    ReadAudit,
    /// Create and revoke API tokens.
    ManageTokens,
}

impl Permission {
    pub fn granted_to(self, role: Role) -> bool {
        use Permission::*;
        match role {
            Role::Admin => true,
            Role::Reviewer => matches!(self, ReadMessages | ReadReviews | DecideReviews),
            Role::Sales => matches!(self, ReadLeads | WorkLeads),
            // Reads what reviewers and sales read; changes nothing.
            Role::Viewer => matches!(self, ReadMessages | ReadReviews | ReadLeads),
            Role::Ingest => matches!(self, PostMessages),
        }
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Bearer <token>`: needs no CSRF token.
    Token,
    /// The console's session cookie; its state-changing requests carry the
    /// session's CSRF token (checked before any handler runs).
    Session { csrf: String },
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: String,
    pub name: String,
    pub role: Role,
    pub via: Via,
}

impl Caller {
    pub fn may(&self, permission: Permission) -> bool {
        permission.granted_to(self.role)
    }

    /// Refuses with 403 unless the caller's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(self.role))
        }
    }

    /// How the caller appears in the audit log.
    pub fn actor(&self) -> String {
        match self.via {
            Via::Token => format!("token:{}", self.name),
            Via::Session { .. } => format!("console:{}", self.name),
        }
    }
}

/// A bearer token, or else a console session the session layer already
/// resolved (and, for a state-changing request, checked for CSRF).
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
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
        let record = tokens::find_by_hash(&mut conn, &hash_token(token))
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        Ok(Caller {
            token_id: record.id,
            name: record.name,
            role: record.role,
            via: Via::Token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_see_the_audit_log_and_tokens() {
        for role in [Role::Reviewer, Role::Sales, Role::Viewer, Role::Ingest] {
            assert!(!Permission::ReadAudit.granted_to(role), "{role}");
            assert!(!Permission::ManageTokens.granted_to(role), "{role}");
        }
        assert!(Permission::ReadAudit.granted_to(Role::Admin));
    }

    #[test]
    fn viewers_change_nothing() {
        for p in [
            Permission::PostMessages,
            Permission::DecideReviews,
            Permission::WorkLeads,
        ] {
            assert!(!p.granted_to(Role::Viewer), "{p:?}");
        }
    }
}
