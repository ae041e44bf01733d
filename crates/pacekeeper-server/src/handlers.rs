//! The endpoints.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use pacekeeper_engine::{
    DecideRequest, Decision, Event, MemberState, MemberUpdate, Policy, RequestError, apply_event,
    decide as engine_decide, field_at_fault, grant_credits, lift as engine_lift, member_view,
    update_member as engine_update, validate_event, verify as engine_verify,
};
use pacekeeper_store::{Change, MAX_MEMBER_ID, Store, StoreError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::AppState;
use crate::clock::Stopwatch;
use crate::config::Scope;
use crate::problem::Problem;

type App<S> = State<Arc<AppState<S>>>;
type Answer = Result<Response, Problem>;

/// Checks the bearer token. With no tokens configured the server binds only loopback: decide
/// scope is open there, and admin stays closed.
fn authorize<S: Store>(app: &AppState<S>, headers: &HeaderMap, scope: Scope) -> Result<(), Problem> {
    if app.tokens.is_empty() {
        return match scope {
            Scope::Decide => Ok(()),
            Scope::Admin => Err(Problem::forbidden(
                "admin endpoints need an admin token; start the server with PACEKEEPER_ADMIN_TOKEN set (16+ characters) or a [[token]] with scope admin",
            )),
        };
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| Problem::unauthorized("send `Authorization: Bearer <token>`"))?;
    let scopes =
        app.tokens.scopes_of(presented.trim().as_bytes()).ok_or_else(|| Problem::unauthorized("unknown token"))?;
    if scopes.contains(&scope) || scopes.contains(&Scope::Admin) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "this token lacks the `{}` scope",
            if scope == Scope::Admin { "admin" } else { "decide" }
        )))
    }
}

/// Parses a JSON body, naming the field at fault.
fn parse_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<T, Problem> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(Problem::unsupported_media_type(if ct.is_empty() { "(none)" } else { ct }));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large(limit)
        } else {
            Problem::bad_field("(body)", e.body_text())
        }
    })?;
    // Straight from the bytes, without an intermediate `Value`: fewer allocations on the hot path.
    let not_json = |e: serde_json::Error| Problem::bad_field("(body)", format!("the body is not valid JSON: {e}"));
    // The common case, a valid body, in one pass; only a bad body pays for the path tracking
    // that names the field at fault.
    if let Ok(value) = serde_json::from_slice(&body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(&body);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return not_json(inner);
        }
        let inner = inner.to_string();
        Problem::bad_field(field_at_fault(&path, &inner), inner)
    })?;
    de.end().map_err(not_json)?;
    Ok(value)
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        Problem::bad_field(field_at_fault(&path, &inner), inner)
    })
}

fn check_member(id: &str, field: &str) -> Result<(), Problem> {
    if id.is_empty() {
        return Err(Problem::bad_field(field, "the member id is empty"));
    }
    if id.len() > MAX_MEMBER_ID {
        return Err(Problem::bad_field(field, format!("the member id is longer than {MAX_MEMBER_ID} bytes")));
    }
    Ok(())
}

/// The instant a request is evaluated at: `at` when the server trusts client time.
fn instant<S: Store>(app: &AppState<S>, at: Option<Timestamp>) -> Result<Timestamp, Problem> {
    match at {
        None => Ok(app.clock.now()),
        Some(t) if app.trust_client_time => Ok(t),
        Some(_) => Err(Problem::bad_field(
            "at",
            "`at` is accepted only when the server runs with --trust-client-time (replay, back-testing, tests); remove it",
        )),
    }
}

/// A member view with its id first: `{"member": id, "tier": …, "limits": […], …}`.
fn member_json(id: &str, view: pacekeeper_engine::MemberView) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("member".into(), Value::String(id.to_string()));
    if let Ok(Value::Object(v)) = serde_json::to_value(view) {
        out.extend(v);
    }
    Value::Object(out)
}

fn store_problem(e: StoreError) -> Problem {
    tracing::warn!(error = %e, "store error");
    metrics::counter!("pacekeeper_store_errors_total").increment(1);
    match e {
        StoreError::Corrupt { .. } | StoreError::Internal(_) => Problem::internal(e.to_string()),
        _ => Problem::unavailable(e.to_string()),
    }
}

/// What the store writes for an engine outcome: whether the state changed and, for stores
/// with expiry, for how long it still matters after `now`.
fn change<R>(policy: &Policy, st: &MemberState, output: R, changed: bool, track: bool, now: Timestamp) -> Change<R> {
    let c = Change::new(output, changed);
    if changed && track { c.expiring(st.expires_at(policy), now.as_millisecond()) } else { c }
}

fn request_problem(e: RequestError) -> Problem {
    Problem::bad_field(e.field(), e.to_string())
}

pub async fn decide<S: Store>(State(app): App<S>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Answer {
    let watch = Stopwatch::start();
    authorize(&app, &headers, Scope::Decide)?;
    let req: DecideRequest = parse_json(&headers, body, app.max_body_bytes)?;
    check_member(&req.member, "member")?;
    let now = instant(&app, req.at)?;
    let policy = app.policy();
    let member = req.member.clone();
    let action = req.action.clone();
    let track = app.store.tracks_expiry();
    let outcome = app
        .store
        .update(&member, move |st| {
            let r = engine_decide(&policy, st, &req, now);
            let changed = matches!(&r, Ok(d) if !d.dry_run && !d.duplicate);
            change(&policy, st, r, changed, track, now)
        })
        .await;
    let d = match outcome {
        Ok(r) => r.map_err(request_problem)?,
        Err(e) if app.fail_open && e.is_transient() => {
            tracing::warn!(error = %e, "store unreachable: allowing unchecked (fail-open)");
            metrics::counter!("pacekeeper_fail_open_total").increment(1);
            Decision::unchecked(format!("allowed unchecked: {e}"))
        }
        Err(e) => return Err(store_problem(e)),
    };
    crate::metrics::count_decision(&action, d.reason.as_str(), d.limit.as_deref().filter(|_| !d.allowed).unwrap_or(""));
    crate::metrics::record_decide_seconds(watch.seconds());
    crate::answer::decision_response(&d).map_err(|e| Problem::internal(format!("cannot encode the decision: {e}")))
}

pub async fn events<S: Store>(State(app): App<S>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Answer {
    authorize(&app, &headers, Scope::Decide)?;
    let value: Value = parse_json(&headers, body, app.max_body_bytes)?;
    let (batch, events): (bool, Vec<Event>) = match value {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                out.push(from_value::<Event>(item).map_err(|mut p| {
                    p.field = p.field.map(|f| format!("[{i}].{}", f.trim_start_matches('.')));
                    p
                })?);
            }
            (true, out)
        }
        other => (false, vec![from_value(other)?]),
    };
    let policy = app.policy();
    // Check every event before applying any: a bad array changes nothing.
    let mut instants = Vec::with_capacity(events.len());
    for (i, ev) in events.iter().enumerate() {
        let prefix = if batch { format!("[{i}].") } else { String::new() };
        check_member(&ev.member, &format!("{prefix}member"))?;
        instants.push(instant(&app, ev.at).map_err(|mut p| {
            p.field = Some(format!("{prefix}at"));
            p
        })?);
        validate_event(&policy, ev).map_err(|e| Problem::bad_field(format!("{prefix}{}", e.field()), e.to_string()))?;
    }
    let track = app.store.tracks_expiry();
    let mut acks = Vec::with_capacity(events.len());
    for (ev, now) in events.into_iter().zip(instants) {
        let policy = policy.clone();
        let member = ev.member.clone();
        let kind = ev.kind.name();
        let ack = app
            .store
            .update(&member, move |st| {
                let r = apply_event(&policy, st, &ev, now);
                let changed = matches!(&r, Ok(a) if !a.duplicate);
                change(&policy, st, r, changed, track, now)
            })
            .await
            .map_err(store_problem)?
            .map_err(request_problem)?;
        metrics::counter!("pacekeeper_events_total", "kind" => kind).increment(1);
        acks.push(ack);
    }
    Ok(if batch { Json(json!(acks)).into_response() } else { Json(json!(acks.pop())).into_response() })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtQuery {
    at: Option<Timestamp>,
}

pub async fn member<S: Store>(
    State(app): App<S>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<AtQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    authorize(&app, &headers, Scope::Decide)?;
    check_member(&id, "id")?;
    let Query(q) = query.map_err(|e| Problem::bad_field("at", e.body_text()))?;
    let now = instant(&app, q.at)?;
    let state = app.store.read(&id).await.map_err(store_problem)?;
    Ok(Json(member_json(&id, member_view(&app.policy(), &state, now))).into_response())
}

/// Runs an admin change on one member and answers with `f`'s JSON. `f` gets the policy and
/// the instant of the request, read once, so the change and its answer see the same ones.
async fn admin_change<S: Store, F>(app: &AppState<S>, id: &str, mut f: F) -> Answer
where
    F: FnMut(&Policy, &mut MemberState, Timestamp) -> Result<Value, RequestError> + Send + 'static,
{
    check_member(id, "id")?;
    let policy = app.policy();
    let now = app.clock.now();
    let track = app.store.tracks_expiry();
    let out = app
        .store
        .update(id, move |st| {
            // On `Err` nothing is written: the store drops the copy `f` worked on.
            let r = f(&policy, st, now);
            let changed = r.is_ok();
            change(&policy, st, r, changed, track, now)
        })
        .await
        .map_err(store_problem)?
        .map_err(request_problem)?;
    Ok(Json(out).into_response())
}

pub async fn update_member<S: Store>(
    State(app): App<S>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    authorize(&app, &headers, Scope::Admin)?;
    let update: MemberUpdate = parse_json(&headers, body, app.max_body_bytes)?;
    let member = id.clone();
    admin_change(&app, &id, move |p, st, now| {
        engine_update(p, st, &update)?;
        Ok(member_json(&member, member_view(p, st, now)))
    })
    .await
}

pub async fn lift<S: Store>(State(app): App<S>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    authorize(&app, &headers, Scope::Admin)?;
    admin_change(&app, &id, |p, st, now| Ok(json!({ "lifted": engine_lift(p, st, now) }))).await
}

pub async fn verify<S: Store>(State(app): App<S>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    authorize(&app, &headers, Scope::Admin)?;
    admin_change(&app, &id, |p, st, now| Ok(json!({ "verified": engine_verify(p, st, now) }))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditsBody {
    limit: String,
    amount: u64,
}

pub async fn credits<S: Store>(
    State(app): App<S>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    authorize(&app, &headers, Scope::Admin)?;
    let b: CreditsBody = parse_json(&headers, body, app.max_body_bytes)?;
    if b.amount == 0 || b.amount > 1_000_000 {
        return Err(Problem::bad_field("amount", "amount must be between 1 and 1000000"));
    }
    admin_change(&app, &id, move |p, st, _| {
        let balance = grant_credits(p, st, &b.limit, b.amount)?;
        Ok(json!({ "limit": b.limit, "purchased_balance": balance }))
    })
    .await
}

pub async fn erase<S: Store>(State(app): App<S>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    authorize(&app, &headers, Scope::Admin)?;
    check_member(&id, "id")?;
    if app.store.erase(&id).await.map_err(store_problem)? {
        tracing::info!(member = %id, "member erased by an admin");
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found(format!("no stored state for member `{id}`")))
    }
}

pub async fn policy<S: Store>(State(app): App<S>, headers: HeaderMap) -> Answer {
    authorize(&app, &headers, Scope::Admin)?;
    let p = app.policy();
    Ok(Json(json!({
        "name": p.name,
        "description": p.description,
        "source": app.policy_source,
        "tiers": p.tiers(),
        "default_tier": p.default_tier(),
        "actions": p.action_names().collect::<Vec<_>>(),
        "limits": p.limit_names().collect::<Vec<_>>(),
        "toml": p.source,
    }))
    .into_response())
}

pub async fn reload<S: Store>(State(app): App<S>, headers: HeaderMap) -> Answer {
    authorize(&app, &headers, Scope::Admin)?;
    match app.reload_policy() {
        Ok(p) => {
            tracing::info!(policy = %p.name, source = %app.policy_source, "policy reloaded");
            Ok(Json(json!({ "reloaded": p.name, "source": app.policy_source })).into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, "policy reload refused; the old policy stays");
            Err(Problem::invalid_policy(e.to_string().lines().map(String::from).collect()))
        }
    }
}

pub async fn metrics<S: Store>(State(app): App<S>) -> Response {
    for (name, value) in app.store.counters() {
        metrics::counter!(name).absolute(value);
    }
    match crate::metrics::handle() {
        Some(h) => {
            h.run_upkeep();
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response()
        }
        None => Problem::internal("no metrics recorder is installed").into_response(),
    }
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz<S: Store>(State(app): App<S>) -> Answer {
    app.store.ready().await.map_err(store_problem)?;
    Ok("ready".into_response())
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("openapi.json")).into_response()
}

pub async fn not_found() -> Problem {
    Problem::not_found("no such endpoint; see /openapi.json")
}

pub async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed("this endpoint does not take that method; see /openapi.json")
}
