//! Bearer-token extractors: a handler that takes [`Granted<DecideScope>`] or
//! [`Granted<AdminScope>`] runs only for a caller the service's [`Tokens`] allow.
//!
//! [`Tokens`]: pacekeeper_service::Tokens

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use pacekeeper_service::{Actor, Scope, Service, ServiceError};
use pacekeeper_store::Store;

use crate::problem::Problem;

/// A scope a handler needs.
pub trait Needs: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// Decisions, events, reading members.
pub struct DecideScope;
/// The admin endpoints.
pub struct AdminScope;

impl Needs for DecideScope {
    const SCOPE: Scope = Scope::Decide;
}
impl Needs for AdminScope {
    const SCOPE: Scope = Scope::Admin;
}

/// Proof that the request's token has scope `N`.
pub struct Granted<N>(PhantomData<N>);

impl<S: Store, N: Needs> FromRequestParts<Arc<Service<S>>> for Granted<N> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service<S>>) -> Result<Self, Problem> {
        let presented = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        service.tokens.authorize(presented, N::SCOPE).map_err(|e| Problem::from(ServiceError::Auth(e)))?;
        Ok(Granted(PhantomData))
    }
}

/// The header that carries an admin action's reason into the audit log.
pub const REASON_HEADER: &str = "x-pacekeeper-reason";

/// An admin caller: the token's name, and the reason the request gives in
/// `X-Pacekeeper-Reason` (recorded in the audit log).
pub struct Admin(pub Actor);

impl<S: Store> FromRequestParts<Arc<Service<S>>> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service<S>>) -> Result<Self, Problem> {
        let presented = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let who = service.tokens.identify(presented, Scope::Admin).map_err(|e| Problem::from(ServiceError::Auth(e)))?;
        let why = parts.headers.get(REASON_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Ok(Admin(Actor::new(who, why)))
    }
}
