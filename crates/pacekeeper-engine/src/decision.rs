//! What the engine refuses. The requests, events, decisions and views it takes and gives are
//! the wire types of `pacekeeper-api`, re-exported here.

pub use pacekeeper_api::{
    DecideRequest, Decision, DenialKind, Event, EventAck, GaugeView, LimitStatus, MemberView, OrganisationView,
    OverrideView, PastRestrictionView, Reason, ReputationView, RestrictionView, Warning, field_at_fault,
    most_constrained, optional_whole_number, whole_number,
};

/// A request the engine cannot evaluate. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The action is not in the policy.
    #[error("unknown action `{action}`; this policy knows: {known}")]
    UnknownAction {
        /// What was asked.
        action: String,
        /// What the policy knows, comma-separated.
        known: String,
    },
    /// The tier is not in the policy.
    #[error("unknown tier `{tier}`; this policy knows: {known}")]
    UnknownTier {
        /// What was asked.
        tier: String,
        /// What the policy knows, comma-separated.
        known: String,
    },
    /// The channel is not in the policy's channel list.
    #[error("unknown channel `{channel}`; this policy knows: {known}")]
    UnknownChannel {
        /// What was asked.
        channel: String,
        /// What the policy knows, comma-separated.
        known: String,
    },
    /// Cost zero or absurdly large.
    #[error("cost must be between 1 and 1000000, got {0}")]
    BadCost(u64),
    /// The event kind needs a target.
    #[error("`target` is required for {0} events")]
    TargetRequired(&'static str),
    /// An admin call named a limit the policy does not have.
    #[error("unknown limit `{limit}`; this policy has: {known}")]
    UnknownLimit {
        /// What was asked.
        limit: String,
        /// What the policy has, comma-separated.
        known: String,
    },
    /// Credits can only be granted to a credits limit.
    #[error("limit `{0}` is not a credits limit")]
    NotCredits(String),
}

impl RequestError {
    /// The request field at fault, for problem+json.
    pub fn field(&self) -> &'static str {
        match self {
            RequestError::UnknownAction { .. } => "action",
            RequestError::UnknownTier { .. } => "tier",
            RequestError::UnknownChannel { .. } => "channel",
            RequestError::BadCost(_) => "cost",
            RequestError::TargetRequired(_) => "target",
            RequestError::UnknownLimit { .. } | RequestError::NotCredits(_) => "limit",
        }
    }
}
