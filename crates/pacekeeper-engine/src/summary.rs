//! The policy in words and numbers, for people: every limit's window, zone, actions and
//! amount per tier and reputation level; the penalties and the escalation ladder. The
//! dashboard's policy page shows it.

use serde::Serialize;

use crate::policy::{Every, PenaltyKind, Policy, Window};

/// One limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitSummary {
    /// Its name.
    pub name: String,
    /// Its window kind.
    pub kind: &'static str,
    /// The window in words (`7 days from the first use`, `every Monday 00:01 America/Los_Angeles`).
    pub window: String,
    /// The actions it counts.
    pub actions: Vec<String>,
    /// The amount for each tier, in the policy's tier order (`None`: unlimited).
    pub by_tier: Vec<(String, Option<u64>)>,
    /// The amount by reputation level (poor, normal, good) where reputation sets it.
    pub by_reputation: Vec<(&'static str, u64)>,
    /// The penalty it imposes when exceeded.
    pub penalty: Option<String>,
    /// The share of members it denies (100: all).
    pub enforce_percent: u8,
    /// Whom it counts: each member, or each organisation.
    pub scope: crate::policy::Scope,
}

/// One penalty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PenaltySummary {
    /// Its name.
    pub name: String,
    /// overage, escalation, verification or challenge.
    pub kind: String,
    /// What it blocks (empty: the actions of the limit that triggered it).
    pub blocks: Vec<String>,
    /// How long it lasts, in words (overage bands, the escalation ladder).
    pub durations: Vec<String>,
}

/// The policy for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicySummary {
    /// Limits, in policy order.
    pub limits: Vec<LimitSummary>,
    /// Penalties.
    pub penalties: Vec<PenaltySummary>,
    /// The escalation ladder's steps, in words.
    pub ladder: Vec<String>,
    /// Share of a limit used at which a decision warns.
    pub warning_threshold: f64,
    /// The zone of the policy's calendar windows (the first one's), `UTC` with none: the
    /// zone reset times are shown in.
    pub zone: String,
}

/// A duration in milliseconds as words (`2 weeks`, `36 hours`, `90 s`).
pub fn duration_words(ms: i64) -> String {
    let s = ms / 1000;
    let units = [(7 * 86_400, "week"), (86_400, "day"), (3_600, "hour"), (60, "minute")];
    for (n, unit) in units {
        if s >= n && s % n == 0 {
            let k = s / n;
            return format!("{k} {unit}{}", if k == 1 { "" } else { "s" });
        }
    }
    format!("{s} s")
}

fn window_words(w: &Window) -> String {
    let calendar = |c: &crate::policy::Calendar| {
        let every = match c.every {
            Every::Day => "every day".to_string(),
            Every::Week(d) => format!("every {d:?}"),
            Every::Month(d) => format!("every month on day {d}"),
        };
        format!("{every} at {} {}", c.at.strftime("%H:%M"), c.zone.iana_name().unwrap_or("UTC"))
    };
    match w {
        Window::Anchored { period } => format!("{} from the first use", duration_words(*period)),
        Window::Calendar(c) => format!("resets {}", calendar(c)),
        Window::Sliding { period, .. } => format!("any {}", duration_words(*period)),
        Window::Rate { period, burst } => format!("one per {} (burst {burst})", duration_words(*period)),
        Window::Cap { .. } => "a cap: never resets by itself".into(),
        Window::Credits(c) => format!("credits granted {}", calendar(c)),
    }
}

/// Summarises `policy`.
pub fn policy_summary(policy: &Policy) -> PolicySummary {
    let action = |i: &usize| policy.actions[*i].name.to_string();
    let limits = policy
        .limits
        .iter()
        .map(|l| LimitSummary {
            name: l.name.to_string(),
            kind: l.window.kind(),
            window: window_words(&l.window),
            actions: l.actions.iter().map(action).collect(),
            by_tier: policy
                .tiers
                .iter()
                .zip(&l.amount.tiers)
                .map(|(t, a)| (t.clone(), Some(a.unwrap_or(l.amount.base)).filter(|&n| n != crate::UNLIMITED)))
                .collect(),
            by_reputation: ["poor", "normal", "good"]
                .into_iter()
                .zip(l.amount.reputation)
                .filter_map(|(level, a)| Some((level, a?)))
                .collect(),
            penalty: l.penalty.map(|p| policy.penalties[p].name.to_string()),
            enforce_percent: l.enforce_percent,
            scope: l.scope,
        })
        .collect();
    let penalties = policy
        .penalties
        .iter()
        .map(|p| PenaltySummary {
            name: p.name.to_string(),
            kind: format!("{:?}", p.kind.tag()).to_lowercase(),
            blocks: p.blocks.iter().flatten().map(action).collect(),
            durations: match &p.kind {
                PenaltyKind::Overage { bands } => bands
                    .iter()
                    .map(|b| {
                        let upto = b.to.map_or("or more".to_string(), |t| format!("to {t}"));
                        format!("{} {upto} extra attempts: {}", b.from, duration_words(b.duration))
                    })
                    .collect(),
                PenaltyKind::Escalation => vec!["the escalation ladder".into()],
                PenaltyKind::Verification => vec!["until identity verification".into()],
                PenaltyKind::Challenge { proof, period } => {
                    vec![format!("{} on each request for {}", proof.name(), duration_words(*period))]
                }
            },
        })
        .collect();
    let ladder = policy
        .escalation
        .ladder
        .iter()
        .enumerate()
        .map(|(i, d)| format!("offence {}: {}", i + 1, duration_words(*d)))
        .collect();
    let zone = policy
        .limits
        .iter()
        .find_map(|l| match &l.window {
            Window::Calendar(c) | Window::Credits(c) => c.zone.iana_name().map(String::from),
            _ => None,
        })
        .unwrap_or_else(|| "UTC".into());
    PolicySummary { limits, penalties, ladder, warning_threshold: policy.warning_threshold, zone }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linkedin_preset_reads_as_its_numbers() {
        let s = policy_summary(&Policy::preset("linkedin").unwrap());
        let weekly = s.limits.iter().find(|l| l.name == "weekly_invitations").unwrap();
        assert_eq!(weekly.window, "1 week from the first use");
        assert!(weekly.by_tier.iter().any(|(_, a)| *a == Some(100)), "{weekly:?}");
        let views = s.limits.iter().find(|l| l.name == "daily_profile_views").unwrap();
        assert!(views.by_tier.contains(&("sales_navigator".to_string(), Some(2000))), "{views:?}");
        assert!(s.penalties.iter().any(|p| p.kind == "overage" && !p.durations.is_empty()));
        assert_eq!(duration_words(14 * 86_400_000), "2 weeks");
        assert_eq!(duration_words(90_000), "90 s");
    }
}
