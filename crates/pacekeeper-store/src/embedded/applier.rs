//! The applier thread: checkpoints the log into fjall, off every answer's path.
//!
//! fjall is only the log's checkpoint, so it need not see every write: the applier puts each
//! member's latest value into fjall once per checkpoint, read from the cache, instead of
//! every write as it is logged. Under load a member is written many times between two
//! checkpoints, and fjall's flushes and compactions (measured to stall answers on a busy
//! machine, BENCHMARKS.md) shrink by that factor.
//!
//! A checkpoint runs when a log segment is sealed (so it can be deleted), when the cache
//! needs room (only entries fjall holds can be evicted), at least every [`CHECKPOINT_EVERY`],
//! and when the store closes. It reads `written` (the log's end), then every cache entry
//! written since the last checkpoint (`seq` above `applied`), and writes their values to
//! fjall. Every write logged up to `written` is then in fjall or superseded there by a newer
//! value of the same member, so `applied` moves to `written`. The changes to the restrictions
//! index go into fjall at the same checkpoint. (A value newer than the log's end
//! may reach fjall before its own log record: it belongs to an answer not yet given, which a
//! crash may or may not keep, as with any unanswered request.)

use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::{FailOnPanic, Shared, clock};

/// The longest time between two checkpoints while writes come in (bounds the log replayed
/// at start-up after a crash, and the work of one checkpoint).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);

/// Requests to the applier: a checkpoint now (a segment was sealed, or the cache needs room),
/// or the end.
#[derive(Default)]
pub(super) struct ApplyControl {
    state: Mutex<Asked>,
    wake: Condvar,
}

#[derive(Default)]
struct Asked {
    checkpoint: bool,
    closed: bool,
}

impl ApplyControl {
    /// Asks for a checkpoint; cheap to repeat while one is pending.
    pub(super) fn request(&self) {
        let mut a = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !a.checkpoint {
            a.checkpoint = true;
            self.wake.notify_one();
        }
    }

    pub(super) fn close(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        self.wake.notify_one();
    }

    /// Sleeps until asked or `timeout` passes; returns (checkpoint asked, closing).
    fn next(&self, timeout: Duration) -> (bool, bool) {
        let a = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut a, _) = self
            .wake
            .wait_timeout_while(a, timeout, |a| !a.checkpoint && !a.closed)
            .unwrap_or_else(PoisonError::into_inner);
        (std::mem::take(&mut a.checkpoint), a.closed)
    }
}

/// Runs until the store closes, then makes a last checkpoint.
pub(super) fn run(shared: &Shared) {
    let _guard = FailOnPanic(shared);
    let mut last = clock::start();
    loop {
        let (asked, closed) = shared.apply.next(CHECKPOINT_EVERY.saturating_sub(clock::elapsed(last)));
        let behind = shared.written.load(Ordering::Acquire) > shared.applied.load(Ordering::Acquire);
        let due = asked || closed || clock::elapsed(last) >= CHECKPOINT_EVERY;
        if due {
            last = clock::start();
        }
        if behind
            && due
            && let Err(e) = checkpoint(shared)
        {
            shared.fail(format!("writing the checkpoint into fjall failed: {e}"));
            return;
        }
        if closed {
            return;
        }
    }
}

/// Writes every cache entry changed since the last checkpoint into fjall, one write batch
/// per cache shard, and moves `applied` to the log's end as read before.
fn checkpoint(shared: &Shared) -> Result<(), fjall::Error> {
    let end = shared.written.load(Ordering::Acquire);
    let since = shared.applied.load(Ordering::Acquire);
    for shard in &shared.shards[..] {
        let mut batch = shared.db.batch();
        {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            for (member, entry) in shard.iter().filter(|(_, e)| e.seq > since) {
                match entry.bytes.is_empty() {
                    true => batch.remove(&shared.members, member.as_bytes()),
                    false => batch.insert(&shared.members, member.as_bytes(), &entry.bytes[..]),
                }
            }
        }
        batch.commit()?;
    }
    let mut index = shared.index.lock().unwrap_or_else(PoisonError::into_inner);
    if index.is_dirty() {
        let mut batch = shared.db.batch();
        index.save(&mut batch, &shared.restrictions);
        batch.commit()?;
    }
    drop(index);
    shared.applied.fetch_max(end, Ordering::Release);
    shared.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
