//! Windows: evaluating one limit for a request (does its cost fit, when does room come
//! back), charging it, refunding it, pruning it and its expiry. One file per window kind
//! (`anchored`, `calendar` with credits, `sliding`, `rate`, `cap`); this file dispatches on
//! the kind and holds what every kind shares.

use super::*;

mod anchored;
mod calendar;
mod cap;
mod rate;
mod sliding;

pub(crate) use rate::interval;

/// One limit evaluated against one request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Eval {
    pub(super) li: usize,
    /// The amount in force (per period, or the grant for credits).
    pub(super) amount: u64,
    /// The amount shown to callers: the burst for rate limits, grant plus bonus for credits.
    pub(super) shown: u64,
    pub(super) used: u64,
    pub(super) remaining: u64,
    pub(super) fits: bool,
    /// Earliest instant the request would fit; `None` when waiting never helps.
    pub(super) retry_at: Option<Ms>,
    pub(super) resets_at: Option<Ms>,
    /// Current window bounds (anchored: start of an open window; calendar/credits: both).
    pub(super) start: Ms,
    pub(super) end: Ms,
}

/// A validated request: what every limit is evaluated against.
#[derive(Clone, Copy)]
pub(super) struct Ask<'a> {
    pub(super) policy: &'a Policy,
    pub(super) req: &'a DecideRequest,
    /// The action's index in the policy.
    pub(super) action: usize,
    /// The tier of the subject evaluated (the member's as resolved for this request, or the
    /// organisation's).
    pub(super) tier: usize,
    pub(super) cost: u64,
    pub(super) now: Ms,
}

/// Every member limit of the action that applies to the request, evaluated for its cost.
#[inline]
pub(super) fn evaluate_all(ask: &Ask<'_>, st: &MemberState) -> Vec<Eval> {
    // Room for the organisation's limits too: one allocation, never regrown.
    let mut evals = Vec::with_capacity(ask.policy.limits_by_action[ask.action].len());
    evaluate_scope(ask, st, Scope::Member, &ask.req.member, &mut evals);
    evals
}

/// Appends to `out` the limits of `scope` of the action that apply to the request, evaluated
/// on `st` (the state of `who`: the member or the organisation) for its cost.
pub(super) fn evaluate_scope(ask: &Ask<'_>, st: &MemberState, scope: Scope, who: &str, out: &mut Vec<Eval>) {
    let Ask { policy, req, action, tier, cost, now } = *ask;
    let mut level = None;
    let limits = policy.limits_by_action[action].iter().filter(|&&li| policy.limits[li].scope == scope);
    out.extend(limits.filter(|&&li| applies(&policy.limits[li], req)).map(|&li| {
        let limit = &policy.limits[li];
        let amount = amount_for(policy, limit, tier, st, now, &mut level);
        let mut e = evaluate(policy, limit, li, st, now, amount, cost);
        // Outside the enforced share the request is counted, never denied by this limit.
        if !e.fits && !limit.enforced_for(who) {
            e.fits = true;
        }
        e
    }));
}

pub(super) fn counter(st: &MemberState, key: u32) -> Option<&WindowState> {
    st.counters.iter().find(|c| c.key == key).map(|c| &c.w)
}

/// One limit evaluated on `st` for a request of `cost` under the amount in force.
#[inline]
pub(super) fn evaluate(
    policy: &Policy,
    limit: &Limit,
    li: usize,
    st: &MemberState,
    now: Ms,
    amount: u64,
    cost: u64,
) -> Eval {
    let mut e = Eval {
        li,
        amount,
        shown: amount,
        used: 0,
        remaining: 0,
        fits: true,
        retry_at: None,
        resets_at: None,
        start: now,
        end: now,
    };
    let w = || counter(st, limit.key);
    match &limit.window {
        Window::Anchored { period } => anchored::evaluate(&mut e, w(), *period, now, cost),
        Window::Calendar(cal) => calendar::evaluate(&mut e, w(), cal, now, cost),
        Window::Sliding { period, granularity } => sliding::evaluate(&mut e, w(), *period, *granularity, now, cost),
        Window::Rate { period, burst } => rate::evaluate(&mut e, w(), *period, *burst, now, cost),
        Window::Cap { gauge } => cap::evaluate(&mut e, st, policy.gauges[*gauge].key, cost),
        Window::Credits(cal) => {
            let bonus = st.bonus.iter().find(|(k, _)| *k == limit.key).map_or(0, |(_, b)| *b);
            calendar::evaluate_credits(&mut e, w(), cal, bonus, now, cost);
        }
    }
    e
}

/// Counts `cost` against the limit evaluated as `e`.
pub(super) fn charge(limit: &Limit, st: &mut MemberState, e: &Eval, now: Ms, cost: u64) {
    let new = match &limit.window {
        Window::Anchored { period } => anchored::charge(counter(st, limit.key), *period, now, cost),
        Window::Calendar(_) => WindowState::Calendar { start: e.start, end: e.end, used: e.used + cost },
        Window::Sliding { period, granularity } => {
            let w = st.counters.iter_mut().find(|c| c.key == limit.key).map(|c| &mut c.w);
            match sliding::charge(w, *period, *granularity, now, cost) {
                Some(new) => new,
                None => return,
            }
        }
        Window::Rate { period, .. } => rate::charge(counter(st, limit.key), *period, e.amount, now, cost),
        // Gauges move by their own rules in `on_allowed`.
        Window::Cap { .. } => return,
        Window::Credits(_) => calendar::charge_credits(st, limit.key, e, cost),
    };
    match st.counters.iter_mut().find(|c| c.key == limit.key) {
        Some(c) => c.w = new,
        None => st.counters.push(Counter { key: limit.key, w: new }),
    }
}

/// Takes back a charge of `cost` made at `now` by [`charge`] (an organisation's reservation
/// whose decision was denied after all). Usage never goes below zero.
pub(super) fn refund(limit: &Limit, st: &mut MemberState, amount: u64, now: Ms, cost: u64) {
    let Some(c) = st.counters.iter_mut().find(|c| c.key == limit.key) else { return };
    match (&mut c.w, &limit.window) {
        (WindowState::Anchored { used, .. }, _) | (WindowState::Calendar { used, .. }, _) => {
            *used = used.saturating_sub(cost);
        }
        (WindowState::Credits { spent, .. }, _) => *spent = spent.saturating_sub(cost),
        (WindowState::Sliding { buckets }, Window::Sliding { granularity, .. }) => {
            sliding::refund(buckets, *granularity, now, cost);
        }
        (WindowState::Rate { tat }, Window::Rate { period, .. }) => {
            *tat = tat.saturating_sub(interval(*period, amount).saturating_mul(cost as i64));
        }
        _ => {}
    }
}

/// Prunes a counter at `now`: whether it still holds usage of `limit` (a counter whose window
/// kind changed in a reload starts afresh).
pub(crate) fn keep(c: &mut Counter, limit: &Limit, now: Ms) -> bool {
    match (&mut c.w, &limit.window) {
        (WindowState::Anchored { start, .. }, Window::Anchored { period }) => anchored::end(*start, *period) > now,
        (WindowState::Calendar { end, .. }, Window::Calendar(_)) => *end > now,
        (WindowState::Credits { end, .. }, Window::Credits(_)) => *end > now,
        (WindowState::Sliding { buckets }, Window::Sliding { period, granularity }) => {
            sliding::keep(buckets, *period, *granularity, now)
        }
        (WindowState::Rate { tat }, Window::Rate { .. }) => *tat > now,
        _ => false,
    }
}

/// Until when a counter's usage matters (0: not at all).
pub(crate) fn end(c: &Counter, limit: Option<&Limit>) -> Ms {
    match (&c.w, limit.map(|l| &l.window)) {
        (WindowState::Anchored { start, .. }, Some(Window::Anchored { period })) => anchored::end(*start, *period),
        (WindowState::Calendar { end, .. }, _) | (WindowState::Credits { end, .. }, _) => *end,
        (WindowState::Sliding { buckets }, Some(Window::Sliding { period, granularity })) => {
            sliding::end(buckets, *period, *granularity)
        }
        (WindowState::Rate { tat }, _) => *tat,
        _ => 0,
    }
}

pub(super) fn applies(limit: &Limit, req: &DecideRequest) -> bool {
    let has_note = req.note.as_deref().is_some_and(|n| !n.trim().is_empty());
    if limit.condition.note.is_some_and(|want| want != has_note) {
        return false;
    }
    if let Some(chs) = &limit.condition.channels {
        return req.channel.as_ref().is_some_and(|c| chs.contains(c));
    }
    true
}
