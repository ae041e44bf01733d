//! The endpoints: each parses its input, calls the service and shapes the answer. No rule,
//! store call or fail-open lives here.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use pacekeeper_engine::{DecideRequest, Event, MemberUpdate, OrganisationUpdate, field_at_fault};
use pacekeeper_service::Service;
use pacekeeper_store::Store;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::auth::{Admin, AdminScope, DecideScope, Granted};
use crate::problem::Problem;

type App<S> = State<Arc<Service<S>>>;

/// The `{id}` of a member path; a path that is not UTF-8 is a 400 naming `id`.
pub struct MemberId(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for MemberId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Problem> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(MemberId(id)),
            Err(e) => Err(Problem::bad_field("id", e.body_text())),
        }
    }
}
type Answer = Result<Response, Problem>;
type Body = Result<Bytes, BytesRejection>;

/// The body's bytes, once its content type is JSON and it fits the limit.
fn json_bytes(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Problem> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(Problem::unsupported_media_type(if ct.is_empty() { "(none)" } else { ct }));
    }
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large(limit)
        } else {
            Problem::bad_field("(body)", e.body_text())
        }
    })
}

/// Parses JSON into `T`, naming the field at fault (`member`, `[2].kind`). Duplicate keys
/// are refused like any other bad field.
fn from_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let not_json = |e: serde_json::Error| Problem::bad_field("(body)", format!("the body is not valid JSON: {e}"));
    // The common case, a valid body, in one pass; only a bad body pays for the path tracking
    // that names the field at fault.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
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

/// Parses a JSON object (not an array, which serde would also read into a struct).
fn from_object<T: DeserializeOwned>(json: &[u8], at: &str) -> Result<T, Problem> {
    match json.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => from_json(json).map_err(|p| p.within(at)),
        Some(_) => Err(Problem::bad_field(
            if at.is_empty() { "(body)" } else { at.trim_end_matches('.') },
            "expected a JSON object",
        )),
        None => Err(Problem::bad_field("(body)", "the body is empty; send a JSON object")),
    }
}

/// Parses a JSON object body.
fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: Body, limit: usize) -> Result<T, Problem> {
    from_object(&json_bytes(headers, body, limit)?, "")
}

/// Parses `/v1/events`: one event, or an array of them (`true` for an array).
fn parse_events(json: &[u8]) -> Result<(Vec<Event>, bool), Problem> {
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[') {
        return Ok((vec![from_object(json, "")?], false));
    }
    let items: Vec<Box<serde_json::value::RawValue>> = from_json(json)?;
    let events = items.iter().enumerate().map(|(i, raw)| from_object(raw.get().as_bytes(), &format!("[{i}].")));
    Ok((events.collect::<Result<_, _>>()?, true))
}

pub async fn decide<S: Store>(State(app): App<S>, _: Granted<DecideScope>, headers: HeaderMap, body: Body) -> Answer {
    let req: DecideRequest = parse_json(&headers, body, app.max_body_bytes)?;
    let d = app.decide(req).await?;
    crate::answer::decision_response(&d).map_err(|e| Problem::internal(format!("cannot encode the decision: {e}")))
}

pub async fn events<S: Store>(State(app): App<S>, _: Granted<DecideScope>, headers: HeaderMap, body: Body) -> Answer {
    let (events, batch) = parse_events(&json_bytes(&headers, body, app.max_body_bytes)?)?;
    let mut acks = app.apply_events(events, batch).await?;
    Ok(if batch { Json(json!(acks)).into_response() } else { Json(json!(acks.pop())).into_response() })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtQuery {
    at: Option<Timestamp>,
}

pub async fn member<S: Store>(
    State(app): App<S>,
    _: Granted<DecideScope>,
    MemberId(id): MemberId,
    query: Result<Query<AtQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = query.map_err(|e| Problem::bad_field("at", e.body_text()))?;
    Ok(Json(app.member(&id, q.at).await?).into_response())
}

pub async fn update_member<S: Store>(
    State(app): App<S>,
    Admin(actor): Admin,
    MemberId(id): MemberId,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let update: MemberUpdate = parse_json(&headers, body, app.max_body_bytes)?;
    Ok(Json(app.update_member(&id, update, &actor).await?).into_response())
}

pub async fn organisation<S: Store>(
    State(app): App<S>,
    _: Granted<DecideScope>,
    MemberId(id): MemberId,
    query: Result<Query<AtQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = query.map_err(|e| Problem::bad_field("at", e.body_text()))?;
    Ok(Json(app.organisation(&id, q.at).await?).into_response())
}

pub async fn update_organisation<S: Store>(
    State(app): App<S>,
    Admin(actor): Admin,
    MemberId(id): MemberId,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let update: OrganisationUpdate = parse_json(&headers, body, app.max_body_bytes)?;
    Ok(Json(app.update_organisation(&id, update, &actor).await?).into_response())
}

pub async fn erase_organisation<S: Store>(State(app): App<S>, Admin(actor): Admin, MemberId(id): MemberId) -> Answer {
    app.erase_organisation(&id, &actor).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn lift<S: Store>(State(app): App<S>, Admin(actor): Admin, MemberId(id): MemberId) -> Answer {
    Ok(Json(json!({ "lifted": app.lift(&id, &actor).await? })).into_response())
}

pub async fn verify<S: Store>(State(app): App<S>, Admin(actor): Admin, MemberId(id): MemberId) -> Answer {
    Ok(Json(json!({ "verified": app.verify(&id, &actor).await? })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewLinkBody {
    #[serde(default = "default_link_seconds", deserialize_with = "pacekeeper_engine::whole_number")]
    ttl_seconds: u64,
}

fn default_link_seconds() -> u64 {
    pacekeeper_service::view_link::DEFAULT_LINK_SECONDS
}

pub async fn view_link<S: Store>(
    State(app): App<S>,
    Admin(actor): Admin,
    MemberId(id): MemberId,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let b: ViewLinkBody = parse_json(&headers, body, app.max_body_bytes)?;
    Ok(Json(app.view_link(&id, b.ttl_seconds, &actor).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    at: Option<Timestamp>,
    limit: Option<usize>,
}

pub async fn restrictions<S: Store>(
    State(app): App<S>,
    _: Granted<AdminScope>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = query.map_err(|e| Problem::bad_field("query", e.body_text()))?;
    Ok(Json(app.restricted(q.at, q.limit.unwrap_or(100)).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<usize>,
}

pub async fn audit<S: Store>(
    State(app): App<S>,
    _: Granted<AdminScope>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = query.map_err(|e| Problem::bad_field("limit", e.body_text()))?;
    let entries = app.audit_log(q.limit.unwrap_or(100).min(1000)).await?;
    Ok(Json(json!({ "entries": entries })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditsBody {
    limit: String,
    #[serde(deserialize_with = "pacekeeper_engine::whole_number")]
    amount: u64,
}

pub async fn credits<S: Store>(
    State(app): App<S>,
    Admin(actor): Admin,
    MemberId(id): MemberId,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let b: CreditsBody = parse_json(&headers, body, app.max_body_bytes)?;
    Ok(Json(app.grant_credits(&id, b.limit, b.amount, &actor).await?).into_response())
}

pub async fn erase<S: Store>(State(app): App<S>, Admin(actor): Admin, MemberId(id): MemberId) -> Answer {
    app.erase(&id, &actor).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn policy<S: Store>(State(app): App<S>, _: Granted<AdminScope>) -> Answer {
    Ok(Json(app.policy_info()).into_response())
}

pub async fn stats<S: Store>(
    State(app): App<S>,
    _: Granted<AdminScope>,
    query: Result<Query<AtQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = query.map_err(|e| Problem::bad_field("at", e.body_text()))?;
    match app.stats(q.at).await? {
        Some(s) => Ok(Json(s).into_response()),
        None => Err(Problem::internal("statistics are off on this server")),
    }
}

pub async fn reload<S: Store>(State(app): App<S>, Admin(actor): Admin) -> Answer {
    let p = app.reload_policy_as(&actor).await?;
    Ok(Json(json!({ "reloaded": p.name, "source": app.policy_source })).into_response())
}

pub async fn metrics<S: Store>(State(app): App<S>) -> Response {
    match app.render_metrics().await {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        None => Problem::internal("no metrics recorder is installed").into_response(),
    }
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz<S: Store>(State(app): App<S>) -> Answer {
    app.ready().await?;
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
