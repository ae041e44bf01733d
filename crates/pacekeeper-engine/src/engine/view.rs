//! A member's whole picture at an instant (`member_view`), and an organisation's usage
//! (`organisation_view`), changing nothing.

use super::*;

/// Everything about a member at `now`: usage of every limit, reputation, gauges and
/// restrictions. Does not change the state.
pub fn member_view(policy: &Policy, st: &MemberState, now: Timestamp) -> MemberView {
    let now = ms(now);
    let mut st = st.clone();
    st.prune(policy, now);
    let tier = resolve_tier(policy, &st, None).unwrap_or(policy.default_tier);
    let limits = usage(policy, &st, tier, Scope::Member, now);
    let c = policy.reputation.as_ref().map_or_else(Outcomes::default, |rep| rep_totals(rep, &st, now));
    MemberView {
        tier: policy.tiers[tier].clone(),
        organisation: st.organisation.clone(),
        limits,
        reputation: ReputationView {
            level: level_of(policy, &st, now),
            sent: c.sent,
            accepted: c.accepted,
            ignored: c.ignored,
            declined: c.declined,
            reported_unknown: c.reported_unknown,
            reported_spam: c.reported_spam,
            withdrawn: c.withdrawn,
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
        overrides: overrides(policy, &st),
    }
}

/// An organisation's usage of its limits at `now`. Does not change the state.
pub fn organisation_view(policy: &Policy, st: &MemberState, now: Timestamp) -> OrganisationView {
    let now = ms(now);
    let mut st = st.clone();
    st.prune(policy, now);
    let tier = org_tier(policy, &st);
    let limits = usage(policy, &st, tier, Scope::Organisation, now);
    OrganisationView { tier: policy.tiers[tier].clone(), limits, overrides: overrides(policy, &st) }
}

/// Every limit of `scope` as it stands for `st` at `now` (unlimited ones left out).
fn usage(policy: &Policy, st: &MemberState, tier: usize, scope: Scope, now: Ms) -> Vec<LimitStatus> {
    let mut level = None;
    let limits = policy.limits.iter().enumerate().filter(|(_, l)| l.scope == scope);
    limits
        .filter_map(|(li, l)| {
            let amount = amount_for(policy, l, tier, st, now, &mut level);
            status_of(policy, &evaluate(policy, l, li, st, now, amount, 0), now)
        })
        .collect()
}

fn overrides(policy: &Policy, st: &MemberState) -> Vec<OverrideView> {
    st.overrides.iter().map(|(k, a)| OverrideView { limit: policy.name_of_key(*k), amount: *a }).collect()
}
