//! The admin actions of the member page: lift, verify, tier, credits, member link and erase.
//! Each is a form posted to `/ui/members/{id}/{op}` with a reason; the service carries it
//! out and records it in the audit log under the signed-in token's name.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pacekeeper_engine::{MemberUpdate, PolicySummary};
use pacekeeper_service::view_link::{DEFAULT_LINK_SECONDS, percent_encode};
use pacekeeper_service::{Actor, MemberAnswer, ServiceError};
use pacekeeper_store::Store;

use crate::App;
use crate::layout::{problem_page, service_error};
use crate::session::{Operator, refuse_foreign};

pub async fn act<S: Store>(
    State(app): App<S>,
    op: Operator,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse_foreign(&headers) {
        return r;
    }
    let field = |k: &str| f.get(k).map(|s| s.trim()).unwrap_or_default();
    let actor = Actor::new(op.who, field("why"));
    if actor.why.is_empty() {
        return problem_page(StatusCode::BAD_REQUEST, "A reason is needed", "why: say why, for the audit log.");
    }
    let back = format!("/ui/members/{}", percent_encode(&id));
    let done = |what: &str| Redirect::to(&format!("{back}?done={what}")).into_response();
    let result: Result<Response, ServiceError> = match action.as_str() {
        "lift" => app.lift(&id, &actor).await.map(|_| done("lift")),
        "verify" => app.verify(&id, &actor).await.map(|_| done("verify")),
        "tier" => {
            let update = MemberUpdate { tier: Some(field("tier").to_string()), ..Default::default() };
            app.update_member(&id, update, &actor).await.map(|_| done("tier"))
        }
        "credits" => match field("amount").parse::<u64>() {
            Ok(n) => app.grant_credits(&id, field("limit").to_string(), n, &actor).await.map(|_| done("credits")),
            Err(_) => {
                return problem_page(
                    StatusCode::BAD_REQUEST,
                    "Not a number",
                    "amount: write a whole number, 1 or more.",
                );
            }
        },
        "view-link" => app
            .view_link(&id, DEFAULT_LINK_SECONDS, &actor)
            .await
            .map(|l| Redirect::to(&format!("{back}?link={}", percent_encode(&l.path))).into_response()),
        "erase" if field("confirm") != id => {
            return problem_page(
                StatusCode::BAD_REQUEST,
                "Not erased",
                "confirm: type the member's id exactly to erase them.",
            );
        }
        "erase" => app.erase(&id, &actor).await.map(|()| Redirect::to("/ui/members").into_response()),
        _ => {
            return problem_page(
                StatusCode::NOT_FOUND,
                "No such action",
                "The actions are lift, verify, tier, credits, view-link and erase.",
            );
        }
    };
    result.unwrap_or_else(|e| service_error(&e))
}

fn why() -> Markup {
    html! { label { "Why " input type="text" name="why" required maxlength="500" placeholder="for the audit log"; } }
}

/// The admin forms of a member's page.
pub fn admin_forms(member: &MemberAnswer, tiers: &[String], policy: &PolicySummary) -> Markup {
    let base = format!("/ui/members/{}", percent_encode(&member.member));
    let credits: Vec<&str> = policy.limits.iter().filter(|l| l.kind == "credits").map(|l| l.name.as_str()).collect();
    html! {
        h2 { "Admin" }
        div.admin {
            form method="post" action={(base) "/lift"} data-action="lift" {
                (why()) button type="submit" { "Lift restrictions" }
            }
            form method="post" action={(base) "/verify"} data-action="verify" {
                (why()) button type="submit" { "Record verification" }
            }
            form method="post" action={(base) "/tier"} data-action="tier" {
                label { "Tier " select name="tier" { @for t in tiers { option value=(t) selected[*t == member.view.tier] { (t) } } } }
                (why()) button type="submit" { "Set tier" }
            }
            @if !credits.is_empty() {
                form method="post" action={(base) "/credits"} data-action="credits" {
                    label { "Credits " select name="limit" { @for c in &credits { option value=(c) { (c) } } } }
                    label { "Amount " input type="number" name="amount" min="1" required; }
                    (why()) button type="submit" { "Grant" }
                }
            }
            form method="post" action={(base) "/view-link"} data-action="view-link" {
                (why()) button type="submit" { "Make the member's own link" }
            }
            form.danger method="post" action={(base) "/erase"} data-action="erase" {
                label { "Type " code { (member.member) } " to erase every record of this member " input type="text" name="confirm" required autocomplete="off"; }
                (why()) button type="submit" { "Erase" }
            }
        }
    }
}
