//! The Pacekeeper HTTP API (DESIGN §2): decisions, events, members, administration, metrics,
//! and the process that serves it beside Envoy's rate limit service.
//!
//! [`app`] builds the router over a [`Service`], so tests drive it in-process; [`Server`]
//! runs it and the gRPC front end on their listeners with signals and graceful shutdown.
//! Handlers parse, call the service and shape the answer: no rule, store call or fail-open
//! lives here.

pub mod answer;
mod auth;
pub mod config;
mod handlers;
pub mod problem;
mod serve;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use pacekeeper_store::Store;

pub use answer::decision_status;
pub use config::Config;
pub use pacekeeper_service::{Clock, FakeClock, Scope, Service, SystemClock, Tokens, metrics};
pub use serve::{Listeners, ServeError, Server, serve, shutdown_signal};

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
    ("post", "/v1/members/{id}/view-link"),
    ("get", "/v1/organisations/{id}"),
    ("put", "/v1/organisations/{id}"),
    ("delete", "/v1/organisations/{id}"),
    ("get", "/v1/restrictions"),
    ("get", "/v1/audit"),
    ("get", "/v1/policy"),
    ("get", "/v1/stats"),
    ("post", "/v1/policy/reload"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
];

/// The router over `state`.
pub fn app<S: Store>(state: Arc<Service<S>>) -> Router {
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
        .route("/v1/members/{id}/view-link", post(handlers::view_link::<S>))
        .route(
            "/v1/organisations/{id}",
            get(handlers::organisation::<S>)
                .put(handlers::update_organisation::<S>)
                .delete(handlers::erase_organisation::<S>),
        )
        .route("/v1/restrictions", get(handlers::restrictions::<S>))
        .route("/v1/audit", get(handlers::audit::<S>))
        .route("/v1/policy", get(handlers::policy::<S>))
        .route("/v1/stats", get(handlers::stats::<S>))
        .route("/v1/policy/reload", post(handlers::reload::<S>))
        .route("/metrics", get(handlers::metrics::<S>))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz::<S>))
        .route("/openapi.json", get(handlers::openapi))
        .nest("/ui", pacekeeper_dashboard::router::<S>())
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
