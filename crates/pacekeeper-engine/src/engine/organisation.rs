//! Organisations: limits that count per organisation, shared by its members on top of their
//! own (seed 002: "on a per-user or per-organization basis").
//!
//! A decision that involves an organisation is all-or-nothing across both subjects: nothing
//! is charged to either unless every limit of both has room. Stores that update both states
//! in one step run the decision once. Stores that cannot (Redis Cluster, where the two keys
//! live on different slots) write the organisation first, then the member: the
//! organisation's charge is a reservation under a ticket, so a rerun of the same decision
//! (the member's write lost a race) finds it and does not charge again, and a rerun that
//! ends denied takes it back. The organisation never counts more than it admitted; a process
//! that dies between the two writes leaves a reservation that counts until its window ends
//! (it under-admits, never over-admits).

use super::*;

/// The organisation's side of a decision.
pub(super) struct OrgSide<'a> {
    /// The organisation's id (for its enforced share).
    pub id: &'a str,
    pub state: &'a mut MemberState,
    /// The reservation ticket, for stores that write the two subjects one after the other;
    /// `None` when they are written together.
    pub ticket: Option<u64>,
}

impl OrgSide<'_> {
    /// This decision already charged the organisation (an earlier run of it was written).
    fn held(&self) -> bool {
        self.ticket.is_some_and(|t| self.state.tickets.iter().any(|k| k.id == t))
    }
}

/// The tier of an organisation's limits: its record's, else the policy's default.
pub(super) fn org_tier(policy: &Policy, st: &MemberState) -> usize {
    st.tier.as_deref().and_then(|t| policy.tier_index(t)).unwrap_or(policy.default_tier)
}

/// Appends the organisation's limits of the request to `out`. A held reservation has room:
/// its charge is already in the counts.
pub(super) fn evaluate_org(ask: &Ask<'_>, org: &OrgSide<'_>, out: &mut Vec<Eval>) {
    let org_ask = Ask { tier: org_tier(ask.policy, org.state), ..*ask };
    let from = out.len();
    evaluate_scope(&org_ask, org.state, Scope::Organisation, org.id, out);
    if org.held() {
        out[from..].iter_mut().for_each(|e| e.fits = true);
    }
}

/// Charges the organisation for an allowed request, once.
pub(super) fn reserve(ask: &Ask<'_>, org: &mut OrgSide<'_>, evals: &[Eval]) {
    if org.held() {
        return;
    }
    let policy = ask.policy;
    for e in evals.iter().filter(|e| policy.limits[e.li].scope == Scope::Organisation) {
        charge(&policy.limits[e.li], org.state, e, ask.now, ask.cost);
    }
    if let Some(id) = org.ticket {
        org.state.tickets.push(Ticket { id, at: ask.now });
    }
}

/// Takes back a held reservation: the decision it was made for ended denied (or repeated an
/// earlier answer). Returns whether there was one.
pub(super) fn release(ask: &Ask<'_>, org: &mut OrgSide<'_>) -> bool {
    if !org.held() {
        return false;
    }
    let mut held = Vec::new();
    evaluate_org(ask, org, &mut held);
    for e in &held {
        refund(&ask.policy.limits[e.li], org.state, e.amount, ask.now, ask.cost);
    }
    org.state.tickets.retain(|k| Some(k.id) != org.ticket);
    true
}

/// Releases the reservation `ticket` holds for `req` in an organisation's state, if any (a
/// batch denied as a whole). Changes nothing otherwise.
pub(crate) fn release_reservation(
    policy: &Policy,
    org: &mut MemberState,
    ticket: Option<u64>,
    req: &DecideRequest,
    now: Timestamp,
) {
    let Some(id) = ticket else { return };
    let Ok(ask) = checked(policy, &MemberState::default(), req, ms(now)) else { return };
    let org_id = req.organisation.as_deref().unwrap_or_default();
    release(&ask, &mut OrgSide { id: org_id, state: org, ticket: Some(id) });
}
