//! Sliding windows: at no instant more than the amount in the trailing period (seed 002:
//! 20–50 messages in any hour), counted in buckets of `granularity`.

use super::*;

/// The buckets still overlapping the trailing period at `now` (buckets are oldest first).
#[inline]
fn counted(buckets: &[(i64, u32)], period: Ms, granularity: Ms, now: Ms) -> &[(i64, u32)] {
    &buckets[buckets.partition_point(|(i, _)| (i + 1) * granularity <= now - period)..]
}

#[inline]
pub(super) fn evaluate(e: &mut Eval, w: Option<&WindowState>, period: Ms, granularity: Ms, now: Ms, cost: u64) {
    let buckets: &[(i64, u32)] = match w {
        Some(WindowState::Sliding { buckets }) => buckets,
        _ => &[],
    };
    let counted = counted(buckets, period, granularity, now);
    e.used = counted.iter().map(|(_, c)| u64::from(*c)).sum();
    e.resets_at = counted.first().map(|(i, _)| (i + 1) * granularity + period);
    e.fits = e.amount == UNLIMITED || e.used + cost <= e.amount;
    if !e.fits && cost <= e.amount {
        // Buckets leave the trailing window oldest first; find when enough have left.
        let need = e.used + cost - e.amount;
        let mut dropped = 0u64;
        for (i, c) in counted {
            dropped += u64::from(*c);
            if dropped >= need {
                e.retry_at = Some((i + 1) * granularity + period);
                break;
            }
        }
    }
    e.remaining = e.amount.saturating_sub(e.used);
}

/// Adds `cost` to the bucket of `now`, in place (the hot path for messages and bursts).
/// Returns the new state when there were no buckets yet.
#[inline]
pub(super) fn charge(
    w: Option<&mut WindowState>,
    period: Ms,
    granularity: Ms,
    now: Ms,
    cost: u64,
) -> Option<WindowState> {
    let idx = now.div_euclid(granularity);
    let add = cost.min(u64::from(u32::MAX)) as u32;
    let Some(WindowState::Sliding { buckets }) = w else {
        return Some(WindowState::Sliding { buckets: vec![(idx, add)] });
    };
    let stale = buckets.partition_point(|(i, _)| (i + 1) * granularity <= now - period);
    buckets.drain(..stale);
    match buckets.last_mut() {
        Some((i, c)) if *i == idx => *c = c.saturating_add(add),
        _ => buckets.push((idx, add)),
    }
    None
}

/// Takes `cost` back from the bucket of `now`.
#[inline]
pub(super) fn refund(buckets: &mut Vec<(i64, u32)>, granularity: Ms, now: Ms, cost: u64) {
    let idx = now.div_euclid(granularity);
    if let Some((_, n)) = buckets.iter_mut().find(|(i, _)| *i == idx) {
        *n = n.saturating_sub(cost.min(u64::from(u32::MAX)) as u32);
    }
    buckets.retain(|(_, n)| *n > 0);
}

/// Drops the buckets that left the trailing period; whether any remain.
#[inline]
pub(super) fn keep(buckets: &mut Vec<(i64, u32)>, period: Ms, granularity: Ms, now: Ms) -> bool {
    buckets.retain(|(i, _)| (i + 1) * granularity > now - period);
    !buckets.is_empty()
}

/// When the newest bucket leaves the trailing period.
#[inline]
pub(super) fn end(buckets: &[(i64, u32)], period: Ms, granularity: Ms) -> Ms {
    buckets.last().map_or(0, |(i, _)| (i + 1) * granularity + period)
}
