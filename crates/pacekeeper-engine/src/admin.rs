//! Administrative changes to a member (tier, organisation, account age, overrides, lifting,
//! credits) and to an organisation (tier, overrides: the same record).
//!
//! Like the rest of the engine these are pure functions of `(policy, state, input, now)`.

use jiff::Timestamp;

pub use pacekeeper_api::{AmountValue, MemberUpdate, OrganisationUpdate, Unlimited};

use crate::decision::RequestError;
use crate::engine::end_restrictions;
use crate::policy::{Policy, RestrictionKind, Scope, Window};
use crate::state::{Ending, MemberState};
use crate::time::ms;

/// Applies a member update. Validates everything before changing anything.
pub fn update_member(policy: &Policy, st: &mut MemberState, u: &MemberUpdate) -> Result<(), RequestError> {
    if let Some(t) = &u.tier
        && policy.tier_index(t).is_none()
    {
        return Err(RequestError::UnknownTier { tier: t.clone(), known: policy.tiers.join(", ") });
    }
    let mut keys = Vec::new();
    if let Some(o) = &u.overrides {
        for (name, v) in o {
            let limit =
                policy.limits.iter().find(|l| &*l.name == name.as_str()).ok_or_else(|| RequestError::UnknownLimit {
                    limit: name.clone(),
                    known: policy.limit_names().collect::<Vec<_>>().join(", "),
                })?;
            keys.push((limit.key, v.map(AmountValue::get)));
        }
    }
    if let Some(t) = &u.tier {
        st.tier = Some(t.clone());
    }
    if let Some(o) = &u.organisation {
        st.organisation = (!o.is_empty()).then(|| o.clone());
    }
    if let Some(c) = u.created_at {
        st.created_at = Some(ms(c));
    }
    for (key, v) in keys {
        st.overrides.retain(|(k, _)| *k != key);
        if let Some(v) = v {
            st.overrides.push((key, v));
        }
    }
    Ok(())
}

/// Applies an organisation update: its tier and overrides, which must name limits that count
/// per organisation. Validates everything before changing anything.
pub fn update_organisation(policy: &Policy, st: &mut MemberState, u: &OrganisationUpdate) -> Result<(), RequestError> {
    for name in u.overrides.iter().flat_map(|o| o.keys()) {
        if policy.limits.iter().any(|l| &*l.name == name.as_str() && l.scope == Scope::Member) {
            let known = policy.limits.iter().filter(|l| l.scope == Scope::Organisation).map(|l| &*l.name);
            return Err(RequestError::UnknownLimit {
                limit: name.clone(),
                known: known.collect::<Vec<_>>().join(", "),
            });
        }
    }
    let as_member = MemberUpdate { tier: u.tier.clone(), overrides: u.overrides.clone(), ..MemberUpdate::default() };
    update_member(policy, st, &as_member)
}

/// Lifts every restriction (an admin's decision); verification restrictions too.
/// Returns how many were lifted.
pub fn lift(policy: &Policy, st: &mut MemberState, now: Timestamp) -> usize {
    let now = ms(now);
    st.prune(policy, now);
    end_restrictions(policy, st, now, Ending::Lifted, |_| true)
}

/// Records a passed verification: lifts verification restrictions. Returns how many.
pub fn verify(policy: &Policy, st: &mut MemberState, now: Timestamp) -> usize {
    let now = ms(now);
    st.prune(policy, now);
    end_restrictions(policy, st, now, Ending::Verified, |r| r.kind == RestrictionKind::Verification)
}

/// Adds purchased or granted credits to a credits limit; they outlast the period.
/// Returns the new bonus balance.
pub fn grant_credits(policy: &Policy, st: &mut MemberState, limit: &str, amount: u64) -> Result<u64, RequestError> {
    let l = policy.limits.iter().find(|l| &*l.name == limit).ok_or_else(|| RequestError::UnknownLimit {
        limit: limit.to_string(),
        known: policy.limit_names().collect::<Vec<_>>().join(", "),
    })?;
    if !matches!(l.window, Window::Credits(_)) {
        return Err(RequestError::NotCredits(limit.to_string()));
    }
    let balance = match st.bonus.iter_mut().find(|(k, _)| *k == l.key) {
        Some((_, b)) => {
            *b = b.saturating_add(amount);
            *b
        }
        None => {
            st.bonus.push((l.key, amount));
            amount
        }
    };
    st.bonus.retain(|(_, b)| *b > 0);
    Ok(balance)
}
