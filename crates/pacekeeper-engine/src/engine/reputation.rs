//! Reputation: outcome counts over the policy's horizon, the level they give, and the
//! amount a limit allows a member (tier, level, account age, overrides).

use super::*;

pub(crate) fn level_of(policy: &Policy, st: &MemberState, now: Ms) -> Level {
    let Some(rep) = &policy.reputation else { return Level::Basic };
    let c = rep_totals(rep, st, now);
    let resolved = c.resolved();
    if c.reports() >= rep.poor_reports {
        return Level::Poor;
    }
    if resolved < rep.min_resolved.max(1) {
        return Level::Basic;
    }
    let acceptance = f64::from(c.accepted) / f64::from(resolved);
    if acceptance >= rep.good_acceptance {
        Level::Good
    } else if acceptance <= rep.poor_acceptance {
        Level::Poor
    } else {
        Level::Basic
    }
}

/// The outcomes counted over the horizon at `now`.
pub(super) fn rep_totals(rep: &Reputation, st: &MemberState, now: Ms) -> Outcomes {
    let oldest = (now - rep.horizon).div_euclid(rep.bucket);
    let mut c = Outcomes::default();
    for b in st.reputation.iter().filter(|b| b.index >= oldest) {
        c.add(&b.c);
    }
    c
}

pub(super) fn amount_for(
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

/// Adds `n` to the outcome `field` selects in the bucket of `now`.
pub(super) fn rep_add(rep: &Reputation, st: &mut MemberState, now: Ms, field: fn(&mut Outcomes) -> &mut u32, n: u32) {
    let index = now.div_euclid(rep.bucket);
    // Buckets are kept oldest first.
    let at = match st.reputation.binary_search_by_key(&index, |b| b.index) {
        Ok(i) => i,
        Err(i) => {
            st.reputation.insert(i, RepBucket { index, c: Outcomes::default() });
            i
        }
    };
    let count = field(&mut st.reputation[at].c);
    *count = count.saturating_add(n);
}
