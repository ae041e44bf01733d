//! The read model's feed, off the decision's path: each answered decision (and applied
//! outcome event) is offered to a
//! bounded channel (a full channel drops it and counts the drop; a decision never waits),
//! and one thread folds what arrives into the [`ReadModel`] that `GET /v1/stats` shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use pacekeeper_engine::Decision;
use pacekeeper_stats::{Observation, ReadModel, Stats};

/// Observations waiting to be folded at most; more are dropped and counted.
pub const OBSERVER_CAPACITY: usize = 65_536;
/// A snapshot waits at most this many milliseconds for what was observed before it to be
/// folded.
pub const SNAPSHOT_WAIT_MS: u32 = 200;

/// What the folding thread receives.
#[derive(Debug)]
enum Seen {
    Decision(Observation),
    Event(&'static str, Timestamp),
}

/// Counters shared by the channel's two ends.
#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    folded: AtomicU64,
    dropped: AtomicU64,
}

/// Feeds the read model.
#[derive(Debug, Clone)]
pub struct Observer {
    tx: SyncSender<Seen>,
    model: Arc<Mutex<ReadModel>>,
    counts: Arc<Counts>,
}

impl Observer {
    /// Starts the folding thread; it ends when the last `Observer` is dropped.
    pub fn start() -> Observer {
        let (tx, rx) = sync_channel(OBSERVER_CAPACITY);
        let model = Arc::new(Mutex::new(ReadModel::default()));
        let counts = Arc::new(Counts::default());
        let (m, c) = (model.clone(), counts.clone());
        let spawned = std::thread::Builder::new().name("pacekeeper-stats".into()).spawn(move || fold(rx, &m, &c));
        if let Err(e) = spawned {
            // Without the thread every observation is dropped and counted: decisions go on.
            tracing::error!(error = %e, "cannot start the statistics thread: /v1/stats will count drops only");
        }
        Observer { tx, model, counts }
    }

    /// Offers one answered decision; never waits.
    pub fn decision(&self, member: &str, action: &str, d: &Decision, at: Timestamp) {
        self.offer(Seen::Decision(Observation::of(member, action, d, at)));
    }

    /// Offers one applied outcome event of `kind` at `at`; never waits.
    pub fn event(&self, kind: &'static str, at: Timestamp) {
        self.offer(Seen::Event(kind, at));
    }

    fn offer(&self, seen: Seen) {
        match self.tx.try_send(seen) {
            Ok(()) => {
                self.counts.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The read model at `now`, with everything offered before the call folded in (waiting
    /// at most [`SNAPSHOT_WAIT_MS`] for it).
    pub fn snapshot(&self, now: Timestamp) -> Stats {
        let sent = self.counts.sent.load(Ordering::Acquire);
        for _ in 0..SNAPSHOT_WAIT_MS {
            if self.counts.folded.load(Ordering::Acquire) >= sent {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut stats = self.model.lock().unwrap_or_else(|e| e.into_inner()).snapshot(now);
        stats.dropped = self.counts.dropped.load(Ordering::Relaxed);
        stats
    }
}

/// How long the folding thread lets observations gather while they keep coming. Senders
/// wake a thread only when it waits in `recv`: a thread that sleeps this long between
/// batches costs a busy server no wake-up per decision (one futex call and a context switch
/// each, measured at about a fifth of a decision's CPU; BENCHMARKS.md), and a snapshot waits
/// at most this long for what came before it.
const FOLD_EVERY: Duration = Duration::from_millis(5);

fn fold(rx: Receiver<Seen>, model: &Mutex<ReadModel>, counts: &Counts) {
    let apply = |m: &mut ReadModel, seen: Seen| match seen {
        Seen::Decision(o) => m.observe(o),
        Seen::Event(kind, at) => m.event(kind, at),
    };
    // Idle: wait in `recv` (the first observation wakes the thread). Busy: fold what came,
    // sleep, and go on while more comes.
    let mut next = rx.recv().ok();
    while let Some(first) = next {
        let mut m = model.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 1;
        apply(&mut m, first);
        while let Ok(seen) = rx.try_recv() {
            apply(&mut m, seen);
            n += 1;
        }
        drop(m);
        counts.folded.fetch_add(n, Ordering::Release);
        std::thread::sleep(FOLD_EVERY);
        next = match rx.try_recv() {
            Ok(seen) => Some(seen),
            Err(TryRecvError::Empty) => rx.recv().ok(),
            Err(TryRecvError::Disconnected) => None,
        };
    }
}
