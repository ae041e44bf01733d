//! Two subjects in one update on Redis (a member and their organisation): reserve, then
//! commit. The two keys hash to different cluster slots, so no script can cover both; the
//! update writes the organisation first, then the member, each by compare-and-set, and
//! reruns the closure after a lost race on either. The engine makes the rerun safe: the
//! organisation's charge carries a ticket, a rerun finds it and does not charge again, and a
//! rerun that ends denied takes it back. So the organisation never counts less than it
//! admitted (no over-admission under any interleaving); a process that dies, or an update
//! that times out, between the two writes leaves its reservation counted until the window
//! ends (under-admission by that one request).
//!
//! Within one process, updates of one organisation take turns, so they never lose races to
//! each other; races come only from other processes.

use std::hash::BuildHasher;
use std::sync::atomic::Ordering;

use pacekeeper_engine::MemberState;
use redis::Value;

use super::{MAX_ATTEMPTS, RedisStore, decode, stored_state};
use crate::{PairChange, StoreError};

/// One subject's key and the value the update last saw there.
struct Seen {
    id: String,
    key: String,
    current: Vec<u8>,
    /// Read from Redis (or handed back by a compare-and-set) during this update, not taken
    /// from the values this process remembers.
    fresh: bool,
}

/// What a compare-and-set found.
enum Cas {
    Written(Vec<u8>),
    Lost(Vec<u8>),
}

impl RedisStore {
    pub(super) async fn update_both<R, F>(&self, member: &str, org: &str, f: F) -> Result<R, StoreError>
    where
        F: FnMut(&mut MemberState, &mut MemberState) -> PairChange<R>,
    {
        let turn = &self.inner.pair_turns[self.inner.hasher.hash_one(org) as usize % self.inner.pair_turns.len()];
        let r = self
            .bounded(async {
                let _turn = turn.lock().await;
                self.both_once(member, org, f).await
            })
            .await;
        if r.is_err() {
            self.inner.known.forget(member);
            self.inner.known.forget(org);
        }
        r
    }

    async fn seen(&self, id: &str) -> Result<Seen, StoreError> {
        let key = self.key(id);
        Ok(match self.inner.known.get(id) {
            Some(current) => Seen { id: id.to_string(), key, current, fresh: false },
            None => Seen { id: id.to_string(), current: self.get(&key).await?, key, fresh: true },
        })
    }

    async fn both_once<R, F>(&self, member: &str, org: &str, mut f: F) -> Result<R, StoreError>
    where
        F: FnMut(&mut MemberState, &mut MemberState) -> PairChange<R>,
    {
        let (mut m, mut o) = (self.seen(member).await?, self.seen(org).await?);
        for _ in 0..MAX_ATTEMPTS {
            let (mut ms, mut os) = (decode(member, &m.current)?, decode(org, &o.current)?);
            let restricted_before = ms.restricted_until();
            let PairChange { change, org_ttl } = f(&mut ms, &mut os);
            let (mv, ov) = match change.changed {
                true => (encoded(&ms), encoded(&os)),
                false => (stored_state(&m.current).to_vec(), stored_state(&o.current).to_vec()),
            };
            // The organisation first: its reservation is in place before the member's write.
            if ov != stored_state(&o.current) {
                match self.cas(&o, ov, org_ttl).await? {
                    Cas::Written(v) => (o.current, o.fresh) = (v, true),
                    Cas::Lost(now) => {
                        (o.current, o.fresh) = (now, true);
                        continue;
                    }
                }
            } else if !self.still(&mut o).await? {
                continue;
            }
            if mv != stored_state(&m.current) {
                match self.cas(&m, mv, change.ttl).await? {
                    Cas::Written(v) => m.current = v,
                    Cas::Lost(now) => {
                        (m.current, m.fresh) = (now, true);
                        continue;
                    }
                }
                let restricted_after = ms.restricted_until();
                if crate::index_moves(member, restricted_before, restricted_after) {
                    self.set_restricted(member, restricted_after).await?;
                }
            } else if !self.still(&mut m).await? {
                continue;
            }
            return Ok(change.output);
        }
        Err(StoreError::Contended { member: member.to_string(), attempts: MAX_ATTEMPTS })
    }

    /// Whether the value an answer rests on without writing it is still what Redis holds:
    /// true at once when it was read during this update; else read again (and keep the new
    /// value for the rerun).
    async fn still(&self, s: &mut Seen) -> Result<bool, StoreError> {
        if s.fresh {
            return Ok(true);
        }
        let now = self.get(&s.key).await?;
        s.fresh = true;
        if now == s.current {
            return Ok(true);
        }
        s.current = now;
        Ok(false)
    }

    /// Writes `value` (empty: delete) where `s.current` still stands.
    async fn cas(&self, s: &Seen, value: Vec<u8>, ttl: Option<std::time::Duration>) -> Result<Cas, StoreError> {
        let mut next = value;
        if !next.is_empty() {
            next.extend_from_slice(&self.inner.write_ids.next());
        }
        let mut conn = self.conn.clone();
        let answer = self.compare_and_set(&mut conn, &s.key, &s.current, &next, ttl).await?;
        match answer {
            Value::Int(_) => {
                self.inner.stats.writes.fetch_add(1, Ordering::Relaxed);
                self.inner.known.put(&s.id, next.clone());
                Ok(Cas::Written(next))
            }
            Value::BulkString(now) => {
                self.inner.stats.conflicts.fetch_add(1, Ordering::Relaxed);
                Ok(Cas::Lost(now))
            }
            other => Err(StoreError::Protocol(format!("{other:?}"))),
        }
    }
}

fn encoded(st: &MemberState) -> Vec<u8> {
    if st.is_empty() { Vec::new() } else { st.encode() }
}
