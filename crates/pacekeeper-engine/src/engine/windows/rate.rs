//! Rate limits (GCRA): an amount per period, evenly spaced, with a burst.

use super::*;

/// The emission interval: the period divided by the amount, rounded up to whole
/// milliseconds so that rounding can only make the limit stricter.
#[inline]
pub(crate) fn interval(period: Ms, amount: u64) -> Ms {
    let amount = amount.clamp(1, i64::MAX as u64) as i64;
    (period + amount - 1) / amount
}

/// The theoretical arrival time at `now`.
#[inline]
fn tat(w: Option<&WindowState>, now: Ms) -> Ms {
    match w {
        Some(WindowState::Rate { tat }) => (*tat).max(now),
        _ => now,
    }
}

#[inline]
pub(super) fn evaluate(e: &mut Eval, w: Option<&WindowState>, period: Ms, burst: u64, now: Ms, cost: u64) {
    let unlimited = e.amount == UNLIMITED;
    let t = interval(period, e.amount);
    let tat = tat(w, now);
    let new_tat = tat.saturating_add(t.saturating_mul(cost as i64));
    let horizon = t.saturating_mul(burst as i64);
    e.used = ((tat - now) as u64).div_ceil(t as u64);
    e.remaining = burst.saturating_sub(e.used);
    e.resets_at = (tat > now).then_some(tat);
    e.fits = unlimited || new_tat - now <= horizon;
    if !e.fits && cost <= burst {
        e.retry_at = Some(new_tat - horizon);
    }
    e.shown = if unlimited { e.amount } else { burst };
}

#[inline]
pub(super) fn charge(w: Option<&WindowState>, period: Ms, amount: u64, now: Ms, cost: u64) -> WindowState {
    WindowState::Rate { tat: tat(w, now) + interval(period, amount) * cost as i64 }
}
