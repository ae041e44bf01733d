//! The report of a simulation: `report.json` (every number), `report.md` (the headline table,
//! for a pull request), `report.html` (one file: the tables and inline SVG plots, no script)
//! and `svg/*.svg`.

mod html;
mod markdown;
pub mod svg;

pub use markdown::render as markdown;

use std::path::Path;

use serde::Serialize;

use crate::backtest::Backtest;
use crate::{MemberOutcome, Role, Run, Scenario};

/// How many examples of changed members a comparison shows.
pub const EXAMPLES: usize = 5;

/// A policy as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRef {
    pub label: String,
    pub name: String,
    pub sha256: String,
}

impl PolicyRef {
    /// Names `policy` under `label`, with the SHA-256 of its TOML.
    pub fn of(label: &str, policy: &pacekeeper_engine::Policy) -> PolicyRef {
        let sha = <sha2::Sha256 as sha2::Digest>::digest(policy.source.as_bytes());
        PolicyRef { label: label.into(), name: policy.name.clone(), sha256: hex::encode(sha) }
    }
}

/// Members whose outcome changed from the baseline to another run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changes {
    pub from: String,
    pub to: String,
    pub honest_newly_denied: u64,
    pub honest_no_longer_denied: u64,
    pub honest_newly_restricted: u64,
    pub spam_newly_restricted: u64,
    pub examples: Vec<Example>,
}

/// One changed member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub member: String,
    pub population: String,
    pub before: String,
    pub after: String,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub seed: u64,
    pub members: usize,
    pub weeks: u32,
    pub start: String,
    pub populations: Vec<String>,
    pub policies: Vec<PolicyRef>,
    pub runs: Vec<Run>,
    pub changes: Vec<Changes>,
    /// A back-test on recorded traffic (`--traffic`), one entry per policy; empty when
    /// populations were simulated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backtest: Vec<Backtest>,
    /// What the simulation leaves out.
    pub caveats: Vec<&'static str>,
}

const CAVEATS: &[&str] = &[
    "Recipients' answers are drawn per invitation from the population's shares; a recipient answers the same whatever else the policy lets through.",
    "Unwanted invitations are counted per 1,000 members of the simulated network, who are also its recipients.",
    "Members do not change their behaviour between weeks beyond what their client does with each answer.",
    "Withdrawals are modelled only for low-and-slow spammers; other ignored invitations expire after three weeks.",
];

const BACKTEST_CAVEATS: &[&str] = &[
    "Labels are the recorded outcome events: \"I don't know\" and spam reports are unwanted, acceptances wanted; invitations never answered carry no label.",
    "When a policy denies a recorded invitation, its later outcome events are dropped; the member's later requests are replayed as recorded, although they might have acted otherwise: those members are counted as diverged.",
];

fn outcome_text(m: &MemberOutcome) -> String {
    match (&m.first_denial, m.restricted) {
        (None, _) => "never denied".into(),
        (Some(msg), true) => format!("{} denials, restricted; first: {msg}", m.denials),
        (Some(msg), false) => format!("{} denials; first: {msg}", m.denials),
    }
}

/// What changed for members from `a` to `b` (the same members, in the same order).
pub fn changes(a: &Run, b: &Run) -> Changes {
    let pairs: Vec<(&MemberOutcome, &MemberOutcome)> = a.members.iter().zip(&b.members).collect();
    let count =
        |f: &dyn Fn(&MemberOutcome, &MemberOutcome) -> bool| pairs.iter().filter(|(x, y)| f(x, y)).count() as u64;
    let honest = |m: &MemberOutcome| m.role == Role::Honest;
    let changed =
        |x: &MemberOutcome, y: &MemberOutcome| (x.denials == 0) != (y.denials == 0) || x.restricted != y.restricted;
    let examples = pairs
        .iter()
        .filter(|(x, y)| changed(x, y))
        .take(EXAMPLES)
        .map(|(x, y)| Example {
            member: x.member.clone(),
            population: x.population.clone(),
            before: outcome_text(x),
            after: outcome_text(y),
        })
        .collect();
    Changes {
        from: a.label.clone(),
        to: b.label.clone(),
        honest_newly_denied: count(&|x, y| honest(x) && x.denials == 0 && y.denials > 0),
        honest_no_longer_denied: count(&|x, y| honest(x) && x.denials > 0 && y.denials == 0),
        honest_newly_restricted: count(&|x, y| honest(x) && !x.restricted && y.restricted),
        spam_newly_restricted: count(&|x, y| !honest(x) && !x.restricted && y.restricted),
        examples,
    }
}

impl Report {
    /// The report over `runs` (the first is the baseline) of one scenario.
    pub fn new(sc: &Scenario, policies: Vec<PolicyRef>, runs: Vec<Run>) -> Report {
        let changes = runs.iter().skip(1).map(|r| changes(&runs[0], r)).collect();
        Report {
            seed: sc.seed,
            members: sc.members,
            weeks: sc.weeks,
            start: sc.start.to_string(),
            populations: sc.populations.iter().map(|p| p.name.clone()).collect(),
            policies,
            runs,
            changes,
            backtest: Vec::new(),
            caveats: CAVEATS.to_vec(),
        }
    }

    /// The report of a back-test on recorded traffic of `lines` lines.
    pub fn of_backtest(source: &str, lines: usize, policies: Vec<PolicyRef>, backtest: Vec<Backtest>) -> Report {
        Report {
            seed: 0,
            members: backtest.first().map_or(0, |b| b.members as usize),
            weeks: 0,
            start: format!("{source} ({lines} lines)"),
            populations: Vec::new(),
            policies,
            runs: Vec::new(),
            changes: Vec::new(),
            backtest,
            caveats: BACKTEST_CAVEATS.to_vec(),
        }
    }

    /// The plots, by file name.
    pub fn plots(&self) -> Vec<(&'static str, String)> {
        plots(self)
    }

    /// Writes `report.json`, `report.md`, `report.html` and `svg/*.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("svg"))?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json + "\n")?;
        std::fs::write(dir.join("report.md"), markdown::render(self))?;
        let plots = self.plots();
        for (name, svg) in &plots {
            std::fs::write(dir.join("svg").join(name), svg)?;
        }
        std::fs::write(dir.join("report.html"), html::render(self, &plots))
    }
}

fn weeks(n: usize) -> Vec<String> {
    (1..=n).map(|w| format!("week {w}")).collect()
}

fn plots(r: &Report) -> Vec<(&'static str, String)> {
    if r.runs.is_empty() {
        let points: Vec<(String, f64, f64)> = r
            .backtest
            .iter()
            .map(|b| {
                let wanted = b.prevented_wanted + b.delivered_wanted;
                let lost = if wanted == 0 { 0.0 } else { b.prevented_wanted as f64 / wanted as f64 };
                (b.label.clone(), lost, b.delivered_unwanted as f64)
            })
            .collect();
        let title = "Wanted invitations lost against unwanted ones delivered";
        return vec![(
            "tradeoff.svg",
            svg::tradeoff(title, "accepted invitations denied", "unwanted invitations delivered", &points),
        )];
    }
    use svg::Series;
    let base = &r.runs[0];
    let points: Vec<(String, f64, f64)> = r
        .runs
        .iter()
        .map(|run| (run.label.clone(), run.headline.honest_friction, run.headline.spam_delivered_per_spammer_week))
        .collect();
    let by_pop = |f: &dyn Fn(&crate::PopSummary) -> Vec<f64>| -> Vec<Series> {
        base.populations.iter().map(|p| Series { name: p.name.clone(), values: f(p) }).collect()
    };
    let mut sent = by_pop(&|p| p.weekly_sent.iter().map(|v| *v as f64).collect());
    sent.push(Series {
        name: "denied".into(),
        values: (0..r.weeks as usize)
            .map(|w| base.populations.iter().map(|p| p.weekly_denied[w] as f64).sum())
            .collect(),
    });
    let days: Vec<String> = (1..=r.weeks as usize * 7).map(|d| format!("day {d}")).collect();
    let honest: Vec<Series> = base
        .populations
        .iter()
        .filter(|p| p.role == Role::Honest)
        .map(|p| Series { name: p.name.clone(), values: cdf(&p.per_member_week) })
        .collect();
    let mut marks: Vec<f64> =
        base.populations.iter().flat_map(|p| p.weekly_amount_median.iter().map(|v| *v as f64)).collect();
    marks.sort_by(f64::total_cmp);
    marks.dedup();
    let marks: Vec<(f64, String)> = marks.iter().take(4).map(|v| (*v, format!("amount {v}"))).collect();
    vec![
        (
            "tradeoff.svg",
            svg::tradeoff(
                "Honest friction against spam delivered",
                "honest attempts denied",
                "spam delivered per spammer-week",
                &points,
            ),
        ),
        (
            "weekly.svg",
            svg::stacked(
                &format!("Invitations sent per week by population, and denials ({})", base.label),
                "week",
                "invitations",
                &weeks(r.weeks as usize),
                &sent,
            ),
        ),
        (
            "honest-weekly-cdf.svg",
            svg::lines(
                "Invitations a week per honest member (share of member-weeks at or below)",
                "invitations sent in a week (0 to 400)",
                "share of member-weeks",
                &cdf_labels(),
                &honest,
                &[],
            ),
        ),
        (
            "restrictions.svg",
            svg::lines(
                "Members restricted at each day's end",
                "day",
                "members",
                &days,
                &by_pop(&|p| p.daily_restricted.iter().map(|v| *v as f64).collect()),
                &[],
            ),
        ),
        (
            "weekly-amount.svg",
            svg::lines(
                "Median weekly invitation amount in force",
                "week",
                "invitations a week",
                &weeks(r.weeks as usize),
                &by_pop(&|p| p.weekly_amount_median.iter().map(|v| *v as f64).collect()),
                &marks,
            ),
        ),
    ]
}

/// The CDF of a histogram, sampled every 10 invitations from 0 to 400.
fn cdf(hist: &[u64]) -> Vec<f64> {
    let total: u64 = hist.iter().sum();
    (0..=40)
        .map(|k| {
            let upto: u64 = hist.iter().take(k * 10 + 1).sum();
            if total == 0 { 0.0 } else { upto as f64 / total as f64 }
        })
        .collect()
}

fn cdf_labels() -> Vec<String> {
    (0..=40).map(|k| (k * 10).to_string()).collect()
}
