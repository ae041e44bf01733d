//! The HTTP API driven in-process through `app(state)`: statuses, headers, problem+json for
//! every kind of bad input, auth on every admin endpoint, policy reload, OpenAPI parity.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use pacekeeper_engine::{MemberState, Policy};
use pacekeeper_server::{FakeClock, ROUTES, Scope, Service, Tokens, app};
use pacekeeper_store::{Change, EmbeddedConfig, EmbeddedStore, Store, StoreError};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-token-0123456789";
const DECIDER: &str = "decide-token-0123456789";

struct Api<S: Store> {
    state: Arc<Service<S>>,
    _dir: Option<tempfile::TempDir>,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
    text: String,
}

fn store() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap(), dir)
}

impl Api<EmbeddedStore> {
    fn new(configure: impl FnOnce(&mut Service<EmbeddedStore>)) -> Self {
        let (store, dir) = store();
        let mut state = Service::new(store, Policy::preset("linkedin").unwrap(), "linkedin");
        state.clock = Arc::new(FakeClock::new("2026-11-23T09:00:00Z".parse().unwrap()));
        configure(&mut state);
        Api { state: Arc::new(state), _dir: Some(dir) }
    }

    fn open() -> Self {
        Api::new(|_| {})
    }

    fn with_tokens() -> Self {
        Api::new(|s| {
            s.tokens = Tokens::default().with("ops", ADMIN, &[Scope::Admin]).with("app", DECIDER, &[Scope::Decide])
        })
    }
}

impl<S: Store> Api<S> {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        ct: Option<&str>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = ct {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
        let res = app(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).to_string();
        Reply { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), text }
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call("POST", path, token, Some(body.to_string()), Some("application/json")).await
    }

    async fn decide(&self, body: Value) -> Reply {
        self.post("/v1/decide", None, body).await
    }
}

fn header(r: &Reply, name: &str) -> String {
    r.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn assert_problem(r: &Reply, status: u16, field: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(header(r, "content-type"), "application/problem+json", "{}", r.text);
    assert_eq!(r.body["status"], status);
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    if let Some(f) = field {
        assert_eq!(r.body["field"], f, "{}", r.text);
    }
}

#[tokio::test]
async fn an_allowed_decision_answers_200_with_the_rate_limit_headers() {
    let api = Api::open();
    let r = api.decide(json!({"member": "ada", "action": "profile_view"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["allowed"], true);
    assert_eq!(header(&r, "ratelimit-policy"), "\"daily_profile_views\";q=150;w=86400");
    // 09:00Z is 01:00 in Los Angeles: the day resets in 23 hours.
    assert_eq!(header(&r, "ratelimit"), "\"daily_profile_views\";r=149;t=82800");
    assert_eq!((header(&r, "x-ratelimit-limit"), header(&r, "x-ratelimit-remaining")), ("150".into(), "149".into()));
    assert_eq!(header(&r, "x-ratelimit-reset"), "82800");
    assert_eq!(header(&r, "retry-after"), "");
}

#[tokio::test]
async fn a_denial_that_time_cures_answers_429_with_retry_after() {
    let api = Api::open();
    for _ in 0..150 {
        api.decide(json!({"member": "ada", "action": "profile_view"})).await;
    }
    let r = api.decide(json!({"member": "ada", "action": "profile_view"})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["reason"], "limit_exceeded");
    assert_eq!(header(&r, "retry-after"), "82800");
    assert_eq!(r.body["retry_after"], 82800);
    assert_eq!(header(&r, "ratelimit"), "\"daily_profile_views\";r=0;t=82800", "Retry-After is never earlier than t");
    assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
}

#[tokio::test]
async fn a_denial_that_time_does_not_cure_answers_403() {
    let api = Api::open();
    let r = api.decide(json!({"member": "ada", "action": "invite", "note": "see https://ada.example"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["reason"], "verification_required");
    assert!(r.body.get("retry_after").is_none());
    assert_eq!(header(&r, "retry-after"), "");
}

#[tokio::test]
async fn bad_input_gets_problem_json_naming_the_field() {
    let api = Api::open();
    let cases: Vec<(&str, Option<&str>, u16, Option<&str>)> = vec![
        ("{\"member\": \"ada\", \"action\": ", Some("application/json"), 400, Some("(body)")),
        (r#"{"member":"ada","action":"poke"}"#, Some("application/json"), 400, Some("action")),
        (r#"{"member":"ada","action":"invite","cost":"five"}"#, Some("application/json"), 400, Some("cost")),
        (r#"{"member":"ada","action":"invite","cost":0}"#, Some("application/json"), 400, Some("cost")),
        (r#"{"member":"ada","action":"invite","tier":"gold"}"#, Some("application/json"), 400, Some("tier")),
        (r#"{"member":"ada","action":"invite","colour":"red"}"#, Some("application/json"), 400, Some("colour")),
        (r#"{"action":"invite"}"#, Some("application/json"), 400, Some("member")),
        (r#"{"member":"","action":"invite"}"#, Some("application/json"), 400, Some("member")),
        (
            r#"{"member":"ada","action":"invite","at":"2026-11-23T10:00:00Z"}"#,
            Some("application/json"),
            400,
            Some("at"),
        ),
        (r#"{"member":"ada","action":"invite"}"#, None, 415, None),
        (r#"{"member":"ada","action":"invite"}"#, Some("text/plain"), 415, None),
        ("[1, 2]", Some("application/json"), 400, None),
    ];
    for (body, ct, status, field) in cases {
        let r = api.call("POST", "/v1/decide", None, Some(body.to_string()), ct).await;
        assert_problem(&r, status, field);
    }
    let long = "m".repeat(300);
    assert_problem(&api.decide(json!({"member": long, "action": "invite"})).await, 400, Some("member"));
    let r = api.call("GET", "/v1/members/ada?at=yesterday", None, None, None).await;
    assert_problem(&r, 400, Some("at"));
    // Nothing above was charged.
    let r = api.call("GET", "/v1/members/ada", None, None, None).await;
    assert_eq!(r.body["limits"][0]["used"], 0, "{}", r.text);
}

#[tokio::test]
async fn a_huge_body_is_refused_with_413() {
    let api = Api::new(|s| s.max_body_bytes = 4096);
    let note = "x".repeat(10_000);
    let r = api.decide(json!({"member": "ada", "action": "invite", "note": note})).await;
    assert_problem(&r, 413, None);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problem_json() {
    let api = Api::open();
    assert_problem(&api.call("GET", "/v2/decide", None, None, None).await, 404, None);
    assert_problem(&api.call("GET", "/v1/decide", None, None, None).await, 405, None);
}

#[tokio::test]
async fn client_time_is_honoured_only_when_trusted() {
    let api = Api::new(|s| s.trust_client_time = true);
    let r = api.decide(json!({"member": "ada", "action": "invite", "at": "2026-11-30T09:00:00Z"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["limits"][0]["resets_at"], "2026-12-07T09:00:00Z");
}

#[tokio::test]
async fn every_admin_endpoint_needs_an_admin_token() {
    let api = Api::with_tokens();
    let admin: &[(&str, &str, Option<Value>)] = &[
        ("PUT", "/v1/members/ada", Some(json!({"tier": "premium"}))),
        ("POST", "/v1/members/ada/lift", None),
        ("POST", "/v1/members/ada/verify", None),
        ("POST", "/v1/members/ada/credits", Some(json!({"limit": "monthly_inmail_credits", "amount": 5}))),
        ("GET", "/v1/policy", None),
        ("GET", "/v1/stats", None),
        ("GET", "/v1/restrictions", None),
        ("GET", "/v1/audit", None),
        ("POST", "/v1/members/ada/view-link", Some(json!({}))),
        ("POST", "/v1/policy/reload", None),
        ("DELETE", "/v1/members/ada", None),
        ("PUT", "/v1/organisations/acme", Some(json!({"tier": "premium"}))),
        ("DELETE", "/v1/organisations/acme", None),
    ];
    api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "invite"})).await;
    for (method, path, body) in admin {
        let body = body.as_ref().map(|b| b.to_string());
        let ct = body.as_ref().map(|_| "application/json");
        let r = api.call(method, path, None, body.clone(), ct).await;
        assert_problem(&r, 401, None);
        assert_eq!(header(&r, "www-authenticate"), "Bearer");
        assert_problem(&api.call(method, path, Some("wrong-token-0123456789"), body.clone(), ct).await, 401, None);
        assert_problem(&api.call(method, path, Some(DECIDER), body.clone(), ct).await, 403, None);
        let r = api.call(method, path, Some(ADMIN), body, ct).await;
        assert!(r.status.is_success(), "{method} {path} with the admin token: {} {}", r.status, r.text);
    }
    // The decide scope works where it should and needs a token when tokens are configured.
    assert_problem(&api.decide(json!({"member": "ada", "action": "invite"})).await, 401, None);
    let r = api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "invite"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api.call("GET", "/v1/members/ada", Some(DECIDER), None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn without_tokens_admin_endpoints_stay_closed() {
    let api = Api::open();
    let r = api.call("POST", "/v1/members/ada/lift", None, None, None).await;
    assert_problem(&r, 403, None);
    assert!(r.body["detail"].as_str().unwrap().contains("PACEKEEPER_ADMIN_TOKEN"));
}

#[tokio::test]
async fn admin_changes_take_effect_at_once() {
    let api = Api::with_tokens();
    let put =
        |body: Value| api.call("PUT", "/v1/members/ada", Some(ADMIN), Some(body.to_string()), Some("application/json"));
    let r = put(json!({"tier": "sales_navigator"})).await;
    assert_eq!(r.body["tier"], "sales_navigator", "{}", r.text);
    let r = api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "profile_view"})).await;
    assert_eq!(r.body["limits"][0]["amount"], 2000);
    assert_problem(&put(json!({"tier": "gold"})).await, 400, Some("tier"));
    assert_problem(&put(json!({"overrides": {"nope": 3}})).await, 400, Some("limit"));
    let r = put(json!({"overrides": {"daily_profile_views": 1}})).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "profile_view"})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the override of 1 is already used");

    // Credits: InMail on premium, topped up.
    put(json!({"tier": "premium"})).await;
    for _ in 0..5 {
        api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "inmail"})).await;
    }
    assert_eq!(api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "inmail"})).await.status, 429);
    let r =
        api.post("/v1/members/ada/credits", Some(ADMIN), json!({"limit": "monthly_inmail_credits", "amount": 2})).await;
    assert_eq!(r.body["purchased_balance"], 2);
    assert_eq!(api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "inmail"})).await.status, 200);
    let r = api.post("/v1/members/ada/credits", Some(ADMIN), json!({"limit": "weekly_invitations", "amount": 2})).await;
    assert_problem(&r, 400, Some("limit"));

    // Verification and lift.
    api.post("/v1/decide", Some(DECIDER), json!({"member": "bob", "action": "invite", "note": "www.bob.example"}))
        .await;
    let r = api.post("/v1/members/bob/verify", Some(ADMIN), json!({})).await;
    assert_eq!(r.body["verified"], 1);
    let r = api.post("/v1/decide", Some(DECIDER), json!({"member": "bob", "action": "invite"})).await;
    assert_eq!(r.status, StatusCode::OK);

    // Erase forgets everything; a second erase finds nothing.
    assert_eq!(api.call("DELETE", "/v1/members/ada", Some(ADMIN), None, None).await.status, StatusCode::NO_CONTENT);
    assert_problem(&api.call("DELETE", "/v1/members/ada", Some(ADMIN), None, None).await, 404, None);
    let r = api.call("GET", "/v1/members/ada", Some(ADMIN), None, None).await;
    assert_eq!(r.body["tier"], "free");
}

#[tokio::test]
async fn events_are_taken_one_or_many_and_a_bad_array_changes_nothing() {
    let api = Api::open();
    let r =
        api.post("/v1/events", None, json!({"member": "ada", "kind": "invitation_withdrawn", "target": "bob"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["accepted"], true);
    let r = api.decide(json!({"member": "ada", "action": "invite", "target": "bob"})).await;
    assert_eq!((r.status.as_u16(), r.body["reason"].as_str()), (429, Some("cooldown")));

    let batch = json!([
        {"member": "cleo", "kind": "connection_added"},
        {"member": "cleo", "kind": "connection_added", "id": "e-2"},
        {"member": "cleo", "kind": "connection_added", "id": "e-2"},
    ]);
    let r = api.post("/v1/events", None, batch).await;
    assert_eq!(r.body.as_array().unwrap().len(), 3);
    assert_eq!(r.body[2]["duplicate"], true);

    let bad = json!([
        {"member": "dan", "kind": "connection_added"},
        {"member": "dan", "kind": "invitation_withdrawn"},
    ]);
    let r = api.post("/v1/events", None, bad).await;
    assert_problem(&r, 400, Some("[1].target"));
    let bad = json!([{"member": "dan", "kind": "connection_added"}, {"member": "dan", "kind": "friendship"}]);
    assert_problem(&api.post("/v1/events", None, bad).await, 400, Some("[1].kind"));
    let r = api.call("GET", "/v1/members/dan", None, None, None).await;
    let connections =
        r.body["gauges"].as_array().unwrap().iter().find(|g| g["name"] == "connections").unwrap()["value"].clone();
    assert_eq!(connections, 0, "nothing from the refused arrays was applied");
}

#[tokio::test]
async fn a_policy_reload_applies_at_once_and_an_invalid_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    let src = Policy::preset_source("linkedin").unwrap();
    std::fs::write(&file, src).unwrap();
    let path = file.to_str().unwrap().to_string();
    let api = Api::new(|s| {
        *s = {
            let (store, _) = (s.store.clone(), ());
            let mut n = Service::new(store, Policy::load(&path).unwrap(), path.clone());
            n.tokens = Tokens::default().with("ops", ADMIN, &[Scope::Admin]);
            n.clock = s.clock.clone();
            n
        }
    });
    assert_eq!(
        api.post("/v1/decide", Some(ADMIN), json!({"member": "ada", "action": "profile_view"})).await.body["limits"][0]
            ["amount"],
        150
    );

    std::fs::write(&file, src.replace("amount = 150", "amount = 90")).unwrap();
    let r = api.post("/v1/policy/reload", Some(ADMIN), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api.post("/v1/decide", Some(ADMIN), json!({"member": "ada", "action": "profile_view"})).await;
    assert_eq!(
        (r.body["limits"][0]["amount"].clone(), r.body["limits"][0]["used"].clone()),
        (json!(90), json!(2)),
        "usage kept"
    );

    std::fs::write(&file, src.replace("zone = \"America/Los_Angeles\"", "zone = \"Mars/Base\"")).unwrap();
    let r = api.post("/v1/policy/reload", Some(ADMIN), json!({})).await;
    assert_problem(&r, 422, None);
    assert!(r.body["errors"][0].as_str().unwrap().contains("unknown time zone `Mars/Base`"), "{}", r.text);
    assert_eq!(
        api.post("/v1/decide", Some(ADMIN), json!({"member": "ada", "action": "profile_view"})).await.body["limits"][0]
            ["amount"],
        90,
        "the old policy stays in force"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_server_answers() {
    let api = Api::open();
    let r = api.call("GET", "/openapi.json", None, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in r.body["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    routes.sort();
    assert_eq!(documented, routes);
    // And every route exists: none answers 404 or 405.
    for (method, path) in ROUTES {
        let path = path.replace("{id}", "ada");
        let r = api.call(&method.to_uppercase(), &path, None, Some("{}".into()), Some("application/json")).await;
        assert!(
            r.status != StatusCode::NOT_FOUND || r.body["detail"].as_str().unwrap_or("").starts_with("no stored"),
            "{method} {path}: {}",
            r.status
        );
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
    // The decision statuses the server gives are documented.
    let doc: Value = serde_json::from_str(include_str!("../src/openapi.json")).unwrap();
    for code in ["200", "429", "403", "400", "401", "413", "415", "503"] {
        assert!(doc["paths"]["/v1/decide"]["post"]["responses"].get(code).is_some(), "/v1/decide {code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_every_answered_decision_by_minute_reason_and_member() {
    let api = Api::new(|s| {
        s.tokens = Tokens::default().with("ops", ADMIN, &[Scope::Admin]).with("app", DECIDER, &[Scope::Decide]);
        s.trust_client_time = true;
    });
    // 09:00: ada views 140 profiles at once (near her 150 a day), sends 14 event invitations,
    // and is denied two of 5,000 each; 09:01: bob invites once.
    let at = "2026-12-07T09:00:10Z";
    api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "profile_view", "cost": 140, "at": at}))
        .await;
    for _ in 0..14 {
        api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "event_invite", "at": at})).await;
    }
    for _ in 0..2 {
        let big = json!({"member": "ada", "action": "event_invite", "cost": 5000, "at": at});
        api.post("/v1/decide", Some(DECIDER), big).await;
    }
    api.post("/v1/decide", Some(DECIDER), json!({"member": "bob", "action": "invite", "at": "2026-12-07T09:01:00Z"}))
        .await;
    let accepted =
        json!({"member": "bob", "kind": "invitation_accepted", "target": "cy", "at": "2026-12-07T09:01:30Z"});
    assert_eq!(api.post("/v1/events", Some(DECIDER), accepted).await.status, StatusCode::OK);
    let r = api.call("GET", "/v1/stats?at=2026-12-07T09:02:00Z", Some(ADMIN), None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let s = &r.body;
    let minutes = s["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 2, "{s}");
    assert_eq!((minutes[0]["decisions"].as_u64(), minutes[0]["denied"].as_u64()), (Some(17), Some(2)));
    assert_eq!(minutes[0]["by_reason"]["limit_exceeded"], 2);
    assert_eq!(minutes[0]["denied_by_limit"]["weekly_event_invitations"], 2);
    assert_eq!(minutes[0]["near_by_limit"]["daily_profile_views"], 1, "{}", minutes[0]);
    assert_eq!(minutes[1]["by_action"]["invite"], 1);
    assert_eq!(minutes[1]["events"]["invitation_accepted"], 1);
    assert_eq!(minutes[1]["decisions"], 1, "an event is not a decision");
    assert_eq!(s["tiles"]["decisions_last_hour"], 18);
    assert_eq!(s["tiles"]["decisions_last_minute"], 1);
    assert_eq!(s["top_denied"][0]["member"], "ada");
    assert_eq!(s["top_denied"][0]["denials"], 2);
    assert_eq!(s["recent_denials"].as_array().unwrap().len(), 2);
    assert_eq!(s["dropped"], 0);
    // An hour later the minutes are still there, the last hour's tiles are empty.
    let later = api.call("GET", "/v1/stats?at=2026-12-07T10:30:00Z", Some(ADMIN), None, None).await;
    assert_eq!(later.body["minutes"].as_array().unwrap().len(), 2);
    assert_eq!(later.body["tiles"]["decisions_last_hour"], 0);
}

#[tokio::test]
async fn metrics_count_near_limit_decisions_and_restrictions_started() {
    let api = Api::new(|s| s.trust_client_time = true);
    // 140 of 150 profile views: near the limit. Then 100 invitations in hourly imports (under
    // the burst limit) and one more: the extra attempt starts a restriction (seed 000).
    api.decide(json!({"member": "cy", "action": "profile_view", "cost": 140, "at": "2026-12-07T00:00:00Z"})).await;
    for time in ["00:30", "01:32", "02:34", "03:36"] {
        let at = format!("2026-12-07T{time}:00Z");
        let r =
            api.decide(json!({"member": "cy", "action": "invite", "channel": "import", "cost": 25, "at": at})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = api.decide(json!({"member": "cy", "action": "invite", "at": "2026-12-07T05:00:00Z"})).await;
    assert_eq!(r.body["restriction"]["penalty"], "invitation_overage", "{}", r.text);
    let m = api.call("GET", "/metrics", None, None, None).await;
    assert!(m.text.contains(r#"pacekeeper_near_limit_total{limit="daily_profile_views"}"#), "{}", m.text);
    assert!(m.text.contains(r#"pacekeeper_restrictions_started_total{cause="invitation_overage"}"#), "{}", m.text);
}

#[test]
fn the_grafana_dashboard_queries_only_metrics_the_readme_documents() {
    let dashboard: Value = serde_json::from_str(include_str!("../../../deploy/grafana-dashboard.json")).unwrap();
    let readme = include_str!("../../../README.md");
    let metrics_row = readme.lines().find(|l| l.starts_with("| `GET /metrics`")).unwrap();
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                let Some(name) = word.strip_prefix("pacekeeper_") else { continue };
                let base = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
                assert!(metrics_row.contains(&format!("`pacekeeper_{base}")), "{}: pacekeeper_{base}", panel["title"]);
                queried += 1;
            }
        }
    }
    assert!(queried >= 12);
}

#[tokio::test]
async fn metrics_count_decisions_by_action_reason_and_limit() {
    let api = Api::open();
    api.decide(json!({"member": "ada", "action": "event_invite"})).await;
    api.decide(json!({"member": "ada", "action": "event_invite", "cost": 5000})).await;
    let r = api.call("GET", "/metrics", None, None, None).await;
    assert!(r.text.contains(r#"pacekeeper_decisions_total{action="event_invite",reason="ok",limit=""}"#), "{}", r.text);
    assert!(
        r.text.contains(r#"action="event_invite",reason="limit_exceeded",limit="weekly_event_invitations""#),
        "{}",
        r.text
    );
    assert!(r.text.contains("pacekeeper_decide_seconds_bucket"));
    assert!(
        r.text.contains("pacekeeper_store_commit_batch_size_bucket")
            || r.text.contains("pacekeeper_store_commits_total")
    );
    assert!(r.text.contains("pacekeeper_cache_hits_total"));
}

/// A store that cannot be reached, to check the server's answer to it.
#[derive(Clone)]
struct Unreachable;

impl Store for Unreachable {
    async fn update<R, F>(&self, _: &str, _: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState) -> Change<R> + Send + 'static,
    {
        Err(StoreError::Timeout(250))
    }
    async fn read(&self, _: &str) -> Result<MemberState, StoreError> {
        Err(StoreError::Timeout(250))
    }
    async fn erase(&self, _: &str) -> Result<bool, StoreError> {
        Err(StoreError::Timeout(250))
    }
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
    async fn ready(&self) -> Result<(), StoreError> {
        Err(StoreError::Timeout(100))
    }
    fn describe(&self) -> String {
        "unreachable".into()
    }
}

#[tokio::test]
async fn an_unavailable_store_answers_503_and_readyz_says_so() {
    let api =
        Api { state: Arc::new(Service::new(Unreachable, Policy::preset("linkedin").unwrap(), "linkedin")), _dir: None };
    assert_problem(&api.decide(json!({"member": "ada", "action": "invite"})).await, 503, None);
    assert_problem(&api.call("GET", "/readyz", None, None, None).await, 503, None);
    assert_eq!(api.call("GET", "/healthz", None, None, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn duplicate_keys_and_unprintable_ids_are_refused_naming_the_field() {
    let api = Api::open();
    let json = Some("application/json");
    let dup = r#"[{"member": "ada", "kind": "connection_added"}, {"member": "ada", "member": "bob", "kind": "connection_added"}]"#;
    let r = api.call("POST", "/v1/events", None, Some(dup.into()), json).await;
    assert_problem(&r, 400, Some("[1].member"));
    let dup = r#"{"member": "ada", "kind": "connection_added", "kind": "connection_removed"}"#;
    assert_problem(&api.call("POST", "/v1/events", None, Some(dup.into()), json).await, 400, Some("kind"));
    assert_problem(&api.decide(json!({"member": "ada\u{7}", "action": "invite"})).await, 400, Some("member"));
    assert_problem(
        &api.decide(json!({"member": "ada", "action": "invite", "target": "b\u{2066}ob"})).await,
        400,
        Some("target"),
    );
    let r = api.post("/v1/events", None, json!([{"member": "x".repeat(300), "kind": "connection_added"}])).await;
    assert_problem(&r, 400, Some("[0].member"));
}

#[tokio::test]
async fn an_organisations_members_share_its_api_message_quota_and_a_denial_names_it() {
    let api = Api::with_tokens();
    let put = |path: &'static str, body: Value| {
        api.call("PUT", path, Some(ADMIN), Some(body.to_string()), Some("application/json"))
    };
    // bob's record names his organisation; ada names it with each request.
    let r = put("/v1/members/bob", json!({"organisation": "acme"})).await;
    assert_eq!(r.body["organisation"], "acme", "{}", r.text);
    let r = put("/v1/organisations/acme", json!({"overrides": {"organisation_hourly_api_messages": 30}})).await;
    assert_eq!(r.body["limits"][0]["amount"], 30, "{}", r.text);
    assert_problem(
        &put("/v1/organisations/acme", json!({"overrides": {"hourly_messages": 3}})).await,
        400,
        Some("limit"),
    );
    let message = |member: &str| {
        let mut body = json!({"member": member, "action": "message", "channel": "api"});
        if member == "ada" {
            body["organisation"] = json!("acme");
        }
        body
    };
    for i in 0..30 {
        let r = api.post("/v1/decide", Some(DECIDER), message(if i % 2 == 0 { "ada" } else { "bob" })).await;
        assert_eq!(r.status, StatusCode::OK, "message {i}: {}", r.text);
    }
    let r = api.post("/v1/decide", Some(DECIDER), message("ada")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(
        (r.body["reason"].as_str(), r.body["limit"].as_str()),
        (Some("limit_exceeded"), Some("organisation_hourly_api_messages"))
    );
    let limits = r.body["limits"].as_array().unwrap();
    let org = limits.iter().find(|l| l["name"] == "organisation_hourly_api_messages").unwrap();
    assert_eq!((org["scope"].as_str(), org["remaining"].as_u64()), (Some("organisation"), Some(0)));
    let own = limits.iter().find(|l| l["name"] == "hourly_messages").unwrap();
    assert_eq!((own.get("scope"), own["remaining"].as_u64()), (None, Some(5)), "ada had room of her own");
    // Messages through another channel are not the API's: the organisation does not count them.
    let r = api
        .post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "message", "organisation": "acme"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api.call("GET", "/v1/organisations/acme", Some(DECIDER), None, None).await;
    assert_eq!(
        (r.body["organisation"].as_str(), r.body["limits"][0]["used"].as_u64()),
        (Some("acme"), Some(30)),
        "{}",
        r.text
    );
    assert_problem(
        &api.post("/v1/decide", Some(DECIDER), json!({"member": "ada", "action": "message", "organisation": ""})).await,
        400,
        Some("organisation"),
    );
    assert_eq!(
        api.call("DELETE", "/v1/organisations/acme", Some(ADMIN), None, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(&api.call("DELETE", "/v1/organisations/acme", Some(ADMIN), None, None).await, 404, None);
    let r = api.post("/v1/decide", Some(DECIDER), message("bob")).await;
    assert_eq!(r.status, StatusCode::OK, "an erased organisation starts afresh: {}", r.text);
}

#[tokio::test]
async fn a_challenged_invitation_answers_403_naming_the_proof_and_passes_with_it() {
    let api = Api::open();
    let reports: Vec<Value> = (0..7)
        .map(|i| json!({"member": "ada", "kind": "invitation_reported_unknown", "target": format!("p{i}")}))
        .collect();
    assert_eq!(api.post("/v1/events", None, json!(reports)).await.status, StatusCode::OK);
    let r = api.decide(json!({"member": "ada", "action": "invite", "target": "bob"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(
        (r.body["reason"].as_str(), r.body["challenge"].as_str()),
        (Some("challenge_required"), Some("recipient_email"))
    );
    assert_eq!(r.body["restriction"]["kind"], "challenge");
    assert_eq!(header(&r, "retry-after"), "", "waiting does not cure it");
    let r = api
        .decide(json!({"member": "ada", "action": "invite", "target": "bob", "challenge_passed": "recipient_email"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
