//! The Pacekeeper decision engine: pure functions from a policy, a member's state, a request
//! and an instant to a decision and the member's new state.
//!
//! This crate performs no I/O (bar reading a policy file in [`Policy::load`]), spawns no
//! tasks and never reads the clock: `now` is always an argument. Everything hard about rate
//! limits and penalties lives and is tested here; the server and the stores only move bytes.
//!
//! ```
//! use pacekeeper_engine::{decide, DecideRequest, MemberState, Policy, Reason};
//!
//! let policy = Policy::preset("linkedin").unwrap();
//! let mut ada = MemberState::default();
//! let invite = DecideRequest { member: "ada".into(), action: "invite".into(), ..Default::default() };
//! let monday: jiff::Timestamp = "2026-11-23T09:00:00Z".parse().unwrap();
//! let minutes = |m: i64| monday + jiff::SignedDuration::from_mins(m);
//! for i in 0..100 {
//!     assert!(decide(&policy, &mut ada, &invite, minutes(2 * i)).unwrap().allowed);
//! }
//! let d = decide(&policy, &mut ada, &invite, minutes(300)).unwrap();
//! assert_eq!(d.reason, Reason::LimitExceeded);
//! // The first extra attempt starts a 7-day restriction (seed 000).
//! assert_eq!(d.retry_after, Some(7 * 86_400));
//! let bytes = ada.encode();
//! assert_eq!(MemberState::decode(&bytes).unwrap(), ada);
//! ```

#![warn(missing_docs)]

mod admin;
mod decision;
mod engine;
mod policy;
mod policy_file;
mod presets;
mod state;
mod summary;
pub mod time;
mod together;

pub use admin::{
    AmountValue, MemberUpdate, OrganisationUpdate, Unlimited, grant_credits, lift, update_member, update_organisation,
    verify,
};
pub use decision::*;
pub use engine::{
    apply_event, contains_link, decide, decide_with_organisation, member_view, organisation_view, validate_event,
};
pub use policy::{EventKind, Level, Policy, RestrictionKind, Scope, UNLIMITED};
pub use policy_file::{Diagnostic, PolicyError};
pub use presets::{LoadError, PRESETS};
pub use state::{Ending, MemberState, STATE_VERSION, STATE_VERSION_EXTRAS, StateError, UNTIL_VERIFIED};
pub use summary::{LimitSummary, PenaltySummary, PolicySummary, duration_words, policy_summary};
pub use together::{BatchError, decide_together, decide_together_with_organisation};
