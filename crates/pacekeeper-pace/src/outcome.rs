//! From an answer to what the pacer understands: the [`Outcome`] of a send, and the limits
//! a lane learns (from a Pacekeeper decision's `limits`, or any API's `RateLimit-Policy`).

use std::time::Duration;

use pacekeeper_api::{Decision, Reason};
use pacekeeper_client::Feedback;
use pacekeeper_pacer::{LearnedLimit, Outcome};

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
