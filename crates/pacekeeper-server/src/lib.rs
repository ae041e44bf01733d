//! The Pacekeeper HTTP API (DESIGN §2): decisions, events, members, administration, metrics.
//!
//! [`app`] builds the router over any [`Store`], so tests drive it in-process; [`serve`] runs
//! it on a socket with signals and graceful shutdown. Handlers parse, authorise, call the
//! engine inside [`Store::update`] and shape the answer. No rule lives here: decisions are
//! the engine's.

mod answer;
pub mod clock;
pub mod config;
mod handlers;
pub mod metrics;
pub mod problem;
mod serve;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use pacekeeper_engine::Policy;
use pacekeeper_store::Store;

pub use clock::{Clock, FakeClock, SystemClock};
pub use config::{Config, Scope, Tokens};
pub use serve::{ServeError, Server, serve};

/// What every handler shares.
pub struct AppState<S: Store> {
    /// Where member states live.
    pub store: S,
    policy: RwLock<Arc<Policy>>,
    /// The preset name or file the policy was loaded from (reloads read it again).
    pub policy_source: String,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Whether requests may carry `at`.
    pub trust_client_time: bool,
    /// Bearer tokens.
    pub tokens: Tokens,
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// Allow decisions unchecked while the store is unreachable (else answer 503).
    pub fail_open: bool,
}

impl<S: Store> AppState<S> {
    /// A state with no tokens, the system clock and a 1 MiB body limit.
    pub fn new(store: S, policy: Policy, policy_source: impl Into<String>) -> AppState<S> {
        AppState {
            store,
            policy: RwLock::new(Arc::new(policy)),
            policy_source: policy_source.into(),
            clock: Arc::new(SystemClock),
            trust_client_time: false,
            tokens: Tokens::default(),
            max_body_bytes: 1 << 20,
            fail_open: false,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        // A poisoned lock still holds a valid Arc: a panic cannot leave it half-written.
        self.policy.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Re-reads the policy from its source. An invalid policy is refused and the old one stays.
    pub fn reload_policy(&self) -> Result<Arc<Policy>, pacekeeper_engine::LoadError> {
        let p = Arc::new(Policy::load(&self.policy_source)?);
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = p.clone();
        Ok(p)
    }
}

/// Every route the server answers, as `(method, path)`; the OpenAPI document lists the same.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/decide"),
    ("post", "/v1/events"),
    ("get", "/v1/members/{id}"),
    ("put", "/v1/members/{id}"),
    ("delete", "/v1/members/{id}"),
    ("post", "/v1/members/{id}/lift"),
    ("post", "/v1/members/{id}/verify"),
    ("post", "/v1/members/{id}/credits"),
    ("get", "/v1/policy"),
    ("post", "/v1/policy/reload"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
];

/// The router over `state`.
pub fn app<S: Store>(state: Arc<AppState<S>>) -> Router {
    // Install the metrics recorder before the first request records anything.
    metrics::handle();
    let limit = state.max_body_bytes;
    Router::new()
        .route("/v1/decide", post(handlers::decide::<S>))
        .route("/v1/events", post(handlers::events::<S>))
        .route(
            "/v1/members/{id}",
            get(handlers::member::<S>).put(handlers::update_member::<S>).delete(handlers::erase::<S>),
        )
        .route("/v1/members/{id}/lift", post(handlers::lift::<S>))
        .route("/v1/members/{id}/verify", post(handlers::verify::<S>))
        .route("/v1/members/{id}/credits", post(handlers::credits::<S>))
        .route("/v1/policy", get(handlers::policy::<S>))
        .route("/v1/policy/reload", post(handlers::reload::<S>))
        .route("/metrics", get(handlers::metrics::<S>))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz::<S>))
        .route("/openapi.json", get(handlers::openapi))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
