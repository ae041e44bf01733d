//! `report.md`: the headline table, for a pull request or a terminal.

use std::fmt::Write;

use super::Report;

/// One headline row: a label and a value per run.
fn row(out: &mut String, label: &str, r: &Report, f: impl Fn(&crate::Run) -> String) {
    let _ = write!(out, "| {label} |");
    for run in &r.runs {
        let _ = write!(out, " {} |", f(run));
    }
    out.push('\n');
}

/// The back-test's table.
fn backtest(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Policy back-test\n\nRecorded traffic: {}, {} members.\n", r.start, r.members);
    let _ = writeln!(
        out,
        "| policy | decisions | invitations denied | unwanted prevented | wanted prevented | precision | unwanted delivered | wanted delivered | members diverged |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for b in &r.backtest {
        let precision = b.precision.map_or("—".into(), |p| format!("{:.1}%", p * 100.0));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {precision} | {} | {} | {} |",
            b.label,
            b.decisions,
            b.invitations_denied,
            b.prevented_unwanted,
            b.prevented_wanted,
            b.delivered_unwanted,
            b.delivered_wanted,
            b.diverged_members
        );
    }
    out
}

pub fn render(r: &Report) -> String {
    if r.runs.is_empty() {
        return backtest(r);
    }
    let mut out = String::new();
    let _ = writeln!(out, "# Policy simulation\n");
    let _ = writeln!(
        out,
        "{} members over {} weeks from {}, seed {}; populations: {}.\n",
        r.members,
        r.weeks,
        r.start,
        r.seed,
        r.populations.join(", ")
    );
    let _ = write!(out, "| |");
    for run in &r.runs {
        let _ = write!(out, " {} |", run.label);
    }
    let _ = write!(out, "\n|---|");
    for _ in &r.runs {
        out.push_str("---|");
    }
    out.push('\n');
    let pct = |v: f64| format!("{:.2}%", v * 100.0);
    row(&mut out, "honest friction (attempts denied)", r, |x| pct(x.headline.honest_friction));
    row(&mut out, "honest members ever denied", r, |x| x.headline.honest_members_ever_denied.to_string());
    row(&mut out, "honest members ever restricted", r, |x| x.headline.honest_members_ever_restricted.to_string());
    row(&mut out, "honest invitations never sent", r, |x| x.headline.honest_never_sent.to_string());
    row(&mut out, "p95 extra delay of paced invitations", r, |x| {
        x.headline.paced_delay_p95_seconds.map_or("—".into(), |s| format!("{:.1} h", s as f64 / 3600.0))
    });
    row(&mut out, "spam attempted", r, |x| x.headline.spam_attempted.to_string());
    row(&mut out, "spam delivered", r, |x| x.headline.spam_delivered.to_string());
    row(&mut out, "spam delivered per spammer-week", r, |x| {
        format!("{:.1}", x.headline.spam_delivered_per_spammer_week)
    });
    row(&mut out, "spam attempts stopped", r, |x| pct(x.headline.spam_stopped_share));
    row(&mut out, "unwanted invitations per 1,000 members a week", r, |x| {
        format!("{:.1}", x.headline.unwanted_per_1000_members_week)
    });
    row(&mut out, "median hours to a spammer's first restriction", r, |x| {
        x.headline.median_hours_to_spammer_restriction.map_or("—".into(), |h| format!("{h:.1}"))
    });
    row(&mut out, "decisions simulated", r, |x| x.decisions.to_string());
    for c in &r.changes {
        let _ = writeln!(
            out,
            "\nFrom {} to {}: {} honest members newly denied, {} no longer denied, {} newly restricted; {} spammers newly restricted.",
            c.from,
            c.to,
            c.honest_newly_denied,
            c.honest_no_longer_denied,
            c.honest_newly_restricted,
            c.spam_newly_restricted
        );
    }
    out
}
