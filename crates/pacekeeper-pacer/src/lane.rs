//! A lane: one account's one action. When its next send may go, and what an answer changes.

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use pacekeeper_api::Reason;

use serde::{Deserialize, Serialize};

use crate::{Learned, WorkingHours};

/// Failed sends (5xx, network) retried before the lane gives up and asks for a human.
pub const RETRY_BUDGET: u32 = 8;
/// The first backoff after a failure; it doubles with each failure in a row.
const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// The longest backoff.
const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);
/// Jitter added to a server's retry time, so senders told the same instant do not return
/// together: up to this share of the wait, and at most [`RETRY_JITTER_MAX`].
const RETRY_JITTER_SHARE: f64 = 0.05;
const RETRY_JITTER_MAX: Duration = Duration::from_secs(10 * 60);

/// What came back for a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed; what remains of the binding limit and when it resets, when known.
    Allowed {
        /// Units left.
        remaining: Option<u64>,
        /// Time until the limit frees up.
        reset: Option<Duration>,
        /// The binding limit's name, when known.
        limit: Option<String>,
    },
    /// Denied by the server.
    Denied {
        /// Why.
        reason: Reason,
        /// When the same request would be allowed; absent when waiting does not help.
        retry_after: Option<Duration>,
        /// The limit that denied it, when the server names one.
        limit: Option<String>,
        /// Whether the request carried a note.
        with_note: bool,
    },
    /// A 5xx answer or a network error: nothing is known to have happened.
    Failed,
}

/// Why a lane stopped, waiting for something other than time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// A cap is reached: the lane waits until an event moves the gauge.
    UntilEvent,
    /// Verification is required, or retries are spent: a person must look.
    Human,
}

/// What the runner must do after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// The action went; the item is done.
    Sent,
    /// The lane waits until then (`limit_exceeded`); the item stays queued.
    LaneWaits(Timestamp),
    /// Every lane of the account whose action the restriction blocks waits until then.
    ScopeWaits(Timestamp),
    /// Only this item waits until then (a target on cooldown); the lane goes on.
    ItemWaits(Timestamp),
    /// The lane stops until an event moves the gauge (`cap_reached`).
    LaneStops,
    /// The item is parked and the account flagged for a person.
    NeedsHuman,
    /// Send the same item again (same request id) at that instant.
    Retry(Timestamp),
    /// Only notes wait until then (the note allowance is used up): the lane goes on, items
    /// whose note is optional go without it, the others wait.
    NotesWait(Timestamp),
}

/// One account's one action: its pacing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    /// Sends per working day at most.
    pub daily_target: u32,
    /// No send before this instant; only ever extended.
    pub paused_until: Option<Timestamp>,
    /// Stopped until an event or a person.
    pub stop: Option<Stop>,
    /// The last send.
    pub last_sent: Option<Timestamp>,
    /// Sends on the working day (in the account's zone) of the last send.
    sent_on: Option<(Date, u32)>,
    /// Failures in a row.
    failures: u32,
    /// Limits that count only actions with a note (`monthly_notes`): reaching one holds notes,
    /// never the lane.
    pub note_limits: Vec<String>,
    /// No note before this instant; only ever extended.
    pub notes_until: Option<Timestamp>,
    /// Limits learned from the answers, and the sends inside them.
    #[serde(default)]
    pub learned: Learned,
}

impl Lane {
    /// A lane that sends at most `daily_target` a working day.
    pub fn new(daily_target: u32) -> Lane {
        Lane {
            daily_target,
            paused_until: None,
            stop: None,
            last_sent: None,
            sent_on: None,
            failures: 0,
            note_limits: Vec::new(),
            notes_until: None,
            learned: Learned::default(),
        }
    }

    /// Extends the pause to `until`; an earlier instant changes nothing.
    pub fn pause_until(&mut self, until: Timestamp) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Sends already made on `date`.
    fn sent_on(&self, date: Date) -> u32 {
        self.sent_on.filter(|(d, _)| *d == date).map_or(0, |(_, n)| n)
    }

    /// When the next send may go, at the earliest `now`: inside working hours, after any
    /// pause and with room in every learned window, the day's remaining sends spread evenly over its remaining working time, each
    /// at a random point of its share. `None` while the lane is stopped or targets nothing.
    pub fn next_slot(&self, hours: &WorkingHours, now: Timestamp, rng: &mut fastrand::Rng) -> Option<Timestamp> {
        self.next_slot_within(hours, now, self.daily_target, rng)
    }

    /// [`Lane::next_slot`] with a day's allowance other than the daily target (a warm-up's,
    /// see [`crate::Warmup::allowance`]).
    pub fn next_slot_within(
        &self,
        hours: &WorkingHours,
        now: Timestamp,
        allowance: u32,
        rng: &mut fastrand::Rng,
    ) -> Option<Timestamp> {
        if self.stop.is_some() || allowance == 0 {
            return None;
        }
        let mut earliest = self.learned.free_at(self.paused_until.map_or(now, |p| p.max(now)));
        // Two steps at most: today's span, or the next working day's once today's sends are
        // made; eight bound a week of days without a span left.
        for _ in 0..8 {
            let (open, close) = hours.next_open(earliest);
            let left = allowance.saturating_sub(self.sent_on(hours.date_of(open)));
            if left == 0 || open >= close {
                earliest = close;
                continue;
            }
            let share = (close.as_millisecond() - open.as_millisecond()) / i64::from(left);
            let offset = (share as f64 * rng.f64()) as i64;
            return Timestamp::from_millisecond(open.as_millisecond() + offset).ok();
        }
        None
    }

    /// Records a send at `at` (before its answer is known).
    pub fn record_send(&mut self, at: Timestamp, hours: &WorkingHours) {
        let date = hours.date_of(at);
        self.sent_on = Some((date, self.sent_on(date) + 1));
        self.last_sent = Some(at);
        self.learned.record(at);
    }

    /// Applies the answer to a send made at `now`: one reaction per kind of answer.
    pub fn react(&mut self, outcome: &Outcome, now: Timestamp, rng: &mut fastrand::Rng) -> Reaction {
        if !matches!(outcome, Outcome::Failed) {
            self.failures = 0;
        }
        match *outcome {
            Outcome::Allowed { remaining, reset, ref limit } => {
                if let (Some(0), Some(reset)) = (remaining, reset) {
                    let until = after(now, reset);
                    if limit.as_ref().is_some_and(|l| self.note_limits.contains(l)) {
                        // The note allowance is used up: only notes wait.
                        self.notes_until = Some(self.notes_until.map_or(until, |n| n.max(until)));
                    } else {
                        self.pause_until(until);
                    }
                }
                Reaction::Sent
            }
            Outcome::Denied { reason: Reason::LimitExceeded, retry_after: Some(d), ref limit, with_note: true }
                if limit.as_ref().is_some_and(|l| self.note_limits.contains(l)) =>
            {
                let until = after(now, d);
                self.notes_until = Some(self.notes_until.map_or(until, |n| n.max(until)));
                Reaction::NotesWait(until)
            }
            Outcome::Denied { reason, retry_after, .. } => self.denied(reason, retry_after, now, rng),
            Outcome::Failed => self.failed(now, rng),
        }
    }

    fn denied(&mut self, reason: Reason, retry: Option<Duration>, now: Timestamp, rng: &mut fastrand::Rng) -> Reaction {
        let until = |rng: &mut fastrand::Rng, d: Duration| {
            let jitter = d.mul_f64(RETRY_JITTER_SHARE).min(RETRY_JITTER_MAX).mul_f64(rng.f64());
            after(now, d + jitter)
        };
        match (reason, retry) {
            (Reason::Ok | Reason::StoreUnavailable, _) => Reaction::Sent,
            (Reason::Cooldown, Some(d)) => Reaction::ItemWaits(after(now, d)),
            (Reason::Restricted, Some(d)) => {
                let at = until(rng, d);
                self.pause_until(at);
                Reaction::ScopeWaits(at)
            }
            (Reason::LimitExceeded, Some(d)) => {
                let at = until(rng, d);
                self.pause_until(at);
                Reaction::LaneWaits(at)
            }
            (Reason::CapReached, _) => {
                self.stop = Some(Stop::UntilEvent);
                Reaction::LaneStops
            }
            // Verification, or a denial the server gives no time for: a person decides.
            _ => {
                self.stop = Some(Stop::Human);
                Reaction::NeedsHuman
            }
        }
    }

    /// Exponential backoff with full jitter, under a retry budget.
    fn failed(&mut self, now: Timestamp, rng: &mut fastrand::Rng) -> Reaction {
        self.failures += 1;
        if self.failures > RETRY_BUDGET {
            self.stop = Some(Stop::Human);
            return Reaction::NeedsHuman;
        }
        let ceiling = BACKOFF_BASE.saturating_mul(1 << (self.failures - 1).min(20)).min(BACKOFF_CAP);
        let at = after(now, ceiling.mul_f64(rng.f64()));
        self.pause_until(at);
        Reaction::Retry(at)
    }
}

/// `now + d`, saturating at the latest instant.
fn after(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_add(d).unwrap_or(Timestamp::MAX)
}
