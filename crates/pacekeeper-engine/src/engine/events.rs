//! Outcome events (`apply_event`) and the gauges and reputation that allowed actions and
//! events move.

use super::*;

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
        on_outcome(policy, rep, st, ev.kind, now, &mut effects);
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
    remember(policy, st, id, now, Remembered::ALLOWED);
    Ok(EventAck { accepted: true, kind: ev.kind, duplicate: false, effects })
}

/// What an invitation's outcome changes: its count, the level it gives, and the penalties
/// reports impose once they are many (verification, a challenge).
fn on_outcome(
    policy: &Policy,
    rep: &Reputation,
    st: &mut MemberState,
    kind: EventKind,
    now: Ms,
    effects: &mut Vec<String>,
) {
    let field: fn(&mut Outcomes) -> &mut u32 = match kind {
        EventKind::InvitationAccepted => |c| &mut c.accepted,
        EventKind::InvitationIgnored => |c| &mut c.ignored,
        EventKind::InvitationDeclined => |c| &mut c.declined,
        EventKind::InvitationReportedUnknown => |c| &mut c.reported_unknown,
        EventKind::InvitationReportedSpam => |c| &mut c.reported_spam,
        EventKind::InvitationWithdrawn => |c| &mut c.withdrawn,
        _ => return,
    };
    let before = level_of(policy, st, now);
    rep_add(rep, st, now, field, 1);
    let after = level_of(policy, st, now);
    if before != after {
        effects.push(format!("reputation {before:?} -> {after:?}").to_lowercase());
    }
    if !matches!(kind, EventKind::InvitationReportedUnknown | EventKind::InvitationReportedSpam) {
        return;
    }
    let reports = rep_totals(rep, st, now).reports();
    for &(n, p) in &rep.report_penalties {
        let pen = &policy.penalties[p];
        if reports >= n && !st.restrictions.iter().any(|r| r.penalty == pen.key) {
            let trigger_actions: Vec<usize> = rep.action.into_iter().collect();
            impose(policy, st, p, 0, &trigger_actions, rep.action.unwrap_or(0), now);
            effects.push(format!("restriction imposed: {} ({reports} reports)", pen.name));
        }
    }
}

/// Checks an event without applying it: what [`apply_event`] would refuse.
pub fn validate_event(policy: &Policy, ev: &Event) -> Result<(), RequestError> {
    let needs_target = policy.cooldowns.iter().any(|c| c.after == ev.kind);
    if needs_target && ev.target.as_deref().is_none_or(str::is_empty) {
        return Err(RequestError::TargetRequired(ev.kind.name()));
    }
    Ok(())
}

pub(super) fn bump_gauge(st: &mut MemberState, key: u32, delta: i64) {
    match st.gauges.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => *v = v.saturating_add_signed(delta),
        None if delta > 0 => st.gauges.push((key, delta as u64)),
        None => {}
    }
    st.gauges.retain(|(_, v)| *v > 0);
}

/// What an allowed request changes besides its limits: gauges and the reputation count of
/// invitations sent.
pub(super) fn on_allowed(policy: &Policy, st: &mut MemberState, action: usize, cost: u64, now: Ms) {
    for g in &policy.gauges {
        if g.up_actions.contains(&action) {
            bump_gauge(st, g.key, cost as i64);
        }
    }
    if let Some(rep) = &policy.reputation
        && rep.action == Some(action)
    {
        rep_add(rep, st, now, |c| &mut c.sent, cost as u32);
    }
}
