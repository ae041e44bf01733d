//! What a Pacekeeper decision tells a lane: the [`Outcome`] of a send, and the limits it
//! learns from the decision's `limits`.

use std::time::Duration;

use pacekeeper_api::{Decision, Reason};

use crate::{LearnedLimit, Outcome};

/// The outcome of a Pacekeeper decision, answered at `now`, for a request that carried a
/// note or not. A restriction the answer gives no retry time for (the action would stay
/// denied for another reason too) still ends: its end is the wait.
pub fn of_decision(d: &Decision, with_note: bool, now: jiff::Timestamp) -> Outcome {
    let limit = d.limit.as_deref();
    if d.allowed {
        let binding = d.limits.iter().find(|l| Some(&*l.name) == limit).or_else(|| d.limits.first());
        return Outcome::Allowed {
            remaining: binding.map(|l| l.remaining),
            reset: binding.and_then(|l| l.reset_after).map(Duration::from_secs),
            limit: binding.map(|l| l.name.to_string()),
        };
    }
    let restriction_end = d.restriction.as_ref().and_then(|r| r.until).filter(|_| d.reason == Reason::Restricted);
    let until_end = restriction_end.map(|u| now.duration_until(u).unsigned_abs());
    Outcome::Denied {
        reason: d.reason,
        retry_after: d.retry_after.map(Duration::from_secs).or(until_end),
        limit: limit.map(str::to_string),
        with_note,
    }
}

/// What a decision teaches about the limits: each limit's amount over its window.
pub fn learned_from_decision(d: &Decision) -> Vec<LearnedLimit> {
    d.limits
        .iter()
        .filter_map(|l| {
            let window = Duration::from_secs(l.window.filter(|w| *w > 0)?);
            Some(LearnedLimit { name: Some(l.name.to_string()), amount: l.amount, window })
        })
        .collect()
}
