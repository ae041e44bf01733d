//! Feedback read from Pacekeeper's own answers (through the real HTTP router) and from the
//! dialects other APIs speak, recorded as they send them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::Request;
use pacekeeper_client::{Feedback, QuotaPolicy};
use pacekeeper_engine::Policy;
use pacekeeper_server::{FakeClock, Service, app};
use pacekeeper_store::{EmbeddedConfig, EmbeddedStore};
use tower::ServiceExt;

const NOW: &str = "2026-11-23T09:00:00Z";

fn now() -> jiff::Timestamp {
    NOW.parse().unwrap()
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

/// Decides `body` on a real router and reads the answer as a client would.
async fn answer(service: &Arc<Service<EmbeddedStore>>, body: &str) -> (u16, Feedback) {
    let req = Request::post("/v1/decide").header("content-type", "application/json").body(Body::from(body.to_string()));
    let res = app(service.clone()).oneshot(req.unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let headers: Vec<(String, String)> =
        res.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string())).collect();
    let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    let f = Feedback::parse(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), Some(&bytes), now());
    (status, f)
}

#[tokio::test]
async fn pacekeeper_answers_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let mut s = Service::new(store, Policy::preset("linkedin").unwrap(), "linkedin");
    s.clock = Arc::new(FakeClock::new(now()));
    let s = Arc::new(s);
    let (status, f) = answer(&s, r#"{"member": "ada", "action": "profile_view", "cost": 150}"#).await;
    assert_eq!(status, 200);
    assert!(f.ignored.is_empty(), "{:?}", f.ignored);
    assert!(f.policies.contains(&QuotaPolicy {
        name: Some("daily_profile_views".into()),
        quota: 150,
        window: secs(86_400)
    }));
    assert_eq!(f.wait(), Some(f.tightest().unwrap().reset.unwrap()), "nothing left: wait for the reset");
    let (status, f) = answer(&s, r#"{"member": "ada", "action": "profile_view"}"#).await;
    assert_eq!(status, 429);
    let d = f.decision.as_ref().unwrap();
    assert_eq!(
        (d.allowed, d.reason.as_str(), d.limit.as_deref()),
        (false, "limit_exceeded", Some("daily_profile_views"))
    );
    assert_eq!(f.retry_after, d.retry_after, "Retry-After and the body agree");
    assert_eq!(f.wait(), f.retry_after);
    let rl = &f.quotas[0];
    assert_eq!((rl.name.as_deref(), rl.remaining), (Some("daily_profile_views"), 0));
}

#[test]
fn the_current_draft_and_retry_after_precedence() {
    let f = Feedback::parse(
        [
            ("RateLimit-Policy", r#""burst";q=100;w=60, "daily";q=1000;w=86400"#),
            ("RateLimit", r#""burst";r=0;t=30"#),
            ("Retry-After", "45"),
        ],
        None,
        now(),
    );
    assert_eq!(f.policies.len(), 2);
    assert_eq!(f.policies[1], QuotaPolicy { name: Some("daily".into()), quota: 1000, window: secs(86_400) });
    assert_eq!(f.quotas[0].reset, secs(30));
    assert_eq!(f.wait(), secs(45), "Retry-After takes precedence over t");
}

#[test]
fn draft_07_and_the_separate_fields_of_early_drafts() {
    let f = Feedback::parse(
        [("RateLimit", "limit=100, remaining=0, reset=5"), ("RateLimit-Policy", "100;w=60")],
        None,
        now(),
    );
    assert_eq!((f.quotas[0].limit, f.quotas[0].remaining, f.quotas[0].reset), (Some(100), 0, secs(5)));
    assert_eq!(f.policies[0], QuotaPolicy { name: None, quota: 100, window: secs(60) });
    assert_eq!(f.wait(), secs(5));
    let f = Feedback::parse(
        [("RateLimit-Limit", "10"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "7")],
        None,
        now(),
    );
    assert_eq!(f.wait(), secs(7));
}

#[test]
fn x_ratelimit_resets_in_seconds_or_as_an_epoch_instant() {
    let epoch = now().as_second() + 120;
    // GitHub: an epoch instant, and the quota's name.
    let github = epoch.to_string();
    let f = Feedback::parse(
        [
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &github),
            ("x-ratelimit-resource", "core"),
        ],
        None,
        now(),
    );
    assert_eq!((f.quotas[0].name.as_deref(), f.wait()), (Some("core"), secs(120)));
    // Seed 002's messaging API and Reddit: seconds; Reddit writes a float remaining.
    let f = Feedback::parse([("X-RateLimit-Remaining", "0.0"), ("X-RateLimit-Reset", "42")], None, now());
    assert_eq!(f.wait(), secs(42));
    // Discord: a float epoch and the precise delay beside it.
    let discord = format!("{epoch}.250");
    let f = Feedback::parse(
        [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", &discord), ("X-RateLimit-Reset-After", "119.75")],
        None,
        now(),
    );
    assert_eq!(f.wait(), Some(Duration::from_secs_f64(119.75)));
    // Envoy's draft-03 form of the limit: the first number.
    let f =
        Feedback::parse([("x-ratelimit-limit", "10, 10;w=60;name=\"x\""), ("x-ratelimit-remaining", "3")], None, now());
    assert_eq!(f.quotas[0].limit, Some(10));
}

#[test]
fn retry_after_as_an_http_date() {
    let f = Feedback::parse([("Retry-After", "Mon, 23 Nov 2026 09:01:30 GMT")], None, now());
    assert_eq!(f.wait(), secs(90));
    let f = Feedback::parse([("Retry-After", "Sun, 22 Nov 2026 09:00:00 GMT")], None, now());
    assert_eq!(f.wait(), Some(Duration::ZERO), "a date already past means now");
}

#[test]
fn malformed_fields_are_ignored_and_said_and_absurd_values_are_kept() {
    let f = Feedback::parse(
        [
            ("RateLimit", "\"burst\";r=oops"),
            ("RateLimit-Policy", "((("),
            ("X-RateLimit-Remaining", "-3"),
            ("Retry-After", "soon"),
        ],
        None,
        now(),
    );
    assert!(f.quotas.is_empty() && f.policies.is_empty() && f.retry_after.is_none());
    let fields: Vec<&str> = f.ignored.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["ratelimit", "ratelimit-policy", "x-ratelimit-remaining", "retry-after"]);
    let f = Feedback::parse([("Retry-After", "1000000000")], None, now());
    assert_eq!(f.wait(), secs(1_000_000_000), "never clamped down silently");
    assert!(f.ignored.iter().any(|i| i.why.contains("over a year")));
}
