//! Request ids: a repeated `request_id` is answered with its first decision and charged
//! nothing again.

use super::*;

/// The first answer to `id`, if it is remembered.
pub(super) fn recall(st: &MemberState, id: Option<u64>) -> Option<Recent> {
    let id = id?;
    st.recent.iter().find(|r| r.id == id).cloned()
}

/// Answers a repeated `request_id` with the first decision, without charging again.
pub(super) fn repeat(ask: &Ask<'_>, st: &MemberState, r: &Recent) -> Decision {
    let (policy, req, now) = (ask.policy, ask.req, ask.now);
    let evals = evaluate_all(ask, st);
    let limits = statuses(policy, &evals, now);
    let warnings = warnings(policy, &limits);
    let limit = r.limit.and_then(|k| policy.limit_by_key(k)).map(|l| l.name.clone());
    Decision {
        allowed: r.allowed,
        reason: r.reason,
        message: Cow::Owned(format!(
            "repeat of request `{}` first answered at {}",
            req.request_id.as_deref().unwrap_or(""),
            ts(r.at)
        )),
        limit,
        retry_after: r.retry_at.map(|t| secs_until(now, t)),
        retry_at: r.retry_at.map(ts),
        limits,
        restriction: None,
        challenge: None,
        warnings,
        duplicate: true,
        dry_run: req.dry_run,
    }
}

/// Remembers the answer to `id` (bounded by the policy's count; the window prunes it).
pub(super) fn remember(policy: &Policy, st: &mut MemberState, id: Option<u64>, now: Ms, answer: Remembered) {
    let Some(id) = id else { return };
    if st.recent.len() >= policy.idempotency_max {
        st.recent.remove(0);
    }
    let Remembered { allowed, reason, retry_at, limit } = answer;
    st.recent.push(Recent { id, at: now, allowed, reason, retry_at, limit });
}

/// What is remembered of an answer.
pub(super) struct Remembered {
    pub allowed: bool,
    pub reason: Reason,
    pub retry_at: Option<Ms>,
    /// The key of the binding limit.
    pub limit: Option<u32>,
}

impl Remembered {
    pub(super) const ALLOWED: Remembered =
        Remembered { allowed: true, reason: Reason::Ok, retry_at: None, limit: None };
}
