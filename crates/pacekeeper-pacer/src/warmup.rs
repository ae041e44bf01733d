//! The warm-up ramp of a new account: a share of the daily target that grows one step per
//! working day while invitations keep being accepted, and falls back after a restriction.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// An account's warm-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warmup {
    /// Days advanced so far; the ramp is done at [`Warmup::days`].
    pub day: u32,
    /// Days from the floor to the full target.
    pub days: u32,
    /// The share of the target on day 0.
    pub floor: f64,
    /// The acceptance rate below which the ramp holds.
    pub min_acceptance: f64,
    /// Invitations decided (accepted or not) before the rate is trusted.
    pub min_sample: u32,
    /// The last working day counted, so a day advances the ramp once.
    last: Option<Date>,
}

impl Default for Warmup {
    /// 14 days from a fifth of the target, holding below 30 % acceptance once 10 are decided.
    fn default() -> Warmup {
        Warmup { day: 0, days: 14, floor: 0.2, min_acceptance: 0.3, min_sample: 10, last: None }
    }
}

impl Warmup {
    /// The share of the daily target allowed now, from `floor` to 1.
    pub fn factor(&self) -> f64 {
        if self.days == 0 {
            return 1.0;
        }
        (self.floor + (1.0 - self.floor) * f64::from(self.day) / f64::from(self.days)).min(1.0)
    }

    /// The daily target scaled by the ramp: at least one send a day.
    pub fn allowance(&self, target: u32) -> u32 {
        // Rounded to a millionth first, so 100 × 0.6 is 60 and not 61 by a float's last bit.
        let share = (f64::from(target) * self.factor() * 1e6).round() / 1e6;
        (share.ceil() as u32).clamp(1.min(target), target)
    }

    /// The ramp starts with the account's first send, on `date`: days before it do not count.
    /// Later calls change nothing.
    pub fn begin(&mut self, date: Date) {
        if self.last.is_none() {
            self.last = date.yesterday().ok();
        }
    }

    /// Whether the first send has been made ([`Warmup::begin`]).
    pub fn begun(&self) -> bool {
        self.last.is_some()
    }

    /// Ends working day `date`: the ramp advances one step if the acceptance rate holds
    /// (`accepted` of `decided` invitations over the recent horizon), or too few are decided
    /// to judge. A day counts once.
    pub fn end_of_day(&mut self, date: Date, decided: u32, accepted: u32) {
        if self.last.is_some_and(|d| d >= date) {
            return;
        }
        self.last = Some(date);
        let holds = decided < self.min_sample || f64::from(accepted) >= self.min_acceptance * f64::from(decided);
        if holds && self.day < self.days {
            self.day += 1;
        }
    }

    /// A restriction arrived: the ramp restarts lower, at half the day it had reached.
    pub fn restricted(&mut self) {
        self.day /= 2;
    }
}
