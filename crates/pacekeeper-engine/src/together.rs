//! Several requests of one member decided as one (a gateway's descriptors for one call):
//! every one allowed and charged, or nothing charged at all — to the member or, when the
//! requests count per organisation, to the organisation.

use jiff::Timestamp;

use crate::decision::{DecideRequest, Decision, RequestError};
use crate::engine::{decide, decide_with_organisation, release_reservation};
use crate::state::MemberState;

/// The organisation's side of a batch: its state and the batch's ticket (see
/// [`decide_with_organisation`]); request `i` reserves under `ticket + i`.
struct Org<'a> {
    state: &'a mut MemberState,
    ticket: Option<u64>,
}

/// Decides request `i` of a batch on the states given.
fn one(
    policy: &crate::Policy,
    st: &mut MemberState,
    org: Option<(&mut MemberState, Option<u64>)>,
    i: usize,
    r: &DecideRequest,
    now: Timestamp,
) -> Result<Decision, BatchError> {
    let d = match org {
        Some((o, ticket)) => decide_with_organisation(policy, st, o, ticket.map(|t| t.wrapping_add(i as u64)), r, now),
        None => decide(policy, st, r, now),
    };
    d.map_err(|error| BatchError { index: i, error })
}

/// A request of a batch the engine cannot evaluate, and its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request {index}: {error}")]
pub struct BatchError {
    /// The position of the request at fault.
    pub index: usize,
    /// What is wrong with it.
    #[source]
    pub error: RequestError,
}

/// Decides `reqs` (all of one member) in order, as one decision: when every one is allowed
/// all are charged; when one is denied nothing is charged, the denial is recorded as the
/// member's over-limit attempt only if that request alone would be denied too, and the other
/// answers say what each would get now (dry runs). Returns one decision per request, in order.
///
/// ```
/// use pacekeeper_engine::{decide_together, DecideRequest, MemberState, Policy};
/// let policy = Policy::preset("linkedin").unwrap();
/// let mut ada = MemberState::default();
/// let ask = |action: &str, cost| DecideRequest { member: "ada".into(), action: action.into(), cost: Some(cost), ..Default::default() };
/// let now = "2026-11-23T09:00:00Z".parse().unwrap();
/// let d = decide_together(&policy, &mut ada, &[ask("message", 1), ask("invite", 101)], now).unwrap();
/// assert!(d[0].allowed && !d[1].allowed);
/// let d = decide_together(&policy, &mut ada, &[ask("message", 1)], now).unwrap();
/// assert_eq!(d[0].limits[0].used, 1, "the first batch charged nothing");
/// ```
pub fn decide_together(
    policy: &crate::Policy,
    st: &mut MemberState,
    reqs: &[DecideRequest],
    now: Timestamp,
) -> Result<Vec<Decision>, BatchError> {
    together(policy, st, None, reqs, now)
}

/// [`decide_together`] for a member acting for an organisation: all or nothing across the
/// member and the organisation (`org`, with `ticket` as in [`decide_with_organisation`]).
pub fn decide_together_with_organisation(
    policy: &crate::Policy,
    st: &mut MemberState,
    org: &mut MemberState,
    ticket: Option<u64>,
    reqs: &[DecideRequest],
    now: Timestamp,
) -> Result<Vec<Decision>, BatchError> {
    together(policy, st, Some(Org { state: org, ticket }), reqs, now)
}

fn together(
    policy: &crate::Policy,
    st: &mut MemberState,
    mut org: Option<Org<'_>>,
    reqs: &[DecideRequest],
    now: Timestamp,
) -> Result<Vec<Decision>, BatchError> {
    if let [r] = reqs {
        let d = one(policy, st, org.as_mut().map(|o| (&mut *o.state, o.ticket)), 0, r, now)?;
        return Ok(vec![d]);
    }
    let mut work = st.clone();
    let mut work_org = org.as_ref().map(|o| o.state.clone());
    let mut out = Vec::with_capacity(reqs.len());
    for (i, r) in reqs.iter().enumerate() {
        let ticket = org.as_ref().and_then(|o| o.ticket);
        let d = one(policy, &mut work, work_org.as_mut().map(|o| (o, ticket)), i, r, now)?;
        if !d.allowed {
            // Every request must be valid before anything is recorded.
            for (j, later) in reqs.iter().enumerate().skip(i + 1) {
                decide(policy, &mut st.clone(), &preview(later), now)
                    .map_err(|error| BatchError { index: j, error })?;
            }
            if let Some(o) = &mut org {
                // An earlier run of this batch may have reserved: nothing stays charged.
                for (j, r) in reqs.iter().enumerate() {
                    release_reservation(policy, o.state, o.ticket.map(|t| t.wrapping_add(j as u64)), r, now);
                }
            }
            return deny_together(policy, st, reqs, i, d, now);
        }
        out.push(d);
    }
    *st = work;
    if let (Some(o), Some(w)) = (org, work_org) {
        *o.state = w;
    }
    Ok(out)
}

/// The answers of a batch whose request `k` was denied (`in_batch`): see [`decide_together`].
fn deny_together(
    policy: &crate::Policy,
    st: &mut MemberState,
    reqs: &[DecideRequest],
    k: usize,
    in_batch: Decision,
    now: Timestamp,
) -> Result<Vec<Decision>, BatchError> {
    let mut alone = st.clone();
    let by_itself = decide(policy, &mut alone, &reqs[k], now).map_err(|error| BatchError { index: k, error })?;
    let denial = if by_itself.allowed {
        in_batch
    } else {
        *st = alone;
        by_itself
    };
    let mut out = Vec::with_capacity(reqs.len());
    for (i, r) in reqs.iter().enumerate() {
        if i == k {
            out.push(denial.clone());
        } else {
            let d =
                decide(policy, &mut st.clone(), &preview(r), now).map_err(|error| BatchError { index: i, error })?;
            out.push(d);
        }
    }
    Ok(out)
}

fn preview(r: &DecideRequest) -> DecideRequest {
    DecideRequest { dry_run: true, ..r.clone() }
}
