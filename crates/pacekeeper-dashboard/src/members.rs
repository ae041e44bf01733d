//! Members: find one by id, and every restricted member, soonest end first, with the cause
//! and the step on the escalation ladder.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::html;
use pacekeeper_service::view_link::percent_encode;
use pacekeeper_store::Store;
use serde::Deserialize;

use crate::App;
use crate::layout::{Section, at_query, countdown, service_error, shell};
use crate::session::Operator;

/// Restricted members listed at most.
const LISTED: usize = 200;

#[derive(Deserialize)]
pub struct MembersQuery {
    q: Option<String>,
    at: Option<Timestamp>,
}

pub async fn page<S: Store>(State(app): App<S>, op: Operator, Query(q): Query<MembersQuery>) -> Response {
    if let Some(id) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        return Redirect::to(&format!("/ui/members/{}{}", percent_encode(id), at_query(q.at))).into_response();
    }
    let list = match app.restricted(q.at, LISTED).await {
        Ok(l) => l,
        Err(e) => return service_error(&e),
    };
    let now = q.at.unwrap_or_else(|| app.clock.now());
    let body = html! {
        h1 { "Members" }
        form.search method="get" action="/ui/members" {
            label { "Member id " input type="search" name="q" required; }
            @if let Some(at) = q.at { input type="hidden" name="at" value=(at); }
            button type="submit" { "Open" }
        }
        h2 { "Restricted now (" span data-count="restricted" { (list.total) } ")" }
        @if list.total as usize > list.members.len() { p.muted { "The " (list.members.len()) " ending soonest are shown." } }
        table data-table="restricted" {
            thead { tr { th { "Member" } th { "Penalty" } th { "Cause" } th { "Ladder step" } th { "Ends" } } }
            tbody {
                @for m in &list.members {
                    tr {
                        td { a href={"/ui/members/" (percent_encode(&m.member)) (at_query(q.at))} { (m.member) } }
                        td { (m.penalty) } td { (m.cause) } td.num { (m.step) }
                        td { @match m.until {
                            Some(t) => { time datetime=(t) data-countdown=(t.duration_since(now).as_secs().max(0)) { (countdown(t.duration_since(now).as_secs().max(0) as u64)) } }
                            None => { "when verified" }
                        } }
                    }
                }
                @if list.members.is_empty() { tr { td colspan="5" { "Nobody is restricted." } } }
            }
        }
    };
    shell("Members", Section::Members, &op.who, body).into_response()
}
