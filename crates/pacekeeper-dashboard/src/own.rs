//! A member's own view, opened by a signed link an admin made: their limits (used,
//! remaining, reset) and any restriction, read-only, with no session and no navigation.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use maud::html;
use pacekeeper_store::Store;
use serde::Deserialize;

use crate::App;
use crate::layout::{bare, in_zone, service_error};
use crate::member::{own_limits, policy_zone};

#[derive(Deserialize)]
pub struct Link {
    expires: i64,
    sig: String,
    at: Option<Timestamp>,
}

pub async fn page<S: Store>(State(app): App<S>, Path(id): Path<String>, Query(l): Query<Link>) -> Response {
    let member = match app.own_view(&id, l.expires, &l.sig, l.at).await {
        Ok(m) => m,
        Err(e) => return service_error(&e),
    };
    let zone = policy_zone(&app);
    let now = l.at.unwrap_or_else(|| app.clock.now());
    let expires = Timestamp::from_second(l.expires).unwrap_or(now);
    let body = html! {
        h1 { "Your limits" }
        p.muted { "Account " code { (member.member) } " · tier " (member.view.tier) " · as of " (in_zone(now, &zone))
            ". This page is yours alone and works until " (in_zone(expires, &zone)) "." }
        (own_limits(&member, &zone, now))
    };
    bare("Your limits", body).into_response()
}
