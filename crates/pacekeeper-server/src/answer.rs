//! The HTTP answer to `/v1/decide`: its status, the rate-limit headers and the JSON body,
//! rendered by the service for every front end.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use pacekeeper_engine::{Decision, DenialKind};
use pacekeeper_service::answer::{Header, RateLimitHeaders, decision_body};

/// The HTTP status of a decision: 200 allowed, 429 when waiting cures the denial, 403 when it
/// does not.
pub fn decision_status(d: &Decision) -> u16 {
    match d.denial() {
        None => 200,
        Some(DenialKind::TimeCures) => 429,
        Some(DenialKind::TimeDoesNot) => 403,
    }
}

/// The whole HTTP answer for a decision.
pub fn decision_response(d: &Decision) -> serde_json::Result<Response> {
    let mut res = Response::new(Body::from(decision_body(d)?));
    *res.status_mut() = StatusCode::from_u16(decision_status(d)).unwrap_or(StatusCode::OK);
    let h = res.headers_mut();
    h.reserve(8);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    rate_limit_headers(d, h);
    Ok(res)
}

/// Adds the rate-limit headers of `d` to `h`.
pub fn rate_limit_headers(d: &Decision, h: &mut HeaderMap) {
    for (name, value) in RateLimitHeaders::of(d).iter() {
        // Always valid: printable ASCII only.
        if let Ok(v) = HeaderValue::from_maybe_shared(value) {
            h.insert(header_name(name), v);
        }
    }
}

/// The header's name, built once at compile time rather than parsed for every answer.
fn header_name(h: Header) -> HeaderName {
    const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
    const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
    const X_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
    const X_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
    const X_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
    match h {
        Header::RateLimitPolicy => RATELIMIT_POLICY,
        Header::RateLimit => RATELIMIT,
        Header::XLimit => X_LIMIT,
        Header::XRemaining => X_REMAINING,
        Header::XReset => X_RESET,
        Header::RetryAfter => header::RETRY_AFTER,
    }
}
