//! Two subjects in one update (a member and their organisation): both shards locked in a
//! fixed order, the closure run once on both states, and both writes queued in one step so
//! they reach the log in one write call.

use std::collections::HashMap;
use std::sync::{MutexGuard, PoisonError};

use pacekeeper_engine::MemberState;

use super::{EmbeddedStore, Entry};
use crate::{PairChange, StoreError};

type Map = HashMap<Box<str>, Entry>;

/// A key and its new value (`None` deletes), when it is to be written.
type Write<'k> = Option<(&'k str, Option<Vec<u8>>)>;

/// What was read of one subject: its state, its bytes and the number of its last write.
struct Read {
    state: MemberState,
    bytes: Box<[u8]>,
    seq: u64,
}

impl EmbeddedStore {
    pub(super) async fn update_both<R, F>(&self, member: &str, org: &str, mut f: F) -> Result<R, StoreError>
    where
        F: FnMut(&mut MemberState, &mut MemberState) -> PairChange<R>,
    {
        self.check()?;
        let (output, pending) = {
            let (lo, hi) = self.lock_two(member, org);
            let mut locked = Locked { lo, hi, member_in_hi: self.shard_index(member) > self.shard_index(org) };
            let mut m = self.read_entry(locked.map(true), member)?;
            let mut o = self.read_entry(locked.map(false), org)?;
            let (ms, os) = (&mut m.state, &mut o.state);
            let restricted_before = ms.restricted_until();
            let PairChange { change, .. } = f(ms, os);
            if !change.changed {
                return Ok(change.output);
            }
            let (mv, ov) = (encode(ms), encode(os));
            let (m_bytes, o_bytes) = (boxed(&mv), boxed(&ov));
            let (m_same, o_same) = (m_bytes == m.bytes, o_bytes == o.bytes);
            let pending = if m_same && o_same {
                // Nothing to write; the answer rests on both subjects' last writes.
                self.rest_on(m.seq.max(o.seq))?
            } else {
                let writes = [(!o_same).then_some((org, ov)), (!m_same).then_some((member, mv))];
                let (seq, pending) = self.queue_writes(writes)?;
                // Queued first: the cache shows a value only once its write is on its way.
                for (key, is_member, same, bytes) in [(org, false, o_same, o_bytes), (member, true, m_same, m_bytes)] {
                    if !same {
                        *self.cached_entry(locked.map(is_member), key)? = Entry { bytes, seq };
                    }
                }
                pending
            };
            let restricted_after = ms.restricted_until();
            if crate::index_moves(member, restricted_before, restricted_after) {
                self.index().set(member, restricted_after);
            }
            (change.output, pending)
        };
        self.wait(pending).await?;
        Ok(output)
    }

    /// Locks the shards of `a` and `b`, lower index first (one lock when they share one).
    fn lock_two(&self, a: &str, b: &str) -> (MutexGuard<'_, Map>, Option<MutexGuard<'_, Map>>) {
        let (i, j) = (self.shard_index(a), self.shard_index(b));
        let shards = &self.inner.shared.shards;
        let lock = |k: usize| shards[k].lock().unwrap_or_else(PoisonError::into_inner);
        let lo = lock(i.min(j));
        let hi = (i != j).then(|| lock(i.max(j)));
        (lo, hi)
    }

    fn read_entry(&self, map: &mut Map, key: &str) -> Result<Read, StoreError> {
        let e = self.cached_entry(map, key)?;
        Ok(Read { state: e.state(key)?, bytes: e.bytes.clone(), seq: e.seq })
    }

    /// Queues the writes given (organisation first, then member) in one step; the answer
    /// waits on the last. Returns the number both entries record (the last write's: "written
    /// up to it" covers both) and what to wait on.
    fn queue_writes(&self, writes: [Write<'_>; 2]) -> Result<(u64, Option<super::inbox::Pending>), StoreError> {
        match writes {
            [Some((a, av)), Some((b, bv))] => {
                let (first, _) = self.write_job(a, av, false);
                let (second, pending) = self.write_job(b, bv, true);
                Ok((self.inner.inbox.push_all([first, second])?, pending))
            }
            [Some((k, v)), None] | [None, Some((k, v))] => self.queue(k, v, true),
            [None, None] => Ok((0, None)),
        }
    }
}

/// The two locked shards, and which one holds the member.
struct Locked<'a> {
    lo: MutexGuard<'a, Map>,
    hi: Option<MutexGuard<'a, Map>>,
    member_in_hi: bool,
}

impl Locked<'_> {
    /// The map of the member (`true`) or of the organisation (`false`).
    fn map(&mut self, member: bool) -> &mut Map {
        let in_hi = member == self.member_in_hi;
        match (&mut self.hi, in_hi) {
            (Some(hi), true) => hi,
            _ => &mut self.lo,
        }
    }
}

/// The value to store: `None` deletes an empty state.
fn encode(st: &MemberState) -> Option<Vec<u8>> {
    (!st.is_empty()).then(|| st.encode())
}

/// The bytes a cache entry holds for that value (empty: nothing stored).
fn boxed(v: &Option<Vec<u8>>) -> Box<[u8]> {
    v.as_deref().map(Box::from).unwrap_or_default()
}
