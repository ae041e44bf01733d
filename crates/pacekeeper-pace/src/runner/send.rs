//! One send, exactly once towards the server: the item is recorded in flight with its
//! request id and synced, then the server is asked, then the sender acts, then the answer is
//! recorded and synced. A send found in flight is resumed with the same id.

use jiff::Timestamp;
use pacekeeper_api::{DecideRequest, Decision};
use pacekeeper_client::ClientError;
use pacekeeper_pacer::Outcome;
use pacekeeper_queue::{Account, Item, ItemState, LaneRecord};

use super::{Report, Runner};
use crate::outcome;
use crate::sender::{Outgoing, Sent};
use crate::{Clock, RunError, Sender};

/// What came back for a send, before the lane reacts to it.
pub(crate) struct Answer {
    pub outcome: Outcome,
    /// The server's decision, when one was asked.
    pub decision: Option<Decision>,
    /// The server refused the item itself (skip it), or the sender failed for good (`true`:
    /// park it), and why.
    pub refused: Option<(String, bool)>,
    /// Why a send failed for now, for the ledger.
    pub failure: Option<String>,
    /// Limits the answer taught.
    pub learned: Vec<pacekeeper_pacer::LearnedLimit>,
    /// The request carried a note.
    pub with_note: bool,
}

impl<S: Sender, C: Clock> Runner<S, C> {
    pub(crate) async fn send(
        &mut self,
        mut item: Item,
        without_note: bool,
        resumed: bool,
        now: Timestamp,
    ) -> Result<Report, RunError> {
        let id = item.lane();
        let mut account = self.account(&id.account)?;
        let mut rec = self.lane_record(&id)?.ok_or(pacekeeper_queue::QueueError::NoItem(item.id))?;
        if !resumed {
            self.record_in_flight(&mut item, &mut rec, &mut account, without_note, now)?;
        }
        let answer = self.ask_and_act(&item, &account, resumed, now).await;
        self.react(item, rec, account, answer, now)
    }

    fn record_in_flight(
        &mut self,
        item: &mut Item,
        rec: &mut LaneRecord,
        account: &mut Account,
        without_note: bool,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let from = item.state;
        item.attempts += 1;
        if item.request_id.is_none() {
            item.request_id = Some(format!("pq-{}-{}-{}", self.queue.uid(), item.id, item.attempts));
        }
        item.sent_without_note = without_note;
        item.state = ItemState::InFlight;
        let hours = account.hours().map_err(|source| RunError::Hours { account: account.name.clone(), source })?;
        rec.lane.record_send(now, &hours);
        rec.sends += 1;
        let mut change = self.queue.change();
        if let Some(w) = account.warmup.as_mut().filter(|w| !w.begun()) {
            // The account's first send starts its warm-up: the only account write a send makes.
            w.begin(hours.date_of(now));
            change.account(account);
        }
        self.planned.remove(&item.lane());
        change.item(item, Some(from)).lane(&item.lane(), rec);
        change.commit(true)?;
        self.item_changed(item);
        self.lane_written(&item.lane(), rec);
        Ok(())
    }

    async fn ask_and_act(&self, item: &Item, account: &Account, resumed: bool, now: Timestamp) -> Answer {
        let note = item.note.clone().filter(|_| !item.sent_without_note);
        let with_note = note.is_some();
        let mut answer = Answer {
            outcome: Outcome::Allowed { remaining: None, reset: None, limit: None },
            decision: None,
            refused: None,
            failure: None,
            learned: Vec::new(),
            with_note,
        };
        if let Some(client) = &self.client {
            match client.decide(&self.request(item, account, note.clone(), now)).await {
                Ok(a) => {
                    answer.outcome = outcome::of_decision(&a.decision, with_note, now);
                    answer.learned = outcome::learned_from_decision(&a.decision);
                    answer.learned.extend(outcome::learned_from_feedback(&a.feedback));
                    answer.decision = Some(a.decision);
                }
                Err(e) if e.is_transient() => {
                    answer.outcome = Outcome::Failed;
                    answer.failure = Some(e.to_string());
                }
                Err(e) => {
                    answer.refused = Some((refusal(&e), false));
                    return answer;
                }
            }
        }
        if !matches!(answer.outcome, Outcome::Allowed { .. }) {
            return answer;
        }
        let out = Outgoing {
            item: item.id,
            request_id: item.request_id.clone().unwrap_or_default(),
            account: item.account.clone(),
            action: item.action.clone(),
            target: item.target.clone(),
            note,
            data: item.data.clone(),
            resumed,
        };
        match self.sender.send(&out).await {
            Sent::Done => {}
            Sent::Failed { transient: true, why } => {
                answer.outcome = Outcome::Failed;
                answer.failure = Some(why);
            }
            Sent::Failed { transient: false, why } => answer.refused = Some((why, true)),
            Sent::Limited(f) => {
                answer.outcome = outcome::of_feedback(&f);
                answer.learned = outcome::learned_from_feedback(&f);
            }
        }
        answer
    }

    fn request(&self, item: &Item, account: &Account, note: Option<String>, now: Timestamp) -> DecideRequest {
        DecideRequest {
            member: item.account.clone(),
            action: item.action.clone(),
            tier: account.tier.clone(),
            target: item.target.clone(),
            note,
            channel: None,
            cost: None,
            dry_run: false,
            request_id: item.request_id.clone(),
            at: self.clock.is_virtual().then_some(now),
            ..DecideRequest::default()
        }
    }
}

/// A server's refusal of the item itself, in words.
fn refusal(e: &ClientError) -> String {
    match e {
        ClientError::Refused(p) => match &p.field {
            Some(f) => format!("the server refused the item: {} (field `{f}`)", p.detail),
            None => format!("the server refused the item: {}", p.detail),
        },
        other => other.to_string(),
    }
}
