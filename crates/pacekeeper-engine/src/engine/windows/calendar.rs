//! Calendar windows: fixed periods in a time zone (every Monday 00:01 Pacific, seed 000;
//! a calendar day or month), and credits granted per such period.

use super::*;

/// The calendar window at `now` and its usage: the stored one while it lasts, else a new one.
#[inline]
fn current(stored: Option<(Ms, Ms, u64)>, cal: &Calendar, now: Ms) -> (Ms, Ms, u64) {
    match stored {
        Some((start, end, used)) if start <= now && now < end => (start, end, used),
        _ => {
            let (start, end) = cal.window_at(now);
            (start, end, 0)
        }
    }
}

#[inline]
pub(super) fn evaluate(e: &mut Eval, w: Option<&WindowState>, cal: &Calendar, now: Ms, cost: u64) {
    let stored = match w {
        Some(WindowState::Calendar { start, end, used }) => Some((*start, *end, *used)),
        _ => None,
    };
    let (s, end, used) = current(stored, cal, now);
    e.start = s;
    e.end = end;
    e.used = used;
    e.resets_at = Some(end);
    e.fits = e.amount == UNLIMITED || used + cost <= e.amount;
    if !e.fits && cost <= e.amount {
        e.retry_at = Some(end);
    }
    e.remaining = e.amount.saturating_sub(used);
}

/// Credits: the period's grant, then purchased credits (`bonus`), which outlast the period.
#[inline]
pub(super) fn evaluate_credits(e: &mut Eval, w: Option<&WindowState>, cal: &Calendar, bonus: u64, now: Ms, cost: u64) {
    let stored = match w {
        Some(WindowState::Credits { start, end, spent }) => Some((*start, *end, *spent)),
        _ => None,
    };
    let (s, end, spent) = current(stored, cal, now);
    let unlimited = e.amount == UNLIMITED;
    e.start = s;
    e.end = end;
    e.used = spent;
    e.shown = if unlimited { e.amount } else { e.amount.saturating_add(bonus) };
    e.remaining = e.amount.saturating_sub(spent).saturating_add(bonus);
    e.resets_at = Some(end);
    e.fits = unlimited || cost <= e.remaining;
    if !e.fits && cost <= e.amount.saturating_add(bonus) {
        e.retry_at = Some(end);
    }
}

/// Spends `cost` credits: from the period's grant first, then from the purchased ones.
#[inline]
pub(super) fn charge_credits(st: &mut MemberState, key: u32, e: &Eval, cost: u64) -> WindowState {
    let grant_left = e.amount.saturating_sub(e.used);
    let from_grant = cost.min(grant_left);
    let from_bonus = cost - from_grant;
    if from_bonus > 0 {
        if let Some((_, b)) = st.bonus.iter_mut().find(|(k, _)| *k == key) {
            *b = b.saturating_sub(from_bonus);
        }
        st.bonus.retain(|(_, b)| *b > 0);
    }
    WindowState::Credits { start: e.start, end: e.end, spent: e.used + from_grant }
}
