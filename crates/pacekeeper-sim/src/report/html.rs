//! `report.html`: one file, the tables and the plots inline, no script and nothing loaded
//! from elsewhere.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Report;
use super::svg::inline;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:1rem auto;padding:0 1rem;color:#1d2327}\
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.3rem .6rem;border-bottom:1px solid #d8dee2;text-align:left}\
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1rem 0}code{font-size:.9em}";

fn headline(r: &Report) -> Markup {
    let pct = |v: f64| format!("{:.2}%", v * 100.0);
    let rows: Vec<(&str, Vec<String>)> = vec![
        ("honest friction (attempts denied)", r.runs.iter().map(|x| pct(x.headline.honest_friction)).collect()),
        (
            "honest members ever denied",
            r.runs.iter().map(|x| x.headline.honest_members_ever_denied.to_string()).collect(),
        ),
        (
            "honest members ever restricted",
            r.runs.iter().map(|x| x.headline.honest_members_ever_restricted.to_string()).collect(),
        ),
        ("honest invitations never sent", r.runs.iter().map(|x| x.headline.honest_never_sent.to_string()).collect()),
        ("spam delivered", r.runs.iter().map(|x| x.headline.spam_delivered.to_string()).collect()),
        (
            "spam delivered per spammer-week",
            r.runs.iter().map(|x| format!("{:.1}", x.headline.spam_delivered_per_spammer_week)).collect(),
        ),
        ("spam attempts stopped", r.runs.iter().map(|x| pct(x.headline.spam_stopped_share)).collect()),
        (
            "unwanted invitations per 1,000 members a week",
            r.runs.iter().map(|x| format!("{:.1}", x.headline.unwanted_per_1000_members_week)).collect(),
        ),
        ("decisions simulated", r.runs.iter().map(|x| x.decisions.to_string()).collect()),
    ];
    html! {
        table id="headline" {
            thead { tr { th {} @for run in &r.runs { th { (run.label) } } } }
            tbody { @for (label, values) in &rows { tr { th scope="row" { (label) } @for v in values { td.num { (v) } } } } }
        }
    }
}

fn populations(r: &Report) -> Markup {
    let base = &r.runs[0];
    html! {
        table id="populations" {
            thead { tr { th { "Population" } th { "Role" } th { "Members" } th { "Attempts" } th { "Sent" } th { "Denied by reason" } th { "Ever restricted" } th { "Restrictions by cause and step" } } }
            tbody { @for p in &base.populations {
                tr { td { (p.name) } td { (format!("{:?}", p.role).to_lowercase()) } td.num { (p.members) } td.num { (p.attempts) } td.num { (p.sent) }
                     td { @for (k, v) in &p.denied_by_reason { (k) " " (v) " " } }
                     td.num { (p.members_ever_restricted) }
                     td { @for (k, v) in &p.restrictions { (k) ": " (v) "; " } } }
            } }
        }
    }
}

fn backtest(r: &Report) -> Markup {
    html! {
        table id="backtest" {
            thead { tr { th { "Policy" } th { "Decisions" } th { "Invitations denied" } th { "Unwanted prevented" } th { "Wanted prevented" }
                th { "Precision" } th { "Unwanted delivered" } th { "Wanted delivered" } th { "Members diverged" } } }
            tbody { @for b in &r.backtest {
                tr { td { (b.label) } td.num { (b.decisions) } td.num { (b.invitations_denied) } td.num { (b.prevented_unwanted) }
                     td.num { (b.prevented_wanted) } td.num { (b.precision.map_or("—".into(), |p| format!("{:.1}%", p * 100.0))) }
                     td.num { (b.delivered_unwanted) } td.num { (b.delivered_wanted) } td.num { (b.diverged_members) } }
            } }
        }
    }
}

pub fn render(r: &Report, plots: &[(&'static str, String)]) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Policy simulation" } style { (PreEscaped(STYLE)) } }
            body {
                h1 { "Policy simulation" }
                @if !r.runs.is_empty() { p { (r.members) " members over " (r.weeks) " weeks from " (r.start) ", seed " (r.seed) "." } }
                table id="policies" {
                    thead { tr { th { "Run" } th { "Policy" } th { "SHA-256" } } }
                    tbody { @for p in &r.policies { tr { td { (p.label) } td { (p.name) } td { code { (p.sha256) } } } } }
                }
                @if r.runs.is_empty() {
                    h2 { "Back-test on " (r.start) }
                    (backtest(r))
                } @else {
                    h2 { "Headline" }
                    (headline(r))
                }
                @for (_, svg) in plots { figure { (inline(svg)) } }
                @if let Some(base) = r.runs.first() {
                    h2 { "Populations (" (base.label) ")" }
                    (populations(r))
                }
                @for c in &r.changes {
                    h2 { "From " (c.from) " to " (c.to) }
                    p { (c.honest_newly_denied) " honest members newly denied, " (c.honest_no_longer_denied) " no longer denied, "
                        (c.honest_newly_restricted) " newly restricted; " (c.spam_newly_restricted) " spammers newly restricted." }
                    table { thead { tr { th { "Member" } th { "Population" } th { "Before" } th { "After" } } }
                        tbody { @for e in &c.examples { tr { td { (e.member) } td { (e.population) } td { (e.before) } td { (e.after) } } } } }
                }
                h2 { "Assumptions and caveats" }
                ul { @for c in &r.caveats { li { (c) } } }
            }
        }
    };
    page.into_string()
}
