//! Reputation: outcome counts over the policy's horizon, the level they give, and the
//! amount a limit allows a member (tier, level, account age, overrides).

use super::*;

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

pub(super) fn rep_totals(rep: &Reputation, st: &MemberState, now: Ms) -> [u32; 7] {
    let oldest = (now - rep.horizon).div_euclid(rep.bucket);
    let mut c = [0u32; 7];
    for b in st.reputation.iter().filter(|b| b.index >= oldest) {
        for (x, y) in c.iter_mut().zip(b.c) {
            *x = x.saturating_add(y);
        }
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

pub(super) fn rep_add(rep: &Reputation, st: &mut MemberState, now: Ms, slot: usize, n: u32) {
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
