//! Adding items (checked, deduplicated per account, action and target) and reading them in
//! the order they go: by lane, priority, then age.

use jiff::Timestamp;
use pacekeeper_pacer::Lane;
use serde::{Deserialize, Serialize};

use crate::keys::{self, MAX_PRIORITY};
use crate::model::{Item, ItemState, LaneId, LaneRecord, NotePolicy};
use crate::{Queue, QueueError, decode};

/// The longest account, action or target, in characters (the server's bound).
pub const MAX_ID_CHARS: usize = 256;
/// The longest note, in characters (the server's bound).
pub const MAX_NOTE_CHARS: usize = 2000;
/// Items written per atomic batch when importing.
const IMPORT_BATCH: usize = 10_000;

/// What is wrong with a field of a new item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Empty.
    #[error("must not be empty")]
    Empty,
    /// Too long.
    #[error("is longer than {0} characters")]
    TooLong(usize),
    /// A control character.
    #[error("contains the control character U+{0:04X}; use printable text")]
    Control(u32),
    /// Out of range.
    #[error("must be from 0 to {MAX_PRIORITY}")]
    Priority,
}

/// An item to add, as a file or a command line gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// The sending account.
    pub account: String,
    /// The action.
    pub action: String,
    /// Whom it is aimed at.
    #[serde(default)]
    pub target: Option<String>,
    /// A personalised note.
    #[serde(default)]
    pub note: Option<String>,
    /// Whether the note may be dropped once notes wait.
    #[serde(default)]
    pub note_policy: NotePolicy,
    /// 0–9, higher first.
    #[serde(default)]
    pub priority: u8,
    /// Passed to the sender as is.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

impl NewItem {
    /// An item of `account` doing `action`.
    pub fn new(account: &str, action: &str) -> NewItem {
        NewItem { account: account.into(), action: action.into(), ..NewItem::default() }
    }

    /// Aimed at `target`.
    pub fn target(mut self, target: &str) -> NewItem {
        self.target = Some(target.into());
        self
    }

    /// With a note.
    pub fn note(mut self, note: &str, policy: NotePolicy) -> NewItem {
        self.note = Some(note.into());
        self.note_policy = policy;
        self
    }

    /// With a priority.
    pub fn priority(mut self, priority: u8) -> NewItem {
        self.priority = priority;
        self
    }

    /// Checks every field, naming the first one at fault.
    pub fn check(&self) -> Result<(), QueueError> {
        let bad = |field, problem| Err(QueueError::Invalid { field, problem });
        for (field, value) in
            [("account", Some(&self.account)), ("action", Some(&self.action)), ("target", self.target.as_ref())]
        {
            if let Some(v) = value
                && let Err(problem) = text(v, MAX_ID_CHARS)
            {
                return bad(field, problem);
            }
        }
        if let Some(note) = &self.note
            && let Err(problem) = text(note, MAX_NOTE_CHARS)
        {
            return bad("note", problem);
        }
        if self.priority > MAX_PRIORITY {
            return bad("priority", Invalid::Priority);
        }
        Ok(())
    }
}

fn text(value: &str, max: usize) -> Result<(), Invalid> {
    if value.is_empty() {
        return Err(Invalid::Empty);
    }
    if value.chars().count() > max {
        return Err(Invalid::TooLong(max));
    }
    match value.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        Some(c) => Err(Invalid::Control(c as u32)),
        None => Ok(()),
    }
}

/// What adding an item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Added with this id.
    New(u64),
    /// The account already has this action queued or done for this target: the existing id.
    Duplicate(u64),
}

impl Added {
    /// True when the item was added.
    pub fn is_new(self) -> bool {
        matches!(self, Added::New(_))
    }
}

impl Queue {
    /// Adds one item, synced.
    pub fn add(&self, new: NewItem, now: Timestamp) -> Result<Added, QueueError> {
        let added = self.add_all(std::iter::once(Ok::<_, QueueError>(new)), now)?;
        Ok(added[0])
    }

    /// Adds items in atomic batches and syncs once at the end; stops at the first bad one,
    /// with the items before it kept. Deduplicated per account, action and target, within
    /// the input too.
    pub fn add_all<E>(
        &self,
        items: impl IntoIterator<Item = Result<NewItem, E>>,
        now: Timestamp,
    ) -> Result<Vec<Added>, E>
    where
        E: From<QueueError>,
    {
        let mut out = Vec::new();
        let mut change = self.change();
        let mut fresh: std::collections::HashMap<Vec<u8>, u64> = std::collections::HashMap::new();
        let mut lanes = std::collections::HashSet::new();
        let mut pending = 0;
        for new in items {
            let new = new?;
            new.check()?;
            let added = self.add_one(&mut change, new, now, &mut fresh, &mut lanes)?;
            out.push(added);
            pending += 1;
            if pending >= IMPORT_BATCH {
                pending = 0;
                std::mem::replace(&mut change, self.change()).commit(false)?;
                fresh.clear();
            }
        }
        change.commit(true)?;
        Ok(out)
    }

    fn add_one(
        &self,
        change: &mut crate::Change<'_>,
        new: NewItem,
        now: Timestamp,
        fresh: &mut std::collections::HashMap<Vec<u8>, u64>,
        lanes: &mut std::collections::HashSet<LaneId>,
    ) -> Result<Added, QueueError> {
        let account = self.account(&new.account)?.ok_or_else(|| QueueError::NoAccount(new.account.clone()))?;
        let lane = LaneId { account: new.account.clone(), action: new.action.clone() };
        if !lanes.contains(&lane) && self.lane(&lane)?.is_none() {
            let record = LaneRecord {
                lane: Lane::new(account.daily_target(&new.action)),
                why: None,
                limits: Vec::new(),
                seen_at: None,
                sends: 0,
            };
            change.lane(&lane, &record);
        }
        lanes.insert(lane);
        let mut item = Item {
            id: 0,
            account: new.account,
            action: new.action,
            target: new.target,
            note: new.note,
            note_policy: new.note_policy,
            priority: new.priority,
            data: new.data,
            added_at: now,
            state: ItemState::Queued,
            request_id: None,
            attempts: 0,
            not_before: None,
            last_reason: None,
            sent_at: None,
            sent_without_note: false,
        };
        if let Some(target) = item.target.clone() {
            let key = keys::target(&item, &target);
            if let Some(id) = fresh.get(&key) {
                return Ok(Added::Duplicate(*id));
            }
            if let Some(v) = self.targets.get(&key)? {
                return Ok(Added::Duplicate(keys::id_at_end(&v).unwrap_or(0)));
            }
            item.id = change.seq();
            fresh.insert(key, item.id);
            change.target(&item, &target);
        } else {
            item.id = change.seq();
        }
        change.item(&item, None);
        Ok(Added::New(item.id))
    }

    /// The item with this id.
    pub fn item(&self, id: u64) -> Result<Item, QueueError> {
        let bytes = self.items.get(keys::id(id))?.ok_or(QueueError::NoItem(id))?;
        decode("item", &bytes)
    }

    /// The first `limit` queued items of `lane`, in the order they go.
    pub fn queued(&self, lane: &LaneId, limit: usize) -> Result<Vec<Item>, QueueError> {
        self.queued_in(lane).take(limit).collect()
    }

    /// Every queued item of `lane` in the order they go, read as the iterator advances (the
    /// memory used does not grow with the queue).
    pub fn queued_in(&self, lane: &LaneId) -> impl Iterator<Item = Result<Item, QueueError>> + '_ {
        self.queued.prefix(keys::lane(lane)).map(move |g| {
            let (_, id) = g.into_inner()?;
            self.item(keys::id_at_end(&id).unwrap_or(0))
        })
    }

    /// Up to `limit` queued items of `lane` in the order they go, starting after the index
    /// key `after` (from the start when `None`), each with its index key to continue from. A
    /// runner that pages this way never re-reads what it already took off the front.
    pub fn queued_page(
        &self,
        lane: &LaneId,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Item)>, QueueError> {
        let prefix = keys::lane(lane);
        let mut end = prefix.clone();
        end.push(0xFF);
        let start = match after {
            Some(k) => std::ops::Bound::Excluded(k.to_vec()),
            None => std::ops::Bound::Included(prefix),
        };
        let mut out = Vec::new();
        for g in self.queued.range::<Vec<u8>, _>((start, std::ops::Bound::Excluded(end))).take(limit) {
            let (k, id) = g.into_inner()?;
            out.push((k.to_vec(), self.item(keys::id_at_end(&id).unwrap_or(0))?));
        }
        Ok(out)
    }

    /// Every item, in the order they were added, read as the iterator advances.
    pub fn items(&self) -> impl Iterator<Item = Result<Item, QueueError>> + '_ {
        self.items.iter().map(|g| decode("item", &g.into_inner()?.1))
    }

    /// Items recorded in flight: sent (or about to be) when the last run stopped.
    pub fn in_flight(&self) -> Result<Vec<Item>, QueueError> {
        let mut out = Vec::new();
        for g in self.in_flight.iter() {
            let (k, _) = g.into_inner()?;
            out.push(self.item(keys::id_at_end(&k).unwrap_or(0))?);
        }
        Ok(out)
    }
}
