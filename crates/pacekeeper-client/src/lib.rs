//! The sender's side of Pacekeeper.
//!
//! [`Client`] is a typed async client of the HTTP API (decisions, events, members, admin),
//! over the wire types of [`api`] (`pacekeeper-api`), not the engine.
//!
//! [`Feedback`] reads what an HTTP API says about its rate limits — the IETF `RateLimit` and
//! `RateLimit-Policy` structured fields (draft-ietf-httpapi-ratelimit-headers, current and
//! earlier drafts), the `X-RateLimit-*` trio in seconds or as an epoch instant, `Retry-After`
//! in seconds or as an HTTP date, and a Pacekeeper decision body — from any API, not only
//! Pacekeeper's. Malformed fields are ignored, as the draft requires, and said so in
//! [`Feedback::ignored`]; `Retry-After` takes precedence; no value is clamped.
//!
//! ```
//! use pacekeeper_client::Feedback;
//! let now = "2026-11-23T09:00:00Z".parse().unwrap();
//! let headers = [
//!     ("RateLimit-Policy", r#""weekly_invitations";q=100;w=604800"#),
//!     ("RateLimit", r#""weekly_invitations";r=0;t=259200"#),
//!     ("Retry-After", "259200"),
//! ];
//! let f = Feedback::parse(headers, None, now);
//! assert_eq!(f.policies[0].quota, 100);
//! assert_eq!(f.wait(), Some(std::time::Duration::from_secs(259_200)));
//! ```

mod client;
mod feedback;

pub use client::{Answer, Client, ClientError, Problem};
pub use feedback::{DecisionBody, Feedback, Ignored, QuotaPolicy, QuotaState};
pub use pacekeeper_api as api;
