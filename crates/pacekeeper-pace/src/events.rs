//! Outcomes of this queue's invitations: recorded locally ([`mark`]) and posted to the
//! server's `/v1/events` in batches, each event with an id so a repost is applied once.

use jiff::Timestamp;
use pacekeeper_api::Event;
use pacekeeper_pacer::Stop;
use pacekeeper_queue::{InviteState, LedgerEntry, Queue, QueueError, REINVITE_COOLDOWN_DAYS};

use crate::runner::Runner;
use crate::{Clock, RunError, Sender};

/// Records the outcome of the invitation `account` sent `target` through this queue, and
/// queues its event for the server. An outcome moves the pending gauge, so lanes stopped
/// until an event go on. `at` is sent with the event when `send_at` (a virtual clock).
pub fn mark(
    queue: &Queue,
    account: &str,
    target: &str,
    state: InviteState,
    at: Timestamp,
    send_at: bool,
) -> Result<(), QueueError> {
    let mut invite = queue
        .invite(account, target)?
        .ok_or_else(|| QueueError::NoInvite { account: account.into(), target: target.into() })?;
    invite.state = state;
    invite.decided_at = Some(at);
    if state == InviteState::Withdrawn {
        invite.cooldown_until = at.checked_add(jiff::SignedDuration::from_hours(24 * REINVITE_COOLDOWN_DAYS)).ok();
    }
    let mut change = queue.change();
    change.invite(account, target, &invite);
    if let Some(kind) = state.event() {
        change.event(Event {
            member: account.into(),
            kind,
            target: Some(target.into()),
            at: send_at.then_some(at),
            id: None,
        });
    }
    for (id, mut rec) in queue.lanes()? {
        if id.account == account && rec.lane.stop == Some(Stop::UntilEvent) {
            rec.lane.stop = None;
            rec.why = None;
            change.lane(&id, &rec);
        }
    }
    let what = format!("{state:?}").to_lowercase();
    change.ledger(&LedgerEntry { at, account: account.into(), item: Some(invite.item), what, detail: target.into() });
    change.commit(true)
}

impl<S: Sender, C: Clock> Runner<S, C> {
    /// Posts the events waiting in the queue, a batch at a time. A server out of reach leaves
    /// them for the next step; a batch the server refuses is dropped, with a ledger line.
    pub async fn flush_events(&mut self) -> Result<usize, RunError> {
        let Some(client) = &self.client else { return Ok(0) };
        if !self.outbox_dirty {
            return Ok(0);
        }
        let mut posted = 0;
        loop {
            let batch = self.queue.outbox(self.options.events_batch)?;
            if batch.is_empty() {
                self.outbox_dirty = false;
                return Ok(posted);
            }
            let (seqs, events): (Vec<u64>, Vec<Event>) = batch.into_iter().unzip();
            let mut change = self.queue.change();
            match client.events(&events).await {
                Ok(_) => posted += events.len(),
                Err(e) if e.is_transient() => return Ok(posted),
                Err(e) => {
                    let detail = format!("{} events refused by the server, dropped: {e}", events.len());
                    let at = self.clock.now();
                    change.ledger(&LedgerEntry {
                        at,
                        account: events[0].member.clone(),
                        item: None,
                        what: "events_refused".into(),
                        detail,
                    });
                }
            }
            change.posted(&seqs);
            change.commit(true)?;
        }
    }
}
