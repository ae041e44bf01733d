//! The audit log: every admin action, newest first.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use pacekeeper_store::Store;

use crate::App;
use crate::layout::{Section, service_error, shell};
use crate::session::Operator;

/// Records shown.
const SHOWN: usize = 500;

pub async fn page<S: Store>(State(app): App<S>, op: Operator) -> Response {
    let entries = match app.audit_log(SHOWN).await {
        Ok(e) => e,
        Err(e) => return service_error(&e),
    };
    let body = html! {
        h1 { "Audit log" }
        p.muted { "Every admin action, by the API or these pages, newest first (the latest " (SHOWN) ")." }
        table data-table="audit" {
            thead { tr { th { "When (UTC)" } th { "Who" } th { "Action" } th { "Member" } th { "Why" } th { "Outcome" } } }
            tbody {
                @for e in &entries {
                    tr { td { (e.at.strftime("%Y-%m-%d %H:%M:%S")) } td { (e.who) } td { (e.action) }
                         td { (e.member.as_deref().unwrap_or("")) } td { (e.why) } td { (e.outcome) } }
                }
                @if entries.is_empty() { tr { td colspan="6" { "No admin action yet." } } }
            }
        }
    };
    shell("Audit log", Section::Audit, &op.who, body).into_response()
}
