//! What stands before the limits: restrictions in force on the action (overage, escalation,
//! verification, challenges), a pair cooldown on the target, and a content rule the request
//! trips. A request passes the gate or is denied whatever its limits say.

use super::*;

/// The gate as it stands for one request.
pub(super) struct Gate {
    /// A restriction other than verification or a challenge blocks the action.
    pub restricted: bool,
    /// A verification restriction blocks the action.
    pub verification: bool,
    /// A challenge is in force on the action and the request lacks its proof.
    pub challenge: Option<Proof>,
    /// A cooldown on this target runs until then.
    pub cooldown_until: Option<Ms>,
    /// The penalty a content rule imposes on this request.
    pub content_penalty: Option<usize>,
}

impl Gate {
    #[inline]
    pub(super) fn at(ask: &Ask<'_>, st: &MemberState) -> Gate {
        let key = ask.policy.action_key(ask.action);
        let on_action = || st.restrictions.iter().filter(move |r| r.blocks.contains(&key));
        let target = ask.req.target.as_deref().map(key64);
        Gate {
            restricted: on_action()
                .any(|r| !matches!(r.kind, RestrictionKind::Verification | RestrictionKind::Challenge)),
            verification: on_action().any(|r| r.kind == RestrictionKind::Verification),
            challenge: on_action().find_map(|r| unmet_challenge(ask, r)),
            cooldown_until: target
                .and_then(|t| st.cooldowns.iter().find(|c| c.action == key && c.target == t).map(|c| c.until)),
            content_penalty: content_penalty(ask),
        }
    }

    /// Nothing stands in the way: the limits decide.
    pub(super) fn open(&self) -> bool {
        !self.restricted
            && !self.verification
            && self.challenge.is_none()
            && self.cooldown_until.is_none()
            && self.content_penalty.is_none()
    }
}

/// The proof a challenge restriction asks for when the request does not carry it; `None`
/// for other restrictions, a met challenge, or one whose penalty left the policy.
pub(super) fn unmet_challenge(ask: &Ask<'_>, r: &Restriction) -> Option<Proof> {
    if r.kind != RestrictionKind::Challenge {
        return None;
    }
    let pen = ask.policy.penalties.iter().find(|p| p.key == r.penalty)?;
    let PenaltyKind::Challenge { proof, .. } = pen.kind else { return None };
    (ask.req.challenge_passed.as_deref() != Some(proof.name())).then_some(proof)
}

/// The restrictions that stop this request: those on its action, bar challenges it meets.
pub(super) fn blocking<'s>(ask: &Ask<'_>, st: &'s MemberState) -> Vec<&'s Restriction> {
    let key = ask.policy.action_key(ask.action);
    st.restrictions
        .iter()
        .filter(|r| r.blocks.contains(&key))
        .filter(|r| r.kind != RestrictionKind::Challenge || unmet_challenge(ask, r).is_some())
        .collect()
}
