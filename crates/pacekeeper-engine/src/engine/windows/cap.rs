//! Caps: a gauge (connections, pending invitations) that events move up and down; waiting
//! does not free a cap.

use super::*;

#[inline]
pub(super) fn evaluate(e: &mut Eval, st: &MemberState, gauge: u32, cost: u64) {
    e.used = st.gauges.iter().find(|(k, _)| *k == gauge).map_or(0, |(_, v)| *v);
    e.fits = e.amount == UNLIMITED || e.used.saturating_add(cost) <= e.amount;
    e.remaining = e.amount.saturating_sub(e.used);
}
