//! Recording an answer: the lane reacts (one reaction per kind of answer), the item moves on,
//! a restriction pauses every lane it blocks, and the ledger says what happened — one synced
//! change.

use jiff::Timestamp;
use pacekeeper_api::Reason;
use pacekeeper_pacer::{Outcome, Reaction};
use pacekeeper_queue::{Account, Change, Invite, InviteState, Item, ItemState, LaneId, LaneRecord, LedgerEntry};

use super::send::Answer;
use super::{Report, Runner, rng_for};
use crate::{Clock, RunError, Sender};

impl<S: Sender, C: Clock> Runner<S, C> {
    pub(crate) fn react(
        &mut self,
        mut item: Item,
        mut rec: LaneRecord,
        mut account: Account,
        answer: Answer,
        now: Timestamp,
    ) -> Result<Report, RunError> {
        let id = item.lane();
        let from = item.state;
        let account_before = account.clone();
        rec.lane.learned.observe(answer.learned.clone(), answer.with_note, &mut rec.lane.note_limits);
        if let Some(d) = &answer.decision {
            rec.limits = d.limits.clone();
            rec.seen_at = Some(now);
        }
        let mut change = self.queue.change();
        let (what, detail) = if let Some((why, park)) = answer.refused.clone() {
            item.state = if park { ItemState::Parked } else { ItemState::Skipped };
            item.last_reason = Some(why.clone());
            (if park { "parked" } else { "skipped" }, why)
        } else {
            let mut rng = rng_for(self.options.seed ^ 0x5eed, &id, rec.sends);
            let reaction = rec.lane.react(&answer.outcome, now, &mut rng);
            self.planned.remove(&id);
            let mut unplan = Vec::new();
            let out =
                self.apply(&mut change, &mut item, &mut rec, &mut account, &answer, reaction, now, &mut unplan)?;
            for (lane, paused) in &unplan {
                self.planned.remove(lane);
                self.records.insert(lane.clone(), paused.clone());
            }
            out
        };
        if answer.decision.as_ref().is_some_and(|d| !d.allowed) {
            // Denied: nothing was charged; the next attempt is a new request.
            item.request_id = None;
        }
        change.item(&item, Some(from)).lane(&id, &rec);
        if account != account_before {
            // A restriction or verification changed it; most answers leave it as it was.
            change.account(&account);
        }
        change.ledger(&LedgerEntry {
            at: now,
            account: id.account.clone(),
            item: Some(item.id),
            what: what.into(),
            detail: detail.clone(),
        });
        change.commit(true)?;
        self.item_changed(&item);
        self.lane_written(&id, &rec);
        Ok(Report { lane: id, item: item.id, what, detail, at: now })
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        change: &mut Change<'_>,
        item: &mut Item,
        rec: &mut LaneRecord,
        account: &mut Account,
        answer: &Answer,
        reaction: Reaction,
        now: Timestamp,
        unplan: &mut Vec<(LaneId, LaneRecord)>,
    ) -> Result<(&'static str, String), RunError> {
        let reason = reason_of(answer);
        item.last_reason = Some(reason.clone());
        item.state = ItemState::Queued;
        let out = match reaction {
            Reaction::Sent => return Ok(self.sent(change, item, now)),
            Reaction::LaneWaits(t) => {
                rec.why = Some(format!("{reason} until {t}"));
                ("denied", format!("{reason}; the lane waits until {t}"))
            }
            Reaction::ScopeWaits(t) => {
                unplan.extend(self.pause_scope(change, item, answer, account, t, &reason)?);
                rec.why = Some(format!("{reason} until {t}"));
                ("denied", format!("{reason}; the account's blocked lanes wait until {t}"))
            }
            Reaction::ItemWaits(t) => {
                item.not_before = Some(t);
                ("deferred", format!("{reason}; this item waits until {t}"))
            }
            Reaction::LaneStops => {
                rec.why = Some(format!("{reason}: waits for an event to make room"));
                ("denied", format!("{reason}; the lane stops until an event makes room"))
            }
            Reaction::NeedsHuman => {
                item.state = ItemState::Parked;
                let verification = answer.decision.as_ref().is_some_and(|d| d.reason == Reason::VerificationRequired);
                if verification {
                    // Verification blocks the account, whichever lane asked.
                    account.needs_human = Some(reason.clone());
                    ("parked", format!("{reason}; the account waits for a person"))
                } else {
                    rec.why = Some(format!("{reason}: waiting will not help"));
                    ("parked", format!("{reason}; the lane waits for a person"))
                }
            }
            Reaction::Retry(t) => ("failed", format!("{reason}; retried at {t}")),
            Reaction::NotesWait(t) => ("deferred", format!("{reason}; notes wait until {t}")),
        };
        Ok((out.0, out.1))
    }

    fn sent(&self, change: &mut Change<'_>, item: &mut Item, now: Timestamp) -> (&'static str, String) {
        item.state = ItemState::Sent;
        item.sent_at = Some(now);
        item.last_reason = Some("ok".into());
        if item.action == self.options.invite_action
            && let Some(target) = &item.target
        {
            let invite = Invite {
                item: item.id,
                sent_at: now,
                state: InviteState::Pending,
                decided_at: None,
                cooldown_until: None,
            };
            change.invite(&item.account, target, &invite);
        }
        let detail = if item.sent_without_note { "sent without its note (notes wait)" } else { "sent" };
        ("sent", detail.into())
    }

    /// A restriction: every lane of the account whose action it blocks waits, and the
    /// warm-up falls back.
    fn pause_scope(
        &self,
        change: &mut Change<'_>,
        item: &Item,
        answer: &Answer,
        account: &mut Account,
        until: Timestamp,
        reason: &str,
    ) -> Result<Vec<(LaneId, LaneRecord)>, RunError> {
        let mut paused = Vec::new();
        let blocks = answer.decision.as_ref().and_then(|d| d.restriction.as_ref()).map(|r| r.blocks.clone());
        for id in &self.lane_ids {
            let Some(mut rec) = self.lane_record(id)? else { continue };
            let id = id.clone();
            let in_scope = blocks.as_ref().is_none_or(|b| b.is_empty() || b.contains(&id.action));
            if id.account != item.account || id.action == item.action || !in_scope {
                continue;
            }
            rec.lane.pause_until(until);
            rec.why = Some(format!("{reason} until {until}"));
            change.lane(&id, &rec);
            paused.push((id, rec));
        }
        if let Some(w) = account.warmup.as_mut() {
            w.restricted();
        }
        Ok(paused)
    }
}

/// The answer's reason in words: the server's reason and limit, or the failure.
fn reason_of(answer: &Answer) -> String {
    if let Some(why) = &answer.failure {
        return why.clone();
    }
    match (&answer.decision, &answer.outcome) {
        (Some(d), _) => match &d.limit {
            Some(l) if !d.allowed => format!("{} ({l})", reason_name(d.reason)),
            _ => reason_name(d.reason).to_string(),
        },
        (None, Outcome::Denied { limit: Some(l), .. }) => format!("limited by the other side ({l})"),
        (None, Outcome::Denied { .. }) => "limited by the other side".into(),
        (None, Outcome::Failed) => "failed".into(),
        (None, Outcome::Allowed { .. }) => "ok".into(),
    }
}

fn reason_name(r: pacekeeper_api::Reason) -> String {
    serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}
