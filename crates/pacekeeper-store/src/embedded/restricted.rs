//! The restrictions index of the embedded store: which members are restricted until when.
//!
//! In memory, members ordered by the end of their restrictions, updated by every write that
//! changes that end. On disk, the `restrictions` keyspace, ordered the same way (key: the
//! end as big-endian bytes, then the member id); the applier writes the changes at each
//! checkpoint, in the same batch as the member values, and opening the store reads it back and
//! corrects it from the log it replays, so the index is as durable as the states it
//! describes.

use std::collections::{BTreeSet, HashMap};

use fjall::{Keyspace, OwnedWriteBatch};
use pacekeeper_engine::MemberState;

use crate::{Restricted, RestrictedPage};

/// The index, in memory.
#[derive(Default)]
pub(super) struct Index {
    by_end: BTreeSet<(i64, Box<str>)>,
    end_of: HashMap<Box<str>, i64>,
    /// Changes not yet on disk: the member's end then (`None`: no longer restricted).
    unsaved: HashMap<Box<str>, Option<i64>>,
    /// What the keyspace holds for each member, to remove its old key.
    saved: HashMap<Box<str>, i64>,
}

/// The key of one member in the keyspace.
fn key(end: i64, member: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + member.len());
    // Flipping the sign bit orders negative ends before positive ones as bytes.
    k.extend_from_slice(&((end as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(member.as_bytes());
    k
}

fn parse(k: &[u8]) -> Option<(i64, &str)> {
    let (end, member) = k.split_at_checked(8)?;
    let end = u64::from_be_bytes(end.try_into().ok()?) ^ (1 << 63);
    Some((end as i64, std::str::from_utf8(member).ok()?))
}

/// The end a stored value gives (an empty value is a member erased).
pub(super) fn end_of_value(value: Option<&[u8]>) -> Option<i64> {
    MemberState::decode(value.filter(|v| !v.is_empty())?).ok()?.restricted_until()
}

impl Index {
    /// Reads the keyspace back.
    pub(super) fn load(keyspace: &Keyspace) -> Result<Index, fjall::Error> {
        let mut index = Index::default();
        for kv in keyspace.iter() {
            let k = kv.key()?;
            if let Some((end, member)) = parse(&k) {
                index.saved.insert(member.into(), end);
                index.by_end.insert((end, member.into()));
                index.end_of.insert(member.into(), end);
            }
        }
        Ok(index)
    }

    /// Records the member's end now (`None`: not restricted).
    pub(super) fn set(&mut self, member: &str, end: Option<i64>) {
        let old = self.end_of.get(member).copied();
        if old == end {
            return;
        }
        if let Some(old) = old {
            self.by_end.remove(&(old, member.into()));
            self.end_of.remove(member);
        }
        if let Some(end) = end {
            self.by_end.insert((end, member.into()));
            self.end_of.insert(member.into(), end);
        }
        self.unsaved.insert(member.into(), end);
    }

    /// Whether changes wait to be written.
    pub(super) fn is_dirty(&self) -> bool {
        !self.unsaved.is_empty()
    }

    /// Puts the changes not yet on disk into `batch`.
    pub(super) fn save(&mut self, batch: &mut OwnedWriteBatch, keyspace: &Keyspace) {
        for (member, end) in self.unsaved.drain() {
            if let Some(old) = self.saved.remove(&member) {
                batch.remove(keyspace, key(old, &member));
            }
            if let Some(end) = end {
                batch.insert(keyspace, key(end, &member), []);
                self.saved.insert(member, end);
            }
        }
    }

    /// The members restricted after `now`, soonest end first.
    pub(super) fn page(&self, now: i64, first: usize) -> RestrictedPage {
        let after = self.by_end.range((now.saturating_add(1), Box::<str>::from(""))..);
        let total = self.by_end.len() - self.by_end.range(..(now.saturating_add(1), Box::<str>::from(""))).count();
        let first = after.take(first).map(|(until, m)| Restricted { member: m.to_string(), until: *until }).collect();
        RestrictedPage { total: total as u64, first }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_end_then_member() {
        let mut keys = [key(5, "b"), key(-3, "z"), key(5, "a"), key(i64::MAX, "a"), key(0, "q")];
        keys.sort();
        let parsed: Vec<_> = keys.iter().map(|k| parse(k).unwrap()).collect();
        assert_eq!(parsed, [(-3, "z"), (0, "q"), (5, "a"), (5, "b"), (i64::MAX, "a")]);
    }

    #[test]
    fn a_page_counts_only_restrictions_still_running() {
        let mut ix = Index::default();
        ix.set("ada", Some(100));
        ix.set("bob", Some(50));
        ix.set("cy", Some(200));
        ix.set("bob", Some(300));
        ix.set("cy", None);
        let page = ix.page(100, 10);
        assert_eq!(page.total, 1, "ada's restriction ended at 100");
        assert_eq!(page.first, [Restricted { member: "bob".into(), until: 300 }]);
        assert_eq!(ix.page(0, 1).total, 2);
        assert_eq!(ix.page(0, 1).first.len(), 1);
    }
}
