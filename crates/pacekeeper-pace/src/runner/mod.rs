//! The runner: one step at a time, it finishes a send left in flight, withdraws a stale
//! invitation, or sends the item of the lane whose slot has come; between steps it waits on
//! its [`Clock`].

mod choose;
mod react;
mod send;
mod window;

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use pacekeeper_client::Client;
use pacekeeper_queue::{LaneId, Queue};

use crate::{Clock, RunError, Sender};

/// How the runner runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Picks the random source of every slot (with the lane and its sends): the same seed
    /// gives the same schedule.
    pub seed: u64,
    /// Working hours, even spacing, daily targets and warm-up; off, only the server's answers
    /// (and what the lanes learned) hold a send back.
    pub pacing: bool,
    /// The action whose sends are invitations (recorded for outcomes and auto-withdraw).
    pub invite_action: String,
    /// Events posted per request at most.
    pub events_batch: usize,
    /// The queue's directory, whose inbox is read at every step ([`crate::inbox`]).
    pub inbox: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options { seed: 0, pacing: true, invite_action: "invite".into(), events_batch: 100, inbox: None }
    }
}

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// One item was sent, denied, deferred or parked: the report says which.
    Did(Report),
    /// Nothing is due before `until`.
    Wait {
        /// The earliest instant something may go.
        until: Timestamp,
        /// Why nothing goes sooner.
        why: String,
    },
    /// Nothing is queued.
    Drained,
    /// Items are queued, but every lane that holds some waits for a person or an event.
    Blocked(Vec<String>),
}

/// One send, as the ledger and the progress lines show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The lane.
    pub lane: LaneId,
    /// The item.
    pub item: u64,
    /// `sent`, `denied`, `deferred`, `failed`, `skipped`, `parked` or `withdrawn`.
    pub what: &'static str,
    /// The reason, limit and pause, in words.
    pub detail: String,
    /// When.
    pub at: Timestamp,
}

/// Runs a queue.
pub struct Runner<S, C> {
    pub(crate) queue: Queue,
    pub(crate) client: Option<Client>,
    pub(crate) sender: S,
    pub(crate) clock: C,
    pub(crate) options: Options,
    /// Each lane's next slot once drawn, kept until a send or an answer changes the lane.
    pub(crate) planned: HashMap<LaneId, Timestamp>,
    /// The day each account's warm-up was last brought up to date.
    pub(crate) warmed: HashMap<String, Date>,
    /// Withdrawals held back after a failure, per account, until then.
    pub(crate) withdraw_after: HashMap<String, Timestamp>,
    /// Sends left in flight by an earlier run are finished: from then on this runner is the
    /// queue's only writer and finishes each send before the next.
    pub(crate) resumed: bool,
    /// The queue's lanes and accounts, read once: nothing adds any while the runner holds
    /// the queue.
    pub(crate) lane_ids: Vec<LaneId>,
    pub(crate) account_names: Vec<String>,
    /// The front of each lane's queue.
    pub(crate) windows: HashMap<LaneId, window::Window>,
    /// Events may be waiting to be posted.
    pub(crate) outbox_dirty: bool,
    /// Lanes as last written: read from the store once, then kept in step with every write.
    pub(crate) records: HashMap<LaneId, pacekeeper_queue::LaneRecord>,
}

impl<S: Sender, C: Clock> Runner<S, C> {
    /// A runner of `queue` that asks `client` (none: the sender's own answers decide, for a
    /// third-party API) and performs sends with `sender`.
    pub fn new(queue: Queue, client: Option<Client>, sender: S, clock: C, options: Options) -> Runner<S, C> {
        Runner {
            queue,
            client,
            sender,
            clock,
            options,
            planned: HashMap::new(),
            warmed: HashMap::new(),
            withdraw_after: HashMap::new(),
            resumed: false,
            lane_ids: Vec::new(),
            account_names: Vec::new(),
            windows: HashMap::new(),
            outbox_dirty: true,
            records: HashMap::new(),
        }
    }

    /// The queue.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// One step at the clock's now.
    pub async fn step(&mut self) -> Result<Step, RunError> {
        let now = self.clock.now();
        self.take_inbox(now)?;
        self.flush_events().await?;
        if !self.resumed {
            self.lane_ids = self.queue.lane_ids()?;
            self.account_names = self.queue.accounts()?.into_iter().map(|a| a.name).collect();
            match self.queue.in_flight()?.into_iter().next() {
                Some(item) => {
                    let without_note = item.sent_without_note;
                    return Ok(Step::Did(self.send(item, without_note, true, now).await?));
                }
                None => self.resumed = true,
            }
        }
        if let Some(report) = self.withdraw_due(now).await? {
            return Ok(Step::Did(report));
        }
        match self.choose(now)? {
            choose::Choice::Send(item, without_note) => {
                Ok(Step::Did(self.send(*item, without_note, false, now).await?))
            }
            choose::Choice::Wait(until, why) => Ok(Step::Wait { until, why }),
            choose::Choice::Drained => Ok(Step::Drained),
            choose::Choice::Blocked(why) => Ok(Step::Blocked(why)),
        }
    }

    /// Steps until the queue is drained, blocked, or the next send is more than `max_wait`
    /// away (then that wait is the answer); `on_step` sees every step. Posts what remains
    /// of the outcomes before it returns.
    pub async fn run_until_empty(
        &mut self,
        max_wait: Option<Duration>,
        mut on_step: impl FnMut(&Step),
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Step, RunError> {
        loop {
            let step = self.step().await?;
            on_step(&step);
            match &step {
                Step::Did(_) => {}
                Step::Wait { until, .. } => {
                    let far = max_wait.is_some_and(|m| self.clock.now().checked_add(m).is_ok_and(|t| *until > t));
                    if far || stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return Ok(step);
                    }
                    self.clock.sleep_until(*until).await;
                }
                Step::Drained | Step::Blocked(_) => {
                    self.flush_events().await?;
                    return Ok(step);
                }
            }
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(step);
            }
        }
    }
}

impl<S, C> Runner<S, C> {
    /// Adds what waits in the inbox; new items may bring new lanes and accounts, so what
    /// was read once is read again.
    fn take_inbox(&mut self, now: Timestamp) -> Result<(), RunError> {
        let Some(dir) = &self.options.inbox else { return Ok(()) };
        if crate::inbox::take(&self.queue, dir, now)? > 0 {
            self.lane_ids = self.queue.lane_ids()?;
            self.account_names = self.queue.accounts()?.into_iter().map(|a| a.name).collect();
            self.windows.clear();
            self.planned.clear();
        }
        Ok(())
    }

    /// A lane as last written (from memory once read).
    pub(crate) fn lane_record(&self, id: &LaneId) -> Result<Option<pacekeeper_queue::LaneRecord>, RunError> {
        match self.records.get(id) {
            Some(r) => Ok(Some(r.clone())),
            None => Ok(self.queue.lane(id)?),
        }
    }

    /// Remembers a lane just written.
    pub(crate) fn lane_written(&mut self, id: &LaneId, rec: &pacekeeper_queue::LaneRecord) {
        self.records.insert(id.clone(), rec.clone());
    }
}

/// The random source of a lane's next slot: the seed, the lane and how many it has sent.
pub fn rng_for(seed: u64, lane: &LaneId, sends: u64) -> fastrand::Rng {
    let mut key = Vec::with_capacity(lane.account.len() + lane.action.len() + 9);
    key.extend_from_slice(lane.account.as_bytes());
    key.push(0);
    key.extend_from_slice(lane.action.as_bytes());
    key.extend_from_slice(&sends.to_be_bytes());
    fastrand::Rng::with_seed(xxhash_rust::xxh3::xxh3_64_with_seed(&key, seed))
}
