//! Where each account and lane stands: counts by state, what the server last said (used,
//! remaining, reset), pauses and why, warm-up day, acceptance rate, the oldest pending
//! invitation.

use jiff::{SignedDuration, Timestamp};
use pacekeeper_api::LimitStatus;
use pacekeeper_pacer::Stop;
use pacekeeper_queue::{InviteState, ItemState, Queue, QueueError};
use serde::Serialize;

/// Outcomes older than this do not count towards the acceptance rate.
pub const ACCEPTANCE_HORIZON_DAYS: i64 = 30;

/// One account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountStatus {
    /// Its name.
    pub account: String,
    /// Its zone.
    pub zone: String,
    /// Set when a person must look, and why.
    pub needs_human: Option<String>,
    /// Paused by hand until then.
    pub paused_until: Option<Timestamp>,
    /// The warm-up day reached, and of how many; absent without a warm-up.
    pub warmup: Option<(u32, u32)>,
    /// Invitations answered (accepted or not) in the horizon.
    pub decided: u32,
    /// Of which accepted.
    pub accepted: u32,
    /// `accepted / decided`, when any are decided.
    pub acceptance_rate: Option<f64>,
    /// Invitations of this queue with no answer yet.
    pub pending: u32,
    /// When the oldest of them was sent.
    pub oldest_pending: Option<Timestamp>,
    /// Its lanes.
    pub lanes: Vec<LaneStatus>,
}

/// One lane.
#[derive(Debug, Clone, Serialize)]
pub struct LaneStatus {
    /// The action.
    pub action: String,
    /// Items by state.
    pub queued: u64,
    /// See `queued`.
    pub in_flight: u64,
    /// See `queued`.
    pub sent: u64,
    /// See `queued`.
    pub skipped: u64,
    /// See `queued`.
    pub parked: u64,
    /// Each limit as the last answer gave it (used, remaining, reset).
    pub limits: Vec<LimitStatus>,
    /// When the last answer came.
    pub seen_at: Option<Timestamp>,
    /// Paused until then, if later than now.
    pub paused_until: Option<Timestamp>,
    /// `until_event` or `human` when stopped.
    pub stopped: Option<Stop>,
    /// Why it waits, in words.
    pub why: Option<String>,
}

/// Every account's status at `now`.
pub fn status(queue: &Queue, now: Timestamp) -> Result<Vec<AccountStatus>, QueueError> {
    let lanes = queue.lanes()?;
    let mut out = Vec::new();
    for a in queue.accounts()? {
        let (decided, accepted) = acceptance(queue, &a.name, now)?;
        let pending: Vec<Timestamp> = queue
            .invites(&a.name)?
            .into_iter()
            .filter(|(_, i)| i.state == InviteState::Pending)
            .map(|(_, i)| i.sent_at)
            .collect();
        let mut account = AccountStatus {
            account: a.name.clone(),
            zone: a.zone.clone(),
            needs_human: a.needs_human.clone(),
            paused_until: a.paused_until.filter(|p| *p > now),
            warmup: a.warmup.as_ref().map(|w| (w.day, w.days)),
            decided,
            accepted,
            acceptance_rate: (decided > 0).then(|| f64::from(accepted) / f64::from(decided)),
            pending: pending.len() as u32,
            oldest_pending: pending.iter().min().copied(),
            lanes: Vec::new(),
        };
        for (id, rec) in lanes.iter().filter(|(id, _)| id.account == a.name) {
            let n = |s| queue.count(id, s);
            account.lanes.push(LaneStatus {
                action: id.action.clone(),
                queued: n(ItemState::Queued)?,
                in_flight: n(ItemState::InFlight)?,
                sent: n(ItemState::Sent)?,
                skipped: n(ItemState::Skipped)?,
                parked: n(ItemState::Parked)?,
                limits: rec.limits.clone(),
                seen_at: rec.seen_at,
                paused_until: rec.lane.paused_until.filter(|p| *p > now),
                stopped: rec.lane.stop,
                why: rec
                    .why
                    .clone()
                    .filter(|_| rec.lane.stop.is_some() || rec.lane.paused_until.is_some_and(|p| p > now)),
            });
        }
        out.push(account);
    }
    Ok(out)
}

/// Invitations of `account` answered in the horizon before `now`, and how many of them were
/// accepted. Withdrawals are not answers.
pub fn acceptance(queue: &Queue, account: &str, now: Timestamp) -> Result<(u32, u32), QueueError> {
    let since = now.checked_sub(SignedDuration::from_hours(24 * ACCEPTANCE_HORIZON_DAYS)).unwrap_or(Timestamp::MIN);
    let (mut decided, mut accepted) = (0, 0);
    for (_, i) in queue.invites(account)? {
        let answered = !matches!(i.state, InviteState::Pending | InviteState::Withdrawn);
        if answered && i.decided_at.is_some_and(|d| d >= since) {
            decided += 1;
            accepted += u32::from(i.state == InviteState::Accepted);
        }
    }
    Ok((decided, accepted))
}
