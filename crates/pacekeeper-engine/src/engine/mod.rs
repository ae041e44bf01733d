//! `decide` and `apply_event`: the rules of DESIGN §1, one file per rule family:
//! - `windows`: each window kind's evaluation, charge and refund;
//! - `organisation`: limits counted per organisation, and their reservations;
//! - `gate`: what stands before the limits (restrictions, challenges, cooldowns);
//! - `content`: content rules (links in notes);
//! - `penalties`: imposing and ending restrictions;
//! - `reputation`: outcome counts, levels and the amount a limit allows;
//! - `idempotency`: request ids and repeated answers;
//! - `verdict`: why a denial is one (reason, retry, binding limit);
//! - `answer`: statuses, warnings and messages;
//! - `events`: outcome events; `view`: the member and organisation views.
//!
//! `decide` itself is here, as a pipeline: check the request, prune, answer a repeat, read
//! the gate, evaluate every limit, then allow or deny. Each takes the policy, the states,
//! the input and `now`, and changes the states in place. On `Err` nothing is changed; a
//! dry run works on copies.

use std::borrow::Cow;
use std::sync::Arc;

use jiff::Timestamp;

use crate::decision::*;
use crate::policy::*;
use crate::state::*;
use crate::time::{Ms, human, key32, key64, ms, secs_until, ts};

mod answer;
mod content;
mod events;
mod gate;
mod idempotency;
mod organisation;
mod penalties;
mod reputation;
mod verdict;
mod view;
mod windows;

pub use content::contains_link;
pub use events::{apply_event, validate_event};
pub(crate) use organisation::release_reservation;
pub(crate) use penalties::end_restrictions;
pub use view::{member_view, organisation_view};
pub(crate) use windows::{end as counter_end, keep as keep_counter};

use answer::*;
use content::*;
use events::*;
use gate::*;
use idempotency::*;
use organisation::*;
use penalties::*;
use reputation::*;
use verdict::*;
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
    run(policy, st, None, req, now)
}

/// Decides one request of a member acting for an organisation: the member's limits and the
/// organisation's (`scope = "organisation"`) together, all or nothing. `org` is the
/// organisation's state. `ticket` is `None` when the store writes both states in one step;
/// otherwise a number unique to this decision, the same on every rerun of it (see the
/// organisation module: reserve, then commit).
///
/// ```
/// use pacekeeper_engine::{Policy, MemberState, DecideRequest, decide_with_organisation};
/// let policy = Policy::from_toml("team.toml", r#"
/// name = "team"
/// tiers = ["free"]
/// default_tier = "free"
/// actions = ["message"]
/// [[limit]]
/// name = "team_hourly_messages"
/// scope = "organisation"
/// actions = ["message"]
/// window = { kind = "sliding", period = "60m", granularity = "1m" }
/// amount = 2
/// "#).unwrap();
/// let (mut ada, mut bob, mut acme) = (MemberState::default(), MemberState::default(), MemberState::default());
/// let ask = |m: &str| DecideRequest { member: m.into(), action: "message".into(), organisation: Some("acme".into()), ..Default::default() };
/// let now = "2026-11-23T09:00:00Z".parse().unwrap();
/// assert!(decide_with_organisation(&policy, &mut ada, &mut acme, None, &ask("ada"), now).unwrap().allowed);
/// assert!(decide_with_organisation(&policy, &mut bob, &mut acme, None, &ask("bob"), now).unwrap().allowed);
/// let d = decide_with_organisation(&policy, &mut ada, &mut acme, None, &ask("ada"), now).unwrap();
/// assert_eq!(d.limit.as_deref(), Some("team_hourly_messages"));
/// ```
pub fn decide_with_organisation(
    policy: &Policy,
    member: &mut MemberState,
    org: &mut MemberState,
    ticket: Option<u64>,
    req: &DecideRequest,
    now: Timestamp,
) -> Result<Decision, RequestError> {
    // The request's organisation is borrowed; only one from the member record is copied.
    let from_record;
    let id = match req.organisation.as_deref() {
        Some(id) => id,
        None => {
            from_record = member.organisation.clone().unwrap_or_default();
            &from_record
        }
    };
    run(policy, member, Some(OrgSide { id, state: org, ticket }), req, now)
}

/// The pipeline both entry points share.
#[inline]
fn run(
    policy: &Policy,
    st: &mut MemberState,
    org: Option<OrgSide<'_>>,
    req: &DecideRequest,
    now: Timestamp,
) -> Result<Decision, RequestError> {
    let ask = checked(policy, st, req, ms(now))?;
    // A dry run changes nothing at all, not even by pruning: it works on scratch copies.
    let (mut member_copy, mut org_copy);
    let (st, mut org) = match (req.dry_run, org) {
        (false, org) => (st, org),
        (true, None) => {
            member_copy = st.clone();
            (&mut member_copy, None)
        }
        (true, Some(o)) => {
            member_copy = st.clone();
            org_copy = o.state.clone();
            (&mut member_copy, Some(OrgSide { state: &mut org_copy, ..o }))
        }
    };
    st.prune(policy, ask.now);
    if let Some(o) = &mut org {
        o.state.prune(policy, ask.now);
    }
    let request_id = req.request_id.as_deref().map(key64);
    if let Some(r) = recall(st, request_id) {
        org.as_mut().map(|o| release(&ask, o));
        return Ok(repeat(&ask, st, &r));
    }
    let gate = Gate::at(&ask, st);
    let mut evals = evaluate_all(&ask, st);
    if let Some(o) = &org {
        evaluate_org(&ask, o, &mut evals);
    }
    if gate.open() && evals.iter().all(|e| e.fits) {
        return Ok(allow(&ask, st, org, &evals, request_id));
    }
    if let Some(o) = &mut org
        && release(&ask, o)
    {
        evals.retain(|e| policy.limits[e.li].scope == Scope::Member);
        evaluate_org(&ask, o, &mut evals);
    }
    Ok(deny(&ask, st, &gate, &evals, request_id))
}

/// The request, checked against the policy: its action, tier, channel and cost.
#[inline]
fn checked<'a>(policy: &'a Policy, st: &MemberState, req: &'a DecideRequest, now: Ms) -> Result<Ask<'a>, RequestError> {
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
    Ok(Ask { policy, req, action, tier, cost, now })
}

/// Allows the request: charges every limit of both subjects (unless a dry run).
#[inline]
fn allow(
    ask: &Ask<'_>,
    st: &mut MemberState,
    mut org: Option<OrgSide<'_>>,
    evals: &[Eval],
    request_id: Option<u64>,
) -> Decision {
    let Ask { policy, action, cost, now, .. } = *ask;
    let dry = ask.req.dry_run;
    if !dry {
        for e in evals.iter().filter(|e| policy.limits[e.li].scope == Scope::Member) {
            charge(&policy.limits[e.li], st, e, now, cost);
        }
        if let Some(o) = &mut org {
            reserve(ask, o, evals);
        }
        on_allowed(policy, st, action, cost, now);
        remember(policy, st, request_id, now, Remembered::ALLOWED);
    }
    let limits = match dry {
        true => statuses(policy, evals, now),
        false => restatus(policy, st, org.as_ref().map(|o| &*o.state), evals, now),
    };
    let warnings = warnings(policy, &limits);
    let limit = most_constrained(&limits).map(|l| l.name.clone());
    Decision {
        allowed: true,
        reason: Reason::Ok,
        message: Cow::Borrowed(if dry { "would be allowed" } else { "allowed" }),
        limit,
        retry_after: None,
        retry_at: None,
        limits,
        restriction: None,
        challenge: None,
        warnings,
        duplicate: false,
        dry_run: dry,
    }
}

/// Denies the request: charges nothing, feeds the penalties this attempt touches (unless a
/// dry run) and says why.
fn deny(ask: &Ask<'_>, st: &mut MemberState, gate: &Gate, evals: &[Eval], request_id: Option<u64>) -> Decision {
    let (policy, now, dry) = (ask.policy, ask.now, ask.req.dry_run);
    if !dry {
        impose_for_denial(ask, st, gate, evals);
    }
    let failing: Vec<&Eval> = evals.iter().filter(|e| !e.fits).collect();
    let v = verdict(ask, st, gate, &failing);
    let limits = statuses(policy, evals, now);
    let message = deny_message(
        v.reason,
        &ask.req.action,
        v.binding.as_deref(),
        &limits,
        v.restriction.as_ref(),
        v.retry_at,
        now,
        dry,
    );
    if !dry {
        let limit = v.binding.as_deref().map(key32);
        remember(
            policy,
            st,
            request_id,
            now,
            Remembered { allowed: false, reason: v.reason, retry_at: v.retry_at, limit },
        );
    }
    let warnings = warnings(policy, &limits);
    Decision {
        allowed: false,
        reason: v.reason,
        message: Cow::Owned(message),
        limit: v.binding,
        retry_after: v.retry_at.map(|t| secs_until(now, t)),
        retry_at: v.retry_at.map(ts),
        limits,
        restriction: v.restriction,
        challenge: v.challenge.map(|p| Cow::Borrowed(p.name())),
        warnings,
        duplicate: false,
        dry_run: dry,
    }
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
