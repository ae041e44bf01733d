//! HTTP and Envoy's rate limit service (gRPC) served together by `Server::run`, in-process on
//! loopback: the same request through either front end gets the same decision, limits and
//! headers, and a charge through one shows through the other.

use std::collections::HashMap;

use envoy_types::pb::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
use envoy_types::pb::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use pacekeeper_server::{Config, Listeners, Server};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tonic::transport::Channel;

const AT: &str = "2026-11-23T09:00:00Z";

struct Running {
    http: String,
    grpc: RateLimitServiceClient<Channel>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), pacekeeper_server::ServeError>>,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        grpc_listen: Some("127.0.0.1:0".into()),
        data: dir.path().to_path_buf(),
        trust_client_time: true,
        ..Config::default()
    };
    let server = Server::new(&config, |_| None).unwrap();
    let listeners = Listeners::bind(&config, false).await.unwrap();
    let http = format!("http://{}", listeners.http.local_addr().unwrap());
    let grpc = format!("http://{}", listeners.grpc.as_ref().unwrap().local_addr().unwrap());
    let banner = server.banner(&listeners);
    assert!(banner.contains(&format!("envoy rls on grpc://{}", &grpc[7..])), "{banner}");
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server.run(listeners, async move {
        let _ = stopped.await;
    }));
    let grpc = RateLimitServiceClient::connect(grpc).await.unwrap();
    Running { http, grpc, stop: Some(stop), done, _dir: dir }
}

impl Running {
    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.done.await.unwrap().unwrap();
    }

    async fn rls(&mut self, entries: &[(&str, &str)]) -> RateLimitResponse {
        let d = RateLimitDescriptor {
            entries: entries.iter().map(|(k, v)| Entry { key: k.to_string(), value: v.to_string() }).collect(),
            ..Default::default()
        };
        let req = RateLimitRequest { domain: "linkedin".into(), descriptors: vec![d], hits_addend: 0 };
        self.grpc.should_rate_limit(req).await.unwrap().into_inner()
    }

    async fn http(&self, body: Value) -> (u16, HashMap<String, String>, Value) {
        let r = reqwest::Client::new().post(format!("{}/v1/decide", self.http)).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        let headers =
            r.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string())).collect();
        (status, headers, r.json().await.unwrap())
    }
}

fn headers(r: &RateLimitResponse) -> HashMap<String, String> {
    r.response_headers_to_add.iter().map(|h| (h.key.clone(), h.value.clone())).collect()
}

/// The same invitation, costing `cost`, for `member` through both front ends.
async fn both(
    s: &mut Running,
    member_grpc: &str,
    member_http: &str,
    cost: u64,
) -> (RateLimitResponse, (u16, HashMap<String, String>, Value)) {
    let c = cost.to_string();
    let g = s.rls(&[("member", member_grpc), ("action", "profile_view"), ("cost", &c), ("at", AT)]).await;
    let h = s.http(json!({"member": member_http, "action": "profile_view", "cost": cost, "at": AT})).await;
    (g, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_gets_the_same_decision_limits_and_headers_through_grpc_and_http() {
    let mut s = start().await;
    // Allowed.
    let (g, (status, h, body)) = both(&mut s, "ada", "bob", 140).await;
    assert_eq!((g.overall_code, status), (1, 200));
    let gh = headers(&g);
    for name in ["ratelimit-policy", "ratelimit"] {
        assert_eq!(gh.get(name), h.get(name), "{name}");
    }
    assert_eq!(gh["x-pacekeeper-reason"], "ok");
    let st = &g.statuses[0];
    let limit = st.current_limit.as_ref().unwrap();
    let daily = body["limits"].as_array().unwrap().iter().find(|l| l["name"] == "daily_profile_views").unwrap();
    assert_eq!((limit.name.as_str(), limit.requests_per_unit, st.limit_remaining), ("daily_profile_views", 150, 10));
    assert_eq!(daily["remaining"], 10);
    assert_eq!(st.duration_until_reset.as_ref().unwrap().seconds, daily["reset_after"].as_i64().unwrap());
    assert_eq!(limit.unit, 4, "DAY");
    // Denied: the same body, the same headers, and the duration is exactly retry_after.
    let (g, (status, h, body)) = both(&mut s, "ada", "bob", 11).await;
    assert_eq!((g.overall_code, status), (2, 429));
    let gh = headers(&g);
    for name in ["ratelimit-policy", "ratelimit", "retry-after"] {
        assert_eq!(gh.get(name), h.get(name), "{name}");
    }
    let raw: Value = serde_json::from_slice(&g.raw_body).unwrap();
    assert_eq!(raw, body);
    assert_eq!(gh["content-type"], "application/json");
    let retry = body["retry_after"].as_i64().unwrap();
    assert_eq!(g.statuses[0].duration_until_reset.as_ref().unwrap().seconds, retry);
    assert_eq!(g.statuses[0].limit_remaining, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_through_one_front_end_shows_through_the_other() {
    let mut s = start().await;
    s.rls(&[("member", "cy"), ("action", "profile_view"), ("cost", "7"), ("at", AT)]).await;
    let (_, _, body) = s.http(json!({"member": "cy", "action": "profile_view", "cost": 3, "at": AT})).await;
    let daily = body["limits"].as_array().unwrap().iter().find(|l| l["name"] == "daily_profile_views").unwrap().clone();
    assert_eq!(daily["used"], 10);
    let g = s.rls(&[("member", "cy"), ("action", "profile_view"), ("dry_run", "true"), ("at", AT)]).await;
    assert_eq!(g.statuses[0].limit_remaining, 140);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_descriptor_counts_the_gateways_calls_for_the_organisation() {
    let mut s = start().await;
    let message = |member: &'static str| {
        [("member", member), ("action", "message"), ("channel", "api"), ("organisation", "acme"), ("at", AT)]
    };
    for i in 0..50 {
        let g = s.rls(&message(["ada", "bob", "cy"][i % 3])).await;
        assert_eq!(g.overall_code, 1, "call {i}");
    }
    let g = s.rls(&message("dee")).await;
    assert_eq!(g.overall_code, 2, "the organisation's 50 an hour are used");
    let limit = g.statuses[0].current_limit.as_ref().unwrap();
    assert_eq!(limit.name, "organisation_hourly_api_messages");
    let raw: Value = serde_json::from_slice(&g.raw_body).unwrap();
    assert_eq!(raw["limit"], "organisation_hourly_api_messages");
    let v: Value =
        reqwest::get(format!("{}/v1/organisations/acme?at={AT}", s.http)).await.unwrap().json().await.unwrap();
    assert_eq!(v["limits"][0]["used"], 50, "{v}");
    s.stop().await;
}
