//! The committer's inbox: writes and flushes queued by request threads, in sequence order.

use std::sync::{Condvar, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::StoreError;

/// Told when what it waits on is done (or why it failed).
pub(super) type Waiter = oneshot::Sender<Result<(), StoreError>>;

/// What an answer waits on.
pub(super) type Pending = oneshot::Receiver<Result<(), StoreError>>;

/// Writes queued beyond this wake the committer even when nobody waits (bounds the queue).
pub(super) const MAX_QUEUED: usize = 4096;

/// Writes enough to start a group without waiting out the gather time.
pub(super) const GATHER_MAX: usize = 128;

/// Work for the committer. Every job gets a sequence number when queued.
pub(super) enum Job {
    /// Store (`Some`) or delete (`None`) a member's encoded state. The waiter, if any, is
    /// released as the store's durability says: once the write is in the log (process), or
    /// once the log is fsynced past it (strict).
    Write { key: Box<[u8]>, value: Option<Vec<u8>>, seq: u64, waiter: Option<Waiter> },
    /// Tell the waiter once everything queued before is in the log (`disk: false`) or fsynced
    /// (`disk: true`).
    Flush { waiter: Waiter, disk: bool, seq: u64 },
}

impl Job {
    /// Somebody waits on this job: the committer must not wait for its interval.
    fn urgent(&self) -> bool {
        matches!(self, Job::Flush { .. } | Job::Write { waiter: Some(_), .. })
    }

    fn set_seq(&mut self, n: u64) {
        match self {
            Job::Write { seq, .. } | Job::Flush { seq, .. } => *seq = n,
        }
    }

    /// The waiter, to fail it.
    pub(super) fn into_waiter(self) -> Option<Waiter> {
        match self {
            Job::Write { waiter, .. } => waiter,
            Job::Flush { waiter, .. } => Some(waiter),
        }
    }
}

/// Producers wake the committer only when it sleeps and the work is urgent (an answer or a
/// flush waits on it) or the queue is long; otherwise the committer picks the work up when it
/// is next awake. Under load it is awake (writing the previous group while the next fills), so
/// a write costs a push, not a thread switch.
pub(super) struct Inbox {
    pub queue: Mutex<Queue>,
    pub wake: Condvar,
}

#[derive(Default)]
pub(super) struct Queue {
    pub jobs: Vec<Job>,
    /// The committer is asleep on `wake`.
    pub idle: bool,
    /// A queued job has a waiter.
    pub urgent: bool,
    /// The committer sleeps to let a group gather.
    pub gathering: bool,
    /// The store is gone: no more jobs are accepted.
    pub closed: bool,
    /// The sequence number given to the last queued job.
    last_seq: u64,
}

impl Inbox {
    pub(super) fn new() -> Inbox {
        Inbox { queue: Mutex::new(Queue::default()), wake: Condvar::new() }
    }

    /// Queues a job and returns its sequence number. Numbers are given out under the queue's
    /// lock, so the queue holds jobs in sequence order and "written up to N" means every
    /// write numbered N or less.
    pub(super) fn push(&self, job: Job) -> Result<u64, StoreError> {
        self.push_all([job])
    }

    /// Queues jobs one after the other, in one step: they get consecutive numbers and the
    /// committer takes them in the same group, so they reach the log in one write. Returns
    /// the last one's number.
    pub(super) fn push_all<const N: usize>(&self, jobs: [Job; N]) -> Result<u64, StoreError> {
        let mut q = self.queue.lock().map_err(|_| StoreError::Internal("the committer queue is poisoned"))?;
        if q.closed {
            return Err(StoreError::Closed);
        }
        for mut job in jobs {
            q.last_seq += 1;
            job.set_seq(q.last_seq);
            q.urgent |= job.urgent();
            q.jobs.push(job);
        }
        let full = q.jobs.len() >= MAX_QUEUED || (q.gathering && q.jobs.len() >= GATHER_MAX);
        if q.idle && (full || (q.urgent && !q.gathering)) {
            q.idle = false;
            self.wake.notify_one();
        }
        Ok(q.last_seq)
    }

    /// Swaps every queued job into `into` (which must be empty).
    pub(super) fn take(&self, into: &mut Vec<Job>) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut q.jobs, into);
        q.urgent = false;
    }

    pub(super) fn close(&self) {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        self.wake.notify_one();
    }
}
