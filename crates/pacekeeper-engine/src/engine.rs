//! `decide` and `apply_event`: the rules of DESIGN §1.
//!
//! Both take the policy, the member's state, the input and `now`, and change the state in
//! place. On `Err` the state is untouched; a dry run leaves it semantically unchanged (only
//! expired entries are pruned, which no observer can tell apart).

use std::borrow::Cow;

use jiff::Timestamp;

use crate::decision::*;
use crate::policy::*;
use crate::state::*;
use crate::time::{Ms, human, key64, ms, secs_until, ts};

/// One limit evaluated against one request.
#[derive(Debug, Clone, Copy)]
struct Eval {
    li: usize,
    /// The amount in force (per period, or the grant for credits).
    amount: u64,
    /// The amount shown to callers: the burst for rate limits, grant plus bonus for credits.
    shown: u64,
    used: u64,
    remaining: u64,
    fits: bool,
    /// Earliest instant the request would fit; `None` when waiting never helps.
    retry_at: Option<Ms>,
    resets_at: Option<Ms>,
    /// Current window bounds (anchored: start of an open window; calendar/credits: both).
    start: Ms,
    end: Ms,
}

/// Decides one request at `now` and records it in `state`.
///
/// ```
/// use pacekeeper_engine::{Policy, MemberState, DecideRequest, decide};
/// let policy = Policy::preset("linkedin").unwrap();
/// let mut state = MemberState::default();
/// let req = DecideRequest { member: "ada".into(), action: "invite".into(), ..Default::default() };
/// let now = "2026-11-23T09:00:00Z".parse().unwrap();
/// let d = decide(&policy, &mut state, &req, now).unwrap();
/// assert!(d.allowed);
/// let weekly = d.limits.iter().find(|l| &*l.name == "weekly_invitations").unwrap();
/// assert_eq!((weekly.used, weekly.remaining), (1, 99));
/// ```
pub fn decide(
    policy: &Policy,
    st: &mut MemberState,
    req: &DecideRequest,
    now: Timestamp,
) -> Result<Decision, RequestError> {
    let now = ms(now);
    let action = policy.action_index(&req.action).ok_or_else(|| RequestError::UnknownAction {
        action: req.action.clone(),
        known: policy.action_names().collect::<Vec<_>>().join(", "),
    })?;
    let tier = resolve_tier(policy, st, req.tier.as_deref())?;
    if let (Some(ch), Some(known)) = (&req.channel, &policy.channels)
        && !known.contains(ch)
    {
        return Err(RequestError::UnknownChannel { channel: ch.clone(), known: known.join(", ") });
    }
    let cost = req.cost.unwrap_or(1);
    if !(1..=1_000_000).contains(&cost) {
        return Err(RequestError::BadCost(cost));
    }

    // A dry run changes nothing at all, not even by pruning: it works on a scratch copy.
    let mut scratch;
    let st = if req.dry_run {
        scratch = st.clone();
        &mut scratch
    } else {
        st
    };
    st.prune(policy, now);
    let ask = Ask { policy, req, action, tier, cost, now };
    let request_id = req.request_id.as_deref().map(key64);
    if let Some(id) = request_id
        && let Some(r) = st.recent.iter().find(|r| r.id == id).cloned()
    {
        return Ok(repeat(&ask, st, &r));
    }
    let action_key = policy.action_key(action);
    let dry = req.dry_run;

    // Content rules: a link in an invitation note puts the member under verification.
    let mut verification_penalty = None;
    if req.note.as_deref().is_some_and(contains_link) {
        verification_penalty = policy.content_rules.iter().find(|r| r.action == action).map(|r| r.penalty);
    }

    let pre_restricted =
        st.restrictions.iter().any(|r| r.blocks.contains(&action_key) && r.kind != RestrictionKind::Verification);
    let pre_verification =
        st.restrictions.iter().any(|r| r.blocks.contains(&action_key) && r.kind == RestrictionKind::Verification);
    let target = req.target.as_deref().map(key64);
    let cooldown_until =
        target.and_then(|t| st.cooldowns.iter().find(|c| c.action == action_key && c.target == t).map(|c| c.until));

    let evals = evaluate_all(&ask, st);
    let all_fit = evals.iter().all(|e| e.fits);

    if all_fit && !pre_restricted && !pre_verification && cooldown_until.is_none() && verification_penalty.is_none() {
        if !dry {
            for e in &evals {
                charge(&policy.limits[e.li], st, e, now, cost);
            }
            on_allowed(policy, st, action, cost, now);
            remember(policy, st, request_id, now, true, Reason::Ok, None, None);
        }
        let limits = if dry { statuses(policy, &evals, now) } else { restatus(policy, st, &evals, now) };
        let warnings = warnings(policy, &limits);
        let limit = most_constrained(&limits).map(|l| l.name.clone());
        return Ok(Decision {
            allowed: true,
            reason: Reason::Ok,
            message: Cow::Borrowed(if dry { "would be allowed" } else { "allowed" }),
            limit,
            retry_after: None,
            retry_at: None,
            limits,
            restriction: None,
            warnings,
            duplicate: false,
            dry_run: dry,
        });
    }

    // Denied. Work out which penalties this attempt feeds, then apply them (not on dry runs).
    let failing: Vec<&Eval> = evals.iter().filter(|e| !e.fits).collect();
    if !dry {
        if let Some(p) = verification_penalty {
            impose(policy, st, p, 0, &policy.limits_by_action[action], action, now);
        }
        // Overage: one extra per attempt for each ladder it touches — a limit it exceeds, or a
        // running overage restriction whose limits count this request.
        let mut overage: Vec<(usize, u32)> = Vec::new();
        for e in &failing {
            if let Some(p) = policy.limits[e.li].penalty
                && !overage.iter().any(|(x, _)| *x == p)
            {
                overage.push((p, policy.limits[e.li].key));
            }
        }
        for r in st.restrictions.iter().filter(|r| r.kind == RestrictionKind::Overage && r.blocks.contains(&action_key))
        {
            let counted =
                evals.iter().any(|e| policy.limits[e.li].penalty.is_some_and(|p| policy.penalties[p].key == r.penalty));
            if let Some(p) = policy.penalties.iter().position(|p| p.key == r.penalty)
                && counted
                && !overage.iter().any(|(x, _)| *x == p)
            {
                overage.push((p, r.trigger));
            }
        }
        for (p, trigger) in overage {
            let trigger_actions = policy.limit_by_key(trigger).map_or(&[][..], |l| &l.actions[..]);
            impose(policy, st, p, trigger, trigger_actions, action, now);
        }
    }

    let blocking: Vec<&Restriction> = st.restrictions.iter().filter(|r| r.blocks.contains(&action_key)).collect();
    let verification = pre_verification || verification_penalty.is_some() || blocking.iter().any(|r| r.until.is_none());
    let cap = failing.iter().any(|e| matches!(policy.limits[e.li].window, Window::Cap { .. }));
    let never = failing.iter().any(|e| e.retry_at.is_none());
    let reason = if verification {
        Reason::VerificationRequired
    } else if cap {
        Reason::CapReached
    } else if pre_restricted {
        Reason::Restricted
    } else if cooldown_until.is_some() {
        Reason::Cooldown
    } else {
        Reason::LimitExceeded
    };
    let retry_at = if verification || never {
        None
    } else {
        let mut t = cooldown_until.unwrap_or(now);
        for r in &blocking {
            t = t.max(r.until.unwrap_or(Ms::MAX));
        }
        for e in &failing {
            t = t.max(e.retry_at.unwrap_or(Ms::MAX));
        }
        Some(t)
    };
    let restriction = blocking.iter().max_by_key(|r| (r.until.is_none(), r.until)).map(|r| restriction_view(policy, r));
    let binding = match reason {
        Reason::LimitExceeded | Reason::CapReached => failing
            .iter()
            .filter(|e| reason != Reason::CapReached || matches!(policy.limits[e.li].window, Window::Cap { .. }))
            .max_by_key(|e| e.retry_at.unwrap_or(Ms::MAX))
            .map(|e| policy.limits[e.li].name.clone()),
        Reason::Restricted => blocking.iter().find_map(|r| policy.limit_by_key(r.trigger).map(|l| l.name.clone())),
        _ => None,
    };
    let limits = statuses(policy, &evals, now);
    let message = Cow::Owned(deny_message(
        reason,
        &req.action,
        binding.as_deref(),
        &limits,
        restriction.as_ref(),
        retry_at,
        now,
        dry,
    ));
    if !dry {
        remember(policy, st, request_id, now, false, reason, retry_at, binding.as_deref().map(crate::time::key32));
    }
    let warnings = warnings(policy, &limits);
    Ok(Decision {
        allowed: false,
        reason,
        message,
        limit: binding,
        retry_after: retry_at.map(|t| secs_until(now, t)),
        retry_at: retry_at.map(ts),
        limits,
        restriction,
        warnings,
        duplicate: false,
        dry_run: dry,
    })
}

fn resolve_tier(policy: &Policy, st: &MemberState, asked: Option<&str>) -> Result<usize, RequestError> {
    match asked {
        Some(t) => policy
            .tier_index(t)
            .ok_or_else(|| RequestError::UnknownTier { tier: t.to_string(), known: policy.tiers.join(", ") }),
        // A stored tier the policy no longer knows falls back to the default.
        None => Ok(st.tier.as_deref().and_then(|t| policy.tier_index(t)).unwrap_or(policy.default_tier)),
    }
}

fn applies(limit: &Limit, req: &DecideRequest) -> bool {
    let has_note = req.note.as_deref().is_some_and(|n| !n.trim().is_empty());
    if limit.condition.note.is_some_and(|want| want != has_note) {
        return false;
    }
    if let Some(chs) = &limit.condition.channels {
        return req.channel.as_ref().is_some_and(|c| chs.contains(c));
    }
    true
}

/// True when a note carries something a reader could follow: a URL, `www.`, or a bare domain.
pub fn contains_link(note: &str) -> bool {
    const TLDS: [&str; 24] = [
        "com", "net", "org", "io", "co", "ly", "me", "info", "biz", "us", "uk", "de", "fr", "app", "dev", "ai", "gl",
        "gg", "xyz", "link", "site", "online", "ru", "cn",
    ];
    let lower = note.to_ascii_lowercase();
    if lower.contains("http://") || lower.contains("https://") || lower.contains("www.") {
        return true;
    }
    lower.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '<' || c == '>' || c == '"').any(|word| {
        let host = word.split('/').next().unwrap_or("").trim_end_matches(['.', ',', ';', ':', '!', '?']);
        match host.rsplit_once('.') {
            Some((name, tld)) => {
                !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                    && TLDS.contains(&tld)
            }
            None => false,
        }
    })
}

pub(crate) fn level_of(policy: &Policy, st: &MemberState, now: Ms) -> Level {
    let Some(rep) = &policy.reputation else { return Level::Basic };
    let c = rep_totals(rep, st, now);
    let reports = c[4] + c[5];
    let resolved = c[1] + c[2] + c[3] + c[4] + c[5];
    if reports >= rep.poor_reports {
        return Level::Poor;
    }
    if resolved < rep.min_resolved.max(1) {
        return Level::Basic;
    }
    let acceptance = f64::from(c[1]) / f64::from(resolved);
    if acceptance >= rep.good_acceptance {
        Level::Good
    } else if acceptance <= rep.poor_acceptance {
        Level::Poor
    } else {
        Level::Basic
    }
}

fn rep_totals(rep: &Reputation, st: &MemberState, now: Ms) -> [u32; 7] {
    let oldest = (now - rep.horizon).div_euclid(rep.bucket);
    let mut c = [0u32; 7];
    for b in st.reputation.iter().filter(|b| b.index >= oldest) {
        for (x, y) in c.iter_mut().zip(b.c) {
            *x = x.saturating_add(y);
        }
    }
    c
}

fn amount_for(
    policy: &Policy,
    limit: &Limit,
    tier: usize,
    st: &MemberState,
    now: Ms,
    level: &mut Option<Level>,
) -> u64 {
    if let Some((_, a)) = st.overrides.iter().find(|(k, _)| *k == limit.key) {
        return *a;
    }
    let rule = &limit.amount;
    let mut a = rule.tiers[tier].unwrap_or(rule.base);
    if rule.uses_reputation() {
        let lvl = *level.get_or_insert_with(|| level_of(policy, st, now));
        if let Some(r) = rule.reputation[lvl as usize] {
            a = r;
        }
    }
    if let (Some((age, max)), Some(created)) = (rule.young, st.created_at)
        && now - created < age
    {
        a = a.min(max);
    }
    a
}

/// A validated request: what every limit is evaluated against.
struct Ask<'a> {
    policy: &'a Policy,
    req: &'a DecideRequest,
    /// The action's index in the policy.
    action: usize,
    /// The member's tier, as resolved for this request.
    tier: usize,
    cost: u64,
    now: Ms,
}

/// Every limit of the action that applies to the request, evaluated for its cost.
fn evaluate_all(ask: &Ask<'_>, st: &MemberState) -> Vec<Eval> {
    let Ask { policy, req, action, tier, cost, now } = *ask;
    let mut level = None;
    policy.limits_by_action[action]
        .iter()
        .filter(|&&li| applies(&policy.limits[li], req))
        .map(|&li| {
            let limit = &policy.limits[li];
            let amount = amount_for(policy, limit, tier, st, now, &mut level);
            evaluate(policy, limit, li, st, now, amount, cost)
        })
        .collect()
}

fn counter(st: &MemberState, key: u32) -> Option<&WindowState> {
    st.counters.iter().find(|c| c.key == key).map(|c| &c.w)
}

/// GCRA emission interval: the period divided by the amount, rounded up to whole
/// milliseconds so that rounding can only make the limit stricter.
fn interval(period: Ms, amount: u64) -> Ms {
    let amount = amount.clamp(1, i64::MAX as u64) as i64;
    (period + amount - 1) / amount
}

fn evaluate(policy: &Policy, limit: &Limit, li: usize, st: &MemberState, now: Ms, amount: u64, cost: u64) -> Eval {
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

fn charge(limit: &Limit, st: &mut MemberState, e: &Eval, now: Ms, cost: u64) {
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

/// What an allowed request changes besides its limits: gauges and the reputation count of
/// invitations sent.
fn on_allowed(policy: &Policy, st: &mut MemberState, action: usize, cost: u64, now: Ms) {
    for g in &policy.gauges {
        if g.up_actions.contains(&action) {
            bump_gauge(st, g.key, cost as i64);
        }
    }
    if let Some(rep) = &policy.reputation
        && rep.action == Some(action)
    {
        rep_add(rep, st, now, REP_SENT, cost as u32);
    }
}

fn bump_gauge(st: &mut MemberState, key: u32, delta: i64) {
    match st.gauges.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => *v = v.saturating_add_signed(delta),
        None if delta > 0 => st.gauges.push((key, delta as u64)),
        None => {}
    }
    st.gauges.retain(|(_, v)| *v > 0);
}

fn rep_add(rep: &Reputation, st: &mut MemberState, now: Ms, slot: usize, n: u32) {
    let index = now.div_euclid(rep.bucket);
    match st.reputation.iter_mut().find(|b| b.index == index) {
        Some(b) => b.c[slot] = b.c[slot].saturating_add(n),
        None => {
            let mut b = RepBucket { index, c: [0; 7] };
            b.c[slot] = n;
            st.reputation.push(b);
            st.reputation.sort_by_key(|b| b.index);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn remember(
    policy: &Policy,
    st: &mut MemberState,
    id: Option<u64>,
    now: Ms,
    allowed: bool,
    reason: Reason,
    retry_at: Option<Ms>,
    limit: Option<u32>,
) {
    let Some(id) = id else { return };
    if st.recent.len() >= policy.idempotency_max {
        st.recent.remove(0);
    }
    st.recent.push(Recent { id, at: now, allowed, reason, retry_at, limit });
}

/// Imposes (or, for overage, extends) a restriction from penalty `p`.
fn impose(
    policy: &Policy,
    st: &mut MemberState,
    p: usize,
    trigger: u32,
    trigger_actions: &[usize],
    action: usize,
    now: Ms,
) {
    let pen = &policy.penalties[p];
    if let Some(r) = st.restrictions.iter_mut().find(|r| r.penalty == pen.key) {
        if let PenaltyKind::Overage { bands } = &pen.kind {
            r.extras = r.extras.saturating_add(1);
            r.until = Some(r.since + band_duration(bands, r.extras));
        }
        return;
    }
    let blocks: Vec<u32> = match &pen.blocks {
        Some(b) => b.iter().map(|&a| policy.action_key(a)).collect(),
        None if trigger_actions.is_empty() => vec![policy.action_key(action)],
        None => trigger_actions.iter().map(|&a| policy.action_key(a)).collect(),
    };
    let (until, extras) = match &pen.kind {
        PenaltyKind::Overage { bands } => (Some(now + band_duration(bands, 1)), 1),
        PenaltyKind::Escalation => {
            let ladder = &policy.escalation.ladder;
            let step = (st.offences.count as usize).min(ladder.len().saturating_sub(1));
            (Some(now + ladder.get(step).copied().unwrap_or(86_400_000)), 0)
        }
        PenaltyKind::Verification => (None, 0),
    };
    if !matches!(pen.kind, PenaltyKind::Verification) {
        st.offences = Offences { count: st.offences.count.saturating_add(1), last: now };
    }
    st.restrictions.push(Restriction {
        kind: pen.kind.tag(),
        penalty: pen.key,
        trigger,
        blocks,
        since: now,
        until,
        extras,
    });
}

fn band_duration(bands: &[Band], extras: u32) -> Ms {
    bands.iter().rev().find(|b| b.from <= extras).or(bands.first()).map_or(7 * 86_400_000, |b| b.duration)
}

/// Answers a repeated `request_id` with the first decision, without charging again.
fn repeat(ask: &Ask<'_>, st: &MemberState, r: &Recent) -> Decision {
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
        warnings,
        duplicate: true,
        dry_run: req.dry_run,
    }
}

fn status_of(policy: &Policy, e: &Eval, now: Ms) -> Option<LimitStatus> {
    if e.amount == UNLIMITED {
        return None;
    }
    let limit = &policy.limits[e.li];
    Some(LimitStatus {
        name: limit.name.clone(),
        kind: Cow::Borrowed(limit.window.kind()),
        amount: e.shown,
        used: e.used,
        remaining: e.remaining,
        resets_at: e.resets_at.map(ts),
        reset_after: e.resets_at.map(|t| secs_until(now, t)),
        window: limit.window.nominal_seconds(),
    })
}

fn statuses(policy: &Policy, evals: &[Eval], now: Ms) -> Vec<LimitStatus> {
    evals.iter().filter_map(|e| status_of(policy, e, now)).collect()
}

/// Statuses after charging: evaluated afresh from the new state.
fn restatus(policy: &Policy, st: &MemberState, evals: &[Eval], now: Ms) -> Vec<LimitStatus> {
    evals
        .iter()
        .filter_map(|e| {
            let fresh = evaluate(policy, &policy.limits[e.li], e.li, st, now, e.amount, 0);
            status_of(policy, &fresh, now)
        })
        .collect()
}

fn warnings(policy: &Policy, limits: &[LimitStatus]) -> Vec<Warning> {
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

fn restriction_view(policy: &Policy, r: &Restriction) -> RestrictionView {
    let penalty = policy.name_of_key(r.penalty);
    let cause = match r.kind {
        RestrictionKind::Overage => format!("{} attempts beyond {}", r.extras, policy.name_of_key(r.trigger)),
        RestrictionKind::Escalation => match policy.limit_by_key(r.trigger) {
            Some(l) => format!("too many actions: {} exceeded", l.name),
            None => "repeated offences".to_string(),
        },
        RestrictionKind::Verification if r.trigger == 0 => "identity verification required".to_string(),
        RestrictionKind::Verification => {
            format!("identity verification required after {}", policy.name_of_key(r.trigger))
        }
    };
    RestrictionView {
        kind: r.kind,
        penalty,
        cause,
        blocks: r.blocks.iter().map(|k| policy.name_of_key(*k)).collect(),
        since: ts(r.since),
        until: r.until.map(ts),
        extras: r.extras,
    }
}

#[allow(clippy::too_many_arguments)]
fn deny_message(
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
        Reason::Ok | Reason::StoreUnavailable => String::new(),
    };
    format!("{prefix}{body}{wait}")
}

/// Applies one outcome event at `now`.
///
/// ```
/// use pacekeeper_engine::{Policy, MemberState, Event, EventKind, apply_event};
/// let policy = Policy::preset("linkedin").unwrap();
/// let mut state = MemberState::default();
/// let ev = Event { member: "ada".into(), kind: EventKind::InvitationWithdrawn, target: Some("bob".into()), at: None, id: None };
/// let ack = apply_event(&policy, &mut state, &ev, "2026-11-23T09:00:00Z".parse().unwrap()).unwrap();
/// assert!(ack.effects.iter().any(|e| e.contains("cooldown")));
/// ```
pub fn apply_event(
    policy: &Policy,
    st: &mut MemberState,
    ev: &Event,
    now: Timestamp,
) -> Result<EventAck, RequestError> {
    let now = ms(now);
    validate_event(policy, ev)?;
    st.prune(policy, now);
    // Event ids live beside request ids; a prefix keeps the two spaces apart.
    let id = ev.id.as_deref().map(|id| key64(&format!("event\u{0}{id}")));
    if let Some(id) = id
        && st.recent.iter().any(|r| r.id == id)
    {
        return Ok(EventAck { accepted: true, kind: ev.kind, duplicate: true, effects: Vec::new() });
    }
    let mut effects = Vec::new();
    if let Some(rep) = &policy.reputation {
        let slot = match ev.kind {
            EventKind::InvitationAccepted => Some(1),
            EventKind::InvitationIgnored => Some(2),
            EventKind::InvitationDeclined => Some(3),
            EventKind::InvitationReportedUnknown => Some(4),
            EventKind::InvitationReportedSpam => Some(5),
            EventKind::InvitationWithdrawn => Some(6),
            _ => None,
        };
        if let Some(slot) = slot {
            let before = level_of(policy, st, now);
            rep_add(rep, st, now, slot, 1);
            let after = level_of(policy, st, now);
            if before != after {
                effects.push(format!("reputation {before:?} -> {after:?}").to_lowercase());
            }
        }
        if let (Some((n, p)), true) = (
            rep.verify_reports,
            matches!(ev.kind, EventKind::InvitationReportedUnknown | EventKind::InvitationReportedSpam),
        ) {
            let c = rep_totals(rep, st, now);
            let pen = &policy.penalties[p];
            if c[4] + c[5] >= n && !st.restrictions.iter().any(|r| r.penalty == pen.key) {
                let trigger_actions: Vec<usize> = rep.action.into_iter().collect();
                let action = rep.action.unwrap_or(0);
                impose(policy, st, p, 0, &trigger_actions, action, now);
                effects.push(format!("restriction imposed: {} ({} reports)", pen.name, c[4] + c[5]));
            }
        }
    }
    for g in &policy.gauges {
        if g.up_events & ev.kind.bit() != 0 {
            bump_gauge(st, g.key, 1);
            effects.push(format!("{} +1", g.name));
        }
        if g.down_events & ev.kind.bit() != 0 {
            bump_gauge(st, g.key, -1);
            effects.push(format!("{} -1", g.name));
        }
    }
    for c in policy.cooldowns.iter().filter(|c| c.after == ev.kind) {
        let Some(target) = ev.target.as_deref() else { continue };
        let target = key64(target);
        let action = policy.action_key(c.action);
        let until = now + c.period;
        match st.cooldowns.iter_mut().find(|x| x.action == action && x.target == target) {
            Some(x) => x.until = x.until.max(until),
            None => st.cooldowns.push(PairCooldown { action, target, until }),
        }
        effects.push(format!("{} to this target on cooldown until {}", policy.actions[c.action].name, ts(until)));
    }
    if ev.kind == EventKind::VerificationPassed {
        let n = end_restrictions(policy, st, now, Ending::Verified, |r| r.kind == RestrictionKind::Verification);
        if n > 0 {
            effects.push(format!("{n} verification restriction(s) lifted"));
        }
    }
    remember(policy, st, id, now, true, Reason::Ok, None, None);
    Ok(EventAck { accepted: true, kind: ev.kind, duplicate: false, effects })
}

/// Checks an event without applying it: what [`apply_event`] would refuse.
pub fn validate_event(policy: &Policy, ev: &Event) -> Result<(), RequestError> {
    let needs_target = policy.cooldowns.iter().any(|c| c.after == ev.kind);
    if needs_target && ev.target.as_deref().is_none_or(str::is_empty) {
        return Err(RequestError::TargetRequired(ev.kind.name()));
    }
    Ok(())
}

/// Ends the restrictions `which` selects, recording them in the history. Returns how many.
pub(crate) fn end_restrictions(
    policy: &Policy,
    st: &mut MemberState,
    now: Ms,
    ending: Ending,
    which: impl Fn(&Restriction) -> bool,
) -> usize {
    let (ended, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut st.restrictions).into_iter().partition(|r| which(r));
    st.restrictions = kept;
    for r in &ended {
        push_history(&mut st.history, policy.history_max, r, now, ending);
    }
    ended.len()
}

/// Everything about a member at `now`: usage of every limit, reputation, gauges and
/// restrictions. Does not change the state.
pub fn member_view(policy: &Policy, st: &MemberState, now: Timestamp) -> MemberView {
    let now = ms(now);
    let mut st = st.clone();
    st.prune(policy, now);
    let tier = resolve_tier(policy, &st, None).unwrap_or(policy.default_tier);
    let mut level = None;
    let limits = policy
        .limits
        .iter()
        .enumerate()
        .filter_map(|(li, l)| {
            let amount = amount_for(policy, l, tier, &st, now, &mut level);
            status_of(policy, &evaluate(policy, l, li, &st, now, amount, 0), now)
        })
        .collect();
    let c = policy.reputation.as_ref().map_or([0; 7], |rep| rep_totals(rep, &st, now));
    MemberView {
        tier: policy.tiers[tier].clone(),
        limits,
        reputation: ReputationView {
            level: level_of(policy, &st, now),
            sent: c[0],
            accepted: c[1],
            ignored: c[2],
            declined: c[3],
            reported_unknown: c[4],
            reported_spam: c[5],
            withdrawn: c[6],
        },
        gauges: policy
            .gauges
            .iter()
            .map(|g| GaugeView {
                name: g.name.to_string(),
                value: st.gauges.iter().find(|(k, _)| *k == g.key).map_or(0, |(_, v)| *v),
            })
            .collect(),
        restrictions: st.restrictions.iter().map(|r| restriction_view(policy, r)).collect(),
        history: st
            .history
            .iter()
            .map(|h| PastRestrictionView {
                kind: h.kind,
                penalty: policy.name_of_key(h.penalty),
                since: ts(h.since),
                ended: ts(h.ended),
                ending: h.ending,
                extras: h.extras,
            })
            .collect(),
        offences: st.offences.count,
        cooldowns: st.cooldowns.len(),
        overrides: st
            .overrides
            .iter()
            .map(|(k, a)| OverrideView { limit: policy.name_of_key(*k), amount: *a })
            .collect(),
    }
}
