//! The front of each lane's queue as the runner holds it: up to [`PICK_WINDOW`] items in the
//! order they go, refilled from the store after the last key read. The runner is the queue's
//! only writer while it runs, so the window stays true; reading on from the last key never
//! walks again over the items already taken off the front.

use pacekeeper_queue::{Item, ItemState, LaneId};

use super::Runner;
use crate::{Clock, RunError, Sender};

/// Items of a lane looked at for one slot: the first eligible one among them goes.
pub const PICK_WINDOW: usize = 256;

/// One lane's front.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// Index keys and items, in the order they go.
    items: Vec<(Vec<u8>, Item)>,
    /// The last index key read from the store.
    last: Option<Vec<u8>>,
    /// Everything queued has been read.
    exhausted: bool,
}

impl<S: Sender, C: Clock> Runner<S, C> {
    /// The front of `lane`'s queue, refilled when it runs low.
    pub(crate) fn front(&mut self, lane: &LaneId) -> Result<&[(Vec<u8>, Item)], RunError> {
        let w = self.windows.entry(lane.clone()).or_default();
        if !w.exhausted && w.items.len() < PICK_WINDOW / 2 {
            let want = PICK_WINDOW - w.items.len();
            let page = self.queue.queued_page(lane, w.last.as_deref(), want)?;
            w.exhausted = page.len() < want;
            if let Some((k, _)) = page.last() {
                w.last = Some(k.clone());
            }
            w.items.extend(page);
        }
        Ok(&w.items)
    }

    /// Keeps the window true after `item` changed: queued or in flight (it comes back queued
    /// unless it is done), it is updated in place; sent, skipped or parked, it leaves.
    pub(crate) fn item_changed(&mut self, item: &Item) {
        let Some(w) = self.windows.get_mut(&item.lane()) else { return };
        if let Some(i) = w.items.iter().position(|(_, it)| it.id == item.id) {
            if matches!(item.state, ItemState::Queued | ItemState::InFlight) {
                w.items[i].1 = item.clone();
            } else {
                w.items.remove(i);
            }
        }
    }
}
