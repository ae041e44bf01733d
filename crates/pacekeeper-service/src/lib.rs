//! The Pacekeeper service: the one path every front end takes to a decision.
//!
//! [`Service`] owns the policy in force (load, reload), the clock, the store and the fail
//! mode, and offers decisions, events, member views and the admin operations. It checks what
//! callers send ([`validate`]), runs the engine inside one [`Store::update`] per member,
//! applies fail-open only to a store outage, and records metrics after the answer is known.
//! Front ends (HTTP, Envoy's rate limit protocol) parse, authenticate through [`auth`], call
//! it, and map [`ServiceError`] and [`pacekeeper_engine::DenialKind`] to their own codes: they
//! hold no rule, no store logic and no fail-open of their own.

mod admin;
pub mod answer;
pub mod audit;
pub mod auth;
pub mod clock;
mod decide;
mod error;
mod events;
pub mod metrics;
mod organisations;
pub mod record;
pub mod restricted;
pub mod shadow;
pub mod signing;
pub mod stats;
pub mod validate;
pub mod view_link;

use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use pacekeeper_engine::{MemberState, Policy};
use pacekeeper_store::{Change, Store};

pub use admin::{Credited, MAX_CREDITS, MemberAnswer, PolicyInfo};
pub use audit::{Actor, AuditEntry};
pub use auth::{AuthError, Scope, Tokens};
pub use clock::{Clock, FakeClock, Stopwatch, SystemClock};
pub use error::ServiceError;
pub use organisations::OrganisationAnswer;
pub use restricted::{RestrictedList, RestrictedMember};
pub use signing::Signer;
pub use validate::Invalid;
pub use view_link::ViewLink;

/// The decision path shared by every front end.
pub struct Service<S: Store> {
    /// Where member states live.
    pub store: S,
    policy: RwLock<Arc<Policy>>,
    /// When the policy in force was loaded.
    policy_loaded_at: RwLock<Timestamp>,
    /// The preset name or file the policy was loaded from (reloads read it again).
    pub policy_source: String,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Whether requests may carry `at`.
    pub trust_client_time: bool,
    /// Bearer tokens.
    pub tokens: Tokens,
    /// Largest request accepted, in bytes (an HTTP body, a gRPC message).
    pub max_body_bytes: usize,
    /// Allow decisions unchecked while the store is unreachable (else refuse them).
    pub fail_open: bool,
    /// Feeds the read model of `/v1/stats`; `None` turns it off.
    pub observer: Option<stats::Observer>,
    /// Signs members' links and dashboard sessions.
    pub signer: Signer,
    /// A policy every decision is compared with (`--shadow-policy`); `None` for none.
    pub shadow: Option<shadow::Shadow>,
    /// Records traffic for back-tests (`--record`); `None` for none.
    pub recorder: Option<record::Recorder>,
    /// Reservation tickets for stores that write a member and their organisation one after
    /// the other: a random start, then one more per decision.
    tickets: std::sync::atomic::AtomicU64,
}

impl<S: Store> Service<S> {
    /// A service with no tokens, the system clock and a 1 MiB request limit.
    pub fn new(store: S, policy: Policy, policy_source: impl Into<String>) -> Service<S> {
        // Install the metrics recorder before the first request records anything.
        metrics::handle();
        Service {
            store,
            policy: RwLock::new(Arc::new(policy)),
            policy_loaded_at: RwLock::new(SystemClock.now()),
            policy_source: policy_source.into(),
            clock: Arc::new(SystemClock),
            trust_client_time: false,
            tokens: Tokens::default(),
            max_body_bytes: 1 << 20,
            fail_open: false,
            observer: Some(stats::Observer::start()),
            signer: Signer::random(),
            shadow: None,
            recorder: None,
            tickets: std::sync::atomic::AtomicU64::new(std::hash::BuildHasher::hash_one(
                &std::collections::hash_map::RandomState::new(),
                std::process::id(),
            )),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        // A poisoned lock still holds a valid Arc: a panic cannot leave it half-written.
        self.policy.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// When the policy in force was loaded (by the server's clock).
    pub fn policy_loaded_at(&self) -> Timestamp {
        *self.policy_loaded_at.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads the policy from its source. An invalid policy is refused and the old one stays.
    pub fn reload_policy(&self) -> Result<Arc<Policy>, ServiceError> {
        let p = Arc::new(Policy::load(&self.policy_source).map_err(ServiceError::InvalidPolicy)?);
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = p.clone();
        *self.policy_loaded_at.write().unwrap_or_else(|e| e.into_inner()) = self.clock.now();
        tracing::info!(policy = %p.name, source = %self.policy_source, "policy reloaded");
        Ok(p)
    }

    /// The instant a request is evaluated at: `at` when the server trusts client time.
    pub fn instant(&self, at: Option<Timestamp>, field: &str) -> Result<Timestamp, ServiceError> {
        match at {
            None => Ok(self.clock.now()),
            Some(t) if self.trust_client_time => {
                validate::instant(field, t)?;
                Ok(t)
            }
            Some(_) => Err(ServiceError::ClientTimeRefused { field: field.into() }),
        }
    }

    /// Whether the store can serve requests now.
    pub async fn ready(&self) -> Result<(), ServiceError> {
        self.store.ready().await.map_err(ServiceError::store)
    }

    /// Makes every write so far durable (shutdown).
    pub async fn flush(&self) -> Result<(), ServiceError> {
        if let Some(r) = self.recorder.clone() {
            let flushed = tokio::task::spawn_blocking(move || r.flush()).await;
            if let Err(e) = flushed.map_err(std::io::Error::other).and_then(|r| r) {
                tracing::error!(error = %e, "the recorded traffic could not be written out");
            }
        }
        self.store.flush().await.map_err(ServiceError::store)
    }

    /// The Prometheus text of every metric, the store's counters included.
    pub async fn render_metrics(&self) -> Option<String> {
        // A store without a restrictions index (a test double) leaves the gauge out.
        if let Ok(n) = self.restrictions_active().await {
            ::metrics::gauge!("pacekeeper_restrictions_active").set(n as f64);
        }
        for (name, value) in self.store.counters() {
            ::metrics::counter!(name).absolute(value);
        }
        let h = metrics::handle()?;
        h.run_upkeep();
        Some(h.render())
    }
}

/// What the store writes for an engine outcome: whether the state changed and, for stores
/// with expiry, for how long it still matters after `now`.
fn change<R>(policy: &Policy, st: &MemberState, output: R, changed: bool, track: bool, now: Timestamp) -> Change<R> {
    Change { ttl: ttl(policy, st, changed, track, now), ..Change::new(output, changed) }
}

/// How long a changed state still matters after `now`, for stores that track expiry.
fn ttl(policy: &Policy, st: &MemberState, changed: bool, track: bool, now: Timestamp) -> Option<std::time::Duration> {
    (changed && track).then(|| pacekeeper_store::ttl_until(st.expires_at(policy), now.as_millisecond())).flatten()
}
