//! Shaping a decision: limit statuses, warnings near the end of a limit, the denial's
//! message.

use super::*;

pub(super) fn status_of(policy: &Policy, e: &Eval, now: Ms) -> Option<LimitStatus> {
    if e.amount == UNLIMITED {
        return None;
    }
    let limit = &policy.limits[e.li];
    Some(LimitStatus {
        name: limit.name.clone(),
        scope: limit.scope,
        kind: Cow::Borrowed(limit.window.kind()),
        amount: e.shown,
        used: e.used,
        remaining: e.remaining,
        resets_at: e.resets_at.map(ts),
        reset_after: e.resets_at.map(|t| secs_until(now, t)),
        window: limit.window.nominal_seconds(),
    })
}

pub(super) fn statuses(policy: &Policy, evals: &[Eval], now: Ms) -> Vec<LimitStatus> {
    evals.iter().filter_map(|e| status_of(policy, e, now)).collect()
}

/// Statuses after charging: evaluated afresh from the new states (the member's, and the
/// organisation's for its limits).
pub(super) fn restatus(
    policy: &Policy,
    st: &MemberState,
    org: Option<&MemberState>,
    evals: &[Eval],
    now: Ms,
) -> Vec<LimitStatus> {
    evals
        .iter()
        .filter_map(|e| {
            let limit = &policy.limits[e.li];
            let st = match (limit.scope, org) {
                (Scope::Organisation, Some(org)) => org,
                _ => st,
            };
            let fresh = evaluate(policy, limit, e.li, st, now, e.amount, 0);
            status_of(policy, &fresh, now)
        })
        .collect()
}

pub(super) fn warnings(policy: &Policy, limits: &[LimitStatus]) -> Vec<Warning> {
    limits
        .iter()
        .filter(|l| l.amount > 0 && l.used as f64 >= policy.warning_threshold * l.amount as f64)
        .map(|l| Warning {
            limit: l.name.clone(),
            used: l.used,
            amount: l.amount,
            message: format!("{} of {} used for {}", l.used, l.amount, l.name),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn deny_message(
    reason: Reason,
    action: &str,
    limit: Option<&str>,
    limits: &[LimitStatus],
    restriction: Option<&RestrictionView>,
    retry_at: Option<Ms>,
    now: Ms,
    dry: bool,
) -> String {
    let wait = match retry_at {
        Some(t) => format!("; retry in {} (at {})", human(t - now), ts(t)),
        None => String::new(),
    };
    let prefix = if dry { "would be denied: " } else { "" };
    let body = match reason {
        Reason::LimitExceeded => {
            let l = limit.and_then(|n| limits.iter().find(|l| &*l.name == n));
            match l {
                Some(l) => format!("{} allows {} and {} are used", l.name, l.amount, l.used),
                None => format!("a limit on {action} is reached"),
            }
        }
        Reason::CapReached => match limit.and_then(|n| limits.iter().find(|l| &*l.name == n)) {
            Some(l) => format!("{} is at its cap of {}", l.name, l.amount),
            None => "a cap is reached".to_string(),
        },
        Reason::Restricted => match restriction {
            Some(r) => format!("{action} is restricted: {}", r.cause),
            None => format!("{action} is restricted"),
        },
        Reason::Cooldown => format!("{action} to this target is on cooldown after a withdrawn invitation"),
        Reason::VerificationRequired => format!("{action} needs identity verification first"),
        Reason::ChallengeRequired => match restriction {
            Some(r) => format!("{action} needs a proof: {}", r.cause),
            None => format!("{action} needs a proof"),
        },
        Reason::Ok | Reason::StoreUnavailable => String::new(),
    };
    format!("{prefix}{body}{wait}")
}
