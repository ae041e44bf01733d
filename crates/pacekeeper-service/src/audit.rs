//! The audit log: who did which admin action to whom, when, why, and what came of it. Kept in
//! the store ([`Store::append_audit`]); every admin operation of the service records itself.

use jiff::Timestamp;
use pacekeeper_store::Store;
use serde::{Deserialize, Serialize};

use crate::{Service, ServiceError};

/// The longest reason recorded, in characters; longer ones are cut.
pub const MAX_REASON: usize = 500;

/// Who does an admin action, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's name (the dashboard's session carries it).
    pub who: String,
    /// The reason given; empty when none was.
    pub why: String,
}

impl Actor {
    /// An actor; the reason is trimmed and cut to [`MAX_REASON`] characters.
    pub fn new(who: impl Into<String>, why: &str) -> Actor {
        Actor { who: who.into(), why: why.trim().chars().take(MAX_REASON).collect() }
    }
}

/// One record of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// The token's name.
    pub who: String,
    /// The operation (`lift`, `verify`, `update_member`, `credits`, `erase`, `view_link`,
    /// `policy_reload`).
    pub action: String,
    /// The member it concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The reason given.
    pub why: String,
    /// What came of it.
    pub outcome: String,
}

impl<S: Store> Service<S> {
    /// Records an admin action that was carried out.
    pub(crate) async fn record(
        &self,
        actor: &Actor,
        action: &str,
        member: Option<&str>,
        outcome: String,
    ) -> Result<(), ServiceError> {
        let at = self.clock.now();
        let entry = AuditEntry {
            at,
            who: actor.who.clone(),
            action: action.into(),
            member: member.map(String::from),
            why: actor.why.clone(),
            outcome,
        };
        tracing::info!(who = %entry.who, action, member, "admin action");
        let bytes = serde_json::to_vec(&entry).map_err(|_| ServiceError::Internal("an audit entry did not encode"))?;
        self.store.append_audit(at.as_millisecond(), bytes).await.map_err(ServiceError::store)
    }

    /// The newest `count` audit records, newest first. A record that cannot be read is shown
    /// as such rather than hidden.
    pub async fn audit_log(&self, count: usize) -> Result<Vec<AuditEntry>, ServiceError> {
        let records = self.store.audit(count).await.map_err(ServiceError::store)?;
        Ok(records
            .iter()
            .map(|r| {
                serde_json::from_slice(r).unwrap_or_else(|e| AuditEntry {
                    at: Timestamp::UNIX_EPOCH,
                    who: String::new(),
                    action: "unreadable".into(),
                    member: None,
                    why: String::new(),
                    outcome: format!("this record cannot be read: {e}"),
                })
            })
            .collect())
    }
}
