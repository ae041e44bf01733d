//! Limits a lane learned from the answers (`RateLimit-Policy`: `q` units per `w`), and the
//! sends it made inside the longest of them: no window of any learned length ever holds
//! more than its amount of this lane's sends.

use std::collections::VecDeque;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Sends remembered at most, whatever the learned amounts say: a bound on the state's size
/// (it is stored with the lane and read at every send). A learned amount above it is not
/// enforced here; the server's `remaining` still is.
pub const MAX_REMEMBERED_SENDS: usize = 1_000;

/// One learned limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedLimit {
    /// Its name, when the server gives one.
    pub name: Option<String>,
    /// Units allowed per window.
    pub amount: u64,
    /// The window.
    pub window: Duration,
}

/// The learned limits of a lane and its recent sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Learned {
    limits: Vec<LearnedLimit>,
    /// Instants of the recent sends, in milliseconds since the epoch, oldest first.
    sends: VecDeque<i64>,
    /// Names of limits seen on answers to requests without a note: they count every send.
    #[serde(default)]
    plain: Vec<String>,
}

impl Learned {
    /// The limits learned so far.
    pub fn limits(&self) -> &[LearnedLimit] {
        &self.limits
    }

    /// Learns `limit`: a limit of the same name (or, unnamed, the same window) is replaced by
    /// the newer answer, since servers change amounts (an "I don't know" report shrinks one).
    pub fn learn(&mut self, limit: LearnedLimit) {
        if limit.window.is_zero() {
            return;
        }
        let same = |l: &LearnedLimit| match (&l.name, &limit.name) {
            (Some(a), Some(b)) => a == b,
            (None, None) => l.window == limit.window,
            _ => false,
        };
        match self.limits.iter_mut().find(|l| same(l)) {
            Some(l) => *l = limit,
            None => self.limits.push(limit),
        }
    }

    /// Learns from the limits of one answer. A limit that shows only on answers to requests
    /// with a note counts only notes (`monthly_notes`): it joins `note_limits` and holds
    /// notes, never the lane; one seen on a note-less answer counts every send.
    pub fn observe(&mut self, limits: Vec<LearnedLimit>, with_note: bool, note_limits: &mut Vec<String>) {
        for l in limits {
            let Some(name) = l.name.clone() else {
                self.learn(l);
                continue;
            };
            if !with_note {
                note_limits.retain(|n| *n != name);
                if !self.plain.contains(&name) {
                    self.plain.push(name);
                }
                self.learn(l);
            } else if self.plain.contains(&name) {
                self.learn(l);
            } else if !note_limits.contains(&name) {
                self.limits.retain(|k| k.name.as_ref() != Some(&name));
                note_limits.push(name);
            }
        }
    }

    /// Records a send at `at`, forgetting those older than the longest window.
    pub fn record(&mut self, at: Timestamp) {
        let at = at.as_millisecond();
        self.sends.push_back(at);
        let longest = self.limits.iter().map(|l| l.window.as_millis() as i64).max().unwrap_or(0);
        // Only the `amount` latest sends can fill a window of that amount.
        let needed = self.limits.iter().map(|l| l.amount).max().unwrap_or(0).min(MAX_REMEMBERED_SENDS as u64) as usize;
        while let Some(&first) = self.sends.front() {
            if first.saturating_add(longest) <= at || self.sends.len() > needed {
                self.sends.pop_front();
            } else {
                break;
            }
        }
    }

    /// The first instant at or after `t` when one more send keeps every learned window at or
    /// under its amount.
    pub fn free_at(&self, mut t: Timestamp) -> Timestamp {
        // Each pass moves `t` past one full window's oldest send; the count bounds the passes.
        for _ in 0..=self.limits.len() * 2 {
            let later = self.limits.iter().filter_map(|l| self.free_for(l, t)).max();
            match later {
                Some(at) if at > t => t = at,
                _ => return t,
            }
        }
        t
    }

    /// When `limit` has room for a send at or after `t`, if it has none at `t`.
    fn free_for(&self, limit: &LearnedLimit, t: Timestamp) -> Option<Timestamp> {
        let (now, window) = (t.as_millisecond(), limit.window.as_millis() as i64);
        let start = now.saturating_sub(window);
        let inside: Vec<i64> = self.sends.iter().copied().filter(|s| *s > start && *s <= now).collect();
        let over = (inside.len() as u64 + 1).checked_sub(limit.amount)?;
        if over == 0 {
            return None;
        }
        // The send whose leaving makes room: the `over`-th oldest inside the window.
        let leaving = inside.get(over as usize - 1)?;
        Timestamp::from_millisecond(leaving.saturating_add(window)).ok()
    }
}
