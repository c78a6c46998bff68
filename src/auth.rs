//! Who is calling and what they may do: API tokens, console sessions, and
//! the one permission matrix both are checked against.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::{MessageId, Role};
use crate::store::{tokens, AnyConnection, StoreError};

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
    /// Act on a message by hand (like, hide, reply...) and correct the
    /// model's reading of it: the reviewer's workbench.
    Moderate,
    /// Write the brand's saved replies (reviewers read them with
    /// `Moderate`, since they use them to reply).
    ManageSavedReplies,
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
            Role::Reviewer => {
                matches!(self, ReadMessages | ReadReviews | DecideReviews | Moderate)
            }
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

    /// Refuses unless the caller's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), Forbidden> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(Forbidden { role: self.role })
        }
    }

    /// Reviewers and viewers read every message; sales only those behind a
    /// lead, since that is all their work needs of customers' words.
    pub async fn may_read_message(
        &self,
        conn: &mut AnyConnection,
        id: &MessageId,
    ) -> Result<bool, StoreError> {
        if self.may(Permission::ReadMessages) {
            return Ok(true);
        }
        if !self.may(Permission::ReadLeads) {
            return Ok(false);
        }
        Ok(crate::store::leads::for_message(conn, id).await?.is_some())
    }

    /// How the caller appears in the audit log.
    pub fn actor(&self) -> String {
        match self.via {
            Via::Token => format!("token:{}", self.name),
            Via::Session { .. } => format!("console:{}", self.name),
        }
    }
}

/// The caller behind an API token, if it is a live one.
pub async fn caller_for_token(
    conn: &mut AnyConnection,
    token: &str,
) -> Result<Option<Caller>, StoreError> {
    let record = tokens::find_by_hash(conn, &hash_token(token)).await?;
    Ok(record.map(|record| Caller {
        token_id: record.id,
        name: record.name,
        role: record.role,
        via: Via::Token,
    }))
}

/// A caller's role does not grant what they asked for.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the {role} role may not do this")]
pub struct Forbidden {
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_see_the_audit_log_and_tokens() {
        for role in [Role::Reviewer, Role::Sales, Role::Viewer, Role::Ingest] {
            assert!(!Permission::ReadAudit.granted_to(role), "{role}");
            assert!(!Permission::ManageTokens.granted_to(role), "{role}");
            assert!(!Permission::ManageSavedReplies.granted_to(role), "{role}");
        }
        assert!(Permission::ReadAudit.granted_to(Role::Admin));
    }

    #[test]
    fn viewers_change_nothing() {
        for p in [
            Permission::PostMessages,
            Permission::DecideReviews,
            Permission::Moderate,
            Permission::WorkLeads,
        ] {
            assert!(!p.granted_to(Role::Viewer), "{p:?}");
        }
    }
}
