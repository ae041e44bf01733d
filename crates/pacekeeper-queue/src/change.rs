//! One atomic change of the queue: items with their indexes and counters, lanes, accounts,
//! invitations, ledger lines and events to post, written together or not at all.

use std::collections::HashMap;

use fjall::{OwnedWriteBatch as WriteBatch, PersistMode};
use pacekeeper_api::Event;

use crate::model::{Account, Invite, Item, ItemState, LaneId, LaneRecord, LedgerEntry};
use crate::{Queue, QueueError, encode, keys};

/// A change being assembled; nothing is written before [`Change::commit`].
pub struct Change<'q> {
    queue: &'q Queue,
    batch: WriteBatch,
    counts: HashMap<(LaneId, ItemState), i64>,
    used_seq: bool,
}

impl<'q> Change<'q> {
    pub(crate) fn new(queue: &'q Queue) -> Change<'q> {
        Change { queue, batch: queue.db.batch(), counts: HashMap::new(), used_seq: false }
    }

    /// Writes `item`, which was in state `from` (`None` for a new item), with its indexes.
    pub fn item(&mut self, item: &Item, from: Option<ItemState>) -> &mut Self {
        let q = self.queue;
        self.batch.insert(&q.items, keys::id(item.id), encode(item));
        if from != Some(item.state) {
            if let Some(from) = from {
                *self.counts.entry((item.lane(), from)).or_default() -= 1;
                match from {
                    ItemState::Queued => self.batch.remove(&q.queued, keys::queued(item)),
                    ItemState::InFlight => self.batch.remove(&q.in_flight, keys::id(item.id)),
                    _ => {}
                }
            }
            *self.counts.entry((item.lane(), item.state)).or_default() += 1;
            match item.state {
                ItemState::Queued => self.batch.insert(&q.queued, keys::queued(item), keys::id(item.id)),
                ItemState::InFlight => self.batch.insert(&q.in_flight, keys::id(item.id), []),
                _ => {}
            }
        }
        self
    }

    /// Records `item`'s target for deduplication.
    pub(crate) fn target(&mut self, item: &Item, target: &str) -> &mut Self {
        self.batch.insert(&self.queue.targets, keys::target(item, target), keys::id(item.id));
        self
    }

    /// Writes a lane.
    pub fn lane(&mut self, id: &LaneId, lane: &LaneRecord) -> &mut Self {
        self.batch.insert(&self.queue.lanes, keys::lane(id), encode(lane));
        self
    }

    /// Writes an account.
    pub fn account(&mut self, account: &Account) -> &mut Self {
        self.batch.insert(&self.queue.accounts, account.name.as_bytes(), encode(account));
        self
    }

    /// Writes an invitation.
    pub fn invite(&mut self, account: &str, target: &str, invite: &Invite) -> &mut Self {
        self.batch.insert(&self.queue.invites, keys::invite(account, target), encode(invite));
        self
    }

    /// Appends a ledger line.
    pub fn ledger(&mut self, entry: &LedgerEntry) -> &mut Self {
        let seq = self.seq();
        self.batch.insert(&self.queue.ledger, keys::ledger(&entry.account, entry.at, seq), encode(entry));
        self
    }

    /// Queues an event to post to the server; its id makes a repost harmless.
    pub fn event(&mut self, mut event: Event) -> &mut Self {
        let seq = self.seq();
        event.id.get_or_insert_with(|| format!("pq-{}-e{seq}", self.queue.uid));
        self.batch.insert(&self.queue.outbox, keys::id(seq), encode(&event));
        self
    }

    /// Forgets posted events.
    pub fn posted(&mut self, seqs: &[u64]) -> &mut Self {
        for s in seqs {
            self.batch.remove(&self.queue.outbox, keys::id(*s));
        }
        self
    }

    pub(crate) fn seq(&mut self) -> u64 {
        self.used_seq = true;
        self.queue.take_seq()
    }

    /// Writes everything, and with `sync` waits until it is on disk (the in-flight record of
    /// a send, and every answer, are synced).
    pub fn commit(mut self, sync: bool) -> Result<(), QueueError> {
        let q = self.queue;
        if self.used_seq {
            let next = q.next.load(std::sync::atomic::Ordering::Relaxed);
            self.batch.insert(&q.meta, "next", next.to_be_bytes());
        }
        for ((lane, state), delta) in std::mem::take(&mut self.counts) {
            if delta != 0 {
                let key = keys::count(&lane, state.name());
                let now = q.counter(&key)?;
                self.batch.insert(&q.meta, key, (now as i64 + delta).max(0).to_be_bytes());
            }
        }
        self.batch.durability(sync.then_some(PersistMode::SyncAll)).commit()?;
        Ok(())
    }
}

impl Queue {
    fn counter(&self, key: &[u8]) -> Result<u64, QueueError> {
        Ok(self.meta.get(key)?.and_then(|v| v[..].try_into().ok()).map_or(0, u64::from_be_bytes))
    }

    /// How many items of `lane` are in `state`.
    pub fn count(&self, lane: &LaneId, state: ItemState) -> Result<u64, QueueError> {
        self.counter(&keys::count(lane, state.name()))
    }
}
