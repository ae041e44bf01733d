//! From an answer to what the pacer understands: the [`Outcome`] of a send, and the limits
//! a lane learns from any API's `RateLimit-Policy` (a Pacekeeper decision's are read by
//! [`pacekeeper_pacer::of_decision`] and [`pacekeeper_pacer::learned_from_decision`]).

use pacekeeper_api::Reason;
use pacekeeper_client::Feedback;
use pacekeeper_pacer::{LearnedLimit, Outcome};
pub use pacekeeper_pacer::{learned_from_decision, of_decision};

/// The outcome a third-party API's limiting answer gives: a limit until its wait, when it
/// says one, else a failure to back off from.
pub fn of_feedback(f: &Feedback) -> Outcome {
    match f.wait() {
        Some(wait) => Outcome::Denied {
            reason: Reason::LimitExceeded,
            retry_after: Some(wait),
            limit: f.tightest().and_then(|q| q.name.clone()),
            with_note: false,
        },
        None => Outcome::Failed,
    }
}

/// What any API's `RateLimit-Policy` teaches.
pub fn learned_from_feedback(f: &Feedback) -> Vec<LearnedLimit> {
    f.policies
        .iter()
        .filter_map(|p| Some(LearnedLimit { name: p.name.clone(), amount: p.quota, window: p.window? }))
        .collect()
}
