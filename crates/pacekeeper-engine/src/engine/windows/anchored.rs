//! Anchored windows: a window opens at the first counted request and lasts `period` (seed
//! 003: "resets exactly seven days after your first invitation").

use super::*;

#[inline]
pub(super) fn evaluate(e: &mut Eval, w: Option<&WindowState>, period: Ms, now: Ms, cost: u64) {
    if let Some(WindowState::Anchored { start, used }) = w
        && start + period > now
    {
        e.used = *used;
        e.start = *start;
        e.resets_at = Some(start + period);
    }
    e.fits = e.amount == UNLIMITED || e.used + cost <= e.amount;
    if !e.fits && cost <= e.amount {
        e.retry_at = e.resets_at;
    }
    e.remaining = e.amount.saturating_sub(e.used);
}

#[inline]
pub(super) fn charge(w: Option<&WindowState>, period: Ms, now: Ms, cost: u64) -> WindowState {
    match w {
        Some(WindowState::Anchored { start, used }) if start + period > now => {
            WindowState::Anchored { start: *start, used: used + cost }
        }
        _ => WindowState::Anchored { start: now, used: cost },
    }
}

/// When the window opened at `start` closes: its usage matters until then.
#[inline]
pub(super) fn end(start: Ms, period: Ms) -> Ms {
    start + period
}
