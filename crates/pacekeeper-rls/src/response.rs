//! Decisions to Envoy's answer (DESIGN §2.2): the overall code, one status per descriptor,
//! the same rate-limit headers and JSON body as the HTTP API, and metadata for access logs.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::core::v3::HeaderValue;
use envoy_types::pb::envoy::service::ratelimit::v3::RateLimitResponse;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::rate_limit::Unit;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{Code, DescriptorStatus, RateLimit};
use envoy_types::pb::google::protobuf::value::Kind;
use envoy_types::pb::google::protobuf::{Duration, Struct, Value};
use pacekeeper_engine::{Decision, DenialKind, LimitStatus, Reason};
use pacekeeper_service::answer::{RateLimitHeaders, decision_body};

use crate::RlsConfig;

/// The answer to a gateway for `decisions` of `member` (one per descriptor, same order as
/// `actions`).
pub fn answer(member: &str, actions: &[String], decisions: &[Decision], config: &RlsConfig) -> RateLimitResponse {
    let lead = leading(decisions);
    let d = &decisions[lead];
    let denied = !d.allowed;
    let enforced = denied && !config.shadow;
    if denied && config.shadow {
        metrics::counter!("pacekeeper_rls_shadow_denied_total", "reason" => d.reason.as_str()).increment(1);
    }
    let statuses = decisions.iter().map(|d| descriptor_status(d, config.shadow)).collect();
    let mut headers = Vec::with_capacity(6);
    for (h, value) in RateLimitHeaders::of(d).iter() {
        let skip = (h.is_x() && !config.x_ratelimit_headers)
            || (!enforced && h == pacekeeper_service::answer::Header::RetryAfter);
        if !skip {
            headers.push(header(h.name(), String::from_utf8_lossy(&value).into_owned()));
        }
    }
    headers.push(header("x-pacekeeper-reason", d.reason.as_str().into()));
    let mut raw_body = Vec::new();
    if enforced {
        raw_body = decision_body(d).unwrap_or_default();
        headers.push(header("content-type", "application/json".into()));
    }
    RateLimitResponse {
        overall_code: if enforced { Code::OverLimit } else { Code::Ok } as i32,
        statuses,
        response_headers_to_add: headers,
        raw_body,
        dynamic_metadata: Some(metadata(member, &actions[lead], d, config.shadow)),
        ..Default::default()
    }
}

/// The decision that speaks for the whole request: the first denial, else the one whose
/// binding limit has the least room left.
fn leading(decisions: &[Decision]) -> usize {
    if let Some(i) = decisions.iter().position(|d| !d.allowed) {
        return i;
    }
    let room = |d: &Decision| d.tightest().map_or(f64::INFINITY, |l| l.remaining as f64 / l.amount.max(1) as f64);
    (0..decisions.len()).min_by(|&a, &b| room(&decisions[a]).total_cmp(&room(&decisions[b]))).unwrap_or(0)
}

/// One descriptor's status: its binding limit, what remains and when it frees up.
fn descriptor_status(d: &Decision, shadow: bool) -> DescriptorStatus {
    let code = if d.allowed || shadow { Code::Ok } else { Code::OverLimit };
    let binding = d.tightest();
    let (current_limit, remaining, reset) = match (d.reason, d.denial()) {
        (Reason::Restricted | Reason::Cooldown | Reason::VerificationRequired | Reason::ChallengeRequired, denial) => {
            let name = match &d.restriction {
                Some(r) => format!("restriction:{}", r.penalty),
                None => "cooldown".to_string(),
            };
            let reset = if denial == Some(DenialKind::TimeCures) { d.retry_after } else { None };
            (Some(RateLimit { name, requests_per_unit: 0, unit: Unit::Unknown as i32 }), 0, reset)
        }
        (_, Some(DenialKind::TimeCures)) => (binding.map(limit), 0, d.retry_after),
        (_, Some(DenialKind::TimeDoesNot)) => (binding.map(limit), 0, None),
        (_, None) => (binding.map(limit), binding.map_or(0, |l| l.remaining), binding.and_then(|l| l.reset_after)),
    };
    DescriptorStatus {
        code: code as i32,
        current_limit,
        limit_remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        duration_until_reset: reset.map(|s| Duration { seconds: i64::try_from(s).unwrap_or(i64::MAX), nanos: 0 }),
        ..Default::default()
    }
}

fn limit(l: &LimitStatus) -> RateLimit {
    RateLimit {
        name: l.name.to_string(),
        requests_per_unit: u32::try_from(l.amount).unwrap_or(u32::MAX),
        unit: unit(l) as i32,
    }
}

/// Envoy's unit for a window exactly that long; MONTH for calendar months.
fn unit(l: &LimitStatus) -> Unit {
    const DAY: u64 = 86_400;
    match l.window {
        Some(1) => Unit::Second,
        Some(60) => Unit::Minute,
        Some(3_600) => Unit::Hour,
        Some(DAY) => Unit::Day,
        Some(604_800) => Unit::Week,
        Some(w) if matches!(&*l.kind, "calendar" | "credits") && (28 * DAY..=31 * DAY).contains(&w) => Unit::Month,
        Some(w) if w == 365 * DAY || w == 366 * DAY => Unit::Year,
        _ => Unit::Unknown,
    }
}

fn header(key: &str, value: String) -> HeaderValue {
    HeaderValue { key: key.into(), value, ..Default::default() }
}

/// What access logs and later filters see: `%DYNAMIC_METADATA(envoy.filters.http.ratelimit:reason)%`.
fn metadata(member: &str, action: &str, d: &Decision, shadow: bool) -> Struct {
    let text = |s: &str| Value { kind: Some(Kind::StringValue(s.into())) };
    let number = |n: u64| Value { kind: Some(Kind::NumberValue(n as f64)) };
    let flag = |b: bool| Value { kind: Some(Kind::BoolValue(b)) };
    let mut fields = HashMap::with_capacity(10);
    fields.insert("reason".into(), text(d.reason.as_str()));
    fields.insert("member".into(), text(member));
    fields.insert("action".into(), text(action));
    fields.insert("shadow".into(), flag(shadow));
    fields.insert("shadow_denied".into(), flag(shadow && !d.allowed));
    fields.insert("fail_open".into(), flag(d.reason == Reason::StoreUnavailable));
    if let Some(l) = &d.limit {
        fields.insert("limit".into(), text(l));
    }
    if let Some(l) = d.tightest() {
        fields.insert("remaining".into(), number(if d.allowed { l.remaining } else { 0 }));
    }
    if let Some(r) = d.retry_after {
        fields.insert("retry_after".into(), number(r));
    }
    Struct { fields }
}
