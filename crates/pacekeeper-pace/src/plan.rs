//! The schedule a run would follow, sending nothing: each lane's queued items at the slots
//! the pacer draws from the same seed, assuming every send is allowed. Items are read as the
//! plan advances, so memory does not grow with the queue.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use jiff::Timestamp;
use jiff::civil::Date;
use pacekeeper_pacer::Warmup;
use pacekeeper_queue::{Account, ItemState, LaneId, Queue};
use serde::Serialize;

use crate::RunError;
use crate::runner::rng_for;

/// One send of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedSend {
    /// When.
    pub at: Timestamp,
    /// The account.
    pub account: String,
    /// The action.
    pub action: String,
    /// The item.
    pub item: u64,
    /// Its target.
    pub target: Option<String>,
}

/// One lane of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LanePlan {
    /// The account.
    pub account: String,
    /// The action.
    pub action: String,
    /// Items queued.
    pub queued: u64,
    /// The first send.
    pub first: Option<Timestamp>,
    /// The last send: when the lane drains, if it does.
    pub drains_at: Option<Timestamp>,
    /// Why the lane sends nothing (a person or an event must act first).
    pub stopped: Option<String>,
}

/// Plans every lane from `now`, calling `on_send` for each send in time order within a
/// lane. With `pacing` off, sends follow each other at once, as a run with pacing off would.
pub fn plan(
    queue: &Queue,
    seed: u64,
    now: Timestamp,
    pacing: bool,
    mut on_send: impl FnMut(&PlannedSend),
) -> Result<Vec<LanePlan>, RunError> {
    let mut out = Vec::new();
    for (id, rec) in queue.lanes()? {
        let queued = queue.count(&id, ItemState::Queued)?;
        let account =
            queue.account(&id.account)?.ok_or_else(|| pacekeeper_queue::QueueError::NoAccount(id.account.clone()))?;
        let mut lane_plan = LanePlan {
            account: id.account.clone(),
            action: id.action.clone(),
            queued,
            first: None,
            drains_at: None,
            stopped: None,
        };
        if queued > 0 {
            if let Some(why) = account.needs_human.clone().or(rec.why.clone().filter(|_| rec.lane.stop.is_some())) {
                lane_plan.stopped = Some(why);
            } else {
                plan_lane(queue, &id, &account, rec, seed, now, pacing, &mut lane_plan, &mut on_send)?;
            }
        }
        out.push(lane_plan);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn plan_lane(
    queue: &Queue,
    id: &LaneId,
    account: &Account,
    rec: pacekeeper_queue::LaneRecord,
    seed: u64,
    now: Timestamp,
    pacing: bool,
    out: &mut LanePlan,
    on_send: &mut impl FnMut(&PlannedSend),
) -> Result<(), RunError> {
    let hours = account.hours().map_err(|source| RunError::Hours { account: account.name.clone(), source })?;
    let (mut lane, mut sends, mut warmup) = (rec.lane, rec.sends, account.warmup.clone());
    let mut t = account.paused_until.map_or(now, |p| p.max(now));
    let target = account.daily_target(&id.action);
    let mut deferred: BinaryHeap<Reverse<(Timestamp, u64, Option<String>)>> = BinaryHeap::new();
    let mut items = queue.queued_in(id);
    loop {
        if let Some(w) = warmup.as_mut().filter(|w| w.begun()) {
            end_last_working_day(w, account, hours.date_of(t), 0, 0);
        }
        let allowance = warmup.as_ref().map_or(target, |w| w.allowance(target));
        let slot = if pacing {
            lane.next_slot_within(&hours, t, allowance, &mut rng_for(seed, id, sends))
        } else {
            Some(lane.learned.free_at(lane.paused_until.map_or(t, |p| p.max(t))))
        };
        let Some(slot) = slot else { break };
        let next = match deferred.peek() {
            Some(Reverse((nb, _, _))) if *nb <= slot => deferred.pop().map(|Reverse((_, i, tg))| (i, tg)),
            _ => match items.next().transpose()? {
                Some(item) if item.not_before.is_some_and(|nb| nb > slot) => {
                    deferred.push(Reverse((item.not_before.unwrap_or(slot), item.id, item.target)));
                    continue;
                }
                Some(item) => Some((item.id, item.target)),
                None => match deferred.peek() {
                    Some(Reverse((nb, _, _))) => {
                        t = *nb;
                        continue;
                    }
                    None => break,
                },
            },
        };
        let Some((item, target)) = next else { break };
        lane.record_send(slot, &hours);
        sends += 1;
        if let Some(w) = warmup.as_mut() {
            w.begin(hours.date_of(slot));
        }
        t = slot;
        out.first.get_or_insert(slot);
        out.drains_at = Some(slot);
        on_send(&PlannedSend { at: slot, account: id.account.clone(), action: id.action.clone(), item, target });
    }
    Ok(())
}

/// Ends, on the warm-up, the account's last working day before `today` with `accepted` of
/// `decided` invitations answered (a day counts once). A plan assumes the rate holds.
pub(crate) fn end_last_working_day(w: &mut Warmup, account: &Account, today: Date, decided: u32, accepted: u32) {
    let mut d = today;
    for _ in 0..7 {
        let Ok(prev) = d.yesterday() else { return };
        d = prev;
        if account.days.contains(&d.weekday()) {
            w.end_of_day(d, decided, accepted);
            return;
        }
    }
}
