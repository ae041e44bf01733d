//! Which lane goes next, and with which item: the earliest slot among lanes with queued
//! items, and in it the first eligible item by priority, then age.

use jiff::Timestamp;
use pacekeeper_pacer::{Item as PacerItem, Pick, pick};
use pacekeeper_queue::{Account, Item, ItemState, LaneId, LaneRecord, NotePolicy};

use super::{Runner, rng_for};
use crate::{Clock, RunError, Sender};

pub(crate) enum Choice {
    Send(Box<Item>, bool),
    Wait(Timestamp, String),
    Drained,
    Blocked(Vec<String>),
}

impl<S: Sender, C: Clock> Runner<S, C> {
    pub(crate) fn choose(&mut self, now: Timestamp) -> Result<Choice, RunError> {
        let mut soonest: Option<(Timestamp, String)> = None;
        let mut blocked = Vec::new();
        let mut any = false;
        for id in self.lane_ids.clone() {
            let Some(rec) = self.lane_record(&id)? else { continue };
            if self.queue.count(&id, ItemState::Queued)? == 0 {
                continue;
            }
            any = true;
            let account = self.account(&id.account)?;
            self.bring_warmup_up_to_date(&account, now)?;
            match self.lane_due(&id, &rec, &account, now)? {
                Err(why) => blocked.push(format!("{}/{}: {why}", id.account, id.action)),
                Ok((at, why)) if at > now => {
                    if soonest.as_ref().is_none_or(|(s, _)| at < *s) {
                        soonest = Some((at, format!("{}/{}: {why}", id.account, id.action)));
                    }
                }
                Ok(_) => match self.pick_item(&id, &rec, now)? {
                    Ok((item, without_note)) => return Ok(Choice::Send(Box::new(item), without_note)),
                    // The counters and the window disagree: nothing here to wait for.
                    Err(None) => continue,
                    Err(Some(at)) => {
                        self.planned.insert(id.clone(), at);
                        if soonest.as_ref().is_none_or(|(s, _)| at < *s) {
                            let why = "every queued item waits (a target on cooldown, or the note allowance)";
                            soonest = Some((at, format!("{}/{}: {why}", id.account, id.action)));
                        }
                    }
                },
            }
        }
        Ok(match (soonest, any) {
            (Some((at, why)), _) => Choice::Wait(at, why),
            (None, false) => Choice::Drained,
            (None, true) => Choice::Blocked(blocked),
        })
    }

    /// When the lane's next send may go, and why not sooner; `Err` when only a person or an
    /// event can move it.
    fn lane_due(
        &mut self,
        id: &LaneId,
        rec: &LaneRecord,
        account: &Account,
        now: Timestamp,
    ) -> Result<Result<(Timestamp, String), String>, RunError> {
        if let Some(why) = &account.needs_human {
            return Ok(Err(format!("needs a person: {why}")));
        }
        if rec.lane.stop.is_some() {
            return Ok(Err(rec.why.clone().unwrap_or_else(|| "stopped".into())));
        }
        let floor = account.paused_until.map_or(now, |p| p.max(now));
        let why = match (account.paused_until.filter(|p| *p > now), &rec.why) {
            (Some(p), _) => format!("paused by hand until {p}"),
            (None, Some(why)) if rec.lane.paused_until.is_some_and(|p| p > now) => why.clone(),
            _ => "next slot".to_string(),
        };
        if let Some(at) = self.planned.get(id).filter(|at| **at >= floor) {
            return Ok(Ok((*at, why)));
        }
        let at = if self.options.pacing {
            let hours = account.hours().map_err(|source| RunError::Hours { account: account.name.clone(), source })?;
            let target = account.daily_target(&id.action);
            let allowance = account.warmup.as_ref().map_or(target, |w| w.allowance(target));
            let mut rng = rng_for(self.options.seed, id, rec.sends);
            rec.lane.next_slot_within(&hours, floor, allowance, &mut rng)
        } else {
            Some(rec.lane.learned.free_at(rec.lane.paused_until.map_or(floor, |p| p.max(floor))))
        };
        let Some(at) = at else { return Ok(Err("no sends allowed (a daily target of 0)".into())) };
        self.planned.insert(id.clone(), at);
        Ok(Ok((at, why)))
    }

    /// The first eligible item of the lane at `now`, or the earliest instant one could go
    /// (`None` when none is queued).
    /// Items are read in the order they go, so the first eligible one is the pick and the
    /// rest are not read.
    #[allow(clippy::type_complexity)]
    fn pick_item(
        &mut self,
        id: &LaneId,
        rec: &LaneRecord,
        now: Timestamp,
    ) -> Result<Result<(Item, bool), Option<Timestamp>>, RunError> {
        let mut soonest: Option<Timestamp> = None;
        let invites = id.action == self.options.invite_action;
        for (_, item) in self.front(id)?.to_vec() {
            let cooldown = match (&item.target, invites) {
                (Some(t), true) => self.queue.invite(&id.account, t)?.and_then(|i| i.cooldown_until),
                _ => None,
            };
            let seen = PacerItem {
                priority: i32::from(item.priority),
                seq: item.id,
                not_before: item.not_before.max(cooldown),
                has_note: item.note.is_some(),
                note_optional: item.note_policy == NotePolicy::Optional,
            };
            match pick(std::slice::from_ref(&seen), now, rec.lane.notes_until) {
                Pick::Send { without_note, .. } => return Ok(Ok((item, without_note))),
                Pick::Nothing(at) => {
                    soonest = match (soonest, at) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                }
            }
        }
        Ok(Err(soonest))
    }

    pub(crate) fn account(&self, name: &str) -> Result<Account, RunError> {
        Ok(self.queue.account(name)?.ok_or_else(|| pacekeeper_queue::QueueError::NoAccount(name.into()))?)
    }

    /// Ends the account's last working day on its warm-up: the ramp advances if the
    /// acceptance rate of its invitations holds.
    fn bring_warmup_up_to_date(&mut self, account: &Account, now: Timestamp) -> Result<(), RunError> {
        let Some(mut warmup) = account.warmup.clone().filter(|w| w.begun()) else { return Ok(()) };
        let hours = account.hours().map_err(|source| RunError::Hours { account: account.name.clone(), source })?;
        let today = hours.date_of(now);
        if self.warmed.get(&account.name) == Some(&today) {
            return Ok(());
        }
        self.warmed.insert(account.name.clone(), today);
        let (decided, accepted) = crate::status::acceptance(&self.queue, &account.name, now)?;
        crate::plan::end_last_working_day(&mut warmup, account, today, decided, accepted);
        if Some(&warmup) != account.warmup.as_ref() {
            let mut account = account.clone();
            account.warmup = Some(warmup);
            self.queue.put_account(&account)?;
        }
        Ok(())
    }
}
