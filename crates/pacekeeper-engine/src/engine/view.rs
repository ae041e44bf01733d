//! A member's whole picture at an instant (`member_view`), changing nothing.

use super::*;

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
