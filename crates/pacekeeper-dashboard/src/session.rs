//! Operators' sessions: a login form takes an admin token and sets a signed session cookie
//! (HttpOnly, SameSite=Strict, path `/ui`) naming the token, never holding it. Every page for
//! operators takes an [`Operator`]; every state-changing request is checked by
//! [`refuse_foreign`].

use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequestParts, OriginalUri, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::SignedDuration;
use maud::html;
use pacekeeper_service::{Scope, Service};
use pacekeeper_store::Store;
use serde::Deserialize;

use crate::App;
use crate::layout::{bare, problem_page};

const COOKIE: &str = "pk_session";
const PURPOSE: &str = "dashboard-session";
/// How long a session lasts.
const SESSION_HOURS: i64 = 8;

/// An operator signed in with an admin token: the token's name.
pub struct Operator {
    pub who: String,
}

impl<S: Store> FromRequestParts<Arc<Service<S>>> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service<S>>) -> Result<Self, Response> {
        // Inside `/ui` the router sees the path without it; the original URI has it.
        let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
        let next = uri.path_and_query().map_or("/ui", |p| p.as_str()).to_string();
        let to_login =
            || Redirect::to(&format!("/ui/login?next={}", pacekeeper_service::view_link::percent_encode(&next)));
        let Some(value) = cookie(&parts.headers, COOKIE) else { return Err(to_login().into_response()) };
        match check(service, value) {
            Some(who) => Ok(Operator { who }),
            None => Err(to_login().into_response()),
        }
    }
}

/// The session's token name, if the cookie is genuine, unexpired, and its token still
/// configured.
fn check<S: Store>(service: &Service<S>, value: &str) -> Option<String> {
    let mut parts = value.split('.');
    let (who, expires, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let who = String::from_utf8(hex::decode(who).ok()?).ok()?;
    let expires: i64 = expires.parse().ok()?;
    let now = service.clock.now().as_second();
    service.signer.check(PURPOSE, &who, expires, sig, now).ok()?;
    service.tokens.admin_named(&who).then_some(who)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The refusal of a state-changing request whose `Origin` is not this server (or is absent),
/// so that no other site can make a signed-in browser act; `None` for one from this server.
pub fn refuse_foreign(headers: &HeaderMap) -> Option<Response> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    let origin_host = origin.and_then(|o| o.split_once("://")).map(|(_, rest)| rest);
    match (host, origin_host) {
        (Some(h), Some(o)) if h.eq_ignore_ascii_case(o) => None,
        _ => Some(problem_page(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form must be sent from this server's own pages (the Origin header does not match).",
        )),
    }
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only paths under `/ui` are followed after a login.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with("/ui") && !n.starts_with("//") && !n.contains('\\')).unwrap_or("/ui")
}

pub async fn login_form(Query(q): Query<Next>) -> Response {
    form(safe_next(q.next.as_deref()), None, StatusCode::OK)
}

fn form(next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let body = html! {
        h1 { "Pacekeeper" }
        p { "Sign in with an admin token (" code { "PACEKEEPER_ADMIN_TOKEN" } " or a " code { "[[token]]" } " with scope admin)." }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form method="post" action="/ui/login" {
            input type="hidden" name="next" value=(next);
            label { "Admin token " input type="password" name="token" autocomplete="current-password" required autofocus; }
            button type="submit" { "Sign in" }
        }
    };
    (status, bare("Sign in", body)).into_response()
}

#[derive(Deserialize)]
pub struct Login {
    token: String,
    next: Option<String>,
}

pub async fn login<S: Store>(axum::extract::State(app): App<S>, headers: HeaderMap, Form(f): Form<Login>) -> Response {
    if let Some(r) = refuse_foreign(&headers) {
        return r;
    }
    let next = safe_next(f.next.as_deref()).to_string();
    let who = match app.tokens.identify_secret(Some(f.token.trim()), Scope::Admin) {
        Ok(who) => who.to_string(),
        Err(e) => return form(&next, Some(&e.to_string()), StatusCode::UNAUTHORIZED),
    };
    let expires = (app.clock.now() + SignedDuration::from_hours(SESSION_HOURS)).as_second();
    let sig = app.signer.sign(PURPOSE, &who, expires);
    let secure = headers.get("x-forwarded-proto").is_some_and(|p| p.as_bytes() == b"https");
    let cookie = format!(
        "{COOKIE}={}.{expires}.{sig}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{}",
        hex::encode(&who),
        SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

pub async fn logout<S: Store>(_: App<S>, headers: HeaderMap) -> Response {
    if let Some(r) = refuse_foreign(&headers) {
        return r;
    }
    let clear = format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, clear)], Redirect::to("/ui/login")).into_response()
}
