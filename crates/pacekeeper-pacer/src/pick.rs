//! Which queued item goes in a lane's slot: the first eligible by priority, then age. An
//! item that cannot go now (its target on cooldown, a required note while notes wait) is
//! skipped, not the slot.

use jiff::Timestamp;

/// A queued action, as the pacer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Higher goes first.
    pub priority: i32,
    /// Queue order: lower was added first.
    pub seq: u64,
    /// Not before this instant (a target on cooldown).
    pub not_before: Option<Timestamp>,
    /// Whether the item carries a note.
    pub has_note: bool,
    /// Whether the item may go without its note when notes wait.
    pub note_optional: bool,
}

/// What goes in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The item at this index, its note dropped when `without_note`.
    Send {
        /// Its index in the slice given.
        index: usize,
        /// The note is left out (notes wait, and the item allows it); the record says so.
        without_note: bool,
    },
    /// Nothing can go now; the earliest instant one could, if any.
    Nothing(Option<Timestamp>),
}

/// Picks the item for a slot at `now`, with notes held until `notes_until`.
pub fn pick(items: &[Item], now: Timestamp, notes_until: Option<Timestamp>) -> Pick {
    let notes_wait = notes_until.is_some_and(|n| n > now);
    let mut best: Option<(usize, bool)> = None;
    let mut soonest: Option<Timestamp> = None;
    for (i, item) in items.iter().enumerate() {
        let mut ready_at = item.not_before.filter(|t| *t > now);
        let without_note = notes_wait && item.has_note && item.note_optional;
        if notes_wait && item.has_note && !item.note_optional {
            ready_at = ready_at.max(notes_until);
        }
        if let Some(t) = ready_at {
            soonest = Some(soonest.map_or(t, |s| s.min(t)));
            continue;
        }
        let better = best.is_none_or(|(b, _)| {
            (item.priority, std::cmp::Reverse(item.seq)) > (items[b].priority, std::cmp::Reverse(items[b].seq))
        });
        if better {
            best = Some((i, without_note));
        }
    }
    match best {
        Some((index, without_note)) => Pick::Send { index, without_note },
        None => Pick::Nothing(soonest),
    }
}
