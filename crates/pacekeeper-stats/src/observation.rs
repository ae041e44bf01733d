//! What the read model learns from one answered decision.

use std::sync::Arc;

use jiff::Timestamp;
use pacekeeper_api::{Decision, Reason};

/// One decision, as the read model keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// When it was decided.
    pub at: Timestamp,
    /// The member.
    pub member: Arc<str>,
    /// The action.
    pub action: Arc<str>,
    /// Allowed or not.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// The binding limit, if any.
    pub limit: Option<Arc<str>>,
    /// Limits at or past the policy's warning threshold after this decision.
    pub near: Vec<Arc<str>>,
    /// The penalty of a restriction this decision started.
    pub restriction_started: Option<Arc<str>>,
}

impl Observation {
    /// The observation of `decision`, answered at `at` for `member` doing `action`. Dry runs
    /// and repeated request ids are observed like any answer: they are answers operators see.
    pub fn of(member: &str, action: &str, decision: &Decision, at: Timestamp) -> Observation {
        let started = decision.restriction.as_ref().filter(|r| r.since == at).map(|r| Arc::from(r.penalty.as_str()));
        Observation {
            at,
            member: member.into(),
            action: action.into(),
            allowed: decision.allowed,
            reason: decision.reason,
            limit: decision.limit.clone(),
            near: decision.warnings.iter().map(|w| w.limit.clone()).collect(),
            restriction_started: started.filter(|_| !decision.dry_run && !decision.duplicate),
        }
    }

    /// True when the answer was allowed without checking (the store out of reach).
    pub fn failed_open(&self) -> bool {
        self.reason == Reason::StoreUnavailable
    }
}
