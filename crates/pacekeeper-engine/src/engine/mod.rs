//! `decide` and `apply_event`: the rules of DESIGN §1, by rule family: window evaluation
//! (`windows`), reputation and amounts (`reputation`), restrictions (`penalties`), shaping
//! the answer (`answer`), outcome events (`events`), the member view (`view`); `decide`
//! itself is here.
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

mod answer;
mod events;
mod penalties;
mod reputation;
mod view;
mod windows;

pub use events::{apply_event, validate_event};
pub(crate) use penalties::end_restrictions;
pub use view::member_view;

use answer::*;
use events::*;
use penalties::*;
use reputation::*;
use windows::*;

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
