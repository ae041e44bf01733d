//! What operators and members see, driven in-process through `app(state)`: restricted members
//! from the store's index, the audit log, members' signed links, and the dashboard's sessions
//! and origin checks.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use jiff::SignedDuration;
use pacekeeper_engine::Policy;
use pacekeeper_server::{FakeClock, Scope, Service, Tokens, app};
use pacekeeper_store::{EmbeddedConfig, EmbeddedStore};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-token-0123456789";
const DECIDER: &str = "decide-token-0123456789";
const ORIGIN: &str = "http://pacekeeper.test";

struct Ui {
    service: Arc<Service<EmbeddedStore>>,
    clock: Arc<FakeClock>,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

impl Ui {
    fn new() -> Ui {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
        let mut s = Service::new(store, Policy::preset("linkedin").unwrap(), "linkedin");
        let clock = Arc::new(FakeClock::new("2026-11-23T09:00:00Z".parse().unwrap()));
        s.clock = clock.clone();
        s.tokens = Tokens::default().with("ops", ADMIN, &[Scope::Admin]).with("app", DECIDER, &[Scope::Decide]);
        Ui { service: Arc::new(s), clock, _dir: dir }
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> Reply {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, "pacekeeper.test");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = app(self.service.clone()).oneshot(req.body(body.map_or_else(Body::empty, Body::from)).unwrap()).await;
        let res = res.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let text = String::from_utf8_lossy(&to_bytes(res.into_body(), usize::MAX).await.unwrap()).to_string();
        Reply { status, headers, text }
    }

    async fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {token}");
        let hs = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("x-pacekeeper-reason", "ticket 42"),
        ];
        self.send(method, path, &hs, body.map(|b| b.to_string())).await
    }

    /// Invites until the burst limit restricts `member`.
    async fn restrict(&self, member: &str) {
        for i in 0..43 {
            let body = json!({"member": member, "action": "invite", "target": format!("t{i}")});
            self.api("POST", "/v1/decide", DECIDER, Some(body)).await;
        }
    }

    /// Posts a dashboard form with a session cookie from `origin`.
    async fn form(&self, path: &str, cookie: &str, origin: &str, body: &str) -> Reply {
        let hs = [("cookie", cookie), ("content-type", "application/x-www-form-urlencoded"), ("origin", origin)];
        self.send("POST", path, &hs, Some(body.into())).await
    }

    /// Signs in through the login form; answers the session cookie.
    async fn sign_in(&self) -> String {
        let form = format!("token={ADMIN}&next=%2Fui%2Fmembers");
        let hs = [("content-type", "application/x-www-form-urlencoded"), ("origin", ORIGIN)];
        let r = self.send("POST", "/ui/login", &hs, Some(form)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(r.header("location"), "/ui/members");
        let cookie = r.header("set-cookie");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
            assert!(cookie.contains(attr), "{cookie}");
        }
        assert!(!cookie.contains(ADMIN), "the cookie never holds the token");
        cookie.split(';').next().unwrap().to_string()
    }
}

#[tokio::test]
async fn restricted_members_come_from_the_index_soonest_end_first_with_cause_and_step() {
    let ui = Ui::new();
    ui.restrict("ada").await;
    ui.clock.advance(SignedDuration::from_secs(60));
    ui.restrict("bob").await;
    let r = ui.api("GET", "/v1/restrictions", ADMIN, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = r.json();
    assert_eq!(list["total"], 2);
    let members: Vec<&str> =
        list["members"].as_array().unwrap().iter().map(|m| m["member"].as_str().unwrap()).collect();
    assert_eq!(members, ["ada", "bob"], "soonest end first");
    assert_eq!(list["members"][0]["penalty"], "burst");
    assert_eq!(list["members"][0]["step"], 1);
    assert!(list["members"][0]["cause"].as_str().unwrap().contains("invitation_burst"), "{list}");
    let stats = ui.api("GET", "/v1/stats", ADMIN, None).await.json();
    assert_eq!(stats["tiles"]["restrictions_active"], 2);
    let metrics = ui.send("GET", "/metrics", &[], None).await.text;
    assert!(metrics.contains("pacekeeper_restrictions_active 2"), "{metrics}");
    ui.api("POST", "/v1/members/ada/lift", ADMIN, None).await;
    assert_eq!(ui.api("GET", "/v1/restrictions?limit=1", ADMIN, None).await.json()["total"], 1);
    ui.clock.advance(SignedDuration::from_secs(7 * 3600));
    assert_eq!(ui.api("GET", "/v1/restrictions", ADMIN, None).await.json()["total"], 0, "bob's has ended");
}

#[tokio::test]
async fn every_admin_action_is_in_the_audit_log_with_who_what_when_and_why() {
    let ui = Ui::new();
    ui.restrict("ada").await;
    assert_eq!(ui.api("POST", "/v1/members/ada/lift", ADMIN, None).await.json()["lifted"], 1);
    ui.api("PUT", "/v1/members/ada", ADMIN, Some(json!({"tier": "premium"}))).await;
    assert_eq!(ui.api("DELETE", "/v1/members/nobody", ADMIN, None).await.status, StatusCode::NOT_FOUND);
    let entries = ui.api("GET", "/v1/audit", ADMIN, None).await.json()["entries"].clone();
    let actions: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update_member", "lift"], "newest first; a refused erase did nothing to record");
    let lift = &entries[1];
    assert_eq!(
        (lift["who"].as_str(), lift["member"].as_str(), lift["why"].as_str()),
        (Some("ops"), Some("ada"), Some("ticket 42"))
    );
    assert_eq!(lift["at"], "2026-11-23T09:00:00Z");
    assert_eq!(lift["outcome"], "1 restriction(s) ended");
}

#[tokio::test]
async fn a_member_link_opens_their_own_view_until_it_expires_and_not_once_altered() {
    let ui = Ui::new();
    ui.api("POST", "/v1/decide", DECIDER, Some(json!({"member": "bob", "action": "profile_view"}))).await;
    let link = ui.api("POST", "/v1/members/bob/view-link", ADMIN, Some(json!({"ttl_seconds": 600}))).await.json();
    let path = link["path"].as_str().unwrap().to_string();
    assert_eq!(link["expires_at"], "2026-11-23T09:10:00Z");
    let page = ui.send("GET", &path, &[], None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Your limits") && page.text.contains("data-limit=\"daily_profile_views\""));
    assert!(page.text.contains("<td class=\"num remaining\">149</td>"), "{}", page.text);
    assert!(!page.text.contains("<form"), "read-only");
    assert!(page.header("content-security-policy").contains("default-src 'none'"));
    let sig = path.rsplit("sig=").next().unwrap();
    let flipped = if sig.ends_with('0') { "1" } else { "0" };
    let altered = format!("{}{flipped}", &path[..path.len() - 1]);
    let r = ui.send("GET", &altered, &[], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("does not match"));
    assert_eq!(ui.send("GET", &path.replace("/me/bob", "/me/ada"), &[], None).await.status, StatusCode::FORBIDDEN);
    ui.clock.advance(SignedDuration::from_secs(600));
    let r = ui.send("GET", &path, &[], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("expired"));
    let bad = ui.api("POST", "/v1/members/bob/view-link", ADMIN, Some(json!({"ttl_seconds": 0}))).await;
    assert_eq!((bad.status, bad.json()["field"].as_str()), (StatusCode::BAD_REQUEST, Some("ttl_seconds")));
}

#[tokio::test]
async fn the_pages_need_a_session_and_forms_must_come_from_the_server_itself() {
    let ui = Ui::new();
    let r = ui.send("GET", "/ui/members/ada", &[], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/ui/login?next=%2Fui%2Fmembers%2Fada");
    let form = |token: &str| format!("token={token}");
    let hs = [("content-type", "application/x-www-form-urlencoded"), ("origin", ORIGIN)];
    let r = ui.send("POST", "/ui/login", &hs, Some(form(DECIDER))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("lacks the `admin` scope"));
    let foreign = [("content-type", "application/x-www-form-urlencoded"), ("origin", "http://elsewhere.test")];
    assert_eq!(ui.send("POST", "/ui/login", &foreign, Some(form(ADMIN))).await.status, StatusCode::FORBIDDEN);
    let cookie = ui.sign_in().await;
    for page in ["/ui", "/ui/members", "/ui/members/ada", "/ui/policy", "/ui/audit"] {
        let r = ui.send("GET", page, &[("cookie", &cookie)], None).await;
        assert_eq!(r.status, StatusCode::OK, "{page}: {}", r.text);
        assert!(r.text.contains("signed in as ops"), "{page}");
    }
    ui.restrict("ada").await;
    let foreign = ui.form("/ui/members/ada/lift", &cookie, "http://elsewhere.test", "why=appeal").await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(ui.api("GET", "/v1/members/ada", ADMIN, None).await.json()["restrictions"].as_array().unwrap().len(), 1);
    let r = ui.form("/ui/members/ada/lift", &cookie, ORIGIN, "why=appeal").await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/ui/members/ada?done=lift"));
    assert_eq!(ui.api("GET", "/v1/members/ada", ADMIN, None).await.json()["restrictions"], json!([]));
    let audit = ui.api("GET", "/v1/audit", ADMIN, None).await.json();
    assert_eq!(
        (audit["entries"][0]["who"].as_str(), audit["entries"][0]["why"].as_str()),
        (Some("ops"), Some("appeal"))
    );
    // A session ends after eight hours.
    ui.clock.advance(SignedDuration::from_secs(8 * 3600));
    assert_eq!(ui.send("GET", "/ui", &[("cookie", &cookie)], None).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn erasing_on_the_member_page_needs_the_id_typed_and_a_reason() {
    let ui = Ui::new();
    ui.api("POST", "/v1/decide", DECIDER, Some(json!({"member": "cy", "action": "profile_view"}))).await;
    let cookie = ui.sign_in().await;
    let r = ui.form("/ui/members/cy/erase", &cookie, ORIGIN, "confirm=cx&why=gdpr").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("confirm"));
    let no_reason = ui.form("/ui/members/cy/erase", &cookie, ORIGIN, "confirm=cy&why=").await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST, "a reason is needed");
    let r = ui.form("/ui/members/cy/erase", &cookie, ORIGIN, "confirm=cy&why=gdpr").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let view = ui.api("GET", "/v1/members/cy", ADMIN, None).await.json();
    assert_eq!(view["limits"].as_array().unwrap().iter().map(|l| l["used"].as_u64().unwrap()).sum::<u64>(), 0);
}

#[tokio::test]
async fn a_shadow_policy_decides_every_request_again_and_counts_its_disagreements() {
    use pacekeeper_service::shadow::{Shadow, shadow_key};
    use pacekeeper_store::Store;
    // The shadow allows 3 invitations a week where the policy in force allows 100.
    let src = Policy::preset_source("linkedin").unwrap().replacen("amount = 100", "amount = 3", 1);
    let strict = Arc::new(Policy::from_toml("three-a-week.toml", &src).unwrap());
    let mut ui = Ui::new();
    let service = Arc::get_mut(&mut ui.service).unwrap();
    service.shadow = Some(Shadow { policy: strict, source: "three-a-week.toml".into() });
    for i in 0..5 {
        let r = ui
            .api(
                "POST",
                "/v1/decide",
                DECIDER,
                Some(json!({"member": "ada", "action": "invite", "target": format!("t{i}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "the shadow never answers: {}", r.text);
    }
    let stats = ui.api("GET", "/v1/stats", ADMIN, None).await.json();
    assert_eq!(stats["tiles"]["shadow_disagreements_last_hour"], 2, "{}", stats["tiles"]);
    let metrics = ui.send("GET", "/metrics", &[], None).await.text;
    assert!(metrics.contains(r#"pacekeeper_shadow_decisions_total{agreement="agree"} 3"#), "{metrics}");
    assert!(metrics.contains(r#"pacekeeper_shadow_decisions_total{agreement="shadow_denies"} 2"#), "{metrics}");
    let real = ui.api("GET", "/v1/members/ada", ADMIN, None).await.json();
    let weekly = real["limits"].as_array().unwrap().iter().find(|l| l["name"] == "weekly_invitations").unwrap().clone();
    assert_eq!((weekly["used"].as_u64(), real["restrictions"].as_array().unwrap().len()), (Some(5), 0));
    let shadow_state = ui.service.store.read(&shadow_key("ada")).await.unwrap();
    assert!(shadow_state.restricted_until().is_some(), "the shadow state took its own overage restriction");
    assert_eq!(
        ui.api("GET", "/v1/restrictions", ADMIN, None).await.json()["total"],
        0,
        "shadow states are not members"
    );
    let cookie = ui.sign_in().await;
    let overview = ui.send("GET", "/ui", &[("cookie", &cookie)], None).await.text;
    assert!(
        overview.contains(r#"data-tile="shadow_disagreements_last_hour"><span class="value">2</span>"#),
        "{overview}"
    );
    assert_eq!(ui.api("DELETE", "/v1/members/ada", ADMIN, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ui.service.store.read(&shadow_key("ada")).await.unwrap(),
        Default::default(),
        "erase takes the shadow state too"
    );
}

#[tokio::test]
async fn recorded_traffic_is_a_replay_file_a_day_with_hashed_members_and_honours_an_erase() {
    use pacekeeper_service::record::{ERASED, Recorder};
    let dir = tempfile::tempdir().unwrap();
    let mut ui = Ui::new();
    let service = Arc::get_mut(&mut ui.service).unwrap();
    let recorder = Recorder::start(dir.path(), service.signer.clone()).unwrap();
    service.recorder = Some(recorder.clone());
    let invite = |member: &str, target: &str, note: Option<&str>| json!({"member": member, "action": "invite", "target": target, "note": note});
    ui.api("POST", "/v1/decide", DECIDER, Some(invite("ada", "bob", Some("Hi Bob")))).await;
    ui.api("POST", "/v1/decide", DECIDER, Some(invite("cy", "ada", Some("see https://x.example")))).await;
    let accepted = json!({"member": "ada", "kind": "invitation_accepted", "target": "bob"});
    assert_eq!(ui.api("POST", "/v1/events", DECIDER, Some(accepted)).await.status, StatusCode::OK);
    ui.service.flush().await.unwrap();
    let file = dir.path().join("2026-11-23.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    for raw in ["ada", "bob", "Hi Bob", "x.example"] {
        assert!(!text.contains(&format!("\"{raw}\"")) && !text.contains(raw), "`{raw}` is not in the file: {text}");
    }
    let (ada, bob) = (recorder.hashed("ada"), recorder.hashed("bob"));
    assert_eq!(lines[0]["member"], ada.as_str());
    assert_eq!(lines[0]["target"], bob.as_str());
    assert_eq!(lines[0]["at"], "2026-11-23T09:00:00Z");
    assert_eq!(lines[0]["note"], "[a note]");
    assert_eq!(
        lines[1]["note"], "[a note with a link: https://link.invalid]",
        "what the engine reads of a note is kept"
    );
    assert_eq!(
        (lines[2]["kind"].as_str(), lines[2]["member"].as_str()),
        (Some("invitation_accepted"), Some(ada.as_str()))
    );
    assert_eq!(ui.api("DELETE", "/v1/members/ada", ADMIN, None).await.status, StatusCode::NO_CONTENT);
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(after.lines().count(), 1, "ada's own lines are gone: {after}");
    assert!(!after.contains(&ada), "{after}");
    assert!(after.contains(&format!("\"target\":\"{ERASED}\"")), "where ada was a target she is blanked: {after}");
    ui.api("POST", "/v1/decide", DECIDER, Some(invite("cy", "dee", None))).await;
    ui.service.flush().await.unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2, "recording goes on after an erase");
}
