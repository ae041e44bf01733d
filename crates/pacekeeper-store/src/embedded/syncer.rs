//! The syncer thread: fsyncs the log through handles of its own, off the committer's path,
//! whenever a strict answer or a flush waits and at least every `sync_interval` otherwise;
//! then checkpoints (deletes log segments fjall holds durably).
//!
//! A stalled fsync holds only this thread: the committer keeps appending and process-mode
//! answers keep leaving. Strict answers wait here, and give up after `commit_timeout`.

use crate::StoreError;
use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use fjall::PersistMode;

use super::inbox::Waiter;
use super::{FailOnPanic, Shared, clock};

/// Answers and flushes waiting for the log to be fsynced past a sequence number.
#[derive(Default)]
pub(super) struct SyncQueue {
    state: Mutex<Waiting>,
    wake: Condvar,
}

#[derive(Default)]
struct Waiting {
    waiters: Vec<Waiter>,
    closed: bool,
}

impl SyncQueue {
    /// Queues waiters whose writes are in the log (the committer publishes `written` before
    /// it calls this, so the next fsync covers them) and wakes the syncer.
    pub(super) fn wait_for(&self, waiters: Vec<Waiter>) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.waiters.extend(waiters);
        self.wake.notify_one();
    }

    pub(super) fn close(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        self.wake.notify_one();
    }

    /// Waits until somebody waits, the store closes, or `timeout` passes; returns the waiters
    /// and whether the store is closing.
    fn next(&self, timeout: Duration) -> (Vec<Waiter>, bool) {
        let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut s, _) = self
            .wake
            .wait_timeout_while(s, timeout, |s| s.waiters.is_empty() && !s.closed)
            .unwrap_or_else(PoisonError::into_inner);
        (std::mem::take(&mut s.waiters), s.closed)
    }
}

/// Runs until the store closes the queue, after a last sync.
pub(super) fn run(shared: &Shared, interval: Duration) {
    let _guard = FailOnPanic(shared);
    let mut last = clock::start();
    let mut counted = 0;
    loop {
        let (waiters, closed) = shared.syncer.next(interval.saturating_sub(clock::elapsed(last)));
        let target = shared.written.load(Ordering::Acquire);
        let mut result = Ok(());
        if target > shared.durable.load(Ordering::Acquire) || !waiters.is_empty() {
            last = clock::start();
            result = shared.wal.sync().map_err(|e| StoreError::disk("fsync of the log failed", e));
            if result.is_ok() {
                synced(shared, target, &mut counted, clock::elapsed(last));
            }
        } else if clock::elapsed(last) >= interval {
            last = clock::start();
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
        if let Err(e) = result.and_then(|()| retire_segments(shared)) {
            shared.fail(&e);
        }
        if closed {
            return;
        }
    }
}

/// Publishes a completed fsync of everything up to `target`.
fn synced(shared: &Shared, target: u64, counted: &mut u64, took: Duration) {
    shared.durable.fetch_max(target, Ordering::Release);
    shared.stalled.store(false, Ordering::Relaxed);
    shared.stats.commits.fetch_add(1, Ordering::Relaxed);
    let writes = shared.written_count.load(Ordering::Relaxed);
    if let Some(f) = &shared.on_commit {
        f(writes.saturating_sub(*counted) as usize, took);
    }
    *counted = writes;
}

/// Deletes the sealed log segments whose writes fjall holds, once fjall's journal is fsynced.
fn retire_segments(shared: &Shared) -> Result<(), StoreError> {
    let ids = shared.wal.checkpointable(shared.applied.load(Ordering::Acquire));
    if ids.is_empty() {
        return Ok(());
    }
    shared.db.persist(PersistMode::SyncAll).map_err(|e| StoreError::disk("checkpoint fsync failed", e))?;
    shared.wal.remove(&ids).map_err(|e| StoreError::disk("cannot delete checkpointed log segments", e))
}
