//! The pure pacing core of a sender's queue: when may the next action of a lane (one
//! account, one action) go, and what does an answer change.
//!
//! Like the engine it performs no I/O and never reads a clock: `now` is an argument and the
//! random source ([`fastrand::Rng`], seeded by the caller) is passed in, so a plan is the same
//! twice for the same seed.
//!
//! - [`WorkingHours`]: the days and hours an account works, in an IANA zone, DST-correct.
//! - [`Lane`]: even spacing with jitter inside the working time left today (never crammed to
//!   clear a backlog), under a daily target and what the server said remains; one reaction
//!   per kind of answer ([`Lane::react`]). A pause is only ever extended, never shortened.
//! - [`Learned`]: the amounts a lane learned from `RateLimit-Policy`; no window of a learned
//!   length ever holds more of the lane's sends than its amount.
//! - [`pick`]: which queued item takes a slot: by priority, then age; an item that cannot go
//!   now (a target on cooldown, a required note while notes wait) is skipped, not the slot.
//! - [`Warmup`]: a new account's ramp, a growing share of the daily target that holds while
//!   acceptance is low and falls back after a restriction.
//!
//! ```
//! use pacekeeper_pacer::{Lane, WorkingHours};
//! use jiff::civil::{Time, Weekday::*};
//! let hours = WorkingHours::new("Europe/Paris", &[Monday, Tuesday, Wednesday, Thursday, Friday],
//!     Time::constant(9, 0, 0, 0), Time::constant(17, 0, 0, 0)).unwrap();
//! let lane = Lane::new(20);
//! let mut rng = fastrand::Rng::with_seed(7);
//! let saturday = "2026-11-28T10:00:00Z".parse().unwrap();
//! let next = lane.next_slot(&hours, saturday, &mut rng).unwrap();
//! assert!(hours.is_open(next), "nothing goes outside working hours");
//! ```

mod decision;
mod hours;
mod lane;
mod learned;
mod pick;
mod warmup;

pub use decision::{learned_from_decision, of_decision};
pub use hours::{HoursError, WEEKDAYS, WorkingHours};
pub use lane::{Lane, Outcome, Reaction, Stop};
pub use learned::{Learned, LearnedLimit, MAX_REMEMBERED_SENDS};
pub use pick::{Item, Pick, pick};
pub use warmup::Warmup;
