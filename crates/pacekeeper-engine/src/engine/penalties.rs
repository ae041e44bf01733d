//! Restrictions: imposing one (overage bands, the escalation ladder, verification), ending
//! them, and showing them.

use super::*;

/// Imposes (or, for overage, extends) a restriction from penalty `p`.
pub(super) fn impose(
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
        PenaltyKind::Challenge { period, .. } => (Some(now + period), 0),
    };
    // Verification and challenges ask for proof; they are not offences on the ladder.
    if !matches!(pen.kind, PenaltyKind::Verification | PenaltyKind::Challenge { .. }) {
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

/// The penalties a denied attempt feeds: the content rule it tripped, and one extra on each
/// overage ladder it touches — a limit it exceeds, or a running overage restriction whose
/// limits count this request.
pub(super) fn impose_for_denial(ask: &Ask<'_>, st: &mut MemberState, gate: &Gate, evals: &[Eval]) {
    let Ask { policy, action, now, .. } = *ask;
    if let Some(p) = gate.content_penalty {
        impose(policy, st, p, 0, &policy.limits_by_action[action], action, now);
    }
    let mut overage: Vec<(usize, u32)> = Vec::new();
    for e in evals.iter().filter(|e| !e.fits) {
        if let Some(p) = policy.limits[e.li].penalty
            && !overage.iter().any(|(x, _)| *x == p)
        {
            overage.push((p, policy.limits[e.li].key));
        }
    }
    let action_key = policy.action_key(action);
    for r in st.restrictions.iter().filter(|r| r.kind == RestrictionKind::Overage && r.blocks.contains(&action_key)) {
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

pub(super) fn band_duration(bands: &[Band], extras: u32) -> Ms {
    bands.iter().rev().find(|b| b.from <= extras).or(bands.first()).map_or(7 * 86_400_000, |b| b.duration)
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

pub(super) fn restriction_view(policy: &Policy, r: &Restriction) -> RestrictionView {
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
        RestrictionKind::Challenge => match policy.penalties.iter().find(|p| p.key == r.penalty).map(|p| &p.kind) {
            Some(PenaltyKind::Challenge { proof, .. }) => {
                format!("each request needs {} (too many reports)", proof.name())
            }
            _ => "each request needs a proof".to_string(),
        },
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
