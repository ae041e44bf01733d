//! One member: a bar per limit (used of amount, remaining, reset as a countdown and as a time
//! in the policy's zone), reputation, restrictions and their history, pair cooldowns, a "what
//! if" dry run of any action, and the admin actions.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use pacekeeper_engine::{DecideRequest, Decision, LimitStatus, MemberView, policy_summary};
use pacekeeper_service::view_link::percent_encode;
use pacekeeper_service::{MemberAnswer, Service};
use pacekeeper_store::Store;
use serde::Deserialize;

use crate::App;
use crate::actions::admin_forms;
use crate::chart::{reason_colour, swatch, usage_bar};
use crate::layout::{Section, countdown, in_zone, service_error, shell};
use crate::session::Operator;

#[derive(Deserialize)]
pub struct MemberQuery {
    at: Option<Timestamp>,
    /// A dry run of this action.
    whatif: Option<String>,
    target: Option<String>,
    /// The admin action just done, to confirm it.
    done: Option<String>,
    /// A member link just made.
    link: Option<String>,
}

pub async fn page<S: Store>(
    State(app): App<S>,
    op: Operator,
    Path(id): Path<String>,
    Query(q): Query<MemberQuery>,
) -> Response {
    let member = match app.member(&id, q.at).await {
        Ok(m) => m,
        Err(e) => return service_error(&e),
    };
    let whatif = match q.whatif.as_deref().filter(|a| !a.is_empty()) {
        Some(action) => Some(dry_run(&app, &id, action, q.target.as_deref(), q.at).await),
        None => None,
    };
    let zone = policy_zone(&app);
    let now = q.at.unwrap_or_else(|| app.clock.now());
    let policy = app.policy();
    let body = html! {
        h1 { "Member " code { (member.member) } }
        @if let Some(done) = q.done.as_deref().and_then(done_message) { p.notice role="status" { (done) } }
        @if let Some(link) = &q.link { p.notice role="status" { "Link made (send it to the member): " a.own-link href=(link) { (link) } } }
        p { "Tier " strong data-field="tier" { (member.view.tier) }
            @if let Some(org) = &member.view.organisation { " · organisation " strong data-field="organisation" { (org) } }
            " · offences on the ladder " strong { (member.view.offences) }
            " · targets under a cooldown " strong data-field="cooldowns" { (member.view.cooldowns) } }
        h2 { "Limits" }
        (limits_table(&member.view.limits, &zone))
        (restrictions(&member.view, &zone, now))
        (reputation(&member.view))
        h2 { "What if" }
        form.whatif method="get" action={"/ui/members/" (percent_encode(&id))} {
            @if let Some(at) = q.at { input type="hidden" name="at" value=(at); }
            label { "Action " select name="whatif" { @for a in policy.action_names() { option value=(a) selected[q.whatif.as_deref() == Some(a)] { (a) } } } }
            label { "Target " input type="text" name="target" value=[q.target.as_deref()]; }
            button type="submit" { "Dry run" }
        }
        @if let Some(w) = whatif { (w) }
        (admin_forms(&member, policy.tiers(), &policy_summary(&policy)))
    };
    shell(&format!("Member {id}"), Section::Members, &op.who, body).into_response()
}

/// The zone reset times are shown in.
pub fn policy_zone<S: Store>(app: &Service<S>) -> TimeZone {
    TimeZone::get(&policy_summary(&app.policy()).zone).unwrap_or(TimeZone::UTC)
}

fn done_message(op: &str) -> Option<&'static str> {
    Some(match op {
        "lift" => "Restrictions lifted.",
        "verify" => "Verification recorded.",
        "tier" => "Tier set.",
        "credits" => "Credits granted.",
        _ => return None,
    })
}

/// One bar per limit, with remaining and reset.
pub fn limits_table(limits: &[LimitStatus], zone: &TimeZone) -> Markup {
    html! {
        table.limits data-table="limits" {
            thead { tr { th { "Limit" } th { "Used" } th {} th { "Remaining" } th { "Resets in" } th { "Resets at" } } }
            tbody {
                @for l in limits {
                    tr data-limit=(l.name) {
                        th scope="row" { (l.name) span.kind { " " (l.kind) } }
                        td.num { span.used { (l.used) } " of " span.amount { (amount(l.amount)) } }
                        td { (usage_bar(l.used, l.amount)) }
                        td.num.remaining { (amount(l.remaining)) }
                        td { @if let Some(s) = l.reset_after { span data-countdown=(s) { (countdown(s)) } } @else { "—" } }
                        td.resets { @if let Some(t) = l.resets_at { time datetime=(t) { (in_zone(t, zone)) } } @else { "—" } }
                    }
                }
            }
        }
    }
}

fn amount(n: u64) -> String {
    if n == pacekeeper_engine::UNLIMITED { "unlimited".into() } else { n.to_string() }
}

fn restrictions(v: &MemberView, zone: &TimeZone, now: Timestamp) -> Markup {
    html! {
        h2 { "Restrictions" }
        table data-table="restrictions" {
            thead { tr { th { "Penalty" } th { "Cause" } th { "Blocks" } th { "Since" } th { "Ends" } } }
            tbody {
                @for r in &v.restrictions {
                    tr { td { (r.penalty) } td { (r.cause) } td { (r.blocks.join(", ")) } td { (in_zone(r.since, zone)) }
                         td { @match r.until {
                             Some(t) => { (in_zone(t, zone)) " (in " span data-countdown=(t.duration_since(now).as_secs().max(0)) { (countdown(t.duration_since(now).as_secs().max(0) as u64)) } ")" }
                             None => { "when verified" }
                         } } }
                }
                @if v.restrictions.is_empty() { tr { td colspan="5" { "None active." } } }
            }
        }
        details open[!v.history.is_empty()] {
            summary { "History (" (v.history.len()) ")" }
            table data-table="history" {
                thead { tr { th { "Penalty" } th { "Since" } th { "Ended" } th { "How" } } }
                tbody { @for h in v.history.iter().rev() {
                    tr { td { (h.penalty) } td { (in_zone(h.since, zone)) } td { (in_zone(h.ended, zone)) } td { (format!("{:?}", h.ending).to_lowercase()) } }
                } }
            }
        }
    }
}

fn reputation(v: &MemberView) -> Markup {
    let r = &v.reputation;
    let level = format!("{:?}", r.level).to_lowercase();
    html! {
        h2 { "Reputation" }
        p { "Level " strong data-field="reputation" { (level) } ": amounts that depend on reputation use this level's figures (see the policy page)." }
        table data-table="reputation" {
            thead { tr { th { "Sent" } th { "Accepted" } th { "Ignored" } th { "Declined" } th { "\"I don't know\"" } th { "Spam" } th { "Withdrawn" } } }
            tbody { tr { @for n in [r.sent, r.accepted, r.ignored, r.declined, r.reported_unknown, r.reported_spam, r.withdrawn] { td.num { (n) } } } }
        }
    }
}

async fn dry_run<S: Store>(
    app: &Service<S>,
    id: &str,
    action: &str,
    target: Option<&str>,
    at: Option<Timestamp>,
) -> Markup {
    let req = DecideRequest {
        member: id.into(),
        action: action.into(),
        target: target.filter(|t| !t.is_empty()).map(String::from),
        dry_run: true,
        at,
        ..Default::default()
    };
    match app.decide(req).await {
        Ok(d) => decision(&d),
        Err(e) => html! { p.error role="alert" { (e) } },
    }
}

fn decision(d: &Decision) -> Markup {
    let reason = d.reason.as_str();
    html! {
        div.decision data-allowed=(d.allowed) {
            p { (swatch(reason_colour(reason))) " " strong { @if d.allowed { "Allowed" } @else { "Denied" } } " — " (reason)
                @if let Some(s) = d.retry_after { " · retry in " (countdown(s)) } }
            @if !d.message.is_empty() { p { (d.message) } }
            @if let Some(l) = &d.limit { p { "Limit: " (l) } }
        }
    }
}

/// The member's view as one block (for the member's own page too).
pub fn own_limits(member: &MemberAnswer, zone: &TimeZone, now: Timestamp) -> Markup {
    html! {
        (limits_table(&member.view.limits, zone))
        @if !member.view.restrictions.is_empty() { (restrictions(&member.view, zone, now)) }
    }
}
