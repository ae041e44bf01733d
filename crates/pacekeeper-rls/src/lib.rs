//! Envoy's rate limit service (RLS v3, `envoy.service.ratelimit.v3.RateLimitService/
//! ShouldRateLimit`) in front of the Pacekeeper service: descriptors in, statuses, headers,
//! body and metadata out (DESIGN §2.2).
//!
//! Envoy, Istio, Contour, Emissary and Gloo call this before a request reaches the
//! application. [`descriptors`] turns a request into decide requests; the service decides
//! them as one; [`response`] shapes the answer. No rule, store call or fail-open lives here.

pub mod descriptors;
pub mod response;

use std::sync::Arc;

use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::{
    RateLimitService, RateLimitServiceServer,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use pacekeeper_service::{Scope, Service, ServiceError};
use pacekeeper_store::Store;
use serde::Deserialize;
use tonic::{Request, Response, Status};

pub use envoy_types::pb::envoy::service::ratelimit::v3 as proto;

/// The config file's `[rls]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RlsConfig {
    /// Domains answered besides the policy's own name (Envoy's filter `domain`).
    pub domains: Vec<String>,
    /// Descriptor keys a gateway adds that mean nothing here (`remote_address`): ignored.
    pub ignore_keys: Vec<String>,
    /// Decide and charge as if enforced, but answer OK; the would-be denial goes to
    /// metadata and metrics.
    pub shadow: bool,
    /// Also send `X-RateLimit-Limit/Remaining/Reset` (Envoy can add its own from `statuses`
    /// with `enable_x_ratelimit_headers`; both would duplicate).
    pub x_ratelimit_headers: bool,
}

/// The gRPC service over a Pacekeeper [`Service`].
pub struct RateLimiter<S: Store> {
    service: Arc<Service<S>>,
    config: RlsConfig,
}

impl<S: Store> RateLimiter<S> {
    /// The rate limit service over `service`.
    pub fn new(service: Arc<Service<S>>, config: RlsConfig) -> RateLimiter<S> {
        RateLimiter { service, config }
    }

    /// The tonic service, with the service's request size limit.
    pub fn into_server(self) -> RateLimitServiceServer<RateLimiter<S>> {
        let limit = self.service.max_body_bytes;
        RateLimitServiceServer::new(self).max_decoding_message_size(limit)
    }

    /// Checks that the request's domain is the policy's name or a configured alias.
    fn check_domain(&self, domain: &str) -> Result<(), Status> {
        let policy = self.service.policy();
        if domain.is_empty() {
            return Err(Status::invalid_argument(format!(
                "domain is empty; set the rate limit filter's `domain` to `{}`",
                policy.name
            )));
        }
        if domain == policy.name || self.config.domains.iter().any(|d| d == domain) {
            return Ok(());
        }
        let mut known = vec![policy.name.as_str()];
        known.extend(self.config.domains.iter().map(String::as_str));
        Err(Status::not_found(format!("unknown domain `{domain}`; this server answers for: {}", known.join(", "))))
    }
}

#[tonic::async_trait]
impl<S: Store> RateLimitService for RateLimiter<S> {
    async fn should_rate_limit(
        &self,
        request: Request<RateLimitRequest>,
    ) -> Result<Response<RateLimitResponse>, Status> {
        let presented = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        self.service.tokens.authorize(presented, Scope::Decide).map_err(|e| status(ServiceError::Auth(e)))?;
        let req = request.into_inner();
        self.check_domain(&req.domain)?;
        let asks = descriptors::requests(&req, &self.config.ignore_keys)?;
        let actions: Vec<String> = asks.iter().map(|a| a.action.clone()).collect();
        let member = asks[0].member.clone();
        let decisions = self.service.decide_together(asks).await.map_err(status)?;
        Ok(Response::new(response::answer(&member, &actions, &decisions, &self.config)))
    }
}

/// The gRPC status for what the service refused or failed with. A field is named as the
/// gateway sent it: `descriptors[1].action`.
pub fn status(e: ServiceError) -> Status {
    let message = match e.field() {
        Some(f) if f.starts_with('[') => format!("descriptors{e}"),
        _ => e.to_string(),
    };
    match e {
        ServiceError::BadRequest { .. } | ServiceError::ClientTimeRefused { .. } => Status::invalid_argument(message),
        ServiceError::Auth(a) if a.unauthenticated() => Status::unauthenticated(message),
        ServiceError::Auth(_) | ServiceError::Link(_) => Status::permission_denied(message),
        ServiceError::StoreUnavailable(_) => Status::unavailable(message),
        ServiceError::UnknownMember(_) | ServiceError::UnknownOrganisation(_) => Status::not_found(message),
        ServiceError::StoreFailed(_)
        | ServiceError::InvalidPolicy(_)
        | ServiceError::Internal(_)
        | ServiceError::Record(_) => Status::internal(message),
    }
}
