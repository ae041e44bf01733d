//! Why a denied request is denied: the reason, when it may be retried, the limit that binds,
//! the restriction to show and the challenge to pass.

use super::*;

/// A denial, worked out.
pub(super) struct Verdict {
    pub reason: Reason,
    pub retry_at: Option<Ms>,
    pub binding: Option<Arc<str>>,
    pub restriction: Option<RestrictionView>,
    pub challenge: Option<Proof>,
}

/// The verdict on a request the gate or a limit stopped, from the state after any penalty
/// this attempt imposed.
pub(super) fn verdict(ask: &Ask<'_>, st: &MemberState, gate: &Gate, failing: &[&Eval]) -> Verdict {
    let policy = ask.policy;
    let blocking = blocking(ask, st);
    let verification =
        gate.verification || gate.content_penalty.is_some() || blocking.iter().any(|r| r.until.is_none());
    let challenge = if verification { None } else { gate.challenge };
    let cap = failing.iter().any(|e| matches!(policy.limits[e.li].window, Window::Cap { .. }));
    let reason = if verification {
        Reason::VerificationRequired
    } else if challenge.is_some() {
        Reason::ChallengeRequired
    } else if cap {
        Reason::CapReached
    } else if gate.restricted {
        Reason::Restricted
    } else if gate.cooldown_until.is_some() {
        Reason::Cooldown
    } else {
        Reason::LimitExceeded
    };
    let never = matches!(reason, Reason::VerificationRequired | Reason::ChallengeRequired)
        || failing.iter().any(|e| e.retry_at.is_none());
    let retry_at = (!never).then(|| {
        let restrictions = blocking.iter().map(|r| r.until.unwrap_or(Ms::MAX));
        let limits = failing.iter().map(|e| e.retry_at.unwrap_or(Ms::MAX));
        restrictions.chain(limits).fold(gate.cooldown_until.unwrap_or(ask.now), Ms::max)
    });
    let restriction = blocking.iter().max_by_key(|r| (r.until.is_none(), r.until)).map(|r| restriction_view(policy, r));
    let binding = binding(policy, reason, failing, &blocking);
    Verdict { reason, retry_at, binding, restriction, challenge }
}

/// The limit to name: the failing one that frees up last (a cap's, when a cap is reached),
/// or the one whose excess started the restriction in force.
fn binding(policy: &Policy, reason: Reason, failing: &[&Eval], blocking: &[&Restriction]) -> Option<Arc<str>> {
    match reason {
        Reason::LimitExceeded | Reason::CapReached => failing
            .iter()
            .filter(|e| reason != Reason::CapReached || matches!(policy.limits[e.li].window, Window::Cap { .. }))
            .max_by_key(|e| e.retry_at.unwrap_or(Ms::MAX))
            .map(|e| policy.limits[e.li].name.clone()),
        Reason::Restricted => blocking.iter().find_map(|r| policy.limit_by_key(r.trigger).map(|l| l.name.clone())),
        _ => None,
    }
}
