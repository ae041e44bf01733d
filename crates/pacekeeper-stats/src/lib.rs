//! The read model behind the dashboard and `GET /v1/stats`.
//!
//! Decisions are observed after they are answered ([`Observation::of`]) and folded into a
//! [`ReadModel`]: 1-minute buckets over the last 24 hours counting decisions by action,
//! reason and binding limit, near-limit decisions per limit, fail-open answers and
//! restrictions started by cause; a bounded top-k of denied members; a ring of recent
//! denials. Like the engine it does no I/O and reads no clock: every observation carries its
//! instant, and [`ReadModel::snapshot`] takes `now`. Its memory is bounded whatever the
//! traffic: 1,440 buckets whose maps hold one entry per action, reason, limit and cause the
//! policy has, [`TOP_DENIED`] members (space-saving counts) and [`RECENT_DENIALS`] denials.
//!
//! ```
//! use pacekeeper_api::{Decision, Reason};
//! use pacekeeper_stats::{Observation, ReadModel};
//! let mut model = ReadModel::default();
//! let now: jiff::Timestamp = "2026-12-07T09:00:00Z".parse().unwrap();
//! let denied = Decision { allowed: false, reason: Reason::LimitExceeded, ..Decision::unchecked("") };
//! model.observe(Observation::of("ada", "invite", &denied, now));
//! let stats = model.snapshot(now);
//! assert_eq!(stats.tiles.decisions_last_hour, 1);
//! assert_eq!(stats.top_denied[0].member, "ada");
//! ```

mod model;
mod observation;
mod top;

pub use model::{
    Bucket, RECENT_DENIALS, ReadModel, RecentDenial, RestrictionsStarted, Stats, TOP_DENIED, Tiles, WINDOW_MINUTES,
};
pub use observation::Observation;
pub use top::{TopDenied, TopK};
