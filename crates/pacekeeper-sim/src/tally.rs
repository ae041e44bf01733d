//! What a run counts, per population, and the summary a report shows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::population::Role;

/// The largest weekly count the per-member-week histogram keeps apart (larger ones land in its
/// last bin).
pub const WEEKLY_BINS: usize = 1001;

/// Counts of one population.
#[derive(Debug, Clone, Default)]
pub struct PopTally {
    pub members: u64,
    pub attempts: u64,
    pub sent: u64,
    pub denied: BTreeMap<&'static str, u64>,
    /// Attempts given up after a denial (never sent).
    pub abandoned: u64,
    pub members_denied: u64,
    pub members_restricted: u64,
    /// Restrictions started, by "penalty, step n".
    pub restrictions: BTreeMap<String, u64>,
    /// Reports ("I don't know", spam) the population's invitations drew.
    pub unwanted: u64,
    /// Invitations sent and denied per week.
    pub weekly_sent: Vec<u64>,
    pub weekly_denied: Vec<u64>,
    /// Members restricted at each day's end.
    pub daily_restricted: Vec<u64>,
    /// The weekly amount in force for each member at each week's end.
    pub weekly_amounts: Vec<Vec<u64>>,
    /// Invitations sent per member-week, as a histogram.
    pub per_member_week: Vec<u64>,
    /// Seconds between a paced invitation's first try and its sending.
    pub paced_delays: Vec<u64>,
    /// Hours from a member's first invitation to its first restriction.
    pub hours_to_restriction: Vec<f64>,
}

/// The numbers a report shows for one population.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopSummary {
    pub name: String,
    pub role: Role,
    pub members: u64,
    pub attempts: u64,
    pub sent: u64,
    pub denied_by_reason: BTreeMap<&'static str, u64>,
    pub friction: f64,
    pub never_sent: u64,
    pub members_ever_denied: u64,
    pub members_ever_restricted: u64,
    pub restrictions: BTreeMap<String, u64>,
    pub unwanted: u64,
    pub weekly_sent: Vec<u64>,
    pub weekly_denied: Vec<u64>,
    pub daily_restricted: Vec<u64>,
    /// The median weekly amount in force at each week's end.
    pub weekly_amount_median: Vec<u64>,
    pub per_member_week: Vec<u64>,
    pub paced_delay_p95_seconds: Option<u64>,
    pub median_hours_to_restriction: Option<f64>,
}

/// The headline numbers of one policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// Share of honest attempts denied.
    pub honest_friction: f64,
    /// Honest attempts denied, by reason.
    pub honest_denied_by_reason: BTreeMap<&'static str, u64>,
    pub honest_members_ever_denied: u64,
    pub honest_members_ever_restricted: u64,
    pub honest_never_sent: u64,
    pub paced_delay_p95_seconds: Option<u64>,
    pub spam_attempted: u64,
    pub spam_delivered: u64,
    pub spam_delivered_per_spammer_week: f64,
    pub spam_stopped_share: f64,
    /// Unwanted invitations (reported "I don't know" or spam) per 1,000 members of the
    /// simulated network per week.
    pub unwanted_per_1000_members_week: f64,
    pub median_hours_to_spammer_restriction: Option<f64>,
    pub restrictions: BTreeMap<String, u64>,
}

fn share(n: u64, of: u64) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// The value at quantile `q` of sorted values.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    Some(sorted[i])
}

impl PopTally {
    pub fn summary(&self, name: &str, role: Role) -> PopSummary {
        let denied: u64 = self.denied.values().sum();
        let mut delays = self.paced_delays.clone();
        delays.sort_unstable();
        let mut hours = self.hours_to_restriction.clone();
        hours.sort_by(f64::total_cmp);
        PopSummary {
            name: name.into(),
            role,
            members: self.members,
            attempts: self.attempts,
            sent: self.sent,
            denied_by_reason: self.denied.clone(),
            friction: share(denied, self.attempts),
            never_sent: self.abandoned,
            members_ever_denied: self.members_denied,
            members_ever_restricted: self.members_restricted,
            restrictions: self.restrictions.clone(),
            unwanted: self.unwanted,
            weekly_sent: self.weekly_sent.clone(),
            weekly_denied: self.weekly_denied.clone(),
            daily_restricted: self.daily_restricted.clone(),
            weekly_amount_median: self
                .weekly_amounts
                .iter()
                .map(|w| {
                    let mut w = w.clone();
                    w.sort_unstable();
                    quantile(&w, 0.5).unwrap_or(0)
                })
                .collect(),
            per_member_week: self.per_member_week.clone(),
            paced_delay_p95_seconds: quantile(&delays, 0.95),
            median_hours_to_restriction: quantile(&hours, 0.5).map(|h| (h * 10.0).round() / 10.0),
        }
    }
}

/// The headline over every population.
pub fn headline(pops: &[PopSummary], weeks: u32) -> Headline {
    let (honest, spam): (Vec<&PopSummary>, Vec<&PopSummary>) = pops.iter().partition(|p| p.role == Role::Honest);
    let sum = |ps: &[&PopSummary], f: fn(&PopSummary) -> u64| ps.iter().map(|p| f(p)).sum::<u64>();
    let honest_attempts = sum(&honest, |p| p.attempts);
    let honest_denied = sum(&honest, |p| p.denied_by_reason.values().sum());
    let mut by_reason = BTreeMap::new();
    let mut restrictions = BTreeMap::new();
    for p in pops {
        for (k, v) in &p.restrictions {
            *restrictions.entry(format!("{}: {k}", p.name)).or_insert(0) += v;
        }
    }
    for p in &honest {
        for (k, v) in &p.denied_by_reason {
            *by_reason.entry(*k).or_insert(0) += v;
        }
    }
    let spammers = sum(&spam, |p| p.members);
    let (spam_attempted, spam_delivered) = (sum(&spam, |p| p.attempts), sum(&spam, |p| p.sent));
    let members = sum(&honest, |p| p.members) + spammers;
    let mut delays: Vec<u64> = honest.iter().filter_map(|p| p.paced_delay_p95_seconds).collect();
    delays.sort_unstable();
    let mut hours: Vec<f64> = spam.iter().filter_map(|p| p.median_hours_to_restriction).collect();
    hours.sort_by(f64::total_cmp);
    Headline {
        honest_friction: share(honest_denied, honest_attempts),
        honest_denied_by_reason: by_reason,
        honest_members_ever_denied: sum(&honest, |p| p.members_ever_denied),
        honest_members_ever_restricted: sum(&honest, |p| p.members_ever_restricted),
        honest_never_sent: sum(&honest, |p| p.never_sent),
        paced_delay_p95_seconds: delays.last().copied(),
        spam_attempted,
        spam_delivered,
        spam_delivered_per_spammer_week: if spammers == 0 {
            0.0
        } else {
            spam_delivered as f64 / (spammers * u64::from(weeks)) as f64
        },
        spam_stopped_share: share(spam_attempted - spam_delivered.min(spam_attempted), spam_attempted),
        unwanted_per_1000_members_week: if members == 0 {
            0.0
        } else {
            sum(pops.iter().collect::<Vec<_>>().as_slice(), |p| p.unwanted) as f64 * 1000.0
                / (members * u64::from(weeks)) as f64
        },
        median_hours_to_spammer_restriction: quantile(&hours, 0.5),
        restrictions,
    }
}
