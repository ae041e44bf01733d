//! The committer thread: drains the inbox, appends each group to the log with one `write`,
//! releases the answers that wait only for that (process durability) and hands strict ones
//! to the syncer.

use crate::StoreError;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::inbox::{GATHER_MAX, Inbox, Job, MAX_QUEUED, Waiter};
use super::wal::{self, Appender};
use super::{Durability, Shared, clock};

/// While answers wait, the shortest time from the start of one group to the start of the
/// next. A group costs one `write` and one wake-up of the committer however many writes it
/// carries, so letting it gather this long cuts both per answer for a bounded latency.
const GATHER: Duration = Duration::from_micros(100);

pub(super) struct Committer {
    pub shared: Arc<Shared>,
    pub inbox: Arc<Inbox>,
    pub appender: Appender,
    pub durability: Durability,
    /// Relaxed mode: how long writes may sit in the queue.
    pub interval: Duration,
}

/// One group, sorted for the log, the applier and the waiters.
#[derive(Default)]
struct Group {
    log: Vec<u8>,
    count: u64,
    top: u64,
    /// Released once the group is in the log.
    logged: Vec<Waiter>,
    /// Released once the log is fsynced past the group.
    synced: Vec<Waiter>,
}

impl Committer {
    /// Runs until the store closes the inbox, then writes what is left and returns.
    pub(super) fn run(mut self) {
        let (shared, inbox) = (self.shared.clone(), self.inbox.clone());
        let mut guard = Stopped { shared: &shared, inbox: &inbox, normally: false };
        let mut jobs = Vec::new();
        let mut last = clock::start();
        loop {
            let closed = self.wait_for_work(&mut last);
            last = clock::start();
            self.inbox.take(&mut jobs);
            if !jobs.is_empty() {
                self.commit(self.sort(&mut jobs));
            }
            if closed {
                guard.normally = true;
                return;
            }
        }
    }

    /// Sleeps until a group is due; returns whether the store is closing.
    fn wait_for_work(&self, last: &mut std::time::Instant) -> bool {
        let Ok(mut q) = self.inbox.queue.lock() else { return true };
        loop {
            if q.closed {
                return true;
            }
            q.gathering = false;
            if q.jobs.is_empty() && clock::elapsed(*last) >= self.interval {
                // Nothing queued: a new interval starts, instead of waking every millisecond.
                *last = clock::start();
            }
            let since = clock::elapsed(*last);
            if q.jobs.len() >= MAX_QUEUED || (!q.jobs.is_empty() && since >= self.interval) {
                return false;
            }
            let wait = if q.urgent {
                if since >= GATHER || q.jobs.len() >= GATHER_MAX {
                    return false;
                }
                q.gathering = true;
                GATHER - since
            } else {
                self.interval.saturating_sub(since).max(Duration::from_millis(1))
            };
            q.idle = true;
            q = match self.inbox.wake.wait_timeout(q, wait) {
                Ok((q, _)) => q,
                Err(_) => return true,
            };
            q.idle = false;
        }
    }

    fn sort(&self, jobs: &mut Vec<Job>) -> Group {
        let strict = self.durability == Durability::Strict;
        let mut g = Group::default();
        for job in jobs.drain(..) {
            match job {
                Job::Write { key, value, seq, waiter } => {
                    wal::encode(&mut g.log, seq, &key, value.as_deref());
                    g.count += 1;
                    g.top = g.top.max(seq);
                    if let Some(w) = waiter {
                        if strict { g.synced.push(w) } else { g.logged.push(w) }
                    }
                }
                Job::Flush { waiter, disk, seq } => {
                    g.top = g.top.max(seq);
                    if disk { g.synced.push(waiter) } else { g.logged.push(waiter) }
                }
            }
        }
        g
    }

    fn commit(&mut self, g: Group) {
        let s = &self.shared;
        let appended = match g.log.is_empty() {
            true => Ok(false),
            false => {
                s.wal.append(&mut self.appender, &g.log, g.top).map_err(|e| StoreError::disk("log write failed", e))
            }
        };
        let sealed = match appended {
            Ok(sealed) => sealed,
            Err(e) => {
                s.fail(&e);
                g.logged.into_iter().chain(g.synced).for_each(|w| drop(w.send(Err(e.clone()))));
                return;
            }
        };
        s.written_count.fetch_add(g.count, Ordering::Relaxed);
        s.written.fetch_max(g.top, Ordering::Release);
        s.stats.log_writes.fetch_add(u64::from(!g.log.is_empty()), Ordering::Relaxed);
        for w in g.logged {
            let _ = w.send(Ok(()));
        }
        if !g.synced.is_empty() {
            s.syncer.wait_for(g.synced);
        }
        if sealed {
            // The sealed segment can be deleted once fjall holds it: checkpoint now.
            s.apply.request();
        }
    }
}

/// Ends the committer. Stopped by the store, it returns normally; stopped any other way (a
/// panic, a poisoned lock) it refuses new work, fails every waiting answer and marks the
/// store failed, so nothing waits on a committer that is gone.
struct Stopped<'a> {
    shared: &'a Shared,
    inbox: &'a Inbox,
    normally: bool,
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if self.normally {
            return;
        }
        self.shared.fail("the committer stopped unexpectedly");
        self.inbox.close();
        let mut jobs = Vec::new();
        self.inbox.take(&mut jobs);
        for w in jobs.into_iter().filter_map(Job::into_waiter) {
            let _ = w.send(Err(StoreError::Failed));
        }
    }
}
