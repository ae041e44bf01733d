//! The policy in force: every limit per tier and reputation level, its window and zone, the
//! penalties and the escalation ladder, the policy's hash and when it was loaded.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use pacekeeper_engine::policy_summary;
use pacekeeper_store::Store;

use crate::App;
use crate::layout::{Section, shell};
use crate::session::Operator;

pub async fn page<S: Store>(State(app): App<S>, op: Operator) -> Response {
    let info = app.policy_info();
    let s = policy_summary(&app.policy());
    let body = html! {
        h1 { "Policy " code { (info.name) } }
        p { (info.description) }
        p.muted { "From " code { (info.source) } " · loaded " time datetime=(info.loaded_at) { (info.loaded_at.strftime("%Y-%m-%d %H:%M:%S UTC")) }
            " · SHA-256 " code data-field="sha256" { (info.sha256) } " · default tier " (info.default_tier)
            " · reset times shown in " (s.zone) " · warnings at " (format!("{:.0}%", s.warning_threshold * 100.0)) " of a limit" }
        h2 { "Limits" }
        table data-table="policy-limits" {
            thead { tr { th { "Limit" } th { "Window" } th { "Counts" }
                @for t in &info.tiers { th { (t) } } th { "By reputation" } th { "Penalty" } } }
            tbody { @for l in &s.limits {
                tr { th scope="row" { (l.name) }
                    td { (l.window) @if l.enforce_percent < 100 { " · enforced for " (l.enforce_percent) " % of members" }
                        @if l.scope == pacekeeper_engine::Scope::Organisation { " · per organisation (its members together)" } }
                    td { (l.actions.join(", ")) }
                    @for (_, a) in &l.by_tier { td.num { @match a { Some(n) => (n), None => "unlimited" } } }
                    td { @for (level, n) in &l.by_reputation { (level) " " (n) " " } }
                    td { (l.penalty.as_deref().unwrap_or("")) } }
            } }
        }
        h2 { "Penalties" }
        table data-table="policy-penalties" {
            thead { tr { th { "Penalty" } th { "Kind" } th { "Blocks" } th { "Duration" } } }
            tbody { @for p in &s.penalties {
                tr { td { (p.name) } td { (p.kind) }
                     td { @if p.blocks.is_empty() { "the limit's own actions" } @else { (p.blocks.join(", ")) } }
                     td { (p.durations.join("; ")) } }
            } }
        }
        @if !s.ladder.is_empty() { h2 { "Escalation ladder" } ol { @for step in &s.ladder { li { (step) } } } }
        details { summary { "The policy's TOML" } pre { (info.toml) } }
    };
    shell("Policy", Section::Policy, &op.who, body).into_response()
}
