//! Evaluating and charging one limit's window (anchored, calendar, sliding, rate, cap,
//! credits) for a request: does its cost fit, and when does room come back.

use super::*;

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
pub(super) fn evaluate_all(ask: &Ask<'_>, st: &MemberState) -> Vec<Eval> {
    let mut evals = Vec::new();
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

/// GCRA emission interval: the period divided by the amount, rounded up to whole
/// milliseconds so that rounding can only make the limit stricter.
pub(super) fn interval(period: Ms, amount: u64) -> Ms {
    let amount = amount.clamp(1, i64::MAX as u64) as i64;
    (period + amount - 1) / amount
}

pub(super) fn evaluate(
    policy: &Policy,
    limit: &Limit,
    li: usize,
    st: &MemberState,
    now: Ms,
    amount: u64,
    cost: u64,
) -> Eval {
    let unlimited = amount == UNLIMITED;
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
    let room = |used: u64| amount.saturating_sub(used);
    match &limit.window {
        Window::Anchored { period } => {
            if let Some(WindowState::Anchored { start, used }) = counter(st, limit.key)
                && start + period > now
            {
                e.used = *used;
                e.start = *start;
                e.resets_at = Some(start + period);
            }
            e.fits = unlimited || e.used + cost <= amount;
            if !e.fits && cost <= amount {
                e.retry_at = e.resets_at;
            }
            e.remaining = room(e.used);
        }
        Window::Calendar(cal) => {
            let (s, end, used) = match counter(st, limit.key) {
                Some(WindowState::Calendar { start, end, used }) if *start <= now && now < *end => {
                    (*start, *end, *used)
                }
                _ => {
                    let (s, end) = cal.window_at(now);
                    (s, end, 0)
                }
            };
            e.start = s;
            e.end = end;
            e.used = used;
            e.resets_at = Some(end);
            e.fits = unlimited || used + cost <= amount;
            if !e.fits && cost <= amount {
                e.retry_at = Some(end);
            }
            e.remaining = room(used);
        }
        Window::Sliding { period, granularity } => {
            let from = now - period;
            let buckets: &[(i64, u32)] = match counter(st, limit.key) {
                Some(WindowState::Sliding { buckets }) => buckets,
                _ => &[],
            };
            // Buckets are oldest first; those still overlapping the trailing period count.
            let counted = &buckets[buckets.partition_point(|(i, _)| (i + 1) * granularity <= from)..];
            e.used = counted.iter().map(|(_, c)| u64::from(*c)).sum();
            e.resets_at = counted.first().map(|(i, _)| (i + 1) * granularity + period);
            e.fits = unlimited || e.used + cost <= amount;
            if !e.fits && cost <= amount {
                // Buckets leave the trailing window oldest first; find when enough have left.
                let need = e.used + cost - amount;
                let mut dropped = 0u64;
                for (i, c) in counted {
                    dropped += u64::from(*c);
                    if dropped >= need {
                        e.retry_at = Some((i + 1) * granularity + period);
                        break;
                    }
                }
            }
            e.remaining = room(e.used);
        }
        Window::Rate { period, burst } => {
            let t = interval(*period, amount);
            let tat = match counter(st, limit.key) {
                Some(WindowState::Rate { tat }) => (*tat).max(now),
                _ => now,
            };
            let cost_ms = t.saturating_mul(cost as i64);
            let horizon = t.saturating_mul(*burst as i64);
            let new_tat = tat.saturating_add(cost_ms);
            e.used = ((tat - now) as u64).div_ceil(t as u64);
            e.remaining = burst.saturating_sub(e.used);
            e.resets_at = (tat > now).then_some(tat);
            e.fits = unlimited || new_tat - now <= horizon;
            if !e.fits && cost <= *burst {
                e.retry_at = Some(new_tat - horizon);
            }
            e.shown = if unlimited { amount } else { *burst };
        }
        Window::Cap { gauge } => {
            let key = policy.gauges[*gauge].key;
            e.used = st.gauges.iter().find(|(k, _)| *k == key).map_or(0, |(_, v)| *v);
            e.fits = unlimited || e.used.saturating_add(cost) <= amount;
            e.remaining = room(e.used);
        }
        Window::Credits(cal) => {
            let (s, end, spent) = match counter(st, limit.key) {
                Some(WindowState::Credits { start, end, spent }) if *start <= now && now < *end => {
                    (*start, *end, *spent)
                }
                _ => {
                    let (s, end) = cal.window_at(now);
                    (s, end, 0)
                }
            };
            let bonus = st.bonus.iter().find(|(k, _)| *k == limit.key).map_or(0, |(_, b)| *b);
            e.start = s;
            e.end = end;
            e.used = spent;
            e.shown = if unlimited { amount } else { amount.saturating_add(bonus) };
            e.remaining = room(spent).saturating_add(bonus);
            e.resets_at = Some(end);
            e.fits = unlimited || cost <= e.remaining;
            if !e.fits && cost <= amount.saturating_add(bonus) {
                e.retry_at = Some(end);
            }
        }
    }
    e
}

pub(super) fn charge(limit: &Limit, st: &mut MemberState, e: &Eval, now: Ms, cost: u64) {
    let new = match &limit.window {
        Window::Anchored { period } => match counter(st, limit.key) {
            Some(WindowState::Anchored { start, used }) if start + period > now => {
                WindowState::Anchored { start: *start, used: used + cost }
            }
            _ => WindowState::Anchored { start: now, used: cost },
        },
        Window::Calendar(_) => WindowState::Calendar { start: e.start, end: e.end, used: e.used + cost },
        Window::Sliding { period, granularity } => {
            let idx = now.div_euclid(*granularity);
            let add = cost.min(u64::from(u32::MAX)) as u32;
            if let Some(Counter { w: WindowState::Sliding { buckets }, .. }) =
                st.counters.iter_mut().find(|c| c.key == limit.key)
            {
                // Updated in place: this is the hot path for messages and bursts.
                let from = now - period;
                let stale = buckets.partition_point(|(i, _)| (i + 1) * granularity <= from);
                buckets.drain(..stale);
                match buckets.last_mut() {
                    Some((i, c)) if *i == idx => *c = c.saturating_add(add),
                    _ => buckets.push((idx, add)),
                }
                return;
            }
            WindowState::Sliding { buckets: vec![(idx, add)] }
        }
        Window::Rate { period, .. } => {
            let tat = match counter(st, limit.key) {
                Some(WindowState::Rate { tat }) => (*tat).max(now),
                _ => now,
            };
            WindowState::Rate { tat: tat + interval(*period, e.amount) * cost as i64 }
        }
        // Gauges move by their own rules in `on_allowed`.
        Window::Cap { .. } => return,
        Window::Credits(_) => {
            let grant_left = e.amount.saturating_sub(e.used);
            let from_grant = cost.min(grant_left);
            let from_bonus = cost - from_grant;
            if from_bonus > 0 {
                if let Some((_, b)) = st.bonus.iter_mut().find(|(k, _)| *k == limit.key) {
                    *b = b.saturating_sub(from_bonus);
                }
                st.bonus.retain(|(_, b)| *b > 0);
            }
            WindowState::Credits { start: e.start, end: e.end, spent: e.used + from_grant }
        }
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
            let idx = now.div_euclid(*granularity);
            if let Some((_, n)) = buckets.iter_mut().find(|(i, _)| *i == idx) {
                *n = n.saturating_sub(cost.min(u64::from(u32::MAX)) as u32);
            }
            buckets.retain(|(_, n)| *n > 0);
        }
        (WindowState::Rate { tat }, Window::Rate { period, .. }) => {
            *tat = tat.saturating_sub(interval(*period, amount).saturating_mul(cost as i64));
        }
        _ => {}
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
